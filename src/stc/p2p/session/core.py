"""A live P2P session: frames sealed by :class:`~stc.p2p.StreamingContext`, keyed by a handshake.

The transport (UDP or TCP) hands every whole sealed packet to :meth:`Session._receive`, which
never raises: a malformed, forged, replayed or late packet is dropped and counted in
:attr:`Session.stats`.  Frames wait in a bounded inbox for :meth:`Session.recv`.  A timer sends
keepalives when the session is quiet and starts a new sending epoch every ``rekey_after``
seconds (the frame key schedule rotates by bytes on its own).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from ...errors import (
    DecryptionError,
    FormatError,
    ParameterError,
    ReplayError,
    SessionClosedError,
    STCError,
)
from ...keys.recipients.x25519 import X25519Recipient
from ..context import DEFAULT_SUBCHUNK, StreamingContext
from ..frame import HEADER_SIZE
from ..sframe import SFrameContext
from ..subchunks import sealed_size
from .handshake import SessionKeys
from .wire import KIND_ACK, KIND_CONFIRM, KIND_FRAME, KIND_KEEPALIVE

#: Largest frame by default (``max_frame=`` changes it).
DEFAULT_MAX_FRAME = 1 << 20
#: Frames waiting for recv(); past this the oldest is dropped (counted as ``dropped``).
INBOX = 4096
#: What :attr:`Session.stats` counts.
STATS = ("frames_sent", "frames_received", "bytes_sent", "bytes_received", "replays", "forged", "malformed",
         "lost", "dropped", "keepalives_sent", "keepalives_received", "rekeys")


def packet_limit(max_frame: int) -> int:
    """The largest sealed packet of a frame of ``max_frame`` bytes: 16-byte header, then the
    kind byte and the frame in 32 KiB sub-chunks, each with its tag (docs/format.md §5)."""
    return HEADER_SIZE + sealed_size(max_frame + 1, DEFAULT_SUBCHUNK)


def tick_interval(keepalive: float, rekey_after: float) -> float:
    """How often a session's timer looks: twice per its shorter period, so neither is late by
    more than half of it."""
    return min(keepalive, rekey_after) / 2


def due(now: float, since: float, every: float) -> bool:
    """True once ``every`` seconds have passed since ``since`` (keepalives and rekeys)."""
    return now - since >= every


SendPacket = Callable[[bytearray], Awaitable[None]]
T = TypeVar("T")


async def until_closed(wanted: Awaitable[T], closed: asyncio.Event) -> tuple[bool, T | None]:
    """Await ``wanted`` unless ``closed`` is set first: (True, its result) or (False, None)."""
    getter = asyncio.ensure_future(wanted)
    closer = asyncio.ensure_future(closed.wait())
    done, _ = await asyncio.wait({getter, closer}, return_when=asyncio.FIRST_COMPLETED)
    closer.cancel()
    if getter in done:
        return True, getter.result()
    getter.cancel()
    return False, None


class Session:
    """One authenticated session with one peer; ``async with`` closes it.

    ``peer`` is the peer's STC recipient (None in code mode), ``handshake_hash`` the Noise
    transcript hash for channel binding, ``stats`` the counts listed in :data:`STATS`;
    ``max_frame``, ``rekey_after`` and ``keepalive`` are the settings it was made with.
    """

    def __init__(self, keys: SessionKeys, send_packet: SendPacket, *, max_frame: int = DEFAULT_MAX_FRAME,
                 rekey_after: float = 120.0, keepalive: float = 10.0, close: Callable[[], None] | None = None) -> None:
        self.peer: X25519Recipient | None = keys.peer
        self.handshake_hash, self.role, self.pq = keys.handshake_hash, keys.role, keys.pq
        self.max_frame, self.rekey_after, self.keepalive = max_frame, rekey_after, keepalive
        self._ctx = StreamingContext(keys.seed, optimal_chunk_size=DEFAULT_SUBCHUNK, enable_adaptive_chunking=False,
                                     role=keys.role, key_rotation_mb=64)
        self._send_packet, self._close_transport = send_packet, close
        self._inbox: asyncio.Queue[bytes] = asyncio.Queue()
        self._stats = dict.fromkeys(STATS, 0)
        self._error: STCError | None = None
        self._closed = asyncio.Event()
        self.confirmed = asyncio.Event()  # an authenticated packet arrived from the peer
        self._last_sent = time.monotonic()
        self._plain = bytearray()
        self._timer = asyncio.get_running_loop().create_task(self._tick(), name="stc session timer")

    def __repr__(self) -> str:
        peer = "code" if self.peer is None else self.peer.to_string()[:24] + "…"
        return f"Session(role={self.role}, peer={peer}, pq={self.pq}, closed={self._closed.is_set()})"

    @property
    def stats(self) -> dict[str, int]:
        """Frames and bytes sent and received, and packets refused by reason (see :data:`STATS`)."""
        return dict(self._stats)

    def sframe_context(self, suite: str | int = "AES_128_GCM_SHA256_128", *,
                       replay_window: int | None = None) -> SFrameContext:
        """An RFC 9605 SFrame context keyed by this session, one base key per direction
        (docs/format.md §11.3): ``ctx.protect(ctx.session_kid, frame)`` here,
        ``ctx.unprotect(wire)`` on the peer's context."""
        return self._ctx.sframe_context(suite, replay_window=replay_window)

    # ---- sending -----------------------------------------------------------------------------
    async def send(self, frame: bytes | bytearray | memoryview) -> None:
        """Seal and send one frame (at most ``max_frame`` bytes)."""
        if not isinstance(frame, (bytes, bytearray, memoryview)):
            raise ParameterError("a frame is bytes")
        if len(frame) > self.max_frame:
            raise ParameterError(f"a frame is at most {self.max_frame} bytes (max_frame=); got {len(frame)}")
        self._raise_if_closed()
        await self._send_kind(KIND_FRAME, frame)
        self._stats["frames_sent"] += 1
        self._stats["bytes_sent"] += len(frame)

    async def _send_kind(self, kind: int, body: bytes | bytearray | memoryview = b"") -> None:
        n = len(body) + 1  # the kind byte, then the frame, in one buffer reused from frame to frame
        if len(self._plain) < n:  # (nothing awaits between filling it and sealing it)
            self._plain = bytearray(n)
        self._plain[0] = kind
        self._plain[1:n] = body
        packet = self._ctx.encrypt_packet(memoryview(self._plain)[:n])
        self._last_sent = time.monotonic()
        await self._send_packet(packet)

    # ---- receiving ---------------------------------------------------------------------------
    async def recv(self) -> bytes:
        """The next frame; SessionClosedError once the session ended (or the error that ended it)."""
        while True:
            if not self._inbox.empty():
                return self._inbox.get_nowait()
            self._raise_if_closed()
            got, frame = await until_closed(self._inbox.get(), self._closed)
            if got:
                return frame  # type: ignore[return-value]

    def __aiter__(self) -> Session:
        return self

    async def __anext__(self) -> bytes:
        try:
            return await self.recv()
        except SessionClosedError:
            raise StopAsyncIteration from None

    def _receive(self, packet: bytes) -> int | None:
        """Open one sealed packet from the transport; the kind it carried, or None if refused."""
        try:
            plain = self._ctx.decrypt_packet(packet)
        except ReplayError:
            self._stats["replays"] += 1
            return None
        except FormatError:
            self._stats["malformed"] += 1
            return None
        except DecryptionError:
            self._stats["forged"] += 1
            return None
        if not plain:
            self._stats["malformed"] += 1
            return None
        kind = plain[0]
        self.confirmed.set()
        if kind == KIND_FRAME:
            if self._inbox.qsize() >= INBOX:
                self._inbox.get_nowait()
                self._stats["dropped"] += 1
            self._inbox.put_nowait(bytes(memoryview(plain)[1:]))
            self._stats["frames_received"] += 1
            self._stats["bytes_received"] += len(plain) - 1
        elif kind == KIND_KEEPALIVE:
            self._stats["keepalives_received"] += 1
        elif kind == KIND_CONFIRM:
            asyncio.get_running_loop().create_task(self._send_kind(KIND_ACK), name="stc session ack")
        elif kind != KIND_ACK:
            self._stats["malformed"] += 1
            return None
        return kind

    def _count(self, what: str, n: int = 1) -> None:
        self._stats[what] += n

    # ---- life --------------------------------------------------------------------------------
    async def _tick(self) -> None:
        rekey_after, keepalive = self.rekey_after, self.keepalive
        rotated = time.monotonic()
        with contextlib.suppress(asyncio.CancelledError):
            while not self._closed.is_set():
                await asyncio.sleep(tick_interval(keepalive, rekey_after))
                now = time.monotonic()
                if due(now, rotated, rekey_after):
                    self._ctx.rotate_key()
                    self._stats["rekeys"] += 1
                    rotated = now
                if due(now, self._last_sent, keepalive) and self.confirmed.is_set():
                    with contextlib.suppress(OSError, STCError):
                        await self._send_kind(KIND_KEEPALIVE)
                        self._stats["keepalives_sent"] += 1

    def _end(self, error: STCError | None = None) -> None:
        """The transport ended (``error`` if it broke); recv raises once the inbox is empty."""
        if not self._closed.is_set():
            self._error = error
            self._closed.set()
            self._timer.cancel()

    def _raise_if_closed(self) -> None:
        if self._closed.is_set():
            raise self._error if self._error is not None else SessionClosedError("the session is closed")

    async def close(self) -> None:
        """End the session; frames not yet received are dropped."""
        self._end()
        if self._close_transport is not None:
            self._close_transport()
        with contextlib.suppress(asyncio.CancelledError):
            await self._timer

    async def __aenter__(self) -> Session:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()
