"""age files between STC and the real ``age`` (Debian's package; .ci/run installs it): both directions,
X25519 and passphrase, binary and armored, empty and multi-chunk; and STC's own command line on age files.

Everything runs as subprocesses with real pipes; passphrases are typed on a pseudo-terminal where
``age`` insists on one.  Without ``age`` on PATH the interop tests skip, saying why.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

AGE = shutil.which("age")
AGE_KEYGEN = shutil.which("age-keygen")
needs_age = pytest.mark.skipif(AGE is None or AGE_KEYGEN is None,
                               reason="the age binary is not installed (apt-get install age; .ci/run does)")
SIZES = {"empty": 0, "one_byte": 1, "one_chunk": 64 * 1024, "multi_chunk": 3 * 64 * 1024 + 123}
ENV = {**os.environ, "STC_SEED": "age-interop"}
PASSPHRASE = "correct horse battery staple"


def stc(*args: str | Path, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "stc", *map(str, args)], input=stdin, capture_output=True,
                          env=ENV, timeout=120)


def run(*args: str | Path, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(list(map(str, args)), input=stdin, capture_output=True, timeout=120)


def on_tty(program: str, *args: str | Path, answers: tuple[tuple[str, str], ...]) -> tuple[int, bytes]:
    transcript = io.BytesIO()
    child = pexpect.spawn(program, list(map(str, args)), env=ENV, timeout=60)
    child.logfile_read = transcript
    for prompt, reply in answers:
        child.expect(prompt)
        child.sendline(reply)
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus, transcript.getvalue()


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """An identity file made by age-keygen, its recipient, and a passphrase file."""
    d = tmp_path_factory.mktemp("age-keys")
    key = d / "key.txt"
    if AGE_KEYGEN is not None:
        run(AGE_KEYGEN, "-o", key).check_returncode()
        recipient = run(AGE_KEYGEN, "-y", key).stdout.decode().strip()
    else:
        stc("keygen", "-o", key, "--format", "age").check_returncode()
        recipient = stc("keygen", "-y", key).stdout.decode().strip()
    pw = d / "pw.txt"
    pw.write_text(PASSPHRASE + "\n")
    return {"key": key, "recipient": recipient, "pw": pw, "dir": d}


def data_of(size: int) -> bytes:
    return hashlib.shake_256(b"age interop %d" % size).digest(size) if size else b""


@needs_age
@pytest.mark.parametrize("armored", [False, True], ids=["binary", "armored"])
@pytest.mark.parametrize("size", list(SIZES.values()), ids=list(SIZES))
def test_age_writes_stc_reads_x25519(keys: dict[str, object], tmp_path: Path, size: int, armored: bool) -> None:
    plain, enc, out = tmp_path / "p", tmp_path / "p.age", tmp_path / "out"
    plain.write_bytes(data_of(size))
    run(AGE, "-r", str(keys["recipient"]), *(["-a"] if armored else []), "-o", enc, plain).check_returncode()
    p = stc("decrypt", "-i", keys["key"], enc, "-o", out)
    assert p.returncode == 0, p.stderr
    assert out.read_bytes() == plain.read_bytes()
    piped = stc("decrypt", "-i", keys["key"], stdin=enc.read_bytes())  # stdout, two passes over a pipe
    assert piped.returncode == 0 and piped.stdout == plain.read_bytes()


@needs_age
@pytest.mark.parametrize("armored", [False, True], ids=["binary", "armored"])
@pytest.mark.parametrize("size", list(SIZES.values()), ids=list(SIZES))
def test_stc_writes_age_reads_x25519(keys: dict[str, object], tmp_path: Path, size: int, armored: bool) -> None:
    plain, enc = tmp_path / "p", tmp_path / "p.age"
    plain.write_bytes(data_of(size))
    p = stc("encrypt", "--age", "-r", str(keys["recipient"]), *(["-a"] if armored else []), plain, "-o", enc)
    assert p.returncode == 0, p.stderr
    start = b"-----BEGIN AGE ENCRYPTED FILE-----\n" if armored else b"age-encryption.org/v1\n"
    assert enc.read_bytes().startswith(start)
    assert enc.stat().st_size > 0
    opened = run(AGE, "-d", "-i", keys["key"], enc)  # to stdout: age -o creates no file for an empty payload
    assert opened.returncode == 0 and opened.stdout == plain.read_bytes()


@needs_age
@pytest.mark.parametrize("armored", [False, True], ids=["binary", "armored"])
@pytest.mark.parametrize("size", [0, SIZES["multi_chunk"]], ids=["empty", "multi_chunk"])
def test_passphrases_both_ways(keys: dict[str, object], tmp_path: Path, size: int, armored: bool) -> None:
    plain, out = tmp_path / "p", tmp_path / "out"
    plain.write_bytes(data_of(size))
    armor = ["-a"] if armored else []
    by_age = tmp_path / "by-age.age"
    status, _ = on_tty(AGE, "-p", *armor, "-o", by_age, plain, answers=(
        ("passphrase", PASSPHRASE), ("onfirm", PASSPHRASE)))
    assert status == 0
    p = stc("decrypt", "--passphrase-file", keys["pw"], by_age, "-o", out)
    assert p.returncode == 0, p.stderr
    assert out.read_bytes() == plain.read_bytes()
    by_stc = tmp_path / "by-stc.age"
    p = stc("encrypt", "--age", *armor, "--passphrase-file", keys["pw"], plain, "-o", by_stc)
    assert p.returncode == 0, p.stderr
    out.unlink()
    status, transcript = on_tty(AGE, "-d", "-o", out, by_stc, answers=(("passphrase", PASSPHRASE),))
    assert status == 0, transcript
    assert (out.read_bytes() if out.exists() else b"") == plain.read_bytes()  # age -o makes no file for nothing


@needs_age
def test_stc_keys_in_age_form_interoperate(tmp_path: Path) -> None:
    """An STC identity written in age's form is an age identity: age opens what STC wrote to it."""
    key = tmp_path / "k.txt"
    assert stc("keygen", "-o", key, "--format", "age").returncode == 0
    text = key.read_text()
    assert "AGE-SECRET-KEY-1" in text
    recipient = stc("keygen", "-y", key).stdout.decode().strip()
    assert recipient.startswith("age1") and run(AGE_KEYGEN, "-y", key).stdout.decode().strip() == recipient
    plain, enc = tmp_path / "p", tmp_path / "p.age"
    plain.write_bytes(b"to an age key made by stc")
    run(AGE, "-r", recipient, "-o", enc, plain).check_returncode()
    p = stc("decrypt", "-i", key, enc, "-o", "-")
    assert p.returncode == 0 and p.stdout == plain.read_bytes()


def test_stc_age_files_fail_closed(keys: dict[str, object], tmp_path: Path) -> None:
    """A flipped bit, a cut file or a wrong key: exit 1, no output file, the reason named."""
    plain, enc, out = tmp_path / "p", tmp_path / "p.age", tmp_path / "out"
    plain.write_bytes(data_of(SIZES["multi_chunk"]))
    assert stc("encrypt", "--age", "-r", str(keys["recipient"]), plain, "-o", enc).returncode == 0
    blob = enc.read_bytes()
    flipped = bytearray(blob)
    flipped[-100] ^= 1
    cut = blob[: len(blob) - 1000]
    for bad, reason in ((bytes(flipped), b"does not authenticate"), (cut, b"does not authenticate")):
        enc.write_bytes(bad)
        p = stc("decrypt", "-i", keys["key"], enc, "-o", out)
        assert p.returncode == 1 and reason in p.stderr and not out.exists()
        streamed = stc("decrypt", "-i", keys["key"], stdin=bad)
        assert streamed.returncode == 1 and streamed.stdout == b""  # nothing before the whole file authenticated
    enc.write_bytes(blob)
    other = tmp_path / "other.txt"
    assert stc("keygen", "-o", other, "--format", "age").returncode == 0
    p = stc("decrypt", "-i", other, enc, "-o", out)
    assert p.returncode == 1 and b"no identity given opens this age file" in p.stderr and not out.exists()
    p = stc("decrypt", enc, "-o", out, "--passphrase-file", keys["pw"])
    assert p.returncode == 1 and b"encrypted to keys" in p.stderr


def test_stc_refuses_what_age_forbids(keys: dict[str, object], tmp_path: Path) -> None:
    plain = tmp_path / "p"
    plain.write_bytes(b"x")
    pq = tmp_path / "pq.txt"
    assert stc("keygen", "--pq", "-o", pq, "--format", "age").returncode == 0
    pq_recipient = stc("keygen", "-y", pq).stdout.decode().strip()
    assert pq_recipient.startswith("age1pq1")
    p = stc("encrypt", "--age", "-r", str(keys["recipient"]), "-r", pq_recipient, plain, "-o", tmp_path / "m.age")
    assert p.returncode == 2 and b"post-quantum" in p.stderr
    p = stc("encrypt", "--age", "-r", str(keys["recipient"]), "-p", "--passphrase-file", keys["pw"], plain,
            "-o", tmp_path / "m.age")
    assert p.returncode == 2 and b"passphrase beside other recipients" in p.stderr
    p = stc("encrypt", "--age", "--context", "a=b", "-r", str(keys["recipient"]), plain, "-o", tmp_path / "m.age")
    assert p.returncode == 2 and b"STC-only options" in p.stderr
    assert not (tmp_path / "m.age").exists()
    enc = tmp_path / "pq.age"
    assert stc("encrypt", "--age", "-r", pq_recipient, plain, "-o", enc).returncode == 0
    p = stc("decrypt", "-i", pq, enc, "-o", "-")
    assert p.returncode == 0 and p.stdout == b"x"


def test_inspect_and_recipients_from_stdin(keys: dict[str, object], tmp_path: Path) -> None:
    plain, enc = tmp_path / "src", tmp_path / "copy.age"
    plain.write_bytes(b"data")
    p = stc("encrypt", "--age", "-R", "-", plain, "-o", enc, stdin=f"# team\n{keys['recipient']}\n".encode())
    assert p.returncode == 0, p.stderr
    info = stc("inspect", enc, "--json")
    assert info.returncode == 0 and b'"type": "X25519"' in info.stdout
    assert b"X25519 (32-byte body)" in stc("inspect", enc).stdout
    p = stc("decrypt", "-i", keys["key"], enc)  # default output: INPUT without .age
    assert p.returncode == 0 and (tmp_path / "copy").read_bytes() == b"data"


@needs_age
@pytest.mark.parametrize("armored", [False, True], ids=["binary", "armored"])
def test_rekey_of_an_age_file_keeps_its_payload_and_age_opens_it(keys: dict[str, object], tmp_path: Path,
                                                                 armored: bool) -> None:
    plain, enc = tmp_path / "p", tmp_path / "p.age"
    plain.write_bytes(data_of(SIZES["multi_chunk"]))
    run(AGE, "-r", str(keys["recipient"]), *(["-a"] if armored else []), "-o", enc, plain).check_returncode()
    payload = enc.read_bytes().split(b"\n--- ", 1)[1].split(b"\n", 1)[1] if not armored else None
    new_key = tmp_path / "new.txt"
    run(AGE_KEYGEN, "-o", new_key).check_returncode()
    new_recipient = run(AGE_KEYGEN, "-y", new_key).stdout.decode().strip()
    p = stc("rekey", enc, "-i", keys["key"], "--add-recipient", new_recipient)
    assert p.returncode == 0 and b"2 X25519 stanzas" in p.stderr, p.stderr
    if payload is not None:  # binary: the payload is byte for byte the same
        assert enc.read_bytes().endswith(payload)
    for key in (keys["key"], new_key):
        opened = run(AGE, "-d", "-i", key, enc)
        assert opened.returncode == 0 and opened.stdout == plain.read_bytes()
    p = stc("rekey", enc, "-i", keys["key"], "--remove-recipient", new_recipient)
    assert p.returncode == 2 and b"give its identity with -i" in p.stderr  # its stanza cannot be found otherwise
    p = stc("rekey", enc, "-i", keys["key"], "--remove-recipient", str(keys["recipient"]))
    assert p.returncode == 0 and b"1 X25519 stanzas" in p.stderr, p.stderr
    assert run(AGE, "-d", "-i", keys["key"], enc).returncode != 0
    opened = run(AGE, "-d", "-i", new_key, enc)
    assert opened.returncode == 0 and opened.stdout == plain.read_bytes()


@needs_age
def test_rekey_changes_an_age_passphrase(keys: dict[str, object], tmp_path: Path) -> None:
    plain, enc, new_pw = tmp_path / "p", tmp_path / "p.age", tmp_path / "new-pw"
    plain.write_bytes(data_of(SIZES["multi_chunk"]))
    new_pw.write_text("a new passphrase\n")
    assert stc("encrypt", "--age", "--passphrase-file", keys["pw"], plain, "-o", enc).returncode == 0
    p = stc("rekey", enc, "--passphrase-file", keys["pw"], "--change-passphrase", "--new-passphrase-file", new_pw)
    assert p.returncode == 0 and b"1 scrypt stanzas" in p.stderr, p.stderr
    status, _ = on_tty(AGE, "-d", "-o", tmp_path / "out", enc, answers=(("passphrase", "a new passphrase"),))
    assert status == 0 and (tmp_path / "out").read_bytes() == plain.read_bytes()
    p = stc("decrypt", "--passphrase-file", keys["pw"], enc, "-o", tmp_path / "old")
    assert p.returncode == 1 and b"wrong passphrase" in p.stderr and not (tmp_path / "old").exists()
    p = stc("rekey", enc, "--passphrase-file", new_pw, "--add-recipient", str(keys["recipient"]))
    assert p.returncode == 2 and b"beside a passphrase" in p.stderr
