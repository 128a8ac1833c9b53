"""StreamingContext statistics exactly (under a fake clock), and the packet API's inputs, outputs and refusals."""

from __future__ import annotations

import array
import copy
import pickle
import re
import struct
from collections.abc import Callable

import pytest

from stc.errors import FormatError, IntegrityError, ParameterError
from stc.p2p import StreamingContext
from stc.p2p import context as p2p_context
from stc.p2p import receiving as p2p_receiving

SEED = bytes(range(32))
STEP = 0.001  # the fake clock advances one millisecond a reading


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Replace the contexts' clock: each reading is STEP after the last; returns the readings."""
    readings: list[float] = []

    def now() -> float:
        readings.append(100.0 + STEP * len(readings))
        return readings[-1]

    monkeypatch.setattr(p2p_context, "_now", now)  # the sending half
    monkeypatch.setattr(p2p_receiving, "_now", now)  # the receiving half
    return readings


APIS: dict[str, tuple[Callable[[StreamingContext, bytes], object], Callable[[StreamingContext, object], object]]] = {
    "chunk": (lambda tx, data: tx.encrypt_chunk(data), lambda rx, sealed: rx.decrypt_chunk(*sealed)),  # type: ignore[misc]
    "packet": (lambda tx, data: tx.encrypt_packet(data), lambda rx, sealed: rx.decrypt_packet(sealed)),  # type: ignore[arg-type]
}


def test_before_any_frame_every_figure_is_zero(clock: list[float]) -> None:
    stats = StreamingContext(SEED).get_performance_stats()
    for key in ("chunks_encrypted", "chunks_decrypted", "bytes_encrypted", "bytes_decrypted", "subchunks_created"):
        assert stats[key] == 0
    for key in ("encrypt_throughput_mbps", "decrypt_throughput_mbps", "avg_encrypt_ms", "avg_decrypt_ms"):
        assert stats[key] == 0.0
    assert clock == []


@pytest.mark.parametrize("api", list(APIS))
def test_stats_are_exact_and_one_frame_in_sixteen_reads_the_clock(clock: list[float], api: str) -> None:
    seal, open_ = APIS[api]
    tx, rx = StreamingContext(SEED), StreamingContext(SEED)
    sealed = [seal(tx, bytes(1000)) for _ in range(20)]
    assert len(clock) == 4  # frames 0 and 16: a reading before and after each
    for item in sealed:
        open_(rx, item)
    assert len(clock) == 8
    sent, heard = tx.get_performance_stats(), rx.get_performance_stats()
    assert (sent["chunks_encrypted"], sent["bytes_encrypted"]) == (20, 20000)
    assert (heard["chunks_decrypted"], heard["bytes_decrypted"]) == (20, 20000)
    exact = {"rel": 1e-9}
    assert sent["avg_encrypt_ms"] == pytest.approx(1.0, **exact)
    assert heard["avg_decrypt_ms"] == pytest.approx(1.0, **exact)
    # 1000 bytes in one millisecond: 1 MB/s
    assert sent["encrypt_throughput_mbps"] == pytest.approx(1.0, **exact)
    assert heard["decrypt_throughput_mbps"] == pytest.approx(1.0, **exact)
    assert sent["decrypt_throughput_mbps"] == 0.0 and heard["encrypt_throughput_mbps"] == 0.0


def test_multi_chunk_packets_count_their_pieces(clock: list[float]) -> None:
    tx, rx = StreamingContext(SEED), StreamingContext(SEED)
    for _ in range(2):
        opened = rx.decrypt_packet(tx.encrypt_packet(bytes(65536)))
        assert type(opened) is bytearray and opened == bytes(65536)
    assert tx.get_performance_stats()["subchunks_created"] == 4
    assert tx.subchunks_created == 4


def test_packets_are_bytearrays_and_any_buffer_is_taken() -> None:
    tx, rx = StreamingContext(SEED), StreamingContext(SEED)
    words = array.array("I", range(100))
    for data in (words, memoryview(words), bytearray(b"abc"), memoryview(b"xyz")):
        packet = tx.encrypt_packet(data)
        assert type(packet) is bytearray
        opened = rx.decrypt_packet(packet)
        assert type(opened) is bytearray and opened == memoryview(data).cast("B").tobytes()
    with pytest.raises(ParameterError, match=r"^frame data must be bytes, not str$"):
        tx.encrypt_packet("text")  # type: ignore[arg-type]


def test_packet_refusals_are_named_and_counted_as_rejections_not_replays() -> None:
    tx, rx = StreamingContext(SEED), StreamingContext(SEED)
    good = tx.encrypt_packet(b"payload")
    cases = [
        (b"short", FormatError, r"^a packet is bytes of at least 16 \(the frame header\)$"),
        (bytes([9]) + bytes(good[1:]), FormatError, r"^unsupported frame header version 9$"),
        (bytes(good[:1]) + b"\x07" + bytes(good[2:]), FormatError, r"^unknown frame flags 0x07$"),
        (bytes(good[:-1]) + bytes([good[-1] ^ 1]), IntegrityError, r"^frame did not authenticate: tampered, "
                                                                   r"truncated, or sealed under another seed$"),
    ]
    for packet, error, message in cases:
        with pytest.raises(error, match=message):
            rx.decrypt_packet(packet)
    stats = rx.get_performance_stats()
    assert (stats["frames_rejected"], stats["replays_rejected"]) == (len(cases), 0)


def test_a_known_sender_switching_frame_version_is_refused_by_name() -> None:
    tx, rx = StreamingContext(SEED), StreamingContext(SEED)
    packet = tx.encrypt_packet(b"first")
    rx.decrypt_packet(packet)
    _, flags, sender, epoch, seq = struct.unpack(">BB8sHI", bytes(packet[:16]))
    forged = struct.pack(">BB8sHI", 1, flags, sender, epoch + 1, seq) + bytes(packet[16:])  # a new epoch
    with pytest.raises(IntegrityError, match=r"^sender switched from frame version 2 to 1$"):
        rx.decrypt_packet(forged)


def test_rotation_happens_exactly_at_the_byte_budget_in_every_epoch() -> None:
    tx = StreamingContext(SEED, key_rotation_mb=4000 / (1 << 20))  # 4,000 bytes an epoch
    epochs = [tx.encrypt_chunk(bytes(1000))[0].epoch for _ in range(12)]
    assert epochs == [0] * 4 + [1] * 4 + [2] * 4  # the fourth 1,000 bytes still fit, the fifth does not
    assert tx.get_performance_stats()["current_epoch"] == 2


def test_a_malformed_header_is_a_rejection_not_a_replay() -> None:
    tx, rx = StreamingContext(SEED), StreamingContext(SEED)
    _, body = tx.encrypt_chunk(b"x")
    with pytest.raises(FormatError, match=r"^a frame header is exactly 16 bytes$"):
        rx.decrypt_chunk(b"short", body)
    stats = rx.get_performance_stats()
    assert (stats["frames_rejected"], stats["replays_rejected"]) == (1, 0)


def test_a_streaming_context_cannot_be_pickled_or_copied() -> None:
    message = r"^a StreamingContext holds keys and a sender's sequence; it cannot be pickled or copied$"
    ctx = StreamingContext(SEED)
    with pytest.raises(ParameterError, match=message):
        pickle.dumps(ctx)
    with pytest.raises(ParameterError, match=message):
        copy.copy(ctx)


def test_epochs_seen_accumulates_and_sets_the_depth() -> None:
    tx = StreamingContext(SEED, key_rotation_mb=1000 / (1 << 20), initial_depth=2, max_depth=6)
    rx = StreamingContext(SEED, initial_depth=2, max_depth=6)
    for _ in range(4):  # epochs 0, 1, 2, 3: one frame of 1,000 bytes each
        rx.decrypt_chunk(*tx.encrypt_chunk(bytes(1000)))
    stats = rx.get_performance_stats()
    assert stats["epochs_seen"] == 3 and stats["cel_depth"] == 5 and rx.cel_depth == 5
    assert tx.get_performance_stats()["key_rotations"] == 3


def test_a_header_built_by_hand_opens_like_the_one_returned() -> None:
    from stc.p2p import ChunkHeader

    tx, rx = StreamingContext(SEED), StreamingContext(SEED)
    header, body = tx.encrypt_chunk(b"by hand")
    rebuilt = ChunkHeader(header.flags, header.sender_id, header.epoch, header.sequence)
    assert "_wire" not in rebuilt.__dict__
    assert rx.decrypt_chunk(rebuilt, body) == b"by hand"


def test_two_threads_opening_one_frame_accept_it_once() -> None:
    """The race the early window check cannot see: both threads pass it before either commits."""
    import threading

    from stc.errors import ReplayError

    tx, rx = StreamingContext(SEED), StreamingContext(SEED)
    rx.decrypt_chunk(*tx.encrypt_chunk(b"first"))  # the epoch is now stored
    header, body = tx.encrypt_chunk(b"raced")
    epoch = rx._table.peers[header.sender_id].epochs[header.epoch]
    real, entered, release = epoch.aead, threading.Event(), threading.Event()

    class Held:
        """Holds the first caller inside decrypt until released."""

        def decrypt(self, *args: object) -> bytes:
            if not entered.is_set():
                entered.set()
                release.wait(10)
            return real.decrypt(*args)  # type: ignore[no-any-return]

    epoch.aead = Held()
    outcome: list[object] = []

    def first() -> None:
        try:
            outcome.append(rx.decrypt_chunk(header, body))
        except ReplayError as exc:
            outcome.append(exc)

    thread = threading.Thread(target=first)
    thread.start()
    assert entered.wait(10)
    assert rx.decrypt_chunk(header, body) == b"raced"  # the second caller commits first
    release.set()
    thread.join(10)
    assert len(outcome) == 1 and isinstance(outcome[0], ReplayError)
    assert str(outcome[0]) == f"frame {header.sequence} was already received (duplicate or replay)"


def test_constructor_defaults_are_the_documented_ones() -> None:
    ctx = StreamingContext(SEED)
    assert (ctx.optimal_chunk_size, ctx.enable_adaptive_chunking, ctx.initial_depth, ctx.max_depth,
            ctx.key_schedule_size, ctx.entropy_pool_size, ctx.key_rotation_mb, ctx.role) == (
        32768, True, 2, 6, 256, 1024, 10, None)
    assert ctx._rotation_bytes == 10 << 20


@pytest.mark.parametrize(("name", "low", "high"), [
    ("optimal_chunk_size", 256, (1 << 24) - 1), ("max_depth", 1, 64), ("initial_depth", 1, 6),
    ("key_schedule_size", 64, 65535), ("entropy_pool_size", 8, 1 << 20),
])
def test_each_integer_setting_at_its_edges(name: str, low: int, high: int) -> None:
    extra = {"initial_depth": 1} if name == "max_depth" else {}  # the default 2 needs max_depth >= 2
    for ok in (low, high):
        assert getattr(StreamingContext(SEED, **{name: ok}, **extra), name) == ok  # type: ignore[arg-type]
    for bad in (low - 1, high + 1, True, 8.0):
        message = rf"^{name} must be an integer in \[{low}, {high}\]; got {re.escape(repr(bad))}$"
        with pytest.raises(ParameterError, match=message):
            StreamingContext(SEED, **{name: bad}, **extra)  # type: ignore[arg-type]


def test_the_other_settings_refused_by_name() -> None:
    top = 1 << 20
    assert StreamingContext(SEED, key_rotation_mb=top).key_rotation_mb == top
    for bad in (0, -1, top + 0.5, "10", True):
        with pytest.raises(ParameterError, match=rf"^key_rotation_mb must be a number in \(0, {top}\]; got "):
            StreamingContext(SEED, key_rotation_mb=bad)  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match=r"^enable_adaptive_chunking must be a bool$"):
        StreamingContext(SEED, enable_adaptive_chunking=1)  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match=r"^role must be None, 'initiator' or 'responder'$"):
        StreamingContext(SEED, role="server")


def test_a_new_sender_id_is_never_one_this_context_used() -> None:
    ctx = StreamingContext(SEED)
    first = ctx._send.id
    draws = iter([first, first, b"\x02" * 8])
    ctx._random = lambda n: next(draws)  # type: ignore[method-assign]
    assert ctx._new_sender().id == b"\x02" * 8


def test_chunks_count_their_pieces_and_refuse_text_by_name(clock: list[float]) -> None:
    tx = StreamingContext(SEED)
    for _ in range(2):
        tx.encrypt_chunk(bytes(65536))
    assert tx.subchunks_created == 4
    with pytest.raises(ParameterError, match=r"^frame data must be bytes, not str$"):
        tx.encrypt_chunk("text")  # type: ignore[arg-type]
