"""The README's quick start runs as written."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_quick_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    block = re.search(r"```python\n(.*?)```", README.read_text(), re.S)
    assert block is not None
    monkeypatch.chdir(tmp_path)
    (tmp_path / "big.iso").write_bytes(os.urandom(9 << 20))
    namespace: dict[str, object] = {}
    exec(compile(block.group(1).replace("offset=10**9", "offset=5 << 20"), "README", "exec"), namespace)
    assert (tmp_path / "big.restored.iso").read_bytes() == (tmp_path / "big.iso").read_bytes()


def test_readme_commands_match_ci() -> None:
    text = README.read_text()
    test_cmd = next(line for line in text.splitlines() if line.startswith("python3 -m venv") and "pytest" in line)
    assert test_cmd in (README.parent / ".ci" / "run").read_text()
    assert "pip install . && stc demo" in text
