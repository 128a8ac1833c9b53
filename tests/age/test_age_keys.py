"""age's key text forms: the specification's examples, canonical Bech32, and each refusal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stc import errors
from stc.keys.recipients import (
    AgeHybridIdentity,
    AgeHybridRecipient,
    AgeX25519Identity,
    AgeX25519Recipient,
    X25519Identity,
    X25519Recipient,
    XWingIdentity,
    XWingRecipient,
    as_age,
    as_stc,
    load_identities,
    parse_identity,
    parse_recipient,
    parse_recipients,
)
from stc.keys.recipients.age import MAX_KEY_TEXT, bech32_decode, bech32_encode

SPEC = json.loads((Path(__file__).resolve().parents[1] / "vectors" / "age" / "spec-keys.json").read_text())
X_ID, X_R = SPEC["keys"][0]["identity"], SPEC["keys"][0]["recipient"]
PQ_ID, PQ_R = SPEC["keys"][1]["identity"], SPEC["keys"][1]["recipient"]


def test_good_the_specifications_examples() -> None:
    x = parse_identity(X_ID)
    assert isinstance(x, AgeX25519Identity) and x.to_string() == X_ID and x.recipient.to_string() == X_R
    pq = parse_identity(PQ_ID)
    assert isinstance(pq, AgeHybridIdentity) and pq.to_string() == PQ_ID and pq.recipient.to_string() == PQ_R
    assert len(PQ_R) == 1959
    r = parse_recipient(X_R)
    assert isinstance(r, AgeX25519Recipient) and r.to_string() == X_R
    h = parse_recipient(PQ_R)
    assert isinstance(h, AgeHybridRecipient) and h.to_string() == PQ_R


def test_good_one_key_is_one_recipient_in_either_form() -> None:
    age_form = parse_recipient(X_R)
    stc_form = as_stc(age_form)
    assert type(stc_form) is X25519Recipient and stc_form.to_string().startswith("stc-x25519-")
    assert age_form == stc_form and hash(age_form) == hash(stc_form)
    assert age_form.fingerprint == stc_form.fingerprint and age_form.canonical_string() == stc_form.to_string()
    assert as_age(stc_form) == age_form and as_age(stc_form).to_string() == X_R  # type: ignore[attr-defined]
    with pytest.raises(errors.ParameterError, match="twice"):
        parse_recipients([X_R, stc_form.to_string()])
    pq = parse_recipient(PQ_R)
    assert as_stc(pq) == pq and type(as_stc(pq)) is XWingRecipient
    assert pq.canonical_string() == XWingRecipient.to_string(pq)  # type: ignore[arg-type]


def test_good_identities_convert_both_ways() -> None:
    x = parse_identity(X_ID)
    stc_x = as_stc(x)
    assert type(stc_x) is X25519Identity and stc_x.to_string().startswith("STC-SECRET-KEY-X25519-")  # type: ignore[attr-defined]
    assert as_age(stc_x).to_string() == X_ID  # type: ignore[attr-defined]
    pq = parse_identity(PQ_ID)
    stc_pq = as_stc(pq)
    assert type(stc_pq) is XWingIdentity and as_age(stc_pq).to_string() == PQ_ID  # type: ignore[attr-defined]
    assert isinstance(as_age(pq.recipient), AgeHybridRecipient)
    assert "AGE-SECRET" not in repr(x) and X_ID not in repr(x)
    with pytest.raises(errors.ParameterError, match="has no age form"):
        as_age("age1…")  # type: ignore[arg-type]
    with pytest.raises(errors.ParameterError, match="has no STC form"):
        as_stc(3)  # type: ignore[arg-type]


def test_good_an_age_keygen_file(tmp_path: Path) -> None:
    path = tmp_path / "key.txt"
    path.write_text(f"# created: 2026-12-02T00:00:00Z\n# public key: {X_R}\n{X_ID}\n")
    [identity] = load_identities(path)
    assert identity.recipient.to_string() == X_R


@pytest.mark.parametrize(("text", "message"), [
    (X_R.upper(), "one case"),
    (X_R[:10] + X_R[10].upper() + X_R[11:], "one case"),
    (X_ID.lower(), "one case"),
    (X_R[:-1] + ("q" if X_R[-1] != "q" else "p"), "checksum or characters"),
    (X_R[:8] + "b" + X_R[9:], "checksum or characters"),  # b is not in the Bech32 alphabet
    (X_R[:20] + "é" + X_R[21:], "one case"),
    ("age1" + "q" * (MAX_KEY_TEXT), "one case"),
])
def test_fail_malformed_recipients(text: str, message: str) -> None:
    with pytest.raises(errors.ParameterError, match=message):
        parse_recipient(text) if not text.upper().startswith("AGE-SECRET") else parse_identity(text)


def test_fail_wrong_lengths_and_padding() -> None:
    short = bech32_encode("age", bytes(31))
    with pytest.raises(errors.ParameterError, match="not a 32-byte key"):
        parse_recipient(short)
    with pytest.raises(errors.ParameterError, match="not a 32-byte key"):
        parse_identity(bech32_encode("AGE-SECRET-KEY-", bytes(33)))
    import bech32

    words = bech32.convertbits(bytes(32), 8, 5, True)
    assert words is not None
    words[-1] |= 1  # a non-zero padding bit: another text for the same key
    padded = bech32.bech32_encode("age", words)
    with pytest.raises(errors.ParameterError, match="not a 32-byte key"):
        parse_recipient(padded)


def test_fail_prefixes() -> None:
    assert bech32_decode("age", "stc-x25519-abc", 32, "x") is None
    assert bech32_decode("age1pq", X_R, 1216, "x") is None
    assert AgeX25519Recipient.parse("stc-x25519-abc") is None and AgeHybridRecipient.parse(X_R) is None
    assert AgeX25519Identity.parse(PQ_ID) is None and AgeHybridIdentity.parse(X_ID) is None
    with pytest.raises(errors.ParameterError, match=r"^that is a secret key, not a recipient"):
        parse_recipient(X_ID)
    with pytest.raises(errors.ParameterError, match=r"^not a recipient \(expected stc-x25519-…, stc-xwing-…, "
                                                    r"age1…, age1pq1… or awskms:…\)$"):
        parse_recipient("ssh-ed25519 AAAA")
    with pytest.raises(errors.ParameterError, match=r"^not an identity \(expected"):
        parse_identity("AGE-PLUGIN-YUBIKEY-1QQQ")
    with pytest.raises(errors.ParameterError, match="one case"):
        parse_recipient("age1" + X_R[4:].upper())


def test_good_encoding_is_canonical() -> None:
    recipient, identity = bech32_encode("age", bytes(32)), bech32_encode("AGE-SECRET-KEY-", bytes(32))
    assert recipient == recipient.lower() and recipient.startswith("age1")
    assert identity == identity.upper() and identity.startswith("AGE-SECRET-KEY-1")
    assert bech32_decode("age", bech32_encode("age", b"\x01" * 32), 32, "x") == b"\x01" * 32
