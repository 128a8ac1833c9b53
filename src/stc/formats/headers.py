"""Any header STC reads: version 1 (:class:`~stc.formats.v1.Metadata`), version 2
(:class:`~stc.formats.v2.HeaderV2`) or, for messages only, version 3
(:class:`~stc.formats.v3.HeaderV3`), told apart by the version byte after the magic."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Union

from ..crypto.suite import AEAD
from ..errors import FormatError
from . import v2 as format_v2
from . import v3 as format_v3
from .v1 import FIXED_SIZE, SLOT_SIZE, Metadata
from .v2 import HeaderV2
from .v3 import HeaderV3

#: A header a file can have (versions 1 and 2).
Header = Union[Metadata, HeaderV2]
#: A header a message can have (versions 1, 2 and 3).
MessageHeader = Union[Metadata, HeaderV2, HeaderV3]
#: Opens a file header's key (the keys layer makes one from credentials; the files layer calls
#: it): returns (index of the key slot that opened, the AEAD of the chunks).
Opener = Callable[[Header], "tuple[int, AEAD]"]
_MAGICS = (b"STCM", b"STCF")
#: What this release writes and reads, by kind (``get_status()``).  Messages to one password
#: are version 3; files, and messages with decoys, recipients or several passwords, version 2.
#: Frames (``stc.p2p``) are counted apart: their header has its own version byte.
FORMATS_WRITTEN = {"messages_and_files": format_v2.VERSION, "messages_one_password": format_v3.VERSION,
                   "frames": 2}
FORMATS_READ = {"messages_and_files": [1, format_v2.VERSION], "messages_one_password": [format_v3.VERSION],
                "frames": [1, 2]}
_V3_NOT_A_FILE = "this is a message header (version 3); files have version 1 or 2"


def _version(prefix: bytes) -> int:
    if len(prefix) < 5:
        raise FormatError(f"{len(prefix)} bytes are too few for an STC header")
    if prefix[:4] not in _MAGICS:
        raise FormatError("not STC data (bad magic)")
    if prefix[4] not in (1, 2, 3):
        raise FormatError(f"unsupported format version {prefix[4]}; this release reads versions 1 to 3")
    return prefix[4]


def parse_header(data: bytes | bytearray | memoryview) -> tuple[MessageHeader, int]:
    """Parse the header at the start of ``data``; return it and its length in bytes."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise FormatError(f"a header is bytes, not {type(data).__name__}")
    version = _version(bytes(data[:5]))
    if version == 1:
        return Metadata.parse_prefix(data)
    if version == 3:
        return HeaderV3.parse_prefix(data)
    return HeaderV2.parse_prefix(data)


def header_from_bytes(data: bytes | bytearray | memoryview) -> MessageHeader:
    """Parse exactly one header (trailing bytes are an error)."""
    header, used = parse_header(data)
    if used != len(data):
        raise FormatError(f"{len(data) - used} unexpected bytes after the header")
    return header


def as_header(value: MessageHeader | bytes | bytearray | memoryview) -> MessageHeader:
    """A header object from an object or its bytes."""
    return value if isinstance(value, (Metadata, HeaderV2, HeaderV3)) else header_from_bytes(value)


def as_file_header(value: MessageHeader | bytes | bytearray | memoryview) -> Header:
    """A header of a file (version 1 or 2) from an object or its bytes."""
    header = as_header(value)
    if isinstance(header, HeaderV3):
        raise FormatError(_V3_NOT_A_FILE)
    return header


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
    version = _version(start)
    if version == 3:
        raise FormatError(_V3_NOT_A_FILE)
    if version == 1:
        fixed = start + take(FIXED_SIZE - 5)
        return Metadata.from_bytes(fixed + take(fixed[FIXED_SIZE - 1] * SLOT_SIZE))
    unread = [start]  # HeaderV2.read asks for its 31-byte core first, so these 5 bytes lead it

    def take_v2(n: int) -> bytes:
        head = unread.pop() if unread else b""
        return head + take(n - len(head))

    return HeaderV2.read(take_v2)
