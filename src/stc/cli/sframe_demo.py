"""``stc stream-demo --sframe``: real VP8 video through RFC 9605 SFrame over loopback UDP.

A test pattern is encoded by PyAV (``pip install 'stc-authenc[video]'``), each encoded frame
is protected by the sender's :class:`~stc.p2p.sframe.SFrameContext` (keyed by an X25519
session), sent as one datagram, unprotected and decoded on the other side.  An attacker
replays a few datagrams on the way; they are refused.  Nothing here is a benchmark.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from fractions import Fraction
from typing import Any

from ..p2p.handshake import KeyExchange
from ..p2p.sframe import parse_header

WIDTH, HEIGHT = 320, 240


def _pattern(av: Any, index: int) -> Any:
    """A moving diagonal gradient (Y) over a hue that changes with time (U, V)."""
    frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
    ramp = bytes(range(256)) * 4
    for plane, rows, value in ((frame.planes[0], HEIGHT, None), (frame.planes[1], HEIGHT // 2, 128),
                               (frame.planes[2], HEIGHT // 2, (index * 4) & 0xFF)):
        width = plane.line_size
        if value is None:
            data = b"".join(ramp[(r + 4 * index) % 256:][:width] for r in range(rows))
        else:
            data = bytes((value,)) * (width * rows)
        plane.update(data)
    frame.pts = index
    return frame


class _Inbox(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.queue.put_nowait(data)


async def sframe_demo(frames: int = 90, fps: float = 30.0, suite: str = "AES_128_GCM_SHA256_128") -> dict[str, Any]:
    """Encode, protect, send, unprotect and decode ``frames`` video frames; report what happened."""
    import av  # the optional extra; the caller checked it is installed

    from ..errors import DecryptionError

    alice, bob = KeyExchange(), KeyExchange()
    tx = alice.streaming_context(bob.public_key, info=b"stc sframe demo").sframe_context(suite)
    rx = bob.streaming_context(alice.public_key, info=b"stc sframe demo").sframe_context(suite)
    encoder = av.CodecContext.create("libvpx", "w")
    encoder.width, encoder.height, encoder.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    encoder.time_base, encoder.framerate = Fraction(1, round(fps)), Fraction(round(fps))
    encoder.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    decoder = av.CodecContext.create("vp8", "r")
    loop = asyncio.get_running_loop()
    transport, inbox = await loop.create_datagram_endpoint(_Inbox, local_addr=("127.0.0.1", 0))
    out, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol,
                                                 remote_addr=transport.get_extra_info("sockname"))
    sent_at: dict[int, float] = {}
    latencies, overheads, encoded_bytes = [], [], 0
    decoded = refused = sent = 0
    wires: list[bytes] = []
    started = time.perf_counter()

    def receive(wire: bytes) -> None:
        nonlocal decoded, refused
        try:
            packet = rx.unprotect(wire)
        except DecryptionError:
            refused += 1
            return
        for _ in decoder.decode(av.Packet(packet)):
            decoded += 1
        latencies.append(time.perf_counter() - sent_at[parse_header(wire)[1]])  # CTR = send order

    async def consume() -> None:
        while True:
            receive(await inbox.queue.get())

    consumer = asyncio.create_task(consume(), name="sframe demo receiver")
    for index in range(frames + 1):
        packets = encoder.encode(_pattern(av, index) if index < frames else None)
        for packet in packets:
            data = bytes(packet)
            sent_at[sent] = time.perf_counter()
            wire = tx.protect(tx.session_kid, data)  # type: ignore[arg-type]
            overheads.append(len(wire) - len(data))
            encoded_bytes += len(data)
            out.sendto(wire)
            wires.append(wire)
            sent += 1
            if sent % 30 == 0:
                out.sendto(wires[sent // 2])  # an attacker replays an earlier frame
        await asyncio.sleep(max(0.0, started + (index + 1) / fps - time.perf_counter()))
    deadline = time.perf_counter() + 2.0
    while len(latencies) < sent and time.perf_counter() < deadline:
        await asyncio.sleep(0.01)
    consumer.cancel()
    out.close()
    transport.close()
    lat_ms = sorted(x * 1e3 for x in latencies) or [0.0]
    return {
        "suite": rx.suite.name,
        "codec": "VP8 (libvpx, PyAV)",
        "frames_encoded": sent,
        "frames_decoded": decoded,
        "replays_refused": refused,
        "encoded_bytes_per_frame": encoded_bytes / max(sent, 1),
        "sframe_overhead_bytes_per_frame": statistics.mean(overheads) if overheads else 0.0,
        "native_overhead_bytes_per_frame": 32,
        "latency_ms_p50": statistics.median(lat_ms),
        "latency_ms_p95": lat_ms[min(len(lat_ms) - 1, int(0.95 * len(lat_ms)))],
        "receiver_stats": rx.stats,
    }
