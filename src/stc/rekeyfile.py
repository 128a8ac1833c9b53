"""Header-only re-keying of an encrypted file on disk, crash-safe by writing a new file.

The new header and the unchanged body (copied in the kernel with ``os.copy_file_range``
where it can) go to a temporary file beside the original, which is flushed to disk and then
renamed over it.  A crash at any point leaves either the old file or the new one, never a mix.
The rename gives the path a new inode: other hard links to the old file keep the old header
(docs/design.md).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from collections.abc import Callable

from .filestream import read_file_header
from .format_v2 import HeaderV2
from .headers import Header


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


def rewrite_header(path: "str | os.PathLike[str]", make_header: Callable[[Header], HeaderV2]) -> HeaderV2:
    """Replace the header of the encrypted file at ``path`` by ``make_header(old)``; the chunks
    are copied byte for byte.  Returns the new header."""
    path = os.fspath(path)
    with open(path, "rb") as fin:
        old = read_file_header(fin)
        body_start = fin.tell()
        new = make_header(old)
        st = os.fstat(fin.fileno())
        directory = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".", suffix=".stc-rekey")
        try:
            with open(fd, "wb", buffering=0) as out:
                os.fchmod(out.fileno(), stat.S_IMODE(st.st_mode))
                out.write(new.to_bytes())
                _copy_range(fin.fileno(), out.fileno(), body_start, st.st_size - body_start)
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    with contextlib.suppress(OSError):  # make the rename itself durable
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    return new
