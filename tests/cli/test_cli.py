"""The stc command line, in-process (click's runner) and as a real subprocess (pipes, a pty)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest
from click.testing import CliRunner

from stc.cli import main

FAST = ["--fast"]
ENV = {**os.environ, "STC_SEED": "cli-test-seed"}


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "pw").write_text("correct horse\n")
    (tmp_path / "bad").write_text("wrong horse\n")
    (tmp_path / "empty").write_text("\n")
    data = tmp_path / "data.bin"
    data.write_bytes(os.urandom(300_000))
    return {"dir": tmp_path, "pw": tmp_path / "pw", "bad": tmp_path / "bad", "data": data,
            "empty": tmp_path / "empty"}


def run(*args: str | Path, input: bytes | None = None) -> CliRunner.invoke:  # type: ignore[valid-type]
    return CliRunner().invoke(main, [str(a) for a in args], input=input, env={"STC_SEED": "cli-test-seed"})


def stc(*args: str | Path, stdin: bytes | None = None, env: dict[str, str] | None = None,
        **kw: object) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "stc", *map(str, args)], input=stdin, capture_output=True,
                          env=env or ENV, check=False, **kw)  # type: ignore[call-overload, no-any-return]


def test_round_trip_default_names_and_overwrite_guard(files: dict[str, Path]) -> None:
    data, pw = files["data"], files["pw"]
    r = run("encrypt", data, "--passphrase-file", pw, *FAST, "--chunk-size", "64K", "--context", "user=alice")
    assert r.exit_code == 0, r.output
    enc = Path(str(data) + ".stc")
    assert enc.exists()
    r = run("encrypt", data, "--passphrase-file", pw, *FAST)
    assert r.exit_code == 2 and "--force" in r.output
    assert run("encrypt", data, "--passphrase-file", pw, *FAST, "--force").exit_code == 0
    r = run("encrypt", data, "--passphrase-file", pw, *FAST, "--force", "--context", "user=alice")
    assert r.exit_code == 0
    original = data.read_bytes()
    data.unlink()
    r = run("decrypt", enc, "--passphrase-file", pw, "--context", "user=alice")
    assert r.exit_code == 0, r.output
    assert data.read_bytes() == original
    r = run("decrypt", enc, "--passphrase-file", pw, "--context", "user=alice")
    assert r.exit_code == 2  # output exists
    r = run("decrypt", enc, "-o", files["dir"] / "again", "--passphrase-file", pw, "--context", "user=alice",
            "--range", "1000:50")
    assert r.exit_code == 0 and (files["dir"] / "again").read_bytes() == original[1000:1050]


def test_failures_exit_1_with_an_error_line_and_leave_nothing(files: dict[str, Path]) -> None:
    data, pw = files["data"], files["pw"]
    enc = files["dir"] / "x.stc"
    assert run("encrypt", data, "-o", enc, "--passphrase-file", pw, *FAST, "--context", "k=v").exit_code == 0
    out = files["dir"] / "out"
    cases = {
        "wrong passphrase": ["--passphrase-file", files["bad"], "--context", "k=v"],
        "wrong context": ["--passphrase-file", pw, "--context", "k=w"],
        "missing context": ["--passphrase-file", pw],
    }
    for name, extra in cases.items():
        p = stc("decrypt", enc, "-o", out, *extra)
        assert p.returncode == 1, name
        lines = p.stderr.decode().splitlines()
        assert lines[0].startswith("stc: error: ") and len(lines) <= 2, p.stderr  # the error, then maybe a hint
        assert all(line.startswith("stc: hint: ") for line in lines[1:])
        assert not out.exists()
    blob = bytearray(enc.read_bytes())
    blob[-100] ^= 1
    tampered = files["dir"] / "t.stc"
    tampered.write_bytes(bytes(blob))
    p = stc("decrypt", tampered, "-o", out, "--passphrase-file", pw, "--context", "k=v")
    assert p.returncode == 1 and b"did not authenticate" in p.stderr and not out.exists()
    tampered.write_bytes(enc.read_bytes()[:-5000])
    p = stc("decrypt", tampered, "-o", "-", "--passphrase-file", pw, "--context", "k=v")
    assert p.returncode == 1 and p.stdout == b""  # nothing reaches stdout before authentication
    tampered.write_bytes(b"not an stc file at all" * 10)
    assert stc("decrypt", tampered, "-o", out, "--passphrase-file", pw).returncode == 1


def test_usage_errors_exit_2(files: dict[str, Path]) -> None:
    pw = files["pw"]
    assert run("encrypt", files["dir"] / "missing", "--passphrase-file", pw).exit_code == 2
    assert run("encrypt", files["data"], "--passphrase-file", pw, "--chunk-size", "4X").exit_code == 2
    assert run("encrypt", files["data"], "--passphrase-file", pw, "--chunk-size", "100").exit_code == 2
    assert run("encrypt", files["data"], "--passphrase-file", pw, "--context", "novalue").exit_code == 2
    assert run("encrypt", files["data"], "--passphrase-file", files["empty"]).exit_code == 2
    assert run("decrypt", files["data"], "--passphrase-file", pw).exit_code == 2  # no .stc suffix, no -o
    assert run("decrypt", files["data"], "-o", "x", "--range", "bad", "--passphrase-file", pw).exit_code == 2
    assert run("bogus").exit_code == 2
    assert stc("stream-demo", "--size", "1").returncode == 2


def test_pipes_and_tar(files: dict[str, Path], tmp_path: Path) -> None:
    pw = files["pw"]
    data = files["data"].read_bytes()
    p = stc("encrypt", "-", "--passphrase-file", pw, *FAST, stdin=data)
    assert p.returncode == 0 and p.stdout[:4] == b"STCF"
    back = stc("decrypt", "-", "--passphrase-file", pw, stdin=p.stdout)
    assert back.returncode == 0 and back.stdout == data
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "a.txt").write_text("hello")
    cmd = (f"tar c -C {tmp_path} tree | {sys.executable} -m stc encrypt - --fast --passphrase-file {pw} "
           f"> {tmp_path}/dir.tar.stc && mkdir {tmp_path}/out && {sys.executable} -m stc decrypt - "
           f"--passphrase-file {pw} < {tmp_path}/dir.tar.stc | tar x -C {tmp_path}/out")
    shell = subprocess.run(cmd, shell=True, env=ENV, capture_output=True, check=False)
    assert shell.returncode == 0, shell.stderr
    assert (tmp_path / "out" / "tree" / "a.txt").read_text() == "hello"


def on_tty(*args: str | Path, answers: tuple[tuple[str, str], ...] = ()) -> tuple[int, bytes]:
    """Run ``stc ARGS`` on a pseudo-terminal, answering prompts; return (exit status, transcript)."""
    transcript = io.BytesIO()
    child = pexpect.spawn(sys.executable, ["-m", "stc", *map(str, args)], env=ENV, timeout=60)
    child.logfile_read = transcript
    for prompt, reply in answers:
        child.expect(prompt)
        child.sendline(reply)
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus, transcript.getvalue()


def test_passphrase_prompt_on_a_pty_and_terminal_guard(files: dict[str, Path]) -> None:
    data, enc, out = files["data"], files["dir"] / "prompted.stc", files["dir"] / "p.out"
    twice = (("Passphrase: ", "typed secret"), ("Confirm passphrase: ", "typed secret"))
    status, transcript = on_tty("encrypt", data, "-o", enc, "--fast", answers=twice)
    assert status == 0 and enc.exists()
    assert b"typed secret" not in transcript  # no echo
    status, _ = on_tty("decrypt", enc, "-o", out, answers=(("Passphrase: ", "typed secret"),))
    assert status == 0 and out.read_bytes() == data.read_bytes()
    mismatch = (("Passphrase: ", "one"), ("Confirm passphrase: ", "two"))
    status, transcript = on_tty("encrypt", data, "-o", files["dir"] / "m.stc", answers=mismatch)
    assert status == 2 and b"do not match" in transcript
    status, transcript = on_tty("encrypt", "-", "--passphrase-file", files["pw"])  # stdout is the terminal
    assert status == 2 and b"refusing to write binary ciphertext to a terminal" in transcript


def test_no_terminal_and_no_passphrase_file(files: dict[str, Path]) -> None:
    p = stc("encrypt", files["data"], "-o", files["dir"] / "n.stc", stdin=b"", start_new_session=True)
    assert p.returncode == 2 and b"--passphrase-file" in p.stderr


def test_inspect(files: dict[str, Path]) -> None:
    enc = files["dir"] / "i.stc"
    assert run("encrypt", files["data"], "-o", enc, "--passphrase-file", files["pw"], *FAST,
               "--no-decoys").exit_code == 0
    r = run("inspect", enc, "--json")
    info = json.loads(r.output)
    assert info["key_slots"] == 1 and info["kdf"]["memory_kib"] == 16384 and info["plaintext_bytes"] == 300_000
    human = run("inspect", enc)
    assert "argon2id, 16 MiB" in human.output and "correct horse" not in human.output
    garbage = files["dir"] / "g"
    garbage.write_bytes(b"garbage" * 20)
    assert run("inspect", garbage).exit_code == 1
    import stc as lib

    blob = lib.encrypt_blob(b"m", "pw", lattice_size=64, depth=4)
    r = run("inspect", "-", input=blob)
    assert r.exit_code == 0 and "message" in r.output


def test_help_is_complete() -> None:
    top = run("--help").output
    for command in ("encrypt", "decrypt", "inspect", "demo", "stream-demo", "bench"):
        assert command in top
        sub = run(command, "--help")
        assert sub.exit_code == 0 and "Usage:" in sub.output and len(sub.output) > 200
    assert "Exit codes" in top


def test_stream_demo_and_demo() -> None:
    r = run("stream-demo", "--frames", "20", "--fps", "200", "--json")
    report = json.loads(r.output)
    assert report["frames_received"] >= 18 and report["frames_sent"] == 20
    assert report["peer_authenticated"] is True and report["handshake_ms"] > 0
    r = run("demo", "--frames", "20")
    assert r.exit_code == 0, r.output
    assert "All checks passed." in r.output and "WrongPasswordError" in r.output


def test_bench_small(tmp_path: Path) -> None:
    from stc.cli.bench import bench_files, run_all

    rows = bench_files(True, str(tmp_path), lambda s: None, sizes=(1 << 20,), repeat=1)
    kinds = {r["kind"] for r in rows}
    assert {"copy", "aead-enc", "stc-enc", "stc-dec"} <= kinds
    assert {r["mode"] for r in rows} == {"new", "overwrite"}
    assert all(r["mb_per_s"] > 0 and r["rss_peak_mib"] > 0 for r in rows)
    stc_rows = [r for r in rows if r["kind"].startswith("stc")]
    # The peak mark is reset after set-up, so the growth is the run's own (not Argon2id's 16 MiB).
    assert all(r["peak_reset"] and 0 <= r["rss_growth_mib"] < 16 <= r["setup_peak_mib"] for r in stc_rows)
    frames = run_all(quick=True, suites=("frames",), echo=lambda s: None)["frames"]
    assert frames[0]["frame_bytes"] == 5000 and frames[0]["stc"]["roundtrips_per_s"] > 0
    messages = run_all(quick=True, suites=("messages",), echo=lambda s: None)["messages"]
    assert [r["bytes"] for r in messages["roundtrip"]] == [1024, 65536, 1 << 20]
    assert messages["metadata_bytes"] == {"one_password": 89, "with_decoys": 347}


def test_progress_bar_on_a_terminal_only(files: dict[str, Path]) -> None:
    big = files["dir"] / "big.bin"
    big.write_bytes(os.urandom(24 << 20))
    status, transcript = on_tty("encrypt", big, "--fast", "--chunk-size", "256K", "--passphrase-file", files["pw"])
    assert status == 0 and b"B/s" in transcript
    status, transcript = on_tty("decrypt", str(big) + ".stc", "-o", files["dir"] / "q", "--quiet",
                                "--passphrase-file", files["pw"])
    assert status == 0 and b"B/s" not in transcript
    p = stc("decrypt", str(big) + ".stc", "-o", files["dir"] / "r", "--passphrase-file", files["pw"])
    assert p.returncode == 0 and p.stderr == b""  # not a terminal: silent
