"""age files: STC beside the real ``age`` on the same 1 GiB file: ``python benchmarks/age_files.py [--json FILE]``.

Everything on /dev/shm (no disk in the figures), one X25519 identity made by ``age-keygen``:

- ``decrypt``: ``age -d -i KEY -o OUT FILE`` and ``stc decrypt -i KEY FILE -o OUT -q`` (both
  command lines, whole processes, start-up included), of one file that ``age`` wrote;
- ``encrypt``: ``age -r R -o OUT PLAIN`` and ``stc encrypt --age -r R PLAIN -o OUT -q``.

Runs alternate (age, stc, age, stc, ...) so machine noise hits both alike; the table gives
medians and the ratio age / STC (above 1: STC is faster).  Every STC output is checked against
the plaintext once.  The issue's goal: STC at least as fast as ``age -d``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--dir", default="/dev/shm" if os.path.isdir("/dev/shm") else None)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    age, keygen = shutil.which("age"), shutil.which("age-keygen")
    if age is None or keygen is None:
        sys.exit("the age binary is needed (apt-get install age)")
    stc = [sys.executable, "-m", "stc"]
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="stc-age-bench-") as tmp:
        d = Path(tmp)
        key, plain, enc = d / "key.txt", d / "plain", d / "plain.age"
        subprocess.run([keygen, "-o", str(key)], check=True, capture_output=True)
        recipient = subprocess.run([keygen, "-y", str(key)], check=True, capture_output=True,
                                   text=True).stdout.strip()
        block = hashlib.shake_256(b"age bench").digest(1 << 20)
        with open(plain, "wb") as f:
            for _ in range(args.mib):
                f.write(block)
        subprocess.run([age, "-r", recipient, "-o", str(enc), str(plain)], check=True)
        want = hashlib.sha256(plain.read_bytes()).hexdigest()
        rows: dict[str, dict[str, list[float]]] = {"decrypt": {"age": [], "stc": []},
                                                   "encrypt": {"age": [], "stc": []}}
        for i in range(args.repeat):
            for tool in ("age", "stc"):
                out = d / f"out-{tool}"
                out.unlink(missing_ok=True)
                cmd = [age, "-d", "-i", str(key), "-o", str(out), str(enc)] if tool == "age" else \
                    [*stc, "decrypt", "-i", str(key), str(enc), "-o", str(out), "-q"]
                rows["decrypt"][tool].append(timed(cmd))
                if i == 0 and tool == "stc":
                    assert hashlib.sha256(out.read_bytes()).hexdigest() == want, "STC decrypted wrongly"
                out.unlink()
                sealed = d / f"sealed-{tool}.age"
                sealed.unlink(missing_ok=True)
                cmd = [age, "-r", recipient, "-o", str(sealed), str(plain)] if tool == "age" else \
                    [*stc, "encrypt", "--age", "-r", recipient, str(plain), "-o", str(sealed), "-q"]
                rows["encrypt"][tool].append(timed(cmd))
                if i == 0 and tool == "stc":  # what STC wrote, age opens
                    check = subprocess.run([age, "-d", "-i", str(key), str(sealed)], check=True,
                                           capture_output=True).stdout
                    assert hashlib.sha256(check).hexdigest() == want, "age could not open STC's file"
                sealed.unlink()
    version = subprocess.run([age, "--version"], capture_output=True, text=True).stdout.strip()
    result: dict[str, Any] = {"machine": platform.platform(), "cpus": os.cpu_count(), "age": version,
                              "mib": args.mib, "repeat": args.repeat, "dir": args.dir, "rows": {}}
    print(f"{args.mib} MiB on {args.dir}, age {version}, {args.repeat} alternating runs each")
    print(f"{'operation':<10} {'age median s':>13} {'stc median s':>13} {'age/stc':>8}  (ranges)")
    for name, times in rows.items():
        a, s = statistics.median(times["age"]), statistics.median(times["stc"])
        result["rows"][name] = {"age_s": times["age"], "stc_s": times["stc"], "age_median_s": a,
                                "stc_median_s": s, "age_over_stc": a / s}
        print(f"{name:<10} {a:>13.2f} {s:>13.2f} {a / s:>7.2f}x  (age {min(times['age']):.2f}-"
              f"{max(times['age']):.2f}, stc {min(times['stc']):.2f}-{max(times['stc']):.2f})")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
