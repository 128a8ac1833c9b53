"""Sessions over UDP, the listening side: one socket, many sessions, and bounded state.

Responder state for an unauthenticated initiation is bounded (:data:`MAX_PENDING`); once
:data:`COOKIE_LOAD` handshakes are pending, an initiation must echo a cookie bound to its
address (HMAC-SHA256 under a secret renewed every :data:`COOKIE_RENEWAL` seconds) before any
state is kept, so a flood from spoofed addresses costs no memory.  A refused initiator gets no
answer: a refusal cannot be authenticated, so the initiator sees its timeout.
"""

from __future__ import annotations

import asyncio
import hmac
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ...errors import FormatError, HandshakeError
from .core import Session
from .handshake import ResponderHandshake
from .udp import DATA_BYTE, Address, DatagramHandler, Link, Peer, deliver, new_session
from .wire import COOKIE, COOKIE_SIZE, FINAL, INITIATION, RESPONSE, Datagram, parse_fragment

#: Handshakes a listener keeps state for at once; past it, initiations are dropped.
MAX_PENDING = 1024
#: Pending handshakes above which an initiation must carry a valid cookie.
COOKIE_LOAD = 64
#: Seconds between new cookie secrets (the previous one is still accepted).
COOKIE_RENEWAL = 120.0


# ---- the listening side --------------------------------------------------------------------------
@dataclass
class _Pending:
    """A handshake answered but not confirmed: what to resend, and the session if keys exist."""

    first: bytes
    response: bytes
    responder: ResponderHandshake
    initiation: tuple[Address, int]  # the initiator's address and index
    created: float
    peer: Peer | None = None


class UdpListener:
    """One socket, many sessions.  ``accepted`` receives each session once its initiator's first
    authenticated packet arrived."""

    def __init__(self, make_responder: Callable[[bytes], ResponderHandshake], *, timeout: float,
                 datagram_size: int, max_frame: int, options: dict[str, Any],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._make, self._timeout, self._size, self._max_frame = make_responder, timeout, datagram_size, max_frame
        self._options = options
        self.accepted: asyncio.Queue[Session] = asyncio.Queue()
        self._pending: dict[int, _Pending] = {}  # by our index
        self._by_initiation: dict[tuple[Address, int], _Pending] = {}  # the newest from each
        self._peers: dict[int, Peer] = {}
        self._secrets = [os.urandom(32), os.urandom(32)]
        self.clock = clock  # when pending handshakes expire and cookie secrets renew
        self._renewed = clock()
        self.transport: asyncio.DatagramTransport | None = None
        self.stats = dict.fromkeys(("initiations", "refused", "malformed", "cookies_sent", "dropped_load"), 0)

    async def start(self, address: Address) -> Address:
        loop = asyncio.get_running_loop()
        self.transport, _ = await loop.create_datagram_endpoint(lambda: DatagramHandler(self._handle),
                                                                local_addr=address)
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
        now = self.clock()
        if now - self._renewed > COOKIE_RENEWAL:
            self._secrets, self._renewed = [os.urandom(32), self._secrets[0]], now
        return any(hmac.compare_digest(cookie, self._cookie(address, s)) for s in self._secrets)

    # ---- datagrams -----------------------------------------------------------------------------
    def _expire(self) -> None:
        now = self.clock()
        for index, pending in list(self._pending.items()):
            if now - pending.created > self._timeout:
                self._drop(index)
                if pending.peer is not None:
                    self._forget(index)
                    pending.peer.session._end()

    def _drop(self, index: int) -> None:
        """Forget a pending handshake, and its initiation unless a newer one replaced it."""
        pending = self._pending.pop(index)
        if self._by_initiation.get(pending.initiation) is pending:
            del self._by_initiation[pending.initiation]

    def _handle(self, data: bytes, address: Address) -> None:
        assert self.transport is not None
        if data[:1] == DATA_BYTE:
            parts = parse_fragment(data)
            index = parts[0]
            peer = self._peers.get(index)
            if peer is None:
                return
            kind = deliver(peer, parts, address)
            pending = self._pending.get(index)
            if pending is not None and kind is not None:
                self._drop(index)
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
        if known is not None and known.first == datagram.body:
            self.transport.sendto(known.response, address)  # our answer was lost: the same again
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
        pending = _Pending(datagram.body, response, responder, (address, datagram.index), self.clock())
        if responder.keys is not None:
            pending.peer = self._open(index, responder, address, datagram.index)
        self._pending[index] = pending
        self._by_initiation[(address, datagram.index)] = pending
        self.transport.sendto(response, address)

    def _open(self, index: int, responder: ResponderHandshake, address: Address, remote: int) -> Peer:
        assert self.transport is not None
        link = Link(self.transport, address, remote, self._size)
        peer = new_session(responder.keys, link, self._max_frame, self._options,
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
            self._drop(datagram.index)
            return
        pending.peer = self._open(datagram.index, pending.responder, address, pending.initiation[1])
