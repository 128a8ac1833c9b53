"""A small UDP transport for frames: asyncio datagram endpoints over a StreamingContext.

One datagram carries ``header(16) || sealed payload``.  The receiver decrypts
every datagram and queues the frames that authenticate; rejected ones are only
counted, by error kind.  Frames bigger than one datagram must be split by the
application (UDP payloads are at most 65,507 bytes).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any, cast

from ..errors import ParameterError, STCError
from . import HEADER_SIZE, ChunkHeader, StreamingContext

MAX_DATAGRAM = 65507


class FrameSender:
    """Seals frames and sends them as datagrams to one peer."""

    def __init__(self, ctx: StreamingContext, transport: asyncio.DatagramTransport) -> None:
        self.ctx, self.transport = ctx, transport

    def seal(self, frame: bytes) -> bytes:
        """Header and sealed payload as one datagram (not yet sent)."""
        header, body = self.ctx.encrypt_chunk(frame)
        packet = header.to_bytes() + body
        if len(packet) > MAX_DATAGRAM:
            raise ParameterError(f"a sealed frame of {len(packet)} bytes does not fit one UDP datagram")
        return packet

    def send(self, frame: bytes) -> None:
        """Seal and send one frame."""
        self.transport.sendto(self.seal(frame))

    def close(self) -> None:
        self.transport.close()


class FrameReceiver(asyncio.DatagramProtocol):
    """Decrypts each datagram; authenticated frames go to :attr:`frames`."""

    def __init__(self, ctx: StreamingContext) -> None:
        self.ctx = ctx
        self.frames: asyncio.Queue[tuple[ChunkHeader, bytes, float]] = asyncio.Queue()
        self.rejected: Counter[str] = Counter()
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: Any) -> None:
        try:
            header = ChunkHeader.from_bytes(data[:HEADER_SIZE])
            frame = self.ctx.decrypt_chunk(header, data[HEADER_SIZE:])
        except STCError as exc:
            self.rejected[type(exc).__name__] += 1
            return
        self.frames.put_nowait((header, frame, time.perf_counter()))

    @property
    def local_address(self) -> tuple[str, int]:
        """The (host, port) this receiver listens on."""
        if self.transport is None:
            raise RuntimeError("the receiver is not connected yet")
        addr: tuple[str, int] = self.transport.get_extra_info("sockname")[:2]
        return addr


async def open_receiver(ctx: StreamingContext, host: str = "127.0.0.1", port: int = 0) -> FrameReceiver:
    """Listen for frames on (host, port); port 0 picks a free one (see ``local_address``)."""
    loop = asyncio.get_running_loop()
    _, protocol = await loop.create_datagram_endpoint(lambda: FrameReceiver(ctx), local_addr=(host, port))
    return protocol


async def open_sender(ctx: StreamingContext, address: tuple[str, int]) -> FrameSender:
    """A sender whose datagrams go to ``address``."""
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, remote_addr=address)
    return FrameSender(ctx, transport)
