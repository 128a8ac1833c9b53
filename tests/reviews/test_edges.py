"""Every documented bound at its edge (accepted exactly at it, refused one past), and the
behaviours mutation testing found unpinned (issue 15)."""

from __future__ import annotations

import io
import json
import math
import os
import random
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import stc
from stc.crypto import encoding as _encoding
from stc.crypto import kdf
from stc.errors import (
    FormatError,
    IntegrityError,
    KDFLimitError,
    ParameterError,
    ReplayError,
    TruncatedError,
)
from stc.files import stream as filestream
from stc.formats.v2 import HeaderV2
from stc.formats.v3 import HeaderV3
from stc.keys import envelope
from stc.p2p import StreamingContext, frame, keys
from stc.p2p import replay as p2p_replay
from stc.p2p.replay import Window
from tests.conftest import CHEAP, FullDisk

SEED = os.urandom(32)


def pair(**kwargs: Any) -> tuple[StreamingContext, StreamingContext]:
    return StreamingContext(SEED, **kwargs), StreamingContext(SEED, **kwargs)


# ---- the replay window ----------------------------------------------------------------------------

@pytest.mark.parametrize("size", [64, 65, 1000])
def test_window_edge_exactly_size_behind_is_refused_one_less_is_accepted(size: int) -> None:
    w = Window(size)
    w.commit(size)
    with pytest.raises(ReplayError, match="older than"):
        w.check(0)  # offset == size
    w.check(1)  # offset == size - 1
    w.commit(1)
    with pytest.raises(ReplayError, match="already received"):
        w.check(1)


@pytest.mark.parametrize("jump", [63, 64, 65, 10_000])
def test_after_a_jump_the_newest_cannot_replay_and_the_window_slides(jump: int) -> None:
    tx, rx = pair(key_schedule_size=64)
    frames = [tx.encrypt_chunk(b"%d" % i) for i in range(jump + 1)]
    rx.decrypt_chunk(*frames[0])
    rx.decrypt_chunk(*frames[jump])
    with pytest.raises(ReplayError, match="already received"):
        rx.decrypt_chunk(*frames[jump])
    if jump >= 64:
        with pytest.raises(ReplayError, match="older than"):
            rx.decrypt_chunk(*frames[jump - 64])
    if jump > 63:
        assert rx.decrypt_chunk(*frames[jump - 63]) == b"%d" % (jump - 63)
    if jump > 64:
        with pytest.raises(ReplayError):
            rx.decrypt_chunk(*frames[0])  # seen, and also out of the window now


def test_a_newer_epoch_does_not_reopen_an_older_epochs_window() -> None:
    tx = StreamingContext(SEED, key_rotation_mb=0.004)  # about 4 KB an epoch
    rx = StreamingContext(SEED)
    frames = [tx.encrypt_chunk(os.urandom(1500)) for _ in range(12)]
    assert len({h.epoch for h, _ in frames}) >= 3
    for f in frames:
        rx.decrypt_chunk(*f)
    for f in frames:  # every retained epoch still refuses what it accepted
        with pytest.raises(ReplayError):
            rx.decrypt_chunk(*f)


def test_the_least_recently_heard_sender_is_forgotten_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(p2p_replay, "MAX_SENDERS", 3)
    rx = StreamingContext(SEED)
    senders = [StreamingContext(SEED) for _ in range(4)]
    first = [s.encrypt_chunk(b"first") for s in senders]
    for f in first[:3]:
        rx.decrypt_chunk(*f)
    rx.decrypt_chunk(*senders[0].encrypt_chunk(b"again"))  # sender 0 is now the most recent
    rx.decrypt_chunk(*first[3])  # a fourth: sender 1 (least recently heard) is forgotten
    tracked = set(rx._table.peers)
    assert tracked == {first[0][0].sender_id, first[2][0].sender_id, first[3][0].sender_id}
    with pytest.raises(ReplayError):
        rx.decrypt_chunk(*first[1])  # a forgotten sender's old frame stays refused
    assert rx.decrypt_chunk(*senders[3].encrypt_chunk(b"newest")) == b"newest"


def test_max_senders_is_exactly_the_number_kept() -> None:
    assert not p2p_replay.tracked_over(p2p_replay.MAX_SENDERS)
    assert p2p_replay.tracked_over(p2p_replay.MAX_SENDERS + 1)


def test_short_bytes_seeds_are_stretched_and_32_bytes_are_used_as_they_are() -> None:
    stretched = kdf.argon2id(_encoding.encode_seed(b"k" * 31), keys.SEED_KDF_SALT, keys.SEED_KDF)
    assert keys.session_root(b"k" * 31) == kdf.hkdf(b"p" + stretched, b"p2p session root")
    assert keys.session_root(b"k" * 32) == kdf.hkdf(b"k" + b"k" * 32, b"p2p session root")  # used as it is
    assert keys.session_root(b"k" * 32) != keys.session_root("k" * 32)


def test_sequence_numbers_up_to_the_maximum_then_a_new_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    tx, rx = pair()
    tx._send.seq = frame.MAX_SEQUENCE
    last, nxt = tx.encrypt_chunk(b"a"), tx.encrypt_chunk(b"b")
    assert (last[0].sequence, last[0].epoch) == (frame.MAX_SEQUENCE, 0)
    assert (nxt[0].sequence, nxt[0].epoch) == (0, 1)
    assert rx.decrypt_chunk(*last) == b"a" and rx.decrypt_chunk(*nxt) == b"b"


def test_the_last_epoch_is_used_then_a_new_sender_id() -> None:
    tx, rx = pair()
    while tx._send.epoch < frame.MAX_EPOCH:
        tx._rotate_locked()
    h, e = tx.encrypt_chunk(b"last epoch")
    assert h.epoch == frame.MAX_EPOCH
    assert rx.decrypt_chunk(h, e) == b"last epoch"
    tx._rotate_locked()
    h2, e2 = tx.encrypt_chunk(b"new id")
    assert h2.sender_id != h.sender_id and h2.epoch == 0
    assert rx.decrypt_chunk(h2, e2) == b"new id"


def test_frame_header_field_bounds() -> None:
    sid = bytes(8)
    frame.ChunkHeader(0, sid, frame.MAX_EPOCH, frame.MAX_SEQUENCE)
    for bad in ({"epoch": frame.MAX_EPOCH + 1}, {"sequence": frame.MAX_SEQUENCE + 1}, {"epoch": -1}):
        with pytest.raises(ParameterError):
            frame.ChunkHeader(0, sid, **{"epoch": 0, "sequence": 0, **bad})


def test_stream_metadata_vector_and_bounds() -> None:
    params = frame.StreamParameters(stc.Suite.CHACHA20_POLY1305, True, 0x012345, 0x0203, 7)
    assert params.to_bytes().hex() == "020201012345020307"  # version, suite, flags, u24 BE, u16 BE, depth
    assert frame.StreamParameters.from_bytes(params.to_bytes()) == params
    good = bytearray(params.to_bytes())
    for offset, value, ok in ((3, frame.MIN_SUBCHUNK, True), (3, frame.MIN_SUBCHUNK - 1, False),
                              (6, frame.MIN_WINDOW, True), (6, frame.MIN_WINDOW - 1, False),
                              (8, frame.MAX_DEPTH, True), (8, frame.MAX_DEPTH + 1, False), (8, 0, False)):
        raw = bytearray(good)
        width = {3: 3, 6: 2, 8: 1}[offset]
        raw[offset : offset + width] = value.to_bytes(width, "big")
        if ok:
            frame.StreamParameters.from_bytes(bytes(raw))
        else:
            with pytest.raises(FormatError):
                frame.StreamParameters.from_bytes(bytes(raw))
    with pytest.raises(FormatError):
        frame.StreamParameters.from_bytes(bytes(good[:2]) + b"\x02" + bytes(good[3:]))  # unknown flag


# ---- context data --------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "encoded"), [
    (None, ""), (True, "54"), (False, "46"), (0, "490000000100"), (-1, "4900000001ff"),
    (255, "490000000200ff"), (-128, "4900000002ff80"), (-129, "4900000002ff7f"),
    (2**64, "4900000009010000000000000000"),
    (0.0, "520000000000000000"), (-0.0, "528000000000000000"), (1.5, "523ff8000000000000"),
    (b"", "4200000000"), (b"\x00", "420000000100"), ("", "5300000000"), ("é", "5300000002c3a9"),
    ([], "4c00000000"), ([None], "4c000000014e"), ({}, "4400000000"),
    ({"b": 1, "a": False}, "44000000025300000001614653000000016249000000010" + "1"),
])
def test_context_data_known_answers(value: Any, encoded: str) -> None:
    assert _encoding.encode_context(value).hex() == encoded


def test_false_true_zero_one_and_none_are_all_different() -> None:
    forms = [_encoding.encode_context(v) for v in (False, True, 0, 1, None, 0.0, b"", "", [], {})]
    assert len(set(forms)) == len(forms)


@pytest.mark.parametrize("wrap", [lambda v: [v], lambda v: {"k": v}, lambda v: (v,)])
def test_context_nesting_limit_at_its_edge_for_each_container(wrap: Any) -> None:
    deepest: Any = 1
    for _ in range(_encoding.MAX_CONTEXT_DEPTH):
        deepest = wrap(deepest)
    _encoding.encode_context(deepest)  # exactly MAX_CONTEXT_DEPTH containers
    with pytest.raises(ParameterError, match="nested deeper"):
        _encoding.encode_context(wrap(deepest))


def test_context_nesting_limit_at_its_edge() -> None:
    deepest: Any = 1
    for _ in range(_encoding.MAX_CONTEXT_DEPTH):
        deepest = [deepest]
    _encoding.encode_context(deepest)  # exactly MAX_CONTEXT_DEPTH containers
    with pytest.raises(ParameterError, match="nested deeper"):
        _encoding.encode_context([deepest])
    with pytest.raises(ParameterError, match="nested deeper"):
        _encoding.encode_context({"k": deepest})


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, {1: "x"}, {1.5}, object()])
def test_context_values_refused(bad: Any) -> None:
    with pytest.raises(ParameterError):
        _encoding.encode_context(bad)


def test_bytes_and_text_passwords() -> None:
    assert _encoding.encode_password("pw") == b"pw" == _encoding.encode_password(b"pw")
    assert _encoding.encode_password(bytearray(b"\xff")) == b"\xff"
    for bad in ("", b"", 5, None):
        with pytest.raises(ParameterError):
            _encoding.encode_password(bad)  # type: ignore[arg-type]


# ---- Argon2id costs and header bounds --------------------------------------------------------------

def test_kdf_extremes_accepted_one_past_refused() -> None:
    kdf.KdfParams(kdf.MAX_MEMORY_KIB, kdf.MAX_PASSES, kdf.MAX_LANES).check()
    kdf.KdfParams(8, 1, 1).check()
    kdf.KdfParams(8 * kdf.MAX_LANES, 1, kdf.MAX_LANES).check()
    for memory, passes, lanes in ((kdf.MAX_MEMORY_KIB + 1, 1, 1), (1024, kdf.MAX_PASSES + 1, 1),
                                  (1024, 1, kdf.MAX_LANES + 1), (1024, 1, 0), (1024, 0, 1),
                                  (7, 1, 1), (8 * 16 - 1, 1, 16), (32, 1, 16)):
        with pytest.raises(KDFLimitError):
            kdf.KdfParams(memory, passes, lanes).check()


@pytest.mark.parametrize(("version", "memory_at", "lanes_at"), [(2, 33, 37), (3, 12, 16)])
def test_a_header_with_16_lanes_and_32_kib_is_refused_with_our_error(version: int, memory_at: int,
                                                                     lanes_at: int) -> None:
    ctx = stc.STCContext("s", **CHEAP)
    raw = bytearray(ctx.encrypt_blob(b"x", "pw", format_version=version))
    # format.md §6: core (31 bytes), layout byte, then u8 passes, u32 memory KiB, u8 lanes, salt;
    # §6a: 11 bytes, then the same KDF part
    raw[memory_at : memory_at + 4] = (32).to_bytes(4, "big")
    raw[lanes_at] = 16
    with pytest.raises(KDFLimitError, match="memory"):
        ctx.decrypt_blob(bytes(raw), "pw")


def test_header_epoch_bound() -> None:
    ctx = stc.STCContext("s", **CHEAP)
    _, header = ctx.encrypt(b"x", "pw", format_version=2)
    fields = {f: getattr(header, f) for f in ("suite", "nonce", "stanzas", "kdf", "kdf_salt", "mac", "dir_salt",
                                              "directory", "text", "context_bound", "chunk_size", "is_file")}
    HeaderV2(epoch=2**32 - 1, **fields)
    with pytest.raises(FormatError):
        HeaderV2(epoch=2**32, **fields)


def test_v3_header_field_bounds() -> None:
    ctx = stc.STCContext("s", **CHEAP)
    _, header = ctx.encrypt(b"x", "pw")
    assert isinstance(header, HeaderV3)
    fields = {f: getattr(header, f) for f in ("suite", "epoch", "kdf", "kdf_salt", "session_id", "counter",
                                              "commitment", "text", "context_bound")}
    for name, ok, bad in (("epoch", 2**32 - 1, 2**32), ("epoch", 0, -1), ("counter", 2**64 - 1, 2**64),
                          ("counter", 0, -1), ("kdf_salt", bytes(16), bytes(15)),
                          ("session_id", bytes(16), bytes(17)), ("commitment", bytes(32), bytes(31))):
        made = HeaderV3(**{**fields, name: ok})
        assert HeaderV3.from_bytes(made.to_bytes()) == made
        with pytest.raises(FormatError):
            HeaderV3(**{**fields, name: bad})


# ---- files: failure injection and exact ranges ------------------------------------------------------


class _Short(io.RawIOBase):
    """A writer that takes at most 1000 bytes a call (as a raw file or pipe may)."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        piece = bytes(b[:1000])
        self.data += piece
        return len(piece)


class _Breaking(io.RawIOBase):
    """A reader that fails after ``good`` bytes."""

    def __init__(self, data: bytes, good: int) -> None:
        self._data, self._good, self._pos = data, good, 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        if self._pos >= self._good:
            raise OSError(5, "Input/output error")
        n = min(len(b), len(self._data) - self._pos, self._good - self._pos)
        b[:n] = self._data[self._pos : self._pos + n]
        self._pos += n
        return n


@pytest.mark.parametrize("room", [10, 400, 5000, 3 * 1024 * 1024])
def test_a_writer_that_fails_surfaces_as_an_error(room: int, ctx: stc.STCContext) -> None:
    data = os.urandom(5 * 1024 * 1024)
    with pytest.raises(OSError, match="No space"):
        ctx.encrypt_stream(io.BytesIO(data), FullDisk(room), "pw")


def test_short_writes_lose_nothing(ctx: stc.STCContext) -> None:
    data = os.urandom(3 * 1024 * 1024 + 7)
    short = _Short()
    ctx.encrypt_stream(io.BytesIO(data), short, "pw")
    out = io.BytesIO()
    ctx.decrypt_stream(io.BytesIO(bytes(short.data)), output_path=out, password="pw")
    assert out.getvalue() == data
    short2 = _Short()
    ctx.decrypt_stream(io.BytesIO(bytes(short.data)), output_path=short2, password="pw")
    assert bytes(short2.data) == data


@pytest.mark.parametrize("good", [0, 100, 2 * 1024 * 1024])
def test_a_reader_that_fails_leaves_no_output(good: int, ctx: stc.STCContext, tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024)
    with pytest.raises(OSError, match="Input/output"):
        ctx.encrypt_stream(_Breaking(data, good), tmp_path / "x.stc", "pw")
    sealed = io.BytesIO()
    ctx.encrypt_stream(io.BytesIO(data), sealed, "pw")
    with pytest.raises((OSError, FormatError)):
        ctx.decrypt_stream(_Breaking(sealed.getvalue(), good + 200), output_path=tmp_path / "y.bin", password="pw")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(("offset", "length"), [(0, 1023), (0, 1024), (0, 1025), (1023, 2), (1024, 1024),
                                                (1024, 1025), (4095, 1), (4096, 10), (0, 10_000), (4196, 5),
                                                (4196, 0)])
def test_decrypt_range_is_exact(offset: int, length: int, ctx: stc.STCContext, tmp_path: Path) -> None:
    data = os.urandom(4 * 1024 + 100)
    (tmp_path / "p").write_bytes(data)
    ctx.encrypt_stream(tmp_path / "p", tmp_path / "c", "pw", chunk_size=1024)
    got = ctx.decrypt_range(tmp_path / "c", offset, length, "pw")  # at the very end: empty
    assert got == data[offset : offset + length]
    assert len(got) == len(data[offset : offset + length])


def test_fail_a_range_past_the_end_is_refused(ctx: stc.STCContext, tmp_path: Path) -> None:
    (tmp_path / "p").write_bytes(b"x" * 4196)
    ctx.encrypt_stream(tmp_path / "p", tmp_path / "c", "pw", chunk_size=1024)
    with pytest.raises(stc.ParameterError, match=r"^the range starts at byte 4197, past the end of the 4196-byte "
                                                 r"plaintext$"):
        ctx.decrypt_range(tmp_path / "c", 4197, 0, "pw")


def test_decrypt_range_refuses_other_metadata_and_bad_arguments(ctx: stc.STCContext, tmp_path: Path) -> None:
    (tmp_path / "p").write_bytes(b"x" * 3000)
    first = ctx.encrypt_stream(tmp_path / "p", tmp_path / "a", "pw", chunk_size=1024)
    ctx.encrypt_stream(tmp_path / "p", tmp_path / "b", "pw", chunk_size=1024)
    opener = ctx._opener("pw", (), None)
    assert filestream.decrypt_range(tmp_path / "a", 0, 5, opener, metadata=first) == b"x" * 5
    with pytest.raises(FormatError, match="does not match"):
        filestream.decrypt_range(tmp_path / "b", 0, 5, opener, metadata=first)
    for offset, length in ((-1, 1), (0, -1), (True, 1)):
        with pytest.raises(ParameterError):
            ctx.decrypt_range(tmp_path / "a", offset, length, "pw")


def test_decrypting_a_file_onto_itself_is_refused(ctx: stc.STCContext, tmp_path: Path) -> None:
    (tmp_path / "p").write_bytes(b"x" * 3000)
    ctx.encrypt_stream(tmp_path / "p", tmp_path / "c", "pw")
    with pytest.raises(ParameterError, match="same file"):
        ctx.decrypt_stream(tmp_path / "c", output_path=tmp_path / "c", password="pw")
    with pytest.raises(ParameterError, match="same file"):
        ctx.encrypt_stream(tmp_path / "p", tmp_path / "p", "pw")
    assert (tmp_path / "p").read_bytes() == b"x" * 3000


@pytest.mark.parametrize("size", [filestream.MIN_CHUNK, filestream.MAX_CHUNK])
def test_chunk_size_bounds(size: int) -> None:
    assert filestream.check_chunk_size(size) == size


@pytest.mark.parametrize("size", [filestream.MIN_CHUNK - 1, filestream.MAX_CHUNK + 1, 4096.0, True])
def test_chunk_size_one_past_refused(size: Any) -> None:
    with pytest.raises(ParameterError):
        filestream.check_chunk_size(size)


@pytest.mark.parametrize(("body", "chunk", "expect"), [
    (16, 1024, (1, 0)), (17, 1024, (1, 1)), (1040, 1024, (1, 1024)), (1041 + 16, 1024, (2, 1025)),
])
def test_layout_arithmetic(body: int, chunk: int, expect: tuple[int, int]) -> None:
    assert filestream.layout(body, chunk) == expect


@pytest.mark.parametrize("body", [0, 15, 1040 + 15, 1040 + 16])
def test_layout_refuses_impossible_lengths(body: int) -> None:
    with pytest.raises(TruncatedError):
        filestream.layout(body, 1024)


# ---- the API keeps every keyword -------------------------------------------------------------------

def test_encrypt_blob_passes_every_keyword_on(ctx: stc.STCContext) -> None:
    blob = ctx.encrypt_blob("data", "a", additional_passwords=["b"], context_data={"k": 1}, use_decoys=False)
    assert ctx.decrypt_blob(blob, "b", context_data={"k": 1}) == "data"
    with pytest.raises(stc.ContextMismatchError):
        ctx.decrypt_blob(blob, "a")
    with pytest.raises(IntegrityError):
        ctx.decrypt_blob(blob, "a", context_data={"k": 2})
    header, _ = stc.formats.headers.parse_header(blob)
    assert len(header.stanzas) == 2  # no decoys, two passwords
    with_decoys, _ = stc.formats.headers.parse_header(ctx.encrypt_blob("data", "a", use_decoys=True))
    assert len(with_decoys.stanzas) == envelope.DECOYS


# ---- where the real slot lands ----------------------------------------------------------------------

def test_shuffle_skips_biased_bytes() -> None:
    script = iter([255, 1, 0])  # for 3 entries: 255 >= 256 - 256 % 3 is rejected, then 1 % 3, then 0 % 2
    entries: list[Any] = ["a", "b", "c"]
    envelope._shuffle(entries, lambda n: bytes([next(script)]))
    assert entries == ["c", "a", "b"]


def test_the_real_slots_position_is_uniform() -> None:
    """Chi-square over 30,000 shuffles of 5 entries from a seeded generator.  The threshold,
    24.3 for 4 degrees of freedom, is the 0.9999 quantile: a correct shuffle fails it with
    probability 1e-4 for a random seed, never for this fixed one."""
    rng = random.Random(20261125)
    counts: Counter[int] = Counter()
    for _ in range(30_000):
        entries: list[Any] = [0, 1, 2, 3, 4]
        envelope._shuffle(entries, rng.randbytes)
        counts[entries.index(0)] += 1
    expected = 30_000 / 5
    chi2 = sum((counts[i] - expected) ** 2 / expected for i in range(5))
    assert chi2 < 24.3, counts


# ---- encodings: known answers and the exact errors ---------------------------------------------------

@pytest.mark.parametrize(("seed", "encoded"), [
    ("ab", "736162"), (b"ab", "626162"), (bytearray(b"\x00"), "6200"), (0, "6900"), (-1, "69ff"),
    (255, "6900ff"), (2**15, "69008000"),
])
def test_seed_known_answers(seed: Any, encoded: str) -> None:
    assert _encoding.encode_seed(seed).hex() == encoded


@pytest.mark.parametrize(("call", "message"), [
    (lambda: _encoding.encode_seed(True), "seed must be str, bytes or int, not bool"),
    (lambda: _encoding.encode_seed(1.5), "seed must be str, bytes or int, not float"),
    (lambda: _encoding.encode_seed("a\ud800"), "the seed is not valid text: it holds an unpaired surrogate at "
                                               "position 1"),
    (lambda: _encoding.encode_password(""), "password must not be empty"),
    (lambda: _encoding.encode_password(b""), "password must not be empty"),
    (lambda: _encoding.encode_password(3), "password must be str or bytes, not int"),
    (lambda: _encoding.encode_password("\udc80x"), "the password is not valid text: it holds an unpaired "
                                                   "surrogate at position 0"),
    (lambda: _encoding.encode_context({"a": math.nan}), "context data may not contain NaN or infinity"),
    (lambda: _encoding.encode_context({3: 1}), "context data keys must be str, not int"),
    (lambda: _encoding.encode_context(["\ud800"]), "a context data string is not valid text: it holds an "
                                                   "unpaired surrogate at position 0"),
    (lambda: _encoding.encode_context({"k\ud800": 1}), "a context data key is not valid text: it holds an "
                                                       "unpaired surrogate at position 1"),
])
def test_encoding_errors_say_exactly_what(call: Any, message: str) -> None:
    with pytest.raises(ParameterError) as info:
        call()
    assert str(info.value) == message
    assert info.value.__suppress_context__ or info.value.__context__ is None  # no chained UnicodeEncodeError


def test_passwords_are_nfc_normalised() -> None:
    assert _encoding.encode_password("e\u0301") == _encoding.encode_password("\u00e9") == "\u00e9".encode()


# ---- the replay window against a reference model ------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(size=st.integers(64, 130), seqs=st.lists(st.integers(0, 600), max_size=120))
def test_window_matches_a_set_model(size: int, seqs: list[int]) -> None:
    """Accept a sequence number iff it was never accepted and is within ``size`` of the highest."""
    window, seen, highest = Window(size), set(), -1
    for seq in seqs:
        expect_ok = seq not in seen and seq > highest - size
        try:
            window.check(seq)
            ok = True
        except ReplayError:
            ok = False
        assert ok == expect_ok, (seq, highest)
        if ok:
            window.commit(seq)
            seen.add(seq)
            highest = max(highest, seq)
        assert window.highest == highest


def test_a_new_window_accepts_zero_once() -> None:
    w = Window(64)
    assert (w.highest, w.bitmap, w.mask) == (-1, 0, (1 << 64) - 1)
    w.check(0)
    w.commit(0)
    with pytest.raises(ReplayError):
        w.check(0)


def test_retired_senders_floor_and_readmit() -> None:
    retired = p2p_replay.RetiredSenders()
    assert retired.floor(b"a" * 8) == 0 and len(retired) == 0
    retired.retire(b"a" * 8, 5)
    retired.retire(b"b" * 8, 0)
    assert retired.floor(b"a" * 8) == 6 and retired.floor(b"b" * 8) == 1 and len(retired) == 2
    retired.readmit(b"a" * 8)
    assert retired.floor(b"a" * 8) == 0 and retired.floor(b"b" * 8) == 1 and len(retired) == 1


def test_stream_nonce_edges() -> None:
    from stc.crypto.payload import MAX_CHUNK_INDEX, chunk_nonce

    assert chunk_nonce(0, False).hex() == "00" * 12
    assert chunk_nonce(258, True).hex() == "00" * 9 + "010201"
    assert chunk_nonce(MAX_CHUNK_INDEX, True) == b"\xff" * 11 + b"\x01"
    for bad in (MAX_CHUNK_INDEX + 1, -1):
        with pytest.raises(OverflowError, match=r"^STREAM chunk counter exhausted$"):
            chunk_nonce(bad, False)


def test_kdf_messages_and_knob_edges() -> None:
    assert kdf.ENCRYPT_FLOOR.describe() == "16 MiB and 2 passes"
    assert kdf.V1_DECRYPT_FLOOR.describe() == "1 MiB and 1 pass with 4 lanes"
    assert kdf.KdfFloor(2048, 1).describe() == "2 MiB and 1 pass"
    assert kdf.KdfParams.from_knobs(512, 32) == kdf.KdfParams(512 * 512 * 4, 16)
    assert kdf.KdfParams.from_knobs(16, 2) == kdf.KdfParams(1024, 1)
    tail = " (lattice_size 64/128/256 = fast/balanced/paranoid, depth 4/6/8); got "
    for knobs, message in (((513, 6), "lattice_size must be an integer in [16, 512]" + tail + "513"),
                           ((15, 6), "lattice_size must be an integer in [16, 512]" + tail + "15"),
                           ((128, 33), "depth must be an integer in [2, 32]" + tail + "33"),
                           ((128, 1), "depth must be an integer in [2, 32]" + tail + "1")):
        with pytest.raises(ParameterError) as info:
            kdf.KdfParams.from_knobs(*knobs)
        assert str(info.value) == message
    for params, message in (((2048, 17, 1), "Argon2 passes 17 outside [1, 16]"),
                            ((2048, 1, 17), "Argon2 lanes 17 outside [1, 16]"),
                            ((8, 1, 2), "Argon2 memory 8 KiB outside [16, 1048576] KiB"),
                            ((100, 1, 16), "Argon2 memory 100 KiB outside [128, 1048576] KiB")):
        with pytest.raises(KDFLimitError) as err:
            kdf.KdfParams(*params).check()
        assert str(err.value) == message


def test_frame_header_errors_and_wire_cache() -> None:
    sid = b"\x01" * 8
    for kwargs, message in (({"flags": 2}, "flags must be 0x0000 (single chunk) or 0x0001 (multi-chunk)"),
                            ({"sender_id": b"short"}, "sender_id must be 8 bytes"),
                            ({"sender_id": "x" * 8}, "sender_id must be 8 bytes"),
                            ({"epoch": -1}, "epoch must fit 16 bits and sequence 32 bits"),
                            ({"sequence": 2**32}, "epoch must fit 16 bits and sequence 32 bits"),
                            ({"version": 3}, "version must be one of (1, 2)")):
        with pytest.raises(ParameterError) as info:
            frame.ChunkHeader(**{"flags": 0, "sender_id": sid, "epoch": 0, "sequence": 0, **kwargs})
        assert str(info.value) == message
    header = frame.ChunkHeader(1, sid, 0x0102, 0x03040506)
    wire = header.to_bytes()
    assert wire.hex() == "0201" + "01" * 8 + "0102" + "03040506"
    assert header.to_bytes() is wire and "_wire" in header.__dict__  # computed once
    raw = bytearray(wire)
    parsed = frame.ChunkHeader.from_bytes(raw)
    assert parsed == header and type(parsed.to_bytes()) is bytes and parsed.to_bytes() == wire
    raw[0] = 0  # the parsed header kept its own copy of the bytes
    assert parsed.to_bytes() == wire
    for data, message in ((wire[:15], "a frame header is exactly 16 bytes"),
                          (b"\x03" + wire[1:], "unsupported frame header version 3"),
                          (wire[:1] + b"\x02" + wire[2:], "unknown frame flags 0x02")):
        with pytest.raises(FormatError) as err:
            frame.ChunkHeader.from_bytes(data)
        assert str(err.value) == message


def test_stream_metadata_extremes_and_messages() -> None:
    top = frame.StreamParameters(stc.Suite.AES_256_GCM, False, frame.MAX_SUBCHUNK, frame.MAX_WINDOW, 1, 1)
    assert top.to_bytes().hex() == "010100ffffffffff01"
    assert frame.StreamParameters.from_bytes(top.to_bytes()) == top
    for data, message in ((b"\x02" * 8, "stream metadata is exactly 9 bytes"),
                          (b"\x03" + top.to_bytes()[1:], "unsupported stream metadata version 3"),
                          (top.to_bytes()[:2] + b"\x02" + top.to_bytes()[3:], "unknown stream flags 0x02"),
                          (top.to_bytes()[:8] + b"\x00", "stream metadata holds an out-of-range parameter")):
        with pytest.raises(FormatError) as err:
            frame.StreamParameters.from_bytes(data)
        assert str(err.value) == message


def test_hkdf_length_edges() -> None:
    assert len(kdf.hkdf(b"k" * 32, b"x", length=1)) == 1
    assert len(kdf.hkdf(b"k" * 32, b"x", length=kdf.HKDF_MAX)) == kdf.HKDF_MAX
    for bad in (0, kdf.HKDF_MAX + 1):
        with pytest.raises(ParameterError) as info:
            kdf.hkdf(b"k" * 32, b"x", length=bad)
        assert str(info.value) == f"derived key length must be in [1, {kdf.HKDF_MAX}] bytes; got {bad}"


def test_unsupported_context_type_message() -> None:
    with pytest.raises(ParameterError) as info:
        _encoding.encode_context({1.5})
    assert str(info.value) == ("context data may hold None, bool, int, float, str, bytes, list, tuple and dict "
                               "with str keys; got set")


# ---- the context's small paths ----------------------------------------------------------------------

def test_context_properties_buffers_and_parameter_checks() -> None:
    ctx = stc.STCContext("s", lattice_size=64, depth=4)
    assert (ctx.lattice_size, ctx.depth) == (64, 4)
    for data in (bytearray(b"abc"), memoryview(b"abc")):
        c, m = ctx.encrypt(data, "pw")
        assert ctx.decrypt(c, m, "pw") == b"abc"
    identity = stc.generate_identity()
    c, m = ctx.encrypt(b"one", recipients=identity.recipient)  # one recipient, not in a list
    assert m.version == 2 and ctx.decrypt(c, m, identities=identity) == b"one"
    c, m = ctx.encrypt(b"x", "pw", format_version=2)
    with pytest.raises(IntegrityError, match="ciphertext is 15 bytes, shorter than its tag"):
        ctx.decrypt(c[:15], m, "pw")
    with pytest.raises(ParameterError, match="length must be an integer"):
        ctx.derive_key("32")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="purpose must be a str"):
        ctx.derive_key(purpose=b"x")  # type: ignore[arg-type]


def test_rekey_needs_a_key_and_load_state_checks_the_suite(tmp_path: Any) -> None:
    ctx = stc.STCContext("s", lattice_size=64, depth=4)
    path = tmp_path / "f.stc"
    ctx.encrypt_stream(io.BytesIO(b"data"), path, "pw")
    with pytest.raises(ParameterError, match=r"^give the password or an identity that opens the file$"):
        ctx.rekey(path, new_password="new")
    saved = ctx.save_state()
    saved["pcf_state"]["suite"] = "rot13"
    saved["cel_state"]["mac"] = stc.formats.state.mac(ctx._state_key, saved).hex()  # as if the context wrote it
    with pytest.raises(stc.StateError, match=r"pcf_state\.suite"):
        ctx.load_state(saved)


# ---- re-keying: journals, copies, failures ----------------------------------------------------------

def test_a_journal_with_a_good_digest_but_wrong_lengths_is_discarded(tmp_path: Any) -> None:
    import hashlib
    import struct

    from stc.files import rekey as rekeyfile

    path = tmp_path / "f.stc"
    path.write_bytes(b"unchanged")
    body = b"STCJ\x01" + struct.pack(">I", 10) + b"x" * 19  # says 10 + 10 bytes, holds 19
    journal = Path(rekeyfile.journal_path(path))
    journal.write_bytes(body + hashlib.sha256(body).digest())

    def no_key(header: Any) -> bytes:
        raise AssertionError("an incomplete journal is discarded without opening anything")

    assert rekeyfile.finish_interrupted(path, no_key) is False
    assert not journal.exists() and path.read_bytes() == b"unchanged"


@pytest.mark.parametrize("failure", [OSError(18, "cross-device"), AttributeError("no copy_file_range")])
def test_copy_range_falls_back_to_a_plain_copy(tmp_path: Any, monkeypatch: pytest.MonkeyPatch,
                                               failure: Exception) -> None:
    from stc.files import rekey as rekeyfile

    src, dst = tmp_path / "src", tmp_path / "dst"
    src.write_bytes(b"0123456789" * 1000)

    def refuse(*args: Any) -> int:
        raise failure

    monkeypatch.setattr(os, "copy_file_range", refuse, raising=False)
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        rekeyfile._copy_range(fin.fileno(), fout.fileno(), 5, 9995)
    assert dst.read_bytes() == (b"0123456789" * 1000)[5:]


def test_copy_range_refuses_a_file_that_shrank_and_other_errors(tmp_path: Any,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from stc.files import rekey as rekeyfile

    src, dst = tmp_path / "src", tmp_path / "dst"
    src.write_bytes(b"x" * 100)
    with open(src, "rb") as fin, open(dst, "wb") as fout, pytest.raises(OSError, match="shrank"):
        rekeyfile._copy_range(fin.fileno(), fout.fileno(), 0, 200)

    def fail(*args: Any) -> int:
        raise OSError(5, "I/O error")

    monkeypatch.setattr(os, "copy_file_range", fail, raising=False)
    with open(src, "rb") as fin, open(dst, "wb") as fout, pytest.raises(OSError, match="I/O error"):
        rekeyfile._copy_range(fin.fileno(), fout.fileno(), 0, 100)


def test_a_journal_that_cannot_be_written_leaves_nothing(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from stc.files import rekey as rekeyfile

    ctx = stc.STCContext("s", lattice_size=64, depth=4)
    path = tmp_path / "f.stc"
    ctx.encrypt_stream(io.BytesIO(b"data"), path, "pw")
    before = path.read_bytes()

    def full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError, match="No space"):
        ctx.rekey(path, password="pw", new_password="new")
    monkeypatch.undo()
    assert not Path(rekeyfile.journal_path(path)).exists() and path.read_bytes() == before
    assert ctx.decrypt_range(path, 0, 4, "pw") == b"data"


def test_secret_wrapping_rules() -> None:
    from stc.crypto.secret import Secret

    with pytest.raises(ParameterError, match="a Secret holds a password, seed, identities or context data; got object"):
        Secret(object())
    inner = Secret("pw")
    outer = Secret(inner)
    assert outer == inner and hash(outer) == hash(inner) and outer.reveal() == "pw"
    assert len({inner, outer, Secret("other")}) == 2 and (inner == "pw") is False


def test_stale_partials_of_living_writers_are_kept(tmp_path: Any) -> None:
    from stc.files.outputs import _alive, remove_stale_partials

    out = tmp_path / "out.stc"
    mine = tmp_path / f".out.stc.{os.getpid()}.abc.stc-partial"
    dead = tmp_path / ".out.stc.999999999.abc.stc-partial"
    odd = tmp_path / ".out.stc.notapid.abc.stc-partial"
    for p in (mine, dead, odd):
        p.write_bytes(b"")
    assert remove_stale_partials(out) == [str(dead)]
    assert mine.exists() and odd.exists() and not dead.exists()
    assert _alive(os.getpid()) and not _alive(999999999)
    assert remove_stale_partials(tmp_path / "missing-dir" / "x") == []


# ---- small refusals of the supporting layers ----------------------------------------------------------

def test_suite_parsing() -> None:
    from stc.crypto.suite import Suite

    assert Suite.parse("AES-256-GCM") is Suite.AES_256_GCM and Suite.parse(2) is Suite.CHACHA20_POLY1305
    assert Suite.parse(Suite.AES_256_GCM) is Suite.AES_256_GCM
    for value, message in (("rot13", r"^unknown suite 'rot13'; use one of \['aes-256-gcm', 'chacha20-poly1305'\]$"),
                           (9, r"^unknown suite id 9$"), (True, r"^suite must be a Suite, str or int, not bool$"),
                           (1.0, r"^suite must be a Suite, str or int, not float$")):
        with pytest.raises(ParameterError, match=message):
            Suite.parse(value)  # type: ignore[arg-type]


def test_cel_epoch_bounds() -> None:
    from stc.crypto import cel

    root = bytes(32)
    assert len(cel.epoch_key(root, cel.MAX_EPOCH)) == 32
    for bad in (-1, cel.MAX_EPOCH + 1):
        with pytest.raises(ParameterError, match=rf"^epoch must be in \[0, 4294967295\]; got {bad}$"):
            cel.epoch_key(root, bad)
    chain = cel.CEL(root, epoch=cel.MAX_EPOCH - 1)
    assert chain.update() == cel.MAX_EPOCH
    with pytest.raises(ParameterError, match="last epoch"):
        chain.update()
    assert chain.epoch == cel.MAX_EPOCH


def test_envelope_limits_and_a_damaged_directory() -> None:
    from stc.crypto.kdf import KdfParams

    params = KdfParams(1024, 1, 4)
    common = {"suite": stc.Suite.AES_256_GCM, "epoch": 0, "epoch_key": bytes(32), "kdf": params,
              "kdf_salt": bytes(16)}
    with pytest.raises(ParameterError, match="at least one passphrase or recipient"):
        envelope.seal(recipients=[], pw_keys=[], use_decoys=False, **common)
    with pytest.raises(ParameterError, match="at most 4 passphrase slots"):
        envelope.seal(recipients=[], pw_keys=[bytes(32)] * 5, use_decoys=False, **common)
    many = [stc.generate_identity().recipient for _ in range(33)]
    with pytest.raises(ParameterError, match="at most 32 key slots"):
        envelope.seal(recipients=many, pw_keys=[], use_decoys=False, **common)
    header, file_key = envelope.seal(recipients=many[:2], pw_keys=[], use_decoys=False, **common)
    assert sorted(envelope.fingerprints(header, file_key)) == sorted(r.fingerprint for r in many[:2])
    with pytest.raises(IntegrityError, match="sealed directory did not authenticate"):
        envelope.fingerprints(header, bytes(32))


def test_version_1_data_opens_only_with_its_password() -> None:
    v1 = json.loads((Path(__file__).resolve().parents[1] / "vectors" / "messages.json").read_text())[0]
    ctx = stc.STCContext(v1["seed"])
    with pytest.raises(stc.NoMatchingIdentityError, match="version-1 data, which only a password opens"):
        ctx.decrypt(bytes.fromhex(v1["ciphertext"]), bytes.fromhex(v1["metadata"]),
                    identities=[stc.generate_identity()])


def test_state_shape_checks() -> None:
    ctx = stc.STCContext("s", lattice_size=64, depth=4)
    saved = ctx.save_state()
    bad = {**saved, "phe_state": []}
    with pytest.raises(stc.StateError, match=r"^state\['phe_state'\] must be a dict$"):
        ctx.load_state(bad)
    mixed = {**saved, "phe_state": {**saved["phe_state"], "version": 1}}
    with pytest.raises(stc.StateError, match="all sections of a state must have the same version"):
        ctx.load_state(mixed)


def test_armor_refusals_and_flush() -> None:
    from stc.formats import armor

    out = io.BytesIO()
    w = armor.ArmorWriter(out)
    w.write(b"x" * 100)
    w.flush()
    w.close()
    text = out.getvalue()
    class WriteOnly:
        def write(self, data: bytes) -> int:
            return len(data)

    armor.ArmorWriter(WriteOnly()).flush()  # an output without flush: nothing to do
    lines = text.split(b"\n")
    cases = {
        "ends before the END line": b"\n".join(lines[:2]) + b"\n",
        "shorter than 64 characters is not the last one":
            b"\n".join([lines[0], lines[3], lines[1], lines[2], *lines[4:]]),
    }
    for message, data in cases.items():
        with pytest.raises(stc.FormatError, match=message):
            armor.ArmorReader(io.BytesIO(data)).read()


def test_misc_refusals_of_the_feature_layers(tmp_path: Any) -> None:
    from stc.cli import profiles, recommend
    from stc.keys.recipients import generate_identity, parse_identity, parse_recipient
    from stc.keys.recipients.text import MAX_IDENTITY_FILE, identity_lines
    from stc.p2p import transport
    from stc.p2p.handshake import KeyExchange

    with pytest.raises(ParameterError, match=r"kind must be one of .*; got 'rsa'"):
        generate_identity("rsa")
    with pytest.raises(ParameterError, match="a recipient is a Recipient or its text form, not int"):
        parse_recipient(5)  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="an identity is an Identity or its text form, not bytes"):
        parse_identity(b"x")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match=f"larger than {MAX_IDENTITY_FILE} bytes; not an identity file"):
        identity_lines(b"#" * (MAX_IDENTITY_FILE + 1), "big.txt")
    assert profiles.get("backup").stream_options() == {"chunk_size": profiles.get("backup").chunk_size,
                                                        "use_decoys": profiles.get("backup").use_decoys}
    movie = tmp_path / "m.mp4"
    movie.write_bytes(b"\0\0\0\x18ftypmp42" + bytes(20))
    assert recommend.classify(str(movie)) == "media"
    assert recommend.classify(str(tmp_path / "missing")) == "data"
    (tmp_path / "dir").mkdir()
    os.symlink(tmp_path / "nowhere", tmp_path / "dir" / "dangling")
    assert recommend.survey(str(tmp_path / "dir"))["files"] == 1  # lstat of a dangling link works
    ex = KeyExchange()
    assert repr(ex) == f"KeyExchange(public_key={ex.public_key.hex()})"
    tx, _ = stc.StreamingContext(bytes(32)), None
    sender = transport.FrameSender(tx, None)  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="does not fit one UDP datagram"):
        sender.seal(bytes(70_000))
    with pytest.raises(RuntimeError, match="not connected yet"):
        transport.FrameReceiver(tx).local_address()


def test_open_file_needs_file_objects_of_the_right_kind() -> None:
    ctx = stc.STCContext("s", lattice_size=64, depth=4)
    with pytest.raises(ParameterError, match="file must be a path or a binary file object"):
        stc.open(object(), "rb", password="pw", ctx=ctx)  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="file must be a path or a binary file object"):
        stc.open(object(), "wb", password="pw", ctx=ctx)  # type: ignore[arg-type]


def test_validate_chunk_fast_checks_what_it_is_given() -> None:
    from stc.streaming import validate_chunk_fast

    ctx = stc.STCContext("s", lattice_size=64, depth=4)
    one, two = io.BytesIO(), io.BytesIO()
    h1 = ctx.encrypt_stream(io.BytesIO(os.urandom(2048)), one, "pw", chunk_size=1024)
    ctx.encrypt_stream(io.BytesIO(b"y"), two, "pw", chunk_size=1024)
    with pytest.raises(FormatError, match="the metadata given does not match the chunk's header"):
        validate_chunk_fast(two.getvalue(), h1, "pw", ctx=ctx)
    _, message_header = ctx.encrypt(b"m", "pw", format_version=2)
    with pytest.raises(FormatError, match="this is a message header; validate_chunk_fast works on encrypted files"):
        validate_chunk_fast(b"\0" * 100, message_header, "pw", ctx=ctx)
    body = one.getvalue()[h1.size:]
    slot, info = validate_chunk_fast(body[:1040], h1, "pw", ctx=ctx)  # exactly one whole chunk
    assert 0 <= slot < 4 and info


# ---- key slots: messages, the password-key cache and its tags -----------------------------------------

def test_key_slot_refusals_with_their_exact_messages(tmp_path: Any) -> None:
    ctx = stc.STCContext("s", **CHEAP)
    c, m = ctx.encrypt(b"x", "pw", context_data="c", format_version=2)
    with pytest.raises(stc.ContextMismatchError,
                       match=r"^this data was encrypted with context data; pass the same context_data$"):
        ctx.decrypt(c, m, "pw")
    c2, m2 = ctx.encrypt(b"x", "pw", format_version=2)
    with pytest.raises(stc.ContextMismatchError,
                       match=r"^this data was encrypted without context data; pass context_data=None$"):
        ctx.decrypt(c2, m2, "pw", context_data="c")
    with pytest.raises(ParameterError, match=r"^give the password or an identity$"):
        ctx.decrypt(c2, m2)
    with pytest.raises(ParameterError, match=r"^the same password was given twice$"):
        ctx.encrypt(b"x", "pw", additional_passwords=["pw"])
    with pytest.raises(ParameterError, match=r"^give a password or at least one recipient$"):
        ctx.encrypt_stream(io.BytesIO(b"x"), io.BytesIO())
    v1 = json.loads((Path(__file__).resolve().parents[1] / "vectors" / "messages.json").read_text())[0]
    old = stc.STCContext(v1["seed"])
    ct, md = bytes.fromhex(v1["ciphertext"]), bytes.fromhex(v1["metadata"])
    with pytest.raises(stc.NoMatchingIdentityError, match=r"^this is version-1 data, which only a password opens$"):
        old.decrypt(ct, md, identities=[stc.generate_identity()])
    with pytest.raises(stc.WrongPasswordError, match=r"^wrong password \(or wrong seed\): no key slot opened$"):
        old.decrypt(ct, md, "not the password")
    identity = stc.generate_identity()
    out = tmp_path / "one.stc"
    ctx.encrypt_stream(io.BytesIO(b"to one key"), out, recipients=identity.recipient.to_string())  # not a list
    assert ctx.decrypt_range(out, 0, 10, identities=[identity]) == b"to one key"


def test_the_password_key_cache_keeps_the_32_most_recent_under_keyed_tags(monkeypatch: pytest.MonkeyPatch) -> None:
    from stc.keys import keyslots

    calls: list[bytes] = []
    monkeypatch.setattr(kdf, "argon2id", lambda pw, salt, params: calls.append(pw) or bytes(32))
    ctx = stc.STCContext("s", **CHEAP)
    params = kdf.KdfParams(1024, 1, 4)
    for i in range(keyslots._CACHE_ENTRIES):
        ctx._password_key(b"pw%d" % i, bytes(16), params)
    assert len(ctx._cache) == keyslots._CACHE_ENTRIES  # exactly full: nothing forgotten yet
    ctx._password_key(b"pw0", bytes(16), params)  # a hit, and now the most recent
    assert len(calls) == keyslots._CACHE_ENTRIES
    ctx._password_key(b"new", bytes(16), params)  # one too many: the least recent (pw1) goes
    assert len(ctx._cache) == keyslots._CACHE_ENTRIES
    ctx._password_key(b"pw0", bytes(16), params)
    ctx._password_key(b"new", bytes(16), params)
    assert len(calls) == keyslots._CACHE_ENTRIES + 1  # both still cached
    ctx._password_key(b"pw1", bytes(16), params)
    assert calls[-1] == b"pw1" and len(calls) == keyslots._CACHE_ENTRIES + 2  # derived again
    other = stc.STCContext("s", **CHEAP)  # tags are keyed per context: no plain hash of a password
    assert ctx._password_tag(b"pw", bytes(16), params) != other._password_tag(b"pw", bytes(16), params)
