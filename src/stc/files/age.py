"""age's payload (C2SP age, "Payload"): a 16-byte nonce, then STREAM over ChaCha20-Poly1305.

The payload key is HKDF-SHA-256(file key, salt = nonce, info = "payload"); chunks hold 64 KiB of
plaintext; chunk ``i``'s nonce is ``i`` as 11 big-endian bytes and a last-chunk flag byte.  The
final chunk is empty only when the whole payload is.  Both directions run in constant memory
(one chunk and one byte of look-ahead); a chunk is written only after it authenticated, and the
caller's output is committed only after the final chunk did (``stc.age``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ..errors import FormatError, IntegrityError, TruncatedError

CHUNK = 64 * 1024
TAG = 16
NONCE_SIZE = 16
_SEALED = CHUNK + TAG

Progress = Callable[[int, int | None], Any] | None  # (plaintext bytes so far, total if known), as STC's


def payload_key(file_key: bytes, nonce: bytes) -> ChaCha20Poly1305:
    """The payload AEAD of one file (a fresh nonce per file makes a fresh key)."""
    return ChaCha20Poly1305(HKDF(hashes.SHA256(), 32, nonce, b"payload").derive(file_key))


def _nonce(counter: int, last: bool) -> bytes:
    return counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def _read(src: Any, size: int) -> bytes:
    """Up to ``size`` bytes: fewer only at the end of the input."""
    data = src.read(size)
    if len(data) == size or not data:
        return bytes(data)
    parts = [data]
    got = len(data)
    while got < size:
        more = src.read(size - got)
        if not more:
            break
        parts.append(more)
        got += len(more)
    return b"".join(parts)


def encrypt_payload(src: BinaryIO, dst: Any, file_key: bytes, rand: Callable[[int], bytes] = os.urandom,
                    progress: Progress = None) -> int:
    """Write the payload of ``src``'s bytes; returns the plaintext length."""
    nonce = rand(NONCE_SIZE)
    aead = payload_key(file_key, nonce)
    dst.write(nonce)
    current, counter, total = _read(src, CHUNK), 0, 0
    while True:
        following = _read(src, CHUNK) if len(current) == CHUNK else b""
        last = not following
        dst.write(aead.encrypt(_nonce(counter, last), current, None))
        total += len(current)
        if progress is not None:
            progress(total, None)
        if last:
            return total
        current, counter = following, counter + 1


def decrypt_payload(src: BinaryIO, dst: Any, file_key: bytes, progress: Progress = None) -> int:
    """Write the plaintext of the payload in ``src``; returns its length.

    Chunks are read whole (64 KiB + 16), as age reads them: a short one is the final chunk; a
    full one that does not open as a middle chunk is tried as a full final chunk.  A chunk is
    written only after it authenticated; an error is raised at the first one that does not, at
    an input that ends before a final chunk, and at any byte after the final chunk (that chunk
    having been written, as age releases it: the caller commits nothing until this returns)."""
    nonce = _read(src, NONCE_SIZE)
    if len(nonce) != NONCE_SIZE:
        raise FormatError("age payload: the input ends before the 16-byte nonce")
    aead = payload_key(file_key, nonce)
    counter, total = 0, 0
    while True:
        sealed = _read(src, _SEALED)
        if not sealed:
            raise TruncatedError("age payload: the input ends before its final chunk (the file was cut)")
        last = len(sealed) < _SEALED
        if len(sealed) < TAG or (last and counter and len(sealed) == TAG):
            raise IntegrityError(f"age payload: chunk {counter} is too short (an empty or cut final chunk)")
        plain, last = _open_chunk(aead, sealed, counter, last)
        dst.write(plain)
        total += len(plain)
        if progress is not None:
            progress(total, None)
        if last:
            if src.read(1):
                raise IntegrityError("age payload: data after the final chunk (the file was changed)")
            return total
        counter += 1


def _open_chunk(aead: ChaCha20Poly1305, sealed: bytes, counter: int, last: bool) -> tuple[bytes, bool]:
    """(plaintext, whether it is the final chunk); a full chunk may be a full final chunk."""
    for flag in (last, True):
        try:
            return aead.decrypt(_nonce(counter, flag), sealed, None), flag
        except InvalidTag:
            if flag:
                break
    raise IntegrityError(f"age payload: chunk {counter} does not authenticate (the file was changed or cut)")
