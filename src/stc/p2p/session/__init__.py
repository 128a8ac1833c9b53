"""Authenticated P2P sessions over UDP or TCP, for asyncio: :func:`connect` and :func:`listen`.

Peers are authenticated by STC identities (Noise IK or XX) or by a short shared code (SPAKE2,
then Noise NNpsk2); ``pq=True`` adds ML-KEM-768 to the key exchange.  Frames are STC's own
(:class:`~stc.p2p.StreamingContext`), keyed by the handshake.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ...errors import ParameterError, SessionClosedError
from ...keys.recipients.base import Identity, Recipient
from ...keys.recipients.x25519 import X25519Recipient
from .core import DEFAULT_MAX_FRAME, STATS, Session, until_closed
from .handshake import InitiatorHandshake, Peers, ResponderHandshake, x25519_identity
from .tcp import TcpListener, connect_tcp
from .udp import DEFAULT_DATAGRAM, connect_udp
from .udp_listener import UdpListener
from .wire import MAX_DATAGRAM, MIN_DATAGRAM

Address = tuple[str, int]


def _check(address: object, transport: str, timeout: float, max_frame: int, datagram_size: int) -> Address:
    if not (isinstance(address, tuple) and len(address) == 2 and isinstance(address[0], str)
            and isinstance(address[1], int) and 0 <= address[1] <= 65535):
        raise ParameterError("address is a (host, port) tuple")
    if transport not in ("udp", "tcp"):
        raise ParameterError("transport is 'udp' or 'tcp'")
    if not (isinstance(timeout, (int, float)) and 0 < timeout <= 3600):
        raise ParameterError("timeout is a number of seconds in (0, 3600]")
    if not (isinstance(max_frame, int) and 1 <= max_frame <= 1 << 26):
        raise ParameterError("max_frame is an integer in [1, 64 MiB]")
    if not (isinstance(datagram_size, int) and MIN_DATAGRAM <= datagram_size <= MAX_DATAGRAM):
        raise ParameterError(f"datagram_size is an integer in [{MIN_DATAGRAM}, {MAX_DATAGRAM}]")
    return address[0], address[1]


def _options(rekey_after: float, keepalive: float) -> dict[str, Any]:
    if not (isinstance(rekey_after, (int, float)) and rekey_after > 0):
        raise ParameterError("rekey_after is a positive number of seconds")
    if not (isinstance(keepalive, (int, float)) and keepalive > 0):
        raise ParameterError("keepalive is a positive number of seconds")
    return {"rekey_after": rekey_after, "keepalive": keepalive}


async def connect(address: Address, *, identity: Identity | None = None, peer: Recipient | None = None,
                  code: str | None = None, pq: bool = False, transport: str = "udp", timeout: float = 20.0,
                  max_frame: int = DEFAULT_MAX_FRAME, datagram_size: int = DEFAULT_DATAGRAM,
                  rekey_after: float = 120.0, keepalive: float = 10.0) -> Session:
    """A session with the listener at ``address``: with ``identity`` (and ``peer``, the listener's
    recipient, if known: then only that key can answer), or with a shared ``code``.
    HandshakeError if no session is made within ``timeout`` seconds."""
    address = _check(address, transport, timeout, max_frame, datagram_size)
    options = _options(rekey_after, keepalive)

    def handshake() -> InitiatorHandshake:
        return InitiatorHandshake(identity=identity, peer=peer, code=code, pq=pq)

    handshake()  # check the arguments before any I/O
    if transport == "tcp":
        return await connect_tcp(address, handshake(), timeout=timeout, max_frame=max_frame, options=options)
    return await connect_udp(address, handshake, timeout=timeout, datagram_size=datagram_size,
                             max_frame=max_frame, options=options)


class Server:
    """A listening socket: ``await server.accept()``, ``async for session in server``, ``await server.close()``.
    ``address`` is the bound (host, port); ``stats`` counts initiations and refusals."""

    def __init__(self, listener: UdpListener | TcpListener, address: Address) -> None:
        self._listener, self.address = listener, address
        self._closed = asyncio.Event()

    def __repr__(self) -> str:
        return f"Server(address={self.address}, closed={self._closed.is_set()})"

    @property
    def stats(self) -> dict[str, int]:
        return dict(self._listener.stats)

    async def accept(self) -> Session:
        """The next confirmed session; SessionClosedError once the server is closed."""
        if self._closed.is_set():
            raise SessionClosedError("the server is closed")
        got, session = await until_closed(self._listener.accepted.get(), self._closed)
        if not got:
            raise SessionClosedError("the server is closed")
        return session  # type: ignore[return-value]

    def __aiter__(self) -> Server:
        return self

    async def __anext__(self) -> Session:
        try:
            return await self.accept()
        except SessionClosedError:
            raise StopAsyncIteration from None

    async def close(self) -> None:
        """Stop listening (sessions already accepted stay open over TCP; over UDP they share the socket and end)."""
        self._closed.set()
        self._listener.close()

    async def __aenter__(self) -> Server:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()


async def listen(address: Address, *, identity: Identity | None = None, peers: Peers = None,
                 code: str | None = None, pq: bool = False, transport: str = "udp", timeout: float = 20.0,
                 max_frame: int = DEFAULT_MAX_FRAME, datagram_size: int = DEFAULT_DATAGRAM,
                 rekey_after: float = 120.0, keepalive: float = 10.0) -> Server:
    """Listen at ``address`` (port 0: any free port; ``server.address`` says which).  With
    ``identity``, initiators are authenticated by their keys and, if ``peers`` is given (a list of
    recipients or a callable), only those are accepted; with ``code``, only a peer with the same
    code can finish a handshake.  ``pq=True`` requires post-quantum sessions."""
    address = _check(address, transport, timeout, max_frame, datagram_size)
    options = _options(rekey_after, keepalive)
    if identity is None and code is None:
        raise ParameterError("listen needs an identity or a code")
    if peers is not None and not callable(peers):
        peers = list(peers)
        if not all(isinstance(p, X25519Recipient) for p in peers):
            raise ParameterError("peers are X25519 recipients (or a callable recipient -> bool)")
    x25519_identity(identity)

    def make(first: bytes) -> ResponderHandshake:
        return ResponderHandshake(first, identity=identity, peers=peers, code=code, pq=pq)

    listener: UdpListener | TcpListener
    if transport == "tcp":
        listener = TcpListener(make, timeout=timeout, max_frame=max_frame, options=options)
    else:
        listener = UdpListener(make, timeout=timeout, datagram_size=datagram_size, max_frame=max_frame,
                               options=options)
    bound = await listener.start(address)
    return Server(listener, bound)


__all__ = ["STATS", "Server", "Session", "connect", "listen"]
