"""The UDP session layer datagram by datagram, in process: a listener and a dialer on real
loopback sockets, fed crafted datagrams directly, so that each branch of admission (cookies, the
pending table and its bounds, expiry, final messages, roaming, index choice) is checked exactly,
without waiting for retransmissions (issue 24; test_sessions.py runs the same code end to end).
"""

from __future__ import annotations

import asyncio
import hmac
import re
import socket
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

from stc import errors
from stc.keys.recipients.x25519 import X25519Identity
from stc.p2p.session import udp, udp_listener
from stc.p2p.session.core import Session, packet_limit
from stc.p2p.session.handshake import InitiatorHandshake, ResponderHandshake
from stc.p2p.session.udp import DatagramHandler, Link, _Dialer, connect_udp, deliver, new_session, next_wait
from stc.p2p.session.udp_listener import UdpListener
from stc.p2p.session.wire import (
    COOKIE,
    FINAL,
    INITIATION,
    KIND_CONFIRM,
    KIND_FRAME,
    RESPONSE,
    Datagram,
    Fragment,
    parse_fragment,
)

ALICE, BOB, MALLORY = X25519Identity.generate(), X25519Identity.generate(), X25519Identity.generate()
LOOP = ("127.0.0.1", 0)
ZERO_COOKIE = bytes(16)
Address = tuple[str, int]


def exactly(message: str) -> str:
    return "^" + re.escape(message) + "$"


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(test(), 30))


class Clock:
    """The listener's clock, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def raw_socket() -> socket.socket:
    raw = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    raw.bind(LOOP)
    raw.setblocking(False)
    return raw


async def drain(raw: socket.socket) -> list[bytes]:
    """Every datagram that reached ``raw`` (loopback delivery is immediate; one loop turn to be sure)."""
    await asyncio.sleep(0.01)
    got = []
    while True:
        try:
            got.append(raw.recv(65536))
        except BlockingIOError:
            return got


async def started(*, peers: Any = None, timeout: float = 5.0, clock: Clock | None = None) -> UdpListener:
    listener = UdpListener(lambda first: ResponderHandshake(first, identity=BOB, peers=peers), timeout=timeout,
                           datagram_size=1200, max_frame=4096, options={}, clock=clock or Clock())
    await listener.start(LOOP)
    return listener


class Client:
    """An initiator driven by hand (IK to Bob unless told otherwise)."""

    def __init__(self, index: int = 7, **kwargs: Any) -> None:
        self.index = index
        self.hs = InitiatorHandshake(**(kwargs or {"identity": ALICE, "peer": BOB.recipient}))
        self.first = self.hs.first_message()
        self.final: bytes | None = None
        self.remote = -1
        self.session: Session | None = None

    def initiation(self, cookie: bytes = ZERO_COOKIE) -> bytes:
        return Datagram(INITIATION, self.index, self.first, cookie=cookie).to_bytes()

    def read(self, response: bytes) -> None:
        datagram = Datagram.from_bytes(response)
        assert datagram.kind == RESPONSE and datagram.index == self.index
        self.final, self.remote = self.hs.read_response(datagram.body), datagram.sender
        assert self.hs.keys is not None

        async def nowhere(packet: bytearray) -> None:
            del packet

        self.session = Session(self.hs.keys, nowhere)

    def data(self, kind: int = KIND_FRAME, body: bytes = b"", frame: int = 1) -> bytes:
        assert self.session is not None
        packet = bytes(self.session._ctx.encrypt_packet(bytes((kind,)) + body))
        return Fragment(self.remote, frame, 0, 1, packet).to_bytes()


@pytest.fixture
def raw() -> Iterator[socket.socket]:
    sock = raw_socket()
    yield sock
    sock.close()


def here(sock: socket.socket) -> Address:
    host, port = sock.getsockname()[:2]
    return host, port


# ---- the listener ------------------------------------------------------------------------------

def test_an_initiation_is_answered_remembered_and_accepted_once(raw: socket.socket) -> None:
    async def test() -> None:
        listener = await started()
        addr, client = here(raw), Client()
        listener._handle(client.initiation(), addr)
        (reply,) = await drain(raw)
        response = Datagram.from_bytes(reply)
        assert (response.kind, response.index) == (RESPONSE, 7)
        mine = response.sender
        assert listener.stats == {"initiations": 1, "refused": 0, "malformed": 0, "cookies_sent": 0,
                                  "dropped_load": 0}
        pending = listener._pending[mine]
        assert (pending.first, pending.response, pending.initiation, pending.created) == \
            (client.first, reply, (addr, 7), 1000.0)
        assert pending.peer is listener._peers[mine]  # IK: keys exist after the response
        assert (pending.peer.link.address, pending.peer.link.remote_index, pending.peer.link.budget) == (addr, 7, 1200)
        assert listener._by_initiation == {(addr, 7): pending}
        # our answer was lost: the same initiation gets the same bytes, and no new state
        listener._handle(client.initiation(), addr)
        assert await drain(raw) == [reply]
        assert listener.stats["initiations"] == 1 and list(listener._pending) == [mine]
        # a forged data packet does not accept the session; the initiator's confirm does
        client.read(reply)
        confirm = client.data(KIND_CONFIRM)
        listener._handle(confirm[:-1] + bytes((confirm[-1] ^ 1,)), addr)  # its tag changed
        assert listener.accepted.empty() and mine in listener._pending
        assert pending.peer.session.stats["forged"] == 1
        listener._handle(confirm, addr)
        assert listener.accepted.get_nowait() is pending.peer.session
        assert listener._pending == {} and listener._by_initiation == {} and mine in listener._peers
        listener._handle(client.data(KIND_FRAME, b"hello", frame=2), addr)
        assert listener.accepted.empty()  # accepted once
        assert await pending.peer.session.recv() == b"hello"
        assert pending.peer.link.address == addr
        await drain(raw)
        await pending.peer.session.send(b"back")  # through the listener's socket, to the initiator
        (back,) = await drain(raw)
        assert parse_fragment(back)[0] == 7
        moved = raw_socket()  # the initiator roamed: an authenticated packet from there moves the link
        listener._handle(client.data(KIND_FRAME, b"moved", frame=3), here(moved))
        assert pending.peer.link.address == here(moved)
        moved.close()
        await pending.peer.session.close()
        await pending.peer.session.close()  # twice: the listener forgot it once, quietly
        assert mine not in listener._peers
        listener.close()

    run(test)


def test_a_new_handshake_from_the_same_index_is_a_new_initiation(raw: socket.socket) -> None:
    async def test() -> None:
        clock = Clock()
        listener = await started(clock=clock)
        addr, one, two = here(raw), Client(7), Client(7)
        listener._handle(one.initiation(), addr)
        clock.now += 3
        listener._handle(two.initiation(), addr)
        first, second = (Datagram.from_bytes(r).sender for r in await drain(raw))
        assert first != second and set(listener._pending) == {first, second}
        assert listener._by_initiation == {(addr, 7): listener._pending[second]}
        assert listener.stats["initiations"] == 2
        clock.now += 2.5  # the first expires; the initiation still names the second
        listener._handle(Client(8).initiation(), addr)
        assert first not in listener._pending and listener._by_initiation[(addr, 7)] is listener._pending[second]
        await drain(raw)
        listener._handle(two.initiation(), addr)  # so its retransmission is still recognised
        assert await drain(raw) == [listener._pending[second].response]
        # the same index from another address is another initiator
        other = raw_socket()
        listener._handle(one.initiation(), here(other))
        assert len(await drain(other)) == 1 and len(listener._pending) == 3
        other.close()
        listener.close()

    run(test)


def test_a_refused_initiator_gets_silence_and_no_state(raw: socket.socket) -> None:
    async def test() -> None:
        listener = await started(peers=[MALLORY.recipient])
        addr = here(raw)
        listener._handle(Client().initiation(), addr)  # Alice is not among the peers
        listener._handle(Datagram(INITIATION, 9, b"\x7f" + bytes(40)).to_bytes(), addr)  # not a handshake
        assert await drain(raw) == []
        assert listener.stats["refused"] == 2 and listener.stats["initiations"] == 2
        assert listener._pending == {} and listener._by_initiation == {} and listener._peers == {}
        listener.close()

    run(test)


def test_malformed_handshake_datagrams_are_counted(raw: socket.socket) -> None:
    async def test() -> None:
        listener = await started()
        for junk in (b"", b"\x09junk", b"\x01" + bytes(8), b"\x03\x00"):
            listener._handle(junk, here(raw))
        assert listener.stats["malformed"] == 4 and await drain(raw) == []
        with pytest.raises(errors.FormatError):  # the socket's handler drops it (below)
            listener._handle(b"\x05" + bytes(12) + b"\x00\x00x", here(raw))
        listener.close()

    run(test)


def test_pending_handshakes_are_bounded(raw: socket.socket, monkeypatch: pytest.MonkeyPatch) -> None:
    assert (udp_listener.MAX_PENDING, udp_listener.COOKIE_LOAD, udp_listener.COOKIE_RENEWAL) == (1024, 64, 120.0)
    monkeypatch.setattr(udp_listener, "MAX_PENDING", 2)
    monkeypatch.setattr(udp_listener, "COOKIE_LOAD", 5)

    async def test() -> None:
        listener = await started()
        for index in (1, 2, 3, 4):
            listener._handle(Client(index).initiation(), here(raw))
        assert len(await drain(raw)) == 2 and len(listener._pending) == 2
        assert listener.stats["dropped_load"] == 2 and listener.stats["initiations"] == 2
        listener.close()

    run(test)


def _cookie(secret: bytes, addr: Address) -> bytes:
    return hmac.new(secret, f"{addr[0]}|{addr[1]}".encode(), "sha256").digest()[:16]


def test_under_load_an_initiation_must_echo_its_cookie(raw: socket.socket, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(udp_listener, "COOKIE_LOAD", 1)

    async def test() -> None:
        clock = Clock()
        listener = await started(timeout=10_000, clock=clock)
        addr = here(raw)
        listener._handle(Client(1).initiation(), addr)  # below the load: no cookie needed
        assert Datagram.from_bytes((await drain(raw))[0]).kind == RESPONSE
        client = Client(2)
        listener._handle(client.initiation(), addr)
        (reply,) = await drain(raw)
        expected = _cookie(listener._secrets[0], addr)
        assert reply == Datagram(COOKIE, 2, expected).to_bytes()
        assert listener.stats["cookies_sent"] == 1 and listener.stats["initiations"] == 1
        assert len(listener._pending) == 1
        other = raw_socket()  # a cookie is bound to its address: another port must get its own
        listener._handle(client.initiation(expected), here(other))
        assert Datagram.from_bytes((await drain(other))[0]).kind == COOKIE
        other.close()
        listener._handle(client.initiation(bytes(15) + b"\x01"), addr)
        assert Datagram.from_bytes((await drain(raw))[0]).kind == COOKIE
        assert listener.stats["cookies_sent"] == 3
        listener._handle(client.initiation(expected), addr)
        assert Datagram.from_bytes((await drain(raw))[0]).kind == RESPONSE
        assert listener.stats["initiations"] == 2
        # secrets renew after 120 s (not at 120 s); the previous one is still accepted, then not
        old = list(listener._secrets)
        assert [len(secret) for secret in old] == [32, 32] and old[0] != old[1]
        clock.now += 120
        listener._handle(Client(3).initiation(expected), addr)
        assert listener._secrets == old and Datagram.from_bytes((await drain(raw))[0]).kind == RESPONSE
        clock.now += 0.5
        listener._handle(Client(4).initiation(expected), addr)
        assert listener._secrets[1] == old[0] and listener._secrets[0] != old[0] and len(listener._secrets[0]) == 32
        assert Datagram.from_bytes((await drain(raw))[0]).kind == RESPONSE
        clock.now += 60  # not yet renewed again: the clock counts from the last renewal
        listener._handle(Client(5).initiation(expected), addr)
        assert Datagram.from_bytes((await drain(raw))[0]).kind == RESPONSE
        clock.now += 61
        listener._handle(Client(6).initiation(expected), addr)
        (reply,) = await drain(raw)
        assert reply == Datagram(COOKIE, 6, _cookie(listener._secrets[0], addr)).to_bytes()
        listener.close()

    run(test)


def test_pending_handshakes_expire_after_the_timeout(raw: socket.socket) -> None:
    async def test() -> None:
        clock = Clock()
        listener = await started(timeout=5, clock=clock)
        addr = here(raw)
        listener._handle(Client(1).initiation(), addr)
        listener._handle(Client(2, identity=ALICE).initiation(), addr)  # XX: no keys yet
        ik, xx = (Datagram.from_bytes(r).sender for r in await drain(raw))
        session = listener._peers[ik].session
        clock.now += 5
        listener._handle(Client(3).initiation(), addr)  # at the timeout: still pending
        assert {ik, xx} <= set(listener._pending)
        clock.now += 0.5
        listener._handle(Client(4).initiation(), addr)
        assert ik not in listener._pending and xx not in listener._pending and ik not in listener._peers
        assert session._closed.is_set()
        assert set(listener._by_initiation) == {(addr, 3), (addr, 4)}
        listener.close()

    run(test)


def test_final_messages(raw: socket.socket) -> None:
    async def test() -> None:
        listener = await started(peers=[ALICE.recipient])
        addr = here(raw)
        client = Client(5, identity=ALICE)
        listener._handle(client.initiation(), addr)
        (reply,) = await drain(raw)
        mine = Datagram.from_bytes(reply).sender
        assert listener._pending[mine].peer is None and listener._peers == {}
        client.read(reply)
        assert client.final is not None
        listener._handle(Datagram(FINAL, mine ^ 1, client.final).to_bytes(), addr)  # unknown index
        assert listener._pending[mine].peer is None
        moved = raw_socket()  # the final message may come from a new address: the session follows
        listener._handle(Datagram(FINAL, mine, client.final).to_bytes(), here(moved))
        peer = listener._pending[mine].peer
        assert peer is listener._peers[mine]
        assert (peer.link.address, peer.link.remote_index) == (here(moved), 5)
        listener._handle(Datagram(FINAL, mine, client.final).to_bytes(), addr)  # a repeat: ignored
        assert listener._pending[mine].peer is peer and listener.stats["refused"] == 0
        moved.close()
        # a final that fails (forged, or a key not among the peers) forgets the handshake
        for final in (lambda c: bytes(len(c.final)), None):
            bad = Client(6, identity=MALLORY) if final is None else Client(6, identity=ALICE)
            listener._handle(bad.initiation(), addr)
            (reply,) = await drain(raw)
            index = Datagram.from_bytes(reply).sender
            bad.read(reply)
            body = bad.final if final is None else final(bad)
            assert body is not None
            listener._handle(Datagram(FINAL, index, body).to_bytes(), addr)
            assert index not in listener._pending and (addr, 6) not in listener._by_initiation
            assert index not in listener._peers
        assert listener.stats["refused"] == 2
        listener.close()

    run(test)


def test_data_for_no_session_is_ignored(raw: socket.socket) -> None:
    async def test() -> None:
        listener = await started()
        listener._handle(Fragment(1234, 1, 0, 1, bytes(64)).to_bytes(), here(raw))
        assert listener.stats == dict.fromkeys(listener.stats, 0) and listener.accepted.empty()
        listener.close()

    run(test)


def test_indexes_are_fresh(raw: socket.socket, monkeypatch: pytest.MonkeyPatch) -> None:
    picks = iter([5, 5, 6, 5, 6, 7])

    class Picks:
        @staticmethod
        def randbits(bits: int) -> int:
            assert bits == 32
            return next(picks)

    monkeypatch.setattr(udp_listener, "secrets", Picks)

    async def test() -> None:
        listener = await started()
        addr = here(raw)
        one = Client(1)
        listener._handle(one.initiation(), addr)
        one.read((await drain(raw))[0])
        listener._handle(one.data(KIND_CONFIRM), addr)  # 5 is now a session, no longer pending
        assert one.remote == 5 and listener._pending == {} and 5 in listener._peers
        listener._handle(Client(2, identity=ALICE).initiation(), addr)  # XX: pending, no session
        listener._handle(Client(3).initiation(), addr)
        replies = [r for r in await drain(raw) if r[0] == RESPONSE]  # (the session also acked the confirm)
        assert [Datagram.from_bytes(r).sender for r in replies] == [6, 7]
        listener.close()

    run(test)


def test_close_ends_every_session_and_the_socket(raw: socket.socket) -> None:
    async def test() -> None:
        listener = await started()
        listener._handle(Client(1).initiation(), here(raw))
        await drain(raw)
        (peer,) = listener._peers.values()
        listener.close()
        assert peer.session._closed.is_set()
        assert listener.transport is not None and listener.transport.is_closing()
        UdpListener(lambda first: ResponderHandshake(first), timeout=1, datagram_size=1200, max_frame=1,
                    options={}).close()  # never started: nothing to close

    run(test)


def test_a_session_closed_by_its_user_leaves_the_listener(raw: socket.socket) -> None:
    async def test() -> None:
        listener = await started()
        listener._handle(Client(1).initiation(), here(raw))
        await drain(raw)
        (index,) = listener._peers
        await listener._peers[index].session.close()
        assert listener._peers == {} and not listener.transport.is_closing()  # type: ignore[union-attr]
        listener.close()

    run(test)


# ---- the dialer --------------------------------------------------------------------------------

class Dialing:
    """A dialer on a real socket connected to ``raw``, and how many handshakes it made."""

    def __init__(self, **kwargs: Any) -> None:
        self.made: list[InitiatorHandshake] = []
        self.kwargs = kwargs or {"identity": ALICE, "peer": BOB.recipient}
        self.dialer = _Dialer(self._make, 7, datagram_size=1200, max_frame=4096, options={})

    def _make(self) -> InitiatorHandshake:
        self.made.append(InitiatorHandshake(**self.kwargs))
        return self.made[-1]

    async def connect(self, raw: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, remote_addr=here(raw))
        self.dialer.transport = transport

    def respond(self, **kwargs: Any) -> tuple[ResponderHandshake, bytes]:
        responder = ResponderHandshake(self.dialer.first, **(kwargs or {"identity": BOB}))
        return responder, Datagram(RESPONSE, 7, responder.response(), sender=99).to_bytes()


def test_the_dialer_repeats_one_initiation_with_the_cookie_it_was_given() -> None:
    async def test() -> None:
        d = Dialing()
        first = d.dialer.initiation()
        assert d.dialer.initiation() == first and len(d.made) == 1
        assert first == Datagram(INITIATION, 7, d.dialer.first).to_bytes() and d.dialer.first[0] == 1  # IK
        d.dialer.handle(Datagram(COOKIE, 8, b"c" * 16).to_bytes(), LOOP)  # not ours
        assert d.dialer.cookie == ZERO_COOKIE and not d.dialer.wake.is_set()
        d.dialer.handle(Datagram(COOKIE, 7, b"c" * 16).to_bytes(), LOOP)
        assert d.dialer.cookie == b"c" * 16 and d.dialer.wake.is_set()
        assert d.dialer.initiation() == Datagram(INITIATION, 7, d.dialer.first, cookie=b"c" * 16).to_bytes()
        assert len(d.made) == 1

    run(test)


def test_a_reply_that_fails_starts_a_new_handshake() -> None:
    async def test() -> None:
        d = Dialing()
        d.dialer.initiation()
        first = d.dialer.first
        d.dialer.handle(Datagram(RESPONSE, 8, bytes(48), sender=1).to_bytes(), LOOP)  # not ours
        assert d.dialer.failure is None and d.dialer.hs is d.made[0]
        d.dialer.handle(Datagram(RESPONSE, 7, bytes(48), sender=1).to_bytes(), LOOP)
        assert isinstance(d.dialer.failure, errors.HandshakeError)
        assert d.dialer.hs is None and d.dialer.peer is None and d.dialer.wake.is_set()
        d.dialer.handle(Datagram(RESPONSE, 7, bytes(48), sender=1).to_bytes(), LOOP)  # none in flight: ignored
        d.dialer.initiation()
        assert len(d.made) == 2 and d.dialer.first != first

    run(test)


@pytest.mark.parametrize("mode", ["ik", "xx"])
def test_a_good_reply_makes_the_session(raw: socket.socket, mode: str) -> None:
    async def test() -> None:
        d = Dialing() if mode == "ik" else Dialing(identity=ALICE)
        await d.connect(raw)
        d.dialer.initiation()
        responder, reply = d.respond(identity=BOB)
        d.dialer.handle(Datagram(COOKIE, 7, b"c" * 16).to_bytes(), LOOP)  # before the reply: taken
        d.dialer.wake.clear()
        d.dialer.handle(reply, here(raw))
        peer = d.dialer.peer
        assert peer is not None and d.dialer.wake.is_set()
        assert (peer.link.address, peer.link.remote_index, peer.link.budget) == (here(raw), 99, 1200)
        assert peer.session.max_frame == 4096 and peer.session.role == "initiator"
        await peer.session.send(b"x")  # through the dialer's socket
        assert parse_fragment((await drain(raw))[0])[:2] == (99, 1)
        if mode == "ik":
            assert d.dialer.final is None
        else:
            final = Datagram.from_bytes(d.dialer.final or b"")
            assert (final.kind, final.index) == (FINAL, 99)
            responder.read_final(final.body)
            assert responder.keys is not None and responder.keys.peer == ALICE.recipient
        # once the session exists, handshake datagrams change nothing
        d.dialer.wake.clear()
        d.dialer.handle(Datagram(COOKIE, 7, b"d" * 16).to_bytes(), LOOP)
        d.dialer.handle(reply, LOOP)
        assert d.dialer.peer is peer and d.dialer.cookie == b"c" * 16 and not d.dialer.wake.is_set()
        await peer.session.close()
        assert d.dialer.transport is not None and d.dialer.transport.is_closing()  # the session owns the socket

    run(test)


def test_the_dialer_delivers_data_only_for_its_index(raw: socket.socket) -> None:
    async def test() -> None:
        d = Dialing()
        await d.connect(raw)
        d.dialer.handle(b"\x05 not even a fragment", LOOP)  # before a session: not even parsed
        d.dialer.initiation()
        responder, reply = d.respond()
        d.dialer.handle(reply, LOOP)
        assert d.dialer.peer is not None and responder.keys is not None
        sender = Session(responder.keys, d.dialer.peer.link.send)
        packet = bytes(sender._ctx.encrypt_packet(b"\x00hi"))
        d.dialer.handle(Fragment(8, 1, 0, 1, packet).to_bytes(), LOOP)
        assert d.dialer.peer.session.stats["frames_received"] == 0
        d.dialer.handle(Fragment(7, 1, 0, 1, packet).to_bytes(), ("127.0.0.5", 5))
        assert await d.dialer.peer.session.recv() == b"hi"
        assert d.dialer.peer.link.address == ("127.0.0.5", 5)  # authenticated: the peer's address follows
        with pytest.raises(errors.FormatError):
            d.dialer.handle(b"\x05 not even a fragment", LOOP)
        await sender.close()
        await d.dialer.peer.session.close()

    run(test)


def test_the_retransmission_schedule() -> None:
    assert (udp._FIRST_RETRY, udp._MAX_RETRY) == (0.2, 2.0)
    assert next_wait(0.2, 110, 100) == (0.2, 0.4)
    assert next_wait(1.5, 110, 100) == (1.5, 2.0)
    assert next_wait(0.8, 100.25, 100) == (0.25, 1.6)
    assert next_wait(0.2, 99, 100) == (0.0, 0.4)


def test_a_reply_that_fails_is_named_in_the_timeout(raw: socket.socket) -> None:
    async def test() -> None:
        async def forge() -> None:
            loop = asyncio.get_running_loop()
            data, addr = await loop.sock_recvfrom(raw, 4096)  # type: ignore[attr-defined]
            index = Datagram.from_bytes(data).index
            raw.sendto(Datagram(RESPONSE, index, bytes(range(1, 49)), sender=1).to_bytes(), addr)

        forger = asyncio.ensure_future(forge())
        port = here(raw)[1]
        with pytest.raises(errors.HandshakeError, match=exactly(
                f"no session with 127.0.0.1:{port} within 0.3 s; the last reply failed: "
                "a Noise handshake message did not authenticate (wrong key, wrong pre-shared key, another prologue, "
                "or changed bytes) (a wrong code, or not the peer named?)")):
            await connect_udp(here(raw), lambda: InitiatorHandshake(identity=ALICE, peer=BOB.recipient),
                              timeout=0.3, datagram_size=1200, max_frame=4096, options={})
        await forger
        await drain(raw)
        with pytest.raises(errors.HandshakeError, match=exactly(
                f"no session with 127.0.0.1:{port} within 0.25 s (no answer: wrong address, a listener that "
                "refused us, or a network that drops everything)")):
            await connect_udp(here(raw), lambda: InitiatorHandshake(identity=ALICE, peer=BOB.recipient),
                              timeout=0.25, datagram_size=1200, max_frame=4096, options={})
        sent = {Datagram.from_bytes(s) for s in await drain(raw)}  # unanswered: the same initiation again
        assert len(sent) == 1 and sent.pop().kind == INITIATION

    run(test)


def address_of(listener: UdpListener) -> Address:
    assert listener.transport is not None
    host, port = listener.transport.get_extra_info("sockname")[:2]
    return host, port


@pytest.mark.parametrize("mode", ["ik", "xx"])
def test_connect_and_listen_in_process(mode: str) -> None:
    async def test() -> None:
        listener = await started(peers=[ALICE.recipient])
        kwargs = {"identity": ALICE, "peer": BOB.recipient} if mode == "ik" else {"identity": ALICE}
        session = await connect_udp(address_of(listener), lambda: InitiatorHandshake(**kwargs), timeout=5,
                                    datagram_size=600, max_frame=4096, options={"keepalive": 2.0})
        accepted = await asyncio.wait_for(listener.accepted.get(), 5)
        assert session.peer == BOB.recipient and accepted.peer == ALICE.recipient
        assert session._send_packet.__self__.budget == 600  # type: ignore[attr-defined]
        assert session.keepalive == 2.0
        await session.send(bytes(range(256)) * 8)  # four fragments
        assert await asyncio.wait_for(accepted.recv(), 5) == bytes(range(256)) * 8
        await accepted.send(bytes(3000))  # the listener's datagrams are 1,200 bytes, the dialer's 600
        assert await asyncio.wait_for(session.recv(), 5) == bytes(3000)
        await session.close()
        await accepted.close()
        listener.close()

    run(test)


def live_timers() -> list[asyncio.Task[Any]]:
    return [t for t in asyncio.all_tasks() if t.get_name() == "stc session timer" and not t.done()]


async def answer_and_go_quiet(raw: socket.socket) -> None:
    """A listener that answers one initiation and then never confirms."""
    loop = asyncio.get_running_loop()
    data, addr = await loop.sock_recvfrom(raw, 4096)  # type: ignore[attr-defined]
    datagram = Datagram.from_bytes(data)
    reply = ResponderHandshake(datagram.body, identity=BOB).response()
    raw.sendto(Datagram(RESPONSE, datagram.index, reply, sender=5).to_bytes(), addr)


def test_a_session_never_confirmed_is_abandoned(raw: socket.socket) -> None:
    async def test() -> None:
        port = here(raw)[1]
        answering = asyncio.ensure_future(answer_and_go_quiet(raw))
        with pytest.raises(errors.HandshakeError, match=exactly(
                f"no session with 127.0.0.1:{port} within 0.4 s (the listener answered, but never confirmed "
                "the session: our packets were lost?)")):
            await connect_udp(here(raw), lambda: InitiatorHandshake(identity=ALICE, peer=BOB.recipient),
                              timeout=0.4, datagram_size=1200, max_frame=4096, options={})
        await answering
        await asyncio.sleep(0)
        assert live_timers() == []  # the half-made session ended with the attempt
        await drain(raw)
        answering = asyncio.ensure_future(answer_and_go_quiet(raw))
        connecting = asyncio.ensure_future(
            connect_udp(here(raw), lambda: InitiatorHandshake(identity=ALICE, peer=BOB.recipient),
                        timeout=10, datagram_size=1200, max_frame=4096, options={}))
        await answering
        for _ in range(100):
            if live_timers():
                break
            await asyncio.sleep(0.01)
        assert len(live_timers()) == 1
        connecting.cancel()  # cancelled while it waits for the confirm: the session goes too
        with pytest.raises(asyncio.CancelledError):
            await connecting
        await asyncio.sleep(0)
        assert live_timers() == []

    run(test)


def test_a_listener_on_ipv6_loopback() -> None:
    async def test() -> None:
        listener = UdpListener(lambda first: ResponderHandshake(first, identity=BOB), timeout=5,
                               datagram_size=1200, max_frame=4096, options={})
        host, port = await listener.start(("::1", 0))
        assert host == "::1" and port > 0
        session = await connect_udp((host, port), lambda: InitiatorHandshake(identity=ALICE, peer=BOB.recipient),
                                    timeout=5, datagram_size=1200, max_frame=4096, options={})
        await session.close()
        listener.close()

    if not socket.has_ipv6:
        pytest.skip("no IPv6 here")
    run(test)


# ---- what both sides share ---------------------------------------------------------------------

def test_a_link_cuts_packets_and_numbers_frames(raw: socket.socket) -> None:
    async def test() -> None:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, local_addr=LOOP)
        link = Link(transport, here(raw), 9, 100)
        await link.send(bytearray(range(200)))
        got = [parse_fragment(d) for d in await drain(raw)]
        assert [g[:4] for g in got] == [(9, 1, 0, 3), (9, 1, 1, 3), (9, 1, 2, 3)]
        assert b"".join(g[4] for g in got) == bytes(range(200))
        link._frame = 0xFFFFFFFF
        await link.send(bytearray(b"x"))
        assert [parse_fragment(d)[:4] for d in await drain(raw)] == [(9, 0, 0, 1)]
        transport.close()

    run(test)


def test_a_new_session_reassembles_what_its_link_can_carry(raw: socket.socket) -> None:
    async def test() -> None:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, local_addr=LOOP)
        i = InitiatorHandshake(identity=ALICE, peer=BOB.recipient)
        i.read_response(ResponderHandshake(i.first_message(), identity=BOB).response())
        closed: list[bool] = []
        peer = new_session(i.keys, Link(transport, here(raw), 9, 500), 3000, {"keepalive": 4.0},
                           close=lambda: closed.append(True))
        assert peer.reassembler.max_packet == packet_limit(3000)
        assert peer.session.max_frame == 3000
        assert peer.session.keepalive == 4.0
        await peer.session.send(b"x")
        assert parse_fragment((await drain(raw))[0])[:4] == (9, 1, 0, 1)
        await peer.session.close()
        assert closed == [True]
        transport.close()

    run(test)


def test_deliver_counts_losses_and_moves_the_address_only_when_authenticated(raw: socket.socket) -> None:
    async def test() -> None:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, local_addr=LOOP)
        i = InitiatorHandshake(identity=ALICE, peer=BOB.recipient)
        r = ResponderHandshake(i.first_message(), identity=BOB)
        i.read_response(r.response())
        assert i.keys is not None and r.keys is not None
        peer = new_session(r.keys, Link(transport, ("127.0.0.1", 1), 9, 600), 4096, {})  # pieces of 587
        peer.reassembler.lost = peer.reassembler.malformed = 10  # counts before: only the change is added
        sender = Session(i.keys, peer.link.send)
        packet = bytes(sender._ctx.encrypt_packet(b"\x00" + bytes(1000)))
        assert deliver(peer, (9, 1, 0, 2, packet[:587]), ("127.0.0.2", 2)) is None
        assert deliver(peer, (9, 1, 0, 3, packet[:580]), ("127.0.0.2", 2)) is None  # malformed piece
        for frame in range(2, 18):  # sixteen newer frames push frame 1 out: lost
            deliver(peer, (9, frame, 0, 2, packet[:587]), ("127.0.0.2", 2))
        assert peer.session.stats["lost"] == 1 and peer.session.stats["malformed"] == 1
        assert peer.link.address == ("127.0.0.1", 1)
        forged = packet[:-1] + bytes((packet[-1] ^ 1,))
        assert deliver(peer, (9, 30, 0, 1, packet[:587]), ("127.0.0.2", 2)) is None  # one piece: cut short
        assert deliver(peer, (9, 31, 0, 2, forged[:587]), ("127.0.0.2", 2)) is None
        assert deliver(peer, (9, 31, 1, 2, forged[587:]), ("127.0.0.2", 2)) is None
        assert peer.link.address == ("127.0.0.1", 1) and peer.session.stats["forged"] == 2
        assert deliver(peer, (9, 32, 1, 2, packet[587:]), ("127.0.0.3", 3)) is None
        assert deliver(peer, (9, 32, 0, 2, packet[:587]), ("127.0.0.3", 3)) == KIND_FRAME
        assert peer.link.address == ("127.0.0.3", 3)
        assert await peer.session.recv() == bytes(1000)
        await sender.close()
        await peer.session.close()
        transport.close()

    run(test)


def test_the_datagram_handler_keeps_malformed_input_out_of_the_loop() -> None:
    seen: list[tuple[bytes, Address]] = []

    def handle(data: bytes, addr: Address) -> None:
        seen.append((data, addr))
        if data == b"format":
            raise errors.FormatError("bad")
        if data == b"value":
            raise ValueError("bad")
        if data == b"refused":
            raise errors.HandshakeError("an STC error that is not a ValueError")
        if data == b"bug":
            raise RuntimeError("a bug is not swallowed")

    handler = DatagramHandler(handle)
    handler.datagram_received(b"ok", ("::1", 5, 0, 0))
    handler.datagram_received(b"format", ("127.0.0.1", 6))
    handler.datagram_received(b"value", ("127.0.0.1", 7))
    handler.datagram_received(b"refused", ("127.0.0.1", 9))
    assert seen == [(b"ok", ("::1", 5)), (b"format", ("127.0.0.1", 6)), (b"value", ("127.0.0.1", 7)),
                    (b"refused", ("127.0.0.1", 9))]
    with pytest.raises(RuntimeError):
        handler.datagram_received(b"bug", ("127.0.0.1", 8))
