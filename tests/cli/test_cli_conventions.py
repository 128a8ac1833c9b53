"""Issue 11: the command line as age users expect it (checks before prompts, no plaintext on disk,
armor, errors in the CLI's words, exit codes, signals, --range written safely)."""

from __future__ import annotations

import io
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pexpect
import pytest
from click.testing import CliRunner

import stc as lib
from stc.cli import main

ENV = {**os.environ, "STC_SEED": "cli-test-seed"}


def run(*args: str | Path, input: bytes | None = None, **kw: Any) -> Any:
    return CliRunner().invoke(main, [str(a) for a in args], input=input, env={"STC_SEED": "cli-test-seed"}, **kw)


def stc(*args: str | Path, stdin: bytes | None = None, **kw: Any) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "stc", *map(str, args)], input=stdin, capture_output=True,
                          env=kw.pop("env", ENV), check=False, **kw)


def on_tty(*args: str | Path, answers: tuple[tuple[str, str | None], ...] = ()) -> tuple[int, bytes]:
    """Run on a pseudo-terminal; a reply of None is Ctrl-D."""
    transcript = io.BytesIO()
    child = pexpect.spawn(sys.executable, ["-m", "stc", *map(str, args)], env=ENV, timeout=60)
    child.logfile_read = transcript
    for prompt, reply in answers:
        child.expect(prompt)
        if reply is None:
            child.sendeof()
        else:
            child.sendline(reply)
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus, transcript.getvalue()


@pytest.fixture
def f(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "pw").write_text("correct horse\n")
    data = tmp_path / "data.bin"
    data.write_bytes(os.urandom(3 * 65536 + 123))
    enc = tmp_path / "data.bin.stc"
    assert run("encrypt", data, "--passphrase-file", tmp_path / "pw", "--fast", "--chunk-size", "64K").exit_code == 0
    return {"dir": tmp_path, "pw": tmp_path / "pw", "data": data, "enc": enc}


# ---- 1. everything checkable before a prompt --------------------------------------------------------
def test_checks_come_before_any_prompt(f: dict[str, Path]) -> None:
    d = f["dir"]
    (d / "notes.txt").write_text("plain text, not STC\n")
    for args, code, words in (
        (("encrypt", d / "nonexist.txt"), 2, b"no such file"),
        (("decrypt", d / "notes.txt", "-o", d / "x"), 1, b"not STC data"),
        (("encrypt", f["data"], "-o", "/nonexistdir/x.stc"), 2, b"/nonexistdir is not a directory"),
        (("encrypt", f["data"]), 2, b"exists; use --force"),
        (("encrypt", f["data"], "-o", d / "y.stc", "--fast", "--paranoid"), 2, b"choose one of"),
        (("encrypt", f["data"], "-o", d / "y.stc", "--chunk-size", "10"), 2, b"--chunk-size must be"),
        (("decrypt", f["enc"], "-o", d / "z", "--range", "x:y"), 2, b"--range takes OFFSET:LENGTH"),
        (("encrypt", d), 2, b"is a directory"),
    ):
        status, transcript = on_tty(*args)
        assert status == code, (args, transcript)
        assert words in transcript and b"Passphrase" not in transcript, (args, transcript)
        assert b".stc-partial" not in transcript and b"Traceback" not in transcript


# ---- 2. no plaintext on disk ---------------------------------------------------------------------------
def _limit_file_size() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 16, 1 << 16))  # no file may grow past 64 KiB


def test_decrypting_a_file_to_a_pipe_writes_no_file(f: dict[str, Path]) -> None:
    tmpdir = f["dir"] / "tmp"
    tmpdir.mkdir()
    for extra in ((), ("--stream",)):
        p = stc("decrypt", f["enc"], "-o", "-", "--passphrase-file", f["pw"], *extra,
                env={**ENV, "TMPDIR": str(tmpdir)}, preexec_fn=_limit_file_size)
        assert p.returncode == 0, p.stderr
        assert p.stdout == f["data"].read_bytes() and list(tmpdir.iterdir()) == []


def test_decrypting_stdin_spools_only_ciphertext(f: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    kept: list[Path] = []

    def keep(**kw: Any) -> Any:  # the spool, kept on disk so its contents can be checked
        handle = tempfile.NamedTemporaryFile(dir=f["dir"], delete=False)  # noqa: SIM115
        kept.append(Path(handle.name))
        return handle

    monkeypatch.setattr("stc.cli.inputs.tempfile.TemporaryFile", keep)
    ciphertext = f["enc"].read_bytes()
    r = run("decrypt", "--passphrase-file", f["pw"], input=ciphertext)
    assert r.exit_code == 0, r.output
    assert r.stdout_bytes == f["data"].read_bytes()
    assert len(kept) == 1 and kept[0].read_bytes() == ciphertext  # what landed on disk is the ciphertext


def test_stdout_gets_nothing_before_everything_authenticated(f: dict[str, Path]) -> None:
    raw = bytearray(f["enc"].read_bytes())
    raw[-20] ^= 1  # the last chunk is bad: without --stream nothing is written
    (f["dir"] / "bad.stc").write_bytes(bytes(raw))
    p = stc("decrypt", f["dir"] / "bad.stc", "-o", "-", "--passphrase-file", f["pw"])
    assert p.returncode == 1 and p.stdout == b""
    p = stc("decrypt", "-", "--passphrase-file", f["dir"] / "pw", stdin=bytes(raw))  # a pipe: spooled first
    assert p.returncode == 1 and p.stdout == b""
    p = stc("decrypt", f["dir"] / "bad.stc", "-o", "-", "--passphrase-file", f["pw"], "--stream")
    assert p.returncode == 1 and p.stdout == f["data"].read_bytes()[: 3 * 65536]  # an authentic prefix


# ---- 3. crashes and exit codes ------------------------------------------------------------------------------
def test_non_utf8_passphrase_file_is_raw_bytes(f: dict[str, Path]) -> None:
    pw = f["dir"] / "binary-pw"
    pw.write_bytes(b"\xff\xfe secret\n")
    enc = f["dir"] / "b.stc"
    assert run("encrypt", f["data"], "-o", enc, "--passphrase-file", pw, "--fast").exit_code == 0
    ctx = lib.STCContext("cli-test-seed")
    ctx.decrypt_stream(enc, output_path=f["dir"] / "api-out", password=b"\xff\xfe secret")  # the API agrees
    assert (f["dir"] / "api-out").read_bytes() == f["data"].read_bytes()


def test_ctrl_d_and_empty_passphrase_are_usage_errors(f: dict[str, Path]) -> None:
    status, transcript = on_tty("encrypt", f["data"], "-o", f["dir"] / "c.stc", answers=(("Passphrase: ", None),))
    assert status == 2 and b"no passphrase given" in transcript and b"Aborted" not in transcript
    status, transcript = on_tty("encrypt", f["data"], "-o", f["dir"] / "c.stc", answers=(("Passphrase: ", ""),))
    assert status == 2 and b"empty passphrase" in transcript


def test_closed_output_pipe_ends_quietly(f: dict[str, Path]) -> None:
    big = f["dir"] / "big"
    big.write_bytes(os.urandom(8 << 20))
    assert run("encrypt", big, "--passphrase-file", f["pw"], "--fast").exit_code == 0
    for args in (("decrypt", str(big) + ".stc", "-o", "-", "--passphrase-file", f["pw"]),
                 ("encrypt", big, "-o", "-", "--passphrase-file", f["pw"], "--fast")):
        proc = subprocess.Popen([sys.executable, "-m", "stc", *map(str, args)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=ENV)
        assert proc.stdout is not None and proc.stderr is not None
        assert len(proc.stdout.read(10)) == 10
        proc.stdout.close()  # like `| head -c 10`
        assert proc.wait(timeout=60) == 141
        assert proc.stderr.read() == b""


@pytest.mark.slow
def test_demo_into_head_ends_quietly() -> None:
    shell = subprocess.run(f"{sys.executable} -m stc demo | head -1; echo ${{PIPESTATUS[0]}}", shell=True,
                           executable="/bin/bash", capture_output=True, env=ENV, check=False)
    lines = shell.stdout.decode().splitlines()
    assert lines[0].startswith("STC demo") and lines[-1] == "141" and shell.stderr == b"", shell.stderr


@pytest.mark.slow
def test_one_gib_from_a_file_to_a_pipe_writes_no_file(shm_dir: Path) -> None:
    work = shm_dir
    key = work / "key"
    assert run("keygen", "-o", key).exit_code == 0
    recipient = run("keygen", "-y", key).output.strip()
    with open(work / "plain", "wb") as out:
        block = os.urandom(1 << 20)
        for _ in range(1024):
            out.write(block)
    assert run("encrypt", work / "plain", "-o", work / "x.stc", "-r", recipient).exit_code == 0
    (work / "plain").unlink()
    tmpdir = work / "tmp"
    tmpdir.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "stc", "decrypt", str(work / "x.stc"), "-o", "-", "-i",
                             str(key)], stdout=subprocess.PIPE, env={**ENV, "TMPDIR": str(tmpdir)},
                            preexec_fn=_limit_file_size)
    assert proc.stdout is not None
    total = 0
    while chunk := proc.stdout.read1(1 << 20):
        assert chunk[:4096] == block[(total % (1 << 20)) : (total % (1 << 20)) + 4096][: len(chunk[:4096])]
        total += len(chunk)
    assert proc.wait() == 0 and total == 1 << 30 and list(tmpdir.iterdir()) == []


def test_no_traceback_and_help_shows_examples_and_exit_codes(f: dict[str, Path]) -> None:
    for command in ("encrypt", "decrypt", "inspect", "keygen", "rekey"):
        out = run(command, "--help").output
        assert "Examples:" in out, command
    assert "Exit codes" in run("--help").output and "141" in run("decrypt", "--help").output


# ---- 4. truncation named as truncation ---------------------------------------------------------------------
def test_truncation_is_named_and_inspect_reports_the_length(f: dict[str, Path]) -> None:
    raw = f["enc"].read_bytes()
    header = lib.HeaderV2.parse_prefix(raw)[0].size
    cut = f["dir"] / "cut.stc"
    cut.write_bytes(raw[: header + 65552 + 100])  # inside the second chunk
    p = stc("decrypt", cut, "-o", f["dir"] / "o", "--passphrase-file", f["pw"])
    assert p.returncode == 1 and b"cut inside it" in p.stderr
    cut.write_bytes(raw[: header + 2 * 65552])  # at a chunk boundary
    p = stc("decrypt", cut, "-o", f["dir"] / "o", "--passphrase-file", f["pw"])
    assert p.returncode == 1 and b"truncated" in p.stderr
    info = json.loads(run("inspect", cut, "--json").output)
    assert info["whole_chunks"] == 2 and "cannot" not in info["length_check"] and "proven" in info["length_check"]
    cut.write_bytes(raw[: header + 65552 + 10])
    info = json.loads(run("inspect", cut, "--json").output)
    assert "truncated" in info["length_check"]


# ---- 5. age's conventions ------------------------------------------------------------------------------------
def test_stdin_to_stdout_by_default_and_armor(f: dict[str, Path]) -> None:
    data = f["data"].read_bytes()
    enc = stc("encrypt", "-a", "--passphrase-file", f["pw"], "--fast", stdin=data)
    assert enc.returncode == 0, enc.stderr
    text = enc.stdout.decode("ascii")
    lines = text.splitlines()
    assert lines[0] == "-----BEGIN STC ENCRYPTED FILE-----" and lines[-1] == "-----END STC ENCRYPTED FILE-----"
    assert all(len(line) == 64 for line in lines[1:-2]) and 0 < len(lines[-2]) <= 64
    pw_file = f["pw"]
    dec = stc("decrypt", "--passphrase-file", pw_file, stdin=enc.stdout)
    assert dec.returncode == 0 and dec.stdout == data
    crlf = b"\r\n\n  " + enc.stdout.replace(b"\n", b"\r\n") + b"  \n"
    assert stc("decrypt", "--passphrase-file", pw_file, stdin=crlf).stdout == data
    for bad in (enc.stdout + b"junk\n", enc.stdout.replace(b"\n", b"\n ", 2), enc.stdout[:-40]):
        p = stc("decrypt", "--passphrase-file", pw_file, stdin=bad)
        assert p.returncode == 1 and b"armor" in p.stderr and p.stdout == b""
    armored = f["dir"] / "a.stc"
    armored.write_bytes(enc.stdout)
    assert run("decrypt", armored, "-o", f["dir"] / "a.out", "--passphrase-file", pw_file).exit_code == 0
    assert "version" in run("inspect", armored).output


def test_stdin_to_an_existing_output_with_force(f: dict[str, Path]) -> None:
    out = f["dir"] / "existing.stc"
    out.write_bytes(b"old")
    p = stc("encrypt", "-o", out, "--force", "--passphrase-file", f["pw"], "--fast", stdin=b"new data")
    assert p.returncode == 0, p.stderr
    assert run("decrypt", out, "-o", "-", "--passphrase-file", f["pw"]).stdout_bytes == b"new data"


def test_passphrase_from_stdin_context_json_and_message_form(f: dict[str, Path]) -> None:
    p = stc("decrypt", f["enc"], "-o", f["dir"] / "o1", "--passphrase-file", "-", stdin=b"correct horse\n")
    assert p.returncode == 0 and (f["dir"] / "o1").read_bytes() == f["data"].read_bytes()
    p = stc("decrypt", "--passphrase-file", "-", stdin=f["enc"].read_bytes())
    assert p.returncode == 2 and b"carries the data" in p.stderr
    ctx = lib.STCContext("cli-test-seed", lattice_size=64, depth=4)
    api_file = f["dir"] / "api.stc"
    ctx.encrypt_stream(f["data"], api_file, "correct horse", context_data={"n": 1})
    r = run("decrypt", api_file, "-o", f["dir"] / "o2", "--passphrase-file", f["pw"], "--context-json", '{"n": 1}')
    assert r.exit_code == 0, r.output
    r = run("decrypt", api_file, "-o", f["dir"] / "o3", "--passphrase-file", f["pw"], "--context", "n=1")
    assert r.exit_code == 1 and "--context" in r.output  # a string "1" is not the integer 1
    blob = ctx.encrypt_blob("a one-value message", "correct horse")
    p = stc("decrypt", "--passphrase-file", f["pw"], stdin=blob)
    assert p.returncode == 0 and p.stdout == b"a one-value message"
    assert run("decrypt", "--context", "a=b", "--context-json", "{}", input=blob).exit_code == 2


def test_progress_summary_and_no_bar_over_plaintext_on_the_terminal(f: dict[str, Path]) -> None:
    status, transcript = on_tty("decrypt", f["enc"], "-o", f["dir"] / "t.out", "--passphrase-file", f["pw"])
    size = f["data"].stat().st_size
    assert status == 0 and f"stc: decrypted: {size / 1024:.1f} KiB in ".encode() in transcript  # no "0.0 MiB"
    status, transcript = on_tty("decrypt", f["enc"], "-o", "-", "--passphrase-file", f["pw"])  # to this terminal
    assert status == 0 and b"stc: decrypted" not in transcript and b" KiB in " not in transcript


# ---- 7. no plaintext left behind on any signal; --range written like every output --------------------------
@pytest.mark.slow
def test_signals_clean_up_and_stale_partials_are_removed(f: dict[str, Path]) -> None:
    big = f["dir"] / "huge"
    with open(big, "wb") as out:
        for _ in range(256):
            out.write(os.urandom(1 << 20))
    assert run("encrypt", big, "--passphrase-file", f["pw"], "--fast").exit_code == 0
    target = f["dir"] / "huge.out"
    # A shell starts background jobs with SIGINT ignored, and a child inherits that (and keeps it,
    # as it should). Catch SIGINT here, so each child starts with the default the CLI then handles.
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        _signal_each_decrypt(f, big, target)
    finally:
        signal.signal(signal.SIGINT, inherited)
    stale = f["dir"] / ".huge.out.999999999.abcd.stc-partial"  # left by a writer that was SIGKILLed
    stale.write_bytes(b"partial plaintext")
    os.chmod(stale, 0o600)
    assert run("decrypt", f["enc"], "-o", f["dir"] / "huge.out", "--passphrase-file", f["pw"]).exit_code == 0
    assert not stale.exists()


def _signal_each_decrypt(f: dict[str, Path], big: Path, target: Path) -> None:
    """Stop a decrypt mid-output with each signal: its exit code, no traceback, nothing left."""
    for sig, code in ((signal.SIGTERM, 143), (signal.SIGHUP, 129), (signal.SIGINT, 130)):
        for _ in range(5):  # a fast machine may finish 256 MiB before the signal lands: try again
            proc = subprocess.Popen([sys.executable, "-m", "stc", "decrypt", f"{big}.stc", "-o", str(target),
                                     "--passphrase-file", str(f["pw"])], env=ENV, stderr=subprocess.PIPE)
            deadline = time.time() + 30
            while not any(p.name.endswith(".stc-partial") for p in f["dir"].iterdir()) and time.time() < deadline:
                time.sleep(0.005)
            proc.send_signal(signal.SIGSTOP)  # held mid-output: the signal is then certain to land first
            if proc.poll() is None and any(p.name.endswith(".stc-partial") for p in f["dir"].iterdir()):
                break
            proc.send_signal(signal.SIGCONT)
            proc.wait(timeout=60)
            target.unlink(missing_ok=True)
        proc.send_signal(sig)
        proc.send_signal(signal.SIGCONT)
        assert proc.wait(timeout=60) == code, sig
        assert proc.stderr is not None and b"Traceback" not in proc.stderr.read()
        assert not any(p.name.endswith(".stc-partial") for p in f["dir"].iterdir()) and not target.exists()


def test_range_output_is_atomic_with_the_umask_and_never_through_a_symlink(f: dict[str, Path]) -> None:
    out, victim = f["dir"] / "part.bin", f["dir"] / "victim"
    old = os.umask(0o027)
    try:
        r = run("decrypt", f["enc"], "--range", "100:50", "-o", out, "--passphrase-file", f["pw"])
    finally:
        os.umask(old)
    assert r.exit_code == 0 and out.read_bytes() == f["data"].read_bytes()[100:150]
    assert (out.stat().st_mode & 0o777) == 0o640  # 0666 & ~umask, as any new file (age does the same)
    assert run("decrypt", f["enc"], "--range", "0:5", "-o", out, "--passphrase-file", f["pw"]).exit_code == 2
    link = f["dir"] / "link"
    link.symlink_to(victim)  # dangling
    r = run("decrypt", f["enc"], "--range", "0:5", "-o", link, "--passphrase-file", f["pw"])
    assert r.exit_code == 2 and not victim.exists()
    r = run("decrypt", f["enc"], "--range", "0:5", "-o", link, "--passphrase-file", f["pw"], "--force")
    assert r.exit_code == 0 and not victim.exists() and not link.is_symlink()
