"""Multi-chunk frame bodies: ``u32(S)`` then each piece of ``S`` bytes sealed on its own.

A frame longer than the sub-chunk size is cut so that each piece is authenticated alone
(docs/format.md §5); pieces carry their index and a last flag in the nonce.
"""

from __future__ import annotations

import struct
import threading

from ..crypto.suite import AEAD, TAG_SIZE
from ..errors import IntegrityError
from .frame import MAX_SUBCHUNK, MIN_SUBCHUNK

NONCE = struct.Struct(">IIB3x")
_U32 = struct.Struct(">I")

#: Bodies up to this size are built in a per-thread scratch buffer and copied out once, so a
#: frame costs one allocation (as a bare AEAD call does) instead of two; fresh heap pages for
#: each 64 KB frame were a third of its cost here.
_SCRATCH_MAX = 1 << 20
_scratch = threading.local()


def _scratch_view(n: int) -> memoryview:
    """A writable buffer of ``n`` bytes: this thread's scratch, or a new one when large."""
    if n > _SCRATCH_MAX:
        return memoryview(bytearray(n))
    buf: bytearray | None = getattr(_scratch, "buf", None)
    if buf is None or len(buf) < n:
        buf = _scratch.buf = bytearray(max(n, 1 << 17))
    return memoryview(buf)[:n]


def sealed_size(n: int, size: int) -> int:
    """Bytes of the body of an ``n``-byte frame cut in pieces of ``size``."""
    return 4 + n + TAG_SIZE * -(-n // size)


def seal_into(aead: AEAD, header: bytes, seq: int, data: bytes | bytearray | memoryview, size: int,
              dst: memoryview) -> int:
    """Seal the body of frame ``seq`` into ``dst`` (exactly ``sealed_size`` bytes); return the piece count."""
    src = memoryview(data).cast("B")
    n = len(src)
    count = -(-n // size)
    _U32.pack_into(dst, 0, size)
    aad = header + bytes(dst[:4])
    pos = 4
    for i in range(count):
        part = src[i * size : (i + 1) * size]
        end = pos + len(part) + TAG_SIZE
        aead.encrypt_into(NONCE.pack(seq, i, i == count - 1), part, aad, dst[pos:end])
        pos = end
    return count


def seal(aead: AEAD, header: bytes, seq: int, data: bytes | bytearray | memoryview, size: int) -> tuple[bytes, int]:
    """The body of frame ``seq`` cut in pieces of ``size`` bytes; returns it and the piece count."""
    out = _scratch_view(sealed_size(len(memoryview(data).cast("B")), size))
    count = seal_into(aead, header, seq, data, size, out)
    return bytes(out), count


def open_body(aead: AEAD, header: bytes, seq: int, body: bytes | memoryview,
              into: type[bytearray] | None = None) -> bytes | bytearray:
    """The frame, once every piece opened (InvalidTag from the AEAD, IntegrityError if
    malformed); a bytearray when ``into`` is given (no copy), else bytes."""
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
    n = payload - TAG_SIZE * count
    out = into(n) if into is not None else None
    dst = memoryview(out) if out is not None else _scratch_view(n)
    src = memoryview(body)
    for i in range(count):
        part = src[4 + i * enc : 4 + (i + 1) * enc]
        out_part = dst[i * size : i * size + len(part) - TAG_SIZE]
        aead.decrypt_into(NONCE.pack(seq, i, i == count - 1), part, aad, out_part)
    return out if out is not None else bytes(dst)
