"""Files on both cores: ``python benchmarks/files_parallel.py [--size-mib N] [--json FILE]``.

A file on /dev/shm is encrypted and decrypted by ``STCContext.encrypt_stream``/``decrypt_stream``
(password key derived before timing: the context is reused) next to a two-thread bare AES-GCM
loop doing the same work (pread a 1 MiB chunk, seal into a buffer, pwrite at its offset), all
in one process, alternately.  Two modes, as tmpfs page allocation swings a lot here:
*new* (every run writes a new file) and *overwrite* (the output exists and is written in
place).  ``sequential`` is the same stc call with the two workers turned off (the loop with a
writer thread that ran before).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

import stc
from stc.files import parallel

ROOT = Path(__file__).resolve().parents[1]
CHUNK = 1 << 20


def bare(src: Path, dst: Path, size: int, decrypt: bool, key: bytes) -> None:
    """Two threads: the same chunks, nonces and offsets as stc, with no header and no checks."""
    aead, count = AESGCM(key), -(-size // CHUNK)
    lock, state = threading.Lock(), {"next": 0}
    with open(src, "rb") as fin, open(dst, "r+b" if dst.exists() else "w+b") as fout:
        in_fd, out_fd = fin.fileno(), fout.fileno()

        def work() -> None:
            bin_ = memoryview(bytearray(CHUNK + 16))
            bout = memoryview(bytearray(CHUNK + 16))
            while True:
                with lock:
                    i = state["next"]
                    if i >= count:
                        return
                    state["next"] = i + 1
                nonce = i.to_bytes(11, "big") + (b"\x01" if i == count - 1 else b"\x00")
                if decrypt:
                    n = os.preadv(in_fd, [bin_], i * (CHUNK + 16))
                    aead.decrypt_into(nonce, bin_[:n], None, bout[: n - 16])
                    os.pwrite(out_fd, bout[: n - 16], i * CHUNK)
                else:
                    n = os.preadv(in_fd, [bin_[:CHUNK]], i * CHUNK)
                    aead.encrypt_into(nonce, bin_[:n], None, bout[: n + 16])
                    os.pwrite(out_fd, bout[: n + 16], i * (CHUNK + 16))

        threads = [threading.Thread(target=work) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--dir", default="/dev/shm" if os.path.isdir("/dev/shm") else None)
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "files-parallel.json"))
    args = parser.parse_args()
    size = args.size_mib * CHUNK
    ctx, key = stc.STCContext("bench", lattice_size=64, depth=4), os.urandom(32)
    results: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        d = Path(tmp)
        plain = d / "plain"
        with open(plain, "wb") as f:
            block = os.urandom(CHUNK)
            for _ in range(args.size_mib):
                f.write(block)
        ctx.encrypt_stream(plain, d / "enc.stc", "pw")  # derives and caches the password key
        bare(plain, d / "bare.enc", size, False, key)

        def stc_enc(mode: str, workers: bool) -> None:
            saved = parallel.MIN_CHUNKS
            parallel.MIN_CHUNKS = saved if workers else 1 << 40
            try:
                if mode == "new":
                    (d / "out.stc").unlink(missing_ok=True)
                    ctx.encrypt_stream(plain, d / "out.stc", "pw")
                else:
                    with open(d / "enc.stc", "r+b") as out:
                        ctx.encrypt_stream(plain, out, "pw")
            finally:
                parallel.MIN_CHUNKS = saved

        def stc_dec(mode: str, workers: bool) -> None:
            saved = parallel.MIN_CHUNKS
            parallel.MIN_CHUNKS = saved if workers else 1 << 40
            try:
                if mode == "new":
                    (d / "out.plain").unlink(missing_ok=True)
                    ctx.decrypt_stream(d / "enc.stc", output_path=d / "out.plain", password="pw")
                else:
                    with open(plain, "r+b") as out:
                        ctx.decrypt_stream(d / "enc.stc", output_path=out, password="pw")
            finally:
                parallel.MIN_CHUNKS = saved

        def bare_run(mode: str, decrypt: bool) -> None:
            target = d / ("bare.dec" if decrypt else "bare.out")
            if mode == "new":
                target.unlink(missing_ok=True)
            elif not target.exists():
                target.write_bytes(b"")
            bare(d / "bare.enc" if decrypt else plain, target, size, decrypt, key)

        cases: dict[str, Any] = {}
        for mode in ("new", "overwrite"):
            cases[f"{mode} encrypt: bare 2-thread"] = lambda m=mode: bare_run(m, False)
            cases[f"{mode} encrypt: stc"] = lambda m=mode: stc_enc(m, True)
            cases[f"{mode} encrypt: stc sequential"] = lambda m=mode: stc_enc(m, False)
            cases[f"{mode} decrypt: bare 2-thread"] = lambda m=mode: bare_run(m, True)
            cases[f"{mode} decrypt: stc"] = lambda m=mode: stc_dec(m, True)
            cases[f"{mode} decrypt: stc sequential"] = lambda m=mode: stc_dec(m, False)
        for _ in range(args.repeat):
            for name, case in cases.items():
                start = time.perf_counter()
                case()
                results.setdefault(name, []).append(time.perf_counter() - start)
    print(f"{args.size_mib} MiB on {args.dir} (medians of {args.repeat}; MB/s of plaintext)")
    table = {name: size / 1e6 / statistics.median(v) for name, v in results.items()}
    for name, mbs in table.items():
        base = table[name.split(":")[0] + ": bare 2-thread"]
        print(f"{name:<34}{mbs:>8.0f} MB/s{mbs / base:>8.2f}x bare")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps({"size_mib": args.size_mib, "mb_per_s": table, "seconds": results},
                                          indent=2) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
