"""fsspec URLs as INPUT and OUTPUT of ``stc encrypt``/``decrypt`` (``s3://b/k``, ``memory://x``).

Loaded only when an argument is a URL, so plain commands never import fsspec.  An output
URL is written with ``autocommit=False`` where the filesystem allows it (local files, S3
multipart uploads): the object appears only when the command succeeded, and a failure
discards what was uploaded.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

from ._common import EXIT_USAGE, die

_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*(://|::)")


def is_url(arg: str | None) -> bool:
    """An fsspec URL (``proto://...`` or a chain ``a::b://...``), not a local path or '-'."""
    return arg is not None and bool(_URL.match(arg))


def localize(arg: str) -> str:
    """A ``file://`` URL as its local path (so it gets the local path's checks and 0600
    atomic output); anything else unchanged."""
    if arg.startswith("file://") and "::" not in arg:
        return arg[len("file://"):] or "/"
    return arg


def _fsspec() -> Any:
    try:
        import fsspec
    except ImportError:
        die("URLs need fsspec", EXIT_USAGE, "install the fsspec extra: pip install '.[fsspec]' from the clone "
            "(and s3fs for s3://)")
    return fsspec


def _filesystem(url: str) -> tuple[Any, str]:
    try:
        return _fsspec().core.url_to_fs(url)  # type: ignore[no-any-return]
    except (ImportError, ValueError) as exc:  # an unknown protocol, or its package is missing
        die(f"{url}: {exc}", EXIT_USAGE)


def check_input(url: str) -> int:
    """The URL names a file; return its size."""
    fs, path = _filesystem(url)
    try:
        info = fs.info(path)
    except FileNotFoundError:
        die(f"{url}: no such file", EXIT_USAGE)
    if info.get("type") != "file":
        die(f"{url} is not a file", EXIT_USAGE)
    return int(info["size"])


def check_output(url: str, force: bool) -> None:
    """The URL does not exist yet (or --force)."""
    fs, path = _filesystem(url)
    if fs.exists(path) and not force:
        die(f"{url} exists; use --force to replace it", EXIT_USAGE)


def open_input(url: str) -> Any:
    """A seekable binary file object at the start of the URL's file."""
    fs, path = _filesystem(url)
    return fs.open(path, "rb")


@contextlib.contextmanager
def output(url: str) -> Iterator[Any]:
    """A writable binary file at the URL, committed on success and discarded on error."""
    from ..fs import TargetWriter

    fs, path = _filesystem(url)
    target = TargetWriter(fs, path)
    try:
        yield target
    except BaseException:
        target.discard()
        raise
    target.close()
