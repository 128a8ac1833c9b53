"""Encrypted data sets: ``python benchmarks/datasets.py [--size-mib N] [--json FILE]``.

Side by side, in one process, alternating, on /dev/shm (password key derived before timing):

* sequential read of an encrypted file: ``stc.open`` (``readinto`` a reused 1 MiB buffer,
  and ``read(1 MiB)``), ``decrypt_stream`` to a sink that drops the bytes, and a plain
  ``readinto`` of the ciphertext file;
* 1,000 random 4 KiB reads through ``stc.open`` (median µs a read) next to what one chunk
  costs: a bare AES-GCM decrypt of a 1 MiB chunk, and a bare pread + decrypt of it;
* memory: RSS sampled every 5 ms while ``stc.open`` reads the whole file sequentially
  (growth over the RSS before the read);
* Dask: ``dask.dataframe.read_parquet`` of 8 encrypted files against the same 8 files
  unencrypted, on one 2-worker ``LocalCluster`` (median of runs, alternating).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

import stc
from stc.crypto.secret import Secret

CHUNK = 1 << 20
PASSWORD = "benchmark password"


class _Sink:
    def write(self, data: Any) -> int:
        return len(data)


def _rss() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def sequential(ctx: stc.STCContext, path: Path, plain_size: int, runs: int) -> dict[str, Any]:
    buf = bytearray(CHUNK)

    def open_readinto() -> None:
        with stc.open(path, password=PASSWORD, ctx=ctx) as f:
            while f.readinto(buf):
                pass

    def open_read() -> None:
        with stc.open(path, password=PASSWORD, ctx=ctx) as f:
            while f.read(CHUNK):
                pass

    def stream() -> None:
        ctx.decrypt_stream(path, output_path=_Sink(), password=PASSWORD)

    def plain() -> None:
        with open(path, "rb", buffering=0) as f:
            while f.readinto(buf):
                pass

    cases = {"stc.open readinto": open_readinto, "stc.open read": open_read, "decrypt_stream": stream,
             "plain read of the ciphertext": plain}
    times: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(runs):
        for name, fn in cases.items():
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    med = {k: statistics.median(v) for k, v in times.items()}
    return {name: {"median_s": med[name], "gb_per_s": plain_size / med[name] / 1e9,
                   "x_decrypt_stream": med["decrypt_stream"] / med[name]} for name in cases}


def random_reads(ctx: stc.STCContext, path: Path, plain_size: int, count: int) -> dict[str, Any]:
    rng = random.Random(7)
    offsets = [rng.randrange(0, plain_size - 4096) for _ in range(count)]
    per_read = []
    with stc.open(path, password=PASSWORD, ctx=ctx) as f:
        for off in offsets:
            t = time.perf_counter()
            f.seek(off)
            f.read(4096)
            per_read.append(time.perf_counter() - t)
    key = AESGCM.generate_key(256)
    aead = AESGCM(key)
    sealed = aead.encrypt(bytes(12), os.urandom(CHUNK), None)
    out = bytearray(CHUNK)
    bare, bare_io = [], []
    with open(path, "rb", buffering=0) as raw:
        fd = raw.fileno()
        inbuf = bytearray(CHUNK + 16)
        for off in offsets[:200]:
            t = time.perf_counter()
            aead.decrypt_into(bytes(12), sealed, None, out)
            bare.append(time.perf_counter() - t)
            t = time.perf_counter()
            os.preadv(fd, [inbuf], (off // CHUNK) * (CHUNK + 16))
            aead.decrypt_into(bytes(12), sealed, None, out)
            bare_io.append(time.perf_counter() - t)
    med, chunk, chunk_io = (statistics.median(x) * 1e6 for x in (per_read, bare, bare_io))
    return {"reads": count, "median_us_per_4k_read": med, "p90_us": sorted(per_read)[int(0.9 * count)] * 1e6,
            "bare_decrypt_of_one_chunk_us": chunk, "bare_pread_and_decrypt_of_one_chunk_us": chunk_io,
            "x_one_chunk_decrypt": med / chunk, "x_one_chunk_pread_and_decrypt": med / chunk_io}


def memory(ctx: stc.STCContext, path: Path) -> dict[str, Any]:
    buf = bytearray(CHUNK)
    samples: list[int] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            samples.append(_rss())
            time.sleep(0.005)

    before = _rss()
    sampler = threading.Thread(target=sample)
    sampler.start()
    with stc.open(path, password=PASSWORD, ctx=ctx) as f:
        while f.readinto(buf):
            pass
    done.set()
    sampler.join()
    growth = [s - before for s in samples]
    quarter = max(1, len(growth) // 4)
    return {"rss_before_mib": before / 2**20, "peak_growth_mib": max(growth) / 2**20,
            "growth_first_quarter_mib": max(growth[:quarter]) / 2**20,
            "growth_last_quarter_mib": max(growth[-quarter:]) / 2**20, "samples": len(samples)}


def dask_parquet(work: Path, runs: int, rows: int) -> dict[str, Any]:
    import dask.dataframe as dd
    import numpy as np
    import pandas as pd
    from distributed import Client, LocalCluster

    key = {"password": Secret(PASSWORD), "lattice_size": 64, "depth": 4}
    options = {"stc": key}
    (work / "plain").mkdir()
    (work / "enc").mkdir()
    rng = np.random.default_rng(1)
    for i in range(8):
        df = pd.DataFrame({"id": np.arange(i * rows, (i + 1) * rows),
                           "x": rng.random(rows), "y": rng.integers(0, 1000, rows)})
        df.to_parquet(work / "plain" / f"part{i}.parquet")
        df.to_parquet(f"stc::file://{work}/enc/part{i}.parquet.stc", storage_options=options)
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster)
    try:
        def plain() -> float:
            return float(dd.read_parquet(str(work / "plain" / "*.parquet")).x.sum().compute())

        def encrypted() -> float:
            return float(dd.read_parquet(f"stc::file://{work}/enc/*.parquet.stc", storage_options=options)
                         .x.sum().compute())

        assert abs(plain() - encrypted()) < 1e-6  # warm: workers import, derive the key once each
        times: dict[str, list[float]] = {"unencrypted": [], "encrypted": []}
        for _ in range(runs):
            for name, fn in (("unencrypted", plain), ("encrypted", encrypted)):
                t = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - t)
    finally:
        client.close()
        cluster.close()
    med = {k: statistics.median(v) for k, v in times.items()}
    size = sum(p.stat().st_size for p in (work / "plain").iterdir())
    return {"files": 8, "rows": 8 * rows, "parquet_bytes": size, "median_s": med,
            "x_unencrypted": med["unencrypted"] / med["encrypted"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--no-dask", action="store_true")
    parser.add_argument("--only-dask", action="store_true")
    parser.add_argument("--dask-rows", type=int, default=2_000_000, help="rows in each of the 8 files")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(dir="/dev/shm" if os.path.isdir("/dev/shm") else None))
    try:
        results: dict[str, Any] = {"size_mib": args.size_mib, "runs": args.runs}
        if args.only_dask:
            results["dask"] = dask_parquet(work, args.runs, args.dask_rows)
            print(json.dumps(results["dask"], indent=2))
            return
        ctx = stc.STCContext("bench-seed", lattice_size=64, depth=4)
        plain_path, path = work / "plain.bin", work / "data.stc"
        size = args.size_mib << 20
        with open(plain_path, "wb") as f:
            for _ in range(args.size_mib):
                f.write(os.urandom(CHUNK))
        ctx.encrypt_stream(plain_path, path, PASSWORD)
        plain_path.unlink()
        results["memory"] = memory(ctx, path)
        results["sequential"] = sequential(ctx, path, size, args.runs)
        results["random_4k"] = random_reads(ctx, path, size, 1000)
        path.unlink()
        if not args.no_dask:
            results["dask"] = dask_parquet(work, args.runs, args.dask_rows)
    finally:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    print(f"sequential read of {args.size_mib} MiB (median of {args.runs}):")
    for name, r in results["sequential"].items():
        print(f"  {name:32} {r['gb_per_s']:6.2f} GB/s  {r['x_decrypt_stream']:5.2f}x decrypt_stream")
    rr = results["random_4k"]
    print(f"random 4 KiB reads: median {rr['median_us_per_4k_read']:.0f} us (p90 {rr['p90_us']:.0f}); one chunk: "
          f"decrypt {rr['bare_decrypt_of_one_chunk_us']:.0f} us ({rr['x_one_chunk_decrypt']:.2f}x), pread+decrypt "
          f"{rr['bare_pread_and_decrypt_of_one_chunk_us']:.0f} us ({rr['x_one_chunk_pread_and_decrypt']:.2f}x)")
    m = results["memory"]
    print(f"memory while reading: peak growth {m['peak_growth_mib']:.1f} MiB (first quarter "
          f"{m['growth_first_quarter_mib']:.1f}, last quarter {m['growth_last_quarter_mib']:.1f})")
    if "dask" in results:
        d = results["dask"]
        print(f"dask read_parquet, 8 files, 2 workers: unencrypted {d['median_s']['unencrypted']:.2f} s, encrypted "
              f"{d['median_s']['encrypted']:.2f} s -> {d['x_unencrypted']:.2f}x")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
