"""``stc.age`` and ``stc.identities``, refusal by refusal with the exact message, each bound at
its edge, and each option shown to take effect (what mutation testing found loose, issue 26)."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest

from stc import age, errors
from stc.formats import armor
from stc.formats.headers import parse_header
from stc.identities import is_protected, load_identities, protect, unprotect
from stc.keys.recipients import AwsKmsIdentity, AwsKmsRecipient, X25519Identity, XWingIdentity, as_age
from stc.keys.recipients.text import MAX_IDENTITY_FILE

ALICE, BOB = as_age(X25519Identity.generate()), as_age(X25519Identity.generate())
PQ, PQ2 = XWingIdentity.generate(), XWingIdentity.generate()
ARN = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
FAST = {"lattice_size": 64, "depth": 4}


def exactly(message: str) -> str:
    return "^" + re.escape(message) + "$"


def sealed(data: bytes = b"data", **options: object) -> bytes:
    out = io.BytesIO()
    if "passphrase" in options:
        options.setdefault("work_factor", 4)
    age.encrypt(io.BytesIO(data), out, **options)  # type: ignore[arg-type]
    return out.getvalue()


def test_encrypt_messages() -> None:
    cases = [
        ({"recipients": [ALICE.recipient], "passphrase": "pw"},
         "age does not allow a passphrase beside other recipients (scrypt must be alone)"),
        ({}, "give recipients or a passphrase"),
        ({"recipients": [ALICE.recipient, PQ.recipient]},
         "age 1.3 refuses post-quantum (age1pq1…) recipients beside classical ones (the file would be only as "
         "strong as the classical key)"),
        ({"recipients": [ALICE.recipient, ALICE.recipient]}, "the same recipient was given twice"),
        ({"recipients": [AwsKmsRecipient(ARN)]}, "AwsKmsRecipient cannot be an age recipient"),
    ]
    for options, message in cases:
        with pytest.raises(errors.ParameterError, match=exactly(message)):
            sealed(**options)  # type: ignore[arg-type]
    with pytest.raises(errors.ParameterError, match=exactly("AwsKmsIdentity cannot open an age file")):
        age.decrypt(io.BytesIO(sealed(recipients=[ALICE.recipient])), io.BytesIO(), identities=[AwsKmsIdentity(ARN)])


def test_encrypt_reports_progress_and_inspect_says_exactly() -> None:
    calls: list[tuple[int, int | None]] = []
    out = io.BytesIO()
    age.encrypt(io.BytesIO(b"x" * 100), out, recipients=[ALICE.recipient], progress=lambda d, t: calls.append((d, t)))
    assert calls == [(100, None)]
    header = age.read_header(io.BytesIO(out.getvalue()))
    assert age.inspect(io.BytesIO(out.getvalue())) == {
        "format": "age-encryption.org/v1", "armored": False, "header_bytes": len(header.to_bytes()),
        "stanzas": [{"type": "X25519", "arguments": 1, "body_bytes": 32}]}


def test_armor_detection_edges() -> None:
    begin = age.ARMOR_BEGIN
    assert age.is_armored(begin) and age.is_armored(b" \t\r\n" + begin)
    assert age.is_armored(b" " * armor.MAX_SPACE + begin) and not age.is_armored(b" " * (armor.MAX_SPACE + 1) + begin)
    assert not age.is_armored(b"x" + begin) and not age.is_armored(b"-----BEGIN STC ENCRYPTED FILE-----")
    assert age.is_armored(b"\n\n" + begin + b"\n") and age.is_age(b"  " + begin)
    assert age.is_age(b"age-encryption.org/v2\n") and not age.is_age(b"STCF")


def test_file_front_doors_take_streams_and_leave_them_open() -> None:
    src, enc, out = io.BytesIO(b"stream data"), io.BytesIO(), io.BytesIO()
    assert age.encrypt_file(src, enc, recipients=[ALICE.recipient]) == 11
    assert not enc.closed and not src.closed
    enc.seek(0)
    assert age.decrypt_file(enc, out, identities=[ALICE]) == 11
    assert out.getvalue() == b"stream data" and not enc.closed and not out.closed


def test_rekey_keeps_the_mode_and_honours_its_options(tmp_path: Path) -> None:
    path = tmp_path / "f.age"
    path.write_bytes(sealed(recipients=[ALICE.recipient]))
    os.chmod(path, 0o640)
    age.rekey(path, identities=[ALICE], add=[BOB.recipient])
    assert os.stat(path).st_mode & 0o7777 == 0o640
    heavy = tmp_path / "heavy.age"
    heavy.write_bytes(sealed(passphrase="old", work_factor=12))
    with pytest.raises(errors.FormatError, match="work factor 12 is above the limit of 11"):
        age.rekey(heavy, passphrase="old", new_passphrase="new", max_work_factor=11)
    age.rekey(heavy, passphrase="old", new_passphrase="new", work_factor=5)
    [stanza] = age.inspect(io.BytesIO(heavy.read_bytes()))["stanzas"]  # type: ignore[misc]
    assert stanza["work_factor"] == "5"


def test_rekey_messages(tmp_path: Path) -> None:
    path = tmp_path / "f.age"
    path.write_bytes(sealed(recipients=[ALICE.recipient]))
    cases = [
        ({"identities": [ALICE], "remove": [BOB]}, "an identity given to remove opens no stanza of this file"),
        ({"identities": [ALICE], "new_passphrase": "x"},
         "this age file has no passphrase to change (age does not allow a passphrase beside recipients)"),
        ({"identities": [ALICE], "add": [PQ.recipient]},
         "age 1.3 refuses post-quantum recipients beside classical ones"),
        ({"identities": [ALICE], "remove": [ALICE]}, "no stanza would be left: nobody could open the file"),
    ]
    for options, message in cases:
        with pytest.raises(errors.ParameterError, match=exactly(message)):
            age.rekey(path, **options)  # type: ignore[arg-type]
    locked = tmp_path / "l.age"
    locked.write_bytes(sealed(passphrase="pw"))
    with pytest.raises(errors.ParameterError, match=exactly(
            "age does not allow recipients beside a passphrase (scrypt must be alone)")):
        age.rekey(locked, passphrase="pw", add=[ALICE.recipient])


def test_rekey_of_post_quantum_files(tmp_path: Path) -> None:
    path = tmp_path / "pq.age"
    path.write_bytes(sealed(b"pq data", recipients=[PQ.recipient]))
    with pytest.raises(errors.ParameterError, match="post-quantum recipients beside classical"):
        age.rekey(path, identities=[PQ], add=[ALICE.recipient])
    header = age.rekey(path, identities=[PQ], add=[PQ2.recipient])
    assert [s.args[0] for s in header.stanzas] == ["mlkem768x25519", "mlkem768x25519"]
    out = io.BytesIO()
    age.decrypt(io.BytesIO(path.read_bytes()), out, identities=[PQ2])
    assert out.getvalue() == b"pq data"
    age.rekey(path, identities=[PQ2], remove=[PQ])  # a hybrid identity finds its own stanza
    with pytest.raises(errors.NoMatchingIdentityError):
        age.decrypt(io.BytesIO(path.read_bytes()), io.BytesIO(), identities=[PQ])


# ---- protected identity files ---------------------------------------------------------------------

def test_what_counts_as_protected() -> None:
    for head in (b"STCF\x02", b"STCM\x03", b"-----BEGIN STC ENCRYPTED FILE-----\n", b"age-encryption.org/v1\n",
                 b"\n-----BEGIN AGE ENCRYPTED FILE-----\n"):
        assert is_protected(head + bytes(20))
    for head in (b"STCX", b"stcf", b"stcm", b"# created: 2026\n", b"AGE-SECRET-KEY-1"):
        assert not is_protected(head)


def test_protect_uses_the_balanced_cost() -> None:
    blob = armor.ArmorReader(io.BytesIO(protect("x\n", "pw"))).read()
    kdf = parse_header(blob)[0].describe()["kdf"]
    assert (kdf["memory_kib"], kdf["passes"]) == (65536, 3)
    assert unprotect(protect("ünïcode\n", "pw", **FAST), "pw") == "ünïcode\n".encode()


def test_protected_identity_messages_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "alice.key.stc"
    path.write_bytes(protect(X25519Identity.generate().to_string() + "\n", "pw", **FAST))
    with pytest.raises(errors.ParameterError, match=exactly(
            f"{path} is protected by a passphrase; give it (password=…, or --identity-passphrase-file)")):
        load_identities(path)
    blob = io.BytesIO()
    import stc

    stc.STCContext(stc.DEFAULT_SEED, **FAST).encrypt_stream(io.BytesIO(b"x"), blob, "pw")
    with pytest.raises(errors.ParameterError, match=exactly(
            "the identity file is an encrypted STC file, not a protected identity (an STC message)")):
        unprotect(blob.getvalue(), "pw")
    file_path = tmp_path / "f.stc"
    file_path.write_bytes(blob.getvalue())
    with pytest.raises(errors.ParameterError, match=exactly(
            f"{file_path} is an encrypted STC file, not a protected identity (an STC message)")):
        load_identities(file_path, password="pw")
    empty = tmp_path / "empty.stc"
    empty.write_bytes(protect("# only a comment\n", "pw", **FAST))
    with pytest.raises(errors.ParameterError, match=exactly(f"{empty} holds no identity")):
        load_identities(empty, password="pw")


def test_identity_file_size_bounds(tmp_path: Path) -> None:
    limit = MAX_IDENTITY_FILE + (1 << 16)
    at_limit, over = tmp_path / "at", tmp_path / "over"
    at_limit.write_bytes(b"#" * limit)
    over.write_bytes(b"#" * (limit + 1))
    with pytest.raises(errors.ParameterError, match=exactly(
            f"{at_limit} is larger than {MAX_IDENTITY_FILE} bytes; not an identity file")):
        load_identities(at_limit)
    with pytest.raises(errors.ParameterError, match=exactly(f"{over} is larger than an identity file can be")):
        load_identities(over)


def test_only_the_four_white_space_bytes_may_come_before_armor() -> None:
    begin = age.ARMOR_BEGIN
    for lead in (b"\x0b", b"\x0c", b"X"):
        assert not age.is_armored(lead + begin)
        with pytest.raises(errors.FormatError, match=exactly("not an age file (no age-encryption.org/v1 line)")):
            age.decrypt(io.BytesIO(lead + begin + b"\n"), io.BytesIO(), identities=[ALICE])


def test_the_prefixed_reader_reads_what_is_asked() -> None:
    text = b"age-encryption.org/v1\n" + bytes(range(256)) * 10
    stream = age.reader(io.BytesIO(text))
    assert stream.read(0) == b""
    assert stream.read(age.DETECT) == text[: age.DETECT]
    assert stream.read(4) == text[age.DETECT: age.DETECT + 4]  # past the look-ahead, still only what is asked
    view = memoryview(bytearray(8))
    assert stream.readinto(view) == 8 and bytes(view) == text[age.DETECT + 4: age.DETECT + 12]


def test_messages_of_who_cannot_open_and_of_payload_edits() -> None:
    blob = sealed(recipients=[ALICE.recipient])
    with pytest.raises(errors.NoMatchingIdentityError, match=exactly("no identity given opens this age file")):
        age.decrypt(io.BytesIO(blob), io.BytesIO(), identities=[BOB])
    with pytest.raises(errors.NoMatchingIdentityError, match=exactly(
            "this age file is encrypted to keys; give an identity (-i)")):
        age.decrypt(io.BytesIO(blob), io.BytesIO())
    with pytest.raises(errors.IntegrityError, match=exactly(
            "age payload: data after the final chunk (the file was changed)")):
        age.decrypt(io.BytesIO(sealed(bytes(65536), recipients=[ALICE.recipient]) + b"x"), io.BytesIO(),
                    identities=[ALICE])  # a full final chunk, then a byte


def test_a_write_error_is_raised_not_swallowed() -> None:
    class Full:
        def write(self, data: object) -> int:
            raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        age.decrypt(io.BytesIO(sealed(os.urandom(200_000), recipients=[ALICE.recipient])), Full(),
                    identities=[ALICE])
    with pytest.raises(OSError, match="No space left"):
        from stc.files import age as payload

        payload.encrypt_payload(io.BytesIO(os.urandom(3_000_000)), Full(), bytes(16))


def test_decrypt_reports_progress_and_armor_allows_no_space_after_begin() -> None:
    calls: list[int] = []
    age.decrypt(io.BytesIO(sealed(b"y" * 10, recipients=[ALICE.recipient])), io.BytesIO(), identities=[ALICE],
                progress=lambda done, total: calls.append(done))
    assert calls == [10]
    text = sealed(b"z", recipients=[ALICE.recipient], armor=True).replace(b"FILE-----\n", b"FILE----- \n", 1)
    with pytest.raises(errors.FormatError, match="armor: the BEGIN line must end after its marker"):
        age.decrypt(io.BytesIO(text), io.BytesIO(), identities=[ALICE])


class _ReadOnly:
    """A stream with read() only (no readinto): the payload loops fill their buffers from it."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data, self._step = data, step

    def read(self, size: int = -1) -> bytes:
        size = self._step if size < 0 else min(size, self._step)
        out, self._data = self._data[:size], self._data[size:]
        return out


def test_streams_without_readinto_in_small_pieces() -> None:
    from stc.files import age as payload

    data = os.urandom(3 * payload.CHUNK + 5)
    sealed_out = io.BytesIO()
    payload.encrypt_payload(_ReadOnly(data, 1000), sealed_out, bytes(16))  # type: ignore[arg-type]
    out = io.BytesIO()
    assert payload.decrypt_payload(_ReadOnly(sealed_out.getvalue(), 777), out, bytes(16)) == len(data)  # type: ignore[arg-type]
    assert out.getvalue() == data


def test_the_prefixed_reader_lines_at_their_limits() -> None:
    stream = age.reader(io.BytesIO(b"ab\ncd"))
    assert stream.readline(0) == b"" and stream.readline(2) == b"ab" and stream.readline(5) == b"\n"
    long = b"L" * (age.DETECT - 2) + b"MMMM\nrest"
    s2 = age.reader(io.BytesIO(long))
    assert s2.readline(age.DETECT + 1) == b"L" * (age.DETECT - 2) + b"MMM"  # crosses the look-ahead, stops at limit
    s3 = age.reader(io.BytesIO(long))
    assert s3.readline() == b"L" * (age.DETECT - 2) + b"MMMM\n" and s3.read() == b"rest"
    s4 = age.reader(io.BytesIO(b"x" * age.DETECT + b"yz"))
    assert s4.readline(age.DETECT + 5) == b"x" * age.DETECT + b"yz"  # no line end at all


def test_more_stanza_messages() -> None:
    from stc.formats.age.header import AgeStanza
    from stc.keys import age as stanzas

    def opened(stanza: AgeStanza, **keys: object) -> None:
        stanzas.open_header(stanzas.seal_header([stanza], bytes(16)), **keys)  # type: ignore[arg-type]

    share = "A" * 43
    for stanza, message in (
            (AgeStanza(("X25519", "AAAA"), bytes(32)), "age X25519 stanza: the share is not 32 bytes"),
            (AgeStanza(("X25519", share), bytes(31)), "age X25519 stanza: the body is 31 bytes, not 32"),
            (AgeStanza(("X25519", share), bytes(32)), "age X25519 stanza: the share is a low-order point")):
        with pytest.raises(errors.FormatError, match=exactly(message)):
            opened(stanza, identities=[ALICE])
    with pytest.raises(errors.WrongPasswordError, match=exactly(
            "this age file is protected by a passphrase; none was given")):
        opened(stanzas.wrap_scrypt(b"pw", bytes(16), 4), identities=[ALICE])
