"""Issue 10: recipients (X25519, X-Wing), several per file, header MAC commitment, header-only re-key."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import pickle
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings
from hypothesis import strategies as st

import stc
from stc.crypto import kdf
from stc.crypto.payload import chunk_nonce
from stc.errors import ParameterError
from stc.formats.stanza import PASSPHRASE
from stc.formats.v2 import HeaderV2
from stc.keys import envelope, recipients
from stc.keys.recipients import xwing
from tests.conftest import CHEAP

DRAFT = json.loads((Path(__file__).resolve().parents[1] / "vectors" / "xwing_draft.json").read_text())


@pytest.mark.parametrize("vec", DRAFT["vectors"], ids=[v["sk"][:8] for v in DRAFT["vectors"]])
def test_xwing_matches_the_draft_vectors(vec: dict[str, str]) -> None:
    sk = bytes.fromhex(vec["sk"])
    assert hashlib.sha256(xwing.public_key(sk)).hexdigest() == vec["pk_sha256"]  # key generation sk -> pk
    assert xwing.decapsulate(sk, bytes.fromhex(vec["ct"])) == bytes.fromhex(vec["ss"])  # decapsulation


def test_xwing_round_trip_and_bad_inputs() -> None:
    seed = os.urandom(32)
    shared, ct = xwing.encapsulate(xwing.public_key(seed))
    assert xwing.decapsulate(seed, ct) == shared and len(ct) == xwing.CIPHERTEXT_SIZE
    assert xwing.decapsulate(os.urandom(32), ct) != shared  # ML-KEM rejects implicitly: another secret
    with pytest.raises(stc.FormatError):
        xwing.decapsulate(seed, ct[:-1])
    with pytest.raises(stc.FormatError):
        xwing.encapsulate(b"\x00" * 10)


@pytest.mark.parametrize("kind", recipients.KINDS)
def test_text_forms_round_trip_and_refuse_typos(kind: str) -> None:
    identity = stc.generate_identity(kind)
    public, secret = identity.recipient.to_string(), identity.to_string()
    assert secret.startswith("STC-SECRET-KEY-") and public.startswith("stc-")
    assert stc.parse_recipient(public) == identity.recipient
    assert stc.parse_identity(secret).recipient == identity.recipient
    assert secret not in repr(identity) and secret not in str(identity)
    typo = public[:-3] + ("A" if public[-3] != "A" else "B") + public[-2:]
    for bad in (public[:-1], typo, public + "A", public.replace("-", "_", 2)):
        with pytest.raises(stc.ParameterError):
            stc.parse_recipient(bad)
    with pytest.raises(stc.ParameterError, match="secret key, not a recipient"):
        stc.parse_recipient(secret)
    with pytest.raises(stc.ParameterError):
        pickle.dumps(identity)


def test_identity_files(tmp_path: Path) -> None:
    a, b = stc.generate_identity(), stc.generate_identity("mlkem768x25519")
    path = tmp_path / "keys.txt"
    path.write_text(f"# my keys\n\n{a.to_string()}\n  # another\n{b.to_string()}  \n")
    loaded = stc.load_identities(path)
    assert [i.recipient for i in loaded] == [a.recipient, b.recipient]
    os.chmod(path, 0o644)
    assert recipients.loose_permissions(path)
    os.chmod(path, 0o600)
    assert not recipients.loose_permissions(path)
    for text in ("# only a comment\n", "not a key\n"):
        path.write_text(text)
        with pytest.raises(stc.ParameterError):
            stc.load_identities(path)
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(stc.ParameterError, match="not UTF-8"):
        stc.load_identities(path)


@pytest.fixture(scope="module")
def people() -> dict[str, Any]:
    return {"alice": stc.generate_identity(), "bob": stc.generate_identity("mlkem768x25519"),
            "carol": stc.generate_identity()}


def test_every_kind_and_mixes_round_trip(people: dict[str, Any]) -> None:
    ctx = stc.STCContext("s", **CHEAP)
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    for to, password in (([alice.recipient], None), ([bob.recipient], None),
                         ([alice.recipient, bob.recipient], "pw"), ([alice.recipient.to_string()], "pw")):
        ciphertext, meta = ctx.encrypt(b"data", password, recipients=to, context_data={"n": 1})
        kinds = meta.describe()["slots_by_kind"]
        assert all(count == 4 for count in kinds.values())  # decoys pad each kind present
        for r in to:
            ident = alice if r in (alice.recipient, alice.recipient.to_string()) else bob
            assert ctx.decrypt(ciphertext, meta, identities=[ident], context_data={"n": 1}) == b"data"
        if password:
            assert ctx.decrypt(ciphertext, meta, password, context_data={"n": 1}) == b"data"
        with pytest.raises(stc.NoMatchingIdentityError, match="no identity matched"):
            ctx.decrypt(ciphertext, meta, identities=[carol], context_data={"n": 1})
    with pytest.raises(stc.ParameterError, match="twice"):
        ctx.encrypt(b"x", recipients=[alice.recipient, alice.recipient.to_string()])
    with pytest.raises(stc.ParameterError, match="password or at least one recipient"):
        ctx.encrypt(b"x")


def test_errors_say_which_failed(people: dict[str, Any]) -> None:
    ctx = stc.STCContext("s", **CHEAP)
    alice, carol = people["alice"], people["carol"]
    both = ctx.encrypt_blob(b"x", "pw", recipients=[alice.recipient])
    with pytest.raises(stc.WrongPasswordError, match="wrong password") as info:
        ctx.decrypt_blob(both, "nope")
    assert not isinstance(info.value, stc.NoMatchingIdentityError)
    with pytest.raises(stc.NoMatchingIdentityError, match="and the passphrase is wrong"):
        ctx.decrypt_blob(both, "nope", identities=[carol])
    only_keys = ctx.encrypt_blob(b"x", recipients=[alice.recipient])
    with pytest.raises(stc.NoMatchingIdentityError, match="recipients only"):
        ctx.decrypt_blob(only_keys, "pw")
    with pytest.raises(stc.ParameterError, match="password or an identity"):
        ctx.decrypt_blob(only_keys)
    assert ctx.decrypt_blob(both, "nope", identities=[alice]) == b"x"  # any one key that opens suffices


def test_public_key_files_stream_and_random_access(people: dict[str, Any], tmp_path: Path) -> None:
    ctx = stc.STCContext("s", **CHEAP)
    data = os.urandom(5 * 1024 + 17)
    src, enc, out = tmp_path / "in", tmp_path / "in.stc", tmp_path / "out"
    src.write_bytes(data)
    meta = ctx.encrypt_stream(src, enc, recipients=[people["bob"].recipient], chunk_size=1024)
    ctx.decrypt_stream(enc, output_path=out, identities=[people["bob"]])
    assert out.read_bytes() == data
    assert ctx.decrypt_range(enc, 3000, 100, identities=[people["bob"]]) == data[3000:3100]
    assert stc.decrypt_blob(stc.encrypt_blob(b"m", recipients=[people["alice"].recipient]),
                            identities=[people["alice"]]) == b"m"
    assert meta.describe()["slots_by_kind"] == {"mlkem768x25519": 4}


def test_decoys_have_the_shape_of_real_stanzas(people: dict[str, Any]) -> None:
    ctx = stc.STCContext("s", **CHEAP)
    _, meta = ctx.encrypt(b"x", "pw", recipients=[people["alice"].recipient, people["bob"].recipient])
    by_kind: dict[int, set[int]] = {}
    for stanza in meta.stanzas:
        by_kind.setdefault(stanza.kind, set()).add(len(stanza.body))
    assert all(len(sizes) == 1 for sizes in by_kind.values())  # one size per kind: real and decoy alike
    # X25519 decoys carry real curve points, as real ephemeral shares do (the top bit clear).
    assert all(s.body[31] < 0x80 for s in meta.stanzas if s.kind == recipients.X25519Recipient.kind)
    _, small = ctx.encrypt(b"x", recipients=[people["alice"].recipient], use_decoys=False)
    assert small.slot_count == 1


def _gf_mul(x: int, y: int) -> int:
    """Multiplication in GCM's GF(2^128) (bit-reflected, as in NIST SP 800-38D)."""
    r, z, v = 0xE1 << 120, 0, y
    for i in range(127, -1, -1):
        if (x >> i) & 1:
            z ^= v
        v = (v >> 1) ^ r if v & 1 else v >> 1
    return z


def _gf_inv(x: int) -> int:
    result, power, e = 1 << 127, x, (1 << 128) - 2  # x^(2^128 - 2); 1 is the top bit here
    while e:
        if e & 1:
            result = _gf_mul(result, power)
        power = _gf_mul(power, power)
        e >>= 1
    return result


def _aes_block(key: bytes, block: bytes) -> int:
    enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return int.from_bytes(enc.update(block) + enc.finalize(), "big")


def _two_key_gcm(k1: bytes, k2: bytes, nonce: bytes, first_block: bytes) -> bytes:
    """A ciphertext||tag that AES-GCM accepts under both keys (empty AD): the 'invisible salamanders'."""
    h1, h2 = _aes_block(k1, bytes(16)), _aes_block(k2, bytes(16))
    j0 = nonce + b"\x00\x00\x00\x01"
    e1, e2 = _aes_block(k1, j0), _aes_block(k2, j0)
    c0 = int.from_bytes(first_block, "big") ^ _aes_block(k1, nonce + b"\x00\x00\x00\x02")  # decrypts to first_block
    length = (256).to_bytes(16, "big")  # no AD, two blocks of ciphertext: len(C) = 256 bits
    lb = int.from_bytes(length, "big")

    def ghash_parts(h: int) -> tuple[int, int]:  # GHASH = c0*H^3 + x*H^2 + L*H
        h2_, h3 = _gf_mul(h, h), _gf_mul(_gf_mul(h, h), h)
        return _gf_mul(c0, h3) ^ _gf_mul(lb, h), h2_

    a1, p1 = ghash_parts(h1)
    a2, p2 = ghash_parts(h2)
    x = _gf_mul(a1 ^ a2 ^ e1 ^ e2, _gf_inv(p1 ^ p2))
    tag = a1 ^ _gf_mul(x, p1) ^ e1
    return c0.to_bytes(16, "big") + x.to_bytes(16, "big") + tag.to_bytes(16, "big")


def test_invisible_salamanders_are_stopped_by_the_header_mac() -> None:
    ctx = stc.STCContext("s", **CHEAP)
    k1, k2 = os.urandom(32), os.urandom(32)
    core = envelope.Core(stc.Suite.AES_256_GCM, os.urandom(16), 0, False, False, 0, False)
    lbl = envelope.label(core.to_bytes())
    salt = os.urandom(16)
    pw1 = ctx._password_key(b"alice-pw", salt, ctx._kdf)
    pw2 = ctx._password_key(b"mallory-pw", salt, ctx._kdf)
    entries = [(envelope.passphrase_stanza(pw1, ctx.cel.key, k1, lbl), bytes(16)),
               (envelope.passphrase_stanza(pw2, ctx.cel.key, k2, lbl), bytes(16))]
    header = envelope._assemble(core, entries, k1, ctx._kdf, salt, os.urandom)  # the MAC can commit to one key
    p1, p2 = (envelope.payload_key(k, header, b"") for k in (k1, k2))
    body = _two_key_gcm(p1, p2, chunk_nonce(0, True), b"PAY 100 EUR ALIC")
    # Without the MAC the attack works: the same bytes authenticate under both payload keys.
    assert AESGCM(p1).decrypt(chunk_nonce(0, True), body, b"")[:16] == b"PAY 100 EUR ALIC"
    AESGCM(p2).decrypt(chunk_nonce(0, True), body, b"")
    blob = header.to_bytes() + body
    assert ctx.decrypt_blob(blob, "alice-pw")[:16] == b"PAY 100 EUR ALIC"
    with pytest.raises(stc.IntegrityError, match="header MAC"):
        ctx.decrypt_blob(blob, "mallory-pw")


def test_passphrase_slots_are_bounded() -> None:
    ctx = stc.STCContext("s", **CHEAP)
    with pytest.raises(stc.ParameterError, match="at most 4 passwords"):
        ctx.encrypt(b"x", "a", additional_passwords=["b", "c", "d", "e"])
    ciphertext, meta = ctx.encrypt(b"x", "a", additional_passwords=["b", "c", "d"])
    assert [s.kind for s in meta.stanzas].count(PASSPHRASE) == 4
    assert all(ctx.decrypt(ciphertext, meta, p) == b"x" for p in "abcd")


def test_phase2_example_in_one_process_and_after_pickle(tmp_path: Path) -> None:
    from core.streaming import stream_decrypt_file

    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(3000))
    metadata = stc.STCContext("large-file-seed", lattice_size=64, depth=4).encrypt_stream(
        input_path=str(src), output_path=str(tmp_path / "big.enc"), password="pw", chunk_size=1024)
    stats = stream_decrypt_file(input_file=str(tmp_path / "big.enc"), output_file=str(tmp_path / "out"),
                                metadata=metadata, password="pw")
    assert stats["bytes_processed"] == 3000 and (tmp_path / "out").read_bytes() == src.read_bytes()
    restored = pickle.loads(pickle.dumps(metadata))
    with pytest.raises(stc.WrongPasswordError, match="pass seed= or ctx="):
        stream_decrypt_file(input_file=str(tmp_path / "big.enc"), output_file=str(tmp_path / "out2"),
                            metadata=restored, password="pw")
    stream_decrypt_file(input_file=str(tmp_path / "big.enc"), output_file=str(tmp_path / "out2"),
                        metadata=restored, password="pw", seed="large-file-seed")


# ---- re-keying -------------------------------------------------------------------------------------
def _encrypted(tmp_path: Path, ctx: stc.STCContext, **kwargs: Any) -> tuple[Path, bytes]:
    data = os.urandom(10 * 1024 + 5)
    enc = tmp_path / "f.stc"
    ctx.encrypt_stream(io.BytesIO(data), enc, chunk_size=1024, **kwargs)
    return enc, data


def _body(path: Path) -> bytes:
    raw = path.read_bytes()
    return raw[HeaderV2.parse_prefix(raw)[0].size :]


def _opens(ctx: stc.STCContext, path: Path, data: bytes, **kwargs: Any) -> bool:
    out = path.with_suffix(".out")
    try:
        ctx.decrypt_stream(path, output_path=out, **kwargs)
    except stc.WrongPasswordError:
        return False
    ok = out.read_bytes() == data
    out.unlink()
    return ok


def test_rekey_add_remove_and_change_passphrase(people: dict[str, Any], tmp_path: Path) -> None:
    ctx = stc.STCContext("s", **CHEAP)
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    enc, data = _encrypted(tmp_path, ctx, password="old", recipients=[alice.recipient])
    body = _body(enc)
    core = HeaderV2.parse_prefix(enc.read_bytes())[0].core
    ctx.rekey(enc, identities=[alice], add=[bob.recipient, carol.recipient])
    assert _body(enc) == body and HeaderV2.parse_prefix(enc.read_bytes())[0].core == core
    assert all(_opens(ctx, enc, data, identities=[p]) for p in (alice, bob, carol))
    ctx.rekey(enc, password="old", remove=[carol.recipient])
    assert not _opens(ctx, enc, data, identities=[carol])
    assert _opens(ctx, enc, data, identities=[alice]) and _opens(ctx, enc, data, password="old")
    ctx.rekey(enc, identities=[bob], new_password="new")
    assert not _opens(ctx, enc, data, password="old") and _opens(ctx, enc, data, password="new")
    assert _body(enc) == body
    with pytest.raises(stc.ParameterError, match="not a recipient"):
        ctx.rekey(enc, identities=[alice], remove=[carol.recipient])
    with pytest.raises(stc.ParameterError, match="already a recipient"):
        ctx.rekey(enc, identities=[alice], add=[bob.recipient])
    with pytest.raises(stc.ParameterError,
                       match=r"^nothing to change: give recipients to add or remove, or a new password$"):
        ctx.rekey(enc, identities=[alice])
    with pytest.raises(stc.NoMatchingIdentityError):
        ctx.rekey(enc, identities=[carol], add=[carol.recipient])
    assert _body(enc) == body


def test_rekey_keeps_mode_and_refuses_to_leave_nobody(people: dict[str, Any], tmp_path: Path) -> None:
    ctx = stc.STCContext("s", **CHEAP)
    enc, data = _encrypted(tmp_path, ctx, recipients=[people["alice"].recipient])
    os.chmod(enc, 0o640)
    with pytest.raises(stc.ParameterError, match="nobody could open"):
        ctx.rekey(enc, identities=[people["alice"]], remove=[people["alice"].recipient])
    stc.rekey(enc, identities=[people["alice"]], add=[people["bob"].recipient], lattice_size=64, depth=4)
    assert (enc.stat().st_mode & 0o777) == 0o640
    assert _opens(ctx, enc, data, identities=[people["bob"]])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.stc"]


def test_interrupted_rekey_leaves_the_original(people: dict[str, Any], tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = stc.STCContext("s", **CHEAP)
    enc, _ = _encrypted(tmp_path, ctx, password="pw")
    before = enc.read_bytes()

    def crash(*args: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("stc.files.rekey._copy_range", crash)
    with pytest.raises(OSError, match="No space"):
        ctx.rekey(enc, password="pw", add=[people["alice"].recipient])
    assert enc.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["f.stc"]


def test_rekey_refuses_version_1_files(tmp_path: Path) -> None:
    files = json.loads((Path(__file__).resolve().parents[1] / "vectors" / "files.json").read_text())
    enc = tmp_path / "v1.stc"
    enc.write_bytes(bytes.fromhex(files["vectors"][1]["file"]))
    with pytest.raises(stc.ParameterError, match=r"^this is a version-1 file, whose header cannot be re-keyed; "
                                                 r"decrypt it and encrypt it again to get a version-2 file$"):
        stc.STCContext(files["seed"]).rekey(enc, password=files["password"], new_password="x")


def test_rekeyed_chunks_cannot_be_moved_to_another_file(tmp_path: Path) -> None:
    ctx = stc.STCContext("s", **CHEAP)
    a, _ = _encrypted(tmp_path, ctx, password="pw")
    b = tmp_path / "g.stc"
    ctx.encrypt_stream(io.BytesIO(os.urandom(10 * 1024 + 5)), b, "pw", chunk_size=1024)
    spliced = tmp_path / "h.stc"
    raw_a, raw_b = a.read_bytes(), b.read_bytes()
    spliced.write_bytes(raw_a[: HeaderV2.parse_prefix(raw_a)[0].size] + _body(b))
    with pytest.raises(stc.IntegrityError):
        ctx.decrypt_stream(spliced, output_path=tmp_path / "o", password="pw")
    assert raw_b


def test_kdf_params_of_a_new_passphrase_follow_the_context(tmp_path: Path) -> None:
    enc, data = _encrypted(tmp_path, stc.STCContext("s", lattice_size=64, depth=4), password="pw")
    strong = stc.STCContext("s", lattice_size=128, depth=4)
    header = strong.rekey(enc, password="pw", new_password="new")
    assert header.kdf == kdf.KdfParams(65536, 2, 4)
    assert _opens(strong, enc, data, password="new")


def test_same_size_rekey_is_in_place_and_keeps_hard_links(people: dict[str, Any], tmp_path: Path) -> None:
    ctx = stc.STCContext("s", **CHEAP)
    enc, data = _encrypted(tmp_path, ctx, recipients=[people["alice"].recipient])
    link = tmp_path / "link.stc"
    os.link(enc, link)
    inode, size = enc.stat().st_ino, enc.stat().st_size
    ctx.rekey(enc, identities=[people["alice"]], add=[people["carol"].recipient])  # 2 real + 2 decoys: same size
    assert enc.stat().st_ino == inode and enc.stat().st_size == size
    assert _opens(ctx, link, data, identities=[people["carol"]])  # in place: every link sees the new header
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.stc", "link.stc"]
    grown = tmp_path / "g.stc"
    ctx.encrypt_stream(io.BytesIO(data), grown, recipients=[people["alice"].recipient], use_decoys=False)
    inode = grown.stat().st_ino
    ctx.rekey(grown, identities=[people["alice"]], add=[people["bob"].recipient], use_decoys=False)
    assert grown.stat().st_ino != inode  # a new size: a new file renamed over the old one
    assert _opens(ctx, grown, data, identities=[people["bob"]])


def test_torn_in_place_rekey_is_finished_by_the_next_decrypt(people: dict[str, Any], tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from stc.files import rekey as rekeyfile

    ctx = stc.STCContext("s", **CHEAP)
    enc, data = _encrypted(tmp_path, ctx, recipients=[people["alice"].recipient])
    real_pwrite = os.pwrite

    def torn(fd: int, buf: bytes, offset: int) -> int:
        real_pwrite(fd, buf[: len(buf) // 2], offset)  # power fails half-way through the header
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(rekeyfile.os, "pwrite", torn)
    with pytest.raises(OSError, match="Input/output"):
        ctx.rekey(enc, identities=[people["alice"]], add=[people["carol"].recipient])
    monkeypatch.setattr(rekeyfile.os, "pwrite", real_pwrite)
    assert os.path.exists(rekeyfile.journal_path(enc))
    assert _opens(ctx, enc, data, identities=[people["carol"]])  # the journal's new header was written
    assert not os.path.exists(rekeyfile.journal_path(enc))


def test_incomplete_or_foreign_journal(people: dict[str, Any], tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from stc.files import rekey as rekeyfile

    ctx = stc.STCContext("s", **CHEAP)
    enc, data = _encrypted(tmp_path, ctx, recipients=[people["alice"].recipient])
    before = enc.read_bytes()
    Path(rekeyfile.journal_path(enc)).write_bytes(b"STCJ\x01\x00\x00")  # a crash while writing the journal
    assert _opens(ctx, enc, data, identities=[people["alice"]]) and enc.read_bytes() == before
    assert not os.path.exists(rekeyfile.journal_path(enc))
    foreign = tmp_path / "other.stc"
    ctx.encrypt_stream(io.BytesIO(data), foreign, recipients=[people["alice"].recipient])
    new = ctx.rekey(foreign, identities=[people["alice"]], add=[people["carol"].recipient]).to_bytes()
    old = foreign.read_bytes()[: len(new)]
    record = b"STCJ\x01" + len(new).to_bytes(4, "big") + old + new
    Path(rekeyfile.journal_path(enc)).write_bytes(record + hashlib.sha256(record).digest())
    before = enc.read_bytes()
    with pytest.warns(stc.JournalWarning, match="does not belong"):  # another file's journal: never applied
        ctx.decrypt_stream(enc, output_path=tmp_path / "o", identities=[people["alice"]])
    assert enc.read_bytes() == before and (tmp_path / "o").read_bytes() == data


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120))
def test_fuzzed_key_texts_raise_only_parameter_error(text: str) -> None:
    for parse in (stc.parse_recipient, stc.parse_identity):
        with contextlib.suppress(stc.ParameterError):
            parse(text)
    for prefix in ("stc-x25519-", "STC-SECRET-KEY-X25519-", "stc-xwing-"):
        with contextlib.suppress(stc.ParameterError):
            stc.parse_recipient(prefix + text)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.binary(max_size=20))
def test_fuzzed_armor_raises_only_format_error(body: bytes, tail: bytes) -> None:
    from stc.formats import armor

    for data in (body, armor.BEGIN + b"\n" + body + b"\n" + armor.END + b"\n" + tail):
        with contextlib.suppress(stc.FormatError):
            armor.ArmorReader(io.BytesIO(data)).read()


# ---- low-order points, wrong kinds and sizes: refused or "not for me", never an exception ------------

def test_low_order_points_and_foreign_stanzas() -> None:
    from stc.formats.stanza import PASSPHRASE, X25519, XWING, Stanza
    from stc.keys.recipients import X25519Identity, X25519Recipient, XWingIdentity, XWingRecipient
    from stc.keys.recipients.xwing import CIPHERTEXT_SIZE, decapsulate

    label = bytes(32)
    with pytest.raises(ParameterError, match="low-order point"):
        X25519Recipient(bytes(32)).wrap(bytes(32), label)
    xw = XWingIdentity.generate()
    low_x = xw.recipient.public_key[:1184] + bytes(32)
    with pytest.raises(ParameterError, match=r"cannot encrypt to this X-Wing recipient: .*low-order point"):
        XWingRecipient(low_x).wrap(bytes(32), label)
    x = X25519Identity.generate()
    assert x.unwrap(Stanza(XWING, bytes(1168)), label) is None
    assert x.unwrap(Stanza(PASSPHRASE, bytes(64)), label) is None
    assert x.unwrap(Stanza(X25519, bytes(80)), label) is None  # an all-zero share: low order
    assert xw.unwrap(Stanza(X25519, bytes(80)), label) is None
    assert xw.unwrap(Stanza(XWING, bytes(1168)), label) is None  # its X25519 part is low order
    assert decapsulate(bytes(32), bytes(CIPHERTEXT_SIZE)) is None
    with pytest.raises(stc.FormatError, match="an X-Wing ciphertext is 1120 bytes"):
        decapsulate(bytes(32), bytes(CIPHERTEXT_SIZE - 1))
    for make, size, message in ((X25519Identity, 31, "an X25519 secret key is 32 bytes"),
                                (XWingIdentity, 33, "an X-Wing secret key is 32 bytes")):
        with pytest.raises(ParameterError, match=message):
            make(bytes(size))


def test_text_forms_and_constructors_refuse_with_their_exact_messages() -> None:
    import pickle

    from stc.keys.recipients import X25519Identity, X25519Recipient, XWingIdentity, XWingRecipient
    from stc.keys.recipients.text import MAX_IDENTITY_FILE, decode, encode, identity_lines

    x, xw = X25519Identity.generate(), XWingIdentity.generate()
    cases = [
        (lambda: X25519Recipient(bytes(31)), r"^an X25519 public key is 32 bytes$"),
        (lambda: X25519Recipient(bytearray(32)), r"^an X25519 public key is 32 bytes$"),  # type: ignore[arg-type]
        (lambda: XWingRecipient(bytes(5)), r"^an X-Wing public key is 1216 bytes$"),
        (lambda: XWingRecipient(bytearray(1216)), r"^an X-Wing public key is 1216 bytes$"),  # type: ignore[arg-type]
        (lambda: X25519Identity(bytes(33)), r"^an X25519 secret key is 32 bytes$"),
        (lambda: X25519Recipient(bytes(32)).wrap(bytes(32), bytes(32)),
         r"^this X25519 recipient is a low-order point; nothing can be encrypted to it$"),
        (lambda: pickle.dumps(x), r"^an identity is a secret key; save identity.to_string\(\) to a 0600 file instead$"),
    ]
    text_x, text_xw = x.recipient.to_string(), xw.recipient.to_string()
    for parse, text, what in ((X25519Recipient.parse, text_x, "X25519 recipient"),
                              (XWingRecipient.parse, text_xw, "X-Wing recipient"),
                              (X25519Identity.parse, x.to_string(), "X25519 identity"),
                              (XWingIdentity.parse, xw.to_string(), "X-Wing identity")):
        assert parse(text) is not None and parse("something else") is None
        cut = text[:-1]
        plus = text[:-5] + "+" + text[-4:]  # an ASCII character outside base64url, right length
        flipped = text[:-2] + ("A" if text[-2] != "A" else "B") + text[-1]
        cases += [
            (lambda p=parse, t=cut: p(t),
             rf"^malformed {what}: wrong length or characters \(was it cut or mistyped\?\)$"),
            (lambda p=parse, t=plus: p(t), rf"^malformed {what}: wrong length or characters"),
            (lambda p=parse, t=flipped: p(t), rf"^malformed {what}: checksum mismatch \(was it mistyped\?\)$"),
        ]
    for call, message in cases:
        with pytest.raises(ParameterError, match=message):
            call()
    low = xw.recipient.public_key[:1184] + bytes(32)
    with pytest.raises(stc.FormatError, match=r"^the X-Wing public key's X25519 part is a low-order point$"):
        xwing.encapsulate(low)
    with pytest.raises(stc.FormatError, match=r"^an X-Wing public key is 1216 bytes$"):
        xwing.encapsulate(bytes(10))
    with pytest.raises(stc.FormatError, match=r"^malformed X-Wing public key$"):
        xwing.encapsulate(b"\xff" * 1216)  # not a valid ML-KEM key encoding
    # A text form whose base64 ends in "X" still round-trips (no stripping beyond the padding).
    key = next(k for k in (hashlib.sha256(b"%d" % i).digest() for i in range(10_000))
               if encode("p-", k).endswith("X"))
    assert decode("p-", encode("p-", key), 32, "test key") == key
    # Identity files: exactly the size limit is read; one byte more is not; nothing in it is refused.
    line = x.to_string().encode() + b"\n"
    exact = line + b"#" * (MAX_IDENTITY_FILE - len(line))
    assert identity_lines(exact, "f") == [x.to_string()]
    with pytest.raises(ParameterError, match=r"^empty.txt holds no identity$"):
        identity_lines(b"# only a comment\n\n", "empty.txt")
    # repr and hash: the type's name, the text cut at 24 characters, never the secret.
    assert repr(x.recipient) == f"X25519Recipient({text_x[:24]}…)"
    assert repr(x) == f"X25519Identity(recipient=X25519Recipient({text_x[:24]}…))"
    assert hash(x.recipient) == hash(X25519Recipient.parse(text_x)) and hash(x.recipient) != hash(xw.recipient)


def test_recipients_take_their_randomness_from_the_source_given() -> None:
    from stc.keys.recipients import XWingRecipient

    class Stream:
        def __init__(self) -> None:
            self.state = hashlib.shake_256(b"stream").digest(4096)
            self.pos = 0

        def __call__(self, n: int) -> bytes:
            out = self.state[self.pos: self.pos + n]
            self.pos += n
            return out

    r = stc.generate_identity("mlkem768x25519").recipient
    assert isinstance(r, XWingRecipient)
    # ML-KEM draws inside OpenSSL; the X25519 ephemeral key (ciphertext bytes 1088..1119) is ours.
    first, second = (r.wrap(bytes(32), bytes(32), Stream()).body[1088:1120] for _ in range(2))
    assert first == second
    assert XWingRecipient.decoy(Stream()).body[1088:1120] == XWingRecipient.decoy(Stream()).body[1088:1120]


def test_stanzas_are_checked_on_construction() -> None:
    from stc.formats.stanza import Stanza

    with pytest.raises(stc.FormatError, match=r"^unknown stanza kind 9$"):
        Stanza(9, b"")
    with pytest.raises(stc.FormatError, match=r"^a passphrase stanza body is 64 bytes$"):
        Stanza(PASSPHRASE, bytes(63))
    with pytest.raises(stc.FormatError, match=r"^a mlkem768x25519 stanza body is 1168 bytes$"):
        Stanza(3, bytes(1169))
