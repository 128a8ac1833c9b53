"""Security review 3, folders: the CVE-2025-4517 archive, link chains, modes and owners, listings.

Each test runs the attack as the review described it and shows it refused (or made harmless).
"""

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

import stc
from stc import folders
from stc.files.extract import MAX_LINK_STEPS
from tests.conftest import CHEAP

ENV = {**os.environ, "STC_SEED": "review3-seed"}
Members = list[tuple[tarfile.TarInfo, bytes]]


@pytest.fixture
def ctx() -> stc.STCContext:
    return stc.STCContext("review3-seed", **CHEAP)


def _member(name: str, kind: bytes = tarfile.REGTYPE, data: bytes = b"", mode: int = 0o644,
            **attrs: Any) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type, info.mode = kind, mode
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    for key, value in attrs.items():
        setattr(info, key, value)
    return info, data


def _encrypt(ctx: stc.STCContext, path: Path, members: Members) -> None:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    ctx.encrypt_stream(io.BytesIO(raw.getvalue()), path, "pw")


def cve_2025_4517_archive(levels_up: int) -> Members:
    """The review's archive: 16 nested 247-character folders reached through one-letter symlinks,
    a link ``lll`` 16 levels up, then ``escape -> a/b/…/p/lll/..`` (one or two levels above the
    destination) and a regular member ``escape/NAME``."""
    long = "d" * 247
    members: Members = []
    path = ""
    for letter in "abcdefghijklmnop":
        members.append(_member(os.path.join(path, long), tarfile.DIRTYPE, mode=0o755))
        members.append(_member(os.path.join(path, letter), tarfile.SYMTYPE, linkname=long))
        path = os.path.join(path, letter)
    chain = os.path.join(path, "l" * 254)
    members.append(_member(chain, tarfile.SYMTYPE, linkname="../" * 16))
    members.append(_member("escape", tarfile.SYMTYPE, linkname=chain + "/.." * levels_up))
    members.append(_member(f"escape/pwned-{levels_up}", data=b"written outside the destination"))
    return members


def _outside_untouched(base: Path, expected: list[str]) -> None:
    assert sorted(p.name for p in base.iterdir()) == sorted(expected)
    assert not any(base.parent.glob("pwned-*")) and not any(base.parent.parent.glob("pwned-*"))


@pytest.mark.parametrize("levels_up", [1, 2])
def test_fail_cve_2025_4517_archive_writes_nothing_outside(ctx: stc.STCContext, tmp_path: Path,
                                                            levels_up: int) -> None:
    base = tmp_path / "a" / "b"  # two spare levels above, where the member would land
    base.mkdir(parents=True)
    enc = base / "evil.stc"
    _encrypt(ctx, enc, cve_2025_4517_archive(levels_up))
    with pytest.raises(folders.FolderError, match="passes through a symlink"):
        folders.decrypt_folder(enc, base / "out", "pw", ctx=ctx)
    _outside_untouched(base, ["evil.stc"])


FAST = {"lattice_size": 64, "depth": 4}  # the least a reader accepts: for what the command line opens


def test_fail_cve_2025_4517_archive_through_the_command_line(tmp_path: Path) -> None:
    enc = tmp_path / "evil.stc"
    _encrypt(stc.STCContext("review3-seed", **FAST), enc, cve_2025_4517_archive(1))
    (tmp_path / "pw.txt").write_text("pw\n")
    done = subprocess.run([sys.executable, "-m", "stc", "decrypt-folder", str(enc), "-o", str(tmp_path / "out"),
                           "--passphrase-file", str(tmp_path / "pw.txt")], capture_output=True, env=ENV, check=False)
    assert done.returncode == 1, done.stderr
    assert b"passes through a symlink" in done.stderr
    _outside_untouched(tmp_path, ["evil.stc", "pw.txt"])


@pytest.mark.parametrize(("case", "members"), [
    # each link is inside the folder by itself; followed together they leave it
    ("dot_then_up", [_member("s1", tarfile.SYMTYPE, linkname="."), _member("s2", tarfile.SYMTYPE, linkname="s1/..")]),
    ("up_through_a_deeper_link", [_member("d", tarfile.DIRTYPE, mode=0o755),
                                  _member("d/in", tarfile.SYMTYPE, linkname=".."),
                                  _member("x", tarfile.SYMTYPE, linkname="d/in/..")]),
    ("link_made_after_its_use", [_member("x", tarfile.SYMTYPE, linkname="s1/.."),
                                 _member("s1", tarfile.SYMTYPE, linkname=".")]),
    ("loop", [_member("l1", tarfile.SYMTYPE, linkname="l2/x"), _member("l2", tarfile.SYMTYPE, linkname="l1/x")]),
])
def test_fail_link_chains_that_resolve_outside_are_refused(ctx: stc.STCContext, tmp_path: Path, case: str,
                                                           members: Members) -> None:
    enc = tmp_path / "evil.stc"
    _encrypt(ctx, enc, members)
    with pytest.raises(folders.FolderError, match="outside the folder"):
        folders.decrypt_folder(enc, tmp_path / "out", "pw", ctx=ctx)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evil.stc"], case


def test_good_links_inside_the_folder_are_kept(ctx: stc.STCContext, tmp_path: Path) -> None:
    enc = tmp_path / "ok.stc"
    _encrypt(ctx, enc, [
        _member("lib", tarfile.DIRTYPE, mode=0o755), _member("lib/real.so", data=b"elf"),
        _member("lib/cur.so", tarfile.SYMTYPE, linkname="real.so"),
        _member("bin", tarfile.DIRTYPE, mode=0o755), _member("bin/lib", tarfile.SYMTYPE, linkname="../lib"),
        _member("bin/via", tarfile.SYMTYPE, linkname="lib/cur.so"),  # through another link, still inside
        _member("hard", tarfile.LNKTYPE, linkname="lib/real.so"),
    ])
    out = tmp_path / "out"
    folders.decrypt_folder(enc, out, "pw", ctx=ctx)
    assert os.readlink(out / "bin" / "lib") == "../lib" and (out / "bin" / "via").read_bytes() == b"elf"
    assert os.stat(out / "hard").st_ino == os.stat(out / "lib" / "real.so").st_ino


def test_good_a_hard_link_to_a_deep_file_is_the_same_file(ctx: stc.STCContext, tmp_path: Path) -> None:
    enc = tmp_path / "deep.stc"
    _encrypt(ctx, enc, [_member("a/b/f", data=b"deep"), _member("a/b/g", data=b"other"),
                        _member("h", tarfile.LNKTYPE, linkname="a/b/f")])
    out = tmp_path / "out"
    folders.decrypt_folder(enc, out, "pw", ctx=ctx)
    assert os.stat(out / "h").st_ino == os.stat(out / "a" / "b" / "f").st_ino and (out / "h").read_bytes() == b"deep"


def test_good_folders_the_archive_implies_are_made_private_and_odd_names_normalised(
        ctx: stc.STCContext, tmp_path: Path) -> None:
    enc = tmp_path / "implied.stc"
    _encrypt(ctx, enc, [_member("x/y/z.txt", data=b"deep"), _member("./w//v.txt", data=b"dots"),
                        _member("x/link", tarfile.SYMTYPE, linkname="y/z.txt", mtime=1_000_000)])
    out = tmp_path / "out"
    cwd = os.getcwd()
    os.chdir(tmp_path)  # a folder made relative to the wrong place would show up here
    try:
        folders.decrypt_folder(enc, out, "pw", ctx=ctx)
    finally:
        os.chdir(cwd)
    assert (out / "x" / "y" / "z.txt").read_bytes() == b"deep" and (out / "w" / "v.txt").read_bytes() == b"dots"
    for implied in (out / "x", out / "x" / "y", out / "w"):  # never listed: made 0700, as mkdir -m 700
        assert stat.S_IMODE(os.stat(implied).st_mode) == 0o700
    assert sorted(p.name for p in tmp_path.iterdir()) == ["implied.stc", "out"]
    assert os.lstat(out / "x" / "link").st_mtime == 1_000_000  # the link's own time, not its target's


def test_fail_a_link_chain_longer_than_the_bound_is_refused(ctx: stc.STCContext, tmp_path: Path) -> None:
    chain = [_member("l0", tarfile.SYMTYPE, linkname="f")]
    chain += [_member(f"l{i}", tarfile.SYMTYPE, linkname=f"l{i - 1}") for i in range(1, MAX_LINK_STEPS + 2)]
    enc = tmp_path / "long.stc"
    _encrypt(ctx, enc, [_member("f", data=b"x"), *chain])
    with pytest.raises(folders.FolderError, match="loop"):
        folders.decrypt_folder(enc, tmp_path / "out", "pw", ctx=ctx)
    ok = tmp_path / "ok.stc"  # exactly the bound: accepted
    _encrypt(ctx, ok, [_member("f", data=b"x"), *chain[:MAX_LINK_STEPS]])
    folders.decrypt_folder(ok, tmp_path / "out", "pw", ctx=ctx)
    assert (tmp_path / "out" / f"l{MAX_LINK_STEPS - 1}").read_bytes() == b"x"


@pytest.mark.parametrize(("case", "members", "words"), [
    ("file_through_file", [_member("f", data=b"x"), _member("f/g", data=b"y")], "passes through"),
    ("twice", [_member("f", data=b"x"), _member("f", data=b"y")],
     r"^archive member 'f' appears twice or over another member; refused$"),
    ("link_twice", [_member("s", tarfile.SYMTYPE, linkname="f"), _member("s", tarfile.SYMTYPE, linkname="g")],
     r"^archive member 's' appears twice or over another member; refused$"),
    ("file_over_a_dangling_link", [_member("s", tarfile.SYMTYPE, linkname="nowhere"), _member("s", data=b"x")],
     r"^archive member 's' appears twice or over another member; refused$"),
    ("hardlink_over_a_file", [_member("f", data=b"x"), _member("g", data=b"y"),
                              _member("g", tarfile.LNKTYPE, linkname="f")],
     r"^archive member 'g' appears twice or over another member; refused$"),
    ("hardlink_into_a_missing_folder", [_member("h", tarfile.LNKTYPE, linkname="nope/x")],
     r"^archive member 'h': links to a path not in the archive$"),
    ("file_without_a_name", [_member("./", data=b"x")], r"^archive member '\./': no name$"),
    ("dir_over_file", [_member("f", data=b"x"), _member("f", tarfile.DIRTYPE)], "over another member"),
    ("hardlink_to_nothing", [_member("h", tarfile.LNKTYPE, linkname="missing")], "not in the archive"),
    ("hardlink_to_dir", [_member("d", tarfile.DIRTYPE), _member("h", tarfile.LNKTYPE, linkname="d")],
     "other than a file"),
    ("hardlink_through_link", [_member("d", tarfile.DIRTYPE), _member("d/f", data=b"x"),
                               _member("l", tarfile.SYMTYPE, linkname="d"),
                               _member("h", tarfile.LNKTYPE, linkname="l/f")],
     r"^archive member 'h': its path passes through a symlink or a file \('l'\); refused$"),
    ("hardlink_to_a_symlink", [_member("f", data=b"x"), _member("s", tarfile.SYMTYPE, linkname="f"),
                               _member("h", tarfile.LNKTYPE, linkname="s")],
     r"^archive member 'h': a hard link to something other than a file$"),
    ("hardlink_to_a_deep_folder", [_member("a/b/f", tarfile.DIRTYPE), _member("h", tarfile.LNKTYPE, linkname="a/b/f")],
     "other than a file"),
    ("hardlink_with_no_target", [_member("h", tarfile.LNKTYPE, linkname=".")],
     r"^archive member 'h': a hard link with no target$"),
])
def test_fail_colliding_or_dangling_members(ctx: stc.STCContext, tmp_path: Path, case: str, members: Members,
                                            words: str) -> None:
    enc = tmp_path / "bad.stc"
    _encrypt(ctx, enc, members)
    with pytest.raises(folders.FolderError, match=words):
        folders.decrypt_folder(enc, tmp_path / "out", "pw", ctx=ctx)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.stc"], case


def _modes_archive(ctx: stc.STCContext, path: Path) -> None:
    _encrypt(ctx, path, [
        _member("open", tarfile.DIRTYPE, mode=0o1777, uid=4242, gid=4242),
        _member("open/ww.txt", data=b"w", mode=0o666, uid=4242, gid=4242),
        _member("ro", tarfile.DIRTYPE, mode=0o555),
        _member("ro/inside.txt", data=b"r", mode=0o444),
    ])


def test_good_unsafe_modes_and_owners_are_dropped(ctx: stc.STCContext, tmp_path: Path) -> None:
    enc = tmp_path / "m.stc"
    _modes_archive(ctx, enc)
    out = tmp_path / "out"
    old = os.umask(0o022)
    try:
        folders.decrypt_folder(enc, out, "pw", ctx=ctx)
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(out / "open").st_mode) == 0o755  # no sticky, no world write
    assert stat.S_IMODE(os.stat(out / "open" / "ww.txt").st_mode) == 0o644
    assert os.stat(out / "open" / "ww.txt").st_uid == os.geteuid()  # never the archive's 4242
    assert stat.S_IMODE(os.stat(out / "ro").st_mode) == 0o555 and (out / "ro" / "inside.txt").read_bytes() == b"r"
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o755  # the folder itself as mkdir makes it, not 0700


def test_good_preserve_permissions_keeps_the_archive_modes(ctx: stc.STCContext, tmp_path: Path) -> None:
    enc = tmp_path / "m.stc"
    _modes_archive(ctx, enc)
    out = tmp_path / "out"
    folders.decrypt_folder(enc, out, "pw", ctx=ctx, preserve_permissions=True)
    assert stat.S_IMODE(os.stat(out / "open").st_mode) == 0o1777
    assert stat.S_IMODE(os.stat(out / "open" / "ww.txt").st_mode) == 0o666
    assert os.stat(out / "open" / "ww.txt").st_uid == os.geteuid()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become another user")
def test_good_a_read_only_subfolder_restores_for_a_user_without_privileges(ctx: stc.STCContext) -> None:
    import shutil
    import tempfile

    top = Path(tempfile.mkdtemp(dir="/dev/shm" if os.path.isdir("/dev/shm") else None))  # pytest's is 0700
    os.chmod(top, 0o755)
    enc = top / "m.stc"
    _modes_archive(ctx, enc)
    os.chmod(enc, 0o644)
    work = top / "user"
    work.mkdir()
    os.chown(work, 65534, 65534)
    pid = os.fork()
    if pid == 0:  # the child drops root, as a normal user would run it
        code = 1
        try:
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            folders.decrypt_folder(enc, work / "out", "pw", ctx=ctx)
            code = 0 if (work / "out" / "ro" / "inside.txt").read_bytes() == b"r" else 3
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    shutil.rmtree(top)
    assert os.waitstatus_to_exitcode(status) == 0


def test_fail_terminal_control_characters_in_names_are_escaped(tmp_path: Path) -> None:
    evil = "title\x1b]0;pwned\x07\rforged-entry\u202e"
    enc = tmp_path / "names.stc"
    _encrypt(stc.STCContext("review3-seed", **FAST), enc,
             [_member(evil, data=b"x"), _member("link", tarfile.SYMTYPE, linkname="t\x1b[2Jx")])
    (tmp_path / "pw.txt").write_text("pw\n")
    base = [sys.executable, "-m", "stc", "list", str(enc), "--passphrase-file", str(tmp_path / "pw.txt")]
    shown = subprocess.run(base, capture_output=True, env=ENV, check=True).stdout.decode()
    for raw in ("\x1b", "\x07", "\r", "\u202e"):
        assert raw not in shown
    assert "title\\e]0;pwned\\x07\\rforged-entry\\u202e" in shown and "-> t\\e[2Jx" in shown
    exact = json.loads(subprocess.run([*base, "--json"], capture_output=True, env=ENV, check=True).stdout)
    assert [m["name"] for m in exact] == [evil, "link"] and exact[1]["target"] == "t\x1b[2Jx"


def test_good_printable_escapes_only_what_a_terminal_would_act_on() -> None:
    from stc.cli.terminal import printable

    assert printable("plain é 文字.txt") == "plain é 文字.txt"
    assert printable("a\\b\tc\n") == "a\\\\b\\tc\\n"
    assert printable("\x00\x7f\x9b\U000e0001") == "\\x00\\x7f\\x9b\\U000e0001"


def test_good_listing_keeps_no_tar_state_per_member(ctx: stc.STCContext, tmp_path: Path) -> None:
    import tracemalloc

    peaks = {}
    for count in (2000, 8000):
        enc = tmp_path / f"many-{count}.stc"
        _encrypt(ctx, enc, [_member(f"dir/file-{i:05d}.txt", data=b"") for i in range(count)])
        tracemalloc.start()
        try:
            assert len(folders.list_folder(enc, "pw", ctx=ctx)) == count
            peaks[count] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    per_member = (peaks[8000] - peaks[2000]) / 6000
    # a Member (slots) and its name: ~200 bytes; the TarInfo that tarfile kept per member was ~2-3 KB
    assert per_member < 400, per_member
