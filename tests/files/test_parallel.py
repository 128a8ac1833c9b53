"""Issue 12 (files): both cores for regular files, with output identical to the sequential loop."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest

import stc
from stc.files import parallel
from stc.files import stream as filestream
from tests.conftest import CHEAP

CHUNK = 1024


class Stream:
    """A reproducible randomness stream (for comparing two encryptions byte for byte)."""

    def __init__(self, label: bytes) -> None:
        self.data, self.pos = hashlib.shake_256(label).digest(1 << 16), 0

    def __call__(self, n: int) -> bytes:
        out, self.pos = self.data[self.pos : self.pos + n], self.pos + n
        return out


def _ctx() -> stc.STCContext:
    ctx = stc.STCContext("par", **CHEAP)
    ctx._rand = Stream(b"same")
    ctx._kdf_salt = b"\x01" * 16
    return ctx


@pytest.mark.parametrize("size", [4 * CHUNK, 4 * CHUNK + 1, 9 * CHUNK - 1, 37 * CHUNK + 5])
def test_parallel_output_is_the_sequential_output(tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    src = tmp_path / "in"
    src.write_bytes(data)
    parallel_out = tmp_path / "p.stc"
    _ctx().encrypt_stream(src, parallel_out, "pw", chunk_size=CHUNK)  # path to path: the workers
    sink = io.BytesIO()
    _ctx().encrypt_stream(io.BytesIO(data), sink, "pw", chunk_size=CHUNK)  # file objects: the sequential loop
    assert parallel_out.read_bytes() == sink.getvalue()
    seen: list[int] = []
    out = tmp_path / "out"
    _ctx().decrypt_stream(parallel_out, output_path=out, password="pw",
                          progress_callback=lambda done, total: seen.append(done))
    assert out.read_bytes() == data and seen == sorted(seen) and seen[-1] == size


def test_parallel_failures_are_named_like_the_sequential_ones(tmp_path: Path) -> None:
    ctx = stc.STCContext("par", **CHEAP)
    src, enc = tmp_path / "in", tmp_path / "f.stc"
    src.write_bytes(os.urandom(10 * CHUNK))
    ctx.encrypt_stream(src, enc, "pw", chunk_size=CHUNK)
    raw = enc.read_bytes()
    hdr = stc.HeaderV2.parse_prefix(raw)[0].size
    c = CHUNK + 16
    cases = {
        "flip": (raw[: hdr + 5 * c + 7] + bytes([raw[hdr + 5 * c + 7] ^ 1]) + raw[hdr + 5 * c + 8 :],
                 stc.IntegrityError, "chunk 5 did not authenticate"),
        "cut at a boundary": (raw[: hdr + 6 * c], stc.TruncatedError, "not the final chunk"),
        "cut inside": (raw[: hdr + 6 * c + 10], stc.TruncatedError, "inside chunk 6"),
        "appended": (raw + raw[hdr : hdr + c], stc.IntegrityError, "appended"),
        "swapped": (raw[:hdr] + raw[hdr + c : hdr + 2 * c] + raw[hdr : hdr + c] + raw[hdr + 2 * c :],
                    stc.IntegrityError, "chunk 0"),
    }
    for name, (data, error, words) in cases.items():
        bad = tmp_path / "bad.stc"
        bad.write_bytes(data)
        with pytest.raises(error, match=words):
            ctx.decrypt_stream(bad, output_path=tmp_path / "o", password="pw")
        assert not (tmp_path / "o").exists(), name
        assert not [p for p in tmp_path.iterdir() if p.name.endswith(".stc-partial")], name


def test_an_input_that_grows_while_encrypted_is_refused(tmp_path: Path) -> None:
    ctx = stc.STCContext("par", **CHEAP)
    src, enc = tmp_path / "in", tmp_path / "f.stc"
    src.write_bytes(os.urandom(8 * CHUNK))

    def grow(done: int, total: int | None) -> None:
        if done == CHUNK or (done >= CHUNK and src.stat().st_size == 8 * CHUNK):
            with open(src, "ab") as f:
                f.write(b"late")

    with pytest.raises(OSError, match="grew"):
        ctx.encrypt_stream(src, enc, "pw", chunk_size=CHUNK, progress_callback=grow)
    assert not enc.exists()


def test_small_files_and_pipes_keep_the_sequential_loop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("the parallel path ran")

    monkeypatch.setattr(parallel, "seal", forbidden)
    ctx = stc.STCContext("par", **CHEAP)
    src = tmp_path / "in"
    src.write_bytes(os.urandom(3 * CHUNK))  # under MIN_CHUNKS
    ctx.encrypt_stream(src, tmp_path / "a.stc", "pw", chunk_size=CHUNK)
    ctx.encrypt_stream(io.BytesIO(os.urandom(10 * CHUNK)), tmp_path / "b.stc", "pw", chunk_size=CHUNK)
    assert filestream.DEFAULT_CHUNK == 1 << 20


@pytest.mark.parametrize("size", [parallel.MIN_CHUNKS * CHUNK - 1, parallel.MIN_CHUNKS * CHUNK])
def test_both_workers_start_at_exactly_min_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: int) -> None:
    used: list[str] = []
    seal, open_chunks = parallel.seal, parallel.open_chunks
    monkeypatch.setattr(parallel, "seal", lambda *a, **k: used.append("seal") or seal(*a, **k))
    monkeypatch.setattr(parallel, "open_chunks", lambda *a, **k: used.append("open") or open_chunks(*a, **k))
    ctx = stc.STCContext("par", **CHEAP)
    data = os.urandom(size)
    src, enc, out = tmp_path / "in", tmp_path / "in.stc", tmp_path / "out"
    src.write_bytes(data)
    ctx.encrypt_stream(src, enc, "pw", chunk_size=CHUNK)
    ctx.decrypt_stream(enc, output_path=out, password="pw")
    assert out.read_bytes() == data
    assert used == (["seal", "open"] if size == parallel.MIN_CHUNKS * CHUNK else [])


def test_a_file_object_output_keeps_the_sequential_loop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("the parallel path ran")

    ctx = stc.STCContext("par", **CHEAP)
    data = os.urandom(8 * CHUNK)
    src, enc = tmp_path / "in", tmp_path / "in.stc"
    src.write_bytes(data)
    ctx.encrypt_stream(src, enc, "pw", chunk_size=CHUNK)
    monkeypatch.setattr(parallel, "seal", forbidden)
    monkeypatch.setattr(parallel, "open_chunks", forbidden)
    out = io.BytesIO()
    ctx.decrypt_stream(enc, output_path=out, password="pw")
    assert out.getvalue() == data
    with enc.open("rb") as fin:
        ctx.decrypt_stream(io.BytesIO(fin.read()), output_path=tmp_path / "out", password="pw")
    assert (tmp_path / "out").read_bytes() == data


def test_inputs_that_shrink_while_processed_are_refused(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    aead = AESGCM(bytes(32))
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.write_bytes(os.urandom(4 * 1024))
    with open(src, "rb") as fin, open(dst, "wb") as fout, \
            pytest.raises(OSError, match="the input shrank while it was being encrypted"):
        parallel.seal(aead, fin, fout, 1024, 8 * 1024, None)  # told 8 KiB, holds 4: it "shrank"
    src.write_bytes(os.urandom(8 * 1024))
    sealed = tmp_path / "sealed"
    with open(src, "rb") as fin, open(sealed, "wb") as fout:
        parallel.seal(aead, fin, fout, 1024, 8 * 1024, None)
    os.truncate(sealed, 4 * (1024 + 16))  # chunks 0..3 remain, and are good
    with open(sealed, "rb") as fin, open(dst, "wb") as fout:
        with pytest.raises(stc.TruncatedError, match=r"the file shrank while it was read \(chunk 4\)"):
            parallel.open_chunks(aead, fin, fout, 1024, 8 * (1024 + 16), None, filestream.chunk_failure)
        with pytest.raises(stc.TruncatedError, match="holds a header but no chunk"):
            parallel.open_chunks(aead, fin, fout, 1024, 0, None, filestream.chunk_failure)
