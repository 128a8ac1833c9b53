"""Everyday use, round 3: what a new user tripped over, each through a real subprocess (or a
pseudo-terminal where a person would see it)."""

from __future__ import annotations

import io
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pexpect
import pytest

import stc as lib
from stc.cli.terminal import human_size
from stc.formats import armor

ENV = {**os.environ, "STC_SEED": "everyday3-seed"}


def s3_env(options: dict[str, Any]) -> dict[str, str]:
    """The environment a ``stc`` subprocess needs to reach the moto server."""
    return {**ENV, "AWS_ENDPOINT_URL": options["endpoint_url"], "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


def stc(*args: str | Path, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "stc", *map(str, args)], input=stdin, capture_output=True,
                          env=ENV, check=False, timeout=120)


def on_tty(*args: str | Path) -> tuple[int, bytes]:
    transcript = io.BytesIO()
    child = pexpect.spawn(sys.executable, ["-m", "stc", *map(str, args)], env=ENV, timeout=60)
    child.logfile_read = transcript
    child.expect(pexpect.EOF)
    child.close()
    return int(child.exitstatus), transcript.getvalue()


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "pw").write_text("correct horse\n")
    (tmp_path / "small.bin").write_bytes(b"s" * 300)
    return tmp_path


# ---- 1. armor printed to the terminal is not broken by a progress bar ----------------------------------
def test_good_armor_to_the_terminal_has_no_bar_in_front(work: Path) -> None:
    status, screen = on_tty("encrypt", "-a", "--fast", "--passphrase-file", work / "pw", work / "small.bin", "-o", "-")
    assert status == 0, screen
    lines = screen.replace(b"\r\n", b"\n").split(b"\n")
    assert lines[0] == b"-----BEGIN STC ENCRYPTED FILE-----", lines[:2]
    assert b"encrypted:" not in screen and b"%|" not in screen
    text = b"\n".join(line for line in lines if line) + b"\n"  # what a person copies from the screen
    (work / "copied.asc").write_bytes(text)
    back = stc("decrypt", work / "copied.asc", "-o", "-", "--passphrase-file", work / "pw")
    assert back.returncode == 0 and back.stdout == b"s" * 300


def test_good_a_bar_still_shows_when_the_output_is_a_file(work: Path) -> None:
    big = work / "big.bin"
    big.write_bytes(os.urandom(3 << 20))
    status, screen = on_tty("encrypt", "--fast", "--passphrase-file", work / "pw", big)
    assert status == 0 and b"stc: encrypted: 3.0 MiB in " in screen and b"MiB/s)" in screen


# ---- 3. one error format --------------------------------------------------------------------------------
@pytest.mark.parametrize(("args", "words", "hint"), [
    (("encrypt", "--suite", "des", "small.bin"), b"Invalid value for '--suite'", b"see 'stc encrypt --help'"),
    (("encrypt", "--bogus"), b"No such option '--bogus'", b"see 'stc encrypt --help'"),
    (("recommend", "nonexist"), b"does not exist", b"see 'stc recommend --help'"),
    (("frobnicate",), b"No such command 'frobnicate'", b"see 'stc --help'"),
    (("encrypt", "."), b"is a directory", b"use stc encrypt-folder DIR"),
    (("decrypt", "."), b"is a directory", b"an encrypted folder is one file"),
    (("encrypt", "small.bin", "--seed", ""), b"an empty seed is refused", b"see 'stc encrypt --help'"),
    (("encrypt", "small.bin", "--context-json", "[1, 2]"), b"takes a JSON object", None),
    (("keygen", "--pq", "-y", "pw"), b"-y only prints the public keys", None),
])
def test_fail_usage_errors_have_one_format(work: Path, args: tuple[str, ...], words: bytes,
                                           hint: bytes | None) -> None:
    done = subprocess.run([sys.executable, "-m", "stc", *args], capture_output=True, env=ENV, cwd=work,
                          check=False, timeout=60)
    assert done.returncode == 2, done.stderr
    first, *rest = done.stderr.decode().splitlines()
    assert first.startswith("stc: error: ") and words.decode() in first, done.stderr
    assert b"Usage:" not in done.stderr and b"Error:" not in done.stderr
    if hint is not None:
        assert rest and rest[0].startswith("stc: hint: ") and hint.decode() in rest[0]


def test_good_recipients_come_from_stdin_with_dash(work: Path) -> None:
    identity = lib.generate_identity()
    key = work / "key.txt"
    key.write_text(identity.to_string() + "\n")
    recipients = f"# team\n{identity.recipient.to_string()}\n".encode()
    done = stc("encrypt", work / "small.bin", "-R", "-", "-o", work / "r.stc", stdin=recipients)
    assert done.returncode == 0, done.stderr
    assert stc("decrypt", work / "r.stc", "-i", key, "-o", "-").stdout == b"s" * 300
    clash = stc("encrypt", "-R", "-", "-o", work / "x.stc", stdin=recipients)  # stdin is the data too
    assert clash.returncode == 2 and b"-R - reads standard input, which here carries the data" in clash.stderr


# ---- 4. a range past the end -----------------------------------------------------------------------------
def test_fail_a_range_past_the_end_is_refused_by_the_command_line(work: Path) -> None:
    assert stc("encrypt", "--fast", "--passphrase-file", work / "pw", work / "small.bin").returncode == 0
    base = ["decrypt", work / "small.bin.stc", "--passphrase-file", work / "pw", "-o", "-"]
    past = stc(*base, "--range", "301:10")
    assert past.returncode == 2 and past.stdout == b""
    assert b"the range starts at byte 301, past the end of the 300-byte plaintext" in past.stderr
    at_end = stc(*base, "--range", "300:10")
    assert at_end.returncode == 0 and at_end.stdout == b""
    inside = stc(*base, "--range", "290:100")
    assert inside.returncode == 0 and inside.stdout == b"s" * 10


# ---- 6. small things ----------------------------------------------------------------------------------------
def test_good_summaries_use_binary_units() -> None:
    assert human_size(0) == "0 bytes" and human_size(1023) == "1023 bytes"
    assert human_size(1024) == "1.0 KiB" and human_size(1536) == "1.5 KiB"
    assert human_size(64 << 20) == "64.0 MiB" and human_size(3 << 30) == "3.00 GiB"
    assert human_size(5 << 40) == "5.00 TiB" and human_size(5000 << 40) == "5000.00 TiB"


def test_good_inspect_labels_are_aligned(work: Path) -> None:
    assert stc("encrypt", "--fast", "--passphrase-file", work / "pw", work / "small.bin").returncode == 0
    shown = stc("inspect", work / "small.bin.stc").stdout.decode().splitlines()
    colons = {line.index(": ") for line in shown}
    assert len(colons) == 1 and any("final piece bytes: " in line for line in shown)


def test_good_change_passphrase_says_it_adds_the_first_passphrase(work: Path) -> None:
    identity = lib.generate_identity()
    key = work / "key.txt"
    key.write_text(identity.to_string() + "\n")
    os.chmod(key, 0o600)
    assert stc("encrypt", work / "small.bin", "-r", identity.recipient.to_string()).returncode == 0
    done = stc("rekey", work / "small.bin.stc", "-i", key, "--change-passphrase", "--new-passphrase-file",
               work / "pw", "--fast")
    assert done.returncode == 0, done.stderr
    assert b"had no passphrase; it now opens with the new passphrase as well as with its recipients" in done.stderr
    again = stc("rekey", work / "small.bin.stc", "-i", key, "--change-passphrase", "--new-passphrase-file",
                work / "pw", "--fast")
    assert again.returncode == 0 and b"had no passphrase" not in again.stderr


def test_good_a_decrypted_folder_and_file_follow_the_umask(work: Path) -> None:
    src = work / "tree"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "a.txt").write_text("a")
    os.chmod(src, 0o755)
    assert stc("encrypt-folder", src, "--fast", "--passphrase-file", work / "pw").returncode == 0
    old = os.umask(0o022)
    try:
        done = stc("decrypt-folder", work / "tree.stc", "-o", work / "back", "--passphrase-file", work / "pw")
        file_done = stc("decrypt", work / "tree.stc", "-o", work / "tree.tar", "--passphrase-file", work / "pw")
    finally:
        os.umask(old)
    assert done.returncode == 0 and file_done.returncode == 0
    assert (work / "back").stat().st_mode & 0o777 == 0o755  # not 0700
    assert (work / "tree.tar").stat().st_mode & 0o777 == 0o644


# ---- 2. every command that reads an encrypted input takes what decrypt takes ---------------------------------
def _armored(binary: bytes) -> bytes:
    out = io.BytesIO()
    writer = armor.ArmorWriter(out)
    writer.write(binary)
    writer.close()
    return out.getvalue()


def test_good_range_rekey_list_and_decrypt_folder_take_armored_files(work: Path) -> None:
    data = os.urandom(200_000)
    (work / "n.bin").write_bytes(data)
    assert stc("encrypt", "-a", "--fast", "--passphrase-file", work / "pw", work / "n.bin", "-o", work / "n.asc",
               "--chunk-size", "64K").returncode == 0
    ranged = stc("decrypt", work / "n.asc", "--range", "70000:5", "--passphrase-file", work / "pw")
    assert ranged.returncode == 0 and ranged.stdout == data[70000:70005], ranged.stderr
    # rekey: the file stays armored, keeps its mode, and the new recipient opens it
    identity = lib.generate_identity()
    key = work / "key.txt"
    key.write_text(identity.to_string() + "\n")
    os.chmod(work / "n.asc", 0o640)
    done = stc("rekey", work / "n.asc", "--passphrase-file", work / "pw", "--add-recipient",
               identity.recipient.to_string())
    assert done.returncode == 0, done.stderr
    assert (work / "n.asc").read_bytes().startswith(armor.BEGIN + b"\n")
    assert (work / "n.asc").stat().st_mode & 0o777 == 0o640
    assert stc("decrypt", work / "n.asc", "-i", key, "-o", "-").stdout == data
    assert sorted(p.name for p in work.iterdir()) == ["key.txt", "n.asc", "n.bin", "pw", "small.bin"]
    # a wrong passphrase leaves the armored file as it was, and nothing beside it
    before = (work / "n.asc").read_bytes()
    (work / "bad").write_text("wrong\n")
    wrong = stc("rekey", work / "n.asc", "--passphrase-file", work / "bad", "--add-recipient",
                lib.generate_identity().recipient.to_string())
    assert wrong.returncode == 1 and (work / "n.asc").read_bytes() == before
    assert not [p for p in work.iterdir() if p.name.startswith(".")]
    # an armored folder lists and extracts
    tree = work / "tree"
    tree.mkdir()
    (tree / "a.txt").write_text("alpha")
    assert stc("encrypt-folder", tree, "--fast", "--passphrase-file", work / "pw", "-o", work / "t.stc").returncode == 0
    (work / "t.asc").write_bytes(_armored((work / "t.stc").read_bytes()))
    listed = stc("list", work / "t.asc", "--passphrase-file", work / "pw")
    assert listed.returncode == 0 and b"a.txt" in listed.stdout, listed.stderr
    back = stc("decrypt-folder", work / "t.asc", "-o", work / "back", "--passphrase-file", work / "pw")
    assert back.returncode == 0 and (work / "back" / "a.txt").read_text() == "alpha"


def test_fail_rekey_says_why_it_cannot_take_a_url(work: Path) -> None:
    done = stc("rekey", "s3://bkt/data.stc", "--passphrase-file", work / "pw", "--change-passphrase")
    assert done.returncode == 2 and done.stdout == b""
    assert b"stc rekey rewrites a local file's header in place, which a URL does not allow" in done.stderr
    assert b"stc: hint: copy it here" in done.stderr


@pytest.mark.slow
def test_good_inspect_list_and_folders_take_s3_urls(work: Path, s3: dict[str, Any]) -> None:
    env = s3_env(s3)

    def run(*args: str | Path) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([sys.executable, "-m", "stc", *map(str, args)], capture_output=True, env=env,
                              cwd=work, check=False, timeout=120)

    tree = work / "fold"
    tree.mkdir()
    (tree / "b.txt").write_text("bravo")
    sent = run("encrypt-folder", tree, "-o", "s3://bucket/fold.stc", "--fast", "--passphrase-file", work / "pw")
    assert sent.returncode == 0, sent.stderr
    again = run("encrypt-folder", tree, "-o", "s3://bucket/fold.stc", "--fast", "--passphrase-file", work / "pw")
    assert again.returncode == 2 and b"s3://bucket/fold.stc exists; use --force" in again.stderr
    shown = run("inspect", "s3://bucket/fold.stc")
    assert shown.returncode == 0 and b"final piece bytes" in shown.stdout, shown.stderr
    listed = run("list", "s3://bucket/fold.stc", "--passphrase-file", work / "pw")
    assert listed.returncode == 0 and b"b.txt" in listed.stdout, listed.stderr
    back = run("decrypt-folder", "s3://bucket/fold.stc", "--passphrase-file", work / "pw")  # into ./fold-less name
    assert back.returncode == 2 and b"fold exists and is not empty" in back.stderr  # the local folder of that name
    out = run("decrypt-folder", "s3://bucket/fold.stc", "-o", work / "restored", "--passphrase-file", work / "pw")
    assert out.returncode == 0 and (work / "restored" / "b.txt").read_text() == "bravo"
    missing = run("inspect", "s3://bucket/nothing.stc")
    assert missing.returncode == 2 and b"s3://bucket/nothing.stc: no such file" in missing.stderr


# ---- 11. the armor's white-space limits: code and format.md agree, at the limit and one byte past -----------
@pytest.mark.parametrize(("leading", "ok"), [(1024, True), (1025, False)])
def test_armor_white_space_before_begin_is_bounded_alike_everywhere(work: Path, leading: int, ok: bool) -> None:
    assert stc("encrypt", "-a", "--fast", "--passphrase-file", work / "pw", work / "small.bin").returncode == 0
    text = (work / "small.bin.stc").read_bytes()
    (work / "lead.asc").write_bytes(b"\n" * leading + text[:-1] + b" " * 1023 + b"\n")  # 1,024 after END too
    done = stc("decrypt", work / "lead.asc", "-o", "-", "--passphrase-file", work / "pw")
    if ok:
        assert done.returncode == 0 and done.stdout == b"s" * 300, done.stderr
    else:
        assert done.returncode == 1 and b"is not STC data" in done.stderr and done.stdout == b""


# ---- 5. stc recommend's estimate agrees with a real run ----------------------------------------------------
FACTOR = 2.0  # the estimate is within this factor of the median real run (docs/testing.md)


def test_good_recommend_estimates_a_real_encrypt_within_a_factor_of_two(shm_dir: Path) -> None:
    from stc.cli import profiles, recommend

    big = shm_dir / "big.bin"
    big.write_bytes(os.urandom(64 << 20))
    report = recommend.recommend(str(big))
    profile = profiles.get(report["profile"])
    runs = []
    for i in range(3):
        ctx = lib.STCContext("recommend test", **profile.context_options())
        start = time.perf_counter()
        ctx.encrypt_stream(big, shm_dir / f"big{i}.stc", "pw", **profile.stream_options())
        runs.append(time.perf_counter() - start)
    real = statistics.median(runs)
    estimate = report["expected_seconds"]["total"]
    assert report["expected_seconds"]["kdf"] + report["expected_seconds"]["data"] == pytest.approx(estimate, abs=2e-3)
    assert real / FACTOR <= estimate <= real * FACTOR, (estimate, runs)


# ---- 12-15. what docs/format.md now says, checked --------------------------------------------------------
def _v1_vector() -> tuple[bytes, bytes, Any, Any]:
    import json

    vectors = json.loads((Path(__file__).resolve().parents[1] / "vectors" / "messages.json").read_text())
    vec = (vectors if isinstance(vectors, list) else vectors["vectors"])[0]
    seed = vec["seed"] if not isinstance(vec["seed"], dict) else bytes.fromhex(vec["seed"]["hex"])
    return bytes.fromhex(vec["metadata"]), bytes.fromhex(vec["ciphertext"]), vec["password"], seed


@pytest.mark.parametrize("version", [1, 2, 3])
def test_fail_a_byte_after_a_separately_given_header_in_every_version(version: int) -> None:
    if version == 1:
        header, ciphertext, password, seed = _v1_vector()
    else:
        ctx = lib.STCContext("trailing", lattice_size=64, depth=4)
        ciphertext, meta = ctx.encrypt(b"x", "pw", format_version=version)
        header, password, seed = meta.to_bytes(), "pw", "trailing"
    assert lib.decrypt(ciphertext, header, password, seed=seed) is not None  # the header alone opens
    with pytest.raises(lib.FormatError, match="unexpected bytes after the header"):
        lib.decrypt(ciphertext, header + b"\x00", password, seed=seed)


def test_good_hash_encodes_text_as_utf8_and_pads_the_personalisation() -> None:
    import hashlib
    import struct

    from stc.crypto import phe

    ctx = lib.STCContext("hash")
    assert ctx.hash("abc") == ctx.hash(b"abc") and ctx.hash("é") != ctx.hash("e\u0301")  # no normalisation
    key = phe.phe_key(ctx.cel.key)
    by_hand = hashlib.blake2b(struct.pack(">Q", 0) + "é".encode(), digest_size=32, key=key,
                              person=b"stc/v1 phe" + bytes(6)).digest()
    assert ctx.hash("é") == by_hand
    with pytest.raises(lib.ParameterError, match="unpaired surrogate"):
        ctx.hash("\ud800")


def test_good_the_no_matching_identity_error_is_a_wrong_password_error() -> None:
    assert issubclass(lib.NoMatchingIdentityError, lib.WrongPasswordError)
    assert issubclass(lib.TruncatedError, lib.IntegrityError)


def test_good_the_default_seed_is_the_same_for_the_api_and_the_command_line(work: Path) -> None:
    blob = lib.encrypt_blob(b"either way", "correct horse", lattice_size=64, depth=4)
    (work / "m.stc").write_bytes(blob)
    env = {k: v for k, v in ENV.items() if k != "STC_SEED"}
    done = subprocess.run([sys.executable, "-m", "stc", "decrypt", str(work / "m.stc"), "-o", "-",
                           "--passphrase-file", str(work / "pw")], capture_output=True, env=env, check=False,
                          timeout=60)
    assert done.returncode == 0 and done.stdout == b"either way", done.stderr
    made = subprocess.run([sys.executable, "-m", "stc", "encrypt", "--fast", str(work / "small.bin"),
                           "--passphrase-file", str(work / "pw")], capture_output=True, env=env, check=False,
                          timeout=60)
    assert made.returncode == 0
    with lib.open(work / "small.bin.stc", password="correct horse") as f:
        assert f.read() == b"s" * 300


def test_fail_decrypt_asks_for_an_output_name_for_a_dask_part(work: Path) -> None:
    (work / "part.0.parquet").write_bytes(lib.encrypt_blob(b"x", "correct horse", lattice_size=64, depth=4))
    done = stc("decrypt", work / "part.0.parquet", "--passphrase-file", work / "pw")
    assert done.returncode == 2 and b"does not end in .stc" in done.stderr
    assert b"stc: hint: name the output: -o " in done.stderr and b"part.0.parquet.plain" in done.stderr
