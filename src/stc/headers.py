"""Any header STC reads: version 1 (:class:`~stc.metadata.Metadata`) or version 2
(:class:`~stc.format_v2.HeaderV2`), told apart by the version byte after the magic."""

from __future__ import annotations

from typing import Any, Union

from .errors import FormatError
from .format_v2 import HeaderV2
from .metadata import FIXED_SIZE, SLOT_SIZE, Metadata

Header = Union[Metadata, HeaderV2]
_MAGICS = (b"STCM", b"STCF")


def _version(prefix: bytes) -> int:
    if len(prefix) < 5:
        raise FormatError(f"{len(prefix)} bytes are too few for an STC header")
    if prefix[:4] not in _MAGICS:
        raise FormatError("not STC data (bad magic)")
    if prefix[4] not in (1, 2):
        raise FormatError(f"unsupported format version {prefix[4]}; this release reads versions 1 and 2")
    return prefix[4]


def parse_header(data: "bytes | bytearray | memoryview") -> tuple[Header, int]:
    """Parse the header at the start of ``data``; return it and its length in bytes."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise FormatError(f"a header is bytes, not {type(data).__name__}")
    if _version(bytes(data[:5])) == 1:
        return Metadata.parse_prefix(data)
    return HeaderV2.parse_prefix(data)


def header_from_bytes(data: "bytes | bytearray | memoryview") -> Header:
    """Parse exactly one header (trailing bytes are an error)."""
    header, used = parse_header(data)
    if used != len(data):
        raise FormatError(f"{len(data) - used} unexpected bytes after the header")
    return header


def as_header(value: "Header | bytes | bytearray | memoryview") -> Header:
    """A header object from an object or its bytes."""
    return value if isinstance(value, (Metadata, HeaderV2)) else header_from_bytes(value)


def read_header(read_exactly: Any) -> Header:
    """Read one header through ``read_exactly(n) -> bytes`` (fewer bytes only at end of input).

    A header cut short is a ``FormatError``.
    """
    def take(n: int) -> bytes:
        got: bytes = read_exactly(n)
        if len(got) < n:
            raise FormatError("the input ends inside its STC header (truncated, or not STC data)")
        return got

    start = take(5)
    if _version(start) == 1:
        fixed = start + take(FIXED_SIZE - 5)
        return Metadata.from_bytes(fixed + take(fixed[FIXED_SIZE - 1] * SLOT_SIZE))
    unread = [start]  # HeaderV2.read asks for its 31-byte core first, so these 5 bytes lead it

    def take_v2(n: int) -> bytes:
        head = unread.pop() if unread else b""
        return head + take(n - len(head))

    return HeaderV2.read(take_v2)
