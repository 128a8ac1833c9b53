"""stc.open: seekable reading, sequential reading of pipes, writing, and one file format."""

from __future__ import annotations

import gc
import io
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import stc
from stc.errors import IntegrityError, ParameterError, TruncatedError, WrongPasswordError
from stc.files.fileobj import CACHE_CHUNKS
from tests.conftest import FullDisk

CHUNK = 1024
SIZES = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 5 * CHUNK + 17]


def _encrypt(ctx: stc.STCContext, data: bytes, chunk_size: int = CHUNK) -> bytes:
    buf = io.BytesIO()
    with stc.open(buf, "wb", password="pw", ctx=ctx, chunk_size=chunk_size) as f:
        f.write(data)
    return buf.getvalue()


class _Unseekable(io.RawIOBase):
    """A pipe-like reader over bytes."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        return self._data.readinto(b)


@pytest.fixture(scope="module")
def mctx() -> stc.STCContext:
    from tests.conftest import CHEAP

    return stc.STCContext("fileobj-seed", **CHEAP)


@pytest.fixture(scope="module")
def files(mctx: stc.STCContext) -> dict[int, tuple[bytes, bytes]]:
    return {n: (data, _encrypt(mctx, data)) for n in SIZES for data in [os.urandom(n)]}


ops = st.lists(st.tuples(st.integers(0, 6 * CHUNK), st.integers(-1, 3 * CHUNK)), min_size=1, max_size=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(size=st.sampled_from(SIZES), steps=ops)
def test_any_seek_read_sequence_gives_the_plaintext_slice(files: Any, mctx: stc.STCContext, size: int,
                                                          steps: list[tuple[int, int]]) -> None:
    data, sealed = files[size]
    with stc.open(io.BytesIO(sealed), password="pw", ctx=mctx) as f:
        assert f.seekable() and f.size == size
        for offset, length in steps:
            assert f.seek(offset) == offset
            got = f.read(length)
            want = data[offset:] if length < 0 else data[offset : offset + length]
            assert got == want
            assert f.tell() == offset + len(want)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bit=st.integers(0, 8 * (5 * CHUNK + 17 + 6 * 16) - 1), offset=st.integers(0, 5 * CHUNK + 16))
def test_a_flipped_bit_in_a_chunk_a_read_touches_raises(files: Any, mctx: stc.STCContext, bit: int,
                                                        offset: int) -> None:
    data, sealed = files[5 * CHUNK + 17]
    header = len(sealed) - (len(data) + 6 * 16)
    tampered = bytearray(sealed)
    tampered[header + bit // 8] ^= 1 << (bit % 8)
    chunk = (bit // 8) // (CHUNK + 16)
    try:
        f = stc.open(io.BytesIO(bytes(tampered)), password="pw", ctx=mctx)
    except IntegrityError:
        assert chunk == 5  # only the final chunk is authenticated when opening
        return
    assert chunk != 5
    f.seek(offset)
    touched = offset // CHUNK == chunk
    if touched:
        with pytest.raises(IntegrityError):
            f.read(1)
    else:
        assert f.read(1) == data[offset : offset + 1]


def test_a_failed_chunk_leaves_no_plaintext_in_the_callers_buffer(files: Any, mctx: stc.STCContext) -> None:
    data, sealed = files[5 * CHUNK + 17]
    tampered = bytearray(sealed)
    tampered[len(sealed) - len(data) - 6 * 16 + 10] ^= 1  # inside chunk 0
    buf = bytearray(b"\xaa" * CHUNK)
    with stc.open(io.BytesIO(bytes(tampered)), password="pw", ctx=mctx) as f, pytest.raises(IntegrityError):
        f.readinto(buf)
    assert buf == bytes(CHUNK)


@pytest.mark.parametrize("cut", [1, 16, CHUNK + 16])
def test_truncated_files_are_refused_when_opened(files: Any, mctx: stc.STCContext, cut: int) -> None:
    _, sealed = files[5 * CHUNK + 17]
    with pytest.raises((TruncatedError, IntegrityError)):
        stc.open(io.BytesIO(sealed[:-cut]), password="pw", ctx=mctx)


def test_a_file_cut_at_a_chunk_boundary_is_refused(files: Any, mctx: stc.STCContext) -> None:
    data, sealed = files[5 * CHUNK + 17]
    header = len(sealed) - (len(data) + 6 * 16)
    with pytest.raises(TruncatedError, match="not the final chunk"):
        stc.open(io.BytesIO(sealed[: header + 2 * (CHUNK + 16)]), password="pw", ctx=mctx)


def test_wrong_password_and_context_fail_at_open(files: Any, mctx: stc.STCContext) -> None:
    _, sealed = files[CHUNK]
    with pytest.raises(WrongPasswordError):
        stc.open(io.BytesIO(sealed), password="nope", ctx=mctx)
    with pytest.raises(stc.ContextMismatchError):
        stc.open(io.BytesIO(sealed), password="pw", ctx=mctx, context_data={"x": 1})


@pytest.mark.parametrize("size", SIZES)
def test_unseekable_inputs_read_in_order(files: Any, mctx: stc.STCContext, size: int) -> None:
    data, sealed = files[size]
    with stc.open(io.BufferedReader(_Unseekable(sealed)), password="pw", ctx=mctx) as f:
        assert not f.seekable() and f.size is None
        assert f.read(3) == data[:3]
        assert f.read() == data[3:]
        assert f.read() == b""
        with pytest.raises(io.UnsupportedOperation):
            f.seek(f.tell() + 1)


# Cuts of the 6-chunk file (5 full chunks of CHUNK + 16 sealed bytes, then 17 + 16), as
# (bytes kept after the header, the error, its exact message).
_ENC = CHUNK + 16
_PIPE_CUTS = [
    (5 * _ENC + 32, IntegrityError, "chunk 5 did not authenticate: the file was cut inside it, or modified"),
    (5 * _ENC, TruncatedError, "the file is truncated: it ends after chunk 4, which is not the final chunk"),
    (2 * _ENC + 5, TruncatedError, "the file is truncated inside chunk 2"),
    (5, TruncatedError, "the file is truncated inside chunk 0"),
    (0, TruncatedError, "the file holds a header but no chunk"),
]


@pytest.mark.parametrize(("kept", "error", "message"), _PIPE_CUTS, ids=[str(c[0]) for c in _PIPE_CUTS])
def test_unseekable_truncation_raises_on_the_read_that_reaches_it(files: Any, mctx: stc.STCContext, kept: int,
                                                                  error: type[Exception], message: str) -> None:
    data, sealed = files[5 * CHUNK + 17]
    header = len(sealed) - (len(data) + 6 * 16)
    f = stc.open(io.BufferedReader(_Unseekable(sealed[: header + kept])), password="pw", ctx=mctx)
    with pytest.raises(error, match=f"^{re.escape(message)}$"):
        f.read()


def test_read1_reads_at_most_size(files: Any, mctx: stc.STCContext) -> None:
    data, sealed = files[5 * CHUNK + 17]
    with stc.open(io.BytesIO(sealed), password="pw", ctx=mctx) as f:
        assert f.read1(5) == data[:5]
        assert f.read1() == data[5:]


class _CountingSeeks(io.BytesIO):
    seeks = 0

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self.seeks += 1
        return super().seek(offset, whence)


def test_reading_in_order_does_not_seek_between_chunks(files: Any, mctx: stc.STCContext) -> None:
    data, sealed = files[5 * CHUNK + 17]
    raw = _CountingSeeks(sealed)
    with stc.open(raw, password="pw", ctx=mctx) as f:
        opened = raw.seeks
        assert b"".join(iter(lambda: f.read(100), b"")) == data
        assert raw.seeks - opened <= 1  # at most once, to the first chunk: then each read follows the last


def test_an_abandoned_writer_whose_abort_fails_stays_quiet(mctx: stc.STCContext,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from stc.files.fileobj import EncryptingWriter

    reported: list[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", reported.append)

    def failing_abort(exc: BaseException | None) -> None:
        raise RuntimeError("cleanup failed")

    writer = EncryptingWriter(io.BytesIO(), b"header", mctx._new_header(["pw"], [], context_data=None,
                                                                         use_decoys=False, chunk_size=CHUNK,
                                                                         is_file=True)[1],
                              CHUNK, on_abort=failing_abort)
    writer.write(b"half")
    del writer
    gc.collect()
    assert reported == []


def test_a_pipe_reads_through_a_real_subprocess(tmp_path: Path, mctx: stc.STCContext) -> None:
    data = os.urandom(3 * CHUNK + 5)
    path = tmp_path / "a.stc"
    path.write_bytes(_encrypt(mctx, data))
    proc = subprocess.Popen([sys.executable, "-c", f"import sys; sys.stdout.buffer.write(open({str(path)!r}, "
                             f"'rb').read())"], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    with stc.open(proc.stdout, password="pw", ctx=mctx) as f:
        assert f.read() == data
    proc.wait()


def test_a_huge_read_size_allocates_only_what_is_left(files: Any, mctx: stc.STCContext) -> None:
    data, sealed = files[5 * CHUNK + 17]
    with stc.open(io.BytesIO(sealed), password="pw", ctx=mctx) as f:
        f.seek(100)
        assert f.read(1 << 50) == data[100:]


def _tampered(files: Any, chunk: int) -> tuple[bytes, bytes]:
    """The 6-chunk file with one bit flipped in ``chunk``."""
    data, sealed = files[5 * CHUNK + 17]
    header = len(sealed) - (len(data) + 6 * 16)
    out = bytearray(sealed)
    out[header + chunk * (CHUNK + 16) + 3] ^= 1
    return data, bytes(out)


@pytest.mark.parametrize("chunk", [0, 1])
def test_a_tampered_chunk_is_named_with_its_likely_cause(files: Any, mctx: stc.STCContext, chunk: int) -> None:
    _, sealed = _tampered(files, chunk)
    expected = ("chunk 0 did not authenticate: wrong context data, or the file was modified or cut short" if chunk == 0
                else "chunk 1 did not authenticate: the file was modified, truncated, reordered or spliced")
    for raw in (io.BytesIO(sealed), _Unseekable(sealed)):
        with stc.open(raw, password="pw", ctx=mctx) as f, pytest.raises(IntegrityError, match=f"^{expected}$"):
            f.read()


def test_a_read_that_ends_at_a_chunk_boundary_does_not_open_the_next_chunk(files: Any,
                                                                            mctx: stc.STCContext) -> None:
    data, sealed = _tampered(files, 2)
    with stc.open(io.BytesIO(sealed), password="pw", ctx=mctx) as f:
        buf = bytearray(2 * CHUNK)
        assert f.readinto(buf) == 2 * CHUNK and bytes(buf) == data[: 2 * CHUNK]
        with pytest.raises(IntegrityError):
            f.read(1)


@pytest.mark.parametrize("size", SIZES)
def test_reads_at_and_past_the_end(files: Any, mctx: stc.STCContext, size: int) -> None:
    data, sealed = files[size]
    with stc.open(io.BytesIO(sealed), password="pw", ctx=mctx) as f:
        asked: list[int] = []
        real = f.readinto
        f.readinto = lambda b: asked.append(len(b)) or real(b)  # type: ignore[method-assign]
        f.seek(max(0, size - 3))
        assert f.read(1 << 20) == data[-3:] and asked[-1] == min(3, size)  # never allocates past the end
        assert f.read() == b"" and asked[-1] == 0
        assert real(bytearray(10)) == 0
        f.seek(size + 10)
        assert f.read() == b"" and asked[-1] == 0
        assert f.read(5) == b"" and asked[-1] == 0
        assert real(bytearray(10)) == 0


def test_the_cache_keeps_the_most_recently_read_chunks(mctx: stc.STCContext) -> None:
    data = os.urandom(10 * CHUNK)
    f = stc.open(io.BytesIO(_encrypt(mctx, data)), password="pw", ctx=mctx)
    opened: list[int] = []
    real = f._open_into
    f._open_into = lambda index, out: opened.append(index) or real(index, out)  # type: ignore[method-assign]

    def touch(index: int) -> None:
        f.seek(index * CHUNK + 1)
        assert f.read(1) == data[index * CHUNK + 1 : index * CHUNK + 2]

    for index in (0, 1, 2, 3, 0, 4, 0, 2, 3):  # 1 is the least recently used when 4 comes in
        touch(index)
    assert opened == [0, 1, 2, 3, 4]
    touch(1)
    assert opened[-1] == 1


def test_the_cache_is_bounded(mctx: stc.STCContext) -> None:
    data = os.urandom(10 * CHUNK)
    f = stc.open(io.BytesIO(_encrypt(mctx, data)), password="pw", ctx=mctx)
    for i in range(10):
        f.seek(i * CHUNK + 1)
        assert f.read(1) == data[i * CHUNK + 1 : i * CHUNK + 2]
    assert len(f._cache) == CACHE_CHUNKS


def test_writer_output_is_the_same_format_in_every_direction(tmp_path: Path, mctx: stc.STCContext) -> None:
    data = os.urandom(4 * CHUNK + 3)
    (tmp_path / "plain").write_bytes(data)
    # stc.open -> decrypt_stream
    with stc.open(tmp_path / "a.stc", "wb", password="pw", ctx=mctx, chunk_size=CHUNK) as f:
        for i in range(0, len(data), 700):
            f.write(data[i : i + 700])
    mctx.decrypt_stream(tmp_path / "a.stc", output_path=tmp_path / "a.out", password="pw")
    assert (tmp_path / "a.out").read_bytes() == data
    # encrypt_stream -> stc.open
    mctx.encrypt_stream(tmp_path / "plain", tmp_path / "b.stc", "pw", chunk_size=CHUNK)
    with stc.open(tmp_path / "b.stc", password="pw", ctx=mctx) as f:
        assert f.read() == data


@pytest.mark.parametrize("pieces", [[b""], [b"x" * CHUNK], [b"x" * (3 * CHUNK)], [b"a", b"b" * (2 * CHUNK + 1)]])
def test_writes_of_any_shape_decrypt(mctx: stc.STCContext, pieces: list[bytes]) -> None:
    buf = io.BytesIO()
    with stc.open(buf, "wb", password="pw", ctx=mctx, chunk_size=CHUNK) as f:
        written = 0
        for piece in pieces:
            assert f.write(piece) == len(piece)
            written += len(piece)
            assert f.tell() == written
    with stc.open(io.BytesIO(buf.getvalue()), password="pw", ctx=mctx) as r:
        assert r.read() == b"".join(pieces)


def test_an_exception_in_the_block_leaves_no_file(tmp_path: Path, mctx: stc.STCContext) -> None:
    target = tmp_path / "x.stc"
    with pytest.raises(RuntimeError), stc.open(target, "wb", password="pw", ctx=mctx) as f:
        f.write(b"secret" * 1000)
        raise RuntimeError("stop")
    assert os.listdir(tmp_path) == []


def test_an_existing_file_survives_an_aborted_overwrite(tmp_path: Path, mctx: stc.STCContext) -> None:
    target = tmp_path / "x.stc"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), stc.open(target, "wb", password="pw", ctx=mctx) as f:
        f.write(b"new")
        raise RuntimeError("stop")
    assert target.read_bytes() == b"old"


def test_a_writer_dropped_unclosed_is_abandoned(tmp_path: Path, mctx: stc.STCContext) -> None:
    f = stc.open(tmp_path / "x.stc", "wb", password="pw", ctx=mctx)
    f.write(b"half")
    del f
    assert os.listdir(tmp_path) == []


def test_a_file_object_that_fails_to_write_surfaces_the_error(mctx: stc.STCContext) -> None:
    class Full(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, b: Any) -> int:
            raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        stc.open(Full(), "wb", password="pw", ctx=mctx)


def test_writing_after_close_and_bad_modes_are_refused(mctx: stc.STCContext) -> None:
    f = stc.open(io.BytesIO(), "wb", password="pw", ctx=mctx)
    f.close()
    with pytest.raises(ValueError):
        f.write(b"x")
    for mode in ("r", "w", "ab", "r+b", "rt"):
        with pytest.raises(ParameterError, match="mode"):
            stc.open(io.BytesIO(), mode, password="pw", ctx=mctx)
    with pytest.raises(ParameterError, match="ctx or seed"):
        stc.open(io.BytesIO(), "wb", password="pw", ctx=mctx, seed="s")
    with pytest.raises(ParameterError, match="identities"):
        stc.open(io.BytesIO(), "wb", password="pw", ctx=mctx, identities=["x"])
    with pytest.raises(ParameterError, match="recipients"):
        stc.open(io.BytesIO(b"STCF"), "rb", password="pw", ctx=mctx, recipients=["x"])


def test_recipients_and_identities(mctx: stc.STCContext) -> None:
    identity = stc.generate_identity("x25519")
    buf = io.BytesIO()
    with stc.open(buf, "wb", recipients=[identity.recipient], ctx=mctx) as f:
        f.write(b"to a key")
    with stc.open(io.BytesIO(buf.getvalue()), identities=[identity], ctx=mctx) as r:
        assert r.read() == b"to a key"


def test_text_through_textiowrapper(mctx: stc.STCContext) -> None:
    buf = io.BytesIO()
    with stc.open(buf, "wb", password="pw", ctx=mctx) as f, io.TextIOWrapper(f, encoding="utf-8") as t:
        t.write("héllo\nworld\n")
    with stc.open(io.BytesIO(buf.getvalue()), password="pw", ctx=mctx) as r:
        assert io.TextIOWrapper(r, encoding="utf-8").readlines() == ["héllo\n", "world\n"]


def _crafted(ctx: stc.STCContext, chunks: list[tuple[bytes, bool]]) -> bytes:
    """A file whose chunks are sealed as given (plaintext, last flag): what STC never writes."""
    from stc.crypto.payload import chunk_nonce

    header, aead, _ = ctx._new_header(["pw"], [], context_data=None, use_decoys=False, chunk_size=CHUNK,
                                      is_file=True)
    return header.to_bytes() + b"".join(aead.encrypt(chunk_nonce(i, last), data, None)
                                        for i, (data, last) in enumerate(chunks))


@pytest.mark.parametrize("full_chunks", [1, 4])
def test_an_empty_final_chunk_after_a_full_one_is_refused_by_every_reader(mctx: stc.STCContext, tmp_path: Path,
                                                                          full_chunks: int) -> None:
    data = _crafted(mctx, [(os.urandom(CHUNK), False)] * full_chunks + [(b"", True)])
    path = tmp_path / "crafted.stc"
    path.write_bytes(data)
    message = r"^an empty final chunk follows a full one \(not produced by STC\)$"
    with pytest.raises(IntegrityError, match=message):  # sequential loop (1 chunk) or both workers (4)
        mctx.decrypt_stream(path, output_path=tmp_path / "out", password="pw")
    assert not (tmp_path / "out").exists()
    with pytest.raises(TruncatedError, match="malformed final chunk"):  # seekable: its length says so at open
        stc.open(path, "rb", password="pw", ctx=mctx)
    with pytest.raises(IntegrityError, match=message):  # a pipe: when the reader gets there
        mctx.decrypt_stream(_Unseekable(data), output_path=tmp_path / "out", password="pw")
    with stc.open(_Unseekable(data), "rb", password="pw", ctx=mctx) as f, pytest.raises(IntegrityError, match=message):
        f.read()


class _ReadOnly:
    """A readable object without readinto (only read)."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def read(self, n: int = -1) -> bytes:
        return self._data.read(min(n, 100) if n > 0 else n)  # short reads, as sockets give

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False


def test_a_reader_without_readinto_is_read_with_read(files: Any, mctx: stc.STCContext) -> None:
    data, sealed = files[5 * CHUNK + 17]
    with stc.open(_ReadOnly(sealed), "rb", password="pw", ctx=mctx) as f:
        assert f.read() == data


class _NoSeekable:
    """A reader with read() and nothing else; ``seekable`` missing or raising."""

    def __init__(self, data: bytes, seekable_raises: bool) -> None:
        self._data = io.BytesIO(data)
        if seekable_raises:
            self.seekable = self._closed_seekable

    def read(self, n: int = -1) -> bytes:
        return self._data.read(n)

    def _closed_seekable(self) -> bool:
        raise ValueError("I/O operation on closed file")


@pytest.mark.parametrize("seekable_raises", [False, True])
def test_an_input_that_cannot_say_it_is_seekable_is_read_as_a_pipe(files: Any, mctx: stc.STCContext,
                                                                   seekable_raises: bool) -> None:
    data, sealed = files[5 * CHUNK + 17]
    with stc.open(_NoSeekable(sealed, seekable_raises), "rb", password="pw", ctx=mctx) as f:  # type: ignore[arg-type]
        assert not f.seekable() and f.read() == data


def test_a_cache_of_one_chunk(files: Any, mctx: stc.STCContext) -> None:
    from stc.files.fileobj import DecryptingReader

    data, sealed = files[5 * CHUNK + 17]
    for size in (0, -3):
        reader = DecryptingReader(io.BytesIO(sealed), mctx._opener("pw", (), None), cache_chunks=size)
        for index in (0, 1, 0):
            reader.seek(index * CHUNK + 1)
            assert reader.read(1) == data[index * CHUNK + 1 : index * CHUNK + 2]
        assert list(reader._cache) == [0]
        raw = reader._raw
        reader.close()
        assert not raw.closed  # a reader closes its input only when told to


def test_seek_whence_and_closed_reader(files: Any, mctx: stc.STCContext) -> None:
    data, sealed = files[5 * CHUNK + 17]
    f = stc.open(io.BytesIO(sealed), "rb", password="pw", ctx=mctx)
    assert f.seek(10) == 10 and f.seek(5, io.SEEK_CUR) == 15 and f.read(3) == data[15:18]
    assert f.seek(-4, io.SEEK_END) == len(data) - 4 and f.read() == data[-4:]
    buf = bytearray(7)
    f.seek(100)
    assert f.readinto1(buf) == 7 and bytes(buf) == data[100:107]
    with pytest.raises(ValueError, match="invalid whence"):
        f.seek(0, 3)
    with pytest.raises(ValueError, match="negative seek position -1"):
        f.seek(-1)
    f.close()
    f.close()  # twice is fine
    for call in (f.read, f.tell, lambda: f.seek(0)):
        with pytest.raises(ValueError, match=r"^I/O operation on closed file$"):
            call()
    pipe = stc.open(_Unseekable(sealed), "rb", password="pw", ctx=mctx)
    with pytest.raises(io.UnsupportedOperation, match=r"^cannot seek from the end of an unseekable encrypted stream$"):
        pipe.seek(0, io.SEEK_END)
    with pytest.raises(io.UnsupportedOperation, match=r"^the encrypted input is not seekable; read it in order$"):
        pipe.seek(1)
    assert pipe.seek(0) == 0  # where it is: allowed


def test_a_file_cut_while_it_is_read_is_refused(tmp_path: Path, mctx: stc.STCContext) -> None:
    data = os.urandom(5 * CHUNK)
    path = tmp_path / "f.stc"
    path.write_bytes(_encrypt(mctx, data))
    with stc.open(path, "rb", password="pw", ctx=mctx) as f:
        assert f.read(10) == data[:10]
        os.truncate(path, path.stat().st_size - 2 * CHUNK)  # after open: chunk 3 is now cut short
        f.seek(3 * CHUNK)
        with pytest.raises(TruncatedError, match="changed while it was read: chunk 3"):
            f.read(10)


def test_closed_writer_refuses_everything(mctx: stc.STCContext) -> None:
    f = stc.open(io.BytesIO(), "wb", password="pw", ctx=mctx)
    assert f.writable() and f.tell() == 0
    f.write(b"abc")
    assert f.tell() == 3
    f.close()
    f.close()  # idempotent
    f.abort()  # after close: nothing to abandon
    for call in (f.writable, f.tell):
        with pytest.raises(ValueError, match=r"^I/O operation on closed file$"):
            call()


def test_a_commit_that_fails_abandons_the_output(mctx: stc.STCContext) -> None:
    from stc.files.fileobj import EncryptingWriter

    aborted: list[object] = []
    header, aead, _ = mctx._new_header(["pw"], [], context_data=None, use_decoys=False, chunk_size=CHUNK,
                                      is_file=True)
    out = io.BytesIO()

    def commit(n: int) -> None:
        raise OSError("rename failed")

    w = EncryptingWriter(out, header.to_bytes(), aead, CHUNK, on_close=commit, on_abort=aborted.append)
    w.write(b"x" * 10)
    with pytest.raises(OSError, match="rename failed"):
        w.close()
    assert w.closed and len(aborted) == 1 and isinstance(aborted[0], OSError)


def _writer(mctx: stc.STCContext, raw: Any, aborted: list[Any]) -> Any:
    from stc.files.fileobj import EncryptingWriter

    header, aead, _ = mctx._new_header(["pw"], [], context_data=None, use_decoys=False, chunk_size=CHUNK,
                                       is_file=True)
    return EncryptingWriter(raw, header.to_bytes(), aead, CHUNK, on_abort=aborted.append)


def test_on_abort_is_told_what_went_wrong(mctx: stc.STCContext) -> None:
    aborted: list[Any] = []
    with pytest.raises(OSError, match="No space") as header_failure:
        _writer(mctx, FullDisk(0), aborted)  # the header cannot be written
    assert aborted == [header_failure.value]
    aborted.clear()
    writer = _writer(mctx, FullDisk(200), aborted)
    with pytest.raises(OSError, match="No space") as chunk_failure:
        writer.write(os.urandom(3 * CHUNK))  # the first full chunk cannot be written
    assert aborted == [chunk_failure.value] and writer.closed
    aborted.clear()
    with pytest.raises(KeyError) as in_block, _writer(mctx, io.BytesIO(), aborted) as writer:
        writer.write(b"partial")
        raise KeyError("the caller's own error")
    assert aborted == [in_block.value]
    with pytest.raises(ValueError, match=r"^write to closed file$"):
        writer.write(b"more")


def test_an_oversized_buffer_at_the_last_chunk_gets_only_what_is_left(files: Any, mctx: stc.STCContext) -> None:
    data, sealed = files[5 * CHUNK + 17]
    with stc.open(io.BytesIO(sealed), password="pw", ctx=mctx) as f:
        for index in range(CACHE_CHUNKS):  # the final chunk, cached at open, is evicted
            f.seek(index * CHUNK + 1)
            f.read(1)
        assert 5 not in f._cache
        f.seek(5 * CHUNK)
        buf = bytearray(2 * CHUNK)
        assert f.readinto(buf) == 17 and bytes(buf[:17]) == data[5 * CHUNK :]
        f.seek(0)
        whole = bytearray(len(data) + 100)
        assert f.readinto(whole) == len(data) and bytes(whole[: len(data)]) == data
