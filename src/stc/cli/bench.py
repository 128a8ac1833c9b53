"""Benchmarks: messages, files and frames, side by side with the bare AEAD and peers.

Run ``stc bench`` (or ``python benchmarks/run.py``).  Every figure is a median of
several runs, printed as a table and returned as a dict for JSON.  File runs each
happen in a child process.  Its peak RSS mark (VmHWM) is reset after set-up (imports,
the password KDF) through ``/proc/self/clear_refs``, so "growth" is what the run itself
adds over the RSS before it, even when Argon2id peaked higher; the set-up peak is reported
apart.  Files live in /dev/shm by default, so the disk is not what is measured, in two
modes: *new* (each run writes a new file, so tmpfs allocates its pages) and *overwrite*
(the output exists and is written in place).  Peers (pyrage = age, Tink, PyNaCl
secretstream) run when installed.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .bench_files import PASSWORD, SEED, Echo, MiB, bench_files


def _median_time(fn: Callable[[], Any], repeat: int, number: int) -> float:
    """Median seconds per call over ``repeat`` batches of ``number`` calls."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter() - started) / number)
    return statistics.median(samples)


# ---- messages ------------------------------------------------------------------------
def bench_messages(quick: bool) -> dict[str, Any]:
    """1 KB, 64 KB and 1 MB encrypt+decrypt with a reused context vs the bare AESGCM call: one
    password (version 3, a session key) and with decoys (version 2, a file key per message)."""
    from ..context import STCContext
    from ..crypto.kdf import KdfParams, argon2id

    out: dict[str, Any] = {"roundtrip": [], "argon2": [], "metadata_bytes": {}}
    ctx = STCContext(SEED)
    ctx.encrypt(b"x", PASSWORD)  # derives and caches the password key (Argon2id is timed below)
    repeat = 7 if quick else 21
    for size, number in ((1024, 200), (64 * 1024, 100), (MiB, 10)):
        out["roundtrip"].append(_message_row(ctx, os.urandom(size), repeat, number))
    for lattice, depth in ((64, 4), (128, 6)) if quick else ((64, 4), (128, 6), (256, 8)):
        params = KdfParams.from_knobs(lattice, depth)
        t = _median_time(partial(argon2id, b"pw", b"s" * 16, params), 3, 1)
        out["argon2"].append({"lattice_size": lattice, "depth": depth, "memory_mib": params.memory_kib // 1024,
                              "passes": params.passes, "ms": t * 1e3})
    out["gil"] = gil_scaling()
    out["metadata_bytes"] = {"with_decoys": ctx.encrypt(b"x", PASSWORD, use_decoys=True)[1].size,
                             "one_password": ctx.encrypt(b"x", PASSWORD)[1].size}
    return out


def gil_scaling(calls: int = 200) -> dict[str, float]:
    """Does AES-GCM release the GIL?  Two threads sealing 1 MiB each vs one thread."""
    import threading

    aead = AESGCM(AESGCM.generate_key(256))
    data = bytearray(MiB)

    def work() -> None:
        out = bytearray(MiB + 16)
        for i in range(calls):
            aead.encrypt_into(i.to_bytes(12, "big"), data, None, out)

    def timed(threads: int) -> float:
        pool = [threading.Thread(target=work) for _ in range(threads)]
        started = time.perf_counter()
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        return threads * calls * MiB / 1e9 / (time.perf_counter() - started)

    one = statistics.median(timed(1) for _ in range(3))
    two = statistics.median(timed(2) for _ in range(3))
    return {"one_thread_gb_s": one, "two_threads_gb_s": two, "speedup": two / one}


def _message_row(ctx: Any, data: bytes, repeat: int, number: int) -> dict[str, Any]:
    """The three cases in alternating batches, so that machine noise falls on all alike."""
    key = AESGCM(AESGCM.generate_key(256))
    ad = bytes(89)  # a version-3 header's length

    def session() -> None:
        c, m = ctx.encrypt(data, PASSWORD)
        ctx.decrypt(c, m, PASSWORD)

    def decoys() -> None:
        c, m = ctx.encrypt(data, PASSWORD, use_decoys=True)
        ctx.decrypt(c, m, PASSWORD)

    def bare() -> None:
        nonce = os.urandom(12)
        key.decrypt(nonce, key.encrypt(nonce, data, ad), ad)

    cases = {"stc": session, "stc_decoys": decoys, "bare": bare}
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeat):
        for name, fn in cases.items():
            samples[name].append(_median_time(fn, 1, number))
    t = {name: statistics.median(v) for name, v in samples.items()}
    return {"bytes": len(data), "stc_us": t["stc"] * 1e6, "stc_decoys_us": t["stc_decoys"] * 1e6,
            "bare_aesgcm_us": t["bare"] * 1e6, "ratio_bare_over_stc": t["bare"] / t["stc"],
            "ratio_bare_over_stc_decoys": t["bare"] / t["stc_decoys"]}


# ---- frames --------------------------------------------------------------------------
def bench_frames(quick: bool) -> list[dict[str, Any]]:
    """5 KB and 64 KB frames: StreamingContext round trips vs a bare AEAD loop."""

    n = 2000 if quick else 20000
    return [_frame_row(os.urandom(size), n) for size in (5000, 65536)]


def bare_frame_loop(frame: bytes) -> Callable[[], None]:
    """One bare AES-GCM round trip of ``frame`` a call: the least a correct caller does (a
    unique counter nonce; 16 bytes of associated data, as a frame header)."""
    aead = AESGCM(AESGCM.generate_key(256))
    ad = bytes(16)
    counter = [0]

    def bare() -> None:
        counter[0] += 1
        nonce = counter[0].to_bytes(12, "big")
        aead.decrypt(nonce, aead.encrypt(nonce, frame, ad), ad)

    return bare


def _frame_row(frame: bytes, n: int) -> dict[str, Any]:
    """Round trips/s of the direct API, the wire path (header bytes + payload), the packet API
    and a bare AES-GCM loop, timed in alternating batches so machine noise hits all alike."""
    from ..p2p import ChunkHeader, StreamingContext

    seed = os.urandom(32)
    tx, rx = StreamingContext(seed), StreamingContext(seed)

    def ours() -> None:
        h, e = tx.encrypt_chunk(frame)
        rx.decrypt_chunk(h, e)

    def wire() -> None:
        h, e = tx.encrypt_chunk(frame)
        packet = h.to_bytes() + e
        rx.decrypt_chunk(ChunkHeader.from_bytes(packet[:16]), packet[16:])

    def packet() -> None:
        rx.decrypt_packet(tx.encrypt_packet(frame))

    cases = (("stc", ours), ("stc_wire", wire), ("stc_packet", packet), ("bare_aesgcm", bare_frame_loop(frame)))
    rates: dict[str, list[float]] = {name: [] for name, _ in cases}
    batch = max(1, n // 20)
    for _ in range(20):
        for name, fn in cases:
            started = time.perf_counter()
            for _ in range(batch):
                fn()
            rates[name].append(batch / (time.perf_counter() - started))
    row: dict[str, Any] = {"frame_bytes": len(frame), "subchunk_bytes": tx.optimal_chunk_size}
    for name, fn in cases:
        lat = []
        for _ in range(min(n, 5000)):
            t0 = time.perf_counter_ns()
            fn()
            lat.append(time.perf_counter_ns() - t0)
        lat.sort()
        row[name] = {"roundtrips_per_s": statistics.median(rates[name]), "p50_us": lat[len(lat) // 2] / 1e3,
                     "p99_us": lat[int(len(lat) * 0.99)] / 1e3}
    bare_rate = row["bare_aesgcm"]["roundtrips_per_s"]
    for name in ("stc", "stc_wire", "stc_packet"):
        row[f"ratio_{name}_over_bare"] = row[name]["roundtrips_per_s"] / bare_rate
    return row


# ---- driver --------------------------------------------------------------------------
def run_all(quick: bool = False, workdir: str | None = None, echo: Echo = print,
            suites: tuple[str, ...] = ("messages", "frames", "files")) -> dict[str, Any]:
    """Run the suites, print tables, return everything (for JSON)."""
    import cryptography

    from .. import __version__

    results: dict[str, Any] = {
        "stc_version": __version__, "cryptography": cryptography.__version__, "python": platform.python_version(),
        "machine": platform.machine(), "cpus": os.cpu_count(), "quick": quick,
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    if "messages" in suites:
        echo("Messages (reused context; medians):")
        m = results["messages"] = bench_messages(quick)
        echo(f"  {'size':>8} {'one password':>14} {'with decoys':>14} {'bare AESGCM':>14} {'bare/one':>9} "
             f"{'bare/decoys':>12}")
        for r in m["roundtrip"]:
            echo(f"  {r['bytes']:>8} {r['stc_us']:>11.1f} us {r['stc_decoys_us']:>11.1f} us "
                 f"{r['bare_aesgcm_us']:>11.1f} us {r['ratio_bare_over_stc']:>9.2f} "
                 f"{r['ratio_bare_over_stc_decoys']:>12.2f}")
        echo("  (one password: version 3, a session key per context; with decoys: version 2, a file key,"
             " 4 key slots and a header MAC per message)")
        for a in m["argon2"]:
            echo(f"  Argon2id lattice_size={a['lattice_size']} depth={a['depth']} "
                 f"({a['memory_mib']} MiB, {a['passes']} passes): {a['ms']:.0f} ms")
        g = m["gil"]
        verdict = "releases the GIL" if g["speedup"] > 1.5 else "holds the GIL for most of its work"
        echo(f"  AES-GCM 1 MiB sealing: {g['one_thread_gb_s']:.1f} GB/s on one thread, "
             f"{g['two_threads_gb_s']:.1f} on two ({g['speedup']:.2f}x: it {verdict})")
        echo(f"  metadata: {m['metadata_bytes']['one_password']} bytes for one password, "
             f"{m['metadata_bytes']['with_decoys']} with decoys")
    if "frames" in suites:
        echo("\nP2P frames (encrypt + decrypt round trip, one core; medians):")
        f = results["frames"] = bench_frames(quick)
        echo(f"  {'frame':>6} {'path':<12} {'round trips/s':>14} {'x bare':>7} {'p50 us':>8} {'p99 us':>8}")
        for r in f:
            for name in ("stc", "stc_wire", "stc_packet", "bare_aesgcm"):
                ratio = r.get(f"ratio_{name}_over_bare", 1.0)
                echo(f"  {r['frame_bytes']:>6} {name:<12} {r[name]['roundtrips_per_s']:>14,.0f} {ratio:>7.2f} "
                     f"{r[name]['p50_us']:>8.2f} {r[name]['p99_us']:>8.2f}")
    if "files" in suites:
        echo("\nFiles (each run in a child process; medians):")
        rows = results["files"] = bench_files(quick, workdir, echo)
        echo(f"\n  {'MiB':>5} {'mode':<9} {'kind':<13} {'MB/s':>8} {'x copy':>7} {'x age':>6} {'peak RSS':>9} "
             f"{'growth':>7} {'set-up':>8}")
        for r in rows:
            age = f"{r['ratio_to_age']:.2f}" if "ratio_to_age" in r else ""
            echo(f"  {r['size_mib']:>5} {r['mode']:<9} {r['kind']:<13} {r['mb_per_s']:>8.0f} "
                 f"{r['ratio_to_copy']:>7.2f} {age:>6} {r['rss_peak_mib']:>7.1f}Mi {r['rss_growth_mib']:>5.1f}Mi "
                 f"{r['setup_peak_mib']:>6.1f}Mi")
    return results


def plot(results: dict[str, Any], path: str) -> None:
    """A bar chart of file throughput per kind and size (needs matplotlib)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in results.get("files", []) if r.get("mode", "overwrite") == "overwrite"]
    kinds = sorted({r["kind"] for r in rows}, key=lambda k: (k.split("-")[0], k))
    sizes = sorted({r["size_mib"] for r in rows})
    fig, ax = plt.subplots(figsize=(10, 4.5))
    width = 0.8 / max(1, len(sizes))
    for i, size in enumerate(sizes):
        values = [next((r["mb_per_s"] for r in rows if r["kind"] == k and r["size_mib"] == size), 0) for k in kinds]
        ax.bar([x + i * width for x in range(len(kinds))], values, width, label=f"{size} MiB")
    ax.set_xticks([x + width * (len(sizes) - 1) / 2 for x in range(len(kinds))], kinds, rotation=30, ha="right")
    ax.set_ylabel("MB/s (median)")
    ax.set_title("STC file throughput vs copy, bare AES-GCM and peers (outputs overwritten in place)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)


if __name__ == "__main__":  # pragma: no cover
    quick = "--quick" in sys.argv
    print(json.dumps(run_all(quick=quick), indent=2))
