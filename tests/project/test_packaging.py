"""Issue 11: the manual's shim packages are namespace packages that coexist with other distributions."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_manual_imports_from_an_installed_wheel_beside_another_core(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w",
                    str(tmp_path / "dist"), str(ROOT)], check=True, capture_output=True)
    wheel = next((tmp_path / "dist").glob("*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "core/streaming.py" in names and "interfaces/api/streaming_context.py" in names
    assert not any(n in names for n in ("core/__init__.py", "interfaces/__init__.py", "interfaces/api/__init__.py"))
    installed = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(installed)
    other = tmp_path / "other" / "core"  # another distribution's portion of the namespace
    other.mkdir(parents=True)
    (other / "theirs.py").write_text("VALUE = 42\n")
    code = ("import stc, core.streaming, core.theirs; "
            "from core.streaming import validate_chunk_fast, stream_decrypt_file; "
            "from interfaces.api.streaming_context import StreamingContext, ChunkHeader; "
            "from interfaces.api import stc_api; "
            f"assert core.theirs.VALUE == 42 and stc.__file__.startswith({str(installed)!r}); print('ok')")
    # -S: no site processing, so the editable install of this checkout is out of the way.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(installed), str(tmp_path / "other"),
                                                          sysconfig.get_paths()["purelib"],
                                                          sysconfig.get_paths()["platlib"]])}
    done = subprocess.run([sys.executable, "-S", "-c", code], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
