"""Header-only re-keying of an encrypted file on disk, crash-safe either way it is done.

- **In place**, when the new header has the length of the old (the usual case: decoys keep
  the slot count): the new header is first written to a journal beside the file
  (``.NAME.stc-journal``: both headers and a SHA-256 over them), which is flushed to disk;
  only then is the header overwritten and flushed, and the journal removed.  A crash before
  the journal is complete leaves the file untouched (an incomplete journal is discarded); a
  crash after it leaves a complete journal, and :func:`finish_interrupted` (run by the next
  re-key or decrypt of that path) writes the new header again.  So the file ends with the
  old header or the new one, never a torn one that stays.
- **By copy** otherwise: the new header and the unchanged body (``os.copy_file_range``)
  go to a temporary file beside the original, which is flushed and renamed over it.  The
  rename gives the path a new inode: other hard links keep the old header.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import os
import shutil
import stat
import struct
import tempfile
import warnings
from collections.abc import Callable, Iterator
from typing import Any

from cryptography.exceptions import InvalidTag

from ..crypto.payload import chunk_nonce
from ..crypto.suite import TAG_SIZE
from ..errors import JournalWarning, StateError, STCError
from ..formats.headers import Header, Opener
from ..formats.v2 import CORE_SIZE, HeaderV2
from .stream import read_file_header

_JOURNAL_MAGIC = b"STCJ\x01"
_LEN = struct.Struct(">I")
_MAX_JOURNAL = 2 * 40_000 + 64
#: Opens a version-2 header with the caller's credentials: its file key (after the MAC verified).
KeyOf = Callable[[HeaderV2], bytes]


def journal_path(path: str | os.PathLike[str]) -> str:
    """Where an in-place re-key of ``path`` keeps its journal."""
    path = os.fspath(path)
    return os.path.join(os.path.dirname(os.path.abspath(path)), "." + os.path.basename(path) + ".stc-journal")


def _fsync_dir(directory: str) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _warn(message: str) -> None:
    warnings.warn(message, JournalWarning, stacklevel=3)


def _load_journal(journal: str) -> bytes | None:
    """The journal's bytes, if it is a regular file of ours that is not a link (else a warning and
    None): opened with O_NOFOLLOW | O_NONBLOCK, so a link, FIFO or device is never followed or waited on."""
    try:
        fd = os.open(journal, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return None
    except OSError as exc:
        _warn(f"ignored {journal}: it is not a regular file of this user ({exc.strerror})")
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid() or st.st_nlink != 1:
            _warn(f"ignored {journal}: it is not a regular file of this user with one link")
            return None
        with os.fdopen(os.dup(fd), "rb") as f:
            return f.read(_MAX_JOURNAL + 1)
    finally:
        os.close(fd)


def _parse_journal(data: bytes) -> tuple[bytes, bytes] | None:
    """(old header, new header) from a complete journal; None if it is incomplete or damaged."""
    if len(data) > _MAX_JOURNAL or not data.startswith(_JOURNAL_MAGIC) or len(data) < len(_JOURNAL_MAGIC) + 4 + 32:
        return None
    body, digest = data[:-32], data[-32:]
    if hashlib.sha256(body).digest() != digest:
        return None
    (size,) = _LEN.unpack_from(body, len(_JOURNAL_MAGIC))
    headers = body[len(_JOURNAL_MAGIC) + 4 :]
    if len(headers) != 2 * size:
        return None
    return headers[:size], headers[size:]


def _opens_to(header: bytes, key_of: KeyOf) -> bytes | None:
    """The file key ``header`` authenticates under the reader's credentials, or None."""
    try:
        parsed = HeaderV2.from_bytes(header)
        return key_of(parsed)
    except STCError:
        return None


def _opens_body(fd: int, new: bytes, opener: Opener) -> bool:
    """True if the body's first chunk authenticates under the payload key ``new`` gives the reader."""
    try:
        header = HeaderV2.from_bytes(new)
        _, aead = opener(header)
    except STCError:
        return False
    body = os.fstat(fd).st_size - len(new)
    if body < TAG_SIZE:  # cut inside or right after the header: no chunk to prove anything with
        return False
    enc = header.chunk_size + TAG_SIZE
    try:
        aead.decrypt(chunk_nonce(0, body <= enc), os.pread(fd, min(body, enc), len(new)), None)
    except InvalidTag:
        return False
    return True


def _authentic(journal: str, fd: int, old: bytes, new: bytes, key_of: KeyOf, opener: Opener | None) -> bool:
    """True if ``new`` is a re-key of this very file by someone holding its key.

    The three headers (on disk, the journal's old and new) must share the file's core, and
    ``new``'s MAC must verify under the file key the reader gets from it; that key must be the
    one of the header on disk (or, if a crash tore that one, of the journal's old header, the
    bytes on disk being a byte-wise mix of the two), or, when the caller can open the body
    (``opener``, with the context data), the body's first chunk must authenticate under it.
    """
    on_disk = os.pread(fd, len(new), 0)
    if len(old) != len(new) or old[:CORE_SIZE] != new[:CORE_SIZE] or on_disk[:CORE_SIZE] != new[:CORE_SIZE]:
        _warn(f"ignored {journal}: it does not belong to this file")
        return False
    new_key = _opens_to(new, key_of)
    if new_key is None:
        _warn(f"ignored {journal}: its new header does not open with the key given, so it is not applied")
        return False
    disk_key = _opens_to(on_disk, key_of)
    if disk_key is None and len(on_disk) == len(new) \
            and all(d in (a, b) for d, a, b in zip(on_disk, old, new, strict=True)):
        disk_key = _opens_to(old, key_of)  # a torn write: the old header as the journal kept it
    if disk_key is not None and hmac.compare_digest(disk_key, new_key):
        return True
    if opener is not None and _opens_body(fd, new, opener):
        return True
    _warn(f"ignored {journal}: its new header is not proven to hold this file's key")
    return False


@contextlib.contextmanager
def locked(path: str) -> Iterator[Any]:
    """``path`` open for update under an exclusive advisory lock (``flock``), held until the block
    ends: re-keys of one file, and the finishing of its journal, run one at a time.  If a re-key
    by copy replaced the file while we waited, the new file is opened and locked instead."""
    for _ in range(100):
        f = open(path, "r+b")  # noqa: SIM115 (closed below)
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
            if os.path.samestat(os.fstat(f.fileno()), os.stat(path)):
                yield f
                return
        finally:
            f.close()
    raise StateError(f"{path} kept being replaced while waiting for its lock")


def _finish_locked(path: str, f: Any, key_of: KeyOf, opener: Opener | None = None) -> bool:
    journal = journal_path(path)
    data = _load_journal(journal)
    if data is None:
        return False
    found = _parse_journal(data)
    if found is not None:
        old, new = found
        if not _authentic(journal, f.fileno(), old, new, key_of, opener):
            return False
        if os.pread(f.fileno(), len(new), 0) != new:
            os.pwrite(f.fileno(), new, 0)
            os.fsync(f.fileno())
    os.unlink(journal)  # an incomplete journal: the re-key had not touched the file yet
    _fsync_dir(os.path.dirname(journal))
    return found is not None


def finish_interrupted(path: str | os.PathLike[str], key_of: KeyOf, opener: Opener | None = None) -> bool:
    """Complete an in-place re-key that a crash interrupted; True if there was one to finish.

    ``key_of`` opens a header with the reader's credentials (raising an :class:`STCError`
    when it cannot) and ``opener``, if given, its payload; a journal is applied only if it
    authenticates (see :func:`_authentic`), and anything else there is left alone with a
    :class:`JournalWarning`.
    """
    path = os.fspath(path)
    try:
        os.lstat(journal_path(path))
    except OSError:
        return False  # the usual case: no journal, no lock taken
    with locked(path) as f:
        return _finish_locked(path, f, key_of, opener)


def _copy_range(src: int, dst: int, offset: int, count: int) -> None:
    """Copy ``count`` bytes of ``src`` from ``offset`` to the current position of ``dst``."""
    done = 0
    try:
        while done < count:
            n = os.copy_file_range(src, dst, count - done, offset + done)
            if n == 0:
                raise OSError("the file shrank while it was being re-keyed")
            done += n
        return
    except (AttributeError, OSError) as exc:
        if done or (isinstance(exc, OSError) and exc.errno not in (18, 22, 38, 95)):  # EXDEV EINVAL ENOSYS EOPNOTSUPP
            raise
    with open(src, "rb", closefd=False) as fin, open(dst, "wb", closefd=False) as fout:
        fin.seek(offset)
        shutil.copyfileobj(fin, fout, 1 << 20)


def _in_place(path: str, fd: int, old: bytes, new: bytes) -> None:
    journal = journal_path(path)
    record = _JOURNAL_MAGIC + _LEN.pack(len(new)) + old + new
    jfd = os.open(journal, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(jfd, "wb") as j:
            j.write(record + hashlib.sha256(record).digest())
            j.flush()
            os.fsync(j.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(journal)
        raise
    _fsync_dir(os.path.dirname(journal))
    os.pwrite(fd, new, 0)  # from here on, a crash is finished by finish_interrupted()
    os.fsync(fd)
    os.unlink(journal)
    _fsync_dir(os.path.dirname(journal))


def _by_copy(path: str, fin: int, new: bytes, body_start: int) -> None:
    st = os.fstat(fin)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".", suffix=".stc-rekey")
    try:
        with open(fd, "wb", buffering=0) as out:
            os.fchmod(out.fileno(), stat.S_IMODE(st.st_mode))
            out.write(new)
            _copy_range(fin, out.fileno(), body_start, st.st_size - body_start)
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(directory)


def rewrite_header(path: str | os.PathLike[str], make_header: Callable[[Header], HeaderV2],
                   key_of: KeyOf) -> HeaderV2:
    """Replace the header of the encrypted file at ``path`` by ``make_header(old)``; the chunks
    are left (or copied) byte for byte.  Returns the new header.

    The file's lock is held from before its header is read until the new one is in place, so
    concurrent re-keys of one file apply one after the other, each to the other's result.
    """
    path = os.fspath(path)
    with locked(path) as f:
        _finish_locked(path, f, key_of)
        f.seek(0)
        old = read_file_header(f)
        new = make_header(old)
        if new.size == old.size:
            _in_place(path, f.fileno(), old.to_bytes(), new.to_bytes())
        else:
            _by_copy(path, f.fileno(), new.to_bytes(), old.size)
    return new
