"""Decrypting to a pipe, side by side: ``python benchmarks/cli_pipe.py [--size-mib N] [--json FILE]``.

A 1 GiB file on /dev/shm, encrypted by ``stc`` (to an X25519 recipient) and by ``age`` (to its
X25519 recipient), is decrypted by each tool into a pipe that a reader drains; no password KDF on
either side.  Reported: time to first byte and total (medians), for
- ``stc decrypt FILE`` (default: a first pass authenticates, a second writes),
- ``stc decrypt FILE --stream`` (each chunk as soon as it authenticated, like age),
- ``stc decrypt - < pipe`` (unseekable input: ciphertext spooled to TMPDIR, then two passes),
- ``age -d`` (needs ``age`` on PATH; skipped otherwise).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def drain(cmd: list[str], stdin: Any = None, env: dict[str, str] | None = None) -> tuple[float, float, int]:
    """Run ``cmd``; return (seconds to first byte, seconds to end, bytes read)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    assert proc.stdout is not None
    first, total = None, 0
    while chunk := proc.stdout.read1(1 << 20):
        if first is None:
            first = time.perf_counter() - start
        total += len(chunk)
    if proc.wait() != 0:
        raise RuntimeError(f"{cmd} failed")
    return first or 0.0, time.perf_counter() - start, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", default="/dev/shm" if os.path.isdir("/dev/shm") else None)
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "cli-pipe.json"))
    args = parser.parse_args()
    stc = [sys.executable, "-m", "stc"]
    age = shutil.which("age")
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        d = Path(tmp)
        with open(d / "plain", "wb") as f:
            block = os.urandom(1 << 20)
            for _ in range(args.size_mib):
                f.write(block)
        subprocess.run([*stc, "keygen", "-o", str(d / "key")], check=True, capture_output=True)
        recipient = subprocess.run([*stc, "keygen", "-y", str(d / "key")], check=True, capture_output=True,
                                   text=True).stdout.strip()
        subprocess.run([*stc, "encrypt", str(d / "plain"), "-o", str(d / "f.stc"), "-r", recipient], check=True)
        cases: dict[str, Any] = {
            "stc decrypt FILE (authenticate, then write)": lambda: drain(
                [*stc, "decrypt", str(d / "f.stc"), "-o", "-", "-i", str(d / "key")]),
            "stc decrypt FILE --stream": lambda: drain(
                [*stc, "decrypt", str(d / "f.stc"), "-o", "-", "-i", str(d / "key"), "--stream"]),
            "stc decrypt - < pipe (spool ciphertext)": lambda: _from_pipe(
                [*stc, "decrypt", "-", "-i", str(d / "key")], d / "f.stc", d),
        }
        if age:
            subprocess.run(["age-keygen", "-o", str(d / "age-key")], check=True, capture_output=True)
            age_recipient = subprocess.run(["age-keygen", "-y", str(d / "age-key")], check=True,
                                           capture_output=True, text=True).stdout.strip()
            subprocess.run([age, "-r", age_recipient, "-o", str(d / "f.age"), str(d / "plain")], check=True)
            cases["age -d FILE"] = lambda: drain([age, "-d", "-i", str(d / "age-key"), str(d / "f.age")])
        runs: dict[str, list[tuple[float, float, int]]] = {name: [] for name in cases}
        for _ in range(args.repeat):  # alternate, so every tool sees the same machine
            for name, case in cases.items():
                runs[name].append(case())
    print(f"{args.size_mib} MiB decrypted into a pipe on {args.dir} (medians of {args.repeat})")
    print(f"{'command':<46}{'first byte s':>13}{'total s':>9}{'MB/s':>8}")
    table = {}
    for name, values in runs.items():
        first = statistics.median(v[0] for v in values)
        total = statistics.median(v[1] for v in values)
        assert all(v[2] == args.size_mib << 20 for v in values)
        table[name] = {"first_byte_s": first, "total_s": total, "mb_per_s": args.size_mib * 1.048576 / total}
        print(f"{name:<46}{first:>13.3f}{total:>9.2f}{table[name]['mb_per_s']:>8.0f}")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps({"size_mib": args.size_mib, "results": table,
                                           "runs": runs}, indent=2) + "\n")
    print(f"wrote {args.json}")


def _from_pipe(cmd: list[str], path: Path, tmp: Path) -> tuple[float, float, int]:
    feeder = subprocess.Popen(["cat", str(path)], stdout=subprocess.PIPE)
    try:
        return drain(cmd, stdin=feeder.stdout, env={**os.environ, "TMPDIR": str(tmp)})  # the spool on tmpfs too
    finally:
        feeder.wait()


if __name__ == "__main__":
    main()
