"""What ``encrypt_folder`` writes, seen in process (so mutation testing sees it too): a pax
archive with no owner names, exclusions, links stored and never followed, sizes, progress,
the writer thread, and a sink that takes a few bytes at a time."""

from __future__ import annotations

import io
import os
import tarfile
import threading
from pathlib import Path

import pytest

import stc
from stc import folders
from tests.conftest import CHEAP


@pytest.fixture
def ctx() -> stc.STCContext:
    return stc.STCContext("folders-writing", **CHEAP)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    for d in ("a", "b", "c", "c/deep"):
        (root / d).mkdir(parents=True)
    (root / "a" / "one.txt").write_bytes(b"1" * 100)
    (root / "b" / "skip.tmp").write_bytes(b"2" * 200)
    (root / "c" / "deep" / ("é" * 120 + ".txt")).write_bytes(b"3" * 300)  # needs pax: 240 bytes of UTF-8
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(b"not in the archive")
    (root / "c" / "elsewhere").symlink_to(outside, target_is_directory=True)
    (root / "top.bin").write_bytes(b"4" * 400)
    return root


def _tar_of(ctx: stc.STCContext, enc: Path) -> bytes:
    out = io.BytesIO()
    ctx.decrypt_stream(enc, output_path=out, password="pw")
    return out.getvalue()


def test_good_the_archive_is_pax_without_owners_and_keeps_links_unfollowed(ctx: stc.STCContext, tree: Path,
                                                                           tmp_path: Path) -> None:
    enc = tmp_path / "t.stc"
    folders.encrypt_folder(tree, enc, "pw", ctx=ctx, excludes=["b"])
    raw = _tar_of(ctx, enc)
    assert len(raw) % tarfile.RECORDSIZE == 0  # tarfile's own padding, from tell() starting at 0
    assert raw[257:265] == b"ustar\x0000"  # POSIX (pax), not GNU's "ustar  \0"
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert sorted(members) == ["a", "a/one.txt", "c", "c/deep", f"c/deep/{'é' * 120}.txt", "c/elsewhere", "top.bin"]
    assert members["c/elsewhere"].issym() and not any("secret" in name for name in members)
    assert all(m.uid == 0 and m.gid == 0 and m.uname == "" and m.gname == "" for m in members.values())


def test_good_an_excluded_folder_does_not_stop_its_siblings(ctx: stc.STCContext, tree: Path, tmp_path: Path) -> None:
    enc = tmp_path / "t.stc"
    folders.encrypt_folder(tree, enc, "pw", ctx=ctx, excludes=["a"])  # the first folder
    names = [m.name for m in folders.list_folder(enc, "pw", ctx=ctx)]
    assert "b" in names and "c" in names and "a" not in names and "a/one.txt" not in names


def test_good_folder_size_counts_regular_files_only(tree: Path) -> None:
    assert folders.folder_size(tree) == (4, 1000)
    assert folders.folder_size(tree, ["b"]) == (3, 800)
    assert folders.folder_size(tree / "a") == (1, 100)


def test_good_progress_runs_up_to_the_archive_size_beside_a_named_daemon_writer(ctx: stc.STCContext, tree: Path,
                                                                               tmp_path: Path) -> None:
    seen: list[int] = []
    writers: list[threading.Thread] = []

    def progress(done: int, total: int | None) -> None:
        seen.append(done)
        writers.extend(t for t in threading.enumerate() if t.name == "stc-folder")

    (tree / "big.bin").write_bytes(os.urandom(4 << 20))  # more than the pipe holds: the writer is still at work
    enc = tmp_path / "t.stc"
    folders.encrypt_folder(tree, enc, "pw", ctx=ctx, progress_callback=progress, chunk_size=65536)
    assert seen and seen == sorted(seen) and seen[-1] == len(_tar_of(ctx, enc))
    assert writers and all(t.daemon for t in writers)


def test_good_without_a_context_the_seed_makes_one(tree: Path, tmp_path: Path) -> None:
    enc = tmp_path / "t.stc"
    header = folders.encrypt_folder(tree / "a", enc, "pw", seed="folder seed")
    assert isinstance(header, stc.HeaderV2) and enc.read_bytes().startswith(header.to_bytes())
    assert [m.name for m in folders.list_folder(enc, "pw", seed="folder seed")] == ["one.txt"]
    with pytest.raises(stc.WrongPasswordError):
        folders.list_folder(enc, "pw", seed="another seed")


class _Trickle(io.RawIOBase):
    """A sink that takes at most 7 bytes a call, as a pipe may."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b: object) -> int:
        view = memoryview(b)  # type: ignore[arg-type]
        self.data += view[:7].tobytes()
        return min(7, len(view))


def test_good_the_counting_writer_delivers_every_byte_through_short_writes() -> None:
    sink = _Trickle()
    counting = folders._Counting(sink)
    assert counting.tell() == 0
    assert counting.write(b"x" * 50) == 50 and counting.write(bytearray(b"y" * 20)) == 70
    assert counting.tell() == 70 and bytes(sink.data) == b"x" * 50 + b"y" * 20
