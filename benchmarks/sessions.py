"""P2P sessions: handshakes, frames over loopback UDP, and ``stc send`` of a file over TCP.

``python benchmarks/sessions.py [--quick] [--json FILE]`` prints tables and writes JSON
(default benchmarks/results/latest-sessions.json).  Medians, and ratios taken within one run:

- **handshakes**: each mode (IK, XX, code) with and without ``pq``, in process (the
  handshake objects alone) and over loopback (``connect`` + ``accept``, UDP and TCP);
- **frames over loopback UDP**: frames a second through a session (1,200-byte and 64 KiB frames,
  about 40 KB in flight), beside a bare loop over the same kind of socket: AES-256-GCM seal,
  the same 1,200-byte datagrams, reassembly and open, nothing else; and the one-way latency of
  a frame sent alone;
- **file over TCP**: ``stc send`` to ``stc receive`` (two processes, a file on /dev/shm) beside a
  plain socket copy of the same file between two processes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from stc.keys.recipients.x25519 import X25519Identity
from stc.p2p.session import connect, listen
from stc.p2p.session.handshake import InitiatorHandshake, ResponderHandshake

ALICE, BOB = X25519Identity.generate(), X25519Identity.generate()
MODES = {"IK": ({"identity": ALICE, "peer": BOB.recipient}, {"identity": BOB}),
         "XX": ({"identity": ALICE}, {"identity": BOB}),
         "code": ({"code": "7-guitar-ocean"}, {"code": "7-guitar-ocean"})}


def handshake_in_process(mode: str, pq: bool, repeat: int) -> float:
    """Median ms of one complete handshake, both sides, no I/O."""
    times = []
    ini, res = MODES[mode]
    for _ in range(repeat):
        start = time.perf_counter()
        i = InitiatorHandshake(pq=pq, **ini)  # type: ignore[arg-type]
        r = ResponderHandshake(i.first_message(), **res)  # type: ignore[arg-type]
        final = i.read_response(r.response())
        if final is not None:
            r.read_final(final)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


async def handshake_loopback(mode: str, pq: bool, transport: str, repeat: int) -> float:
    """Median ms from connect() to both sides holding a confirmed session."""
    ini, res = MODES[mode]
    times = []
    async with await listen(("127.0.0.1", 0), transport=transport, **res) as server:  # type: ignore[arg-type]
        for _ in range(repeat):
            start = time.perf_counter()
            client = asyncio.ensure_future(connect(server.address, transport=transport, pq=pq, **ini))  # type: ignore[arg-type]
            accepted = await server.accept()
            session = await client
            times.append(time.perf_counter() - start)
            await session.close()
            await accepted.close()
    return statistics.median(times) * 1e3


def window(size: int) -> int:
    """Frames in flight: about 40 KB of datagrams, so loopback's socket buffer never overflows."""
    return max(1, min(32, 40_000 // size))


async def session_frames(size: int, count: int) -> dict[str, float]:
    """Frames a second through a UDP session (``window`` in flight), and the one-way latency alone."""
    async with await listen(("127.0.0.1", 0), code="1-bench-frames") as server:
        client = asyncio.ensure_future(connect(server.address, code="1-bench-frames"))
        rx = await server.accept()
        tx = await client
        frame = os.urandom(size)
        received = 0

        async def drain(n: int) -> None:
            nonlocal received
            for _ in range(n):
                await asyncio.wait_for(rx.recv(), 0.5)
                received += 1

        start = time.perf_counter()
        sent = 0
        while sent < count:
            batch = min(window(size), count - sent)
            for _ in range(batch):
                await tx.send(frame)
            sent += batch
            with contextlib.suppress(asyncio.TimeoutError):  # a frame lost on loopback: counted, not awaited
                await drain(batch)
        elapsed = time.perf_counter() - start
        latencies = []
        for _ in range(min(200, count)):
            t = time.perf_counter()
            await tx.send(frame)
            await rx.recv()
            latencies.append(time.perf_counter() - t)
        await tx.close()
        await rx.close()
    return {"frames_per_s": received / elapsed, "delivered": received / count,
            "latency_us_p50": statistics.median(latencies) * 1e6}


class _Sink(asyncio.DatagramProtocol):
    def __init__(self, aead: AESGCM, room: int) -> None:
        self.aead, self.room, self.parts, self.done = aead, room, {}, asyncio.Queue()  # type: ignore[var-annotated]

    def datagram_received(self, data: bytes, addr: Any) -> None:
        number, index, total = int.from_bytes(data[:4], "big"), data[4], data[5]
        pieces = self.parts.setdefault(number, {})
        pieces[index] = data[6:]
        if len(pieces) == total:
            sealed = b"".join(pieces[i] for i in range(total))
            del self.parts[number]
            self.aead.decrypt(number.to_bytes(12, "big"), sealed, b"")
            self.done.put_nowait(number)


async def bare_frames(size: int, count: int) -> dict[str, float]:
    """The floor: AES-256-GCM and the same datagram size over a UDP socket, nothing else."""
    loop = asyncio.get_running_loop()
    aead = AESGCM(os.urandom(32))
    room = 1200 - 6
    transport, sink = await loop.create_datagram_endpoint(lambda: _Sink(aead, room), local_addr=("127.0.0.1", 0))
    out, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol,
                                                 remote_addr=transport.get_extra_info("sockname"))
    frame = os.urandom(size)
    number = received = 0

    def send() -> None:
        nonlocal number
        number += 1
        sealed = aead.encrypt(number.to_bytes(12, "big"), frame, b"")
        pieces = [sealed[i:i + room] for i in range(0, len(sealed), room)]
        for i, piece in enumerate(pieces):
            out.sendto(number.to_bytes(4, "big") + bytes((i, len(pieces))) + piece)

    start = time.perf_counter()
    while number < count:
        batch = min(window(size), count - number)
        for _ in range(batch):
            send()
        for _ in range(batch):
            try:
                await asyncio.wait_for(sink.done.get(), 0.5)
                received += 1
            except asyncio.TimeoutError:
                break
    elapsed = time.perf_counter() - start
    latencies = []
    for _ in range(min(200, count)):
        t = time.perf_counter()
        send()
        await sink.done.get()
        latencies.append(time.perf_counter() - t)
    out.close()
    transport.close()
    return {"frames_per_s": received / elapsed, "delivered": received / count,
            "latency_us_p50": statistics.median(latencies) * 1e6}


_COPY_SERVER = """
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
print(s.getsockname()[1], flush=True)
c, _ = s.accept()
with open(sys.argv[1], "wb") as f:
    while chunk := c.recv(1 << 20):
        f.write(chunk)
"""


def file_over_tcp(size_mib: int, work: Path) -> dict[str, float]:
    """Seconds for ``stc send`` → ``stc receive`` and for a plain socket copy of one file."""
    src = work / "file.bin"
    with open(src, "wb") as f:
        for _ in range(size_mib):
            f.write(os.urandom(1 << 20))
    results = {}
    # plain socket copy (sendfile) between two processes
    server = subprocess.Popen([sys.executable, "-c", _COPY_SERVER, str(work / "copy.bin")], stdout=subprocess.PIPE,
                              text=True)
    assert server.stdout is not None
    port = int(server.stdout.readline())
    start = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port)) as s, open(src, "rb") as f:
        s.sendfile(f)
    server.wait(600)
    results["plain_socket_copy_s"] = time.perf_counter() - start
    (work / "copy.bin").unlink()
    # stc send / stc receive
    receiver = subprocess.Popen([sys.executable, "-m", "stc", "receive", "--listen", "127.0.0.1:0", "--code",
                                 "9-bench-file", "-o", str(work / "received.bin")], stderr=subprocess.PIPE, text=True)
    assert receiver.stderr is not None
    address = receiver.stderr.readline().split()[-1]
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "stc", "send", str(src), address, "--code", "9-bench-file"], check=True,
                   stderr=subprocess.DEVNULL, timeout=600)
    receiver.wait(600)
    results["stc_send_s"] = time.perf_counter() - start
    assert (work / "received.bin").stat().st_size == src.stat().st_size
    for name in ("received.bin", "file.bin"):
        (work / name).unlink()
    results["ratio_stc_to_plain"] = results["plain_socket_copy_s"] / results["stc_send_s"]
    return results


async def main_async(quick: bool) -> dict[str, Any]:
    repeat = 5 if quick else 21
    out: dict[str, Any] = {"handshakes_ms": {}, "frames": {}}
    print(f"{'handshake':<14} {'in process':>11} {'UDP':>8} {'TCP':>8}   (median ms)")
    for mode in MODES:
        for pq in (False, True):
            name = mode + (" + pq" if pq else "")
            row = {"in_process": handshake_in_process(mode, pq, repeat),
                   "udp": await handshake_loopback(mode, pq, "udp", repeat),
                   "tcp": await handshake_loopback(mode, pq, "tcp", repeat)}
            out["handshakes_ms"][name] = row
            print(f"{name:<14} {row['in_process']:>11.2f} {row['udp']:>8.2f} {row['tcp']:>8.2f}")
    print(f"\n{'frames over loopback UDP':<28} {'frames/s':>10} {'delivered':>10} {'p50 us':>8} {'x bare':>7}")
    for size in (1200, 65536):
        count = 300 if quick else (3000 if size == 1200 else 600)
        runs = {"bare": [], "session": []}  # type: ignore[var-annotated]
        for _ in range(3 if quick else 5):  # alternate, so noise hits both alike
            runs["bare"].append(await bare_frames(size, count))
            runs["session"].append(await session_frames(size, count))
        rows = {k: {m: statistics.median(r[m] for r in v) for m in v[0]} for k, v in runs.items()}
        rows["session"]["ratio_to_bare"] = rows["session"]["frames_per_s"] / rows["bare"]["frames_per_s"]
        out["frames"][size] = rows
        for kind, row in rows.items():
            ratio = f"{row.get('ratio_to_bare', 1.0):>7.2f}"
            print(f"{kind + ' ' + str(size) + ' B':<28} {row['frames_per_s']:>10.0f} {row['delivered']:>10.3f} "
                  f"{row['latency_us_p50']:>8.0f} {ratio}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--file-mib", type=int, default=1024, help="size of the file for stc send (MiB)")
    parser.add_argument("--json", default=str(Path(__file__).parent / "results" / "latest-sessions.json"))
    args = parser.parse_args()
    results: dict[str, Any] = {"machine": platform.platform(), "python": platform.python_version()}
    results |= asyncio.run(main_async(args.quick))
    workdir = "/dev/shm" if os.path.isdir("/dev/shm") else None
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        size = 64 if args.quick else args.file_mib
        runs = [file_over_tcp(size, Path(tmp)) for _ in range(1 if args.quick else 3)]
        results["file_over_tcp"] = {"mib": size, **{k: statistics.median(r[k] for r in runs) for k in runs[0]}}
    f = results["file_over_tcp"]
    print(f"\n{f['mib']} MiB over loopback TCP: stc send {f['stc_send_s']:.2f} s, plain socket copy "
          f"{f['plain_socket_copy_s']:.2f} s ({f['ratio_stc_to_plain']:.2f}x its speed)")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
