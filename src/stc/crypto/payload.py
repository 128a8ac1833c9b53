"""Payload key and STREAM nonces, shared by messages (one chunk) and files."""

from __future__ import annotations

from typing import Protocol

from .kdf import hkdf, sha256
from .suite import NONCE_SIZE

#: Largest chunk index: the 88-bit counter of the nonce (never reached in practice).
MAX_CHUNK_INDEX = 2 ** (8 * (NONCE_SIZE - 1)) - 1


class _Header(Protocol):
    """What the payload key binds of a header: all its bytes, and its nonce."""

    @property
    def nonce(self) -> bytes: ...

    def to_bytes(self) -> bytes: ...


def payload_key(dek: bytes, meta: _Header, encoded_context: bytes) -> bytes:
    """The AEAD key of a message or file: bound to every header byte and the context data."""
    return hkdf(dek, b"payload" + sha256(meta.to_bytes()) + sha256(encoded_context), salt=meta.nonce)


def chunk_nonce(index: int, last: bool) -> bytes:
    """STREAM nonce: 88-bit big-endian chunk counter, then the last-chunk flag byte."""
    if not 0 <= index <= MAX_CHUNK_INDEX:
        raise OverflowError("STREAM chunk counter exhausted")  # unreachable: 2**88 chunks
    return index.to_bytes(NONCE_SIZE - 1, "big") + (b"\x01" if last else b"\x00")
