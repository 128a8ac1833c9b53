"""P2P sessions over real loopback sockets: identities, codes, post-quantum, a lossy network, a
man in the middle, TCP breaks.  Every test is bounded by timeouts and addresses 127.0.0.1 only."""

from __future__ import annotations

import asyncio
import random
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

import stc
from stc import errors
from stc.keys.recipients.x25519 import X25519Identity
from stc.p2p.session import Server, Session, connect, listen

LOOP = ("127.0.0.1", 0)


def run(coro: Awaitable[Any], timeout: float = 60) -> Any:
    return asyncio.run(asyncio.wait_for(coro, timeout))  # type: ignore[arg-type]


async def pair(server: Server, **kwargs: Any) -> tuple[Session, Session]:
    """(client session, server session)."""
    client = asyncio.ensure_future(connect(server.address, **kwargs))
    accepted = await asyncio.wait_for(server.accept(), 15)
    return await client, accepted


IDS = {name: X25519Identity.generate() for name in ("alice", "bob", "mallory")}


@pytest.mark.parametrize("transport", ["udp", "tcp"])
@pytest.mark.parametrize("mode", ["ik", "xx", "code", "ik_pq", "code_pq"])
def test_sessions_carry_frames_both_ways(transport: str, mode: str) -> None:
    alice, bob = IDS["alice"], IDS["bob"]
    pq = mode.endswith("_pq")

    async def main() -> None:
        if mode.startswith("code"):
            server = await listen(LOOP, code="7-guitar-ocean", transport=transport, pq=pq)
            kwargs: dict[str, Any] = {"code": "7-Guitar-Ocean "}
        else:
            server = await listen(LOOP, identity=bob, peers=[alice.recipient], transport=transport, pq=pq)
            kwargs = {"identity": alice, "peer": None if mode == "xx" else bob.recipient}
        async with server:
            client, accepted = await pair(server, transport=transport, pq=pq, timeout=10, **kwargs)
            async with client, accepted:
                assert client.handshake_hash == accepted.handshake_hash and client.pq == accepted.pq == pq
                if mode.startswith("code"):
                    assert client.peer is None and accepted.peer is None
                else:
                    assert client.peer == bob.recipient and accepted.peer == alice.recipient
                big = bytes(range(256)) * 256  # 64 KiB: fragments over UDP
                for i in range(5):
                    await client.send(b"frame %d" % i)
                await accepted.send(big)
                assert [await accepted.recv() for _ in range(5)] == [b"frame %d" % i for i in range(5)]
                assert await client.recv() == big
                assert client.stats["frames_sent"] == 5 and accepted.stats["frames_received"] == 5
                assert accepted.stats["bytes_received"] == sum(len(b"frame %d" % i) for i in range(5))

    run(main())


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_a_man_in_the_middle_with_his_own_keys_is_refused(transport: str) -> None:
    alice, bob, mallory = IDS["alice"], IDS["bob"], IDS["mallory"]

    async def main() -> None:
        # Mallory answers where Alice expects Bob: Alice named Bob's key, so Mallory cannot read her
        # first message, and she never gets a session.
        async with await listen(LOOP, identity=mallory, transport=transport) as fake:
            with pytest.raises(errors.HandshakeError):
                await connect(fake.address, identity=alice, peer=bob.recipient, transport=transport, timeout=1.5)
            assert fake.stats["refused"] >= 1
        # Mallory connects to Bob with her own key: Bob accepts only Alice.
        async with await listen(LOOP, identity=bob, peers=[alice.recipient], transport=transport) as real:
            with pytest.raises(errors.HandshakeError):
                await connect(real.address, identity=mallory, transport=transport, timeout=1.5)
            with pytest.raises(errors.HandshakeError):
                await connect(real.address, identity=mallory, peer=bob.recipient, transport=transport, timeout=1.5)
            assert real.stats["refused"] >= 2

    run(main())


def test_a_callback_decides_who_may_connect_and_a_refusal_names_the_key() -> None:
    alice, bob = IDS["alice"], IDS["bob"]
    seen: list[stc.Recipient] = []

    def only_alice(recipient: Any) -> bool:
        seen.append(recipient)
        return bool(recipient == alice.recipient)

    async def main() -> None:
        async with await listen(LOOP, identity=bob, peers=only_alice, transport="tcp") as server:
            client, accepted = await pair(server, identity=alice, peer=bob.recipient, transport="tcp")
            await client.close()
            await accepted.close()
            with pytest.raises(errors.HandshakeError):
                await connect(server.address, identity=IDS["mallory"], peer=bob.recipient, transport="tcp", timeout=2)
        assert seen == [alice.recipient, IDS["mallory"].recipient]

    run(main())
    from stc.p2p.session.handshake import InitiatorHandshake, ResponderHandshake
    first = InitiatorHandshake(identity=IDS["mallory"], peer=bob.recipient).first_message()
    with pytest.raises(errors.HandshakeError, match=IDS["mallory"].recipient.to_string()):
        ResponderHandshake(first, identity=bob, peers=[alice.recipient])


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_a_wrong_code_makes_no_session(transport: str) -> None:
    async def main() -> None:
        async with await listen(LOOP, code="7-guitar-ocean", transport=transport) as server:
            with pytest.raises(errors.HandshakeError, match=r"wrong code|closed the connection|no session"):
                await connect(server.address, code="7-guitar-oceans", transport=transport, timeout=1.5)
            accept = asyncio.ensure_future(server.accept())
            await asyncio.sleep(0.2)
            assert not accept.done()  # the listener never delivers an unconfirmed session
            accept.cancel()

    run(main())


def test_modes_must_match() -> None:
    async def main() -> None:
        async with await listen(LOOP, code="7-guitar-ocean", transport="tcp") as by_code:
            with pytest.raises(errors.HandshakeError):
                await connect(by_code.address, identity=IDS["alice"], transport="tcp", timeout=2)
        async with await listen(LOOP, identity=IDS["bob"], transport="tcp", pq=True) as needs_pq:
            with pytest.raises(errors.HandshakeError):
                await connect(needs_pq.address, identity=IDS["alice"], transport="tcp", timeout=2)
            client, accepted = await pair(needs_pq, identity=IDS["alice"], pq=True, transport="tcp")
            assert client.pq and accepted.pq
            await client.close()
            await accepted.close()

    run(main())


def test_nothing_listening_is_a_clear_timeout() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(LOOP)
        address = s.getsockname()  # bound and silent: datagrams go nowhere
        with pytest.raises(errors.HandshakeError, match=r"within 0\.6 s"):
            run(connect(address, identity=IDS["alice"], timeout=0.6))
    with socket.socket() as s:
        s.bind(LOOP)
        port = s.getsockname()[1]
    with pytest.raises(errors.HandshakeError, match="cannot connect"):
        run(connect(("127.0.0.1", port), identity=IDS["alice"], transport="tcp", timeout=2))


def test_arguments_are_checked() -> None:
    async def main() -> None:
        for kwargs in ({}, {"identity": IDS["alice"], "code": "1-a-b"}, {"code": "1-a-b", "peer": IDS["bob"].recipient},
                       {"code": " "}):
            with pytest.raises(errors.ParameterError):
                await connect(("127.0.0.1", 9), timeout=1, **kwargs)
        for bad in ({"address": "127.0.0.1:9"}, {"transport": "quic"}, {"timeout": 0}, {"max_frame": 0},
                    {"datagram_size": 100}, {"rekey_after": 0}, {"keepalive": -1}):
            options = {"address": ("127.0.0.1", 9), "identity": IDS["alice"], **bad}
            with pytest.raises(errors.ParameterError):
                await connect(**options)
        with pytest.raises(errors.ParameterError, match="identity or a code"):
            await listen(LOOP)
        with pytest.raises(errors.ParameterError, match="peers are X25519 recipients"):
            await listen(LOOP, identity=IDS["bob"], peers=["stc-x25519-..."])  # type: ignore[list-item]

    run(main())


# ---- a lossy network --------------------------------------------------------------------------
class LossyProxy(asyncio.DatagramProtocol):
    """Between a client and a server on loopback: drops, duplicates and reorders datagrams."""

    def __init__(self, server: tuple[str, int], seed: int, drop: float = 0.2, duplicate: float = 0.1,
                 reorder: float = 0.1, tamper: Callable[[bytes], bytes | None] | None = None) -> None:
        self.server, self.rng = server, random.Random(seed)
        self.drop, self.duplicate, self.reorder, self.tamper = drop, duplicate, reorder, tamper
        self.client: tuple[str, int] | None = None
        self.transport: asyncio.DatagramTransport | None = None
        self.held: list[tuple[bytes, tuple[str, int]]] = []
        self.counts = {"dropped": 0, "duplicated": 0, "reordered": 0}

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        assert self.transport is not None
        if addr[:2] != self.server:
            self.client = addr[:2]
            target = self.server
        elif self.client is None:
            return
        else:
            target = self.client
        if self.tamper is not None:
            changed = self.tamper(data)
            if changed is None:
                return
            data = changed
        if self.rng.random() < self.drop:
            self.counts["dropped"] += 1
            return
        if self.rng.random() < self.reorder:
            self.held.append((data, target))
            self.counts["reordered"] += 1
            return
        self.transport.sendto(data, target)
        if self.rng.random() < self.duplicate:
            self.transport.sendto(data, target)
            self.counts["duplicated"] += 1
        while self.held and self.rng.random() < 0.5:
            self.transport.sendto(*self.held.pop(0))


async def proxy_for(server: Server, **kwargs: Any) -> tuple[LossyProxy, tuple[str, int]]:
    loop = asyncio.get_running_loop()
    transport, proxy = await loop.create_datagram_endpoint(
        lambda: LossyProxy(server.address, **kwargs), local_addr=LOOP)
    return proxy, transport.get_extra_info("sockname")[:2]


@pytest.mark.parametrize("mode", ["ik", "xx", "code"])
@pytest.mark.parametrize("seed", [1, 2])
def test_handshake_completes_and_frames_survive_a_lossy_network(mode: str, seed: int) -> None:
    alice, bob = IDS["alice"], IDS["bob"]

    async def main() -> None:
        if mode == "code":
            server = await listen(LOOP, code="4-purple-sausage")
            kwargs: dict[str, Any] = {"code": "4-purple-sausage"}
        else:
            server = await listen(LOOP, identity=bob)
            kwargs = {"identity": alice, "peer": bob.recipient if mode == "ik" else None}
        async with server:
            proxy, address = await proxy_for(server, seed=seed)
            client = asyncio.ensure_future(connect(address, timeout=20, **kwargs))
            accepted = await asyncio.wait_for(server.accept(), 25)
            client_session = await client
            sent = {}
            rng = random.Random(seed)
            for i in range(60):
                frame = i.to_bytes(4, "big") + rng.randbytes(rng.choice([100, 1200, 5000, 65536]))
                sent[i] = frame
                await client_session.send(frame)
                await asyncio.sleep(0.002)
            received: list[bytes] = []
            with pytest.raises(asyncio.TimeoutError):
                while True:
                    received.append(await asyncio.wait_for(accepted.recv(), 1.0))
            numbers = [int.from_bytes(f[:4], "big") for f in received]
            assert len(numbers) == len(set(numbers))  # never delivered twice
            assert all(f == sent[n] for n, f in zip(numbers, received, strict=True))  # whole and unchanged
            assert 0.3 * len(sent) <= len(received) < len(sent)  # 20% loss loses frames, not the session
            stats = accepted.stats
            assert stats["frames_received"] == len(received)
            assert proxy.counts["dropped"] > 0 and proxy.counts["duplicated"] > 0
            assert stats["replays"] > 0 or stats["lost"] > 0
            await client_session.close()
            await accepted.close()

    run(main(), timeout=90)


def test_forged_and_malformed_datagrams_are_counted_never_raised() -> None:
    alice, bob = IDS["alice"], IDS["bob"]

    def flip_data(data: bytes) -> bytes:
        if data[0] == 5 and len(data) > 40:  # a data datagram: change a byte of the sealed packet
            return data[:30] + bytes((data[30] ^ 1,)) + data[31:]
        return data

    async def main() -> None:
        async with await listen(LOOP, identity=bob) as server:
            proxy, address = await proxy_for(server, seed=3, drop=0, duplicate=0, reorder=0)
            connecting = asyncio.ensure_future(connect(address, identity=alice, peer=bob.recipient, timeout=10))
            accepted = await asyncio.wait_for(server.accept(), 15)
            client = await connecting
            proxy.tamper = flip_data
            for _ in range(5):
                await client.send(b"x" * 100)
            await asyncio.sleep(0.1)
            proxy.tamper = None
            assert accepted.stats["forged"] == 5 and accepted.stats["frames_received"] == 0
            raw = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            for junk in (b"", b"\x05", b"\x05" + bytes(12), b"\x09junk", b"\x01" + bytes(30), b"\x03" + bytes(3)):
                raw.sendto(junk, server.address)
            raw.close()
            await client.send(b"still fine")
            assert await asyncio.wait_for(accepted.recv(), 5) == b"still fine"
            assert server.stats["malformed"] >= 3
            await client.close()
            await accepted.close()

    run(main())


# ---- TCP -----------------------------------------------------------------------------------------
def test_tcp_break_in_the_middle_of_a_frame_raises_and_delivers_nothing() -> None:
    async def main() -> None:
        async with await listen(LOOP, code="2-tcp-break", transport="tcp") as server:
            client, accepted = await pair(server, code="2-tcp-break", transport="tcp")
            await client.send(b"whole")
            assert await accepted.recv() == b"whole"
            stream = client._send_packet.__self__  # type: ignore[attr-defined]
            stream.writer.write((1000).to_bytes(4, "big") + b"\x05" + b"only part of it")
            await stream.writer.drain()
            stream.writer.transport.abort()
            with pytest.raises(errors.TruncatedError, match="middle"):
                await asyncio.wait_for(accepted.recv(), 5)
            assert accepted.stats["frames_received"] == 1

    run(main())


def test_tcp_clean_close_ends_recv_and_iteration() -> None:
    async def main() -> None:
        async with await listen(LOOP, code="3-clean-close", transport="tcp") as server:
            client, accepted = await pair(server, code="3-clean-close", transport="tcp")
            for i in range(3):
                await client.send(b"%d" % i)
            await asyncio.sleep(0.1)
            await client.close()
            got = [frame async for frame in accepted]
            assert got == [b"0", b"1", b"2"]
            with pytest.raises(errors.SessionClosedError):
                await accepted.recv()
            with pytest.raises(errors.SessionClosedError):
                await client.send(b"after close")

    run(main())


def test_oversized_frames_are_refused_on_both_sides() -> None:
    async def main() -> None:
        async with await listen(LOOP, code="5-size", transport="tcp", max_frame=1000) as server:
            client, accepted = await pair(server, code="5-size", transport="tcp", max_frame=4000)
            with pytest.raises(errors.ParameterError, match="at most 4000"):
                await client.send(bytes(4001))
            await client.send(bytes(3000))  # the listener allows 1000: it ends the connection
            with pytest.raises(errors.TruncatedError):
                await asyncio.wait_for(accepted.recv(), 5)

    run(main())


def test_server_iteration_and_close() -> None:
    async def main() -> None:
        server = await listen(LOOP, code="6-many", transport="tcp")
        clients = [asyncio.ensure_future(connect(server.address, code="6-many", transport="tcp")) for _ in range(3)]
        accepted = []
        async for session in server:
            accepted.append(session)
            if len(accepted) == 3:
                break
        await asyncio.gather(*clients)
        await server.close()
        with pytest.raises(errors.SessionClosedError):
            await server.accept()
        assert [s async for s in server] == []
        assert "closed=True" in repr(server)

    run(main())


def test_keepalives_and_rekeys_by_time() -> None:
    async def main() -> None:
        async with await listen(LOOP, code="8-timers", keepalive=0.05, rekey_after=0.1) as server:
            client, accepted = await pair(server, code="8-timers", keepalive=0.05, rekey_after=0.1)
            await asyncio.sleep(0.6)
            await client.send(b"after rekeys")
            assert await asyncio.wait_for(accepted.recv(), 5) == b"after rekeys"
            assert client.stats["rekeys"] >= 2 and client.stats["keepalives_sent"] >= 2
            assert accepted.stats["keepalives_received"] >= 1
            assert "code" in repr(client) and client.role == "initiator" and accepted.role == "responder"
            await client.close()
            await accepted.close()

    run(main())


def test_the_peer_address_moves_only_with_an_authenticated_packet() -> None:
    async def main() -> None:
        async with await listen(LOOP, code="9-roam") as server:
            client, accepted = await pair(server, code="9-roam")
            link = accepted._send_packet.__self__  # type: ignore[attr-defined]
            before = link.address
            raw = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            raw.bind(LOOP)
            index = link.remote_index  # what the server writes; the client's index is what it reads
            server_index = client._send_packet.__self__.remote_index  # type: ignore[attr-defined]
            from stc.p2p.session.wire import Fragment
            raw.sendto(Fragment(server_index, 99, 0, 1, bytes(64)).to_bytes(), server.address)  # forged
            await asyncio.sleep(0.1)
            assert link.address == before and accepted.stats["forged"] + accepted.stats["malformed"] >= 1
            # a genuine packet from a new address (the client roamed): the server follows it
            packet = bytes(client._ctx.encrypt_packet(b"\x00roamed"))
            raw.sendto(Fragment(server_index, 100, 0, 1, packet).to_bytes(), server.address)
            assert await asyncio.wait_for(accepted.recv(), 5) == b"roamed"
            assert link.address == raw.getsockname()
            raw.close()
            del index
            await client.close()
            await accepted.close()

    run(main())


def test_a_flood_of_initiations_gets_cookies_not_state(monkeypatch: pytest.MonkeyPatch) -> None:
    from stc.p2p.session import udp_listener as udp
    from stc.p2p.session.handshake import InitiatorHandshake
    from stc.p2p.session.wire import COOKIE, INITIATION, Datagram

    monkeypatch.setattr(udp, "COOKIE_LOAD", 4)
    monkeypatch.setattr(udp, "MAX_PENDING", 8)

    async def main() -> None:
        async with await listen(LOOP, code="10-flood") as server:
            raw = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            raw.bind(LOOP)
            raw.settimeout(2)
            for i in range(20):  # initiations that will never finish
                first = InitiatorHandshake(code="10-flood").first_message()
                raw.sendto(Datagram(INITIATION, i, first).to_bytes(), server.address)
            await asyncio.sleep(0.3)
            listener = server._listener
            assert len(listener._pending) == 4  # state only up to the cookie threshold
            assert listener.stats["cookies_sent"] == 16
            replies = []
            raw.setblocking(False)
            while True:
                try:
                    replies.append(raw.recv(4096))
                except BlockingIOError:
                    break
            cookies = [Datagram.from_bytes(r) for r in replies if r[0] == COOKIE]
            assert len(cookies) == 16
            # a real client still gets through: it echoes the cookie
            client, accepted = await pair(server, code="10-flood", timeout=10)
            await client.send(b"through")
            assert await asyncio.wait_for(accepted.recv(), 5) == b"through"
            await client.close()
            await accepted.close()
            raw.close()

    run(main())


def test_a_session_switches_its_media_to_sframe() -> None:
    async def main() -> None:
        async with await listen(LOOP, identity=IDS["bob"]) as server:
            client, accepted = await pair(server, identity=IDS["alice"], peer=IDS["bob"].recipient)
            tx, rx = client.sframe_context(1), accepted.sframe_context(1)
            assert tx.session_kid is not None and tx.session_kid >> 63 == 0  # the initiator's direction
            wire = tx.protect(tx.session_kid, b"an encoded frame", b"rtp")
            await client.send(wire)  # SFrame ciphertexts travel inside the session (or any relay)
            assert rx.unprotect(await accepted.recv(), b"rtp") == b"an encoded frame"
            back = accepted.sframe_context(1)
            with pytest.raises(errors.ParameterError):
                back.unprotect(back.protect(back.session_kid, b"reflected"))  # type: ignore[arg-type]
            await client.close()
            await accepted.close()

    run(main())
