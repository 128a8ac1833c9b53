"""The SFrame header (RFC 9605 §4.3): a config byte ``X|K|Y|C``, then the KID and CTR.

Each of KID and CTR (unsigned, at most 64 bits) is carried in its 3-bit field when below 8,
otherwise in 1 to 8 big-endian bytes after the config byte (KID first), with the field holding
the length minus one.  The encoding is unique: a value below 8 sent in bytes, or sent with a
leading zero byte, is refused, so one (KID, CTR) has exactly one header, 1 to 17 bytes long.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...errors import FormatError, ParameterError

#: Largest KID or CTR (both are 64-bit unsigned integers).
MAX_VALUE = (1 << 64) - 1
#: Longest header: config byte, 8 KID bytes, 8 CTR bytes.
MAX_HEADER_SIZE = 17
_INLINE = 8  # values below this sit in the config byte


def field(value: int) -> tuple[int, bytes]:
    """(3-bit config field with its flag, bytes that follow) for one value already checked."""
    if value < _INLINE:
        return value, b""
    size = (value.bit_length() + 7) >> 3
    return 0b1000 | (size - 1), value.to_bytes(size, "big")


def _truncated(what: str, size: int, have: int) -> FormatError:
    return FormatError(f"SFrame header truncated: the {what} needs {size} bytes, {max(have, 0)} follow")


def _non_minimal(what: str) -> FormatError:
    return FormatError(f"SFrame header {what} is not minimally encoded (RFC 9605 §4.3 requires it)")


def parse(data: bytes) -> tuple[int, int, int]:
    """(kid, ctr, header length) from the start of ``data``; FormatError if truncated or non-minimal.

    Written out without helpers: it runs once per frame received."""
    if not data:
        raise FormatError("SFrame ciphertext is empty (no header)")
    config = data[0]
    at = 1
    if config & 0x80:
        size = ((config >> 4) & 7) + 1
        if len(data) < 1 + size:
            raise _truncated("KID", size, len(data) - 1)
        kid = int.from_bytes(data[1:1 + size], "big")
        if data[1] == 0 or kid < _INLINE:
            raise _non_minimal("KID")
        at += size
    else:
        kid = config >> 4
    if config & 0x08:
        size = (config & 7) + 1
        if len(data) < at + size:
            raise _truncated("CTR", size, len(data) - at)
        ctr = int.from_bytes(data[at:at + size], "big")
        if data[at] == 0 or ctr < _INLINE:
            raise _non_minimal("CTR")
        at += size
    else:
        ctr = config & 7
    return kid, ctr, at


@dataclass(frozen=True)
class SFrameHeader:
    """One parsed SFrame header: the key id and the counter."""

    kid: int
    ctr: int

    def __post_init__(self) -> None:
        for name in ("kid", "ctr"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_VALUE:
                raise ParameterError(f"SFrame {name.upper()} must be an integer in [0, 2**64 - 1]; got {value!r}")

    def to_bytes(self) -> bytes:
        """The unique encoding of this header (1 to 17 bytes)."""
        kid_field, kid = field(self.kid)
        ctr_field, ctr = field(self.ctr)
        return bytes(((kid_field << 4) | ctr_field,)) + kid + ctr

    @classmethod
    def from_bytes(cls, data: bytes) -> tuple[SFrameHeader, int]:
        """(header, its length) read from the start of ``data``; FormatError if malformed."""
        kid, ctr, size = parse(data)
        return cls(kid, ctr), size


def encode_header(kid: int, ctr: int) -> bytes:
    """The SFrame header of (``kid``, ``ctr``), as RFC 9605 §4.3 encodes it."""
    return SFrameHeader(kid, ctr).to_bytes()


def parse_header(data: bytes) -> tuple[int, int, int]:
    """(kid, ctr, header length) from the start of ``data``; FormatError if truncated or non-minimal."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ParameterError("an SFrame header is bytes")
    return parse(bytes(data[:MAX_HEADER_SIZE]))
