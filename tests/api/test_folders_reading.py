"""What ``decrypt_folder`` and ``list_folder`` do, seen in process: members described exactly,
the staging folder beside the destination and the replaced folder removed, the checks on names
and links with their messages, and a context made from the seed."""

from __future__ import annotations

import io
import os
import tarfile
import threading
from pathlib import Path
from typing import Any

import pytest

import stc
from stc import folders
from stc.files.extract import Extractor
from stc.folders import MAX_DEPTH, MAX_NAME, FolderError, Member
from tests.conftest import CHEAP


@pytest.fixture
def ctx() -> stc.STCContext:
    return stc.STCContext("folders-reading", **CHEAP)


def _member(name: str, kind: bytes = tarfile.REGTYPE, data: bytes = b"", **attrs: Any) -> tuple[tarfile.TarInfo,
                                                                                                 bytes]:
    info = tarfile.TarInfo(name)
    info.type, info.size, info.mode, info.mtime = kind, len(data) if kind == tarfile.REGTYPE else 0, 0o640, 1_000
    for key, value in attrs.items():
        setattr(info, key, value)
    return info, data


def _encrypt(ctx: stc.STCContext, path: Path, members: list[Any], raw: bytes | None = None) -> None:
    out = io.BytesIO()
    if raw is None:
        with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for info, data in members:
                tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    ctx.encrypt_stream(io.BytesIO(out.getvalue() if raw is None else raw), path, "pw")


def test_good_members_are_described_exactly(ctx: stc.STCContext, tmp_path: Path) -> None:
    enc = tmp_path / "f.stc"
    _encrypt(ctx, enc, [_member("d", tarfile.DIRTYPE, mode=0o750), _member("d/f", data=b"12345"),
                        _member("s", tarfile.SYMTYPE, linkname="d/f"), _member("h", tarfile.LNKTYPE, linkname="d/f")])
    assert folders.list_folder(enc, "pw", ctx=ctx) == [
        Member("d", 0, 1000, "dir", 0o750, ""), Member("d/f", 5, 1000, "file", 0o640, ""),
        Member("s", 0, 1000, "symlink", 0o640, "d/f"), Member("h", 0, 1000, "hardlink", 0o640, "d/f"),
    ]


def test_good_staging_happens_beside_the_destination_and_the_replaced_folder_goes(
        ctx: stc.STCContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    enc = tmp_path / "f.stc"
    _encrypt(ctx, enc, [_member("a.txt", data=b"new")])
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "old.txt").write_text("old")
    moves: list[tuple[str, str]] = []
    real = os.rename
    monkeypatch.setattr(folders.os, "rename", lambda a, b: (moves.append((str(a), str(b))), real(a, b))[1])
    names: list[str] = []

    class Watching(Extractor):
        def add(self, tar: tarfile.TarFile, member: tarfile.TarInfo) -> None:
            names.extend(t.name for t in threading.enumerate())
            super().add(tar, member)

    monkeypatch.setattr(folders, "Extractor", Watching)
    folders.decrypt_folder(enc, dest, "pw", ctx=ctx, force=True)
    (aside, replaced), (staging, final) = moves
    assert aside == str(dest) and os.path.dirname(os.path.dirname(replaced)) == str(tmp_path)
    assert os.path.basename(replaced) == "replaced" and os.path.basename(os.path.dirname(replaced)).startswith(
        ".dest.old.")
    assert os.path.dirname(staging) == str(tmp_path) and final == str(dest)
    assert os.path.basename(staging).startswith(f".dest.{os.getpid()}.") and staging.endswith(".stc-partial")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dest", "f.stc"]  # nothing left beside it
    assert (dest / "a.txt").read_text() == "new" and not (dest / "old.txt").exists()
    assert "stc-folder-decrypt" in names


def test_good_without_a_context_the_seed_makes_one(tmp_path: Path) -> None:
    seeded = stc.STCContext("folder seed", lattice_size=64, depth=4)  # what a default reader accepts
    enc = tmp_path / "f.stc"
    _encrypt(seeded, enc, [_member("a.txt", data=b"x")])
    with pytest.raises(stc.WrongPasswordError):
        folders.decrypt_folder(enc, tmp_path / "out", "pw")  # the default seed
    folders.decrypt_folder(enc, tmp_path / "out", "pw", seed="folder seed")
    assert (tmp_path / "out" / "a.txt").read_bytes() == b"x"


@pytest.mark.parametrize(("name", "message"), [
    ("a" * (MAX_NAME + 1), f"path deeper than {MAX_DEPTH} levels or longer than {MAX_NAME}"),
    ("d/" * MAX_DEPTH + "f", f"path deeper than {MAX_DEPTH} levels or longer than {MAX_NAME}"),
])
def test_fail_names_too_long_or_too_deep(ctx: stc.STCContext, tmp_path: Path, name: str, message: str) -> None:
    enc = tmp_path / "f.stc"
    _encrypt(ctx, enc, [_member(name, data=b"x")])
    with pytest.raises(FolderError) as caught:
        folders.decrypt_folder(enc, tmp_path / "out", "pw", ctx=ctx)
    assert str(caught.value) == f"{f'archive member {name!r}'[:200]}…: {message}"


def test_good_a_name_of_exactly_the_longest_length_is_fine(ctx: stc.STCContext, tmp_path: Path) -> None:
    parts = ["p" * 200] * 20  # 20 folders of 200 characters and their slashes: 4,020 characters
    name = "/".join(parts) + "/" + "f" * (MAX_NAME - len("/".join(parts)) - 1)
    assert len(name) == MAX_NAME and len(name.rsplit("/", 1)[1]) <= 255
    enc = tmp_path / "f.stc"
    _encrypt(ctx, enc, [_member(name, data=b"x")])
    members = folders.decrypt_folder(enc, tmp_path / "out", "pw", ctx=ctx)
    assert [m.name for m in members] == [name]  # written through folder descriptors: no PATH_MAX limit
    fd = os.open(tmp_path / "out", os.O_RDONLY | os.O_DIRECTORY)
    try:
        for part in parts:
            inner = os.open(part, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = inner
        with open(os.open(name.rsplit("/", 1)[1], os.O_RDONLY, dir_fd=fd), "rb") as f:
            assert f.read() == b"x"
    finally:
        os.close(fd)


def test_good_a_shallow_name_within_the_bounds_is_fine(ctx: stc.STCContext, tmp_path: Path) -> None:
    name = "d/" * (MAX_DEPTH - 1) + "f"
    enc = tmp_path / "f.stc"
    _encrypt(ctx, enc, [_member(name, data=b"x")])
    folders.decrypt_folder(enc, tmp_path / "out", "pw", ctx=ctx)
    assert (tmp_path / "out" / name).read_bytes() == b"x"


def test_fail_a_hard_link_resolves_from_the_archive_root(ctx: stc.STCContext, tmp_path: Path) -> None:
    enc = tmp_path / "f.stc"
    _encrypt(ctx, enc, [_member("d", tarfile.DIRTYPE), _member("d/h", tarfile.LNKTYPE, linkname="../x")])
    with pytest.raises(FolderError, match=r"^archive member 'd/h': link pointing outside the folder"):
        folders.decrypt_folder(enc, tmp_path / "out", "pw", ctx=ctx)


def test_fail_data_that_is_not_a_tar_archive(ctx: stc.STCContext, tmp_path: Path) -> None:
    enc = tmp_path / "f.stc"
    _encrypt(ctx, enc, [], raw=b"\x01" * 2048)
    with pytest.raises(FolderError, match=r"^the decrypted data is not a valid tar archive: "):
        folders.list_folder(enc, "pw", ctx=ctx)
