"""Encrypted inputs, the same for every command that reads one: a path, '-' or an fsspec URL,
binary or armored.

``open_input`` looks at the first bytes (enough to find the armor line after its leading
white space) and refuses what is neither STC data nor armor before a passphrase is asked;
``plain`` gives the binary form to read.  Only ciphertext is ever spooled to disk.
"""

from __future__ import annotations

import io
import os
import shutil
import sys
import tempfile
from typing import Any

from ..age import DETECT as AGE_DETECT
from ..age import is_age
from ..formats import armor
from ._common import (
    EXIT_DECRYPT,
    check_input,
    die,
)
from .remote import check_input as check_url_input
from .remote import is_url
from .remote import open_input as open_url
from .terminal import Peekable

HEAD = max(armor.DETECT, AGE_DETECT)  # enough to see the magic, or the armor line after its white space


def checked_input(source: str, *hint: str) -> int | None:
    """Check INPUT (a path, '-' or a URL); return its size when known."""
    if is_url(source):
        return check_url_input(source)
    check_input(source, *hint)
    return None if source == "-" else os.path.getsize(source)


def open_input(source: str, age_ok: bool = False) -> tuple[Any, bytes]:
    """The input at its start (seekable when it can be), and its first bytes, checked to be STC data
    (or, with ``age_ok``, an age file)."""
    if source != "-" or is_regular(sys.stdin.buffer):
        stream: Any = (sys.stdin.buffer if source == "-" else open_url(source) if is_url(source)
                       else open(source, "rb"))  # noqa: SIM115 (process-long)
        start = stream.tell()
        head = stream.read(HEAD)
        stream.seek(start)
    else:  # a pipe: keep what was read for the look, and give it back first
        peekable = Peekable(sys.stdin.buffer)
        head = peekable.peek(HEAD)
        stream = io.BufferedReader(peekable, 1 << 20)
    if not (head[:4] in (b"STCF", b"STCM") or armor.is_armored(head) or (age_ok and is_age(head))):
        what = "standard input" if source == "-" else source
        die(f"{what} is not STC data (no STC magic and no armor line)" + (" nor an age file" if age_ok else ""),
            EXIT_DECRYPT)
    return stream, head


def plain(stream: Any, head: bytes) -> Any:
    """The binary form of an opened input: de-armored on the fly when it is armored."""
    return armor.ArmorReader(stream) if armor.is_armored(head) else stream


def for_api(source: str, stream: Any, head: bytes) -> Any:
    """What to hand the library: a local binary file by its path (so that, as for ``decrypt``, an
    interrupted re-key is finished first), anything else as its binary stream."""
    if source == "-" or is_url(source) or armor.is_armored(head):
        return plain(stream, head)
    stream.close()
    return source


def spool(stream: Any) -> Any:
    """Copy an unseekable input (ciphertext only) into a private temporary file; return it at 0."""
    copy = tempfile.TemporaryFile(prefix="stc-ciphertext-")  # noqa: SIM115 (returned; closed at exit)
    shutil.copyfileobj(stream, copy, 1 << 20)
    copy.seek(0)
    return copy


def is_regular(f: Any) -> bool:
    """A regular, seekable file (stdin redirected from a file, say), not a pipe or terminal."""
    try:
        return os.path.isfile(f"/proc/self/fd/{f.fileno()}") and f.seekable()
    except (OSError, ValueError):
        return False
