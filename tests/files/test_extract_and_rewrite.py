"""The folder extractor's link resolution and the re-key writer's copy, each at its edges
(``stc.files.extract``, ``stc.files.rekey``): exact bounds and messages, every fallback of the
kernel copy, where the temporary file goes, and what mode a journal has."""

from __future__ import annotations

import errno
import io
import os
import stat
import tarfile
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import stc
from stc import folders
from stc.files import rekey as rekeyfile
from stc.files.extract import MAX_LINK_STEPS, Extractor, FolderError
from tests.conftest import CHEAP


@pytest.fixture
def extractor(tmp_path: Path) -> Iterator[Extractor]:
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        yield Extractor(fd)
    finally:
        os.close(fd)


# ---- link resolution ---------------------------------------------------------------------------------
def test_fail_an_absolute_link_target_names_the_member(extractor: Extractor) -> None:
    with pytest.raises(FolderError) as caught:
        extractor.check_link(("a", "s"), "/etc/passwd")
    assert str(caught.value) == "archive member 'a/s': link to an absolute path (/etc/passwd)"


def test_good_empty_and_dot_components_are_skipped(extractor: Extractor) -> None:
    extractor.check_link(("a", "s"), ".//b/./c//")  # stays inside: a/b/c
    outside = r"^archive member 'a/s': link pointing outside the folder \(\.//\.\./\.\./x\)$"
    with pytest.raises(FolderError, match=outside):
        extractor.check_link(("a", "s"), ".//../../x")


def test_fail_an_inner_link_that_is_absolute(extractor: Extractor) -> None:
    extractor._links[("abs",)] = "/etc"  # only reachable if the member check were bypassed
    with pytest.raises(FolderError, match=r"^archive member 't': link pointing outside the folder or in a loop"):
        extractor.check_link(("t",), "abs/passwd")


@pytest.mark.parametrize("links", [MAX_LINK_STEPS, MAX_LINK_STEPS + 1])
def test_link_expansions_are_bounded_exactly(extractor: Extractor, links: int) -> None:
    """A chain s0 -> f, s1 -> s0, ...: resolving a link to the last one expands ``links`` links."""
    for i in range(links):
        extractor._links[(f"s{i}",)] = "f" if i == 0 else f"s{i - 1}"
    if links <= MAX_LINK_STEPS:
        extractor.check_link(("top",), f"s{links - 1}")
        return
    with pytest.raises(FolderError, match="in a loop"):
        extractor.check_link(("top",), f"s{links - 1}")


# ---- members over other members, and memory ------------------------------------------------------------
def _encrypt(ctx: stc.STCContext, path: Path, members: list[tuple[tarfile.TarInfo, bytes]]) -> None:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    ctx.encrypt_stream(io.BytesIO(raw.getvalue()), path, "pw")


def _member(name: str, kind: bytes = tarfile.REGTYPE, data: bytes = b"", **attrs: Any) -> tuple[tarfile.TarInfo,
                                                                                                 bytes]:
    info = tarfile.TarInfo(name)
    info.type, info.size, info.mode = kind, len(data) if kind == tarfile.REGTYPE else 0, 0o755
    for key, value in attrs.items():
        setattr(info, key, value)
    return info, data


@pytest.mark.parametrize(("members", "message"), [
    ([_member("real", tarfile.DIRTYPE), _member("d", tarfile.SYMTYPE, linkname="real"), _member("d", tarfile.DIRTYPE)],
     r"^archive member 'd': a folder over another member; refused$"),
    ([_member("f", data=b"x"), _member("f/g", data=b"y")],
     r"^archive member 'f/g': its path passes through a symlink or a file \('f'\); refused$"),
])
def test_fail_a_folder_over_a_link_or_a_member_through_a_file(tmp_path: Path, members: Any, message: str) -> None:
    ctx = stc.STCContext("extract", **CHEAP)
    _encrypt(ctx, tmp_path / "bad.stc", members)
    with pytest.raises(FolderError, match=message):
        folders.decrypt_folder(tmp_path / "bad.stc", tmp_path / "out", "pw", ctx=ctx)


def test_good_a_large_member_is_copied_in_pieces(tmp_path: Path) -> None:
    ctx = stc.STCContext("extract", **CHEAP)
    big = os.urandom(24 << 20)
    _encrypt(ctx, tmp_path / "big.stc", [_member("big.bin", data=big)])
    del big
    tracemalloc.start()
    try:
        folders.decrypt_folder(tmp_path / "big.stc", tmp_path / "out", "pw", ctx=ctx)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (tmp_path / "out" / "big.bin").stat().st_size == 24 << 20
    assert peak < 12 << 20, peak  # never the whole 24 MiB member at once


# ---- the kernel copy and its fallbacks -----------------------------------------------------------------
@pytest.fixture
def files(tmp_path: Path) -> Iterator[tuple[int, int, bytes, Path]]:
    data = os.urandom(10_000)
    (tmp_path / "src").write_bytes(data)
    src = os.open(tmp_path / "src", os.O_RDONLY)
    dst = os.open(tmp_path / "dst", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        yield src, dst, data, tmp_path / "dst"
    finally:
        os.close(src)
        os.close(dst)


def test_good_short_kernel_copies_continue_where_they_stopped(files: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    src, dst, data, out = files
    real = os.copy_file_range
    calls: list[int] = []

    def short_first(s: int, d: int, count: int, offset: int | None = None, *rest: Any) -> int:
        calls.append(count)
        if len(calls) > 4 or sum(calls) > 20_000:  # a loop that never ends must not fill the disk
            raise AssertionError(f"copy_file_range asked {calls}")
        return real(s, d, min(count, 3000) if len(calls) == 1 else count, offset)

    monkeypatch.setattr(rekeyfile.os, "copy_file_range", short_first)
    rekeyfile._copy_range(src, dst, 100, 5000)
    assert out.read_bytes() == data[100:5100] and calls == [5000, 2000]


@pytest.mark.parametrize("code", [errno.EXDEV, errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP])
def test_good_a_kernel_without_the_copy_falls_back_to_reads(files: Any, monkeypatch: pytest.MonkeyPatch,
                                                           code: int) -> None:
    src, dst, data, out = files

    def refuse(*args: Any) -> int:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(rekeyfile.os, "copy_file_range", refuse)
    rekeyfile._copy_range(src, dst, 100, 9900)
    assert out.read_bytes() == data[100:]


def test_good_no_copy_file_range_at_all(files: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    src, dst, data, out = files
    monkeypatch.delattr(rekeyfile.os, "copy_file_range")
    rekeyfile._copy_range(src, dst, 0, 10_000)
    assert out.read_bytes() == data


def test_fail_other_errors_and_errors_after_a_partial_copy_are_raised(files: Any,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    src, dst, _, _ = files

    def io_error(*args: Any) -> int:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(rekeyfile.os, "copy_file_range", io_error)
    with pytest.raises(OSError, match="Input/output"):
        rekeyfile._copy_range(src, dst, 0, 100)
    done: list[int] = []

    def partial_then_exdev(s: int, d: int, count: int, offset: int | None = None, *rest: Any) -> int:
        if done:
            raise OSError(errno.EXDEV, "cross-device")
        done.append(1)
        return 10

    monkeypatch.setattr(rekeyfile.os, "copy_file_range", partial_then_exdev)
    with pytest.raises(OSError, match="cross-device"):  # some bytes went already: no silent second copy
        rekeyfile._copy_range(src, dst, 0, 100)


def test_fail_a_file_that_shrank_during_the_copy(files: Any) -> None:
    src, dst, _, _ = files
    with pytest.raises(OSError) as caught:
        rekeyfile._copy_range(src, dst, 9000, 5000)  # only 1,000 bytes are there
    assert str(caught.value) == "the file shrank while it was being re-keyed"


# ---- where a re-key writes ------------------------------------------------------------------------------
def test_good_a_rekey_by_copy_writes_a_hidden_file_beside_the_original(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = stc.STCContext("extract", **CHEAP)
    path = tmp_path / "doc.stc"
    ctx.encrypt_stream(io.BytesIO(os.urandom(5000)), path, "pw", chunk_size=1024)
    os.chmod(path, 0o640)
    moves: list[tuple[str, str]] = []
    real = os.replace

    def record(a: Any, b: Any) -> None:
        moves.append((os.fspath(a), os.fspath(b)))
        real(a, b)

    monkeypatch.setattr(rekeyfile.os, "replace", record)
    ctx.rekey(path, password="pw", add=[stc.generate_identity().recipient])  # the header grows: by copy
    (tmp, final), = moves
    assert final == str(path) and os.path.dirname(tmp) == str(tmp_path)
    assert os.path.basename(tmp).startswith(".doc.stc.") and tmp.endswith(".stc-rekey")
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_good_the_journal_of_an_in_place_rekey_is_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = stc.STCContext("extract", **CHEAP)
    path = tmp_path / "doc.stc"
    ctx.encrypt_stream(io.BytesIO(os.urandom(5000)), path, "pw", chunk_size=1024)
    modes: list[int] = []
    real = os.pwrite

    def look(fd: int, data: bytes, offset: int) -> int:
        modes.append(stat.S_IMODE(os.stat(rekeyfile.journal_path(path)).st_mode))
        return real(fd, data, offset)

    monkeypatch.setattr(rekeyfile.os, "pwrite", look)
    old = os.umask(0)
    try:
        ctx.rekey(path, password="pw", new_password="new")  # the same length: in place, after a journal
    finally:
        os.umask(old)
    assert modes == [0o600]


@pytest.mark.parametrize("how", ["in place", "by copy"])
def test_fail_the_first_error_wins_even_when_cleaning_up_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               how: str) -> None:
    ctx = stc.STCContext("extract", **CHEAP)
    path = tmp_path / "doc.stc"
    ctx.encrypt_stream(io.BytesIO(os.urandom(5000)), path, "pw", chunk_size=1024)
    before = path.read_bytes()

    def broken(*args: Any) -> Any:
        raise OSError(errno.EIO, "Input/output error")

    def stuck(*args: Any) -> None:
        raise OSError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(rekeyfile.os, "fsync" if how == "in place" else "fchmod", broken)
    monkeypatch.setattr(rekeyfile.os, "unlink", stuck)
    change: dict[str, Any] = ({"new_password": "new"} if how == "in place"
                              else {"add": [stc.generate_identity().recipient]})
    with pytest.raises(OSError, match="Input/output"):  # not the cleanup's error, nor a TypeError
        ctx.rekey(path, password="pw", **change)
    assert path.read_bytes() == before
