"""Identity files protected by a passphrase: STC's (``stc keygen --protect``) and age's (``age -p``),
through the API (``stc.load_identities(path, password=…)``) and ``-i`` on the command line."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

import stc
from stc import age, errors
from stc.identities import is_protected, load_identities, protect, unprotect
from stc.keys.recipients import X25519Identity, as_age
from stc.keys.recipients import load_identities as load_plain

AGE = shutil.which("age")
ENV = {**os.environ, "STC_SEED": "protected-identities"}
ENV.pop("STC_IDENTITY_PASSPHRASE", None)
IDENTITY = X25519Identity.generate()
TEXT = f"# a comment\n{IDENTITY.to_string()}\n"
FAST = {"lattice_size": 64, "depth": 4}


def stc_cli(*args: str | Path, stdin: bytes | None = None, env: dict[str, str] | None = None
            ) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "stc", *map(str, args)], input=stdin, capture_output=True,
                          env=env or ENV, timeout=120)


def test_good_stc_protected_identity(tmp_path: Path) -> None:
    path = tmp_path / "alice.key.stc"
    path.write_bytes(protect(TEXT, "pw", **FAST))
    assert path.read_bytes().startswith(b"-----BEGIN STC ENCRYPTED FILE-----") and is_protected(path.read_bytes())
    assert IDENTITY.to_string().encode() not in path.read_bytes()
    [found] = load_identities(path, password="pw")
    assert found.recipient == IDENTITY.recipient
    asked: list[int] = []
    assert load_identities(path, lambda: asked.append(1) or "pw")[0].recipient == IDENTITY.recipient
    assert asked == [1]
    assert stc.load_identities is load_identities


def test_good_plain_files_never_ask(tmp_path: Path) -> None:
    path = tmp_path / "plain.txt"
    path.write_text(TEXT)
    assert not is_protected(path.read_bytes())
    [found] = load_identities(path, lambda: pytest.fail("asked for a passphrase of a plain file"))
    assert found.to_string() == IDENTITY.to_string()


def test_good_age_protected_identity(tmp_path: Path) -> None:
    path = tmp_path / "key.age"
    age_identity = as_age(IDENTITY)
    out = io.BytesIO()
    age.encrypt(io.BytesIO(f"{age_identity.to_string()}\n".encode()), out, passphrase="pw", armor=True,  # type: ignore[attr-defined]
                work_factor=4)
    path.write_bytes(out.getvalue())
    [found] = load_identities(path, password="pw")
    assert found.recipient == IDENTITY.recipient and found.recipient.to_string().startswith("age1")


def test_fail_protected_identities(tmp_path: Path) -> None:
    path = tmp_path / "alice.key.stc"
    path.write_bytes(protect(TEXT, "pw", **FAST))
    with pytest.raises(errors.ParameterError, match="protected by a passphrase; give it"):
        load_identities(path)
    with pytest.raises(errors.WrongPasswordError):
        load_identities(path, password="wrong")
    with pytest.raises(errors.ParameterError, match=r"encrypted \(a protected identity file\)"):
        load_plain(path)
    file_not_message = tmp_path / "f.stc"
    stc.STCContext(stc.DEFAULT_SEED, **FAST).encrypt_stream(io.BytesIO(b"x"), str(file_not_message), "pw")
    with pytest.raises(errors.ParameterError, match="not a protected identity"):
        unprotect(file_not_message.read_bytes(), "pw")
    huge = tmp_path / "huge"
    huge.write_bytes(b"#" * (3 << 20))
    with pytest.raises(errors.ParameterError, match="larger than an identity file"):
        load_identities(huge)
    wrong_content = tmp_path / "w.stc"
    wrong_content.write_bytes(protect("not a key\n", "pw", **FAST))
    with pytest.raises(errors.ParameterError, match="not an identity"):
        load_identities(wrong_content, password="pw")


def test_cli_keygen_protect_and_decrypt_with_it(tmp_path: Path) -> None:
    key, pw, enc, out = tmp_path / "alice.key.stc", tmp_path / "pw", tmp_path / "f.stc", tmp_path / "f"
    pw.write_text("key passphrase\n")
    p = stc_cli("keygen", "--protect", "--identity-passphrase-file", pw, "-o", key)
    assert p.returncode == 0 and b"protected by that passphrase" in p.stderr, p.stderr
    recipient = p.stderr.decode().split("Public key: ")[1].split()[0]
    assert b"STC-SECRET-KEY" not in key.read_bytes() and oct(key.stat().st_mode & 0o777) == "0o600"
    assert stc_cli("keygen", "-y", key, "--identity-passphrase-file", pw).stdout.decode().strip() == recipient
    (tmp_path / "data").write_bytes(b"payload")
    assert stc_cli("encrypt", "-r", recipient, tmp_path / "data", "-o", enc).returncode == 0
    p = stc_cli("decrypt", "-i", key, "--identity-passphrase-file", pw, enc, "-o", out)
    assert p.returncode == 0 and out.read_bytes() == b"payload", p.stderr
    out.unlink()
    p = stc_cli("decrypt", "-i", key, enc, "-o", out, env={**ENV, "STC_IDENTITY_PASSPHRASE": "key passphrase"})
    assert p.returncode == 0 and out.read_bytes() == b"payload"
    out.unlink()
    p = stc_cli("decrypt", "-i", key, enc, "-o", out, env={**ENV, "STC_IDENTITY_PASSPHRASE": "wrong"})
    assert p.returncode == 1 and not out.exists()
    # on a terminal it asks once, naming the identity file
    transcript = io.BytesIO()
    child = pexpect.spawn(sys.executable, ["-m", "stc", "decrypt", "-i", str(key), str(enc), "-o", str(out)],
                          env=ENV, timeout=60)
    child.logfile_read = transcript
    child.expect(f"Passphrase for identity file {key}: ")
    child.sendline("key passphrase")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0 and out.read_bytes() == b"payload"
    assert transcript.getvalue().count(b"Passphrase for identity file") == 1


@pytest.mark.skipif(AGE is None, reason="the age binary is not installed (apt-get install age; .ci/run does)")
def test_cli_an_identity_protected_by_age(tmp_path: Path) -> None:
    plain_key, protected, pw = tmp_path / "key.txt", tmp_path / "key.age", tmp_path / "pw"
    pw.write_text("age key passphrase\n")
    assert stc_cli("keygen", "--format", "age", "-o", plain_key).returncode == 0
    child = pexpect.spawn(AGE, ["-p", "-a", "-o", str(protected), str(plain_key)], env=ENV, timeout=60)
    child.expect("passphrase")
    child.sendline("age key passphrase")
    child.expect("onfirm")
    child.sendline("age key passphrase")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0 and protected.read_bytes().startswith(b"-----BEGIN AGE ENCRYPTED FILE-----")
    recipient = stc_cli("keygen", "-y", plain_key).stdout.decode().strip()
    data, enc = tmp_path / "data", tmp_path / "data.age"
    data.write_bytes(b"for the protected age key")
    assert subprocess.run([AGE, "-r", recipient, "-o", enc, data]).returncode == 0
    p = stc_cli("decrypt", "-i", protected, "--identity-passphrase-file", pw, enc, "-o", "-")
    assert p.returncode == 0 and p.stdout == b"for the protected age key", p.stderr
