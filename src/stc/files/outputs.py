"""Outputs at a path: written to a private temporary file beside it and renamed only on success.

A partial output is ``.NAME.<pid>.<random>.stc-partial``, mode 0600, in the output's own
directory; the writer removes it on any error or signal it can catch, and the next write to
NAME removes the partials of writers that died (SIGKILL, power loss).
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from typing import IO, Any, BinaryIO, Protocol, Union

from ..errors import ParameterError


class Reads(Protocol):
    """Any binary input with ``readinto`` (files, pipes, armor readers)."""

    def readinto(self, buffer: Any, /) -> int | None: ...


class Writes(Protocol):
    """Any binary output with ``write`` (files, pipes, armor writers, sinks)."""

    def write(self, data: Any, /) -> int | None: ...


PathOrFile = Union[str, "os.PathLike[str]", BinaryIO, IO[bytes], Reads, Writes]


PARTIAL_SUFFIX = ".stc-partial"


def _partial_prefix(path: str) -> str:
    return "." + os.path.basename(path) + "."


def remove_stale_partials(path: str | os.PathLike[str]) -> list[str]:
    """Remove the partial outputs for ``path`` that a killed writer left (ours, its process gone).

    A partial is named ``.NAME.<pid>.<random>.stc-partial`` in the output's directory, mode 0600.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    prefix, removed = _partial_prefix(path), list[str]()
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    for name in names:
        if not (name.startswith(prefix) and name.endswith(PARTIAL_SUFFIX)):
            continue
        pid_text = name[len(prefix) :].split(".", 1)[0]
        full = os.path.join(directory, name)
        try:
            if not pid_text.isdigit() or os.lstat(full).st_uid != os.getuid() or _alive(int(pid_text)):
                continue
            os.unlink(full)
            removed.append(full)
        except OSError:
            continue
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def current_umask() -> int:
    """The process umask (read by setting it and putting it back at once)."""
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def stream_node(path: str | os.PathLike[str]) -> bool:
    """True if ``path`` is a character device or a FIFO (``/dev/null``, a named pipe): an output
    written into, never replaced.  A block device or a socket there is refused (ParameterError)."""
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return False
    if stat.S_ISBLK(mode) or stat.S_ISSOCK(mode):
        raise ParameterError(f"{os.fspath(path)} is a block device or a socket: STC does not write there")
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)


@contextlib.contextmanager
def atomic_output(dst: PathOrFile, src: PathOrFile | None = None, *, mode: int | None = None,
                  sync: bool = False) -> Iterator[Any]:
    """A writable binary file; for a path, a 0600 temporary file beside it, given ``0666 & ~umask``
    (or ``mode``) and renamed onto it only on success (so a symbolic link at the path is replaced,
    never written through; a partial output is private, a complete one gets the mode any new file
    does); ``sync`` flushes it to disk before the rename.  A character device or FIFO at the path
    is written into, as a file object would be."""
    if not isinstance(dst, (str, os.PathLike)):
        yield dst
        return
    path = os.fspath(dst)
    if stream_node(path):
        with open(path, "wb", buffering=0) as node:
            yield node
        return
    if isinstance(src, (str, os.PathLike)) and os.path.exists(path) and os.path.samefile(src, path):
        raise ParameterError("input and output are the same file")
    directory = os.path.dirname(os.path.abspath(path))
    remove_stale_partials(path)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f"{_partial_prefix(path)}{os.getpid()}.", suffix=PARTIAL_SUFFIX)
    try:
        with open(fd, "wb", buffering=0) as out:
            yield out
            os.fchmod(out.fileno(), 0o666 & ~current_umask() if mode is None else mode)  # complete
            if sync:
                os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
