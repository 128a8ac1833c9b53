"""Encrypted folders: a POSIX (pax) tar stream inside an ordinary encrypted file.

``stc decrypt FILE | tar t`` therefore works, and nothing new needed specifying.  Both
directions stream in constant memory through a pipe between two threads (no temporary tar).
Extraction checks every member before writing it (absolute paths, ``..``, links leaving the
target, devices, FIFOs, setuid/setgid bits and absurd depths are refused, naming the member),
writes it through :mod:`stc.files.extract` (relative to a folder descriptor, never following a
link) into a private temporary folder beside the target, and renames that into place only
after the final chunk authenticated: a tampered or truncated archive leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
import shutil
import stat
import tarfile
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from .context import STCContext
from .crypto.encoding import DEFAULT_SEED, Seed
from .errors import ParameterError
from .files.extract import Extractor, FolderError, current_umask
from .files.outputs import PathOrFile
from .files.stream import Progress
from .keys.recipients import Identity, Recipient

#: Deepest path accepted inside an archive, in components (deeper: refused, naming the member).
MAX_DEPTH = 256
MAX_NAME = 4096
_PIPE_SIZE = 1 << 20


@dataclass(frozen=True, slots=True)
class Member:
    """One entry of an encrypted folder, as ``stc list`` shows it."""

    name: str
    size: int
    mtime: int
    kind: str  # "file", "dir", "symlink", "hardlink"
    mode: int
    target: str = ""  # what a symlink or hard link points to


# ---- a pipe between a producer thread and a consumer ----------------------------------------------
class _Pipe:
    """An OS pipe whose reader raises the writer's error at end of input (never a silent short read)."""

    def __init__(self) -> None:
        r, w = os.pipe()
        with contextlib.suppress(OSError, AttributeError):  # Linux: a 1 MiB pipe, fewer round trips
            import fcntl

            fcntl.fcntl(w, getattr(fcntl, "F_SETPIPE_SZ", 1031), _PIPE_SIZE)
        self.reader = open(r, "rb", buffering=0)  # noqa: SIM115 (closed by the owner)
        self.writer = open(w, "wb", buffering=0)  # noqa: SIM115
        self.error: BaseException | None = None

    def readinto(self, view: Any) -> int:
        n = self.reader.readinto(view)
        if not n and self.error is not None:
            raise self.error
        return n or 0


def _run(target: Callable[[], None], pipe: _Pipe, close: Any) -> threading.Thread:
    def body() -> None:
        try:
            target()
        except BaseException as exc:  # handed to the other side
            pipe.error = exc
        finally:
            with contextlib.suppress(OSError):
                close.close()

    thread = threading.Thread(target=body, name="stc-folder", daemon=True)
    thread.start()
    return thread


# ---- writing ---------------------------------------------------------------------------------------
def _walk(root: str, excludes: Sequence[str]) -> Iterator[str]:
    """Relative paths under ``root`` in a stable order, directories before their contents."""
    def excluded(rel: str) -> bool:
        base = os.path.basename(rel)
        return any(fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(base, p) for p in excludes)

    for directory, dirs, files in os.walk(root, followlinks=False):
        rel_dir = os.path.relpath(directory, root)
        dirs.sort()
        kept = []
        for d in dirs:  # a symlink to a directory is listed here too: stored as a link, never followed
            rel = os.path.normpath(os.path.join(rel_dir, d))
            if not excluded(rel):
                kept.append(d)
                yield rel
        dirs[:] = kept
        for name in sorted(files):
            rel = os.path.normpath(os.path.join(rel_dir, name))
            if not excluded(rel):
                yield rel


def folder_size(root: str | os.PathLike[str], excludes: Sequence[str] = ()) -> tuple[int, int]:
    """(regular files, their total bytes) under ``root``, excludes applied."""
    count = total = 0
    for rel in _walk(os.fspath(root), excludes):
        st = os.lstat(os.path.join(root, rel))
        if stat.S_ISREG(st.st_mode):
            count, total = count + 1, total + st.st_size
    return count, total


class _Counting:
    """A write-only file for tarfile's plain "w" mode over a pipe: it needs tell(), not seek()."""

    def __init__(self, raw: Any) -> None:
        self._raw, self._pos = raw, 0

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        while view:
            n = self._raw.write(view)
            view = view[n:]
            self._pos += n
        return self._pos

    def tell(self) -> int:
        return self._pos


def _write_tar(root: str, out: Any, excludes: Sequence[str]) -> None:
    # Mode "w" writes straight through (stream mode "w|" re-buffers every byte in Python).
    counting: Any = _Counting(out)  # typeshed's file protocol asks for more than tarfile uses here
    with tarfile.open(fileobj=counting, mode="w", format=tarfile.PAX_FORMAT) as tar:
        tar.copybufsize = _PIPE_SIZE  # type: ignore[attr-defined]  # file data in 1 MiB pieces, not 16 KiB
        for rel in _walk(root, excludes):
            full = os.path.join(root, rel)
            info = tar.gettarinfo(full, arcname=rel)
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if info.isreg():
                with open(full, "rb") as f:
                    tar.addfile(info, f)
            elif info.isdir() or info.issym() or info.islnk():
                tar.addfile(info)
            tar.members.clear()  # type: ignore[attr-defined]  # else tarfile keeps every member: memory grows
            # sockets, FIFOs and devices inside the folder are skipped: they hold no data


def encrypt_folder(
    folder: str | os.PathLike[str],
    output: PathOrFile,
    password: str | bytes | None = None,
    *,
    ctx: STCContext | None = None,
    seed: Seed = DEFAULT_SEED,
    recipients: Iterable[Recipient | str] = (),
    excludes: Sequence[str] = (),
    progress_callback: Progress | None = None,
    **options: Any,
) -> Any:
    """Encrypt a folder (as a pax tar stream) to ``output``; returns the header.

    ``options`` go to :meth:`STCContext.encrypt_stream` (``chunk_size``, ``context_data``...).
    """
    root = os.fspath(folder)
    if not os.path.isdir(root):
        raise ParameterError(f"{root} is not a directory")
    context = ctx if ctx is not None else STCContext(seed)
    pipe = _Pipe()
    writer = _run(lambda: _write_tar(root, pipe.writer, excludes), pipe, pipe.writer)
    try:
        return context.encrypt_stream(pipe, output, password, recipients=recipients,
                                      progress_callback=progress_callback, **options)
    finally:
        pipe.reader.close()
        writer.join()


# ---- reading -----------------------------------------------------------------------------------------
def _check_member(member: tarfile.TarInfo, dest: str) -> None:
    """Refuse anything that could write outside ``dest`` or create something dangerous."""
    name = member.name
    where = f"archive member {name!r}"
    if len(name) > MAX_NAME or name.count("/") >= MAX_DEPTH:
        raise FolderError(f"{where[:200]}…: path deeper than {MAX_DEPTH} levels or longer than {MAX_NAME}")
    if name.startswith("/") or os.path.isabs(name):
        raise FolderError(f"{where}: absolute path")
    parts = name.split("/")
    if ".." in parts:
        raise FolderError(f"{where}: path with '..'")
    if not (member.isreg() or member.isdir() or member.issym() or member.islnk()):
        raise FolderError(f"{where}: device, FIFO or other special file")
    if member.mode & (stat.S_ISUID | stat.S_ISGID):
        raise FolderError(f"{where}: setuid or setgid bit")
    if member.issym() or member.islnk():
        target = member.linkname
        if os.path.isabs(target):
            raise FolderError(f"{where}: link to an absolute path ({target})")
        base = os.path.dirname(name) if member.issym() else ""
        resolved = os.path.normpath(os.path.join(dest, base, target))
        if os.path.commonpath([resolved, dest]) != dest:
            raise FolderError(f"{where}: link pointing outside the folder ({target})")


def _members(src: Any) -> Iterator[tuple[tarfile.TarFile, tarfile.TarInfo]]:
    try:
        with tarfile.open(fileobj=src, mode="r|") as tar:
            for member in tar:
                yield tar, member
                tar.members.clear()  # type: ignore[attr-defined]  # tarfile keeps every member: memory grows
    except tarfile.TarError as exc:
        raise FolderError(f"the decrypted data is not a valid tar archive: {exc}") from None


def _decrypting(context: STCContext, source: PathOrFile, keys: dict[str, Any],
                consume: Callable[[Any], None]) -> None:
    """Decrypt ``source`` into a pipe on a thread while ``consume`` reads the tar stream; the first
    failure (decryption or consumption) is raised, and the decryption error wins."""
    pipe = _Pipe()
    failure: list[BaseException] = []

    def produce() -> None:
        try:
            context.decrypt_stream(source, output_path=pipe.writer, **keys)
        except BaseException as exc:
            failure.append(exc)
        finally:
            with contextlib.suppress(OSError):
                pipe.writer.close()  # the reader sees the end (and then our error)

    thread = threading.Thread(target=produce, name="stc-folder-decrypt", daemon=True)
    thread.start()
    try:
        consume(pipe.reader)
        pipe.reader.read()  # tar ends before the encrypted stream does: drain to the final chunk
    except BaseException:
        pipe.reader.close()
        thread.join()
        if failure and not isinstance(failure[0], BrokenPipeError):
            raise failure[0] from None
        raise
    thread.join()
    pipe.reader.close()
    if failure:
        raise failure[0]


def decrypt_folder(
    source: PathOrFile,
    destination: str | os.PathLike[str],
    password: str | bytes | None = None,
    *,
    ctx: STCContext | None = None,
    identities: Iterable[Identity | str] = (),
    context_data: Any = None,
    force: bool = False,
    seed: Seed = DEFAULT_SEED,
    preserve_permissions: bool = False,
) -> list[Member]:
    """Extract an encrypted folder into ``destination`` (created; it must be absent or empty
    unless ``force``); everything appears only after the whole file authenticated.

    Modes are the archive's less group/other write and the umask, unless
    ``preserve_permissions``; owners are never restored (files belong to the caller).
    """
    dest = os.path.abspath(os.fspath(destination))
    if os.path.lexists(dest) and not (os.path.isdir(dest) and not os.path.islink(dest)):
        raise ParameterError(f"{dest} exists and is not a directory")
    if os.path.isdir(dest) and os.listdir(dest) and not force:
        raise ParameterError(f"{dest} is not empty; use force=True (--force) to replace it")
    parent = os.path.dirname(dest)
    staging = tempfile.mkdtemp(dir=parent, prefix=f".{os.path.basename(dest)}.{os.getpid()}.",
                               suffix=".stc-partial")
    context = ctx if ctx is not None else STCContext(seed)
    members: list[Member] = []
    umask = current_umask()
    keys = {"password": password, "identities": list(identities), "context_data": context_data}

    def extract(stream: Any) -> None:
        root = os.open(staging, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        try:
            extractor = Extractor(root, preserve_permissions=preserve_permissions, umask=umask)
            for tar, member in _members(stream):
                _check_member(member, staging)
                extractor.add(tar, member)
                members.append(_member(member))
            extractor.finish()
            os.fchmod(root, 0o777 & ~umask)  # the folder itself, as mkdir would make it
        finally:
            os.close(root)

    try:
        _decrypting(context, source, keys, extract)
        if os.path.isdir(dest):
            old = tempfile.mkdtemp(dir=parent, prefix=f".{os.path.basename(dest)}.old.")
            os.rename(dest, os.path.join(old, "replaced"))
            os.rename(staging, dest)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(staging, dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return members


def list_folder(
    source: PathOrFile,
    password: str | bytes | None = None,
    *,
    ctx: STCContext | None = None,
    identities: Iterable[Identity | str] = (),
    context_data: Any = None,
    seed: Seed = DEFAULT_SEED,
) -> list[Member]:
    """The members of an encrypted folder (decrypted, authenticated, not written anywhere)."""
    context = ctx if ctx is not None else STCContext(seed)
    members: list[Member] = []

    def collect(stream: Any) -> None:
        for _, member in _members(stream):
            members.append(_member(member))

    _decrypting(context, source, {"password": password, "identities": list(identities),
                                  "context_data": context_data}, collect)
    return members


def _member(info: tarfile.TarInfo) -> Member:
    kind = "dir" if info.isdir() else "symlink" if info.issym() else "hardlink" if info.islnk() else "file"
    target = info.linkname if info.issym() or info.islnk() else ""
    return Member(info.name, info.size, int(info.mtime), kind, info.mode, target)


__all__ = ["FolderError", "Member", "decrypt_folder", "encrypt_folder", "folder_size", "list_folder"]
