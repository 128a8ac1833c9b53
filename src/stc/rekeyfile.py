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
import hashlib
import os
import shutil
import stat
import struct
import tempfile
from collections.abc import Callable

from .errors import FormatError
from .filestream import read_file_header
from .format_v2 import CORE_SIZE, HeaderV2
from .headers import Header

_JOURNAL_MAGIC = b"STCJ\x01"
_LEN = struct.Struct(">I")
_MAX_JOURNAL = 2 * 40_000 + 64


def journal_path(path: "str | os.PathLike[str]") -> str:
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


def _read_journal(journal: str) -> "tuple[bytes, bytes] | None":
    """(old header, new header) from a complete journal; None if it is incomplete or damaged."""
    with open(journal, "rb") as f:
        data = f.read(_MAX_JOURNAL + 1)
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


def finish_interrupted(path: "str | os.PathLike[str]") -> bool:
    """Complete an in-place re-key that a crash interrupted; True if there was one to finish."""
    journal = journal_path(path)
    if not os.path.exists(journal):
        return False
    found = _read_journal(journal)
    if found is not None:
        old, new = found
        with open(path, "r+b", buffering=0) as f:
            # Old and new headers share their 31-byte core, so a torn write never touches it.
            if os.pread(f.fileno(), CORE_SIZE, 0) != new[:CORE_SIZE] or old[:CORE_SIZE] != new[:CORE_SIZE]:
                raise FormatError(f"{journal} does not belong to {os.fspath(path)}; move it away and retry")
            os.pwrite(f.fileno(), new, 0)
            os.fsync(f.fileno())
    os.unlink(journal)  # an incomplete journal: the file was never touched
    _fsync_dir(os.path.dirname(journal))
    return found is not None


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


def rewrite_header(path: "str | os.PathLike[str]", make_header: Callable[[Header], HeaderV2]) -> HeaderV2:
    """Replace the header of the encrypted file at ``path`` by ``make_header(old)``; the chunks
    are left (or copied) byte for byte.  Returns the new header."""
    path = os.fspath(path)
    finish_interrupted(path)
    with open(path, "r+b") as f:
        old = read_file_header(f)
        new = make_header(old)
        if new.size == old.size:
            _in_place(path, f.fileno(), old.to_bytes(), new.to_bytes())
        else:
            _by_copy(path, f.fileno(), new.to_bytes(), old.size)
    return new
