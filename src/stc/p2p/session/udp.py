"""Sessions over UDP: handshakes retransmitted under loss, frames in fragments, many sessions on
one socket (an index in each datagram, as WireGuard does), and a stateless cookie under load.

Responder state for an unauthenticated initiation is bounded (:data:`MAX_PENDING`); once
:data:`COOKIE_LOAD` handshakes are pending, an initiation must echo a cookie bound to its
address (HMAC-SHA256 under a secret renewed every two minutes) before any state is kept, so a
flood from spoofed addresses costs no memory.  A refused initiator gets no answer: a refusal
cannot be authenticated, so the initiator sees its timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ...errors import FormatError, HandshakeError, STCError
from .core import Session, packet_limit
from .fragments import Reassembler
from .handshake import InitiatorHandshake, ResponderHandshake
from .wire import (
    COOKIE,
    COOKIE_SIZE,
    DATA,
    FINAL,
    FRAGMENT_HEADER,
    INITIATION,
    KIND_CONFIRM,
    RESPONSE,
    Datagram,
    fragments,
    parse_fragment,
)

#: Handshakes a listener keeps state for at once; past it, initiations are dropped.
MAX_PENDING = 1024
#: Pending handshakes above which an initiation must carry a valid cookie.
COOKIE_LOAD = 64
#: Default size of a datagram (a safe payload on most paths), settable with ``datagram_size=``.
DEFAULT_DATAGRAM = 1200
_FIRST_RETRY, _MAX_RETRY = 0.2, 2.0
_DATA = bytes((DATA,))
Address = tuple[str, int]


class _Link:
    """What a session needs of a UDP socket: send a packet to the peer's current address."""

    def __init__(self, transport: asyncio.DatagramTransport, address: Address, remote_index: int,
                 budget: int) -> None:
        self.transport, self.address, self.remote_index, self.budget = transport, address, remote_index, budget
        self._frame = 0

    async def send(self, packet: bytearray) -> None:
        self._frame = (self._frame + 1) & 0xFFFFFFFF
        for datagram in fragments(self.remote_index, self._frame, packet, self.budget):
            self.transport.sendto(datagram, self.address)


@dataclass
class _Peer:
    """A session and how its datagrams reach it."""

    session: Session
    link: _Link
    reassembler: Reassembler


def _new_session(keys: Any, link: _Link, max_frame: int, options: dict[str, Any],
                 close: Callable[[], None] | None = None) -> _Peer:
    session = Session(keys, link.send, max_frame=max_frame, close=close, **options)
    room = link.budget - FRAGMENT_HEADER
    return _Peer(session, link, Reassembler(packet_limit(max_frame), room))


def _deliver(peer: _Peer, parts: tuple[int, int, int, int, bytes], address: Address) -> int | None:
    """A data datagram for ``peer``: reassemble, open; the peer's address moves only when the
    packet authenticated.  Returns the packet's kind, or None."""
    lost, malformed = peer.reassembler.lost, peer.reassembler.malformed
    packet = peer.reassembler.add_parts(*parts[1:])
    peer.session._count("lost", peer.reassembler.lost - lost)
    peer.session._count("malformed", peer.reassembler.malformed - malformed)
    if packet is None:
        return None
    kind = peer.session._receive(packet)
    if kind is not None and address != peer.link.address:
        peer.link.address = address
    return kind


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, handle: Callable[[bytes, Address], None]) -> None:
        self.handle = handle

    def datagram_received(self, data: bytes, addr: Any) -> None:
        with contextlib.suppress(STCError, ValueError):  # nothing a datagram says reaches the loop
            self.handle(data, (addr[0], addr[1]))


# ---- the connecting side -------------------------------------------------------------------------
async def connect_udp(address: Address, handshake: Callable[[], InitiatorHandshake], *, timeout: float,
                      datagram_size: int, max_frame: int, options: dict[str, Any]) -> Session:
    """Handshake with the listener at ``address`` and return the confirmed session."""
    loop = asyncio.get_running_loop()
    state: dict[str, Any] = {"cookie": bytes(COOKIE_SIZE), "peer": None, "failure": None}
    wake = asyncio.Event()
    my_index = secrets.randbits(32)

    def handle(data: bytes, addr: Address) -> None:
        peer: _Peer | None = state["peer"]
        if data[:1] == _DATA:
            if peer is not None:
                parts = parse_fragment(data)
                if parts[0] == my_index:
                    _deliver(peer, parts, addr)
            return
        datagram = Datagram.from_bytes(data)
        if datagram.index != my_index:
            return
        if datagram.kind == COOKIE and peer is None:
            state["cookie"] = datagram.body
            wake.set()
        elif datagram.kind == RESPONSE and peer is None:
            hs: InitiatorHandshake = state["hs"]
            try:
                final = hs.read_response(datagram.body)
            except HandshakeError as exc:
                state["failure"] = exc  # a forged or wrong reply: start again with a new handshake
                state["hs"] = None
                wake.set()
                return
            link = _Link(transport, addr, datagram.sender, datagram_size)
            state["final"] = None if final is None else Datagram(FINAL, datagram.sender, final).to_bytes()
            state["peer"] = _new_session(hs.keys, link, max_frame, options, close=transport.close)
            wake.set()

    transport, _ = await loop.create_datagram_endpoint(lambda: _Protocol(handle), remote_addr=address)
    deadline = loop.time() + timeout
    delay = _FIRST_RETRY
    try:
        while loop.time() < deadline:
            peer: _Peer | None = state["peer"]
            if peer is None:
                if state.get("hs") is None:
                    state["hs"] = handshake()
                    state["first"] = state["hs"].first_message()
                transport.sendto(Datagram(INITIATION, my_index, state["first"], cookie=state["cookie"]).to_bytes())
            else:
                if peer.session.confirmed.is_set():
                    return peer.session
                if state["final"] is not None:
                    transport.sendto(state["final"])
                await peer.session._send_kind(KIND_CONFIRM)
            wake.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                if peer is None:
                    await asyncio.wait_for(wake.wait(), min(delay, max(0.0, deadline - loop.time())))
                else:
                    await asyncio.wait_for(peer.session.confirmed.wait(), min(delay, max(0.0, deadline - loop.time())))
            delay = min(delay * 2, _MAX_RETRY)
        peer = state["peer"]
        if peer is not None and peer.session.confirmed.is_set():
            return peer.session
    except BaseException:
        _abandon(state["peer"], transport)
        raise
    _abandon(state["peer"], transport)
    reason = f"; the last reply failed: {state['failure']}" if state["failure"] else \
        " (no answer: wrong address, a listener that refused us, or a network that drops everything)"
    raise HandshakeError(f"no session with {address[0]}:{address[1]} within {timeout:g} s{reason}")


def _abandon(peer: _Peer | None, transport: asyncio.DatagramTransport) -> None:
    """A handshake that did not finish: end its session (and its timer) and close the socket."""
    if peer is not None:
        peer.session._end()
    transport.close()


# ---- the listening side --------------------------------------------------------------------------
@dataclass
class _Pending:
    """A handshake answered but not confirmed: what to resend, and the session if keys exist."""

    first: bytes
    response: bytes
    responder: ResponderHandshake
    initiation: tuple[Address, int]  # the initiator's address and index
    created: float
    peer: _Peer | None = None


class UdpListener:
    """One socket, many sessions.  ``accepted`` receives each session once its initiator's first
    authenticated packet arrived."""

    def __init__(self, make_responder: Callable[[bytes], ResponderHandshake], *, timeout: float,
                 datagram_size: int, max_frame: int, options: dict[str, Any]) -> None:
        self._make, self._timeout, self._size, self._max_frame = make_responder, timeout, datagram_size, max_frame
        self._options = options
        self.accepted: asyncio.Queue[Session] = asyncio.Queue()
        self._pending: dict[int, _Pending] = {}  # by our index
        self._by_initiation: dict[tuple[Address, int], int] = {}
        self._peers: dict[int, _Peer] = {}
        self._secrets = [os.urandom(32), os.urandom(32)]
        self._renewed = time.monotonic()
        self.transport: asyncio.DatagramTransport | None = None
        self.stats = dict.fromkeys(("initiations", "refused", "malformed", "cookies_sent", "dropped_load"), 0)

    async def start(self, address: Address) -> Address:
        loop = asyncio.get_running_loop()
        self.transport, _ = await loop.create_datagram_endpoint(lambda: _Protocol(self._handle), local_addr=address)
        host, port = self.transport.get_extra_info("sockname")[:2]
        return host, port

    def close(self) -> None:
        for peer in list(self._peers.values()):
            peer.session._end()
        if self.transport is not None:
            self.transport.close()

    # ---- cookies -------------------------------------------------------------------------------
    def _cookie(self, address: Address, secret: bytes) -> bytes:
        return hmac.digest(secret, f"{address[0]}|{address[1]}".encode(), "sha256")[:COOKIE_SIZE]

    def _cookie_ok(self, address: Address, cookie: bytes) -> bool:
        if time.monotonic() - self._renewed > 120:
            self._secrets, self._renewed = [os.urandom(32), self._secrets[0]], time.monotonic()
        return any(hmac.compare_digest(cookie, self._cookie(address, s)) for s in self._secrets)

    # ---- datagrams -----------------------------------------------------------------------------
    def _expire(self) -> None:
        now = time.monotonic()
        for index, pending in list(self._pending.items()):
            if now - pending.created > self._timeout:
                del self._pending[index]
                self._by_initiation.pop(pending.initiation, None)
                if pending.peer is not None:
                    self._peers.pop(index, None)
                    pending.peer.session._end()

    def _handle(self, data: bytes, address: Address) -> None:
        assert self.transport is not None
        if data[:1] == _DATA:
            parts = parse_fragment(data)
            index = parts[0]
            peer = self._peers.get(index)
            if peer is None:
                return
            kind = _deliver(peer, parts, address)
            pending = self._pending.get(index)
            if pending is not None and kind is not None:
                del self._pending[index]
                self._by_initiation.pop(pending.initiation, None)
                self.accepted.put_nowait(peer.session)
            return
        try:
            datagram = Datagram.from_bytes(data)
        except FormatError:
            self.stats["malformed"] += 1
            return
        if datagram.kind == INITIATION:
            self._initiation(datagram, address)
        elif datagram.kind == FINAL:
            self._final(datagram, address)

    def _initiation(self, datagram: Datagram, address: Address) -> None:
        assert self.transport is not None
        known = self._by_initiation.get((address, datagram.index))
        if known is not None and known in self._pending:
            pending = self._pending[known]
            if pending.first == datagram.body:
                self.transport.sendto(pending.response, address)  # our answer was lost: the same again
                return
        self._expire()
        if len(self._pending) >= MAX_PENDING:
            self.stats["dropped_load"] += 1
            return
        if len(self._pending) >= COOKIE_LOAD and not self._cookie_ok(address, datagram.cookie):
            self.transport.sendto(Datagram(COOKIE, datagram.index, self._cookie(address, self._secrets[0])).to_bytes(),
                                  address)
            self.stats["cookies_sent"] += 1
            return
        self.stats["initiations"] += 1
        try:
            responder = self._make(datagram.body)
            reply = responder.response()
        except HandshakeError:
            self.stats["refused"] += 1  # silent: a refusal cannot be authenticated
            return
        index = secrets.randbits(32)
        while index in self._pending or index in self._peers:
            index = secrets.randbits(32)
        response = Datagram(RESPONSE, datagram.index, reply, sender=index).to_bytes()
        pending = _Pending(datagram.body, response, responder, (address, datagram.index), time.monotonic())
        if responder.keys is not None:
            pending.peer = self._open(index, responder, address, datagram.index)
        self._pending[index] = pending
        self._by_initiation[(address, datagram.index)] = index
        self.transport.sendto(response, address)

    def _open(self, index: int, responder: ResponderHandshake, address: Address, remote: int) -> _Peer:
        assert self.transport is not None
        link = _Link(self.transport, address, remote, self._size)
        peer = _new_session(responder.keys, link, self._max_frame, self._options,
                            close=lambda: self._forget(index))
        self._peers[index] = peer
        return peer

    def _forget(self, index: int) -> None:
        self._peers.pop(index, None)

    def _final(self, datagram: Datagram, address: Address) -> None:
        pending = self._pending.get(datagram.index)
        if pending is None or pending.peer is not None:
            return  # unknown, or a repeat of a final message already read
        try:
            pending.responder.read_final(datagram.body)
        except HandshakeError:
            self.stats["refused"] += 1
            del self._pending[datagram.index]
            self._by_initiation.pop(pending.initiation, None)
            return
        pending.peer = self._open(datagram.index, pending.responder, address, pending.initiation[1])
