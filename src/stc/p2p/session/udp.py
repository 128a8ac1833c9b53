"""Sessions over UDP, the connecting side and what both sides share: handshakes retransmitted
with backoff under loss, frames cut into fragments, an index in each datagram (as WireGuard
does) so one socket carries many sessions, and a peer address that moves only with an
authenticated packet.  The listening side is in :mod:`.udp_listener`.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ...errors import HandshakeError, STCError
from .core import Session, packet_limit
from .fragments import Reassembler
from .handshake import InitiatorHandshake
from .wire import (
    COOKIE,
    COOKIE_SIZE,
    DATA,
    FINAL,
    INITIATION,
    KIND_CONFIRM,
    RESPONSE,
    Datagram,
    fragments,
    parse_fragment,
)

#: Default size of a datagram (a safe payload on most paths), settable with ``datagram_size=``.
DEFAULT_DATAGRAM = 1200
_FIRST_RETRY, _MAX_RETRY = 0.2, 2.0
DATA_BYTE = bytes((DATA,))
Address = tuple[str, int]


class Link:
    """What a session needs of a UDP socket: send a packet to the peer's current address (or,
    on the connecting side's connected socket, to the one address it may send to)."""

    def __init__(self, transport: asyncio.DatagramTransport, address: Address, remote_index: int,
                 budget: int, *, connected: bool = False) -> None:
        self.transport, self.address, self.remote_index, self.budget = transport, address, remote_index, budget
        self.connected = connected
        self._frame = 0

    async def send(self, packet: bytearray) -> None:
        self._frame = (self._frame + 1) & 0xFFFFFFFF
        to = None if self.connected else self.address
        for datagram in fragments(self.remote_index, self._frame, packet, self.budget):
            self.transport.sendto(datagram, to)


@dataclass
class Peer:
    """A session and how its datagrams reach it."""

    session: Session
    link: Link
    reassembler: Reassembler


def new_session(keys: Any, link: Link, max_frame: int, options: dict[str, Any],
                close: Callable[[], None] | None = None) -> Peer:
    session = Session(keys, link.send, max_frame=max_frame, close=close, **options)
    return Peer(session, link, Reassembler(packet_limit(max_frame)))


def deliver(peer: Peer, parts: tuple[int, int, int, int, bytes], address: Address) -> int | None:
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


class DatagramHandler(asyncio.DatagramProtocol):
    def __init__(self, handle: Callable[[bytes, Address], None]) -> None:
        self.handle = handle

    def datagram_received(self, data: bytes, addr: Any) -> None:
        with contextlib.suppress(STCError, ValueError):  # nothing a datagram says reaches the loop
            self.handle(data, (addr[0], addr[1]))


# ---- the connecting side -------------------------------------------------------------------------
def next_wait(delay: float, deadline: float, now: float) -> tuple[float, float]:
    """(how long to wait for a reply now, the delay after it): ``delay``, cut to what is left
    before the deadline; then doubled, to at most 2 s (docs/format.md §12.4)."""
    return min(delay, max(0.0, deadline - now)), min(delay * 2, _MAX_RETRY)


class _Dialer:
    """The connecting side between retries: the handshake in flight, the cookie to echo, the
    session once a response authenticated, and the last reply that failed."""

    transport: asyncio.DatagramTransport  # set once the socket exists (its handler is ours)
    first: bytes  # the initiation's body, from initiation()
    final: bytes | None  # the FINAL datagram to resend until the session confirms (XX), once a reply read

    def __init__(self, handshake: Callable[[], InitiatorHandshake], index: int, *, datagram_size: int,
                 max_frame: int, options: dict[str, Any]) -> None:
        self._make, self.index, self._size, self._max_frame, self._options = (
            handshake, index, datagram_size, max_frame, options)
        self.cookie = bytes(COOKIE_SIZE)
        self.hs: InitiatorHandshake | None = None
        self.peer: Peer | None = None
        self.failure: HandshakeError | None = None
        self.wake = asyncio.Event()

    def initiation(self) -> bytes:
        """The INITIATION datagram to (re)send, starting a new handshake after a failed reply."""
        if self.hs is None:
            self.hs = self._make()
            self.first = self.hs.first_message()
        return Datagram(INITIATION, self.index, self.first, cookie=self.cookie).to_bytes()

    def handle(self, data: bytes, addr: Address) -> None:
        """One datagram from the network (FormatError for a malformed one, dropped by the caller)."""
        if data[:1] == DATA_BYTE:
            if self.peer is not None:
                parts = parse_fragment(data)
                if parts[0] == self.index:
                    deliver(self.peer, parts, addr)
            return
        datagram = Datagram.from_bytes(data)
        if datagram.index != self.index or self.peer is not None:
            return
        if datagram.kind == COOKIE:
            self.cookie = datagram.body
            self.wake.set()
        elif datagram.kind == RESPONSE and self.hs is not None:
            try:
                final = self.hs.read_response(datagram.body)
            except HandshakeError as exc:
                self.failure, self.hs = exc, None  # a forged or wrong reply: start again, anew
                self.wake.set()
                return
            link = Link(self.transport, addr, datagram.sender, self._size, connected=True)
            self.final = None if final is None else Datagram(FINAL, datagram.sender, final).to_bytes()
            self.peer = new_session(self.hs.keys, link, self._max_frame, self._options, close=self.transport.close)
            self.wake.set()


async def connect_udp(address: Address, handshake: Callable[[], InitiatorHandshake], *, timeout: float,
                      datagram_size: int, max_frame: int, options: dict[str, Any]) -> Session:
    """Handshake with the listener at ``address`` and return the confirmed session."""
    loop = asyncio.get_running_loop()
    dialer = _Dialer(handshake, secrets.randbits(32), datagram_size=datagram_size, max_frame=max_frame,
                     options=options)
    transport, _ = await loop.create_datagram_endpoint(lambda: DatagramHandler(dialer.handle), remote_addr=address)
    dialer.transport = transport
    deadline = loop.time() + timeout
    delay = _FIRST_RETRY
    try:
        while loop.time() < deadline:
            peer = dialer.peer
            if peer is None:
                transport.sendto(dialer.initiation())
                wanted = dialer.wake
            else:
                if peer.session.confirmed.is_set():
                    return peer.session
                if dialer.final is not None:
                    transport.sendto(dialer.final)
                await peer.session._send_kind(KIND_CONFIRM)
                wanted = peer.session.confirmed
            dialer.wake.clear()
            wait, delay = next_wait(delay, deadline, loop.time())
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(wanted.wait(), wait)
        if dialer.peer is not None and dialer.peer.session.confirmed.is_set():
            return dialer.peer.session
    except BaseException:
        _abandon(dialer.peer, transport)
        raise
    _abandon(dialer.peer, transport)
    if dialer.peer is not None:
        reason = " (the listener answered, but never confirmed the session: our packets were lost?)"
    elif dialer.failure is not None:
        reason = f"; the last reply failed: {dialer.failure}"
    else:
        reason = " (no answer: wrong address, a listener that refused us, or a network that drops everything)"
    raise HandshakeError(f"no session with {address[0]}:{address[1]} within {timeout:g} s{reason}")


def _abandon(peer: Peer | None, transport: asyncio.DatagramTransport) -> None:
    """A handshake that did not finish: end its session (and its timer) and close the socket."""
    if peer is not None:
        peer.session._end()
    transport.close()
