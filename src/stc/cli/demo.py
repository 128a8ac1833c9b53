"""The main job shown by ``stc demo``: a message, a file and a P2P stream, each verified.

Everything runs locally in a temporary folder; the functions return plain dicts
so the CLI can print them and the tests can check them.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import struct
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..context import STCContext
from ..errors import IntegrityError, STCError

Progress = Callable[[int, "int | None"], Any]


def message_demo() -> dict[str, Any]:
    """Encrypt a message bound to context data; check the right and wrong contexts."""
    ctx = STCContext("demo-seed", lattice_size=64, depth=4)
    context = {"user": "alice", "purpose": "backup"}
    started = time.perf_counter()
    ciphertext, meta = ctx.encrypt("Meet at the usual place at 9.", "demo password", context_data=context)
    first = time.perf_counter() - started
    started = time.perf_counter()
    ctx.encrypt("second message", "demo password", context_data=context)
    reused = time.perf_counter() - started
    plain = ctx.decrypt(ciphertext, meta, "demo password", context_data=context)
    refused = []
    for label, kwargs in (("wrong password", {"password": "guess", "context_data": context}),
                          ("wrong context", {"password": "demo password", "context_data": {"user": "bob"}})):
        try:
            ctx.decrypt(ciphertext, meta, **kwargs)  # type: ignore[call-overload]
        except STCError as exc:
            refused.append(f"{label}: {type(exc).__name__}")
    return {
        "plaintext_ok": plain == "Meet at the usual place at 9.",
        "metadata_bytes": meta.size,
        "ciphertext_bytes": len(ciphertext),
        "first_encrypt_ms": first * 1e3,
        "reused_encrypt_ms": reused * 1e3,
        "refused": refused,
    }


def file_demo(folder: Path, size: int = 8 << 20, progress: Progress | None = None) -> dict[str, Any]:
    """Encrypt and decrypt a file of ``size`` bytes; check a tampered copy is refused."""
    ctx = STCContext("demo-seed", lattice_size=64, depth=4)
    src, enc, out = folder / "demo.bin", folder / "demo.bin.stc", folder / "demo.out"
    data = os.urandom(size)
    src.write_bytes(data)
    started = time.perf_counter()
    meta = ctx.encrypt_stream(src, enc, "demo password", chunk_size=1 << 20, progress_callback=progress)
    enc_s = time.perf_counter() - started
    started = time.perf_counter()
    ctx.decrypt_stream(enc, meta, out, "demo password")
    dec_s = time.perf_counter() - started
    blob = bytearray(enc.read_bytes())
    blob[meta.size + 3 * (1 << 20) + 100] ^= 1
    (folder / "tampered.stc").write_bytes(blob)
    try:
        ctx.decrypt_stream(folder / "tampered.stc", output_path=folder / "tampered.out", password="demo password")
        tamper = "NOT DETECTED"
    except IntegrityError as exc:
        tamper = str(exc)
    return {
        "bytes": size,
        "roundtrip_ok": out.read_bytes() == data,
        "encrypt_mb_s": size / 1e6 / enc_s,
        "decrypt_mb_s": size / 1e6 / dec_s,
        "tampered_copy": tamper,
        "tampered_output_left": (folder / "tampered.out").exists(),
        "middle_range_ok": ctx.decrypt_range(enc, 5_000_000, 16, "demo password") == data[5_000_000:5_000_016],
    }


def folder_demo(folder: Path) -> dict[str, Any]:
    """Encrypt a small folder (nested, unicode, empty file and directory, a symlink), list it,
    extract it, and show that an archive member escaping the folder is refused."""
    import io
    import tarfile

    from ..folders import FolderError, decrypt_folder, encrypt_folder, list_folder

    ctx = STCContext("demo-seed", lattice_size=64, depth=4)
    src = folder / "tree"
    (src / "notes" / "été").mkdir(parents=True)
    (src / "notes" / "été" / "plan.txt").write_text("nothing secret here\n")
    (src / "empty").mkdir()
    (src / "empty.txt").write_bytes(b"")
    os.symlink("notes/été/plan.txt", src / "shortcut")
    encrypt_folder(src, folder / "tree.stc", "demo password", ctx=ctx)
    names = [m.name for m in list_folder(folder / "tree.stc", "demo password", ctx=ctx)]
    decrypt_folder(folder / "tree.stc", folder / "restored", "demo password", ctx=ctx)
    same = all((folder / "restored" / n).is_symlink() if (src / n).is_symlink() else
               (folder / "restored" / n).exists() for n in names)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        evil = tarfile.TarInfo("../../outside.txt")
        tar.addfile(evil, io.BytesIO(b""))
    ctx.encrypt_stream(io.BytesIO(raw.getvalue()), folder / "evil.stc", "demo password")
    try:
        decrypt_folder(folder / "evil.stc", folder / "evil", "demo password", ctx=ctx)
        refused = "NOT REFUSED"
    except FolderError as exc:
        refused = str(exc)
    return {"entries": len(names), "roundtrip_ok": same, "escape_refused": refused,
            "escape_left_nothing": not (folder / "evil").exists() and not (folder.parent / "outside.txt").exists()}


class _Chaos(asyncio.DatagramProtocol):
    """A network between the peers: duplicates and reorders some datagrams, and an attacker
    replays one now and then (a simulated network; its randomness never touches a key)."""

    def __init__(self, server: tuple[str, int], chaos: bool) -> None:
        self.server, self.chaos, self.net = server, chaos, random.Random(1)
        self.client: tuple[str, int] | None = None
        self.transport: asyncio.DatagramTransport | None = None
        self.held: list[tuple[bytes, tuple[str, int]]] = []
        self.seen: list[bytes] = []
        self.count = 0

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        assert self.transport is not None
        if addr[:2] != self.server:
            self.client, target = addr[:2], self.server
        elif self.client is None:
            return
        else:
            target = self.client
        self.count += 1
        if not self.chaos or data[0] != 5:  # handshakes pass untouched; data datagrams get the chaos
            self.transport.sendto(data, target)
            return
        if self.net.random() < 0.1:
            self.held.append((data, target))  # arrives two datagrams late
        else:
            self.transport.sendto(data, target)
        if self.net.random() < 0.1:
            self.transport.sendto(data, target)  # the network duplicates it
        if target == self.server:
            self.seen.append(data)
            if self.count % 20 == 0:
                self.transport.sendto(self.net.choice(self.seen), target)  # an attacker replays one
        if self.held and self.count % 2 == 0:
            self.transport.sendto(*self.held.pop(0))


async def stream_demo(frames: int = 60, fps: float = 30.0, frame_size: int = 5000,
                      chaos: bool = True) -> dict[str, Any]:
    """Send ``frames`` frames at ``fps`` over an authenticated UDP session on loopback (Noise IK
    with two new identities); with ``chaos``, the network duplicates and reorders a few and an
    attacker replays some."""
    from ..keys.recipients.x25519 import X25519Identity
    from ..p2p.session import connect, listen

    alice, bob = X25519Identity.generate(), X25519Identity.generate()
    loop = asyncio.get_running_loop()
    server = await listen(("127.0.0.1", 0), identity=bob, peers=[alice.recipient])
    proxy_transport, proxy = await loop.create_datagram_endpoint(lambda: _Chaos(server.address, chaos),
                                                                 local_addr=("127.0.0.1", 0))
    started = time.perf_counter()
    connecting = asyncio.ensure_future(connect(proxy_transport.get_extra_info("sockname")[:2], identity=alice,
                                               peer=bob.recipient, timeout=10))
    receiver = await server.accept()
    sender = await connecting
    handshake_ms = (time.perf_counter() - started) * 1e3
    latencies: list[float] = []
    sent_at: dict[int, float] = {}

    async def consume() -> None:
        while True:
            frame = await receiver.recv()
            (index,) = struct.unpack_from(">I", frame)
            latencies.append(time.perf_counter() - sent_at[index])

    consumer = asyncio.create_task(consume(), name="stc demo receiver")
    started = time.perf_counter()
    for i in range(frames):
        sent_at[i] = time.perf_counter()
        await sender.send(struct.pack(">I", i) + os.urandom(frame_size - 4))
        await asyncio.sleep(max(0.0, started + (i + 1) / fps - time.perf_counter()))
    for data, target in proxy.held:
        assert proxy.transport is not None
        proxy.transport.sendto(data, target)
    deadline = time.perf_counter() + 1.0
    while len(latencies) < frames and time.perf_counter() < deadline:
        await asyncio.sleep(0.01)
    elapsed = time.perf_counter() - started
    consumer.cancel()
    stats = receiver.stats
    await sender.close()
    await receiver.close()
    await server.close()
    proxy_transport.close()
    lat_ms = sorted(x * 1e3 for x in latencies) or [0.0]
    rejected = {k: stats[k] for k in ("replays", "forged", "malformed", "lost") if stats[k]}
    return {
        "frames_sent": frames,
        "frames_received": len(latencies),
        "fps": len(latencies) / elapsed,
        "handshake_ms": handshake_ms,
        "peer_authenticated": receiver.peer == alice.recipient and sender.peer == bob.recipient,
        "latency_ms_p50": statistics.median(lat_ms),
        "latency_ms_p95": lat_ms[min(len(lat_ms) - 1, int(0.95 * len(lat_ms)))],
        "latency_ms_p99": lat_ms[min(len(lat_ms) - 1, int(0.99 * len(lat_ms)))],
        "frames_rejected": rejected,
        "overhead_bytes_per_frame": 16 + 16 + 1 + 13,
    }

