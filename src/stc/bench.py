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
import resource
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

Echo = Callable[[str], Any]
MiB = 1 << 20
PASSWORD = "benchmark password"
SEED = "bench-seed"


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
    from .context import STCContext
    from .kdf import KdfParams, argon2id

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
    from .p2p import ChunkHeader, StreamingContext

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


# ---- files (each run in a child process) -----------------------------------------------------
def _status(field: str) -> int | None:
    """A ``/proc/self/status`` size field in bytes (None where there is no /proc)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _rss() -> int:
    """This process's peak RSS in bytes since start or the last :func:`_reset_peak`.  VmHWM is
    reset by exec; ru_maxrss is not (on Linux a child inherits its parent's peak), so it is
    only the fallback."""
    peak = _status("VmHWM")
    return peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _reset_peak() -> bool:
    """Set the peak RSS mark to the current RSS (Linux ``clear_refs`` 5); False if unsupported."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


def _copy_loop(src: str, dst: str, transform: Callable[[memoryview, int], memoryview] | None = None,
               chunk: int = MiB, mode: str = "wb") -> None:
    """readinto/write loop with one fixed buffer; ``transform`` seals or opens each chunk."""
    buf = bytearray(chunk)
    view = memoryview(buf)
    index = 0
    with open(src, "rb", buffering=0) as f, open(dst, mode, buffering=0) as g:
        while True:
            n = f.readinto(buf)
            if not n:
                break
            g.write(transform(view[:n], index) if transform else view[:n])
            index += 1


def child(kind: str, src: str, dst: str, aux: str, mode: str = "new") -> dict[str, Any]:
    """One measured operation (runs in a fresh interpreter); ``mode`` "overwrite" writes into the
    existing output in place wherever the API takes a file object."""
    out_mode = "r+b" if mode == "overwrite" else "wb"
    if kind == "copy":
        def run() -> None:
            _copy_loop(src, dst, mode=out_mode)
    elif kind in ("aead-enc", "aead-dec"):
        aead = AESGCM(bytes(32))
        chunk = MiB if kind == "aead-enc" else MiB + 16
        view = memoryview(bytearray(MiB + 16))

        def seal(part: memoryview, index: int) -> memoryview:
            nonce = struct.pack(">QI", index, 0)
            if kind == "aead-enc":
                aead.encrypt_into(nonce, part, None, view[: len(part) + 16])
                return view[: len(part) + 16]
            aead.decrypt_into(nonce, part, None, view[: len(part) - 16])
            return view[: len(part) - 16]

        def run() -> None:
            _copy_loop(src, dst, seal, chunk=chunk, mode=out_mode)
    elif kind in ("stc-enc", "stc-dec"):
        from .context import STCContext
        from .streaming import validate_chunk_fast

        ctx = STCContext(SEED, lattice_size=64, depth=4)
        if kind == "stc-enc":
            ctx.encrypt(b"x", PASSWORD)  # Argon2id once (same context salt); cached

            def run() -> None:
                if mode == "overwrite":
                    with open(dst, "r+b") as g:
                        ctx.encrypt_stream(src, g, PASSWORD)
                else:
                    ctx.encrypt_stream(src, dst, PASSWORD)
        else:
            with open(src, "rb") as f:
                validate_chunk_fast(f.read(4096), None, PASSWORD, ctx=ctx)  # Argon2id once; then cached

            def run() -> None:
                if mode == "overwrite":
                    with open(dst, "r+b") as g:
                        ctx.decrypt_stream(src, output_path=g, password=PASSWORD)
                else:
                    ctx.decrypt_stream(src, output_path=dst, password=PASSWORD)
    elif kind in ("age-enc", "age-dec"):
        import pyrage

        identity = pyrage.x25519.Identity.from_str(aux)

        def run() -> None:
            if kind == "age-enc":
                pyrage.encrypt_file(src, dst, [identity.to_public()])
            else:
                pyrage.decrypt_file(src, dst, [identity])
    elif kind in ("age-pass-enc", "age-pass-dec"):
        import pyrage

        def run() -> None:  # pyrage's passphrase API works on whole bytes objects (scrypt included)
            data = Path(src).read_bytes()
            if kind == "age-pass-enc":
                Path(dst).write_bytes(pyrage.passphrase.encrypt(data, PASSWORD))
            else:
                Path(dst).write_bytes(pyrage.passphrase.decrypt(data, PASSWORD))
    elif kind in ("tink-enc", "tink-dec"):
        import tink
        from tink import secret_key_access, streaming_aead

        streaming_aead.register()
        handle = tink.json_proto_keyset_format.parse(Path(aux).read_text(), secret_key_access.TOKEN)
        primitive = handle.primitive(streaming_aead.StreamingAead)

        def run() -> None:
            with open(src, "rb") as f, open(dst, out_mode) as g:
                if kind == "tink-enc":
                    with primitive.new_encrypting_stream(g, b"") as enc:
                        shutil.copyfileobj(f, enc, MiB)
                else:
                    with primitive.new_decrypting_stream(f, b"") as dec:
                        shutil.copyfileobj(dec, g, MiB)
    elif kind in ("nacl-enc", "nacl-dec"):
        from nacl import bindings as b

        key = bytes(32)

        def run() -> None:
            with open(src, "rb") as f, open(dst, out_mode) as g:
                if kind == "nacl-enc":
                    state = b.crypto_secretstream_xchacha20poly1305_state()
                    g.write(b.crypto_secretstream_xchacha20poly1305_init_push(state, key))
                    chunk = f.read(MiB)
                    while True:
                        following = f.read(MiB)
                        tag = (b.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE if following
                               else b.crypto_secretstream_xchacha20poly1305_TAG_FINAL)
                        g.write(b.crypto_secretstream_xchacha20poly1305_push(state, chunk, None, tag))
                        if not following:
                            break
                        chunk = following
                else:
                    state = b.crypto_secretstream_xchacha20poly1305_state()
                    b.crypto_secretstream_xchacha20poly1305_init_pull(state, f.read(24), key)
                    while True:
                        part = f.read(MiB + 17)
                        msg, tag = b.crypto_secretstream_xchacha20poly1305_pull(state, part, None)
                        g.write(msg)
                        if tag == b.crypto_secretstream_xchacha20poly1305_TAG_FINAL:
                            break
    else:
        raise SystemExit(f"unknown kind {kind}")
    setup_peak = _rss()  # imports and the password KDF
    reset = _reset_peak()
    base = _status("VmRSS") if reset else setup_peak
    started = time.perf_counter()
    run()
    elapsed = time.perf_counter() - started
    return {"seconds": elapsed, "rss_peak": _rss(), "rss_before": base, "setup_peak": setup_peak,
            "peak_reset": reset}


def _run_child(kind: str, src: Path, dst: Path, aux: str = "", mode: str = "new") -> dict[str, Any]:
    code = "import json,sys; from stc.bench import child; print(json.dumps(child(*sys.argv[1:])))"
    proc = subprocess.run([sys.executable, "-c", code, kind, str(src), str(dst), aux, mode],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} failed: {proc.stderr.strip()[-400:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _file_row(size: int, kind: str, mode: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    secs = statistics.median(r["seconds"] for r in runs)
    return {"size_mib": size // MiB, "kind": kind, "mode": mode, "mb_per_s": size / 1e6 / secs,
            "seconds_median": secs, "rss_peak_mib": max(r["rss_peak"] for r in runs) / MiB,
            "rss_growth_mib": max(r["rss_peak"] - r["rss_before"] for r in runs) / MiB,
            "setup_peak_mib": max(r.get("setup_peak", 0) for r in runs) / MiB,
            "peak_reset": all(r.get("peak_reset", False) for r in runs)}


def _file_line(r: dict[str, Any]) -> str:
    return (f"  {r['size_mib']:>5} MiB  {r['mode']:<9} {r['kind']:<13} {r['mb_per_s']:>8.0f} MB/s  "
            f"peak RSS {r['rss_peak_mib']:6.1f} MiB (+{r['rss_growth_mib']:.1f} while streaming; "
            f"set-up peak {r['setup_peak_mib']:.1f})")


#: Peers whose API takes paths or whole byte strings: they always write a new file.
IN_PLACE_UNSUPPORTED = ("age", "age-pass")


def bench_files(quick: bool, workdir: str | None, echo: Echo, sizes: tuple[int, ...] | None = None,
                repeat: int | None = None, modes: tuple[str, ...] = ("new", "overwrite")) -> list[dict[str, Any]]:
    """Encrypt/decrypt files of several sizes in both modes: MB/s and RSS, with ratios to a plain
    copy in the same mode."""
    base = Path(workdir or ("/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir()))
    folder = Path(tempfile.mkdtemp(prefix="stc-bench-", dir=base))
    sizes = sizes or ((16 * MiB, 64 * MiB) if quick else (16 * MiB, 256 * MiB, 1024 * MiB))
    repeat = repeat or (3 if quick else 5)
    aux: dict[str, str] = {}
    pairs = [("copy", None), ("aead-enc", "aead-dec"), ("stc-enc", "stc-dec")]
    if _installed("pyrage"):
        import pyrage

        aux["age"] = str(pyrage.x25519.Identity.generate())
        pairs.append(("age-enc", "age-dec"))
        pairs.append(("age-pass-enc", "age-pass-dec"))
    if _installed("tink"):
        import tink
        from tink import secret_key_access, streaming_aead

        streaming_aead.register()
        handle = tink.new_keyset_handle(streaming_aead.streaming_aead_key_templates.AES256_GCM_HKDF_1MB)
        keyset = folder / "tink.json"
        keyset.write_text(tink.json_proto_keyset_format.serialize(handle, secret_key_access.TOKEN))
        aux["tink"] = str(keyset)
        pairs.append(("tink-enc", "tink-dec"))
    if _installed("nacl"):
        pairs.append(("nacl-enc", "nacl-dec"))
    rows: list[dict[str, Any]] = []
    try:
        for size in sizes:
            plain = folder / "plain.bin"
            with open(plain, "wb") as f:
                block = os.urandom(MiB)
                for _ in range(size // MiB):
                    f.write(block)
            for enc_kind, dec_kind in pairs:
                family = enc_kind.split("-")[0] if enc_kind != "age-pass-enc" else "age-pass"
                if family == "age-pass" and size > 256 * MiB:
                    continue  # pyrage's passphrase API holds the whole file in memory
                extra = aux.get(family.split("-")[0], "")
                for mode in modes:
                    for kind, src, dst in ((enc_kind, plain, folder / "enc.bin"),
                                           (dec_kind, folder / "enc.bin", folder / "dec.bin")):
                        if kind is None:
                            continue
                        runs = []
                        for _ in range(repeat):
                            if mode == "new" or family in IN_PLACE_UNSUPPORTED:
                                dst.unlink(missing_ok=True)  # a new file each run, as a fresh run makes
                            elif not dst.exists():
                                _run_child(kind, src, dst, extra)  # the file to overwrite (not timed)
                            runs.append(_run_child(kind, src, dst, extra, mode))
                        rows.append(_file_row(size, kind, mode, runs))
                        echo(_file_line(rows[-1]))
                    if dec_kind is not None and not _same(plain, folder / "dec.bin"):
                        raise RuntimeError(f"{dec_kind} did not restore the plaintext ({mode})")
                for name in ("enc.bin", "dec.bin"):
                    (folder / name).unlink(missing_ok=True)
        copy_rate = {(r["size_mib"], r["mode"]): r["mb_per_s"] for r in rows if r["kind"] == "copy"}
        by_key = {(r["size_mib"], r["mode"], r["kind"]): r["mb_per_s"] for r in rows}
        for r in rows:
            r["ratio_to_copy"] = r["mb_per_s"] / copy_rate[(r["size_mib"], r["mode"])]
            peer = r["kind"].replace("stc", "age")
            if r["kind"].startswith("stc") and (r["size_mib"], r["mode"], peer) in by_key:
                r["ratio_to_age"] = r["mb_per_s"] / by_key[(r["size_mib"], r["mode"], peer)]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    for note in FILE_NOTES:
        echo(f"  note: {note}")
    return rows


#: What each file row includes, so unlike things are not read as like (printed under the table).
FILE_NOTES = (
    "stc-enc/stc-dec: the password key is derived before timing (a reused context), as a long-lived "
    "process does; Argon2id is timed apart in the messages table",
    "age-enc/age-dec (pyrage x25519) and tink/nacl: no password KDF on either side; keys given",
    "age-pass-*: includes scrypt and holds the whole file in memory (pyrage's API); not run above 256 MiB",
    "stc on regular files uses two workers (both cores); copy and aead-* are single-threaded references, "
    "so stc above them means the second core, not a cheaper copy",
    "new: every run writes a new file (tmpfs allocates its pages, which swings a lot here); overwrite: the "
    "output exists and is written in place (age and age-pass take paths, so they write a new file in both)",
    "growth: peak RSS during the run over the RSS before it (the peak mark is reset after set-up, so the "
    "Argon2id peak does not hide it); set-up peak: imports and the password KDF",
)


def _same(a: Path, b: Path) -> bool:
    if a.stat().st_size != b.stat().st_size:
        return False
    with open(a, "rb") as f, open(b, "rb") as g:
        while True:
            x, y = f.read(MiB), g.read(MiB)
            if x != y:
                return False
            if not x:
                return True


# ---- driver --------------------------------------------------------------------------
def run_all(quick: bool = False, workdir: str | None = None, echo: Echo = print,
            suites: tuple[str, ...] = ("messages", "frames", "files")) -> dict[str, Any]:
    """Run the suites, print tables, return everything (for JSON)."""
    import cryptography

    from . import __version__

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
