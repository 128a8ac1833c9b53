"""Constant-memory file encryption: the STREAM construction over fixed buffers.

Over 350 lines on purpose: the sequential encrypt, decrypt and range loops whose bytes
``parallel`` must reproduce stay side by side.

File = header (magic ``STCF``, version 1 or 2) || chunks.  Chunk ``i`` is
``AEAD(key, nonce(i, last), plaintext_i)``: ``chunk_size`` bytes of plaintext (only the
final chunk may be shorter, and it is empty only when the whole file is), each followed
by its 16-byte tag.  The key is bound to the header and to the context data, so chunks
cannot move between files; the index and last flag in the nonce catch reordering,
truncation and appends.

This layer takes a key (an AEAD) and header bytes, or a callback that opens a header's
key; it knows nothing about passwords, recipients or contexts.  A regular file of at least
four chunks going to a regular file is processed on both cores (:mod:`stc.files.parallel`, the
same bytes); pipes and file objects use the loop below.

Memory: two input buffers and a ring of three output buffers of about ``chunk_size``
bytes each, whatever the file size; a writer thread overlaps writing with sealing.
Outputs to a path go to a temporary file beside it, renamed only when the last chunk
has authenticated.

It stays one module (about 380 lines): the sequential encrypt, decrypt and range loops are the
reference whose bytes :mod:`.parallel` must reproduce, and they read best side by side.
"""

from __future__ import annotations

import contextlib
import io
import os
import queue
import stat
import threading
from collections.abc import Callable, Iterator
from typing import Any

from cryptography.exceptions import InvalidTag

from ..crypto.payload import chunk_nonce
from ..crypto.suite import AEAD, TAG_SIZE
from ..errors import FormatError, IntegrityError, ParameterError, TruncatedError
from ..formats.headers import Header, Opener, read_header
from ..formats.v1 import MAX_CHUNK, MIN_CHUNK
from . import parallel
from .outputs import PathOrFile, atomic_output

Progress = Callable[[int, "int | None"], Any]

DEFAULT_CHUNK = 1 << 20


def check_chunk_size(chunk_size: int) -> int:
    """Validate a chunk size (1 KiB to 64 MiB, any integer in between)."""
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or not MIN_CHUNK <= chunk_size <= MAX_CHUNK:
        raise ParameterError(f"chunk_size must be an integer in [{MIN_CHUNK}, {MAX_CHUNK}] bytes; got {chunk_size!r}")
    return chunk_size


def readfull(f: Any, view: memoryview) -> int:
    """Fill ``view`` unless EOF comes first; return the byte count (pipes give short reads)."""
    got = 0
    size = len(view)
    while got < size:
        n = f.readinto(view[got:])
        if n is None:  # a non-blocking stream with nothing yet: never mistake it for EOF
            raise OSError("input would block; use a blocking file or pipe")
        if not n:
            break
        got += n
    return got


def readfull_any(f: Any, view: memoryview) -> int:
    """:func:`readfull` for any binary reader: ``readinto`` when it has one, else ``read``."""
    if hasattr(f, "readinto"):
        return readfull(f, view)
    got = 0
    while got < len(view):
        data = f.read(len(view) - got)
        if not data:
            break
        view[got : got + len(data)] = data
        got += len(data)
    return got


def read_growing(f: Any, limit: int, piece: int = 1 << 20) -> bytearray:
    """Up to ``limit`` bytes of ``f`` (fewer only at its end), read ``piece`` bytes at a time so
    that memory follows the bytes that really arrive, not the ``limit`` a header declared."""
    out = bytearray()
    while len(out) < limit:
        buf = bytearray(min(piece, limit - len(out)))
        n = readfull_any(f, memoryview(buf))
        out += memoryview(buf)[:n]
        if n < len(buf):
            break
    return out


def _size_of(f: Any) -> int | None:
    """Remaining size of a regular file from its current position, else None (pipes)."""
    try:
        st = os.fstat(f.fileno())
        return int(st.st_size - f.tell()) if stat.S_ISREG(st.st_mode) else None
    except (OSError, AttributeError, ValueError, io.UnsupportedOperation):
        return None


def writeall(f: Any, view: memoryview | bytes) -> None:
    """Write every byte (a raw file may accept fewer than asked)."""
    view = memoryview(view)
    while view:
        n = f.write(view)
        if n is None:
            raise OSError("output would block; use a blocking file")
        view = view[n:]


class _PipelinedWriter:
    """Writes sealed (or opened) chunks on a background thread.

    File writes and ``encrypt_into`` both release the GIL, so writing chunk i overlaps
    with reading and sealing chunk i+1 on the other core.  Writing is the largest stage
    (sealing 1 MiB takes about 65 us), so a separate sealing thread would add little.
    A ring of ``depth`` buffers bounds memory; the bytes written and their order are
    exactly those of a plain loop.
    """

    def __init__(self, out: Any, size: int, depth: int = 3) -> None:
        self._out = out
        self._free: queue.SimpleQueue[bytearray] = queue.SimpleQueue()
        for _ in range(depth):
            self._free.put(bytearray(size))
        self._full: queue.SimpleQueue[tuple[bytearray, int] | None] = queue.SimpleQueue()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="stc-writer", daemon=True)
        self._thread.start()

    def buffer(self) -> bytearray:
        """A free buffer to fill (waits while the writer is behind)."""
        buf = self._free.get()
        if self._error is not None:
            raise self._error
        return buf

    def submit(self, buf: bytearray, length: int) -> None:
        """Queue ``buf[:length]`` for writing."""
        self._full.put((buf, length))

    def _run(self) -> None:
        while (item := self._full.get()) is not None:
            buf, length = item
            if self._error is None:
                try:
                    writeall(self._out, memoryview(buf)[:length])
                except BaseException as exc:  # handed to the main thread
                    self._error = exc
            self._free.put(buf)

    def close(self) -> None:
        """Wait for every queued write; re-raise a write error."""
        self._full.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error


@contextlib.contextmanager
def _writer(out: Any, size: int) -> Iterator[_PipelinedWriter]:
    writer = _PipelinedWriter(out, size)
    try:
        yield writer
    except BaseException:
        with contextlib.suppress(BaseException):
            writer.close()
        raise
    writer.close()


@contextlib.contextmanager
def _open_input(src: PathOrFile) -> Iterator[Any]:
    if isinstance(src, (str, os.PathLike)):
        with open(src, "rb", buffering=0) as f:
            yield f
    elif not hasattr(src, "readinto"):
        raise ParameterError("input must be a path or a binary file object (with readinto)")
    else:
        yield src


def encrypt_file(
    header: bytes,
    aead: AEAD,
    src: PathOrFile,
    dst: PathOrFile,
    *,
    chunk_size: int = DEFAULT_CHUNK,
    progress_callback: Progress | None = None,
) -> int:
    """Write ``header`` then the chunks of ``src`` sealed under ``aead``; return the plaintext size."""
    check_chunk_size(chunk_size)
    done = 0
    with _open_input(src) as fin, atomic_output(dst, src) as fout:
        total = _size_of(fin)
        writeall(fout, header)
        if total is not None and total >= parallel.MIN_CHUNKS * chunk_size and parallel.regular_files(fin, fout):
            return parallel.seal(aead, fin, fout, chunk_size, total, progress_callback)
        bufs = (bytearray(chunk_size), bytearray(chunk_size))
        cur, nxt = memoryview(bufs[0]), memoryview(bufs[1])
        n = readfull(fin, cur)
        index = 0
        with _writer(fout, chunk_size + TAG_SIZE) as writer:
            while True:
                # Read one chunk ahead: a chunk is the last one iff nothing follows it.
                n_next = readfull(fin, nxt) if n == chunk_size else 0
                last = n_next == 0
                out = writer.buffer()
                aead.encrypt_into(chunk_nonce(index, last), cur[:n], None, memoryview(out)[: n + TAG_SIZE])
                writer.submit(out, n + TAG_SIZE)
                done += n
                if progress_callback is not None and n:
                    progress_callback(done, total)
                if last:
                    break
                cur, nxt, n = nxt, cur, n_next
                index += 1
    return done


def layout(body: int, chunk_size: int) -> tuple[int, int]:
    """(chunk count, plaintext size) of ``body`` bytes of chunks; TruncatedError if no file
    of STC's has that length (it was cut, or bytes were appended)."""
    enc = chunk_size + TAG_SIZE
    count = max(1, -(-body // enc))
    last_len = body - (count - 1) * enc
    if last_len < TAG_SIZE or (count > 1 and last_len == TAG_SIZE):
        raise TruncatedError("the file is truncated or has a malformed final chunk")
    return count, body - count * TAG_SIZE


def read_file_header(fin: Any) -> Header:
    """Read and parse the header at the current position of a binary stream (FormatError if cut)."""

    def read_exactly(n: int) -> bytes:
        buf = bytearray(n)
        return bytes(buf[: readfull_any(fin, memoryview(buf))])

    header = read_header(read_exactly)
    if not header.is_file:
        raise FormatError("this is a message header, not an encrypted file; decrypt it as a message")
    return header


def _header_and_key(fin: Any, opener: Opener, metadata: Header | None) -> tuple[Header, int, AEAD]:
    header = read_file_header(fin)
    if metadata is not None and (not hasattr(metadata, "to_bytes") or metadata.to_bytes() != header.to_bytes()):
        raise FormatError("the metadata given does not match this file's header")
    slot, aead = opener(header)
    return header, slot, aead


def chunk_failure(aead: AEAD, index: int, data: memoryview, assumed_last: bool, full_size: int) -> IntegrityError:
    """Name a chunk failure precisely: truncation, appended data, or tampering."""
    try:
        aead.decrypt(chunk_nonce(index, not assumed_last), bytes(data), None)
    except InvalidTag:
        if index == 0:  # the key itself may be wrong (context data is in it)
            return IntegrityError("chunk 0 did not authenticate: wrong context data, or the file was modified "
                                  "or cut short")
        if assumed_last and len(data) < full_size:  # earlier chunks proved the key: a cut, or tampering
            return IntegrityError(f"chunk {index} did not authenticate: the file was cut inside it, or modified")
        return IntegrityError(
            f"chunk {index} did not authenticate: the file was modified, truncated, reordered or spliced"
        )
    if assumed_last:
        return TruncatedError(f"the file is truncated: it ends after chunk {index}, which is not the final chunk")
    return IntegrityError(f"data was appended after the final chunk (chunk {index})")



def decrypt_file(
    src: PathOrFile,
    dst: PathOrFile,
    opener: Opener,
    *,
    metadata: Header | None = None,
    progress_callback: Progress | None = None,
) -> tuple[Header, int, int, int]:
    """Decrypt ``src`` to ``dst``; return (header, real slot index, chunks, plaintext bytes)."""
    with _open_input(src) as fin:
        meta, slot, aead = _header_and_key(fin, opener, metadata)
        enc = meta.chunk_size + TAG_SIZE
        remaining = _size_of(fin)
        total = None
        if remaining is not None:
            chunks = max(1, -(-remaining // enc))
            total = max(0, remaining - chunks * TAG_SIZE)
        with atomic_output(dst, src) as fout:
            if remaining is not None and remaining >= parallel.MIN_CHUNKS * enc and parallel.regular_files(fin, fout):
                chunks, plain = parallel.open_chunks(aead, fin, fout, meta.chunk_size, remaining, progress_callback,
                                                     chunk_failure)
                return meta, slot, chunks, plain  # leaving the block renames the output into place
            # Buffers are sized by what the input holds, never only by what its header declares
            # (a few hundred bytes must not make us allocate 2 x 64 MiB); for a source of unknown
            # size the first chunk is read in growing pieces, so the sender pays for the memory.
            head = None if remaining is not None else read_growing(fin, enc)
            available = len(head) if head is not None else remaining if remaining is not None else enc
            alloc = min(enc, max(available, TAG_SIZE))
            bufs = (bytearray(alloc), bytearray(alloc))
            cur, nxt = memoryview(bufs[0]), memoryview(bufs[1])
            done = index = 0
            with _writer(fout, alloc - TAG_SIZE) as writer:
                if head is None:
                    n = readfull(fin, cur)
                else:
                    n = len(head)
                    cur[:n] = head
                    del head
                while True:
                    if n < TAG_SIZE:
                        if index == 0 and n == 0:
                            raise TruncatedError("the file holds a header but no chunk")
                        raise TruncatedError(f"the file is truncated inside chunk {index}")
                    n_next = readfull(fin, nxt) if n == enc else 0
                    last = n_next == 0
                    out = writer.buffer()
                    try:
                        aead.decrypt_into(chunk_nonce(index, last), cur[:n], None, memoryview(out)[: n - TAG_SIZE])
                    except InvalidTag:
                        raise chunk_failure(aead, index, cur[:n], last, enc) from None
                    if last and index > 0 and n == TAG_SIZE:
                        raise IntegrityError("an empty final chunk follows a full one (not produced by STC)")
                    writer.submit(out, n - TAG_SIZE)
                    done += n - TAG_SIZE
                    if progress_callback is not None and n > TAG_SIZE:
                        progress_callback(done, total)
                    if last:
                        break
                    cur, nxt, n = nxt, cur, n_next
                    index += 1
    return meta, slot, index + 1, done


def decrypt_range(
    src: str | os.PathLike[str],
    offset: int,
    length: int,
    opener: Opener,
    *,
    metadata: Header | None = None,
) -> bytes:
    """Plaintext bytes ``[offset, offset + length)``; authenticates only the chunks
    that cover the range plus the final chunk (so a truncated file is still refused)."""
    if isinstance(offset, bool) or isinstance(length, bool) or offset < 0 or length < 0:
        raise ParameterError("offset and length must be non-negative integers")
    with open(src, "rb") as fin:
        meta, _, aead = _header_and_key(fin, opener, metadata)
        start = fin.tell()
        body = os.fstat(fin.fileno()).st_size - start
        enc = meta.chunk_size + TAG_SIZE
        count, plain_size = layout(body, meta.chunk_size)
        if offset > plain_size:
            raise ParameterError(f"the range starts at byte {offset}, past the end of the {plain_size}-byte plaintext")
        end = min(offset + length, plain_size)
        if offset >= end:
            wanted: list[int] = []
        else:
            wanted = list(range(offset // meta.chunk_size, (end - 1) // meta.chunk_size + 1))
        out = bytearray()
        # The final chunk is always checked too, so a truncated file is refused.
        for index in wanted if count - 1 in wanted else [*wanted, count - 1]:
            fin.seek(start + index * enc)
            data = fin.read(min(enc, body - index * enc))  # never more than the file holds
            last = index == count - 1
            try:
                plain = aead.decrypt(chunk_nonce(index, last), data, None)
            except InvalidTag:
                raise chunk_failure(aead, index, memoryview(data), last, enc) from None
            if index in wanted:
                out += plain
        first = wanted[0] * meta.chunk_size if wanted else 0
        return bytes(out[offset - first : end - first]) if wanted else b""
