"""age's payload (C2SP age, "Payload"): a 16-byte nonce, then STREAM over ChaCha20-Poly1305.

The payload key is HKDF-SHA-256(file key, salt = nonce, info = "payload"); chunks hold 64 KiB of
plaintext; chunk ``i``'s nonce is ``i`` as 11 big-endian bytes and a last-chunk flag byte.  The
final chunk is empty only when the whole payload is.  Both directions run in constant memory
(one chunk and one byte of look-ahead); a chunk is written only after it authenticated, and the
caller's output is committed only after the final chunk did (``stc.age``).
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable
from typing import Any, BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ..errors import FormatError, IntegrityError, TruncatedError

CHUNK = 64 * 1024
BATCH = 16  # chunks read, sealed or opened, and written at once (1 MiB)
TAG = 16
NONCE_SIZE = 16
_SEALED = CHUNK + TAG

Progress = Callable[[int, int | None], Any] | None  # (plaintext bytes so far, total if known), as STC's


def payload_key(file_key: bytes, nonce: bytes) -> ChaCha20Poly1305:
    """The payload AEAD of one file (a fresh nonce per file makes a fresh key)."""
    return ChaCha20Poly1305(HKDF(hashes.SHA256(), 32, nonce, b"payload").derive(file_key))


def _nonce(counter: int, last: bool) -> bytes:
    return counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def _fill(src: Any, view: memoryview) -> int:
    """Read into ``view`` until it is full or the input ends; the number of bytes read."""
    readinto = getattr(src, "readinto", None)
    got = 0
    while got < len(view):
        if readinto is not None:
            n = readinto(view[got:]) or 0
        else:
            data = src.read(len(view) - got)
            n = len(data)
            view[got:got + n] = data
        if not n:
            break
        got += n
    return got


class _Writer:
    """Writes whole batches in a second thread, so the next batch is sealed or opened while this
    one is written (both release the GIL).  Buffers rotate; one is handed out again only after
    it was written.  A write error is raised by the next :meth:`buffer` or by :meth:`close`."""

    def __init__(self, dst: Any, size: int, slots: int = 3) -> None:
        self._dst = dst
        self._error: BaseException | None = None
        self._views = [memoryview(bytearray(size)) for _ in range(slots)]
        self._free: queue.SimpleQueue[int] = queue.SimpleQueue()
        self._todo: queue.SimpleQueue[tuple[int, int] | None] = queue.SimpleQueue()
        for i in range(slots):
            self._free.put(i)
        self._thread = threading.Thread(target=self._run, name="stc-age-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (job := self._todo.get()) is not None:
            index, size = job
            if self._error is None and size:
                try:
                    self._dst.write(self._views[index][:size])
                except BaseException as exc:  # raised in the caller's thread
                    self._error = exc
            self._free.put(index)

    def buffer(self) -> tuple[int, memoryview]:
        index = self._free.get()
        if self._error is not None:
            raise self._error
        return index, self._views[index]

    def write(self, index: int, size: int) -> None:
        self._todo.put((index, size))

    def close(self) -> None:
        self._todo.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error


def encrypt_payload(src: BinaryIO, dst: Any, file_key: bytes, rand: Callable[[int], bytes] = os.urandom,
                    progress: Progress = None) -> int:
    """Write the payload of ``src``'s bytes; returns the plaintext length.  Plaintext is read a
    batch ahead, so the last chunk is sealed knowing that nothing follows it."""
    nonce = rand(NONCE_SIZE)
    aead = payload_key(file_key, nonce)
    dst.write(nonce)
    batches = [memoryview(bytearray(BATCH * CHUNK)), memoryview(bytearray(BATCH * CHUNK))]
    writer = _Writer(dst, BATCH * _SEALED)
    try:
        size, turn, counter, total = _fill(src, batches[0]), 0, 0, 0
        while True:
            following = _fill(src, batches[1 - turn]) if size == BATCH * CHUNK else 0
            index, out = writer.buffer()
            at, written = 0, 0
            while True:
                piece = min(CHUNK, size - at)
                last = not following and at + piece == size
                aead.encrypt_into(_nonce(counter, last), batches[turn][at:at + piece], None,
                                  out[written:written + piece + TAG])
                at, written, counter = at + piece, written + piece + TAG, counter + 1
                if at == size:
                    break
            writer.write(index, written)
            total += size
            if progress is not None:
                progress(total, None)
            if not following:
                return total
            size, turn = following, 1 - turn
    finally:
        writer.close()


def decrypt_payload(src: BinaryIO, dst: Any, file_key: bytes, progress: Progress = None) -> int:
    """Write the plaintext of the payload in ``src``; returns its length.

    Chunks are read whole (64 KiB + 16), as age reads them: a short one is the final chunk; a
    full one that does not open as a middle chunk is tried as a full final chunk.  A chunk is
    written only after it authenticated (a batch at a time, by a second thread); an error is
    raised at the first one that does not, at an input that ends before a final chunk, and at
    any byte after the final chunk (the chunks before it having been written, as age releases
    them: the caller commits nothing until this returns)."""
    nonce = bytearray(NONCE_SIZE)
    if _fill(src, memoryview(nonce)) != NONCE_SIZE:
        raise FormatError("age payload: the input ends before the 16-byte nonce")
    aead = payload_key(file_key, bytes(nonce))
    sealed = memoryview(bytearray(BATCH * _SEALED))
    writer = _Writer(dst, BATCH * CHUNK)
    counter, total = 0, 0
    try:
        while True:
            n = _fill(src, sealed)
            if not n:
                raise TruncatedError("age payload: the input ends before its final chunk (the file was cut)")
            index, out = writer.buffer()
            at, written, final = 0, 0, False
            try:
                while at < n and not final:
                    size = min(_SEALED, n - at)
                    if size < TAG or (size < _SEALED and counter and size == TAG):
                        raise IntegrityError(f"age payload: chunk {counter} is too short (an empty or cut final "
                                             "chunk)")
                    final = _open_chunk(aead, sealed[at:at + size], out[written:written + size - TAG], counter,
                                        size < _SEALED)
                    at, written, counter = at + size, written + size - TAG, counter + 1
            finally:
                writer.write(index, written)  # what authenticated, even when a later chunk did not
            total += written
            if progress is not None:
                progress(total, None)
            if final:
                if at < n or src.read(1):
                    raise IntegrityError("age payload: data after the final chunk (the file was changed)")
                return total
    finally:
        writer.close()


def _open_chunk(aead: ChaCha20Poly1305, sealed: memoryview, into: memoryview, counter: int, last: bool) -> bool:
    """Open ``sealed`` into ``into``; whether it is the final chunk (a full chunk may be a full final one)."""
    for flag in (last, True):
        try:
            aead.decrypt_into(_nonce(counter, flag), sealed, None, into)
            return flag
        except InvalidTag:
            if flag:
                break
    raise IntegrityError(f"age payload: chunk {counter} does not authenticate (the file was changed or cut)")
