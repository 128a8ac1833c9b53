"""One command for every benchmark: ``python benchmarks/run.py [--quick] [--json FILE]``.

Prints the tables and writes JSON (default benchmarks/results/latest.json).  It is
the same code as ``stc bench``; see src/stc/bench.py for what each row measures.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from stc.cli.bench import run_all

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, few repetitions")
    parser.add_argument("--json", default=str(Path(__file__).parent / "results" / "latest.json"))
    parser.add_argument("--dir", default=None, help="where benchmark files go (default /dev/shm)")
    parser.add_argument("--suites", default="messages,frames,files", help="comma-separated subset")
    args = parser.parse_args()
    results = run_all(quick=args.quick, workdir=args.dir, suites=tuple(args.suites.split(",")))
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {out}")
