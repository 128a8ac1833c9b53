"""``Session`` (the transport-independent half of a session) with its two ends joined in process:
each end's packets go straight into the other's ``_receive``.  The network tests
(test_sessions.py) run the same class over real sockets; these pin every count, kind, bound
and life-cycle rule exactly, fast enough for mutation testing (issue 24)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from stc import errors
from stc.keys.recipients.x25519 import X25519Identity
from stc.p2p.context import DEFAULT_SUBCHUNK
from stc.p2p.session import core
from stc.p2p.session.core import STATS, Session, packet_limit, until_closed
from stc.p2p.session.handshake import InitiatorHandshake, ResponderHandshake, SessionKeys
from stc.p2p.session.wire import KIND_ACK, KIND_CONFIRM, KIND_FRAME, KIND_KEEPALIVE
from stc.p2p.subchunks import sealed_size

ALICE, BOB = X25519Identity.generate(), X25519Identity.generate()


def keys() -> tuple[SessionKeys, SessionKeys]:
    i = InitiatorHandshake(identity=ALICE, peer=BOB.recipient)
    r = ResponderHandshake(i.first_message(), identity=BOB)
    i.read_response(r.response())
    assert i.keys is not None and r.keys is not None
    return i.keys, r.keys


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(test(), 20))


class Pair:
    """Two sessions whose packets reach each other directly; ``wire`` keeps every packet sent."""

    def __init__(self, **options: Any) -> None:
        ki, kr = keys()
        self.wire: list[tuple[str, bytes]] = []
        self.closed: list[str] = []
        self.a = Session(ki, self._to("b"), close=lambda: self.closed.append("a"), **options)
        self.b = Session(kr, self._to("a"), close=lambda: self.closed.append("b"), **options)
        self.kinds: dict[str, list[int | None]] = {"a": [], "b": []}

    def _to(self, name: str) -> Callable[[bytearray], Awaitable[None]]:
        async def send(packet: bytearray) -> None:
            data = bytes(packet)
            self.wire.append((name, data))
            self.kinds[name].append((self.b if name == "b" else self.a)._receive(data))

        return send


def test_frames_both_ways_and_their_counts() -> None:
    async def test() -> None:
        p = Pair()
        await p.a.send(b"hello")
        await p.a.send(bytearray(b"world!"))
        await p.b.send(memoryview(b"back"))
        assert await p.b.recv() == b"hello" and await p.b.recv() == b"world!" and await p.a.recv() == b"back"
        assert p.a.stats == {**dict.fromkeys(STATS, 0), "frames_sent": 2, "bytes_sent": 11, "frames_received": 1,
                             "bytes_received": 4}
        assert p.b.stats["frames_received"] == 2 and p.b.stats["bytes_received"] == 11
        assert p.kinds["b"] == [KIND_FRAME, KIND_FRAME] and p.b.confirmed.is_set()
        assert p.a.peer == BOB.recipient and p.b.peer == ALICE.recipient and p.a.role == "initiator"
        assert p.a.handshake_hash == p.b.handshake_hash and p.a.pq is False
        assert repr(p.a) == f"Session(role=initiator, peer={BOB.recipient.to_string()[:24]}…, pq=False, closed=False)"
        await p.a.close()
        await p.b.close()
    run(test)


def test_refused_packets_are_counted_by_reason() -> None:
    async def test() -> None:
        p = Pair()
        await p.a.send(b"once")
        sent = p.wire[-1][1]
        assert p.b._receive(sent) is None and p.b.stats["replays"] == 1  # the same packet again
        forged = bytearray(p.a._ctx.encrypt_packet(bytes((KIND_FRAME,)) + b"new"))  # not yet seen
        forged[20] ^= 1  # a ciphertext byte
        assert p.b._receive(bytes(forged)) is None and p.b.stats["forged"] == 1
        assert p.b._receive(b"short") is None and p.b.stats["malformed"] == 1
        empty = p.a._ctx.encrypt_packet(b"")  # authentic, but no kind byte
        assert p.b._receive(bytes(empty)) is None and p.b.stats["malformed"] == 2
        unknown = p.a._ctx.encrypt_packet(bytes((9,)) + b"x")
        assert p.b._receive(bytes(unknown)) is None and p.b.stats["malformed"] == 3
        assert p.b.stats["replays"] == 1 and p.b.stats["forged"] == 1 and p.b.stats["frames_received"] == 1
        p.b._count("lost", 2)
        p.b._count("lost")
        assert p.b.stats["lost"] == 3
        p.b.stats["lost"] = 99  # a copy: the session's counts are not changed through it
        assert p.b.stats["lost"] == 3
        await p.a.close()
        await p.b.close()
    run(test)


def test_control_kinds() -> None:
    async def test() -> None:
        p = Pair()
        await p.a._send_kind(KIND_KEEPALIVE)
        assert p.kinds["b"] == [KIND_KEEPALIVE] and p.b.stats["keepalives_received"] == 1
        assert p.b.stats["frames_received"] == 0 and p.b._inbox.empty()
        await p.a._send_kind(KIND_CONFIRM)  # answered by an ACK from the other side
        for _ in range(10):
            await asyncio.sleep(0)
        assert p.kinds["b"][-1] == KIND_CONFIRM and p.kinds["a"] == [KIND_ACK]
        assert p.a.stats["malformed"] == 0 and p.a.confirmed.is_set()
        await p.a.close()
        await p.b.close()
    run(test)


def test_send_checks() -> None:
    async def test() -> None:
        p = Pair(max_frame=10)
        assert p.a.max_frame == 10
        with pytest.raises(errors.ParameterError, match=r"^a frame is bytes$"):
            await p.a.send("text")  # type: ignore[arg-type]
        with pytest.raises(errors.ParameterError, match=r"^a frame is at most 10 bytes \(max_frame=\); got 11$"):
            await p.a.send(bytes(11))
        await p.a.send(bytes(10))
        assert p.a.stats["frames_sent"] == 1
        await p.a.send(b"")
        assert p.a.stats["frames_sent"] == 2 and await p.b.recv() == bytes(10) and await p.b.recv() == b""
        await p.a.send(b"long frame")
        await p.a.send(b"s")  # the reused buffer is cut to each frame's length
        assert await p.b.recv() == b"long frame" and await p.b.recv() == b"s"
        await p.a.close()
        with pytest.raises(errors.SessionClosedError, match=r"^the session is closed$"):
            await p.a.send(b"x")
        await p.b.close()
    run(test)


def test_inbox_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(core, "INBOX", 3)

    async def test() -> None:
        p = Pair()
        for i in range(5):
            await p.a.send(bytes((i,)))
        assert p.b.stats["dropped"] == 2 and p.b.stats["frames_received"] == 5
        assert [await p.b.recv() for _ in range(3)] == [b"\x02", b"\x03", b"\x04"]  # the oldest were dropped
        await p.a.close()
        await p.b.close()
    run(test)


def test_close_ends_recv_after_the_inbox_and_keeps_an_error() -> None:
    async def test() -> None:
        p = Pair()
        await p.a.send(b"last")
        p.b._end()
        assert await p.b.recv() == b"last"  # what arrived before the end is still delivered
        with pytest.raises(errors.SessionClosedError, match=r"^the session is closed$"):
            await p.b.recv()
        assert [f async for f in p.b] == []
        q = Pair()
        waiting = asyncio.ensure_future(q.b.recv())
        await asyncio.sleep(0)
        q.b._end(errors.TruncatedError("the connection broke mid-frame"))
        with pytest.raises(errors.TruncatedError, match="broke mid-frame"):
            await waiting
        q.b._end(errors.SessionClosedError("later"))  # the first end wins
        with pytest.raises(errors.TruncatedError):
            await q.b.recv()
        assert "closed=True" in repr(q.b)
        await q.a.close()
        assert q.closed == ["a"]
        await q.b.close()
        assert q.closed == ["a", "b"]
        async with Pair().a as s:
            assert isinstance(s, Session)
        assert s._closed.is_set() and s._timer.done()
        await p.a.close()
    run(test)


def test_async_iteration_yields_frames() -> None:
    async def test() -> None:
        p = Pair()
        for frame in (b"1", b"2"):
            await p.a.send(frame)
        p.b._end()
        assert [f async for f in p.b] == [b"1", b"2"]
        await p.a.close()
    run(test)


def test_timer_rekeys_and_keeps_alive() -> None:
    async def test() -> None:
        p = Pair(rekey_after=0.05, keepalive=0.04)
        await p.a.send(b"confirm me")  # b heard from a: it may send keepalives, which let a send them too
        await asyncio.sleep(0.3)
        assert p.a.stats["rekeys"] >= 2 and p.b.stats["rekeys"] >= 2
        assert p.b.stats["keepalives_sent"] >= 1 and p.a.stats["keepalives_received"] == p.b.stats["keepalives_sent"]
        await p.b.send(b"after rekeys")
        assert await p.a.recv() == b"after rekeys"
        await p.a.close()
        await p.b.close()
        sent = p.b.stats["keepalives_sent"]
        await asyncio.sleep(0.1)
        assert p.b.stats["keepalives_sent"] == sent  # a closed session's timer is over
    run(test)


def test_no_keepalive_before_the_peer_was_heard() -> None:
    async def test() -> None:
        ki, _ = keys()
        sent: list[bytes] = []

        async def nowhere(packet: bytearray) -> None:
            sent.append(bytes(packet))

        lonely = Session(ki, nowhere, rekey_after=100.0, keepalive=0.03)
        await asyncio.sleep(0.2)
        assert sent == [] and lonely.stats["keepalives_sent"] == 0 and not lonely.confirmed.is_set()
        await lonely.close()
    run(test)


def test_no_keepalive_while_busy() -> None:
    async def test() -> None:
        p = Pair(rekey_after=100.0, keepalive=0.2)  # the timer looks every 0.1 s
        await p.b.send(b"confirm")
        for _ in range(20):  # 0.6 s of frames 0.03 s apart: never quiet for 0.2 s
            await p.a.send(b"busy")
            await asyncio.sleep(0.03)
        assert p.a.stats["keepalives_sent"] == 0 and p.a.stats["rekeys"] == 0
        await p.a.close()
        await p.b.close()
    run(test)


def test_until_closed_and_the_packet_limit() -> None:
    async def test() -> None:
        closed = asyncio.Event()
        assert await until_closed(asyncio.sleep(0, "value"), closed) == (True, "value")
        never: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        task = asyncio.ensure_future(until_closed(never, closed))
        await asyncio.sleep(0)
        closed.set()
        assert await task == (False, None)
        await asyncio.sleep(0)
        assert never.cancelled()
    run(test)
    assert packet_limit(0) == 16 + sealed_size(1, DEFAULT_SUBCHUNK)
    assert packet_limit(100) == 16 + sealed_size(101, DEFAULT_SUBCHUNK) == packet_limit(0) + 100
    assert packet_limit(core.DEFAULT_MAX_FRAME) > core.DEFAULT_MAX_FRAME + 16
    assert core.DEFAULT_MAX_FRAME == 1 << 20 and core.INBOX == 4096


def test_timer_arithmetic_and_the_documented_defaults() -> None:
    assert core.tick_interval(10.0, 120.0) == 5.0 and core.tick_interval(300.0, 60.0) == 30.0
    assert core.due(10.0, 5.0, 5.0) and not core.due(10.0, 5.5, 5.0) and core.due(11.0, 5.0, 5.0)

    async def test() -> None:
        async def nowhere(packet: bytearray) -> None:
            del packet

        s = Session(keys()[0], nowhere)
        assert (s.rekey_after, s.keepalive, s.max_frame) == (120.0, 10.0, 1 << 20)
        await s.close()

    run(test)


def test_the_frame_context_a_session_builds() -> None:
    async def test() -> None:
        p = Pair()
        ctx = p.a._ctx
        assert (ctx.role, p.b._ctx.role) == ("initiator", "responder")
        assert ctx.optimal_chunk_size == DEFAULT_SUBCHUNK and ctx.enable_adaptive_chunking is False
        assert ctx.key_rotation_mb == 64
        assert p.a._timer.get_name() == "stc session timer"
        await p.a._send_kind(KIND_KEEPALIVE)  # a control packet carries its kind byte only
        assert len(p.wire[-1][1]) == 16 + 1 + 16  # header, kind byte, tag
        await p.a._send_kind(KIND_CONFIRM)
        assert "stc session ack" in {t.get_name() for t in asyncio.all_tasks()}
        await asyncio.sleep(0)
        await p.a.close()
        await p.b.close()
    run(test)


def test_every_refusal_counts_once_each_time() -> None:
    async def test() -> None:
        p = Pair()
        await p.a.send(b"x")
        sent = p.wire[-1][1]
        for _ in range(2):
            p.b._receive(sent)
            p.b._receive(b"bad")
            forged = bytearray(p.a._ctx.encrypt_packet(bytes((KIND_FRAME,)) + b"y"))
            forged[20] ^= 1
            p.b._receive(bytes(forged))
        assert (p.b.stats["replays"], p.b.stats["malformed"], p.b.stats["forged"]) == (2, 2, 2)
        await p.a.close()
        await p.b.close()
    run(test)


def test_code_mode_sessions_and_a_failing_transport() -> None:
    async def test() -> None:
        i = InitiatorHandshake(code="1-a-b")
        r = ResponderHandshake(i.first_message(), code="1-a-b")
        i.read_response(r.response())
        assert i.keys is not None
        failures: list[type[Exception]] = [OSError, errors.SessionClosedError]

        async def broken(packet: bytearray) -> None:
            raise failures[0]("the network is gone") if len(failures) == 1 else failures.pop(0)("down")

        s = Session(i.keys, broken, rekey_after=0.04, keepalive=0.02)
        assert repr(s) == "Session(role=initiator, peer=code, pq=False, closed=False)"
        s.confirmed.set()  # as if the peer had been heard: keepalives are due, and every send fails
        await asyncio.sleep(0.3)
        assert s.stats["rekeys"] >= 3 and s.stats["keepalives_sent"] == 0  # the timer lives on through both
        assert not s._timer.done()
        await s.close()
    run(test)


def test_sframe_contexts_of_a_session_talk_to_each_other() -> None:
    async def test() -> None:
        p = Pair()
        mine, theirs = p.a.sframe_context(), p.b.sframe_context()
        assert theirs.unprotect(mine.protect(mine.session_kid, b"media")) == b"media"
        gcm = p.a.sframe_context("AES_256_GCM_SHA512_128", replay_window=0)
        peer = p.b.sframe_context("AES_256_GCM_SHA512_128", replay_window=0)
        wire = gcm.protect(gcm.session_kid, b"again")
        assert peer.unprotect(wire) == b"again" and peer.unprotect(wire) == b"again"  # no replay window
        once = mine.protect(mine.session_kid, b"x")
        assert theirs.unprotect(once) == b"x"
        with pytest.raises(errors.ReplayError):  # the default window refuses it a second time
            theirs.unprotect(once)
        await p.a.close()
        await p.b.close()
    run(test)
