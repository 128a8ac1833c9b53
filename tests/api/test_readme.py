"""The README's quick start runs as written."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def test_readme_quick_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "big.iso").write_bytes(os.urandom(9 << 20))
    namespace: dict[str, object] = {}
    exec(compile(BLOCKS[0].replace("offset=10**9", "offset=5 << 20"), "README", "exec"), namespace)
    assert (tmp_path / "big.restored.iso").read_bytes() == (tmp_path / "big.iso").read_bytes()


@pytest.mark.parametrize("index", range(1, len(BLOCKS)))
def test_every_other_python_example_runs(index: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "big.iso").write_bytes(os.urandom(3 << 20))
    exec(compile(BLOCKS[index], f"README block {index}", "exec"), {})


def test_every_python_example_runs_in_one_folder_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As a reader runs them: one after the other, in one folder (the examples must not collide)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "big.iso").write_bytes(os.urandom(9 << 20))
    for index, block in enumerate(BLOCKS):
        code = block.replace("offset=10**9", "offset=5 << 20") if index == 0 else block
        exec(compile(code, f"README block {index}", "exec"), {})


def test_readme_commands_match_ci() -> None:
    text = README.read_text()
    test_cmd = next(line for line in text.splitlines() if line.startswith("python3 -m venv") and "pytest" in line)
    assert test_cmd in (README.parent / ".ci" / "run").read_text()
    assert "pip install . && stc demo" in text
