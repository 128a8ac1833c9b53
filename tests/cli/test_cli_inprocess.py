"""The command line's logic, run in-process with click's CliRunner (so coverage and mutation
testing see it).  Real pipes, terminals and exit paths stay in test_cli*.py as subprocesses."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from stc.cli import main  # type: ignore[attr-defined]

DATA = os.urandom(3 * 1024 * 1024 + 5)


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data.bin").write_bytes(DATA)
    (tmp_path / "pass").write_text("correct horse\n")
    (tmp_path / "wrong").write_text("not it\n")
    return tmp_path


def stc(*args: str, input: bytes | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def ok(*args: str, **kwargs: Any) -> Result:
    result = stc(*args, **kwargs)
    assert result.exit_code == 0, result.output
    return result


def error(code: int, *args: str, match: str = "", **kwargs: Any) -> Result:
    result = stc(*args, **kwargs)
    assert result.exit_code == code, result.output
    # our errors are one "stc: error:" line; click's own usage errors say "Error:" after the usage
    assert result.stderr.startswith(("stc: error:", "Usage:")) and match in result.stderr, result.stderr
    assert "Traceback" not in result.output
    return result


PW = ("--passphrase-file", "pass", "-q")


def test_round_trip_with_a_passphrase_and_default_names(work: Path) -> None:
    ok("encrypt", "data.bin", "--fast", *PW)
    assert (work / "data.bin.stc").read_bytes()[:4] == b"STCF"
    (work / "data.bin").rename(work / "orig.bin")
    ok("decrypt", "data.bin.stc", *PW)
    assert (work / "data.bin").read_bytes() == DATA


def test_wrong_passphrase_and_tampering_exit_1_and_leave_nothing(work: Path) -> None:
    ok("encrypt", "data.bin", "--fast", *PW)
    error(1, "decrypt", "data.bin.stc", "-o", "out.bin", "--passphrase-file", "wrong", "-q", match="wrong")
    assert not (work / "out.bin").exists()
    data = bytearray((work / "data.bin.stc").read_bytes())
    data[len(data) // 2] ^= 1
    (work / "bad.stc").write_bytes(bytes(data))
    error(1, "decrypt", "bad.stc", "-o", "out.bin", *PW, match="authenticate")
    assert not (work / "out.bin").exists()
    (work / "cut.stc").write_bytes(bytes(data[: len(data) - 100]))
    error(1, "decrypt", "cut.stc", "-o", "out.bin", *PW)
    assert sorted(p.name for p in work.iterdir()) == ["bad.stc", "cut.stc", "data.bin", "data.bin.stc", "pass",
                                                    "wrong"]


def test_usage_errors_exit_2(work: Path) -> None:
    error(2, "encrypt", "missing.bin", *PW, match="no such file")
    error(2, "encrypt", str(work), *PW, match="directory")
    ok("encrypt", "data.bin", "--fast", *PW)
    error(2, "encrypt", "data.bin", "--fast", *PW, match="exists")
    ok("encrypt", "data.bin", "--fast", "--force", *PW)
    error(2, "decrypt", "data.bin.stc", "-o", "data.bin.stc", "--force", *PW, match="also the input")
    error(1, "decrypt", "pass", "-o", "x", *PW, match="not STC data")
    error(2, "decrypt", "data.bin.stc", "--range", "12", *PW, match="OFFSET:LENGTH")
    error(2, "encrypt", "data.bin", "-o", "x.stc", "--chunk-size", "12", *PW, match="chunk-size")
    error(2, "encrypt", "data.bin", "-o", "x.stc", "--fast", "--paranoid", *PW)
    error(2, "decrypt", "data.bin", *PW)  # no .stc: no output name to guess
    error(2, "encrypt", "data.bin", "-o", "nope://x", *PW, match="nope")


def test_range_context_and_armor(work: Path) -> None:
    ok("encrypt", "data.bin", "-o", "c.stc", "--fast", "--context-json", '{"tenant": 7}', "--chunk-size", "64K", *PW)
    out = ok("decrypt", "c.stc", "--range", "70000:5", "--context-json", '{"tenant": 7}', *PW).stdout_bytes
    assert out == DATA[70000:70005]
    error(1, "decrypt", "c.stc", "-o", "x", "--context-json", '{"tenant": 8}', *PW)
    error(1, "decrypt", "c.stc", "-o", "x", *PW, match="context")
    ok("encrypt", "data.bin", "-o", "a.txt", "-a", "--fast", *PW)
    assert (work / "a.txt").read_bytes().startswith(b"-----BEGIN STC ENCRYPTED FILE-----")
    ok("decrypt", "a.txt", "-o", "a.out", *PW)
    assert (work / "a.out").read_bytes() == DATA


def test_stdin_and_stdout(work: Path) -> None:
    sealed = ok("encrypt", "-", "--fast", *PW, "-o", "-", "-a", input=b"piped data").stdout_bytes
    assert ok("decrypt", "-", *PW, input=sealed).stdout_bytes == b"piped data"


def test_recipients_keygen_rekey_and_inspect(work: Path) -> None:
    ok("keygen", "-o", "alice.key")
    ok("keygen", "--pq", "-o", "bob.key")
    alice = ok("keygen", "-y", "alice.key").stdout.strip()
    bob = ok("keygen", "-y", "bob.key").stdout.strip()
    assert alice.startswith("stc-x25519-") and bob.startswith("stc-xwing-")
    ok("encrypt", "data.bin", "-o", "r.stc", "-r", alice, "-q")
    error(1, "decrypt", "r.stc", "-o", "x", "-i", "bob.key", "-q")
    ok("rekey", "r.stc", "-i", "alice.key", "--add-recipient", bob)
    ok("decrypt", "r.stc", "-o", "b.out", "-i", "bob.key", "-q")
    assert (work / "b.out").read_bytes() == DATA
    ok("rekey", "r.stc", "-i", "bob.key", "--remove-recipient", alice)
    error(1, "decrypt", "r.stc", "-o", "x2", "-i", "alice.key", "-q")
    info = json.loads(ok("inspect", "r.stc", "--json").stdout)
    assert info["version"] == 2 and "plaintext_bytes" in info and "alice" not in json.dumps(info)
    assert "slots by kind" in ok("inspect", "r.stc").stdout


def test_urls_in_process(work: Path) -> None:
    pytest.importorskip("fsspec")
    ok("encrypt", "data.bin", "-o", "memory://cli/data.stc", "--fast", *PW)
    error(2, "encrypt", "data.bin", "-o", "memory://cli/data.stc", "--fast", *PW, match="exists")
    ok("decrypt", "memory://cli/data.stc", "-o", "memory://cli/data.out", *PW)
    import fsspec

    assert fsspec.filesystem("memory").cat_file("/cli/data.out") == DATA
    ok("decrypt", f"file://{work}/data.bin.stc" if (work / "data.bin.stc").exists() else "memory://cli/data.stc",
       "-o", f"file://{work}/via-url.bin", *PW)
    assert (work / "via-url.bin").read_bytes() == DATA
    umask = os.umask(0o022)
    os.umask(umask)
    assert (work / "via-url.bin").stat().st_mode & 0o777 == 0o666 & ~umask  # a file:// output is a local path
    error(1, "decrypt", "memory://cli/data.stc", "-o", "memory://cli/bad.out", "--passphrase-file", "wrong", "-q")
    assert not fsspec.filesystem("memory").exists("/cli/bad.out")
    error(2, "decrypt", "memory://cli/missing.stc", "-o", "x", *PW, match="no such file")
    assert ok("decrypt", "memory://cli/data.stc", "--range", "10:4", *PW).stdout_bytes == DATA[10:14]


def test_folders_list_and_recommend(work: Path) -> None:
    (work / "docs" / "sub").mkdir(parents=True)
    (work / "docs" / "a.txt").write_text("alpha")
    (work / "docs" / "sub" / "b.txt").write_text("beta")
    ok("encrypt-folder", "docs", "-o", "docs.stc", "--fast", *PW)
    listing = ok("list", "docs.stc", "--json", "--passphrase-file", "pass").stdout
    assert {m["name"] for m in json.loads(listing)} >= {"a.txt", "sub/b.txt"}
    ok("decrypt-folder", "docs.stc", "-o", "restored", "--passphrase-file", "pass")
    restored = [p for p in (work / "restored").rglob("b.txt")]
    assert len(restored) == 1 and restored[0].read_text() == "beta"
    rec = json.loads(ok("recommend", "docs", "--json").stdout)
    assert "profile" in rec


def test_inspect_reads_a_version_3_message(work: Path) -> None:
    import stc as lib

    blob = lib.STCContext("s", lattice_size=64, depth=4).encrypt_blob(b"hello", "pw")
    (work / "m.stcm").write_bytes(blob)
    info = json.loads(ok("inspect", "m.stcm", "--json").stdout)
    assert (info["format"], info["version"], info["key_slots"], info["header_bytes"]) == ("message", 3, 1, 89)
    text = ok("inspect", "m.stcm").stdout
    assert "session id" in text and "argon2id, 16 MiB, 2 passes, 4 lanes" in text


@pytest.mark.parametrize(("raised", "code", "said"), [
    (KeyboardInterrupt(), 130, "interrupted"),
    ("abort", 130, "interrupted"),
    ("terminated", 143, "terminated"),
    (RuntimeError("boom"), 2, "unexpected RuntimeError; please report it"),
    ("click", 2, "bad thing"),
    ("pipe", 141, ""),
])
def test_run_click_maps_every_way_out_to_its_exit_code(raised: object, code: int, said: str,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    import click

    from stc.cli import _common, app

    exc: BaseException = {"abort": click.exceptions.Abort(), "terminated": _common.Terminated(15),
                          "click": click.UsageError("bad thing"), "pipe": BrokenPipeError()}.get(
        raised, raised)  # type: ignore[call-overload]

    def invoke(ctx: object) -> None:
        raise exc

    monkeypatch.setattr(app.main, "invoke", invoke)
    monkeypatch.setattr(app, "install_signal_handlers", lambda: None)
    monkeypatch.setattr(app, "quiet_pipe_exit", lambda: sys.exit(141))
    monkeypatch.setattr(sys, "argv", ["stc", "inspect", "x"])
    monkeypatch.delenv("STC_DEBUG", raising=False)
    with pytest.raises(SystemExit) as exited:
        app.run_click()
    assert exited.value.code == code
    assert said in capsys.readouterr().err
    if type(exc) is RuntimeError:
        monkeypatch.setenv("STC_DEBUG", "1")
        with pytest.raises(RuntimeError, match="boom"):
            app.run_click()


def test_usage_errors_of_inputs_outputs_and_options(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from stc.cli._common import check_input, check_output

    (work / "adir").mkdir()
    # The checks behind the commands (click's path type refuses some of these before them).
    for call, message in ((lambda: check_input("adir"), "adir is a directory"),
                          (lambda: check_input("x" * 5000), "File name too long"),
                          (lambda: check_output("adir", True), "adir is a directory")):
        with pytest.raises(SystemExit) as exited:
            call()
        assert exited.value.code == 2 and message in capsys.readouterr().err
    error(2, "encrypt", "data.bin", "-o", "data.bin", "--force", *PW, match="is also the input")
    error(2, "encrypt", "data.bin", "-o", "nowhere/out.stc", *PW, match="nowhere is not a directory")
    error(2, "encrypt", "data.bin", "--context-json", "{bad", *PW, match="--context-json is not valid JSON")
    error(2, "encrypt", "data.bin", "--passphrase-file", "adir", "-q", match="adir: Is a directory")
    (work / "binary.txt").write_bytes(b"\xff\xfe\x00")
    error(2, "encrypt", "data.bin", "-R", "binary.txt", "-q", match="is not UTF-8 text")


def test_bench_command_writes_json_and_checks_for_matplotlib_first(work: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from stc.cli import bench

    calls: list[object] = []
    monkeypatch.setattr(bench, "run_all", lambda **kw: calls.append(kw) or {"stc_version": "x"})
    ok("bench", "--quick", "--json", "b.json")
    assert json.loads((work / "b.json").read_text()) == {"stc_version": "x"} and len(calls) == 1
    if importlib.util.find_spec("matplotlib") is None:
        error(2, "bench", "--plot", "p.png", match="--plot needs matplotlib")
        assert len(calls) == 1  # refused before any benchmark ran
