"""How close can pure Python frames get to the bare AEAD? ``python benchmarks/frames_floor.py [--json FILE]``.

Issue 12 asks 5 KB frames for 0.75x a bare AES-GCM round-trip loop (0.65x as packets) and
64 KB frames for 0.7x (0.6x).  This benchmark times, in alternating batches of one process,
the bare loop, ``StreamingContext`` (direct and packet API), and *floors*: stripped round
trips that do only part of what a correct frame must do, so that the cost of each part is
visible:

- ``floor_nolock``: header packed and parsed, nonce from a counter, key from a dict, replay
  window updated.  No locks, no header object, no statistics, no rotation: not thread-safe.
- ``floor_locks``: the same with the two locks thread safety needs (the sender's counter
  reservation, the receiver's check-and-commit of its window bit).
- ``floor_locks_header``: and the ``ChunkHeader`` object that ``encrypt_chunk`` must return.

A 64 KB frame is sealed in two 32 KiB pieces in every floor, as the manual's multi-chunk
flag requires of ours.  Ratios are the bare loop's median time over each row's median time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import struct
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from stc.cli.bench import bare_frame_loop
from stc.p2p import StreamingContext
from stc.p2p.frame import HEADER, make_header

NONCE = struct.Struct(">IIB3x").pack
SENDER = b"\x01" * 8


def _floor(frame: bytes, locks: bool, header_object: bool) -> Callable[[], None]:
    """A stripped round trip (see the module docstring); pieces of 32 KiB like our frames."""
    aead = AESGCM(os.urandom(32))
    keys = {(SENDER, 3): aead}
    send_lock, recv_lock = threading.Lock(), threading.Lock()
    state = {"seq": 0, "highest": -1, "bitmap": 0}
    mask = (1 << 256) - 1
    pack, unpack = HEADER.pack, HEADER.unpack
    if len(frame) > 32768:  # two pieces, as a 64 KB frame of ours
        first, second = frame[:32768], frame[32768:]

        def seal_open(seq: int, hb: bytes) -> None:
            a, b = aead.encrypt(NONCE(seq, 0, 0), first, hb), aead.encrypt(NONCE(seq, 1, 1), second, hb)
            _, _, sender, epoch, q = unpack(hb)
            key = keys[(sender, epoch)]
            key.decrypt(NONCE(q, 0, 0), a, hb)
            key.decrypt(NONCE(q, 1, 1), b, hb)
            commit(q)
    else:

        def seal_open(seq: int, hb: bytes) -> None:
            sealed = aead.encrypt(NONCE(seq, 0, 1), frame, hb)
            _, _, sender, epoch, q = unpack(hb)
            keys[(sender, epoch)].decrypt(NONCE(q, 0, 1), sealed, hb)
            commit(q)

    def commit(q: int) -> None:
        if locks:
            recv_lock.acquire()
        highest = state["highest"]
        if q > highest:
            state["bitmap"] = ((state["bitmap"] << (q - highest)) | 1) & mask
            state["highest"] = q
        if locks:
            recv_lock.release()

    def round_trip() -> None:
        if locks:
            with send_lock:
                seq = state["seq"]
                state["seq"] = seq + 1
        else:
            seq = state["seq"]
            state["seq"] = seq + 1
        hb = pack(2, 0, SENDER, 3, seq)
        if header_object:
            hb = make_header(2, 0, SENDER, 3, seq, hb).to_bytes()
        seal_open(seq, hb)

    return round_trip


def rows(size: int, batches: int, batch: int) -> dict[str, Any]:
    """Median microseconds per round trip of every row, and each ratio to the bare loop."""
    frame = os.urandom(size)
    seed = os.urandom(32)
    tx, rx = StreamingContext(seed), StreamingContext(seed)

    def direct() -> None:
        header, body = tx.encrypt_chunk(frame)
        rx.decrypt_chunk(header, body)

    def packet() -> None:
        rx.decrypt_packet(tx.encrypt_packet(frame))

    cases: dict[str, Callable[[], None]] = {
        "bare_aesgcm": bare_frame_loop(frame),
        "floor_nolock": _floor(frame, locks=False, header_object=False),
        "floor_locks": _floor(frame, locks=True, header_object=False),
        "floor_locks_header": _floor(frame, locks=True, header_object=True),
        "stc_direct": direct,
        "stc_packet": packet,
    }
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(batches):
        for name, fn in cases.items():
            started = time.perf_counter()
            for _ in range(batch):
                fn()
            times[name].append((time.perf_counter() - started) / batch * 1e6)
    medians = {name: statistics.median(t) for name, t in times.items()}
    return {"frame_bytes": size, "us": medians,
            "ratio_bare_over": {name: medians["bare_aesgcm"] / t for name, t in medians.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", default=str(Path(__file__).parent / "results" / "frames-floor-latest.json"))
    parser.add_argument("--batches", type=int, default=31)
    args = parser.parse_args()
    results = [rows(5000, args.batches, 1000), rows(65536, args.batches, 150)]
    print(f"{'frame':>6} {'row':<20} {'us':>8} {'x bare':>7}")
    for r in results:
        for name, us in r["us"].items():
            print(f"{r['frame_bytes']:>6} {name:<20} {us:>8.2f} {r['ratio_bare_over'][name]:>7.2f}")
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"rows": results}, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
