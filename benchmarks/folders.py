"""Encrypting folders, side by side: ``python benchmarks/folders.py [--gib N] [--files N] [--json FILE]``.

On /dev/shm, a tree of N files (default 10,000 files, 2 GiB) is encrypted by
``stc encrypt-folder DIR`` and by ``tar c DIR | stc encrypt -`` (both to the same X25519
recipient, so no password KDF is timed), alternately.  Reported: medians of the wall time,
throughput relative to the tar pipeline, and each ``stc`` child's own peak RSS (``wait4``),
next to the same for a tree one tenth the size (memory must not grow with the folder).
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
STC = [sys.executable, "-m", "stc"]


def make_tree(root: Path, files: int, total: int) -> None:
    size = total // files
    block = os.urandom(size)
    for i in range(files):
        sub = root / f"d{i // 100:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"f{i:05d}.bin").write_bytes(block)


def _timed(cmd: list[str] | str, shell: bool = False) -> tuple[float, int]:
    """(wall seconds, peak RSS in KiB of the process run; for a shell pipeline, its largest child)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, shell=shell, executable="/bin/bash" if shell else None,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{cmd} failed: {proc.stderr.read() if proc.stderr else ''}")
    return elapsed, usage.ru_maxrss


def measure(work: Path, files: int, total: int, repeat: int, recipient: str) -> dict[str, Any]:
    tree = work / f"tree-{files}"
    make_tree(tree, files, total)
    out = work / "out.stc"
    ours = f"{' '.join(STC)} encrypt-folder {tree} -o {out} -r {recipient} --force -q"
    pipeline = f"tar c -C {tree} . | {' '.join(STC)} encrypt -r {recipient} -o {out} --force -q"
    runs: dict[str, list[tuple[float, int]]] = {"encrypt-folder": [], "tar | stc encrypt": []}
    for _ in range(repeat):
        runs["encrypt-folder"].append(_timed(ours, shell=True))
        runs["tar | stc encrypt"].append(_timed(pipeline, shell=True))
    shutil.rmtree(tree)
    out.unlink()
    result = {}
    for name, values in runs.items():
        wall = statistics.median(v[0] for v in values)
        result[name] = {"seconds": wall, "mb_per_s": total / 1e6 / wall,
                        "peak_rss_mib": max(v[1] for v in values) / 1024}
    result["ratio"] = result["tar | stc encrypt"]["seconds"] / result["encrypt-folder"]["seconds"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gib", type=float, default=2.0)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", default="/dev/shm" if os.path.isdir("/dev/shm") else None)
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "folders.json"))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(dir=args.dir))
    try:
        subprocess.run([*STC, "keygen", "-o", str(work / "key")], check=True, capture_output=True)
        recipient = subprocess.run([*STC, "keygen", "-y", str(work / "key")], check=True, capture_output=True,
                                   text=True).stdout.strip()
        total = int(args.gib * (1 << 30))
        small = measure(work, args.files // 10, total // 10, args.repeat, recipient)
        big = measure(work, args.files, total, args.repeat, recipient)
    finally:
        shutil.rmtree(work)
    print(f"{'tree':<26}{'command':<20}{'seconds':>9}{'MB/s':>8}{'peak RSS MiB':>14}")
    for label, res, files, size in (("small", small, args.files // 10, total // 10), ("big", big, args.files, total)):
        for name in ("encrypt-folder", "tar | stc encrypt"):
            row = res[name]
            print(f"{f'{files} files, {size / (1 << 30):.2f} GiB':<26}{name:<20}{row['seconds']:>9.2f}"
                  f"{row['mb_per_s']:>8.0f}{row['peak_rss_mib']:>14.1f}")
        print(f"  encrypt-folder speed relative to tar | stc encrypt: {res['ratio']:.2f}x  ({label})")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps({"small": small, "big": big, "files": args.files, "bytes": total},
                                          indent=2) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
