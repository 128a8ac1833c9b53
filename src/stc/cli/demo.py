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
from ..p2p.handshake import KeyExchange
from ..p2p.transport import open_receiver, open_sender

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


async def stream_demo(frames: int = 60, fps: float = 30.0, frame_size: int = 5000,
                      chaos: bool = True) -> dict[str, Any]:
    """Send ``frames`` frames over loopback UDP at ``fps``; with ``chaos``, the network
    duplicates and reorders a few and an attacker replays some.  Peers agree on a key
    with X25519 first."""
    alice, bob = KeyExchange(), KeyExchange()
    tx = alice.streaming_context(bob.public_key, info=b"stc demo")  # roles: reflected frames are refused
    rx = bob.streaming_context(alice.public_key, info=b"stc demo")
    rx.check_stream_metadata(tx.get_stream_metadata())
    receiver = await open_receiver(rx)
    sender = await open_sender(tx, receiver.local_address)
    net = random.Random(1)  # simulated network behaviour only; never used for keys
    latencies: list[float] = []
    sent_at: dict[int, float] = {}
    delivered: list[bytes] = []
    held: list[bytes] = []
    started = time.perf_counter()

    async def drain() -> None:
        while not receiver.frames.empty():
            _, frame, t = receiver.frames.get_nowait()
            (index,) = struct.unpack_from(">I", frame)
            latencies.append(t - sent_at[index])

    for i in range(frames):
        sent_at[i] = time.perf_counter()
        packet = sender.seal(struct.pack(">I", i) + os.urandom(frame_size - 4))
        if chaos and net.random() < 0.1:
            held.append(packet)  # arrives two frames late
        else:
            sender.transport.sendto(packet)
            delivered.append(packet)
        if chaos and net.random() < 0.1:
            sender.transport.sendto(packet)  # the network duplicates it
        if chaos and i % 20 == 19:
            sender.transport.sendto(net.choice(delivered))  # an attacker replays a frame
        if len(held) and (i % 2 == 1):
            sender.transport.sendto(held.pop(0))
        await asyncio.sleep(max(0.0, started + (i + 1) / fps - time.perf_counter()))
        await drain()
    for packet in held:
        sender.transport.sendto(packet)
    deadline = time.perf_counter() + 1.0
    while len(latencies) < frames and time.perf_counter() < deadline:
        await asyncio.sleep(0.01)
        await drain()
    elapsed = time.perf_counter() - started
    sender.close()
    if receiver.transport is not None:
        receiver.transport.close()
    lat_ms = sorted(x * 1e3 for x in latencies) or [0.0]
    stats = rx.get_performance_stats()
    return {
        "frames_sent": frames,
        "frames_received": len(latencies),
        "fps": len(latencies) / elapsed,
        "latency_ms_p50": statistics.median(lat_ms),
        "latency_ms_p95": lat_ms[min(len(lat_ms) - 1, int(0.95 * len(lat_ms)))],
        "latency_ms_p99": lat_ms[min(len(lat_ms) - 1, int(0.99 * len(lat_ms)))],
        "frames_rejected": dict(receiver.rejected),
        "avg_decrypt_ms": stats["avg_decrypt_ms"],
        "overhead_bytes_per_frame": 32,
    }

