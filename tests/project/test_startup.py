"""Issue 12 (start-up): commands import only what they use."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# Runs the CLI in a child and reports, at exit, which of these module families were loaded.
PROBE = """
import atexit, sys
WATCH = ("cryptography", "stc.p2p", "stc.p2p.handshake", "stc.p2p.transport", "stc.cli.bench", "stc.cli.demo", "tqdm")
atexit.register(lambda: sys.stderr.write("LOADED " + " ".join(sorted(
    {w for w in WATCH for m in sys.modules if m == w or m.startswith(w + ".")})) + "\\n"))
sys.argv = ["stc", *sys.argv[1:]]
from stc.cli import run
run()
"""


def loaded(*args: str | Path, cwd: Path | None = None) -> set[str]:
    done = subprocess.run([sys.executable, "-c", PROBE, *map(str, args)], capture_output=True, cwd=cwd,
                          env={**os.environ, "STC_SEED": "startup"}, check=False)
    line = [ln for ln in done.stderr.decode().splitlines() if ln.startswith("LOADED")][-1]
    return set(line.split()[1:])


def test_help_imports_no_cryptography() -> None:
    assert loaded("--help") == set()
    assert loaded("encrypt", "--help") <= {"cryptography"}  # a command's own help may load its module


def test_encrypt_and_decrypt_load_nothing_of_p2p_bench_or_transport(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("pw\n")
    (tmp_path / "data").write_bytes(b"x" * 1000)
    enc = loaded("encrypt", tmp_path / "data", "--passphrase-file", tmp_path / "pw", "--fast", "-q")
    assert (tmp_path / "data.stc").exists()
    dec = loaded("decrypt", tmp_path / "data.stc", "-o", tmp_path / "out", "--passphrase-file", tmp_path / "pw", "-q")
    assert (tmp_path / "out").read_bytes() == b"x" * 1000
    for modules in (enc, dec):
        assert modules == {"cryptography"}, modules


def test_bench_plot_without_matplotlib_fails_before_benchmarking(tmp_path: Path) -> None:
    import importlib.util

    import pytest

    if importlib.util.find_spec("matplotlib") is not None:
        pytest.skip("matplotlib is installed")
    done = subprocess.run([sys.executable, "-m", "stc", "bench", "--quick", "--plot", str(tmp_path / "p.png")],
                          capture_output=True, check=False, timeout=30)
    assert done.returncode == 2 and b"needs matplotlib" in done.stderr and b"Messages" not in done.stdout
