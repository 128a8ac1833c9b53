"""SFrame (RFC 9605) beside a bare AES-GCM loop and our native frames: ``python benchmarks/sframe.py [--json FILE]``.

Rows, each a protect + unprotect round trip of one frame, timed in alternating batches of one
process so machine noise hits all alike:

- ``bare_gcm_128`` / ``bare_gcm_256``: AES-128/256-GCM encrypt then decrypt with a counter nonce
  and the same AAD an SFrame frame has (its header, here 3 bytes, and 10 bytes of metadata);
- ``sframe_suite_N``: :class:`stc.p2p.sframe.SFrameContext` with suite N (header built and
  parsed, counter reserved under a lock, replay window checked and committed);
- ``native_packet``: ``StreamingContext.encrypt_packet`` / ``decrypt_packet`` (AES-256-GCM).

Ratios are the bare loop's median time over each row's (GCM-128 for suites 1-4 and the
CTR-HMAC suites' AES-128, GCM-256 for 5-8 and native frames).  The issue's goal: >= 0.7x for the
GCM suites.  Overhead: bytes on the wire beyond the plaintext.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from stc.p2p import StreamingContext
from stc.p2p.sframe import SFrameContext, encode_header

META = b"rtp header"


def bare(bits: int, frame: bytes) -> Callable[[], None]:
    aead = AESGCM(AESGCM.generate_key(bits))
    aad = encode_header(1, 300) + META
    counter = [0]

    def run() -> None:
        counter[0] += 1
        nonce = counter[0].to_bytes(12, "big")
        aead.decrypt(nonce, aead.encrypt(nonce, frame, aad), aad)

    return run


def sframe(suite: int, frame: bytes) -> Callable[[], None]:
    tx, rx = SFrameContext(suite), SFrameContext(suite)
    tx.add_key(1, b"k" * 32, "protect")
    rx.add_key(1, b"k" * 32, "unprotect")
    for _ in range(300):  # counters of 2 bytes, as in a real call after 10 s
        rx.unprotect(tx.protect(1, frame, META), META)

    def run() -> None:
        rx.unprotect(tx.protect(1, frame, META), META)

    return run


def native(frame: bytes) -> Callable[[], None]:
    seed = os.urandom(32)
    tx, rx = StreamingContext(seed), StreamingContext(seed)

    def run() -> None:
        rx.decrypt_packet(tx.encrypt_packet(frame))

    return run


def measure(rows: dict[str, Callable[[], None]], batch: int, rounds: int) -> dict[str, float]:
    """Median seconds per call of each row over ``rounds`` alternating batches."""
    times: dict[str, list[float]] = {name: [] for name in rows}
    for _ in range(rounds):
        for name, fn in rows.items():
            start = time.perf_counter()
            for _ in range(batch):
                fn()
            times[name].append((time.perf_counter() - start) / batch)
    return {name: statistics.median(values) for name, values in times.items()}


def overhead() -> dict[str, int]:
    """Bytes each scheme adds to a frame (KID < 8 / a session's 8-byte KID, CTR of 2 bytes)."""
    out = {}
    for suite in range(1, 9):
        ctx = SFrameContext(suite)
        ctx.add_key(1, b"k", "protect")
        ctx._next_ctr[1] = 300
        out[f"sframe_suite_{suite}_small_kid"] = len(ctx.protect(1, b""))
    session = StreamingContext(os.urandom(32), role="initiator").sframe_context()
    assert session.session_kid is not None
    session._next_ctr[session.session_kid] = 300
    out["sframe_suite_4_session_kid"] = len(session.protect(session.session_kid, b""))
    out["native_packet"] = len(StreamingContext(os.urandom(32)).encrypt_packet(b"x")) - 1
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", default=str(Path(__file__).parent / "results" / "latest-sframe.json"))
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    results: dict[str, Any] = {"machine": platform.platform(), "python": platform.python_version(),
                               "rounds": args.rounds, "sizes": {}}
    for size in (1200, 5000):
        frame = os.urandom(size)
        rows = {"bare_gcm_128": bare(128, frame), "bare_gcm_256": bare(256, frame)}
        rows |= {f"sframe_suite_{s}": sframe(s, frame) for s in range(1, 9)}
        rows["native_packet"] = native(frame)
        medians = measure(rows, batch=2000 if size < 2000 else 1000, rounds=args.rounds)
        table = {}
        for name, seconds in medians.items():
            wide = name.endswith(("_256", "suite_5", "suite_6", "suite_7", "suite_8", "native_packet"))
            floor = medians["bare_gcm_256" if wide else "bare_gcm_128"]
            table[name] = {"us_per_round_trip": seconds * 1e6, "ratio_to_bare": floor / seconds}
        results["sizes"][size] = table
        print(f"\n{size}-byte frames: protect + unprotect (median of {args.rounds} alternating batches)")
        print(f"{'row':<16} {'us':>8} {'x bare':>8}")
        for name, row in table.items():
            print(f"{name:<16} {row['us_per_round_trip']:>8.2f} {row['ratio_to_bare']:>8.2f}")
    results["overhead_bytes"] = overhead()
    print("\nbytes added to each frame:")
    for name, size in results["overhead_bytes"].items():
        print(f"{name:<28} {size:>4}")
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
