"""``stc.age`` in process: round trips, what age forbids, each refusal of the header and stanza
parsers and of the payload, re-keying, and the outcomes of the error paths (issue 26)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stc import age, errors
from stc.files import age as payload
from stc.formats.age.header import MAX_STANZAS, AgeHeader, AgeStanza, b64decode, b64encode
from stc.keys import age as stanzas
from stc.keys.recipients import AgeX25519Identity, X25519Identity, XWingIdentity, as_age

ALICE, BOB = as_age(X25519Identity.generate()), as_age(X25519Identity.generate())
PQ = XWingIdentity.generate()
FAST = 4  # scrypt work factor for tests


def encrypt(data: bytes, **options: object) -> bytes:
    out = io.BytesIO()
    options.setdefault("work_factor", FAST) if "passphrase" in options else None
    assert age.encrypt(io.BytesIO(data), out, **options) == len(data)  # type: ignore[arg-type]
    return out.getvalue()


def decrypt(blob: bytes, **keys: object) -> bytes:
    out = io.BytesIO()
    assert age.decrypt(io.BytesIO(blob), out, **keys) == len(out.getvalue())  # type: ignore[arg-type]
    return out.getvalue()


@pytest.mark.parametrize("size", [0, 1, payload.CHUNK - 1, payload.CHUNK, payload.CHUNK + 1, 3 * payload.CHUNK])
def test_good_round_trips_at_chunk_edges(size: int) -> None:
    data = os.urandom(size)
    blob = encrypt(data, recipients=[ALICE.recipient])
    chunks = max(1, -(-size // payload.CHUNK))
    header = AgeHeader.read(io.BytesIO(blob))
    assert len(blob) == len(header.to_bytes()) + payload.NONCE_SIZE + size + 16 * chunks
    assert decrypt(blob, identities=[ALICE]) == data


def test_good_every_kind_and_armor() -> None:
    data = b"the same data" * 1000
    for options, keys in (({"recipients": [ALICE.recipient, BOB.recipient]}, {"identities": [BOB]}),
                          ({"recipients": [PQ.recipient]}, {"identities": [PQ]}),
                          ({"passphrase": "pw"}, {"passphrase": "pw"}),
                          ({"passphrase": b"\xffraw"}, {"passphrase": b"\xffraw"})):
        for armored in (False, True):
            blob = encrypt(data, armor=armored, **options)
            assert blob.startswith(b"-----BEGIN AGE ENCRYPTED FILE-----\n" if armored else b"age-encryption.org/v1\n")
            assert decrypt(blob, **keys) == data
            assert age.is_age(blob[: age.DETECT]) and age.is_armored(blob[: age.DETECT]) == armored
    text = encrypt(b"x", recipients=[ALICE.recipient.to_string()], armor=True)
    assert decrypt(b"  \n" + text + b"\n\n", identities=[ALICE.to_string()]) == b"x"  # white space outside


def test_good_stanza_sizes_and_arguments() -> None:
    key = os.urandom(16)
    x = stanzas.wrap_x25519(ALICE.recipient, key)
    assert x.args[0] == "X25519" and len(b64decode(x.args[1].encode(), "s")) == 32 and len(x.body) == 32
    h = stanzas.wrap_hybrid(PQ.recipient, key)
    assert h.args[0] == "mlkem768x25519" and len(b64decode(h.args[1].encode(), "s")) == 1120 and len(h.body) == 32
    s = stanzas.wrap_scrypt(b"pw", key, 10)
    assert s.args[0] == "scrypt" and s.args[2] == "10" and len(b64decode(s.args[1].encode(), "s")) == 16
    assert stanzas.unwrap_x25519(ALICE, x) == key and stanzas.unwrap_x25519(BOB, x) is None
    assert stanzas.unwrap_hybrid(PQ, h) == key and stanzas.unwrap_hybrid(XWingIdentity.generate(), h) is None
    assert stanzas.unwrap_scrypt(b"pw", s) == key and stanzas.unwrap_scrypt(b"no", s) is None
    assert stanzas.unwrap_x25519(ALICE, h) is None and stanzas.unwrap_hybrid(PQ, x) is None
    assert stanzas.unwrap_scrypt(b"pw", x) is None


def test_fail_what_age_forbids() -> None:
    with pytest.raises(errors.ParameterError, match="passphrase beside other recipients"):
        encrypt(b"x", recipients=[ALICE.recipient], passphrase="pw")
    with pytest.raises(errors.ParameterError, match="post-quantum"):
        encrypt(b"x", recipients=[ALICE.recipient, PQ.recipient])
    with pytest.raises(errors.ParameterError, match="give recipients or a passphrase"):
        encrypt(b"x")
    with pytest.raises(errors.ParameterError, match="twice"):
        encrypt(b"x", recipients=[ALICE.recipient, ALICE.recipient.to_string()])
    with pytest.raises(errors.ParameterError, match="work factor is 1 to 22"):
        stanzas.wrap_scrypt(b"pw", bytes(16), 23)
    with pytest.raises(errors.ParameterError, match="work factor is 1 to 22"):
        stanzas.wrap_scrypt(b"pw", bytes(16), 0)
    with pytest.raises(errors.ParameterError, match="empty passphrase"):
        stanzas.wrap_scrypt(b"", bytes(16), 4)
    low_order = as_age(X25519Identity(bytes(32))).recipient
    low_order.public_key = bytes(32)
    with pytest.raises(errors.ParameterError, match="low-order point"):
        stanzas.wrap_x25519(low_order, bytes(16))


def test_fail_who_cannot_open() -> None:
    blob = encrypt(b"secret", recipients=[ALICE.recipient])
    with pytest.raises(errors.NoMatchingIdentityError, match="no identity given opens this age file"):
        decrypt(blob, identities=[BOB])
    with pytest.raises(errors.NoMatchingIdentityError, match="give an identity"):
        decrypt(blob)
    with pytest.raises(errors.NoMatchingIdentityError):
        decrypt(blob, passphrase="pw")
    locked = encrypt(b"secret", passphrase="pw")
    with pytest.raises(errors.WrongPasswordError, match=r"^wrong passphrase for this age file$"):
        decrypt(locked, passphrase="no")
    with pytest.raises(errors.WrongPasswordError, match="none was given"):
        decrypt(locked, identities=[ALICE])
    heavy = encrypt(b"x", passphrase="pw", work_factor=12)
    with pytest.raises(errors.FormatError, match="work factor 12 is above the limit of 11"):
        decrypt(heavy, passphrase="pw", max_work_factor=11)
    assert decrypt(heavy, passphrase="pw", max_work_factor=12) == b"x"


def test_fail_a_changed_header_fails_its_mac() -> None:
    blob = bytearray(encrypt(b"secret", recipients=[ALICE.recipient, BOB.recipient]))
    header = AgeHeader.read(io.BytesIO(bytes(blob)))
    swapped = AgeHeader(header.stanzas[::-1], header.mac)  # same stanzas, another order: another header
    forged = swapped.to_bytes() + bytes(blob[len(header.to_bytes()):])
    with pytest.raises(errors.IntegrityError, match=r"^age header MAC does not match: the header was changed$"):
        decrypt(forged, identities=[ALICE])
    assert stanzas.header_mac(bytes(16), header) != stanzas.header_mac(bytes(15) + b"\x01", header)


@pytest.mark.parametrize(("edit", "error", "message"), [
    (lambda b: b[:-1], errors.IntegrityError, "chunk 0 does not authenticate"),
    (lambda b: b + b"x", errors.IntegrityError, "chunk 0 does not authenticate"),
    (lambda b: b[: b.index(b"\n---") + 48 + 10], errors.FormatError, "before the 16-byte nonce"),
])
def test_fail_payload_edits(edit: object, error: type[Exception], message: str) -> None:
    blob = encrypt(b"data", recipients=[ALICE.recipient])
    with pytest.raises(error, match=message):
        decrypt(edit(blob), identities=[ALICE])  # type: ignore[operator]


def test_fail_chunk_level_edits() -> None:
    file_key = bytes(16)
    data = os.urandom(2 * payload.CHUNK + 10)
    sealed = io.BytesIO()
    payload.encrypt_payload(io.BytesIO(data), sealed, file_key, rand=lambda n: bytes(n))
    body = sealed.getvalue()
    full = payload.NONCE_SIZE + payload.CHUNK + 16

    def run(blob: bytes) -> bytes:
        out = io.BytesIO()
        payload.decrypt_payload(io.BytesIO(blob), out, file_key)
        return out.getvalue()

    assert run(body) == data
    released = io.BytesIO()
    with pytest.raises(errors.TruncatedError, match="ends before its final chunk"):
        payload.decrypt_payload(io.BytesIO(body[: full + payload.CHUNK + 16]), released, file_key)
    assert released.getvalue() == data[: 2 * payload.CHUNK]  # authenticated middle chunks, as age releases them
    with pytest.raises(errors.IntegrityError, match="chunk 2 is too short"):
        run(body[: full + payload.CHUNK + 16 + 15])
    swapped = body[:payload.NONCE_SIZE] + body[full:full + payload.CHUNK + 16] + body[payload.NONCE_SIZE:full] + \
        body[full + payload.CHUNK + 16:]
    with pytest.raises(errors.IntegrityError, match="chunk 0 does not authenticate"):
        run(swapped)
    # a last chunk that is empty after full ones is refused before it is opened
    empty_last = io.BytesIO()
    payload.encrypt_payload(io.BytesIO(os.urandom(payload.CHUNK)), empty_last, file_key, rand=lambda n: bytes(n))
    aead = payload.payload_key(file_key, bytes(16))
    forged = empty_last.getvalue()[: payload.NONCE_SIZE] + aead.encrypt(bytes(11) + b"\x00", os.urandom(payload.CHUNK),
                                                                       None) + aead.encrypt(b"\x00" * 10 + b"\x01\x01",
                                                                                           b"", None)
    with pytest.raises(errors.IntegrityError, match="chunk 1 is too short"):
        run(forged)
    progress: list[tuple[int, int | None]] = []
    payload.decrypt_payload(io.BytesIO(body), io.BytesIO(), file_key, lambda done, n: progress.append((done, n)))
    assert progress == [(len(data), None)]  # one call a batch of 16 chunks
    many = os.urandom(payload.BATCH * payload.CHUNK + 5)
    sealed_many, counted = io.BytesIO(), []
    payload.encrypt_payload(io.BytesIO(many), sealed_many, file_key, progress=lambda done, n: counted.append(done))
    assert counted == [payload.BATCH * payload.CHUNK, len(many)]
    counted.clear()
    out = io.BytesIO()
    payload.decrypt_payload(io.BytesIO(sealed_many.getvalue()), out, file_key, lambda done, n: counted.append(done))
    assert out.getvalue() == many and counted == [payload.BATCH * payload.CHUNK, len(many)]


@pytest.mark.parametrize(("text", "message"), [
    (b"", "ends inside the header"),
    (b"hello\n", "not an age file"),
    (b"age-encryption.org/v2\n", "unsupported version b'v2'"),
    (b"age-encryption.org/v1\n--- " + b"A" * 43 + b"\n", "no recipient stanza"),
    (b"age-encryption.org/v1\n-> X25519 abc\n\n---\n", "the MAC line is '--- ' and the MAC"),
    (b"age-encryption.org/v1\n-> X25519 abc\n\n--- " + b"A" * 42 + b"\n", "the MAC is not 32 bytes"),
    (b"age-encryption.org/v1\n-> X25519 abc\n\nxx\n", "neither a stanza"),
    (b"age-encryption.org/v1\r\n", "LF only"),
    (b"age-encryption.org/v1\n-> X25519 abc\n" + b"A" * 65 + b"\n", "too long"),
    (b"age-encryption.org/v1\n-> X25519 abc\n", "ends inside the header"),
    (b"age-encryption.org/v1\n-> X25519 \xff\n\n", "not ASCII"),
    (b"age-encryption.org/v1\n->  X25519\n\n", "non-empty runs of printable ASCII"),
    (b"age-encryption.org/v1\n-> X25519 abc\nAAA=\n", "unpadded base64"),
    (b"age-encryption.org/v1\n-> X25519 abc\nAB\n", "not canonical base64"),
    (b"age-encryption.org/v1\n-> X25519 abc\nA\n", "unpadded base64"),
])
def test_fail_header_grammar(text: bytes, message: str) -> None:
    with pytest.raises(errors.FormatError, match=message):
        AgeHeader.read(io.BytesIO(text))


def test_fail_header_bounds() -> None:
    one = AgeStanza(("x",), b"").to_bytes()
    many = b"age-encryption.org/v1\n" + one * (MAX_STANZAS + 1)
    with pytest.raises(errors.FormatError, match=f"more than {MAX_STANZAS} stanzas"):
        AgeHeader.read(io.BytesIO(many))
    huge = b"age-encryption.org/v1\n-> x\n" + (b"A" * 64 + b"\n") * 20000
    with pytest.raises(errors.FormatError, match="too long, or the header ends"):
        AgeHeader.read(io.BytesIO(huge))
    with pytest.raises(errors.FormatError, match="too long"):
        AgeHeader.read(io.BytesIO(b"age-encryption.org/v1\n-> " + b"x" * 5000 + b"\n"))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.lists(st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1,
                                           max_size=8), min_size=1, max_size=3),
                          st.binary(max_size=200)), min_size=1, max_size=4),
       st.binary(min_size=32, max_size=32))
def test_good_headers_round_trip(items: list[tuple[list[str], bytes]], mac: bytes) -> None:
    header = AgeHeader(tuple(AgeStanza(tuple(args), body) for args, body in items), mac)
    encoded = header.to_bytes()
    stream = io.BytesIO(encoded + b"payload")
    assert AgeHeader.read(stream) == header and stream.read() == b"payload"
    assert b64decode(b64encode(mac), "x") == mac


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_fail_closed_on_any_header_bytes(data: bytes) -> None:
    """Any bytes after the version line parse to a header that re-encodes to them, or raise FormatError."""
    text = b"age-encryption.org/v1\n" + data
    stream = io.BytesIO(text)
    try:
        header = AgeHeader.read(stream)
    except errors.FormatError:
        return
    assert text.startswith(header.to_bytes())


@pytest.mark.parametrize(("stanza", "opener", "message"), [
    (AgeStanza(("X25519",), bytes(32)), ALICE, "two arguments expected"),
    (AgeStanza(("X25519", b64encode(bytes(31)).decode()), bytes(32)), ALICE, "share is not 32 bytes"),
    (AgeStanza(("X25519", b64encode(bytes(32)).decode()), bytes(33)), ALICE, "the body is 33 bytes, not 32"),
    (AgeStanza(("X25519", b64encode(bytes(32)).decode()), bytes(32)), ALICE, "low-order point"),
    (AgeStanza(("mlkem768x25519", "a", "b"), bytes(32)), PQ, "two arguments expected"),
    (AgeStanza(("mlkem768x25519", b64encode(bytes(1119)).decode()), bytes(32)), PQ, "enc is not 1120 bytes"),
    (AgeStanza(("mlkem768x25519", b64encode(bytes(1120)).decode()), bytes(31)), PQ, "the body is 31 bytes"),
    (AgeStanza(("mlkem768x25519", b64encode(bytes(1120)).decode()), bytes(32)), PQ, "X25519 part of enc is a low"),
])
def test_fail_malformed_stanzas(stanza: AgeStanza, opener: object, message: str) -> None:
    header = stanzas.seal_header([stanza], bytes(16))
    with pytest.raises(errors.FormatError, match=message):
        stanzas.open_header(header, [opener])  # type: ignore[list-item]


@pytest.mark.parametrize(("args", "message"), [
    (("scrypt", "AAAAAAAAAAAAAAAAAAAAAA"), "three arguments expected"),
    (("scrypt", b64encode(bytes(15)).decode(), "10"), "salt is not 16 bytes"),
    (("scrypt", b64encode(bytes(16)).decode(), "010"), "without leading zeros"),
    (("scrypt", b64encode(bytes(16)).decode(), "+1"), "without leading zeros"),
    (("scrypt", b64encode(bytes(16)).decode(), "100"), "without leading zeros"),
    (("scrypt", b64encode(bytes(16)).decode(), "23"), "above the limit of 22"),
])
def test_fail_malformed_scrypt_stanzas(args: tuple[str, ...], message: str) -> None:
    header = stanzas.seal_header([AgeStanza(args, bytes(32))], bytes(16))
    with pytest.raises(errors.FormatError, match=message):
        stanzas.open_header(header, passphrase=b"pw")


def test_fail_scrypt_must_be_alone() -> None:
    key = bytes(16)
    header = stanzas.seal_header([stanzas.wrap_scrypt(b"pw", key, 4), stanzas.wrap_x25519(ALICE.recipient, key)], key)
    with pytest.raises(errors.FormatError, match=r"^age header: an scrypt stanza must be the only stanza$"):
        stanzas.open_header(header, [ALICE], b"pw")


def test_good_inspect_and_file_front_doors(tmp_path: Path) -> None:
    src, enc, out = tmp_path / "p", tmp_path / "p.age", tmp_path / "out"
    src.write_bytes(b"file data")
    age.encrypt_file(src, enc, recipients=[ALICE.recipient], armor=True)
    with open(enc, "rb") as f:
        info = age.inspect(f)
    assert info["armored"] is True and info["stanzas"] == [{"type": "X25519", "arguments": 1, "body_bytes": 32}]
    age.decrypt_file(enc, out, identities=[ALICE])
    assert out.read_bytes() == b"file data"
    enc.write_bytes(enc.read_bytes().replace(b"END AGE", b"END XGE"))
    out.unlink()
    with pytest.raises(errors.FormatError):
        age.decrypt_file(enc, out, identities=[ALICE])
    assert not out.exists() and not [p for p in tmp_path.iterdir() if "partial" in p.name]
    scrypt = encrypt(b"x", passphrase="pw", work_factor=5)
    assert age.inspect(io.BytesIO(scrypt))["stanzas"] == [
        {"type": "scrypt", "arguments": 2, "body_bytes": 32, "work_factor": "5"}]


def test_good_rekey(tmp_path: Path) -> None:
    path = tmp_path / "f.age"
    data = os.urandom(100_000)
    path.write_bytes(encrypt(data, recipients=[ALICE.recipient]))
    body = path.read_bytes()[len(AgeHeader.read(io.BytesIO(path.read_bytes())).to_bytes()):]
    header = age.rekey(path, identities=[ALICE], add=[BOB.recipient])
    assert len(header.stanzas) == 2 and path.read_bytes().endswith(body)
    assert decrypt(path.read_bytes(), identities=[BOB]) == data
    age.rekey(path, identities=[BOB], remove=[ALICE])
    with pytest.raises(errors.NoMatchingIdentityError):
        decrypt(path.read_bytes(), identities=[ALICE])
    with pytest.raises(errors.ParameterError, match="opens no stanza"):
        age.rekey(path, identities=[BOB], remove=[ALICE])
    with pytest.raises(errors.ParameterError, match="nobody could open"):
        age.rekey(path, identities=[BOB], remove=[BOB])
    with pytest.raises(errors.ParameterError, match="no passphrase to change"):
        age.rekey(path, identities=[BOB], new_passphrase="new")
    with pytest.raises(errors.ParameterError, match="post-quantum"):
        age.rekey(path, identities=[BOB], add=[PQ.recipient])
    locked = tmp_path / "l.age"
    locked.write_bytes(encrypt(data, passphrase="old", armor=True))
    age.rekey(locked, passphrase="old", new_passphrase="new", work_factor=FAST)
    assert locked.read_bytes().startswith(b"-----BEGIN AGE")
    assert decrypt(locked.read_bytes(), passphrase="new") == data
    with pytest.raises(errors.ParameterError, match="beside a passphrase"):
        age.rekey(locked, passphrase="new", add=[ALICE.recipient])


def test_good_prefixed_reader_lines() -> None:
    stream = age.reader(io.BytesIO(b"age-encryption.org/v1\nrest of it"))
    assert stream.readline(5) == b"age-e" and stream.readline() == b"ncryption.org/v1\n"
    assert stream.read(4) == b"rest" and stream.read() == b" of it" and stream.read() == b""
    long_line = age.reader(io.BytesIO(b"x" * (age.DETECT + 10) + b"\nnext"))
    assert long_line.readline() == b"x" * (age.DETECT + 10) + b"\n" and long_line.readline(2) == b"ne"
    short = age.reader(io.BytesIO(b"ab"))
    assert short.readline(10) == b"ab" and short.read(3) == b""


def test_fail_identities_and_recipients_of_other_kinds() -> None:
    assert isinstance(age.as_identities([ALICE.to_string()])[0], AgeX25519Identity)
    with pytest.raises(errors.ParameterError):
        age.as_recipients(["ssh-rsa AAAA"])
