"""encrypt_stream / decrypt_stream / decrypt_range and the core.streaming helpers."""

from __future__ import annotations

import io
import os
import pickle
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import stc
from core.streaming import stream_decrypt_file, stream_encrypt_file, validate_chunk_fast
from stc.formats.v1 import Metadata

CHUNK = 1024
ENC = CHUNK + 16


@pytest.fixture
def plain(tmp_path: Path) -> Path:
    return tmp_path / "plain.bin"


def _enc(ctx: stc.STCContext, tmp_path: Path, data: bytes, **kw: object) -> tuple[Path, Metadata]:
    src, dst = tmp_path / "in.bin", tmp_path / "in.bin.stc"
    src.write_bytes(data)
    meta = ctx.encrypt_stream(src, dst, "pw", chunk_size=CHUNK, **kw)  # type: ignore[arg-type]
    src.unlink()
    return dst, meta


def _only(tmp_path: Path, *names: str) -> None:
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 5 * CHUNK + 17])
def test_round_trip_sizes(ctx: stc.STCContext, tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    enc, meta = _enc(ctx, tmp_path, data)
    chunks = max(1, -(-size // CHUNK))
    assert enc.stat().st_size == meta.size + size + 16 * chunks
    out = tmp_path / "out.bin"
    assert ctx.decrypt_stream(enc, meta, out, "pw") == meta
    assert out.read_bytes() == data
    umask = os.umask(0o022)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask  # as any new file (private only while partial)


def test_metadata_optional_must_match_and_pickles(ctx: stc.STCContext, tmp_path: Path) -> None:
    enc, meta = _enc(ctx, tmp_path, b"x" * 3000)
    meta = pickle.loads(pickle.dumps(meta))
    ctx.decrypt_stream(input_path=enc, output_path=tmp_path / "a", password="pw")
    (tmp_path / "o").mkdir()
    _, other = _enc(ctx, tmp_path / "o", b"y")  # another file's header
    with pytest.raises(stc.FormatError, match="does not match"):
        ctx.decrypt_stream(enc, other, tmp_path / "b", "pw")
    assert not (tmp_path / "b").exists()


def test_context_data_and_wrong_password(ctx: stc.STCContext, tmp_path: Path) -> None:
    enc, meta = _enc(ctx, tmp_path, b"z" * 2000, context_data={"user": "alice"})
    out = tmp_path / "out"
    with pytest.raises(stc.IntegrityError, match="chunk 0"):
        ctx.decrypt_stream(enc, meta, out, "pw", context_data={"user": "bob"})
    with pytest.raises(stc.WrongPasswordError):
        ctx.decrypt_stream(enc, meta, out, "nope", context_data={"user": "alice"})
    with pytest.raises(stc.ContextMismatchError):
        ctx.decrypt_stream(enc, meta, out, "pw")
    _only(tmp_path, enc.name)
    ctx.decrypt_stream(enc, meta, out, "pw", context_data={"user": "alice"})
    assert out.read_bytes() == b"z" * 2000


def _attacks(blob: bytes, hdr: int, other: bytes) -> dict[str, bytes]:
    body = blob[hdr:]
    chunks = [body[i : i + ENC] for i in range(0, len(body), ENC)]
    head = blob[:hdr]
    out = {
        "swap": head + chunks[1] + chunks[0] + b"".join(chunks[2:]),
        "duplicate": head + chunks[0] + b"".join(chunks),
        "drop_first": head + b"".join(chunks[1:]),
        "drop_middle": head + chunks[0] + b"".join(chunks[2:]),
        "splice": head + other[hdr : hdr + ENC] + b"".join(chunks[1:]),
        "append_byte": blob + b"\x00",
        "append_chunk": blob + chunks[0],
        "flip_header": blob[:20] + bytes([blob[20] ^ 1]) + blob[21:],
        "flip_last_tag": blob[:-1] + bytes([blob[-1] ^ 0x80]),
    }
    for cut in [hdr + 1, *range(hdr + ENC - 3, len(blob), ENC), len(blob) - 1, hdr + ENC, hdr + 2 * ENC]:
        out[f"truncate_{cut}"] = blob[:cut]
    for i in range(len(chunks)):
        pos = hdr + i * ENC + 7
        out[f"flip_chunk_{i}"] = blob[:pos] + bytes([blob[pos] ^ 4]) + blob[pos + 1 :]
    return out


def test_every_chunk_attack_rejected_and_no_output(ctx: stc.STCContext, tmp_path: Path) -> None:
    enc, meta = _enc(ctx, tmp_path, os.urandom(4 * CHUNK + 100))
    blob = enc.read_bytes()
    other_dir = tmp_path / "other"
    other_dir.mkdir()
    other, _ = _enc(ctx, other_dir, os.urandom(4 * CHUNK + 100))
    for name, bad in _attacks(blob, meta.size, other.read_bytes()).items():
        src = tmp_path / "bad.stc"
        src.write_bytes(bad)
        with pytest.raises(stc.DecryptionError):
            ctx.decrypt_stream(src, output_path=tmp_path / "out", password="pw")
        _only(tmp_path, enc.name, "bad.stc", "other")
        # Random access authenticates the chunks it reads and the final chunk, so read the
        # tampered chunk's own range for a flipped middle chunk.
        offset = int(name.rsplit("_", 1)[1]) * CHUNK if name.startswith("flip_chunk_") else 0
        with pytest.raises(stc.DecryptionError):
            ctx.decrypt_range(src, offset, 10, "pw")


def test_truncation_named_as_such(ctx: stc.STCContext, tmp_path: Path) -> None:
    enc, meta = _enc(ctx, tmp_path, os.urandom(3 * CHUNK + 5))
    blob = enc.read_bytes()
    src = tmp_path / "t.stc"
    src.write_bytes(blob[: meta.size + 2 * ENC])
    with pytest.raises(stc.TruncatedError, match="ends after chunk 1"):
        ctx.decrypt_stream(src, output_path=tmp_path / "o", password="pw")
    src.write_bytes(blob[: meta.size])
    with pytest.raises(stc.TruncatedError, match="no chunk"):
        ctx.decrypt_stream(src, output_path=tmp_path / "o", password="pw")
    src.write_bytes(blob[: meta.size + 10])
    with pytest.raises(stc.TruncatedError, match="inside chunk 0"):
        ctx.decrypt_stream(src, output_path=tmp_path / "o", password="pw")
    src.write_bytes(blob[:30])
    with pytest.raises(stc.FormatError):
        ctx.decrypt_stream(src, output_path=tmp_path / "o", password="pw")


def test_message_and_file_formats_not_interchangeable(ctx: stc.STCContext, tmp_path: Path) -> None:
    ciphertext, meta = ctx.encrypt(b"x", "pw")
    src = tmp_path / "m.stc"
    src.write_bytes(meta.to_bytes() + ciphertext)
    with pytest.raises(stc.FormatError, match="message header"):
        ctx.decrypt_stream(src, output_path=tmp_path / "o", password="pw")
    enc, fmeta = _enc(ctx, tmp_path, b"x")
    with pytest.raises(stc.FormatError, match="file header"):
        ctx.decrypt(enc.read_bytes()[fmeta.size :], fmeta, "pw")


def test_progress_callback_sequence(ctx: stc.STCContext, tmp_path: Path) -> None:
    src = tmp_path / "p.bin"
    src.write_bytes(b"a" * (2 * CHUNK + 10))
    calls: list[tuple[int, int | None]] = []
    meta = ctx.encrypt_stream(src, tmp_path / "p.stc", "pw", chunk_size=CHUNK,
                              progress_callback=lambda d, t: calls.append((d, t)))
    total = 2 * CHUNK + 10
    assert calls == [(CHUNK, total), (2 * CHUNK, total), (total, total)]
    calls.clear()
    ctx.decrypt_stream(tmp_path / "p.stc", meta, tmp_path / "p.out", "pw",
                       progress_callback=lambda d, t: calls.append((d, t)))
    assert calls == [(CHUNK, total), (2 * CHUNK, total), (total, total)]
    calls.clear()
    ctx.encrypt_stream(io.BytesIO(b"b" * 1500), io.BytesIO(), "pw", chunk_size=CHUNK,
                       progress_callback=lambda d, t: calls.append((d, t)))
    assert calls == [(CHUNK, None), (1500, None)]  # unknown total for non-files


@pytest.mark.parametrize("size", [1, 100, CHUNK])
def test_progress_of_a_one_chunk_file_and_of_a_pipe(ctx: stc.STCContext, tmp_path: Path, size: int) -> None:
    dst, meta = _enc(ctx, tmp_path, b"q" * size)
    calls: list[tuple[int, int | None]] = []
    ctx.decrypt_stream(dst, meta, tmp_path / "out", "pw", progress_callback=lambda d, t: calls.append((d, t)))
    assert calls == [(size, size)]
    calls.clear()
    with dst.open("rb") as raw:
        pipe = _Pipe(raw.read())
    ctx.decrypt_stream(pipe, meta, io.BytesIO(), "pw", progress_callback=lambda d, t: calls.append((d, t)))
    assert calls == [(size, None)]  # a pipe has none


class _Pipe(io.RawIOBase):
    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:
        return self._data.readinto(b)


def test_a_header_without_chunks_is_refused_by_name(ctx: stc.STCContext, tmp_path: Path) -> None:
    dst, meta = _enc(ctx, tmp_path, b"q" * 10)
    dst.write_bytes(dst.read_bytes()[: -(10 + 16)])
    with pytest.raises(stc.TruncatedError, match=r"^the file holds a header but no chunk$"):
        ctx.decrypt_stream(dst, meta, tmp_path / "out", "pw")
    _only(tmp_path, dst.name)


def test_a_length_no_file_of_ours_has_is_refused_by_name(ctx: stc.STCContext, tmp_path: Path) -> None:
    dst, _ = _enc(ctx, tmp_path, b"q" * (2 * CHUNK))
    dst.write_bytes(dst.read_bytes() + bytes(5))
    with pytest.raises(stc.TruncatedError, match=r"^the file is truncated or has a malformed final chunk$"):
        ctx.decrypt_range(dst, 0, 10, password="pw")


def test_file_objects_and_pipes(ctx: stc.STCContext) -> None:
    r, w = os.pipe()
    data = os.urandom(5 * CHUNK + 3)
    os.write(w, data)
    os.close(w)
    sink = io.BytesIO()
    with os.fdopen(r, "rb") as pipe:
        meta = ctx.encrypt_stream(pipe, sink, "pw", chunk_size=CHUNK)
    out = io.BytesIO()
    ctx.decrypt_stream(io.BytesIO(sink.getvalue()), output_path=out, password="pw")
    assert out.getvalue() == data and meta.chunk_size == CHUNK


class _Trickle(io.RawIOBase):
    """A reader that returns at most 7 bytes a call, as a slow pipe does."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        chunk = self._data.read(min(7, len(b)))
        b[: len(chunk)] = chunk
        return len(chunk)


def test_short_reads_give_identical_output(ctx: stc.STCContext) -> None:
    data = os.urandom(3 * CHUNK)
    sink = io.BytesIO()
    ctx.encrypt_stream(_Trickle(data), sink, "pw", chunk_size=CHUNK)
    out = io.BytesIO()
    ctx.decrypt_stream(_Trickle(sink.getvalue()), output_path=out, password="pw")
    assert out.getvalue() == data


@pytest.mark.parametrize("bad", [0, 1023, (64 << 20) + 1, 1.5, True])
def test_chunk_size_validated(ctx: stc.STCContext, tmp_path: Path, bad: object) -> None:
    (tmp_path / "a").write_bytes(b"a")
    with pytest.raises(stc.ParameterError, match="chunk_size"):
        ctx.encrypt_stream(tmp_path / "a", tmp_path / "b", "pw", chunk_size=bad)  # type: ignore[arg-type]
    _only(tmp_path, "a")


def test_encrypt_failure_leaves_nothing(ctx: stc.STCContext, tmp_path: Path) -> None:
    class Boom(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
            raise OSError("disk on fire")

    with pytest.raises(OSError, match="disk on fire"):
        ctx.encrypt_stream(Boom(), tmp_path / "out.stc", "pw")
    _only(tmp_path)
    (tmp_path / "same").write_bytes(b"x")
    with pytest.raises(stc.ParameterError, match="same file"):
        ctx.encrypt_stream(tmp_path / "same", tmp_path / "same", "pw")
    assert (tmp_path / "same").read_bytes() == b"x"


def test_missing_arguments(ctx: stc.STCContext, tmp_path: Path) -> None:
    with pytest.raises(stc.ParameterError, match=r"^output_path is required$"):
        ctx.decrypt_stream(tmp_path / "x", password="pw")
    with pytest.raises(stc.ParameterError, match="binary file object"):
        ctx.encrypt_stream(io.StringIO("text"), io.BytesIO(), "pw")  # type: ignore[arg-type]


def test_non_blocking_input_is_not_mistaken_for_eof(ctx: stc.STCContext, tmp_path: Path) -> None:
    class WouldBlock(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, b: bytearray | memoryview) -> int | None:  # type: ignore[override]
            return None

    with pytest.raises(OSError, match="would block"):
        ctx.encrypt_stream(WouldBlock(), tmp_path / "o.stc", "pw")
    _only(tmp_path)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(size=st.integers(0, 5 * CHUNK), offset=st.integers(0, 6 * CHUNK), length=st.integers(0, 3 * CHUNK))
def test_decrypt_range_matches_slices(tmp_path_factory: pytest.TempPathFactory, size: int, offset: int,
                                      length: int) -> None:
    tmp = tmp_path_factory.mktemp("range")
    data = bytes(i % 251 for i in range(size))
    enc, _ = _enc(_RANGE_CTX, tmp, data)
    if offset > size:  # a range that starts past the end is refused, as the CLI refuses it
        with pytest.raises(stc.ParameterError, match=f"starts at byte {offset}, past the end of the {size}-byte"):
            _RANGE_CTX.decrypt_range(enc, offset, length, "pw")
        return
    assert _RANGE_CTX.decrypt_range(enc, offset, length, "pw") == data[offset : offset + length]


_RANGE_CTX = stc.STCContext("range", lattice_size=16, depth=2, insecure_allow_weak_kdf=True)


def test_decrypt_range_validation(ctx: stc.STCContext, tmp_path: Path) -> None:
    enc, _ = _enc(ctx, tmp_path, b"abc")
    with pytest.raises(stc.ParameterError):
        ctx.decrypt_range(enc, -1, 2, "pw")
    with pytest.raises(stc.WrongPasswordError):
        ctx.decrypt_range(enc, 0, 2, "bad")
    bound, _ = _enc(ctx, tmp_path, b"0123456789", context_data={"user": 7})
    assert ctx.decrypt_range(bound, 2, 3, "pw", context_data={"user": 7}) == b"234"
    with pytest.raises(stc.IntegrityError, match=r"^chunk 0 did not authenticate: wrong context data"):
        ctx.decrypt_range(bound, 2, 3, "pw", context_data={"user": 8})
    with pytest.raises(stc.ContextMismatchError):
        ctx.decrypt_range(bound, 2, 3, "pw")


def test_validate_chunk_fast(ctx: stc.STCContext, tmp_path: Path) -> None:
    enc, meta = _enc(ctx, tmp_path, os.urandom(4 * CHUNK))
    blob = enc.read_bytes()
    index, info = validate_chunk_fast(blob[:65536], meta, "pw", ctx=ctx)
    assert 0 <= index < 4 and info["first_chunk_verified"] and info["validation_time"] >= 0
    # Without the header, metadata is required; a partial chunk cannot be verified.
    index2, info2 = validate_chunk_fast(blob[meta.size : meta.size + 100], meta, "pw", ctx=ctx)
    assert index2 == index and not info2["first_chunk_verified"]
    with pytest.raises(stc.ParameterError, match="needs the password"):
        validate_chunk_fast(blob[:65536], meta)
    with pytest.raises(stc.WrongPasswordError):
        validate_chunk_fast(blob[:65536], meta, "bad", ctx=ctx)
    bad = bytearray(blob[:65536])
    bad[meta.size + 5] ^= 1
    with pytest.raises(stc.IntegrityError):
        validate_chunk_fast(bytes(bad), meta, "pw", ctx=ctx)
    with pytest.raises(stc.ParameterError, match="metadata is required"):
        validate_chunk_fast(blob[meta.size :], None, "pw", ctx=ctx)


def test_stream_decrypt_file_stats(tmp_path: Path) -> None:
    ctx = stc.STCContext("large-file-seed", lattice_size=16, depth=2, insecure_allow_weak_kdf=True)
    enc, meta = _enc(ctx, tmp_path, os.urandom(10 * CHUNK))
    stats = stream_decrypt_file(enc, tmp_path / "out", meta, "pw", ctx=ctx)
    for key in ("throughput_mbps", "peak_memory_usage", "chunks_processed", "bytes_processed", "elapsed_s",
                "real_decoy_index"):
        assert key in stats
    assert stats["chunks_processed"] == 10 and stats["bytes_processed"] == 10 * CHUNK
    assert 0 < stats["peak_memory_usage"] < 64 * CHUNK
    with pytest.raises(stc.ParameterError):
        stream_decrypt_file(enc, tmp_path / "o2", meta)


@pytest.mark.parametrize(("size", "chunks"), [(0, 1), (1, 1), (CHUNK, 1), (2 * CHUNK + 1, 3)])
def test_the_sequential_loop_counts_chunks_and_reports_no_empty_chunk(tmp_path: Path, size: int,
                                                                       chunks: int) -> None:
    ctx = stc.STCContext("large-file-seed", lattice_size=16, depth=2, insecure_allow_weak_kdf=True)
    enc, meta = _enc(ctx, tmp_path, os.urandom(size))
    calls: list[tuple[int, int | None]] = []
    for source in (enc, _Pipe(enc.read_bytes())):
        calls.clear()
        stats = stream_decrypt_file(source, tmp_path / "out", meta, "pw", ctx=ctx,
                                    progress_callback=lambda d, t: calls.append((d, t)))
        assert (stats["chunks_processed"], stats["bytes_processed"]) == (chunks, size)
        assert [d for d, _ in calls] == [min(size, (i + 1) * CHUNK) for i in range(chunks)] if size else calls == []


def test_metadata_that_does_not_match_is_refused_by_name(ctx: stc.STCContext, tmp_path: Path) -> None:
    first, _ = _enc(ctx, tmp_path, b"a" * 10)
    first.rename(tmp_path / "first.stc")
    _, other_meta = _enc(ctx, tmp_path, b"b" * 10)
    with pytest.raises(stc.FormatError, match=r"^the metadata given does not match this file's header$"):
        ctx.decrypt_stream(tmp_path / "first.stc", other_meta, tmp_path / "out", "pw")


def test_stream_encrypt_file_and_metadata_as_bytes(tmp_path: Path) -> None:
    src = tmp_path / "in.bin"
    data = os.urandom(3 * CHUNK + 7)
    src.write_bytes(data)
    meta, stats = stream_encrypt_file(src, tmp_path / "in.stc", "pw", seed="s", chunk_size=CHUNK)
    assert stats["throughput_mbps"] > 0 and stats["peak_memory_usage"] > 0 and meta.chunk_size == CHUNK
    assert meta.kdf == stc.STCContext("s").kdf_params  # the default cost, never the decrypt-only one
    blob = (tmp_path / "in.stc").read_bytes()
    index, info = validate_chunk_fast(blob[meta.size :], meta.to_bytes(), "pw", seed="s")
    assert info["first_chunk_verified"] and index == info["real_decoy_index"]
    out = tmp_path / "out.bin"
    stream_decrypt_file(tmp_path / "in.stc", out, None, "pw", seed="s")
    assert out.read_bytes() == data


def test_the_writer_is_a_named_daemon_thread_with_a_ring_of_three_buffers(ctx: stc.STCContext) -> None:
    from stc.files import stream as filestream

    seen: list[tuple[str, bool]] = []

    def progress(done: int, total: int | None) -> None:
        seen.extend((t.name, t.daemon) for t in threading.enumerate() if t.name.startswith("stc-"))

    ctx.encrypt_stream(io.BytesIO(b"x" * (3 * CHUNK)), io.BytesIO(), "pw", chunk_size=CHUNK,
                       progress_callback=progress)
    assert seen and set(seen) == {("stc-writer", True)}  # a daemon: it never keeps the interpreter alive
    writer = filestream._PipelinedWriter(io.BytesIO(), 16)
    try:
        assert writer._free.qsize() == 3  # memory is bounded by three chunk buffers
    finally:
        writer.close()


def test_readfull_any_prefers_readinto() -> None:
    from stc.files.stream import readfull_any

    class OnlyReadinto:
        def __init__(self, data: bytes) -> None:
            self._data = io.BytesIO(data)

        def readinto(self, b: bytearray | memoryview) -> int:
            return self._data.readinto(b)

    buf = bytearray(5)
    assert readfull_any(OnlyReadinto(b"abcdefg"), memoryview(buf)) == 5 and buf == bytearray(b"abcde")


def _three_chunks(ctx: stc.STCContext, tmp_path: Path, tamper: int | None = None) -> tuple[Path, bytes]:
    data = os.urandom(3 * CHUNK)
    enc, _ = _enc(ctx, tmp_path, data)
    if tamper is not None:
        blob = bytearray(enc.read_bytes())
        header = len(blob) - 3 * ENC
        blob[header + tamper * ENC + 5] ^= 1
        enc.write_bytes(bytes(blob))
    return enc, data


@pytest.mark.parametrize(("tamper", "offset", "length"), [(0, CHUNK + 5, 10), (0, 7, 0), (1, 0, CHUNK)],
                         ids=["before", "empty", "boundary"])
def test_decrypt_range_opens_only_the_chunks_it_needs(ctx: stc.STCContext, tmp_path: Path, tamper: int,
                                                      offset: int, length: int) -> None:
    # chunk `tamper` is outside the range: the range still opens (the final chunk is always checked)
    enc, data = _three_chunks(ctx, tmp_path, tamper)
    assert ctx.decrypt_range(enc, offset, length, "pw") == data[offset : offset + length]


def test_decrypt_range_refusals_say_why(ctx: stc.STCContext, tmp_path: Path) -> None:
    enc, _ = _three_chunks(ctx, tmp_path, tamper=2)
    with pytest.raises(stc.IntegrityError, match=r"^chunk 2 did not authenticate: the file was modified, truncated, "
                                                 r"reordered or spliced$"):
        ctx.decrypt_range(enc, 0, 10, "pw")
    with pytest.raises(stc.ParameterError, match=r"^offset and length must be non-negative integers$"):
        ctx.decrypt_range(enc, 0, -1, "pw")
    (tmp_path / "cut").mkdir()
    cut, _ = _three_chunks(ctx, tmp_path / "cut")
    cut.write_bytes(cut.read_bytes()[:-ENC])  # ends at a chunk boundary: the true final chunk is gone
    with pytest.raises(stc.TruncatedError, match=r"^the file is truncated: it ends after chunk 1, which is not the "
                                                 r"final chunk$"):
        ctx.decrypt_range(cut, 0, 10, "pw")


def test_a_message_is_not_a_file(ctx: stc.STCContext, tmp_path: Path) -> None:
    ciphertext, meta = ctx.encrypt(b"hello", password="pw", format_version=2)
    path = tmp_path / "m.stc"
    path.write_bytes(meta.to_bytes() + ciphertext)
    with pytest.raises(stc.FormatError, match=r"^this is a message header, not an encrypted file; "
                                              r"decrypt it as a message$"):
        ctx.decrypt_stream(path, output_path=tmp_path / "out", password="pw")


class _NonBlocking(io.RawIOBase):
    """A non-blocking reader and writer: data while there is some, then None ("would block")."""

    def __init__(self, data: bytes = b"", room: int = 0) -> None:
        self._data, self._room = io.BytesIO(data), room

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int | None:
        return self._data.readinto(b) or None

    def write(self, b: bytes | bytearray | memoryview) -> int | None:  # type: ignore[override]
        n = min(len(b), self._room)
        self._room -= n
        return n or None


def test_non_blocking_streams_are_read_and_written_exactly_or_refused_by_name() -> None:
    from stc.files.stream import readfull, writeall

    buf = bytearray(4)
    assert readfull(_NonBlocking(b"abcd"), memoryview(buf)) == 4 and buf == bytearray(b"abcd")  # no read past it
    with pytest.raises(OSError, match=r"^input would block; use a blocking file or pipe$"):
        readfull(_NonBlocking(b"ab"), memoryview(bytearray(4)))
    writeall(_NonBlocking(room=4), b"abcd")  # exactly what fits: no write past it
    with pytest.raises(OSError, match=r"^output would block; use a blocking file$"):
        writeall(_NonBlocking(room=2), b"abcd")
