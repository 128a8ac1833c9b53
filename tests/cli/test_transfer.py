"""``stc send`` / ``stc receive`` as subprocesses over loopback TCP: identity and code modes, a
64 MiB file byte-identical, refusals, and an interrupted transfer that leaves nothing."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pexpect
import pytest

ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


def stc(*args: str | Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "stc", *map(str, args)], capture_output=True, text=True, env=ENV,
                          timeout=120, check=False, **kwargs)  # type: ignore[call-overload, no-any-return]


def start_receiver(*args: str | Path, cwd: Path) -> tuple[subprocess.Popen[str], str]:
    """A receiver listening on a free port of 127.0.0.1; returns it and its HOST:PORT."""
    proc = subprocess.Popen([sys.executable, "-m", "stc", "receive", "--listen", "127.0.0.1:0", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd, env=ENV)
    assert proc.stderr is not None
    line = proc.stderr.readline()
    match = re.search(r"listening on (\S+)", line)
    assert match, line
    return proc, match[1]


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, str | Path]:
    out: dict[str, str | Path] = {}
    for name in ("bob", "alice", "mallory"):
        r = stc("keygen", "-o", tmp_path / f"{name}.key")
        assert r.returncode == 0, r.stderr
        out[name] = tmp_path / f"{name}.key"
        out[f"{name}_pub"] = re.search(r"(stc-x25519-\S+)", r.stderr + r.stdout)[1]  # type: ignore[index]
    return out


def test_a_64_mib_file_arrives_byte_identical_to_a_key(shm_dir: Path, keys: dict[str, str | Path]) -> None:
    src = shm_dir / "big.bin"
    with open(src, "wb") as f:
        for _ in range(64):
            f.write(os.urandom(1 << 20))
    out = shm_dir / "out"
    out.mkdir()
    receiver, address = start_receiver("-i", keys["bob"], "--from", keys["alice_pub"], cwd=out)
    sent = stc("send", src, address, "--to", keys["bob_pub"], "-i", keys["alice"])
    assert sent.returncode == 0, sent.stderr
    assert receiver.wait(60) == 0
    assert receiver.stderr is not None and keys["alice_pub"] in receiver.stderr.read()  # type: ignore[operator]
    got = out / "big.bin"  # the sender's name, in the receiver's folder
    assert hashlib.sha256(got.read_bytes()).digest() == hashlib.sha256(src.read_bytes()).digest()
    assert sorted(p.name for p in out.iterdir()) == ["big.bin"]


def test_a_sender_not_allowed_is_refused_and_the_receiver_keeps_waiting(tmp_path: Path,
                                                                        keys: dict[str, str | Path]) -> None:
    (tmp_path / "note.txt").write_text("hello")
    out = tmp_path / "out"
    out.mkdir()
    receiver, address = start_receiver("-i", keys["bob"], "--from", keys["alice_pub"], "-o", "got.txt", cwd=out)
    try:
        refused = stc("send", tmp_path / "note.txt", address, "--to", keys["bob_pub"], "-i", keys["mallory"],
                      "--timeout", "5")
        assert refused.returncode == 1 and "closed the connection" in refused.stderr
        wrong_key = stc("send", tmp_path / "note.txt", address, "--to", keys["mallory_pub"], "-i", keys["alice"],
                        "--timeout", "5")
        assert wrong_key.returncode == 1  # Alice named Mallory: Bob cannot read her first message
        assert receiver.poll() is None and list(out.iterdir()) == []
        ok = stc("send", tmp_path / "note.txt", address, "--to", keys["bob_pub"], "-i", keys["alice"])
        assert ok.returncode == 0, ok.stderr
        assert receiver.wait(30) == 0 and (out / "got.txt").read_text() == "hello"
    finally:
        receiver.kill()


def test_code_mode_with_a_generated_code_and_a_prompt(tmp_path: Path) -> None:
    src = tmp_path / "photo.jpg"
    src.write_bytes(os.urandom(300_000))
    out = tmp_path / "out"
    out.mkdir()
    sender = subprocess.Popen([sys.executable, "-m", "stc", "send", str(src), "127.0.0.1:1", "--code",
                               "--timeout", "1"], stderr=subprocess.PIPE, text=True, env=ENV)
    assert sender.stderr is not None
    code = re.search(r"code: (\S+)", sender.stderr.readline())[1]  # type: ignore[index]
    assert re.fullmatch(r"\d{1,3}-[a-z]+-[a-z]+", code)
    sender.kill()
    sender.wait()
    # the receiver asks for the code on its terminal, as magic-wormhole does
    child = pexpect.spawn(sys.executable, ["-m", "stc", "receive", "--listen", "127.0.0.1:0", "--code"],
                          cwd=str(out), env=ENV, timeout=60)
    child.expect("Enter the code")
    child.sendline(code)
    child.expect(r"listening on (\S+)")
    address = child.match.group(1).decode()
    sent = stc("send", src, address, "--code", code)
    assert sent.returncode == 0, sent.stderr
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert (out / "photo.jpg").read_bytes() == src.read_bytes()


def test_a_wrong_code_fails_on_both_sides_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("a")
    receiver, address = start_receiver("--code", "12-ocean-guitar", cwd=tmp_path)
    try:
        wrong = stc("send", tmp_path / "a.txt", address, "--code", "12-ocean-guitars", "--timeout", "5")
        assert wrong.returncode == 1 and "wrong code" in wrong.stderr
        assert receiver.poll() is None  # still waiting for the right peer
    finally:
        receiver.kill()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_an_interrupted_transfer_leaves_nothing_and_fails(shm_dir: Path) -> None:
    src = shm_dir / "huge.bin"
    with open(src, "wb") as f:
        f.truncate(256 << 20)  # sparse: large enough to be mid-way when killed
    out = shm_dir / "out"
    out.mkdir()
    receiver, address = start_receiver("--code", "3-cut-wire", "-o", "huge.copy", cwd=out)
    sender = subprocess.Popen([sys.executable, "-m", "stc", "send", str(src), address, "--code", "3-cut-wire"],
                              stderr=subprocess.DEVNULL, env=ENV)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not any(p.name.endswith(".partial") or p.name.startswith(".")
                                                  for p in out.iterdir()):
        time.sleep(0.01)
    time.sleep(0.2)
    sender.send_signal(signal.SIGKILL)
    sender.wait()
    assert receiver.wait(30) == 1
    assert receiver.stderr is not None and "nothing was written" in receiver.stderr.read()
    assert list(out.iterdir()) == []


def test_usage_errors(tmp_path: Path, keys: dict[str, str | Path]) -> None:
    (tmp_path / "f").write_text("x")
    for args, message in (
        (("send", tmp_path / "f", "nowhere"), "ADDRESS is HOST:PORT"),
        (("send", tmp_path / "f", "127.0.0.1:9"), "give --to RECIPIENT or --code"),
        (("send", tmp_path / "f", "127.0.0.1:9", "--to", keys["bob_pub"], "--code", "1-a-b"), "give --to"),
        (("receive", "--listen", "127.0.0.1"), "--listen is HOST:PORT"),
        (("receive", "--listen", "127.0.0.1:0"), "give -i IDENTITY"),
        (("receive", "--listen", "127.0.0.1:0", "--code", "1-a-b", "--from", keys["bob_pub"]), "--from needs -i"),
    ):
        r = stc(*args)
        assert r.returncode == 2 and message in r.stderr, r.stderr
