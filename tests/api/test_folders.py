"""Issue 13: encrypted folders done safely, profiles, recommend, and STC 0.4's calls."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import stc
from stc import folders
from stc.cli import main, profiles, recommend
from tests.conftest import CHEAP

ENV = {**os.environ, "STC_SEED": "folder-seed"}


def run(*args: str | Path, input: bytes | None = None) -> Any:
    return CliRunner().invoke(main, [str(a) for a in args], input=input, env={"STC_SEED": "folder-seed"})


def make_tree(root: Path) -> None:
    (root / "sub" / "é 文字" / "empty-dir").mkdir(parents=True)
    (root / "a.txt").write_text("hello")
    (root / "empty-file").write_bytes(b"")
    (root / "sub" / "é 文字" / "data.bin").write_bytes(os.urandom(200_000))
    (root / "script.sh").write_text("#!/bin/sh\n")
    os.chmod(root / "script.sh", 0o750)
    os.symlink("a.txt", root / "link-to-a")
    os.symlink("sub/é 文字", root / "link-to-dir")
    os.utime(root / "a.txt", (1_000_000_000, 1_000_000_000))
    os.utime(root / "sub", (1_100_000_000, 1_100_000_000))


def snapshot(root: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        st = os.lstat(path)
        if stat.S_ISLNK(st.st_mode):
            out[rel] = ("link", os.readlink(path))
        elif stat.S_ISDIR(st.st_mode):
            out[rel] = ("dir", stat.S_IMODE(st.st_mode), int(st.st_mtime))
        else:
            out[rel] = ("file", stat.S_IMODE(st.st_mode), int(st.st_mtime), path.read_bytes())
    return out


@pytest.fixture
def ctx() -> stc.STCContext:
    return stc.STCContext("folder-seed", **CHEAP)


def test_round_trip_keeps_names_modes_mtimes_links_and_empties(ctx: stc.STCContext, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    make_tree(src)
    enc = tmp_path / "f.stc"
    folders.encrypt_folder(src, enc, "pw", ctx=ctx)
    members = folders.list_folder(enc, "pw", ctx=ctx)
    assert {m.name for m in members} >= {"a.txt", "empty-file", "sub/é 文字/empty-dir", "link-to-a"}
    assert {m.kind for m in members} == {"file", "dir", "symlink"}
    out = tmp_path / "out"
    folders.decrypt_folder(enc, out, "pw", ctx=ctx)
    assert snapshot(out) == snapshot(src)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.stc", "out", "src"]  # no staging left


def test_excludes_and_plain_tar_readers(ctx: stc.STCContext, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    make_tree(src)
    (src / "junk.tmp").write_text("x")
    enc = tmp_path / "f.stc"
    folders.encrypt_folder(src, enc, "pw", ctx=ctx, excludes=["*.tmp", "sub/é 文字/data.bin"])
    sink = io.BytesIO()
    ctx.decrypt_stream(enc, output_path=sink, password="pw")  # the plaintext is an ordinary tar stream
    with tarfile.open(fileobj=io.BytesIO(sink.getvalue())) as tar:
        names = tar.getnames()
    assert "junk.tmp" not in names and "sub/é 文字/data.bin" not in names and "a.txt" in names


def _encrypted_tar(ctx: stc.STCContext, path: Path, members: list[tuple[tarfile.TarInfo, bytes]]) -> None:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    ctx.encrypt_stream(io.BytesIO(raw.getvalue()), path, "pw")


def _info(name: str, kind: bytes = tarfile.REGTYPE, data: bytes = b"x", **attrs: Any) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type, info.size, info.mode = kind, len(data) if kind == tarfile.REGTYPE else 0, 0o644
    for key, value in attrs.items():
        setattr(info, key, value)
    return info, data


@pytest.mark.parametrize(("case", "members", "words"), [
    ("absolute", [_info("/etc/evil")], "absolute path"),
    ("dotdot", [_info("ok.txt"), _info("a/../../evil")], "'..'"),
    ("symlink_to_etc", [_info("etc", tarfile.SYMTYPE, linkname="/etc")], "absolute path"),
    ("symlink_outside", [_info("up", tarfile.SYMTYPE, linkname="../../outside")], "outside the folder"),
    ("hardlink_outside", [_info("hl", tarfile.LNKTYPE, linkname="../x")], "outside the folder"),
    ("hardlink_passwd", [_info("hl", tarfile.LNKTYPE, linkname="/etc/passwd")], "absolute path"),
    ("device", [_info("null", tarfile.CHRTYPE, devmajor=1, devminor=3)], "device"),
    ("fifo", [_info("fifo", tarfile.FIFOTYPE)], "device"),
    ("setuid", [_info("su", mode=0o4755)], "setuid"),
    ("deep", [_info("/".join(["d"] * 10_000) + "/f")], "deeper than"),
])
def test_crafted_archives_are_refused_and_nothing_is_written(ctx: stc.STCContext, tmp_path: Path, case: str,
                                                             members: list[Any], words: str) -> None:
    enc = tmp_path / "evil.stc"
    _encrypted_tar(ctx, enc, members)
    with pytest.raises(folders.FolderError, match=words):
        folders.decrypt_folder(enc, tmp_path / "out", "pw", ctx=ctx)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evil.stc"], case
    assert not (tmp_path.parent / "evil").exists() and not Path("/etc/evil").exists()


def test_tampered_or_truncated_folder_leaves_nothing(ctx: stc.STCContext, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    make_tree(src)
    enc = tmp_path / "f.stc"
    folders.encrypt_folder(src, enc, "pw", ctx=ctx, chunk_size=16384)
    raw = enc.read_bytes()
    for name, data in (("flipped", raw[:-5000] + bytes([raw[-5000] ^ 1]) + raw[-4999:]), ("cut", raw[:-7000])):
        bad = tmp_path / f"{name}.stc"
        bad.write_bytes(data)
        with pytest.raises(stc.IntegrityError):
            folders.decrypt_folder(bad, tmp_path / name, "pw", ctx=ctx)
        assert not (tmp_path / name).exists()
        assert not [p for p in tmp_path.iterdir() if p.name.endswith(".stc-partial")]
    with pytest.raises(stc.WrongPasswordError):
        folders.decrypt_folder(enc, tmp_path / "w", "wrong", ctx=ctx)
    assert not (tmp_path / "w").exists()


def test_existing_folder_needs_force(ctx: stc.STCContext, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "new.txt").write_text("new")
    enc = tmp_path / "f.stc"
    folders.encrypt_folder(src, enc, "pw", ctx=ctx)
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with pytest.raises(stc.ParameterError, match="not empty"):
        folders.decrypt_folder(enc, out, "pw", ctx=ctx)
    assert (out / "old.txt").exists()
    folders.decrypt_folder(enc, out, "pw", ctx=ctx, force=True)
    assert sorted(p.name for p in out.iterdir()) == ["new.txt"]
    empty = tmp_path / "empty"
    empty.mkdir()
    folders.decrypt_folder(enc, empty, "pw", ctx=ctx)  # an empty folder is fine without force


def test_cli_folder_commands(tmp_path: Path) -> None:
    src = tmp_path / "tree"
    src.mkdir()
    make_tree(src)
    (tmp_path / "pw").write_text("pw\n")
    r = run("encrypt-folder", src, "--passphrase-file", tmp_path / "pw", "--profile", "interactive",
            "--exclude", "*.sh")
    assert r.exit_code == 0, r.output
    enc = tmp_path / "tree.stc"
    header = stc.HeaderV2.parse_prefix(enc.read_bytes())[0]
    assert header.slot_count == 1 and header.kdf == stc.crypto.kdf.KdfParams(16384, 2, 4)  # the profile's settings
    listing = run("list", enc, "--passphrase-file", tmp_path / "pw")
    assert listing.exit_code == 0 and "a.txt" in listing.output and "script.sh" not in listing.output
    assert listing.output.splitlines()[0].startswith(("d", "-", "l"))
    r = run("decrypt-folder", enc, "-o", tmp_path / "restored", "--passphrase-file", tmp_path / "pw")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "restored" / "a.txt").read_text() == "hello"
    assert run("decrypt-folder", enc, "-o", tmp_path / "restored", "--passphrase-file", tmp_path / "pw").exit_code == 2
    shell = subprocess.run(f"{sys.executable} -m stc decrypt {enc} -o - --passphrase-file {tmp_path / 'pw'} | tar t",
                           shell=True, capture_output=True, env=ENV, check=False)
    assert shell.returncode == 0 and b"a.txt" in shell.stdout
    r = run("encrypt-folder", src, "-o", tmp_path / "x.stc", "--passphrase-file", tmp_path / "pw", "--profile",
            "credentials", "--chunk-size", "4K", "--fast")  # explicit flags override the profile
    assert r.exit_code == 0, r.output
    header = stc.HeaderV2.parse_prefix((tmp_path / "x.stc").read_bytes())[0]
    assert header.chunk_size == 4096 and header.kdf == stc.crypto.kdf.KdfParams(16384, 2, 4) and header.slot_count == 4


def test_profiles() -> None:
    for p in profiles.all_profiles():
        stc.STCContext("s", **p.context_options())  # every profile meets the KDF floor
        assert p.reason and p.kdf.startswith("Argon2id")
    assert profiles.get("media").chunk_size >= 4 << 20 and profiles.get("credentials").use_decoys
    assert profiles.get("backup").suite in ("aes-256-gcm", "chacha20-poly1305")
    with pytest.raises(stc.ParameterError, match="unknown profile"):
        profiles.get("turbo")
    r = run("encrypt", "/dev/null", "-o", "/tmp/never.stc", "--profile", "turbo")
    assert r.exit_code == 2


def test_recommend(tmp_path: Path) -> None:
    (tmp_path / "id_ed25519").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    (tmp_path / "movie.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(20 << 20))
    (tmp_path / "report.pdf").write_bytes(b"%PDF-1.7\n")
    (tmp_path / "site.tar").write_bytes(bytes(1024))
    assert recommend.classify(str(tmp_path / "movie.mp4")) == "media"
    assert recommend.choose(recommend.survey(str(tmp_path / "id_ed25519"))) == "credentials"
    assert recommend.choose(recommend.survey(str(tmp_path / "movie.mp4"))) == "media"
    assert recommend.choose(recommend.survey(str(tmp_path / "report.pdf"))) == "document"
    assert recommend.choose(recommend.survey(str(tmp_path / "site.tar"))) == "backup"
    r = run("recommend", tmp_path / "movie.mp4", "--json")
    report = json.loads(r.output)
    assert report["profile"] == "media" and report["command"].startswith("stc encrypt ")
    assert report["expected_seconds"]["kdf"] > 0 and report["expected_seconds"]["data"] > 0
    human = run("recommend", tmp_path)
    assert human.exit_code == 0 and "stc encrypt-folder" in human.output


def test_stc_04_calls(tmp_path: Path) -> None:
    src, enc, out = tmp_path / "in", tmp_path / "in.stc", tmp_path / "out"
    src.write_bytes(os.urandom(5000))
    stc.encrypt_file(src, enc, password="pw", lattice_size=64, depth=4)
    stc.decrypt_file(enc, out, password="pw")
    assert out.read_bytes() == src.read_bytes()
    blob = stc.quick_encrypt("hi", "seed", password="pw", lattice_size=64, depth=4)
    assert stc.quick_decrypt(blob, "seed", password="pw") == "hi"
    with pytest.raises(TypeError):
        stc.quick_encrypt("hi", "seed")  # type: ignore[call-arg]  # 0.4 used the seed as the password; not here
    ctx = stc.STCContext("s", **CHEAP)
    assert set(ctx.get_entropy_profile()) == set(ctx.get_entropy_health())
    status = ctx.get_status()
    assert status["epoch"] == 0 and "seed" not in json.dumps(status).lower().replace("minimum", "")
    assert stc.get_status()["formats_written"]["messages_and_files"] == 2
    ctx.set_minimum_entropy_threshold(0.7)
    ctx.encrypt(b"fine", "pw")
    ctx.cel.bytes_processed = ctx.cel.bytes_processed + (1 << 36)  # the epoch's budget used up: wear 1
    with pytest.raises(stc.ParameterError, match="below the minimum"):
        ctx.encrypt(b"refused", "pw")
    ctx.cel.update()
    ctx.encrypt(b"fine again", "pw")
    for bad in (1.5, -0.1, "0.5", True):
        with pytest.raises(stc.ParameterError):
            ctx.set_minimum_entropy_threshold(bad)  # type: ignore[arg-type]
    ctx.set_minimum_entropy_threshold(None)


@pytest.mark.slow
def test_one_gib_of_files_round_trips(shm_dir: Path) -> None:
    work = shm_dir
    src = work / "src"
    src.mkdir()
    block = os.urandom(1 << 20)
    for i in range(16):
        with open(src / f"part-{i:02d}.bin", "wb") as f:
            for _ in range(64):
                f.write(block)
    ctx = stc.STCContext("s", lattice_size=64, depth=4)
    folders.encrypt_folder(src, work / "f.stc", "pw", ctx=ctx, chunk_size=4 << 20)
    folders.decrypt_folder(work / "f.stc", work / "out", "pw", ctx=ctx)
    for i in range(16):
        assert os.path.getsize(work / "out" / f"part-{i:02d}.bin") == 64 << 20
    assert (work / "out" / "part-07.bin").read_bytes()[-100:] == block[-100:]


def test_folder_argument_checks_and_excluded_directories(ctx: stc.STCContext, tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "keep").mkdir(parents=True)
    (src / "skip" / "deep").mkdir(parents=True)
    (src / "keep" / "a").write_text("a")
    (src / "skip" / "deep" / "b").write_text("b")
    enc = tmp_path / "f.stc"
    folders.encrypt_folder(src, enc, "pw", ctx=ctx, excludes=["skip"])
    out = tmp_path / "out"
    names = {m.name for m in folders.decrypt_folder(enc, out, "pw", ctx=ctx)}
    assert names == {"keep", "keep/a"} and not (out / "skip").exists()
    with pytest.raises(stc.ParameterError, match="is not a directory"):
        folders.encrypt_folder(src / "keep" / "a", tmp_path / "g.stc", "pw", ctx=ctx)
    (tmp_path / "plainfile").write_text("x")
    with pytest.raises(stc.ParameterError, match="exists and is not a directory"):
        folders.decrypt_folder(enc, tmp_path / "plainfile", "pw", ctx=ctx)


def test_a_file_that_cannot_be_read_fails_the_whole_folder(ctx: stc.STCContext, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a").write_text("a")
    real_open = open

    def failing_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        if str(file).endswith(os.sep + "a"):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("builtins.open", failing_open)
    with pytest.raises(PermissionError, match="Permission denied"):
        folders.encrypt_folder(src, tmp_path / "f.stc", "pw", ctx=ctx)
    monkeypatch.undo()
    assert not (tmp_path / "f.stc").exists()
