"""Frame wire formats: the 16-byte :class:`ChunkHeader` and the 9-byte :class:`StreamParameters`.

Pure parsing and encoding; no keys.  docs/format.md §5 gives every byte.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from ..crypto.suite import Suite
from ..errors import FormatError, ParameterError

#: Version 1: per-sender hash chain of epoch keys (read only).  Version 2: 16-ary epoch tree.
HEADER_VERSION_V1 = 1
HEADER_VERSION = 2
HEADER_VERSIONS = (HEADER_VERSION_V1, HEADER_VERSION)
FLAG_SINGLE = 0x00
FLAG_MULTI = 0x01
HEADER_SIZE = 16
SENDER_ID_SIZE = 8
STREAM_METADATA_SIZE = 9
MAX_SEQUENCE = 2**32 - 1
MAX_EPOCH = 2**16 - 1

MIN_SUBCHUNK, MAX_SUBCHUNK = 256, (1 << 24) - 1
MIN_WINDOW, MAX_WINDOW = 64, 65535
MAX_DEPTH = 64

HEADER = struct.Struct(">BB8sHI")
_META = struct.Struct(">BBB3sHB")


@dataclass(frozen=True)
class ChunkHeader:
    """The 16 bytes before every frame: version, flags, sender id, epoch, sequence."""

    flags: int
    sender_id: bytes
    epoch: int
    sequence: int
    version: int = HEADER_VERSION

    def __post_init__(self) -> None:
        if self.flags not in (FLAG_SINGLE, FLAG_MULTI):
            raise ParameterError("flags must be 0x0000 (single chunk) or 0x0001 (multi-chunk)")
        if not isinstance(self.sender_id, bytes) or len(self.sender_id) != SENDER_ID_SIZE:
            raise ParameterError("sender_id must be 8 bytes")
        if not 0 <= self.epoch <= MAX_EPOCH or not 0 <= self.sequence <= MAX_SEQUENCE:
            raise ParameterError("epoch must fit 16 bits and sequence 32 bits")
        if self.version not in HEADER_VERSIONS:
            raise ParameterError(f"version must be one of {HEADER_VERSIONS}")

    def to_bytes(self) -> bytes:
        """Exactly 16 bytes (docs/format.md, "Frame header")."""
        wire: bytes | None = self.__dict__.get("_wire")
        if wire is None:
            wire = HEADER.pack(self.version, self.flags, self.sender_id, self.epoch, self.sequence)
            self.__dict__["_wire"] = wire  # a cache, not a field: equality and repr ignore it
        return wire

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> ChunkHeader:
        """Parse 16 bytes (exactly; slice ``packet[:16]``); FormatError otherwise."""
        if not isinstance(data, (bytes, bytearray, memoryview)) or len(data) != HEADER_SIZE:
            raise FormatError(f"a frame header is exactly {HEADER_SIZE} bytes")
        version, flags, sender, epoch, seq = HEADER.unpack(data)
        if version not in HEADER_VERSIONS:
            raise FormatError(f"unsupported frame header version {version}")
        if flags not in (FLAG_SINGLE, FLAG_MULTI):
            raise FormatError(f"unknown frame flags 0x{flags:02x}")
        return make_header(version, flags, sender, epoch, seq, bytes(data))


_new = object.__new__


def make_header(version: int, flags: int, sender_id: bytes, epoch: int, sequence: int, wire: bytes) -> ChunkHeader:
    """Hot-path constructor for values already known valid (skips __post_init__)."""
    header = _new(ChunkHeader)
    d = header.__dict__
    d["version"], d["flags"], d["sender_id"], d["epoch"], d["sequence"] = version, flags, sender_id, epoch, sequence
    d["_wire"] = wire
    return header


@dataclass(frozen=True)
class StreamParameters:
    """The 9-byte session description of get_stream_metadata()."""

    suite: Suite
    adaptive_chunking: bool
    optimal_chunk_size: int
    replay_window: int
    max_depth: int
    version: int = HEADER_VERSION

    def to_bytes(self) -> bytes:
        """9 bytes: version, suite, flags, sub-chunk size (u24), window (u16), max depth."""
        return _META.pack(self.version, int(self.suite), int(self.adaptive_chunking),
                          self.optimal_chunk_size.to_bytes(3, "big"), self.replay_window, self.max_depth)

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> StreamParameters:
        """Parse and validate; FormatError on anything malformed."""
        if not isinstance(data, (bytes, bytearray, memoryview)) or len(data) != STREAM_METADATA_SIZE:
            raise FormatError(f"stream metadata is exactly {STREAM_METADATA_SIZE} bytes")
        version, suite, flags, chunk, window, depth = _META.unpack(data)
        if version not in HEADER_VERSIONS:
            raise FormatError(f"unsupported stream metadata version {version}")
        if flags & ~1:
            raise FormatError(f"unknown stream flags 0x{flags:02x}")
        size = int.from_bytes(chunk, "big")
        if not MIN_SUBCHUNK <= size <= MAX_SUBCHUNK or window < MIN_WINDOW or not 1 <= depth <= MAX_DEPTH:
            raise FormatError("stream metadata holds an out-of-range parameter")
        return cls(Suite.from_wire(suite), bool(flags), size, window, depth, version)
