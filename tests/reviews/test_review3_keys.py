"""Security review 3, keys and headers: planted and special re-key journals, concurrent re-keys,
what a re-key shows, the Argon2id ceiling, the version-1 policy, and outputs that are devices."""

from __future__ import annotations

import io
import json
import multiprocessing
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

import stc
from stc.crypto import kdf
from stc.crypto.payload import chunk_nonce, payload_key
from stc.files import rekey as rekeyfile
from stc.formats.v1 import Metadata
from stc.formats.v2 import CORE_SIZE, HeaderV2
from stc.keys import envelope
from stc.keys.recipients import generate_identity
from stc.keys.v1_slots import slot_kek
from tests.conftest import CHEAP

FAST = {"lattice_size": 64, "depth": 4}
ENV = {**os.environ, "STC_SEED": "review3-seed"}
DATA = os.urandom(3000)


@pytest.fixture
def ctx() -> stc.STCContext:
    return stc.STCContext("review3-seed", **CHEAP)


@pytest.fixture(scope="module")
def people() -> dict[str, Any]:
    return {name: generate_identity("x25519") for name in ("alice", "bob", "carol")}


def _file(tmp_path: Path, ctx: stc.STCContext, **keys: Any) -> Path:
    enc = tmp_path / "f.stc"
    ctx.encrypt_stream(io.BytesIO(DATA), enc, chunk_size=1024, **keys)
    return enc


def _journal(path: Path, old: bytes, new: bytes) -> Path:
    import hashlib

    record = b"STCJ\x01" + len(new).to_bytes(4, "big") + old + new
    journal = Path(rekeyfile.journal_path(path))
    journal.write_bytes(record + hashlib.sha256(record).digest())
    return journal


def _decrypts(ctx: stc.STCContext, enc: Path, **keys: Any) -> bool:
    out = enc.parent / "out.bin"
    ctx.decrypt_stream(enc, output_path=out, **keys)
    ok = out.read_bytes() == DATA
    out.unlink()
    return ok


# ---- 2. planted journals ------------------------------------------------------------------------------
def test_fail_a_journal_planted_from_the_first_31_bytes_is_never_applied(ctx: stc.STCContext,
                                                                        tmp_path: Path) -> None:
    enc = _file(tmp_path, ctx, password="pw")
    before = enc.read_bytes()
    size = _header_size(before)
    core = before[:CORE_SIZE]  # all the attacker could read
    junk = b"\xa5" * (size - CORE_SIZE)
    journal = _journal(enc, core + junk, core + junk[::-1])
    readers = [
        lambda: _decrypts(ctx, enc, password="pw"),
        lambda: ctx.decrypt_range(enc, 10, 100, password="pw") == DATA[10:110],
        lambda: stc.open(enc, "rb", password="pw", ctx=ctx).read() == DATA,
    ]
    for read in readers:
        with pytest.warns(stc.JournalWarning, match="does not open|not proven|does not belong"):
            assert read()
        assert enc.read_bytes() == before and journal.exists()  # left alone, never acted on


@pytest.mark.parametrize("reader", ["decrypt_range", "decrypt_stream", "open"])
@pytest.mark.parametrize("who", ["new passphrase", "added identity"])
def test_good_a_reader_the_re_key_let_in_finishes_it_by_the_first_chunk(ctx: stc.STCContext, tmp_path: Path,
                                                                        people: dict[str, Any], who: str,
                                                                        reader: str) -> None:
    """Interrupted after its journal: the header on disk does not open for this reader (it was
    not let in yet), the journal's new header does, and the body's first chunk proves it."""
    alice, bob = people["alice"], people["bob"]
    context = {"tenant": 7}
    enc = _file(tmp_path, ctx, password="old", recipients=[alice.recipient], context_data=context)
    before = enc.read_bytes()
    copy = tmp_path / "copy.stc"
    copy.write_bytes(before)
    if who == "new passphrase":
        ctx.rekey(copy, identities=[alice], new_password="new")
        keys: dict[str, Any] = {"password": "new"}
    else:
        ctx.rekey(copy, identities=[alice], add=[bob.recipient])
        keys = {"identities": [bob]}
    size = _header_size(before)
    assert _header_size(copy.read_bytes()) == size  # re-keyed in place: a journal would have been written
    journal = _journal(enc, before[:size], copy.read_bytes()[:size])
    if reader == "decrypt_range":
        assert ctx.decrypt_range(enc, 10, 100, context_data=context, **keys) == DATA[10:110]
    elif reader == "decrypt_stream":
        ctx.decrypt_stream(enc, output_path=tmp_path / "out", context_data=context, **keys)
        assert (tmp_path / "out").read_bytes() == DATA
    else:
        with stc.open(enc, "rb", ctx=ctx, context_data=context, **keys) as f:
            assert f.read() == DATA
    assert not journal.exists() and enc.read_bytes() == copy.read_bytes()


def test_fail_a_journal_built_with_the_victims_public_key_is_never_applied(ctx: stc.STCContext, tmp_path: Path,
                                                                          people: dict[str, Any]) -> None:
    alice = people["alice"]
    enc = _file(tmp_path, ctx, recipients=[alice.recipient])
    before = enc.read_bytes()
    real = HeaderV2.from_bytes(before[: _header_size(before)])
    forged_key = os.urandom(32)  # the attacker's own file key, wrapped to the victim's public key
    core = envelope.Core.of(real)
    lbl = envelope.label(core.to_bytes())
    entries = [(alice.recipient.wrap(forged_key, lbl), alice.recipient.fingerprint)]
    entries += envelope._decoys(entries, os.urandom)
    forged = envelope._assemble(core, entries, forged_key, None, bytes(16), os.urandom).to_bytes()
    assert len(forged) == real.size  # same size: an in-place journal
    journal = _journal(enc, forged, forged)
    with pytest.warns(stc.JournalWarning, match="not proven to hold this file's key"):
        assert _decrypts(ctx, enc, identities=[alice])
    assert enc.read_bytes() == before and journal.exists()


def _header_size(data: bytes) -> int:
    return HeaderV2.parse_prefix(data)[1]


@pytest.mark.parametrize("kind", ["fifo", "directory", "symlink", "other_owner"])
def test_fail_a_special_journal_is_ignored_without_waiting(ctx: stc.STCContext, tmp_path: Path, kind: str) -> None:
    enc = _file(tmp_path, ctx, password="pw")
    journal = rekeyfile.journal_path(enc)
    if kind == "fifo":
        os.mkfifo(journal)
    elif kind == "directory":
        os.mkdir(journal)
    elif kind == "symlink":
        target = tmp_path / "elsewhere"
        _journal(target, b"x", b"y")
        os.rename(rekeyfile.journal_path(target), target)
        os.symlink(target, journal)
    else:
        if os.geteuid() != 0:
            pytest.skip("needs root to give the journal another owner")
        _journal(enc, b"x", b"y")
        os.chown(journal, 4242, 4242)
    result: list[Any] = []

    def read() -> None:
        try:
            with pytest.warns(stc.JournalWarning, match="ignored"):
                result.append(_decrypts(ctx, enc, password="pw"))
        except BaseException as exc:
            result.append(exc)

    worker = threading.Thread(target=read, daemon=True)
    worker.start()
    worker.join(30)
    assert result == [True], result  # not hung on the FIFO, no IsADirectoryError
    assert os.path.lexists(journal)


def test_good_the_owner_finishes_a_torn_journal_from_the_old_header(ctx: stc.STCContext, tmp_path: Path,
                                                                    people: dict[str, Any],
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    alice, carol = people["alice"], people["carol"]
    enc = _file(tmp_path, ctx, recipients=[alice.recipient])
    real_pwrite = os.pwrite

    def torn(fd: int, buf: bytes, offset: int) -> int:
        real_pwrite(fd, buf[: len(buf) // 3], offset)
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(rekeyfile.os, "pwrite", torn)
    with pytest.raises(OSError, match="Input/output"):
        ctx.rekey(enc, identities=[alice], add=[carol.recipient])
    monkeypatch.setattr(rekeyfile.os, "pwrite", real_pwrite)
    # alice opened the old header, so she proves the journal without the body; a re-key finishes it
    ctx.rekey(enc, identities=[alice], remove=[carol.recipient])
    assert not os.path.exists(rekeyfile.journal_path(enc))
    assert _decrypts(ctx, enc, identities=[alice])
    with pytest.raises(stc.NoMatchingIdentityError):
        _decrypts(ctx, enc, identities=[carol])


# ---- 3. concurrent re-keys ----------------------------------------------------------------------------
def _race(path: str, ids: list[str], add: list[str], remove: list[str], barrier: Any) -> None:
    ctx = stc.STCContext("review3-seed", **CHEAP)
    barrier.wait(10)
    ctx.rekey(path, identities=ids, add=add, remove=remove)


def test_good_concurrent_rekeys_of_one_file_both_apply(tmp_path: Path, people: dict[str, Any]) -> None:
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    ctx = stc.STCContext("review3-seed", **CHEAP)
    forked = multiprocessing.get_context("fork")
    for trial in range(8):
        enc = tmp_path / f"race-{trial}.stc"
        ctx.encrypt_stream(io.BytesIO(DATA), enc, recipients=[alice.recipient, bob.recipient], chunk_size=1024)
        barrier = forked.Barrier(2)
        ids = [alice.to_string()]
        runs = [forked.Process(target=_race, args=(str(enc), ids, [], [bob.recipient.to_string()], barrier)),
                forked.Process(target=_race, args=(str(enc), ids, [carol.recipient.to_string()], [], barrier))]
        for run in runs:
            run.start()
        for run in runs:
            run.join(60)
        assert [run.exitcode for run in runs] == [0, 0], trial
        assert _decrypts(ctx, enc, identities=[carol]), trial  # the addition survived
        with pytest.raises(stc.NoMatchingIdentityError):  # and so did the removal
            _decrypts(ctx, enc, identities=[bob])


def test_good_the_lock_follows_a_file_replaced_while_waiting(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"one")
    seen: list[bytes] = []
    with rekeyfile.locked(str(path)) as held:
        def other() -> None:
            with rekeyfile.locked(str(path)) as f:
                seen.append(f.read())

        waiter = threading.Thread(target=other)
        waiter.start()
        replacement = tmp_path / "g"
        replacement.write_bytes(b"two")
        os.replace(replacement, path)  # as a re-key by copy does, lock still held on the old inode
        held.read()
    waiter.join(10)
    assert seen == [b"two"]


# ---- 6. a re-key does not tell real stanzas from decoys -------------------------------------------------
def _stanzas(enc: Path) -> list[bytes]:
    header = HeaderV2.from_bytes(enc.read_bytes()[: _header_size(enc.read_bytes())])
    return [s.body for s in header.stanzas]


@pytest.mark.parametrize("change", ["add", "remove"])
def test_good_a_rekey_replaces_one_stanza_whichever_it_is(ctx: stc.STCContext, tmp_path: Path,
                                                          people: dict[str, Any], change: str) -> None:
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    enc = _file(tmp_path, ctx, recipients=[alice.recipient, bob.recipient])
    before = _stanzas(enc)
    size = enc.stat().st_size
    if change == "add":
        ctx.rekey(enc, identities=[alice], add=[carol.recipient])
    else:
        ctx.rekey(enc, identities=[alice], remove=[bob.recipient])
    after = _stanzas(enc)
    assert len(set(before) - set(after)) == 1 and len(set(after) - set(before)) == 1
    assert enc.stat().st_size == size  # in place: the kept stanzas (real and decoy) are byte for byte
    assert len(before) == 4 and len(after) == 4


def test_good_a_removed_recipient_leaves_a_decoy_only_with_decoys(ctx: stc.STCContext, tmp_path: Path,
                                                                  people: dict[str, Any]) -> None:
    alice, bob = people["alice"], people["bob"]
    enc = _file(tmp_path, ctx, recipients=[alice.recipient, bob.recipient], use_decoys=False)
    ctx.rekey(enc, identities=[alice], remove=[bob.recipient], use_decoys=False)
    assert len(_stanzas(enc)) == 1


# ---- 4. the Argon2id ceiling --------------------------------------------------------------------------
def _heavy_blob(version: int, monkeypatch: pytest.MonkeyPatch) -> bytes:
    """A v2/v3 blob whose header asks 1 GiB and 16 passes (made without running that Argon2id)."""
    writer = stc.STCContext("s", **CHEAP)
    writer._kdf = kdf.KdfParams(1 << 20, 16, 4)
    monkeypatch.setattr(kdf, "argon2id", lambda *a: bytes(32))
    blob = writer.encrypt_blob(b"secret", "pw", format_version=version)
    monkeypatch.undo()
    return blob


@pytest.mark.parametrize("version", [2, 3])
def test_fail_a_header_above_the_ceiling_is_refused_before_argon2(version: int,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    blob = _heavy_blob(version, monkeypatch)
    monkeypatch.setattr(kdf, "argon2id", lambda *a: pytest.fail("Argon2id ran"))
    with pytest.raises(stc.KDFLimitError, match=r"1024 MiB and 16 passes, above this reader's limit of 256 MiB "
                                                r"and 4 passes.*max_kdf='1024:16' \(CLI --max-kdf 1024:16\)"):
        stc.decrypt_blob(blob, "pw", seed="s")


@pytest.mark.parametrize("ceiling", ["1024:16", (1 << 20, 16), kdf.KdfCeiling(1 << 20, 16)])
def test_good_max_kdf_lets_a_reader_run_a_stronger_header(ceiling: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    blob = _heavy_blob(2, monkeypatch)

    class Ran(Exception):
        pass

    def argon2id(*args: Any) -> bytes:
        raise Ran

    monkeypatch.setattr(kdf, "argon2id", argon2id)
    with pytest.raises(Ran):
        stc.STCContext("s", max_kdf=ceiling).decrypt_blob(blob, "pw")


def test_good_the_ceiling_is_inclusive_and_each_dimension_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    ceiling = kdf.DEFAULT_MAX_KDF
    assert ceiling.allows(kdf.KdfParams(256 * 1024, 4)) and ceiling == kdf.KdfCeiling(262144, 4)
    assert not ceiling.allows(kdf.KdfParams(256 * 1024 + 1, 4))
    assert not ceiling.allows(kdf.KdfParams(256 * 1024, 5))
    assert ceiling.option() == "256:4" and ceiling.describe() == "256 MiB and 4 passes"
    assert kdf.KdfCeiling(1025, 1).option() == "2:1" and kdf.KdfCeiling(1024, 1).describe() == "1 MiB and 1 pass"
    assert kdf.KdfCeiling(2048, 2).describe() == "2 MiB and 2 passes"


def test_good_a_context_reads_what_it_writes_even_above_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kdf, "argon2id", lambda pw, salt, params: bytes(32))  # stands in for 1 GiB Argon2id
    strong = stc.STCContext("s", lattice_size=512, depth=32)
    blob = strong.encrypt_blob(b"secret", "pw")
    assert strong.decrypt_blob(blob, "pw") == b"secret"
    with pytest.raises(stc.KDFLimitError, match="above this reader's limit"):
        stc.STCContext("s").decrypt_blob(blob, "pw")


@pytest.mark.parametrize("bad", ["1024", "a:b", "0:4", "2048:4", "256:0", "256:17", (1, 2, 3), None.__class__])
def test_fail_a_malformed_max_kdf_is_a_parameter_error(bad: Any) -> None:
    with pytest.raises(stc.ParameterError, match="max_kdf"):
        stc.STCContext("s", max_kdf=bad)


@pytest.mark.parametrize(("value", "ok"), [
    ((8, 1), True), ((7, 1), False), ((8, 0), False),  # the least: Argon2's 8 KiB, one pass
    ((1 << 20, 16), True), ((1 << 20 | 1, 16), False), ((1 << 20, 17), False),  # the most any header may ask
])
def test_max_kdf_bounds_exactly(value: tuple[int, int], ok: bool) -> None:
    if ok:
        assert kdf.KdfCeiling.parse(value) == kdf.KdfCeiling(*value)
        return
    with pytest.raises(stc.ParameterError) as caught:
        kdf.KdfCeiling.parse(value)
    assert str(caught.value) == ("max_kdf must be at most 1024 MiB and 16 passes (what any header may ask); "
                                 f"got {value!r}")


def test_fail_the_command_line_names_the_flag_and_refuses_a_bad_one(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    blob = _heavy_blob(2, monkeypatch)
    heavy = tmp_path / "heavy.stc"
    heavy.write_bytes(blob)
    (tmp_path / "pw").write_text("pw\n")
    base = [sys.executable, "-m", "stc", "decrypt", str(heavy), "-o", str(tmp_path / "out"), "--seed", "s",
            "--passphrase-file", str(tmp_path / "pw")]
    done = subprocess.run(base, capture_output=True, env=ENV, check=False, timeout=60)
    assert done.returncode == 1 and b"--max-kdf 1024:16" in done.stderr, done.stderr
    bad = subprocess.run([*base, "--max-kdf", "lots"], capture_output=True, env=ENV, check=False, timeout=60)
    assert bad.returncode == 2 and b"max_kdf must be 'MIB:PASSES'" in bad.stderr, bad.stderr
    assert not (tmp_path / "out").exists()


# ---- 5. version 1 -------------------------------------------------------------------------------------
_V1 = json.loads((Path(__file__).resolve().parents[1] / "vectors" / "messages.json").read_text())[0]  # 0.1: good_text


def _v1_with_slots(count: int) -> bytes:
    """A real version-1 message (one password, its slot among ``count``), as a 0.1 writer with
    several passwords made them: the key wrapped under the new prefix, the payload re-sealed."""
    reader = stc.STCContext(_V1["seed"])
    meta = Metadata.from_bytes(bytes.fromhex(_V1["metadata"]))
    pw_key = reader._password_key(_V1["password"].encode(), meta.kdf_salt, meta.kdf)
    epoch_key = reader.cel.key_for(meta.epoch)
    dek = os.urandom(32)
    draft = Metadata(suite=meta.suite, kdf=meta.kdf, epoch=meta.epoch, kdf_salt=meta.kdf_salt, nonce=meta.nonce,
                     slots=tuple(os.urandom(48) for _ in range(count)), text=False)
    kek = slot_kek(pw_key, epoch_key, draft.prefix)
    real = meta.suite.aead(kek).encrypt(bytes(12), dek, None)
    final = Metadata(suite=meta.suite, kdf=meta.kdf, epoch=meta.epoch, kdf_salt=meta.kdf_salt, nonce=meta.nonce,
                     slots=(real, *draft.slots[1:]), text=False)
    aead = meta.suite.aead(payload_key(dek, final, stc.crypto.encoding.encode_context(None)))
    return final.to_bytes() + aead.encrypt(chunk_nonce(0, True), b"legacy", stc.crypto.encoding.encode_context(None))


def test_good_a_real_v1_message_still_opens_by_default() -> None:
    assert stc.decrypt_blob(_v1_with_slots(4), _V1["password"], seed=_V1["seed"]) == b"legacy"


def test_fail_a_v1_header_with_more_slots_than_the_bound_is_refused_before_argon2(
        monkeypatch: pytest.MonkeyPatch) -> None:
    blob, five = _v1_with_slots(16), _v1_with_slots(5)
    with monkeypatch.context() as patch:
        patch.setattr(kdf, "argon2id", lambda *a: pytest.fail("Argon2id ran"))
        with pytest.raises(stc.KDFLimitError, match=r"16 key slots; a reader tries at most 4.*"
                                                    r"v1_max_slots=16 \(CLI --v1-max-slots 16\)"):
            stc.decrypt_blob(blob, _V1["password"], seed=_V1["seed"])
        with pytest.raises(stc.KDFLimitError, match="5 key slots"):
            stc.decrypt_blob(five, _V1["password"], seed=_V1["seed"])
    opened = stc.STCContext(_V1["seed"], v1_max_slots=16).decrypt_blob(blob, _V1["password"])
    assert opened == b"legacy"


def test_fail_min_version_2_refuses_version_1_and_keeps_version_2() -> None:
    strict = stc.STCContext(_V1["seed"], min_version=2)
    with pytest.raises(stc.FormatError, match="version-1 data is refused by this reader"):
        strict.decrypt_blob(bytes.fromhex(_V1["metadata"] + _V1["ciphertext"]), _V1["password"])
    blob = stc.STCContext(_V1["seed"], **CHEAP).encrypt_blob(b"new", "pw")
    assert stc.STCContext(_V1["seed"], min_version=2, insecure_allow_weak_kdf=True).decrypt_blob(blob, "pw") == b"new"


@pytest.mark.parametrize(("keyword", "value"), [("min_version", 3), ("min_version", 0), ("min_version", True),
                                                ("v1_max_slots", 0), ("v1_max_slots", 17), ("v1_max_slots", "4")])
def test_fail_bad_version_policies_are_parameter_errors(keyword: str, value: Any) -> None:
    with pytest.raises(stc.ParameterError, match=keyword):
        stc.STCContext("s", **{keyword: value})


def test_good_the_command_line_takes_the_version_policy(tmp_path: Path) -> None:
    v1 = tmp_path / "old.stc"
    v1.write_bytes(_v1_with_slots(8))
    (tmp_path / "pw").write_text(_V1["password"] + "\n")
    base = [sys.executable, "-m", "stc", "decrypt", str(v1), "-o", "-", "--seed", _V1["seed"],
            "--passphrase-file", str(tmp_path / "pw")]
    refused = subprocess.run(base, capture_output=True, env=ENV, check=False, timeout=60)
    assert refused.returncode == 1 and b"--v1-max-slots 8" in refused.stderr
    opened = subprocess.run([*base, "--v1-max-slots", "8"], capture_output=True, env=ENV, check=False, timeout=60)
    assert opened.returncode == 0 and opened.stdout == b"legacy", opened.stderr
    strict = subprocess.run([*base, "--v1-max-slots", "8", "--min-version", "2"], capture_output=True, env=ENV,
                            check=False, timeout=60)
    assert strict.returncode == 1 and b"version-1 data is refused" in strict.stderr


# ---- 11. devices and FIFOs are written into, never replaced ---------------------------------------------
@pytest.fixture
def encrypted(tmp_path: Path) -> Path:
    enc = tmp_path / "f.stc"
    stc.STCContext("review3-seed", **FAST).encrypt_stream(io.BytesIO(DATA), enc, "pw", chunk_size=1024)
    (tmp_path / "pw").write_text("pw\n")
    return enc


def _decrypt_to(enc: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "stc", "decrypt", str(enc), "-o", str(out), "--passphrase-file",
                           str(enc.parent / "pw"), *extra], capture_output=True, env=ENV, check=False, timeout=60)


@pytest.mark.skipif(os.geteuid() != 0, reason="making a device node needs root")
@pytest.mark.parametrize("force", [(), ("--force",)])
def test_good_a_character_device_output_is_written_into(encrypted: Path, force: tuple[str, ...]) -> None:
    node = encrypted.parent / "mynull"
    os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a second /dev/null
    done = _decrypt_to(encrypted, node, *force)
    assert done.returncode == 0, done.stderr
    assert stat.S_ISCHR(os.lstat(node).st_mode)


def test_good_a_fifo_output_receives_the_plaintext(encrypted: Path) -> None:
    fifo = encrypted.parent / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    done = _decrypt_to(encrypted, fifo, "--force")
    reader.join(30)
    assert done.returncode == 0, done.stderr
    assert got == [DATA] and stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_good_a_symlink_output_is_replaced_not_written_through(encrypted: Path) -> None:
    target = encrypted.parent / "target"
    target.write_bytes(b"keep me")
    link = encrypted.parent / "link"
    link.symlink_to(target)
    assert _decrypt_to(encrypted, link).returncode == 2  # exists: --force is needed
    done = _decrypt_to(encrypted, link, "--force")
    assert done.returncode == 0, done.stderr
    assert target.read_bytes() == b"keep me" and not link.is_symlink() and link.read_bytes() == DATA


def test_fail_a_socket_output_is_refused(encrypted: Path) -> None:
    import socket

    path = encrypted.parent / "sock"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        done = _decrypt_to(encrypted, path, "--force")
    assert done.returncode == 2 and b"block device or a socket" in done.stderr
    with pytest.raises(stc.ParameterError, match="block device or a socket"):
        stc.STCContext("review3-seed").decrypt_stream(encrypted, output_path=path, password="pw")


def test_good_the_api_writes_into_a_device(encrypted: Path) -> None:
    ctx = stc.STCContext("review3-seed")
    ctx.decrypt_stream(encrypted, output_path="/dev/null", password="pw")
    assert stat.S_ISCHR(os.lstat("/dev/null").st_mode)
