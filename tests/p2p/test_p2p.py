"""StreamingContext frames, anti-replay window, rotation, handshake and the UDP transport."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random

import pytest
from cryptography.exceptions import InvalidTag
from hypothesis import given, settings
from hypothesis import strategies as st

import stc
from interfaces.api.streaming_context import ChunkHeader, StreamingContext
from stc import p2p
from stc.errors import FormatError, IntegrityError, ParameterError, ReplayError
from stc.p2p import context as p2p_context
from stc.p2p import replay as p2p_replay
from stc.p2p.context import DEFAULT_SUBCHUNK
from stc.p2p.handshake import KeyExchange
from stc.p2p.transport import open_receiver, open_sender

SEED = bytes(range(32))  # high-entropy bytes: no stretching, fast tests


def pair(**kw: object) -> tuple[StreamingContext, StreamingContext]:
    return StreamingContext(SEED, **kw), StreamingContext(SEED, **kw)  # type: ignore[arg-type]


def test_manual_basic_usage_and_header_size() -> None:
    stream_ctx = StreamingContext("session_abc123")
    frame_data = b"..." * 1000
    header, encrypted = stream_ctx.encrypt_chunk(frame_data)
    header_bytes = header.to_bytes()
    assert len(header_bytes) == 16 and len(encrypted) == len(frame_data) + 16
    assert ChunkHeader.from_bytes(header_bytes) == header
    assert stream_ctx.decrypt_chunk(header, encrypted) == frame_data


def test_manual_adaptive_chunking() -> None:
    stream_ctx = StreamingContext("session_abc123")
    h1, e1 = stream_ctx.encrypt_chunk(b"X" * 4096)
    assert h1.flags == 0x0000
    h2, e2 = stream_ctx.encrypt_chunk(b"X" * 65536)
    # The manual splits into 8 KiB pieces; the default is 32 KiB now (docs/design.md), so two.
    assert h2.flags == 0x0001 and stream_ctx.subchunks_created == 2
    receiver = StreamingContext("session_abc123")
    assert receiver.decrypt_chunk(h2.to_bytes(), e2) == b"X" * 65536
    assert receiver.decrypt_chunk(h1, e1) == b"X" * 4096
    off = StreamingContext(SEED, enable_adaptive_chunking=False)
    assert off.encrypt_chunk(b"X" * 65536)[0].flags == 0


@pytest.mark.parametrize("size", [0, 1, 8191, 8192, 8193, 32767, 32768, 32769, 65536, 100_000])
def test_sizes_round_trip(size: int) -> None:
    tx, rx = pair()
    data = os.urandom(size)
    h, e = tx.encrypt_chunk(data)
    assert rx.decrypt_chunk(h, e) == data
    assert h.flags == (1 if size > DEFAULT_SUBCHUNK else 0)
    packet = tx.encrypt_packet(data)
    assert isinstance(packet, bytearray) and packet[0] == 2 and packet[1] == h.flags
    assert len(packet) == 16 + len(e)
    assert rx.decrypt_packet(memoryview(packet)) == data
    with pytest.raises(ReplayError):
        rx.decrypt_packet(bytes(packet))


@pytest.mark.parametrize("size", [0, 5000, 8193, 65536])
def test_packets_and_chunks_are_the_same_bytes(size: int) -> None:
    tx, rx = pair()
    data = os.urandom(size)
    h, e = tx.encrypt_chunk(data)
    packet = tx.encrypt_packet(data)
    # the same frame format: a packet opens with decrypt_chunk, a chunk pair with decrypt_packet
    assert rx.decrypt_chunk(packet[:16], bytes(packet[16:])) == data
    assert rx.decrypt_packet(h.to_bytes() + e) == data
    assert len(packet) == 16 + len(e)


def test_packet_errors() -> None:
    tx, rx = pair()
    packet = tx.encrypt_packet(b"payload" * 100)
    for bad in (b"", packet[:15], b"\x09" + bytes(packet[1:])):
        with pytest.raises(FormatError):
            rx.decrypt_packet(bad)
    for i in (16, len(packet) - 1, 3):
        tampered = bytearray(packet)
        tampered[i] ^= 1
        with pytest.raises((IntegrityError, ReplayError, FormatError)):
            rx.decrypt_packet(tampered)
    with pytest.raises(FormatError):
        rx.decrypt_packet("text")  # type: ignore[arg-type]
    with pytest.raises(ParameterError):
        tx.encrypt_packet("text")  # type: ignore[arg-type]
    assert rx.decrypt_packet(packet) == b"payload" * 100
    stats = rx.get_performance_stats()
    assert stats["frames_rejected"] == 7 and stats["chunks_decrypted"] == 1


def test_handshake_pattern_and_stream_metadata() -> None:
    server = StreamingContext("shared_seed_abc123")
    meta = server.get_stream_metadata()
    assert len(meta) == 9
    client = StreamingContext("shared_seed_abc123")
    params = client.check_stream_metadata(meta)
    assert params.optimal_chunk_size == DEFAULT_SUBCHUNK and params.replay_window == 256
    h, e = server.encrypt_chunk(b"hello")
    assert client.decrypt_chunk(h, e) == b"hello"
    chacha = StreamingContext("shared_seed_abc123", suite="chacha20-poly1305")
    with pytest.raises(stc.FormatError, match="peer uses"):
        chacha.check_stream_metadata(meta)
    for bad in (b"", meta[:8], b"\x03" + meta[1:], meta[:2] + b"\x04" + meta[3:],
                meta[:3] + b"\x00\x00\x01" + meta[6:]):
        with pytest.raises(stc.FormatError):
            p2p.StreamParameters.from_bytes(bad)


def test_every_header_and_payload_byte_tampering_rejected() -> None:
    tx, rx = pair()
    for frame in (os.urandom(300), os.urandom(20000)):
        h, e = tx.encrypt_chunk(frame)
        hb = h.to_bytes()
        for i in range(16):
            for bit in range(8):
                bad = bytearray(hb)
                bad[i] ^= 1 << bit
                with pytest.raises(stc.DecryptionError):
                    rx.decrypt_chunk(bytes(bad), e)
        for i in range(0, len(e), max(1, len(e) // 97)):
            bad = bytearray(e)
            bad[i] ^= 0x10
            with pytest.raises(stc.IntegrityError):
                rx.decrypt_chunk(h, bytes(bad))
        for cut in (0, 3, 4, len(e) - 1):
            with pytest.raises(stc.IntegrityError):
                rx.decrypt_chunk(h, e[:cut])
        with pytest.raises(stc.IntegrityError):
            rx.decrypt_chunk(h, e + b"\x00")
        assert rx.decrypt_chunk(h, e) == frame  # rejected attempts left no trace
    assert rx.get_performance_stats()["frames_rejected"] > 200


def test_wrong_seed_rejected() -> None:
    h, e = StreamingContext("seed-a").encrypt_chunk(b"x")
    with pytest.raises(stc.IntegrityError):
        StreamingContext("seed-b").decrypt_chunk(h, e)


def test_replay_duplicate_and_window() -> None:
    tx, rx = pair(key_schedule_size=64)
    frames = [tx.encrypt_chunk(b"%d" % i) for i in range(200)]
    order = list(range(100))
    random.Random(1).shuffle(order)  # reorder within 100 frames: window 64 accepts most
    accepted = 0
    for i in range(100, 200):
        assert rx.decrypt_chunk(*frames[i]) == b"%d" % i
    with pytest.raises(stc.ReplayError, match="already received"):
        rx.decrypt_chunk(*frames[150])
    with pytest.raises(stc.ReplayError, match="older than"):
        rx.decrypt_chunk(*frames[10])
    for i in order:  # all older than 200 - 64 = 136: every one is too old
        with pytest.raises(stc.ReplayError):
            rx.decrypt_chunk(*frames[i])
    stats = rx.get_performance_stats()
    assert stats["replays_rejected"] == 102 and stats["chunks_decrypted"] == 100
    del accepted


def test_reordering_within_window_accepted() -> None:
    tx, rx = pair(key_schedule_size=64)
    frames = [tx.encrypt_chunk(b"%d" % i) for i in range(300)]
    order = list(range(300))
    rng = random.Random(7)
    for start in range(0, 300, 50):  # shuffle inside blocks of 50 < 64
        block = order[start : start + 50]
        rng.shuffle(block)
        order[start : start + 50] = block
    assert [rx.decrypt_chunk(*frames[i]) for i in order] == [b"%d" % i for i in order]
    for i in range(250, 300):
        with pytest.raises(stc.ReplayError):
            rx.decrypt_chunk(*frames[i])


def test_two_senders_same_seed_interleaved_and_restart() -> None:
    a, b, rx = StreamingContext(SEED), StreamingContext(SEED), StreamingContext(SEED)
    ha, hb = a.encrypt_chunk(b"a0")[0], b.encrypt_chunk(b"b0")[0]
    assert ha.sender_id != hb.sender_id and ha.sequence == hb.sequence == 0
    a, b = StreamingContext(SEED), StreamingContext(SEED)
    out = []
    for i in range(50):
        out.append(rx.decrypt_chunk(*a.encrypt_chunk(b"a%d" % i)))
        out.append(rx.decrypt_chunk(*b.encrypt_chunk(b"b%d" % i)))
    restarted = StreamingContext(SEED)  # a restarted sender: new id, same sequence numbers
    out.append(rx.decrypt_chunk(*restarted.encrypt_chunk(b"r0")))
    assert len(out) == 101 and rx.get_performance_stats()["senders_tracked"] == 3


def test_nonce_inputs_never_repeat_across_senders() -> None:
    seen = set()
    for _ in range(20):
        ctx = StreamingContext(SEED, key_rotation_mb=0.001)
        for _ in range(30):
            h, _ = ctx.encrypt_chunk(b"y" * 500)
            key = (h.sender_id, h.epoch, h.sequence)
            assert key not in seen
            seen.add(key)


def test_key_rotation_with_late_frames_and_retirement() -> None:
    tx = StreamingContext(SEED, key_rotation_mb=0.01, initial_depth=1, max_depth=3)  # ~10 KB per epoch
    rx = StreamingContext(SEED, initial_depth=1, max_depth=3)
    frames = [tx.encrypt_chunk(os.urandom(2000)) for _ in range(60)]
    epochs = sorted({h.epoch for h, _ in frames})
    assert len(epochs) >= 10 and tx.get_performance_stats()["key_rotations"] == len(epochs) - 1
    by_epoch = {e: [f for f in frames if f[0].epoch == e] for e in epochs}
    # Deliver epoch 1 and then epoch 2, then a late frame of epoch 1: accepted (retained).
    for f in by_epoch[1][1:] + by_epoch[2]:
        rx.decrypt_chunk(*f)
    assert rx.decrypt_chunk(*by_epoch[1][0])
    # Jump to the last epoch: epochs older than the retention depth are erased.
    last = epochs[-1]
    rx.decrypt_chunk(*by_epoch[last][0])
    with pytest.raises(stc.ReplayError, match="retired epoch"):
        rx.decrypt_chunk(*by_epoch[2][1])
    assert rx.cel_depth <= 3
    # A frame of a skipped but retained epoch still opens.
    assert rx.decrypt_chunk(*by_epoch[last - 1][0])


def test_receiver_joining_late_catches_up_and_forged_epochs_leave_nothing() -> None:
    tx = StreamingContext(SEED, key_rotation_mb=0.001)
    for _ in range(20):
        tx.encrypt_chunk(b"z" * 2000)
    h, e = tx.encrypt_chunk(b"late join")
    assert h.epoch >= 19
    rx = StreamingContext(SEED)
    assert rx.decrypt_chunk(h, e) == b"late join"
    for epoch in (h.epoch + 1, p2p.MAX_EPOCH):  # forged headers far ahead: refused, nothing stored
        with pytest.raises(stc.IntegrityError):
            rx.decrypt_chunk(ChunkHeader(0, h.sender_id, epoch, 0), e)
    assert rx.get_performance_stats()["epochs_seen"] == 0


def test_sender_epoch_exhaustion_starts_new_tree(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(p2p_context, "MAX_EPOCH", 2)
    tx, rx = pair(key_rotation_mb=0.001)
    ids = set()
    for _ in range(8):
        h, e = tx.encrypt_chunk(b"q" * 1500)
        ids.add(h.sender_id)
        assert rx.decrypt_chunk(h, e) == b"q" * 1500
    assert len(ids) >= 2


def test_sequence_exhaustion_rotates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(p2p_context, "MAX_SEQUENCE", 3)
    tx, rx = pair()
    headers = [tx.encrypt_chunk(b"s") for _ in range(6)]
    assert [h.epoch for h, _ in headers] == [0, 0, 0, 0, 1, 1]
    assert [h.sequence for h, _ in headers] == [0, 1, 2, 3, 0, 1]
    assert all(rx.decrypt_chunk(*f) == b"s" for f in headers)


def test_unknown_senders_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(p2p_replay, "MAX_SENDERS", 4)
    rx = StreamingContext(SEED)
    for _ in range(10):
        rx.decrypt_chunk(*StreamingContext(SEED).encrypt_chunk(b"p"))
    stats = rx.get_performance_stats()
    assert stats["senders_tracked"] == 4 and stats["senders_retired"] == 6
    # Forged frames from unknown senders leave no state behind.
    for i in range(50):
        with pytest.raises(stc.IntegrityError):
            rx.decrypt_chunk(ChunkHeader(0, os.urandom(8), 0, i), os.urandom(40))
    stats = rx.get_performance_stats()
    assert stats["senders_tracked"] == 4 and stats["senders_retired"] == 6


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=0, max_size=40), st.binary(max_size=200))
def test_fuzzed_frames_raise_only_project_errors(header: bytes, body: bytes) -> None:
    with contextlib.suppress(stc.STCError):
        _FUZZ_RX.decrypt_chunk(header[:16] if len(header) >= 16 else header, body)


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=16, max_size=16))
def test_fuzzed_headers_parse_or_format_error(raw: bytes) -> None:
    try:
        header = ChunkHeader.from_bytes(raw)
    except stc.FormatError:
        return
    assert header.to_bytes() == raw


_FUZZ_RX = StreamingContext(SEED)


@pytest.mark.parametrize("kwargs", [
    {"optimal_chunk_size": 100}, {"optimal_chunk_size": 1 << 25}, {"initial_depth": 0}, {"max_depth": 0},
    {"initial_depth": 7, "max_depth": 6}, {"key_schedule_size": 32}, {"key_schedule_size": 70000},
    {"entropy_pool_size": 4}, {"key_rotation_mb": 0}, {"key_rotation_mb": -1}, {"key_rotation_mb": "10"},
    {"enable_adaptive_chunking": "yes"}, {"optimal_chunk_size": 8192.0},
])
def test_constructor_validation(kwargs: dict[str, object]) -> None:
    with pytest.raises(stc.ParameterError):
        StreamingContext("s", **kwargs)  # type: ignore[arg-type]


def test_performance_stats_keys() -> None:
    tx, rx = pair()
    h, e = tx.encrypt_chunk(b"x" * 5000)
    rx.decrypt_chunk(h, e)
    stats = tx.get_performance_stats()
    for key in ("chunks_encrypted", "chunks_decrypted", "encrypt_throughput_mbps", "decrypt_throughput_mbps",
                "avg_encrypt_ms", "avg_decrypt_ms", "subchunks_created", "cel_depth", "key_rotations",
                "frames_rejected"):
        assert key in stats
    assert stats["chunks_encrypted"] == 1 and rx.get_performance_stats()["chunks_decrypted"] == 1
    assert "session" not in repr(tx)
    with pytest.raises(stc.ParameterError):
        tx.encrypt_chunk("text")  # type: ignore[arg-type]


def test_key_exchange() -> None:
    alice, bob = KeyExchange(), KeyExchange()
    seed_a = alice.derive_seed(bob.public_key, psk=b"k" * 32, info=b"call-1")
    seed_b = bob.derive_seed(alice.public_key, psk=b"k" * 32, info=b"call-1")
    assert seed_a == seed_b and len(seed_a) == 32
    tx, rx = StreamingContext(seed_a), StreamingContext(seed_b)
    assert rx.decrypt_chunk(*tx.encrypt_chunk(b"over x25519")) == b"over x25519"
    with pytest.raises(stc.errors.HandshakeError, match="already used"):
        alice.derive_seed(bob.public_key)
    c, d = KeyExchange(), KeyExchange()
    assert c.derive_seed(d.public_key, psk=b"1") != d.derive_seed(c.public_key, psk=b"2")
    for bad in (b"", b"x" * 31, bytes(32)):
        with pytest.raises(stc.errors.HandshakeError):
            KeyExchange().derive_seed(bad)
    e = KeyExchange()
    with pytest.raises(stc.errors.HandshakeError, match="reflection"):
        e.derive_seed(e.public_key)


def test_udp_loss_reorder_duplication_replay() -> None:
    async def run() -> None:
        tx, rx_ctx = pair()
        receiver = await open_receiver(rx_ctx)
        sender = await open_sender(tx, receiver.local_address)
        rng = random.Random(42)
        sender.send(b"hello")  # the plain path: seal and send
        _, first, _ = await asyncio.wait_for(receiver.frames.get(), 2.0)
        assert first == b"hello"
        held: list[bytes] = []
        delivered: list[bytes] = []
        expected: set[int] = set()
        for i in range(300):
            packet = sender.seal(i.to_bytes(4, "big") + os.urandom(5000))
            roll = rng.random()
            if roll < 0.1:
                continue  # lost
            expected.add(i)
            if roll < 0.2:
                held.append(packet)  # delivered late (reordered)
                continue
            sender.transport.sendto(packet)
            delivered.append(packet)
            if roll < 0.3:
                sender.transport.sendto(packet)  # duplicated by the network
            if len(held) > 5:
                sender.transport.sendto(held.pop(0))
            if i % 50 == 49:
                sender.transport.sendto(rng.choice(delivered))  # an attacker replays a delivered frame
            await asyncio.sleep(0.0005)  # let the receiver drain its socket, as a paced sender would
        for packet in held:
            sender.transport.sendto(packet)
        got: list[int] = []
        with contextlib.suppress(asyncio.TimeoutError):
            while len(got) < len(expected):
                _, frame, _ = await asyncio.wait_for(receiver.frames.get(), 2.0)
                got.append(int.from_bytes(frame[:4], "big"))
        await asyncio.sleep(0.05)
        sender.close()
        assert receiver.transport is not None
        receiver.transport.close()
        assert len(got) == len(set(got)), "a frame was delivered twice"
        assert set(got) <= expected
        assert len(got) >= 0.95 * len(expected)  # loopback UDP may itself drop a few under load
        assert receiver.rejected["ReplayError"] >= 20
        assert set(receiver.rejected) <= {"ReplayError"}

    asyncio.run(run())


def test_frame_inputs_of_the_wrong_shape_are_refused_clearly() -> None:
    import array
    import struct

    tx, rx = pair()
    with pytest.raises(ParameterError, match="frame data must be bytes, not int"):
        tx.encrypt_chunk(5)  # type: ignore[arg-type]
    packet = tx.encrypt_packet(b"abcd" * 10)
    wide = array.array("H")
    wide.frombytes(bytes(packet))  # a memoryview of 2-byte items is read as its bytes
    assert rx.decrypt_packet(memoryview(wide)) == b"abcd" * 10
    h, _ = tx.encrypt_chunk(b"x")
    with pytest.raises(FormatError, match=r"^frame payload must be bytes$"):
        rx.decrypt_chunk(h, "not bytes")  # type: ignore[arg-type]
    short = tx.encrypt_packet(b"y")
    with pytest.raises(IntegrityError, match="did not authenticate"):
        rx.decrypt_packet(short[:16 + 15])  # shorter than a tag
    # A multi-chunk body too short to hold its size, and one whose length allows only one piece.
    for body in (b"\x00\x00", struct.pack(">I", 8192) + bytes(100)):
        tx2, rx2 = pair(optimal_chunk_size=8192)
        frame = tx2.encrypt_packet(os.urandom(20000))
        forged = bytes(frame[:16]) + body
        with pytest.raises(IntegrityError, match="multi-chunk frame"):
            rx2.decrypt_packet(forged)


# ---- sub-chunk bodies: every bound of open_body, and the scratch buffer --------------------------------

def test_open_body_bounds_each_with_its_message() -> None:
    import struct
    import threading

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from stc.p2p import subchunks
    from stc.p2p.frame import MAX_SUBCHUNK, MIN_SUBCHUNK

    aead, hb = AESGCM(bytes(32)), bytes(16)

    def body(data: bytes, size: int) -> bytes:
        out = bytearray(subchunks.sealed_size(len(data), size))
        subchunks.seal_into(aead, hb, 7, data, size, memoryview(out))
        return bytes(out)

    for size in (MIN_SUBCHUNK, MAX_SUBCHUNK):  # the bounds themselves are accepted
        data = os.urandom(size + 1)  # two pieces, the last one byte
        sealed = body(data, size)
        assert subchunks.open_body(aead, hb, 7, sealed) == data
        opened = subchunks.open_body(aead, hb, 7, sealed, bytearray)
        assert type(opened) is bytearray and opened == data
    for bad in (MIN_SUBCHUNK - 1, MAX_SUBCHUNK + 1):
        with pytest.raises(IntegrityError, match=r"^multi-chunk frame has an invalid sub-chunk size$"):
            subchunks.open_body(aead, hb, 7, struct.pack(">I", bad) + bytes(64))
    with pytest.raises(IntegrityError, match=r"^multi-chunk frame too short$"):
        subchunks.open_body(aead, hb, 7, b"\x00\x00\x20")
    good = body(os.urandom(MIN_SUBCHUNK + 1), MIN_SUBCHUNK)  # pieces of S+16, then 1+16
    for cut, ok in ((len(good), True), (len(good) - 1, False), (4, False), (4 + MIN_SUBCHUNK + 16, False),
                    (4 + MIN_SUBCHUNK + 16 + 16, False)):
        if ok:
            assert len(subchunks.open_body(aead, hb, 7, good[:cut])) == MIN_SUBCHUNK + 1
            continue
        with pytest.raises((IntegrityError, InvalidTag)) as raised:
            subchunks.open_body(aead, hb, 7, good[:cut])
        if cut in (4, 4 + MIN_SUBCHUNK + 16, 4 + MIN_SUBCHUNK + 16 + 16):  # one piece, or an empty last one
            assert str(raised.value) == "multi-chunk frame has a malformed length"

    seen: dict[str, object] = {}

    def in_a_new_thread() -> None:
        small = subchunks._scratch_view(10)
        seen["first"] = small.obj
        seen["first_len"] = len(small.obj)
        same = subchunks._scratch_view(len(small.obj))  # exactly the scratch size: reused
        seen["reused"] = same.obj is small.obj
        top = subchunks._scratch_view(subchunks._SCRATCH_MAX)  # at the bound: still the scratch
        seen["top_is_scratch"] = top.obj is subchunks._scratch.buf
        over = subchunks._scratch_view(subchunks._SCRATCH_MAX + 1)  # past it: a buffer of its own
        seen["over_is_own"] = over.obj is not subchunks._scratch.buf and len(over) == subchunks._SCRATCH_MAX + 1

    t = threading.Thread(target=in_a_new_thread)
    t.start()
    t.join()
    assert seen == {"first": seen["first"], "first_len": 1 << 17, "reused": True, "top_is_scratch": True,
                    "over_is_own": True}
