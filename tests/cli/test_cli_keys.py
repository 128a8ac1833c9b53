"""Issue 10 on the command line: keygen, -r/-R/-p, -i, rekey and inspect's slot kinds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from stc.cli import main

ENV = {**os.environ, "STC_SEED": "cli-test-seed"}


def run(*args: str | Path, input: bytes | None = None) -> CliRunner.invoke:  # type: ignore[valid-type]
    return CliRunner().invoke(main, [str(a) for a in args], input=input, env={"STC_SEED": "cli-test-seed"})


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, Path]:
    out = {}
    for name, extra in (("alice", []), ("bob", ["--pq"]), ("carol", [])):
        path = tmp_path / f"{name}.key"
        r = run("keygen", "-o", path, *extra)
        assert r.exit_code == 0, r.output
        out[name] = path
    (tmp_path / "pw").write_text("correct horse\n")
    (tmp_path / "new-pw").write_text("battery staple\n")
    data = tmp_path / "data.bin"
    data.write_bytes(os.urandom(200_000))
    return {**out, "dir": tmp_path, "pw": tmp_path / "pw", "new_pw": tmp_path / "new-pw", "data": data}


def recipient(path: Path) -> str:
    r = run("keygen", "-y", path)
    assert r.exit_code == 0
    return str(r.output.strip())


def test_keygen_writes_0600_prints_public_key_and_never_overwrites(keys: dict[str, Path]) -> None:
    alice = keys["alice"]
    assert (alice.stat().st_mode & 0o777) == 0o600
    text = alice.read_text()
    assert text.startswith("# created: ") and "STC-SECRET-KEY-X25519-" in text
    assert "STC-SECRET-KEY-XWING-" in keys["bob"].read_text()
    r = run("keygen", "-o", alice)
    assert r.exit_code == 2 and "never overwrites" in r.output and alice.read_text() == text
    assert recipient(alice).startswith("stc-x25519-") and f"# public key: {recipient(alice)}" in text
    r = run("keygen")  # no -o: the identity file on stdout
    assert r.exit_code == 0 and "STC-SECRET-KEY-X25519-" in r.output


def test_keygen_prints_public_key_on_stderr(keys: dict[str, Path]) -> None:
    out = keys["dir"] / "k2"
    done = subprocess.run([sys.executable, "-m", "stc", "keygen", "-o", str(out)], capture_output=True, env=ENV,
                          check=False)
    assert done.returncode == 0 and done.stdout == b""
    assert done.stderr.decode().startswith("Public key: stc-x25519-")


def test_encrypt_to_recipients_decrypt_with_identities(keys: dict[str, Path]) -> None:
    data, d = keys["data"], keys["dir"]
    rfile = d / "recipients.txt"
    rfile.write_text(f"# team\n{recipient(keys['bob'])}\n\n")
    r = run("encrypt", data, "-o", d / "x.stc", "-r", recipient(keys["alice"]), "-R", rfile, "--fast")
    assert r.exit_code == 0, r.output  # no passphrase asked (there is no terminal here: it would fail)
    for who in ("alice", "bob"):
        out = d / f"out-{who}"
        r = run("decrypt", d / "x.stc", "-o", out, "-i", keys[who])
        assert r.exit_code == 0, r.output
        assert out.read_bytes() == data.read_bytes()
    r = run("decrypt", d / "x.stc", "-o", d / "nope", "-i", keys["carol"])
    assert r.exit_code == 1 and "no identity matched" in r.output and not (d / "nope").exists()
    info = json.loads(run("inspect", d / "x.stc", "--json").output)
    assert info["slots_by_kind"] == {"x25519": 4, "mlkem768x25519": 4} and "kdf" not in info


def test_no_prompt_for_a_file_only_keys_open(keys: dict[str, Path]) -> None:
    import pexpect

    d = keys["dir"]
    assert run("encrypt", keys["data"], "-o", d / "k.stc", "-r", recipient(keys["alice"])).exit_code == 0
    child = pexpect.spawn(sys.executable, ["-m", "stc", "decrypt", str(d / "k.stc"), "-o", str(d / "k.out")],
                          env=ENV, timeout=60)
    child.expect(pexpect.EOF)
    child.close()
    transcript = child.before.decode()
    assert child.exitstatus == 1 and "public keys only" in transcript and "Passphrase" not in transcript


def test_recipients_and_passphrase_together(keys: dict[str, Path]) -> None:
    data, d = keys["data"], keys["dir"]
    r = run("encrypt", data, "-o", d / "y.stc", "-r", recipient(keys["alice"]), "-p", "--passphrase-file",
            keys["pw"], "--fast")
    assert r.exit_code == 0, r.output
    assert run("decrypt", d / "y.stc", "-o", d / "a", "--passphrase-file", keys["pw"]).exit_code == 0
    assert run("decrypt", d / "y.stc", "-o", d / "b", "-i", keys["alice"]).exit_code == 0
    human = run("inspect", d / "y.stc").output
    assert "4 passphrase" in human and "4 x25519" in human


def test_bad_recipient_and_identity_inputs(keys: dict[str, Path]) -> None:
    data, d = keys["data"], keys["dir"]
    r = run("encrypt", data, "-o", d / "z.stc", "-r", "stc-x25519-nonsense")
    assert r.exit_code == 2 and "malformed" in r.output
    r = run("encrypt", data, "-o", d / "z.stc", "-r", keys["alice"].read_text().splitlines()[-1])
    assert r.exit_code == 2 and "secret key, not a recipient" in r.output
    bad = d / "bad.key"
    bad.write_text("# nothing here\n")
    os.chmod(bad, 0o600)
    assert run("encrypt", data, "-o", d / "z.stc", "-r", recipient(keys["alice"]), "--fast").exit_code == 0
    r = run("decrypt", d / "z.stc", "-o", d / "z", "-i", bad)
    assert r.exit_code == 2 and "holds no identity" in r.output
    os.chmod(keys["alice"], 0o644)
    r = run("decrypt", d / "z.stc", "-o", d / "z", "-i", keys["alice"])
    assert r.exit_code == 0 and "readable by other users" in r.output


def test_rekey_add_remove_change(keys: dict[str, Path]) -> None:
    data, d = keys["data"], keys["dir"]
    enc = d / "r.stc"
    assert run("encrypt", data, "-o", enc, "-r", recipient(keys["alice"]), "--fast").exit_code == 0
    body_before = enc.read_bytes()[-150_000:]
    r = run("rekey", enc, "-i", keys["alice"], "--add-recipient", recipient(keys["bob"]))
    assert r.exit_code == 0, r.output
    assert "re-keyed" in r.output and enc.read_bytes()[-150_000:] == body_before
    assert run("decrypt", enc, "-o", d / "o1", "-i", keys["bob"]).exit_code == 0
    r = run("rekey", enc, "-i", keys["bob"], "--remove-recipient", recipient(keys["alice"]))
    assert r.exit_code == 0, r.output
    assert run("decrypt", enc, "-o", d / "o2", "-i", keys["alice"]).exit_code == 1
    r = run("rekey", enc, "-i", keys["bob"], "--change-passphrase", "--new-passphrase-file", keys["new_pw"],
            "--fast")
    assert r.exit_code == 0, r.output
    assert run("decrypt", enc, "-o", d / "o3", "--passphrase-file", keys["new_pw"]).exit_code == 0
    assert (d / "o3").read_bytes() == data.read_bytes()
    assert run("rekey", enc, "-i", keys["bob"]).exit_code == 2  # nothing to change
    assert run("rekey", enc, "-i", keys["bob"], "--new-passphrase-file", keys["new_pw"]).exit_code == 2
    r = run("rekey", enc, "-i", keys["carol"], "--add-recipient", recipient(keys["carol"]))
    assert r.exit_code == 1 and "no identity matched" in r.output


def test_pipes_with_identities(keys: dict[str, Path]) -> None:
    data = keys["data"].read_bytes()
    enc = subprocess.run([sys.executable, "-m", "stc", "encrypt", "-", "-r", recipient(keys["bob"])],
                         input=data, capture_output=True, env=ENV, check=True)
    dec = subprocess.run([sys.executable, "-m", "stc", "decrypt", "-", "-i", str(keys["bob"])],
                         input=enc.stdout, capture_output=True, env=ENV, check=False)
    assert dec.returncode == 0, dec.stderr
    assert dec.stdout == data
