"""The re-key journal's checks one by one (``stc.files.rekey``): its parser at each bound, the
proof that the first chunk opens, and the proof that a journal belongs to this very file."""

from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import stc
from stc.files import rekey as rekeyfile
from stc.formats.v2 import CORE_SIZE, HeaderV2
from stc.keys.recipients import generate_identity
from tests.conftest import CHEAP

MAGIC = b"STCJ\x01"


def _record(old: bytes, new: bytes, magic: bytes = MAGIC) -> bytes:
    body = magic + len(new).to_bytes(4, "big") + old + new
    return body + hashlib.sha256(body).digest()


# ---- the parser ---------------------------------------------------------------------------------------
def test_good_the_smallest_journal_parses() -> None:
    assert rekeyfile._parse_journal(_record(b"", b"")) == (b"", b"")  # 41 bytes: magic, length, digest


def test_fail_a_digest_alone_after_the_magic_is_incomplete() -> None:
    short = MAGIC + hashlib.sha256(MAGIC).digest()  # 37 bytes, its digest right, no length field
    assert rekeyfile._parse_journal(short) is None


def test_good_the_largest_journal_a_re_key_writes_parses() -> None:
    largest = _record(b"o" * 38_017, b"n" * 38_017)  # two of the longest version-2 headers
    assert len(largest) <= rekeyfile._MAX_JOURNAL and rekeyfile._parse_journal(largest) is not None
    over = _record(b"o" * 40_012, b"n" * 40_012)  # 80,065 bytes: one past the bound
    assert len(over) > rekeyfile._MAX_JOURNAL and rekeyfile._parse_journal(over) is None


def test_good_a_journal_exactly_at_the_bound_parses(monkeypatch: pytest.MonkeyPatch) -> None:
    record = _record(b"o" * 100, b"n" * 100)
    monkeypatch.setattr(rekeyfile, "_MAX_JOURNAL", len(record))
    assert rekeyfile._parse_journal(record) == (b"o" * 100, b"n" * 100)
    monkeypatch.setattr(rekeyfile, "_MAX_JOURNAL", len(record) - 1)
    assert rekeyfile._parse_journal(record) is None


def test_fail_another_magic_with_a_right_digest_is_not_a_journal() -> None:
    assert rekeyfile._parse_journal(_record(b"o" * 50, b"n" * 50, magic=b"STCJ\x02")) is None
    assert rekeyfile._parse_journal(_record(b"o" * 50, b"n" * 50)) == (b"o" * 50, b"n" * 50)


def test_fail_lengths_that_do_not_add_up() -> None:
    body = MAGIC + (51).to_bytes(4, "big") + b"o" * 50 + b"n" * 50
    assert rekeyfile._parse_journal(body + hashlib.sha256(body).digest()) is None


# ---- the first chunk --------------------------------------------------------------------------------------
@pytest.fixture
def ctx() -> stc.STCContext:
    return stc.STCContext("journal-seed", **CHEAP)


def _file(tmp_path: Path, ctx: stc.STCContext, size: int, **keys: Any) -> tuple[Path, bytes]:
    n = len(list(tmp_path.glob("*.stc")))
    path = tmp_path / f"f{n}.stc"
    src = tmp_path / f"p{n}"
    src.write_bytes(os.urandom(size))
    header = ctx.encrypt_stream(src, path, chunk_size=1024, **keys)
    return path, header.to_bytes()


@pytest.fixture
def fd_of() -> Iterator[Any]:
    opened: list[int] = []

    def open_(path: Path) -> int:
        opened.append(os.open(path, os.O_RDONLY))
        return opened[-1]

    yield open_
    for fd in opened:
        os.close(fd)


@pytest.mark.parametrize("size", [0, 1, 1023, 1024, 1025, 5000])
def test_good_the_first_chunk_opens_whatever_the_file_size(ctx: stc.STCContext, tmp_path: Path, fd_of: Any,
                                                          size: int) -> None:
    path, header = _file(tmp_path, ctx, size, password="pw")
    assert rekeyfile._opens_body(fd_of(path), header, ctx._opener("pw", [], None))


def test_fail_the_first_chunk_under_other_credentials_or_no_header(ctx: stc.STCContext, tmp_path: Path,
                                                                  fd_of: Any) -> None:
    path, header = _file(tmp_path, ctx, 1024, password="pw")
    fd = fd_of(path)
    assert not rekeyfile._opens_body(fd, header, ctx._opener("wrong", [], None))  # no key slot opens
    assert not rekeyfile._opens_body(fd, header, ctx._opener("pw", [], {"a": 1}))  # context flag differs
    assert not rekeyfile._opens_body(fd, b"\x00" * len(header), ctx._opener("pw", [], None))  # not a header
    _, other_header = _file(tmp_path, ctx, 1024, password="pw")
    assert not rekeyfile._opens_body(fd, other_header, ctx._opener("pw", [], None))  # another file's key


def test_fail_a_file_cut_inside_its_first_chunk_proves_nothing(ctx: stc.STCContext, tmp_path: Path,
                                                              fd_of: Any) -> None:
    path, header = _file(tmp_path, ctx, 1024, password="pw")
    for keep in (len(header) + 15, len(header), len(header) - 1, 10):  # no whole tag after the header
        os.truncate(path, keep)
        assert not rekeyfile._opens_body(fd_of(path), header, ctx._opener("pw", [], None))


# ---- the journal belongs to this file -----------------------------------------------------------------
def _rekeyed(ctx: stc.STCContext, path: Path, **change: Any) -> bytes:
    ctx.rekey(path, password="pw", **change)
    data = path.read_bytes()
    return data[: len(HeaderV2.parse_prefix(data)[0].to_bytes())]


def test_fail_an_old_header_of_another_file_makes_the_journal_foreign(ctx: stc.STCContext, tmp_path: Path,
                                                                      fd_of: Any) -> None:
    alice = generate_identity().recipient
    path, h0 = _file(tmp_path, ctx, 3000, password="pw", recipients=[alice])
    _, foreign = _file(tmp_path, ctx, 100, password="pw", recipients=[alice])
    assert len(foreign) == len(h0) and foreign[:CORE_SIZE] != h0[:CORE_SIZE]
    new = _rekeyed(ctx, path, add=[generate_identity().recipient])
    assert len(new) == len(h0)
    path.write_bytes(h0 + path.read_bytes()[len(new):])  # back to the old header
    with pytest.warns(stc.JournalWarning, match="does not belong to this file"):
        assert not rekeyfile._authentic("j", fd_of(path), foreign, new, ctx._key_of("pw", []), None)


def test_good_a_journal_whose_old_header_is_stale_is_proven_by_the_header_on_disk(ctx: stc.STCContext,
                                                                                  tmp_path: Path,
                                                                                  fd_of: Any) -> None:
    """The file was re-keyed again since the journal was written: the header on disk is neither the
    journal's old nor its new one, but it opens to the same file key, which proves the new one."""
    path, h0 = _file(tmp_path, ctx, 3000, password="pw", recipients=[generate_identity().recipient])
    someone = generate_identity().recipient
    h1 = _rekeyed(ctx, path, add=[someone])
    h2 = _rekeyed(ctx, path, remove=[someone])
    assert len(h0) == len(h1) == len(h2) and len({h0, h1, h2}) == 3
    fd = fd_of(path)  # holds h2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert rekeyfile._authentic("j", fd, h0, h1, ctx._key_of("pw", []), None)
    with pytest.warns(stc.JournalWarning, match="does not open with the key given"):
        assert not rekeyfile._authentic("j", fd, h0, h1, ctx._key_of("wrong", []), None)


# ---- a file's first bytes say whether it has a passphrase -----------------------------------------------
def test_good_the_passphrase_prefix_is_read_from_the_slot_layout_byte(ctx: stc.STCContext, tmp_path: Path) -> None:
    _, with_pw = _file(tmp_path, ctx, 10, password="pw")
    _, without = _file(tmp_path, ctx, 20, recipients=[generate_identity().recipient])
    assert HeaderV2.has_passphrase_prefix(with_pw[: CORE_SIZE + 1])
    assert not HeaderV2.has_passphrase_prefix(without[: CORE_SIZE + 1])
    assert not HeaderV2.has_passphrase_prefix(without)  # more bytes than needed: the same answer
    assert HeaderV2.has_passphrase_prefix(without[:CORE_SIZE])  # too short to tell: assume one
    assert HeaderV2.has_passphrase_prefix(b"STCF\x01" + without[5 : CORE_SIZE + 1])  # version 1: always
    assert HeaderV2.has_passphrase_prefix(b"STCM\x03" + without[5 : CORE_SIZE + 1])  # version 3: always


# ---- finishing: what it returns, and journals that are not what they seem ---------------------------------
def _planted(ctx: stc.STCContext, tmp_path: Path) -> tuple[Path, bytes, bytes]:
    """A file and the (old, new) headers of a real re-key of a copy of it (same length)."""
    alice = generate_identity()
    path, old = _file(tmp_path, ctx, 3000, password="pw", recipients=[alice.recipient])
    copy = tmp_path / "copy.stc"
    copy.write_bytes(path.read_bytes())
    ctx.rekey(copy, password="pw", add=[generate_identity().recipient])
    new = copy.read_bytes()[: len(old)]
    assert len(HeaderV2.parse_prefix(copy.read_bytes())[0].to_bytes()) == len(old)
    return path, old, new


def test_finish_interrupted_says_whether_it_finished(ctx: stc.STCContext, tmp_path: Path) -> None:
    path, old, new = _planted(ctx, tmp_path)
    key_of = ctx._key_of("pw", [])
    journal = Path(rekeyfile.journal_path(path))
    assert rekeyfile.finish_interrupted(path, key_of) is False  # no journal
    journal.write_bytes(_record(old, new)[:-1])  # incomplete: the file was not touched yet
    assert rekeyfile.finish_interrupted(path, key_of) is False and not journal.exists()
    journal.write_bytes(_record(old, new))
    with pytest.warns(stc.JournalWarning, match=f"^ignored {journal}: its new header does not open"):
        assert rekeyfile.finish_interrupted(path, ctx._key_of("wrong", [])) is False
    assert journal.exists() and path.read_bytes()[: len(old)] == old
    assert rekeyfile.finish_interrupted(path, key_of) is True
    assert not journal.exists() and path.read_bytes()[: len(new)] == new


def test_fail_a_journal_with_a_second_link_or_behind_a_symlink_is_ignored(ctx: stc.STCContext,
                                                                         tmp_path: Path) -> None:
    path, old, new = _planted(ctx, tmp_path)
    journal = Path(rekeyfile.journal_path(path))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    genuine = elsewhere / "journal"
    genuine.write_bytes(_record(old, new))  # a journal that would be applied, were it taken
    os.link(genuine, journal)
    with pytest.warns(stc.JournalWarning, match="with one link"):
        assert rekeyfile.finish_interrupted(path, ctx._key_of("pw", [])) is False
    journal.unlink()
    journal.symlink_to(genuine)
    with pytest.warns(stc.JournalWarning, match="not a regular file of this user"):
        assert rekeyfile.finish_interrupted(path, ctx._key_of("pw", [])) is False
    assert path.read_bytes()[: len(old)] == old


def test_good_a_huge_journal_is_read_only_up_to_its_bound(ctx: stc.STCContext, tmp_path: Path) -> None:
    import tracemalloc

    path, _, _ = _planted(ctx, tmp_path)
    journal = Path(rekeyfile.journal_path(path))
    with open(journal, "wb") as f:
        f.truncate(32 << 20)  # 32 MiB of nothing
    tracemalloc.start()
    try:
        assert rekeyfile.finish_interrupted(path, ctx._key_of("pw", [])) is False
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20, peak
