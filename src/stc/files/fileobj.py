"""Encrypted files as ordinary binary file objects (what :func:`stc.open` returns).

Over 350 lines on purpose: the reader and the writer of one format share its chunk arithmetic.

:class:`DecryptingReader` gives random access to a seekable encrypted file: a read
authenticates only the chunks it covers, and the final chunk is authenticated once when
the file is opened, so a truncated file is refused before any byte is returned.  An
unseekable input (a pipe, a socket) is read sequentially, one chunk ahead.
:class:`EncryptingWriter` seals chunks as they fill and writes the final chunk on
``close()``; an error inside a ``with`` block aborts instead, so no valid file appears.

Both speak the file format of :mod:`stc.files.stream` byte for byte: a file written here
opens with ``decrypt_stream`` and the reverse.

It stays one module (about 390 lines): the reader and the writer share one file format's
chunk arithmetic and its tests, and splitting them would put the two halves of that contract
apart.
"""

from __future__ import annotations

import contextlib
import io
from collections import OrderedDict
from collections.abc import Callable
from types import TracebackType
from typing import Any

from cryptography.exceptions import InvalidTag

from ..crypto.payload import chunk_nonce
from ..crypto.suite import AEAD, TAG_SIZE
from ..errors import IntegrityError, ParameterError, TruncatedError
from ..formats.headers import Header, Opener
from .stream import (
    check_chunk_size,
    chunk_failure,
    layout,
    read_file_header,
    read_growing,
    readfull_any,
    writeall,
)

#: Chunks a reader keeps decrypted (its cache): 4 x chunk_size, 4 MiB at the default 1 MiB.
CACHE_CHUNKS = 4


def _is_seekable(raw: Any) -> bool:
    try:
        return bool(raw.seekable())
    except (AttributeError, OSError, ValueError):
        return False


def _read_exactly(raw: Any, n: int) -> bytes:
    """Up to ``n`` bytes, fewer only at EOF; memory follows the bytes that arrive (``n`` comes
    from a header)."""
    return bytes(read_growing(raw, n))


class DecryptingReader(io.BufferedIOBase):
    """A read-only binary file over an encrypted file; see the module docstring.

    Errors (``IntegrityError``, ``TruncatedError``) come from the read that touches a bad
    chunk; no byte of a chunk is returned before its tag verified.
    """

    def __init__(self, raw: Any, opener: Opener, *, close_raw: bool = False, name: str | None = None,
                 cache_chunks: int = CACHE_CHUNKS) -> None:
        super().__init__()
        self._raw, self._close_raw, self.name = raw, close_raw, name
        try:
            self.header: Header = read_file_header(raw)
            self._slot, self._aead = opener(self.header)
        except BaseException:
            if close_raw:
                raw.close()
            raise
        self._cs = self.header.chunk_size
        self._enc = self._cs + TAG_SIZE
        self._pos = 0
        self._cache: OrderedDict[int, bytearray] = OrderedDict()
        self._cache_chunks = max(1, cache_chunks)
        self._seekable = _is_seekable(raw)
        self._ct = bytearray()
        if self._seekable:
            self._start = raw.tell()
            body = raw.seek(0, io.SEEK_END) - self._start
            self._ct = bytearray(min(self._enc, max(body, TAG_SIZE)))  # sized by the file, not its header
            self._raw_pos = -1
            try:
                self._count, size = layout(body, self._cs)
                self._size: int | None = size
                self._chunk(self._count - 1)  # the final chunk, once: refuses a truncated file up front
            except BaseException:
                self._close_quietly()
                raise
        else:
            self._size = None
            self._next_index = 0
            self._finished = False
            self._ahead = _read_exactly(raw, self._enc)  # one chunk read ahead tells which chunk is last

    # ---- io.BufferedIOBase -------------------------------------------------------------
    def readable(self) -> bool:
        self._check_open()
        return True

    def seekable(self) -> bool:
        self._check_open()
        return self._seekable

    def tell(self) -> int:
        self._check_open()
        return self._pos

    @property
    def size(self) -> int | None:
        """Plaintext size (None for an unseekable input)."""
        return self._size

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._check_open()
        if whence == io.SEEK_SET:
            target = offset
        elif whence == io.SEEK_CUR:
            target = self._pos + offset
        elif whence == io.SEEK_END:
            if self._size is None:
                raise io.UnsupportedOperation("cannot seek from the end of an unseekable encrypted stream")
            target = self._size + offset
        else:
            raise ValueError(f"invalid whence ({whence!r}, should be 0, 1 or 2)")
        if target < 0:
            raise ValueError(f"negative seek position {target}")
        if not self._seekable and target != self._pos:
            raise io.UnsupportedOperation("the encrypted input is not seekable; read it in order")
        self._pos = target
        return target

    def read(self, size: int | None = -1) -> bytes:
        return bytes(self.read_buffer(size))

    def read_buffer(self, size: int | None = -1) -> bytearray:
        """``read`` into a new bytearray, without the copy to ``bytes`` (pyarrow calls this,
        and wraps the result without copying)."""
        self._check_open()
        if size is None or size < 0:
            if self._size is None:
                parts = bytearray()
                while chunk := self.read_buffer(self._cs):
                    parts += chunk
                return parts
            size = max(0, self._size - self._pos)
        elif self._size is not None:
            size = min(size, max(0, self._size - self._pos))  # never allocate past the end
        buf = bytearray(size)
        got = self.readinto(buf)
        del buf[got:]
        return buf

    def read1(self, size: int = -1) -> bytes:
        return self.read(size)

    def readinto(self, b: Any) -> int:
        self._check_open()
        view = memoryview(b).cast("B")
        filled = 0
        while filled < len(view):
            n = self._fill(view[filled:])
            if n == 0:
                break
            filled += n
        return filled

    def readinto1(self, b: Any) -> int:
        return self.readinto(b)

    def close(self) -> None:
        if not self.closed:
            self._cache.clear()
            try:
                if self._close_raw:
                    self._raw.close()
            finally:
                super().close()

    # ---- chunks ------------------------------------------------------------------------------
    def _check_open(self) -> None:
        if self.closed:
            raise ValueError("I/O operation on closed file")

    def _close_quietly(self) -> None:
        if self._close_raw:
            self._raw.close()

    def _fill(self, view: memoryview) -> int:
        """Copy plaintext at the position into ``view``; 0 at the end of the file."""
        if not self._seekable:
            return self._fill_sequential(view)
        assert self._size is not None
        if self._pos >= self._size:
            return 0
        index, offset = divmod(self._pos, self._cs)
        plain_len = min(self._cs, self._size - index * self._cs)
        if offset == 0 and len(view) >= plain_len and index not in self._cache:
            self._open_into(index, view[:plain_len])  # whole chunk: straight into the caller's buffer
            n = plain_len
        else:
            plain = self._chunk(index)
            n = min(len(view), len(plain) - offset)
            view[:n] = memoryview(plain)[offset : offset + n]
        self._pos += n
        return n

    def _read_chunk(self, index: int) -> memoryview:
        """The sealed bytes of chunk ``index`` (seekable inputs)."""
        where = self._start + index * self._enc
        if self._raw_pos != where:
            self._raw.seek(where)
        want = self._enc if index < self._count - 1 else self._size_of_last()
        got = readfull_any(self._raw, memoryview(self._ct)[:want])
        self._raw_pos = where + got
        if got != want:
            raise TruncatedError(f"the file changed while it was read: chunk {index} is cut short")
        return memoryview(self._ct)[:want]

    def _size_of_last(self) -> int:
        assert self._size is not None
        return int(self._size - (self._count - 1) * self._cs + TAG_SIZE)

    def _open_into(self, index: int, out: memoryview) -> None:
        """Authenticate chunk ``index`` and decrypt it into ``out``; wipe ``out`` on failure."""
        sealed = self._read_chunk(index)
        last = index == self._count - 1
        try:
            self._aead.decrypt_into(chunk_nonce(index, last), sealed, None, out)
        except InvalidTag:
            out[:] = bytes(len(out))  # never leave unauthenticated plaintext in the caller's buffer
            raise chunk_failure(self._aead, index, sealed, last, self._enc) from None

    def _chunk(self, index: int) -> bytearray:
        """Plaintext of chunk ``index``, from the cache or authenticated now (never handed out:
        reads copy from it)."""
        plain = self._cache.get(index)
        if plain is not None:
            self._cache.move_to_end(index)
            return plain
        assert self._size is not None
        plain = bytearray(min(self._cs, self._size - index * self._cs))
        self._open_into(index, memoryview(plain))
        self._cache[index] = plain
        if len(self._cache) > self._cache_chunks:
            self._cache.popitem(last=False)
        return plain

    def _fill_sequential(self, view: memoryview) -> int:
        index, offset = divmod(self._pos, self._cs)
        plain = self._cache.get(index)
        if plain is None:
            if self._finished or index != self._next_index:
                return 0  # past the final chunk
            plain = self._open_next()
        n = min(len(view), len(plain) - offset)
        view[:n] = memoryview(plain)[offset : offset + n]
        self._pos += n
        return n

    def _open_next(self) -> bytearray:
        index, sealed = self._next_index, self._ahead
        if len(sealed) < TAG_SIZE:
            raise TruncatedError("the file holds a header but no chunk" if index == 0 and not sealed
                                 else f"the file is truncated inside chunk {index}")
        self._ahead = _read_exactly(self._raw, self._enc) if len(sealed) == self._enc else b""
        last = not self._ahead
        try:
            plain = bytearray(self._aead.decrypt(chunk_nonce(index, last), sealed, None))
        except InvalidTag:
            raise chunk_failure(self._aead, index, memoryview(sealed), last, self._enc) from None
        if last and index > 0 and not plain:
            raise IntegrityError("an empty final chunk follows a full one (not produced by STC)")
        self._cache.clear()
        self._cache[index] = plain
        self._next_index = index + 1
        self._finished = last
        return plain


class EncryptingWriter(io.BufferedIOBase):
    """A write-only binary file that seals chunks as they fill; see the module docstring.

    ``on_close(plaintext_bytes)`` runs after the final chunk was written (it commits the output);
    ``on_abort(exc)`` runs instead when the writer is abandoned (it discards the output).
    """

    def __init__(self, raw: Any, header: bytes, aead: AEAD, chunk_size: int, *,
                 on_close: Callable[[int], None] | None = None,
                 on_abort: Callable[[BaseException | None], None] | None = None,
                 name: str | None = None) -> None:
        super().__init__()
        self._raw, self._aead, self._cs = raw, aead, check_chunk_size(chunk_size)
        self._on_close, self._on_abort, self.name = on_close, on_abort, name
        self._buf = bytearray(chunk_size)
        self._n = 0
        self._index = 0
        self._out = bytearray(chunk_size + TAG_SIZE)
        self.bytes_written = 0
        try:
            writeall(raw, header)
        except BaseException as exc:
            self.abort(exc)
            raise

    def writable(self) -> bool:
        if self.closed:
            raise ValueError("I/O operation on closed file")
        return True

    def tell(self) -> int:
        """Plaintext bytes written so far."""
        if self.closed:
            raise ValueError("I/O operation on closed file")
        return self.bytes_written + self._n

    def write(self, b: Any) -> int:
        if self.closed:
            raise ValueError("write to closed file")
        view = memoryview(b).cast("B")
        total = len(view)
        try:
            while view:
                if self._n == self._cs:  # a full chunk and more data: it was not the last one
                    self._seal(memoryview(self._buf), last=False)
                    self._n = 0
                if self._n == 0 and len(view) > self._cs:  # whole chunks straight from the caller
                    self._seal(view[: self._cs], last=False)
                    view = view[self._cs :]
                    continue
                take = min(self._cs - self._n, len(view))
                self._buf[self._n : self._n + take] = view[:take]
                self._n += take
                view = view[take:]
        except BaseException as exc:
            self.abort(exc)
            raise
        return total

    def _seal(self, plain: memoryview, *, last: bool) -> None:
        out = memoryview(self._out)[: len(plain) + TAG_SIZE]
        self._aead.encrypt_into(chunk_nonce(self._index, last), plain, None, out)
        writeall(self._raw, out)
        self._index += 1
        self.bytes_written += len(plain)

    def close(self) -> None:
        """Seal the final chunk and commit the output (once)."""
        if self.closed:
            return
        try:
            self._seal(memoryview(self._buf)[: self._n], last=True)
            if self._on_close is not None:
                self._on_close(self.bytes_written)
        except BaseException as exc:
            self.abort(exc)
            raise
        super().close()

    def abort(self, exc: BaseException | None = None) -> None:
        """Abandon the file: no final chunk is written and the output is discarded."""
        if self.closed:
            return
        super().close()
        if self._on_abort is not None:
            self._on_abort(exc)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort(exc)

    def __del__(self) -> None:
        # A writer dropped without close() is abandoned, not finished: committing here could
        # make a half-written file look complete.
        with contextlib.suppress(BaseException):
            self.abort()


def check_mode(mode: str) -> str:
    """Binary read or write only; text is ``io.TextIOWrapper`` over the result."""
    if mode not in ("rb", "wb"):
        raise ParameterError(f"mode must be 'rb' or 'wb'; got {mode!r} (wrap the file in io.TextIOWrapper for text)")
    return mode
