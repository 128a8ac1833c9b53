"""Mutation testing of the security core: ``python tools/mutation.py [MODULE ...] [--report-only]``.

Runs mutmut (configured in pyproject.toml, ``[tool.mutmut]``: fast tests only, since
subprocess tests cannot see mutants) over the security modules, then prints a table of
killed / timeout / survived / no-test per module and the score ``(killed + timeout) / (all - equivalent)``
(a mutant that makes a test hang is detected, as mutmut counts it),
where *equivalent* are the survivors listed in docs/testing.md with a reason.  Not part of
CI: a full run takes tens of minutes on two cores.  ``--report-only`` reads the results of
the last run without running anything.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: The modules whose every mutant a test must catch (issue 15), by file under src/stc.
SECURITY = [
    "files/stream.py",
    "files/fileobj.py",
    "formats/v1.py",
    "formats/v2.py",
    "formats/v3.py",
    "keys/sessions.py",
    "formats/headers.py",
    "keys/v1_slots.py",
    "keys/envelope.py",
    "context/core.py",
    "context/messages.py",
    "context/streams.py",
    "keys/keyslots.py",
    "crypto/kdf.py",
    "crypto/encoding.py",
    "crypto/payload.py",
    "p2p/frame.py",
    "p2p/keys.py",
    "p2p/replay.py",
    "p2p/receiver.py",
    "p2p/subchunks.py",
    "p2p/context.py",
    "p2p/receiving.py",
    "keys/recipients/base.py",
    "keys/recipients/x25519.py",
    "keys/recipients/xwing.py",
    "keys/recipients/hybrid.py",
    "keys/recipients/text.py",
    "keys/recipients/__init__.py",
    "files/rekey.py",
    "files/extract.py",
    "folders.py",
    "formats/stanza.py",
    "p2p/sframe/header.py",
    "p2p/sframe/suites.py",
    "p2p/sframe/kids.py",
    "p2p/sframe/context.py",
    "p2p/noise/primitives.py",
    "p2p/noise/patterns.py",
    "p2p/noise/state.py",
    "p2p/noise/handshake.py",
    "p2p/session/handshake.py",
    "p2p/session/wire.py",
    "p2p/session/fragments.py",
    "p2p/session/core.py",
    "p2p/session/udp.py",
    "p2p/session/udp_listener.py",
    "p2p/session/tcp.py",
    "keys/recipients/age.py",
    "formats/age/header.py",
    "keys/age.py",
    "files/age.py",
    "age.py",
    "identities.py",
]

STATUS = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests", 34: "skipped", 36: "timeout",
          -24: "timeout", 24: "timeout", 152: "timeout", 255: "timeout", 37: "type check", -11: "crash", -9: "crash"}


def equivalent_mutants() -> set[str]:
    """Mutant names docs/testing.md lists as equivalent (in backticks, under "Survivors judged equivalent")."""
    path = ROOT / "docs" / "testing.md"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    section = text.split("### Survivors judged equivalent", 1)[-1] if text else ""
    return set(re.findall(r"`(stc\.[^`\s]+__mutmut_\d+)`", section))


def results(modules: list[str]) -> dict[str, Counter[str]]:
    """Status counts per module from mutmut's .meta files."""
    table: dict[str, Counter[str]] = {}
    equivalent = equivalent_mutants()
    for module in modules:
        meta = ROOT / "mutants" / "src" / "stc" / (module + ".meta")
        if not meta.exists():
            continue
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        counts: Counter[str] = Counter()
        for name, code in codes.items():
            status = "not run" if code is None else STATUS.get(code, "suspicious")
            if status == "survived" and name in equivalent:
                status = "equivalent"
            counts[status] += 1
        table[module] = counts
    return table


def survivors(modules: list[str]) -> list[str]:
    """Names of surviving mutants not yet judged equivalent."""
    equivalent = equivalent_mutants()
    out = []
    for module in modules:
        meta = ROOT / "mutants" / "src" / "stc" / (module + ".meta")
        if meta.exists():
            codes = json.loads(meta.read_text())["exit_code_by_key"]
            out += [n for n, c in codes.items() if c == 0 and n not in equivalent]
    return sorted(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help="files under src/stc (default: every security module)")
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--list-survivors", action="store_true")
    args = parser.parse_args()
    modules = args.modules or SECURITY
    if not args.report_only:
        names = [("stc." + m[:-3].replace("/", ".") + ".*") for m in modules]
        subprocess.run([sys.executable, "-m", "mutmut", "run", "--max-children", "2", *names], cwd=ROOT,
                       check=False)
    table = results(modules)
    total: Counter[str] = Counter()
    print(f"{'module':<22} {'mutants':>7} {'killed':>7} {'timeout':>7} {'equiv':>6} {'surv':>5} {'no test':>7} "
          f"{'other':>6} {'score':>7}")
    for module, c in table.items():
        total.update(c)
        print(_row(module, c))
    print(_row("all", total))
    if args.list_survivors:
        print("\n".join(survivors(modules)))
    return 0


def _row(name: str, c: Counter[str]) -> str:
    """One table row; a timeout counts as detected (the mutant made a test hang), as mutmut counts it."""
    n = sum(c.values())
    other = n - c["killed"] - c["timeout"] - c["equivalent"] - c["survived"] - c["no tests"]
    scored = n - c["equivalent"]
    score = f"{100 * (c['killed'] + c['timeout']) / scored:.1f}%" if scored else "-"
    return (f"{name:<22} {n:>7} {c['killed']:>7} {c['timeout']:>7} {c['equivalent']:>6} {c['survived']:>5} "
            f"{c['no tests']:>7} {other:>6} {score:>7}")


if __name__ == "__main__":
    sys.exit(main())
