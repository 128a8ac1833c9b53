"""age's stanzas and key text forms, refusal by refusal with the exact message (issue 26)."""

from __future__ import annotations

import re

import pytest

from stc import errors
from stc.formats.age.header import AgeStanza, b64encode
from stc.keys import age as stanzas
from stc.keys.recipients import X25519Identity, XWingIdentity, XWingRecipient, as_age, as_stc, parse_recipient
from stc.keys.recipients.age import bech32_encode

ALICE = as_age(X25519Identity.generate())
PQ = XWingIdentity.generate()


def exactly(message: str) -> str:
    return "^" + re.escape(message) + "$"


def opened(stanza: AgeStanza, identity: object = None, passphrase: bytes | None = None) -> None:
    header = stanzas.seal_header([stanza], bytes(16))
    stanzas.open_header(header, [identity] if identity is not None else [], passphrase)  # type: ignore[list-item]


@pytest.mark.parametrize(("stanza", "message"), [
    (AgeStanza(("mlkem768x25519",), bytes(32)), "age mlkem768x25519 stanza: two arguments expected"),
    (AgeStanza(("mlkem768x25519", "A"), bytes(32)), "age header: the mlkem768x25519 enc is not unpadded base64"),
    (AgeStanza(("mlkem768x25519", b64encode(bytes(1120)).decode()), bytes(31)),
     "age mlkem768x25519 stanza: the body is 31 bytes, not 32"),
    (AgeStanza(("mlkem768x25519", b64encode(bytes(1120)).decode()), bytes(32)),
     "age mlkem768x25519 stanza: the X25519 part of enc is a low-order point"),
])
def test_hybrid_stanza_messages(stanza: AgeStanza, message: str) -> None:
    with pytest.raises(errors.FormatError, match=exactly(message)):
        opened(stanza, PQ)


@pytest.mark.parametrize(("stanza", "message"), [
    (AgeStanza(("scrypt", "AAAAAAAAAAAAAAAAAAAAAA"), bytes(32)), "age scrypt stanza: three arguments expected"),
    (AgeStanza(("scrypt", "A", "10"), bytes(32)), "age header: the scrypt salt is not unpadded base64"),
    (AgeStanza(("scrypt", b64encode(bytes(15)).decode(), "10"), bytes(32)),
     "age scrypt stanza: the salt is not 16 bytes"),
    (AgeStanza(("scrypt", b64encode(bytes(16)).decode(), "07"), bytes(32)),
     "age scrypt stanza: the work factor is not a decimal number without leading zeros"),
    (AgeStanza(("scrypt", b64encode(bytes(16)).decode(), "30"), bytes(32)),
     "age scrypt stanza: work factor 30 is above the limit of 22 (raise it only for a file you trust)"),
    (AgeStanza(("scrypt", b64encode(bytes(16)).decode(), "4"), bytes(33)),
     "age scrypt stanza: the body is 33 bytes, not 32"),
])
def test_scrypt_stanza_messages(stanza: AgeStanza, message: str) -> None:
    with pytest.raises(errors.FormatError, match=exactly(message)):
        opened(stanza, passphrase=b"pw")


def test_x25519_share_messages() -> None:
    with pytest.raises(errors.FormatError, match=exactly("age header: the X25519 share is not unpadded base64")):
        opened(AgeStanza(("X25519", "A"), bytes(32)), ALICE)


def test_work_factor_range(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stanzas, "_scrypt_key", lambda passphrase, salt, work_factor: bytes(32))  # range only
    for good in (1, 2, 21, 22):
        assert stanzas.wrap_scrypt(b"pw", bytes(16), good).args[2] == str(good)
    for bad in (0, 23):
        with pytest.raises(errors.ParameterError, match=exactly("the scrypt work factor is 1 to 22")):
            stanzas.wrap_scrypt(b"pw", bytes(16), bad)
    with pytest.raises(errors.ParameterError, match=exactly("an empty passphrase protects nothing")):
        stanzas.wrap_scrypt(b"", bytes(16), 4)


def test_wrap_messages() -> None:
    low = as_age(X25519Identity.generate()).recipient
    low.public_key = bytes(32)
    with pytest.raises(errors.ParameterError, match=exactly(
            "this X25519 recipient is a low-order point; nothing can be encrypted to it")):
        stanzas.wrap_x25519(low, bytes(16))
    bad = XWingRecipient(b"\xff" * 1216)
    with pytest.raises(errors.ParameterError, match=exactly("malformed ML-KEM-768 + X25519 recipient")):
        stanzas.wrap_hybrid(bad, bytes(16))


def test_describe_says_the_work_factor_of_scrypt_stanzas_only() -> None:
    header = stanzas.seal_header([AgeStanza(("X25519", "a", "b"), bytes(32)),
                                  AgeStanza(("scrypt", "s", "18"), bytes(32))], bytes(16))
    assert stanzas.describe(header) == [
        {"type": "X25519", "arguments": 2, "body_bytes": 32},
        {"type": "scrypt", "arguments": 2, "body_bytes": 32, "work_factor": "18"}]


@pytest.mark.parametrize(("text", "message"), [
    ("age1" + "q" * 58, "malformed age recipient: Bech32 checksum or characters are wrong (was it cut or mistyped?)"),
    ("age1pq1" + "q" * 58, "malformed age hybrid recipient: Bech32 checksum or characters are wrong (was it cut or "
                           "mistyped?)"),
    ("AGE1QQQ", "malformed age recipient: age keys are written in one case (lower), ASCII only"),
])
def test_key_text_messages(text: str, message: str) -> None:
    with pytest.raises(errors.ParameterError, match=exactly(message)):
        parse_recipient(text)


def test_conversion_messages_name_the_type() -> None:
    with pytest.raises(errors.ParameterError, match=exactly("str has no age form")):
        as_age("x")  # type: ignore[arg-type]
    with pytest.raises(errors.ParameterError, match=exactly("int has no STC form")):
        as_stc(1)  # type: ignore[arg-type]
    assert bech32_encode("age", bytes(32)).startswith("age1qqqq")


def test_payload_messages_and_a_long_payload() -> None:
    import io
    import os

    from stc.files import age as payload

    key = bytes(16)
    with pytest.raises(errors.FormatError, match=exactly("age payload: the input ends before the 16-byte nonce")):
        payload.decrypt_payload(io.BytesIO(bytes(15)), io.BytesIO(), key)
    with pytest.raises(errors.TruncatedError, match=exactly(
            "age payload: the input ends before its final chunk (the file was cut)")):
        payload.decrypt_payload(io.BytesIO(bytes(16)), io.BytesIO(), key)
    with pytest.raises(errors.IntegrityError, match=exactly(
            "age payload: chunk 0 is too short (an empty or cut final chunk)")):
        payload.decrypt_payload(io.BytesIO(bytes(16 + 15)), io.BytesIO(), key)
    data = os.urandom(2 * payload.BATCH * payload.CHUNK + payload.CHUNK + 7)  # three batches: both buffers reused
    sealed = io.BytesIO()
    assert payload.encrypt_payload(io.BytesIO(data), sealed, key) == len(data)
    out = io.BytesIO()
    assert payload.decrypt_payload(io.BytesIO(sealed.getvalue()), out, key) == len(data)
    assert out.getvalue() == data
