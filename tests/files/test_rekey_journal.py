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
