"""Multi-chunk frame bodies: ``u32(S)`` then each piece of ``S`` bytes sealed on its own.

A frame longer than the sub-chunk size is cut so that each piece is authenticated alone
(docs/format.md §5); pieces carry their index and a last flag in the nonce.
"""

from __future__ import annotations

import struct

from ..errors import IntegrityError
from ..suite import AEAD, TAG_SIZE
from .frame import MAX_SUBCHUNK, MIN_SUBCHUNK

NONCE = struct.Struct(">IIB3x")
_U32 = struct.Struct(">I")


def seal(aead: AEAD, header: bytes, seq: int, data: "bytes | bytearray | memoryview", size: int) -> tuple[bytes, int]:
    """The body of frame ``seq`` cut in pieces of ``size`` bytes; returns it and the piece count."""
    src = memoryview(data).cast("B")
    n = len(src)
    count = -(-n // size)
    out = bytearray(4 + n + TAG_SIZE * count)
    _U32.pack_into(out, 0, size)
    aad = header + out[:4]
    dst = memoryview(out)
    pos = 4
    for i in range(count):
        part = src[i * size : (i + 1) * size]
        end = pos + len(part) + TAG_SIZE
        aead.encrypt_into(NONCE.pack(seq, i, i == count - 1), part, aad, dst[pos:end])
        pos = end
    return bytes(out), count


def open_body(aead: AEAD, header: bytes, seq: int, body: bytes) -> bytes:
    """The frame, once every piece opened (InvalidTag from the AEAD, IntegrityError if malformed)."""
    if len(body) < 4:
        raise IntegrityError("multi-chunk frame too short")
    size = _U32.unpack_from(body)[0]
    if not MIN_SUBCHUNK <= size <= MAX_SUBCHUNK:
        raise IntegrityError("multi-chunk frame has an invalid sub-chunk size")
    enc = size + TAG_SIZE
    payload = len(body) - 4
    count = -(-payload // enc)
    if count < 2 or payload - (count - 1) * enc <= TAG_SIZE:
        raise IntegrityError("multi-chunk frame has a malformed length")
    aad = header + bytes(body[:4])
    out = bytearray(payload - TAG_SIZE * count)
    src, dst = memoryview(body), memoryview(out)
    for i in range(count):
        part = src[4 + i * enc : 4 + (i + 1) * enc]
        out_part = dst[i * size : i * size + len(part) - TAG_SIZE]
        aead.decrypt_into(NONCE.pack(seq, i, i == count - 1), part, aad, out_part)
    return bytes(out)
