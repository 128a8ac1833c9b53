"""Sessions over TCP: ordered, reliable frames for what must arrive whole.

Each record is a u32 body length, a type byte and the body (docs/format.md §12.3).  A record
longer than the session's limit ends the connection; a connection that breaks inside a record
ends the session with TruncatedError, so a partial frame is never delivered.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from ...errors import HandshakeError, SessionClosedError, TruncatedError
from .core import Session, packet_limit, until_closed
from .handshake import InitiatorHandshake, ResponderHandshake
from .wire import DATA, FINAL, INITIATION, KIND_CONFIRM, MAX_HANDSHAKE, RECORD_HEADER, RESPONSE, record

Address = tuple[str, int]


async def _read_record(reader: asyncio.StreamReader, limit: int) -> tuple[int, bytes] | None:
    """(type, body) of the next record; None at a clean end between records; TruncatedError
    if the connection ends inside one; HandshakeError if it announces more than ``limit``."""
    try:
        head = await reader.readexactly(RECORD_HEADER.size)
    except asyncio.IncompleteReadError as exc:
        if exc.partial:
            raise TruncatedError("the connection broke in the middle of a record") from None
        return None
    size, kind = RECORD_HEADER.unpack(head)
    if size > limit:
        raise HandshakeError(f"a record of {size} bytes is over this session's limit of {limit}")
    try:
        return kind, await reader.readexactly(size)
    except asyncio.IncompleteReadError:
        raise TruncatedError("the connection broke in the middle of a frame") from None


class _Stream:
    """A session's side of one TCP connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, max_frame: int) -> None:
        self.reader, self.writer = reader, writer
        self.limit = packet_limit(max_frame)
        self.session: Session | None = None
        self.reader_task: asyncio.Task[None] | None = None

    async def send(self, packet: bytearray) -> None:
        if self.writer.is_closing():
            raise SessionClosedError("the connection is closed")
        try:
            self.writer.write(RECORD_HEADER.pack(len(packet), DATA))
            self.writer.write(packet)
            await self.writer.drain()
        except OSError as exc:  # (ConnectionError is one)
            raise SessionClosedError(f"the connection broke ({type(exc).__name__})") from None

    def close(self) -> None:
        self.writer.close()

    def open(self, keys: Any, options: dict[str, Any], max_frame: int) -> Session:
        self.session = Session(keys, self.send, max_frame=max_frame, close=self.close, **options)
        return self.session

    async def confirm(self, send_confirm: bool) -> bool:
        """Start reading; (initiator) send the confirm; True once an authenticated packet from
        the peer arrived, False if the connection ended first."""
        session = self.session
        assert session is not None
        confirmed = asyncio.Event()
        self.reader_task = asyncio.get_running_loop().create_task(self.pump(confirmed),
                                                                  name="stc tcp session reader")
        if send_confirm:
            await session._send_kind(KIND_CONFIRM)
        got, _ = await until_closed(confirmed.wait(), session._closed)
        return got

    async def pump(self, confirmed: asyncio.Event | None = None) -> None:
        """Read records into the session until the connection ends."""
        session = self.session
        assert session is not None
        try:
            while True:
                got = await _read_record(self.reader, self.limit)
                if got is None:
                    session._end()
                    return
                kind, body = got
                if kind != DATA:
                    session._count("malformed")
                    continue
                if session._receive(body) is not None and confirmed is not None:
                    confirmed.set()
        except (TruncatedError, HandshakeError) as exc:
            session._end(exc if isinstance(exc, TruncatedError) else TruncatedError(str(exc)))
        except (ConnectionError, OSError):
            session._end(TruncatedError("the connection broke"))
        finally:
            self.writer.close()


async def connect_tcp(address: Address, handshake: InitiatorHandshake, *, timeout: float, max_frame: int,
                      options: dict[str, Any]) -> Session:
    """Connect, handshake and return the confirmed session (HandshakeError on failure or timeout)."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(*address), timeout)
    except (OSError, asyncio.TimeoutError) as exc:
        raise HandshakeError(f"cannot connect to {address[0]}:{address[1]} ({type(exc).__name__})") from None
    stream = _Stream(reader, writer, max_frame)
    try:
        return await asyncio.wait_for(_initiate(stream, handshake, options, max_frame), timeout)
    except asyncio.TimeoutError:
        writer.close()
        raise HandshakeError(f"no session with {address[0]}:{address[1]} within {timeout:g} s") from None
    except BaseException:
        writer.close()
        raise


async def _initiate(stream: _Stream, handshake: InitiatorHandshake, options: dict[str, Any], max_frame: int) -> Session:
    stream.writer.write(record(INITIATION, handshake.first_message()))
    await stream.writer.drain()
    try:
        got = await _read_record(stream.reader, MAX_HANDSHAKE)
    except TruncatedError:
        got = None
    if got is None:
        raise HandshakeError("the listener closed the connection during the handshake (it refused us, "
                             "or it holds another key or code)")
    kind, body = got
    if kind != RESPONSE:
        raise HandshakeError("the listener did not answer with a handshake response")
    final = handshake.read_response(body)
    if final is not None:
        stream.writer.write(record(FINAL, final))
    session = stream.open(handshake.keys, options, max_frame)
    try:
        confirmed = await stream.confirm(send_confirm=True)
    except SessionClosedError:  # the listener hung up before our confirm went out
        confirmed = False
    if not confirmed:
        session._end()
        raise HandshakeError("the listener closed the connection after the handshake (it refused us)")
    return session


class TcpListener:
    """Accepts connections; each completed and confirmed handshake goes to ``accepted``."""

    def __init__(self, make_responder: Callable[[bytes], ResponderHandshake], *, timeout: float, max_frame: int,
                 options: dict[str, Any]) -> None:
        self._make, self._timeout, self._max_frame, self._options = make_responder, timeout, max_frame, options
        self.accepted: asyncio.Queue[Session] = asyncio.Queue()
        self.server: asyncio.base_events.Server | None = None
        self.stats = dict.fromkeys(("initiations", "refused", "malformed"), 0)
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, address: Address) -> Address:
        self.server = await asyncio.start_server(self._connection, *address)
        host, port = self.server.sockets[0].getsockname()[:2]
        return host, port

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
        for task in list(self._tasks):
            task.cancel()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        stream = _Stream(reader, writer, self._max_frame)
        try:
            session = await asyncio.wait_for(self._respond(stream), self._timeout)
        except (HandshakeError, TruncatedError, asyncio.TimeoutError, ConnectionError, OSError):
            self.stats["refused"] += 1  # a refusal cannot be authenticated: the connection just ends
            writer.close()
            self._tasks.discard(task)
            return
        self._tasks.discard(task)
        if session is not None:
            self.accepted.put_nowait(session)

    async def _respond(self, stream: _Stream) -> Session | None:
        got = await _read_record(stream.reader, MAX_HANDSHAKE)
        if got is None or got[0] != INITIATION:
            raise HandshakeError("no handshake initiation")
        self.stats["initiations"] += 1
        responder = self._make(got[1])
        stream.writer.write(record(RESPONSE, responder.response()))
        await stream.writer.drain()
        if responder.needs_final:
            got = await _read_record(stream.reader, MAX_HANDSHAKE)
            if got is None or got[0] != FINAL:
                raise HandshakeError("no final handshake message")
            responder.read_final(got[1])
        session = stream.open(responder.keys, self._options, self._max_frame)
        if not await stream.confirm(send_confirm=False):
            with contextlib.suppress(Exception):
                await session.close()
            raise HandshakeError("the initiator never confirmed the session (a wrong code?)")
        return session
