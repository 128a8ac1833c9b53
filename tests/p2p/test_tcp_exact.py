"""TCP sessions record by record, in process: a reader fed bytes, and listeners and connectors
on real loopback sockets whose other end is written by hand, so each refusal is checked with its
exact message and each bound at its edge (issue 24; test_sessions.py runs them end to end).
"""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from stc import errors
from stc.keys.recipients.x25519 import X25519Identity
from stc.p2p.session.core import Session, packet_limit
from stc.p2p.session.handshake import InitiatorHandshake, ResponderHandshake
from stc.p2p.session.tcp import TcpListener, _read_record, _Stream, connect_tcp
from stc.p2p.session.wire import (
    DATA,
    FINAL,
    INITIATION,
    MAX_HANDSHAKE,
    RECORD_HEADER,
    RESPONSE,
    record,
)

ALICE, BOB, MALLORY = X25519Identity.generate(), X25519Identity.generate(), X25519Identity.generate()
LOOP = ("127.0.0.1", 0)
Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]


def exactly(message: str) -> str:
    return "^" + re.escape(message) + "$"


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(test(), 30))


def fed(data: bytes, eof: bool = True) -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    if eof:
        reader.feed_eof()
    return reader


# ---- records -----------------------------------------------------------------------------------

def test_records_are_read_whole_or_refused() -> None:
    async def test() -> None:
        assert await _read_record(fed(record(FINAL, b"abc") + record(DATA, b"")), 3) == (FINAL, b"abc")
        assert await _read_record(fed(b""), 3) is None  # a clean end between records
        with pytest.raises(errors.TruncatedError, match=exactly("the connection broke in the middle of a record")):
            await _read_record(fed(RECORD_HEADER.pack(3, DATA)[:4]), 3)
        with pytest.raises(errors.TruncatedError, match=exactly("the connection broke in the middle of a frame")):
            await _read_record(fed(RECORD_HEADER.pack(3, DATA) + b"ab"), 3)
        over = "a record of 4 bytes is over this session's limit of 3"
        with pytest.raises(errors.HandshakeError, match=exactly(over)):
            await _read_record(fed(record(DATA, b"abcd")), 3)

    run(test)


async def socket_pair() -> tuple[Streams, Streams]:
    a, b = socket.socketpair()
    return await asyncio.open_connection(sock=a), await asyncio.open_connection(sock=b)


def session_keys() -> tuple[Any, Any]:
    i = InitiatorHandshake(identity=ALICE, peer=BOB.recipient)
    r = ResponderHandshake(i.first_message(), identity=BOB)
    i.read_response(r.response())
    return i.keys, r.keys


def test_a_stream_frames_packets_and_refuses_after_close() -> None:
    async def test() -> None:
        (_, w1), (r2, _) = await socket_pair()
        stream = _Stream(r2, w1, 1000)
        assert stream.limit == packet_limit(1000)
        await stream.send(bytearray(b"packet"))
        assert await r2.readexactly(11) == RECORD_HEADER.pack(6, DATA) + b"packet"
        stream.close()
        with pytest.raises(errors.SessionClosedError, match=exactly("the connection is closed")):
            await stream.send(bytearray(b"late"))

    run(test)


def test_a_stream_whose_peer_is_gone_raises_session_closed() -> None:
    async def test() -> None:
        (_, w1), (r2, w2) = await socket_pair()
        stream = _Stream(r2, w1, 1000)
        sending = asyncio.ensure_future(stream.send(bytearray(8 << 20)))  # more than the socket holds: drain waits
        await asyncio.sleep(0.05)
        assert not sending.done()
        w2.transport.abort()
        broke = r"^the connection broke \((BrokenPipe|ConnectionReset)Error\)$"
        with pytest.raises(errors.SessionClosedError, match=broke):
            await asyncio.wait_for(sending, 5)
        with pytest.raises(errors.SessionClosedError, match=exactly("the connection is closed")):
            await stream.send(bytearray(1))

    run(test)


async def two_sessions(max_frame: int = 4096) -> tuple[_Stream, _Stream, Session, Session]:
    (r1, w1), (r2, w2) = await socket_pair()
    ki, kr = session_keys()
    a, b = _Stream(r1, w1, max_frame), _Stream(r2, w2, max_frame)
    return a, b, a.open(ki, {}, max_frame), b.open(kr, {}, max_frame)


def test_confirm_and_pump() -> None:
    async def test() -> None:
        a, b, sa, sb = await two_sessions()
        assert sa.max_frame == 4096 and sa.role == "initiator"
        confirming = asyncio.ensure_future(b.confirm(send_confirm=False))
        assert await a.confirm(send_confirm=True) is True  # b's session acknowledged a's confirm
        assert await confirming is True
        assert b.reader_task is not None and b.reader_task.get_name() == "stc tcp session reader"
        b.writer.write(record(FINAL, b"not a data record"))  # counted, and reading goes on
        await sa.send(b"after")
        assert await sb.recv() == b"after"
        await asyncio.sleep(0.05)
        assert sa.stats["malformed"] == 1
        await sa.close()  # a clean end: the other side's recv ends without an error
        with pytest.raises(errors.SessionClosedError, match=exactly("the session is closed")):
            await asyncio.wait_for(sb.recv(), 5)
        assert b.writer.is_closing()

    run(test)


def test_confirm_is_false_when_the_connection_ends_first() -> None:
    async def test() -> None:
        a, b, sa, sb = await two_sessions()
        b.writer.close()
        assert await a.confirm(send_confirm=False) is False
        assert sa._closed.is_set()
        await sb.close()

    run(test)


@pytest.mark.parametrize(("bytes_sent", "message"), [
    (RECORD_HEADER.pack(100, DATA) + b"part", "the connection broke in the middle of a frame"),
    (RECORD_HEADER.pack(10**6, DATA), f"a record of 1000000 bytes is over this session's limit of {packet_limit(100)}"),
])
def test_a_broken_or_oversized_record_ends_the_session_with_truncated_error(bytes_sent: bytes, message: str) -> None:
    async def test() -> None:
        a, b, sa, sb = await two_sessions(max_frame=100)
        pump = asyncio.ensure_future(a.pump())
        b.writer.write(bytes_sent)
        await b.writer.drain()
        b.writer.close()
        await asyncio.wait_for(pump, 5)
        with pytest.raises(errors.TruncatedError, match=exactly(message)):
            await sa.recv()
        assert a.writer.is_closing()
        await sb.close()

    run(test)


def test_a_reset_connection_ends_the_session_with_truncated_error() -> None:
    async def test() -> None:
        a, _, sa, sb = await two_sessions()
        pump = asyncio.ensure_future(a.pump())
        await asyncio.sleep(0.01)
        a.reader.set_exception(ConnectionResetError("reset"))
        await asyncio.wait_for(pump, 5)
        with pytest.raises(errors.TruncatedError, match=exactly("the connection broke")):
            await sa.recv()
        await sb.close()

    run(test)


# ---- connecting --------------------------------------------------------------------------------

async def scripted(script: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]) -> tuple[
        asyncio.base_events.Server, tuple[str, int]]:
    """A listener whose side of the conversation is ``script``."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await script(reader, writer)
        finally:
            writer.close()

    server = await asyncio.start_server(serve, *LOOP)
    host, port = server.sockets[0].getsockname()[:2]
    return server, (host, port)


def ik() -> InitiatorHandshake:
    return InitiatorHandshake(identity=ALICE, peer=BOB.recipient)


async def respond(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, **kwargs: Any) -> ResponderHandshake:
    got = await _read_record(reader, MAX_HANDSHAKE)
    assert got is not None and got[0] == INITIATION
    responder = ResponderHandshake(got[1], **(kwargs or {"identity": BOB}))
    writer.write(record(RESPONSE, responder.response()))
    await writer.drain()
    return responder


async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read()


async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _read_record(reader, MAX_HANDSHAKE)


async def cut_short(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _read_record(reader, MAX_HANDSHAKE)
    writer.write(RECORD_HEADER.pack(50, RESPONSE) + b"part")


async def wrong_type(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _read_record(reader, MAX_HANDSHAKE)
    writer.write(record(FINAL, bytes(48)))
    await reader.read()


async def answer_then_hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await respond(reader, writer)


async def forged_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _read_record(reader, MAX_HANDSHAKE)
    writer.write(record(RESPONSE, bytes(range(1, 49))))
    await reader.read()


REFUSED = "the listener closed the connection during the handshake (it refused us, or it holds another key or code)"


@pytest.mark.parametrize(("script", "message"), [
    (hang_up, REFUSED),
    (cut_short, REFUSED),
    (wrong_type, "the listener did not answer with a handshake response"),
    (answer_then_hang_up, "the listener closed the connection after the handshake (it refused us)"),
    (forged_answer, "a Noise handshake message did not authenticate (wrong key, wrong pre-shared key, another "
                    "prologue, or changed bytes) (a wrong code, or not the peer named?)"),
])
def test_connect_refusals(script: Callable[..., Awaitable[None]], message: str) -> None:
    async def test() -> None:
        server, address = await scripted(script)
        with pytest.raises(errors.HandshakeError, match=exactly(message)):
            await connect_tcp(address, ik(), timeout=5, max_frame=4096, options={})
        server.close()

    run(test)


def test_connect_timeouts_and_nothing_listening() -> None:
    async def test() -> None:
        server, address = await scripted(silent)
        late = f"no session with 127.0.0.1:{address[1]} within 0.2 s"
        with pytest.raises(errors.HandshakeError, match=exactly(late)):
            await connect_tcp(address, ik(), timeout=0.2, max_frame=4096, options={})
        server.close()
        await server.wait_closed()
        with pytest.raises(errors.HandshakeError,
                           match=exactly(f"cannot connect to 127.0.0.1:{address[1]} (ConnectionRefusedError)")):
            await connect_tcp(address, ik(), timeout=5, max_frame=4096, options={})

    run(test)


@pytest.mark.parametrize("mode", ["ik", "xx"])
def test_connect_against_a_hand_written_listener(mode: str) -> None:
    async def test() -> None:
        seen: list[Session] = []

        async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            responder = await respond(reader, writer)
            stream = _Stream(reader, writer, 4096)
            if responder.needs_final:
                got = await _read_record(reader, MAX_HANDSHAKE)
                assert got is not None and got[0] == FINAL
                responder.read_final(got[1])
            seen.append(stream.open(responder.keys, {}, 4096))
            assert await stream.confirm(send_confirm=False)
            assert await seen[0].recv() == b"hello"
            await seen[0].close()

        server, address = await scripted(script)
        handshake = ik() if mode == "ik" else InitiatorHandshake(identity=ALICE)
        session = await connect_tcp(address, handshake, timeout=5, max_frame=4096, options={"keepalive": 3.0})
        assert session.peer == BOB.recipient and session.max_frame == 4096
        await session.send(b"hello")
        with pytest.raises(errors.SessionClosedError):
            await asyncio.wait_for(session.recv(), 5)
        assert seen[0].peer == ALICE.recipient
        server.close()

    run(test)


# ---- listening ---------------------------------------------------------------------------------

async def listening(timeout: float = 5.0, **kwargs: Any) -> tuple[TcpListener, tuple[str, int]]:
    listener = TcpListener(lambda first: ResponderHandshake(first, **(kwargs or {"identity": BOB})),
                           timeout=timeout, max_frame=4096, options={})
    return listener, await listener.start(LOOP)


async def settled(listener: TcpListener) -> None:
    for _ in range(200):
        if not listener._tasks:
            return
        await asyncio.sleep(0.01)


def test_the_listener_refuses_what_is_not_a_handshake() -> None:
    async def test() -> None:
        listener, address = await listening()
        assert listener.stats == {"initiations": 0, "refused": 0, "malformed": 0}
        for data in (b"", record(FINAL, b"x"), record(INITIATION, b"\x7f" + bytes(40)),
                     record(INITIATION, InitiatorHandshake(identity=ALICE, peer=MALLORY.recipient).first_message())):
            reader, writer = await asyncio.open_connection(*address)
            writer.write(data)
            if not data:
                writer.write_eof()
            assert await asyncio.wait_for(reader.read(), 5) == b""  # closed without a word
            writer.close()
        await settled(listener)
        assert listener.stats == {"initiations": 2, "refused": 4, "malformed": 0}
        assert listener.accepted.empty()
        listener.close()

    run(test)


def test_the_listener_needs_the_final_message_and_the_confirm() -> None:
    async def test() -> None:
        listener, address = await listening()
        for step in ("wrong final type", "no confirm"):
            reader, writer = await asyncio.open_connection(*address)
            hs = InitiatorHandshake(identity=ALICE)  # XX: a final message is due
            writer.write(record(INITIATION, hs.first_message()))
            got = await _read_record(reader, MAX_HANDSHAKE)
            assert got is not None and got[0] == RESPONSE
            final = hs.read_response(got[1])
            assert final is not None
            writer.write(record(DATA if step == "wrong final type" else FINAL, final))
            if step == "no confirm":
                writer.write_eof()
            assert await asyncio.wait_for(reader.read(), 5) == b""
            writer.close()
        await settled(listener)
        assert listener.stats["refused"] == 2 and listener.accepted.empty()
        listener.close()

    run(test)


def test_the_listener_times_out_a_silent_initiator_and_close_cancels_handshakes() -> None:
    async def test() -> None:
        listener, address = await listening(timeout=0.2)
        reader, writer = await asyncio.open_connection(*address)
        assert await asyncio.wait_for(reader.read(), 5) == b""
        await settled(listener)
        assert listener.stats["refused"] == 1
        writer.close()
        listener._timeout = 30
        reader, writer = await asyncio.open_connection(*address)
        for _ in range(100):
            if listener._tasks:
                break
            await asyncio.sleep(0.01)
        (task,) = listener._tasks
        listener.close()
        await asyncio.sleep(0.05)
        assert task.cancelled() or task.done()
        assert listener.server is not None and not listener.server.is_serving()
        writer.close()
        TcpListener(lambda first: ResponderHandshake(first), timeout=1, max_frame=1, options={}).close()

    run(test)


def test_the_listener_accepts_a_confirmed_session() -> None:
    async def test() -> None:
        listener, address = await listening()
        session = await connect_tcp(address, ik(), timeout=5, max_frame=4096, options={})
        accepted = await asyncio.wait_for(listener.accepted.get(), 5)
        assert accepted.peer == ALICE.recipient and accepted.role == "responder"
        await settled(listener)
        assert listener.stats == {"initiations": 1, "refused": 0, "malformed": 0}
        await session.send(b"to the listener")
        assert await accepted.recv() == b"to the listener"
        await session.close()
        await accepted.close()
        listener.close()

    run(test)

