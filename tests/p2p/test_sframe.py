"""SFrame (RFC 9605): the working group's vectors, our fail_* vectors, properties and header fuzzing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import stc
from stc import errors
from stc.p2p import sframe as sf

HERE = Path(__file__).resolve().parents[1] / "vectors" / "sframe"
RFC = json.loads((HERE / "test-vectors.json").read_text())
RFC_256 = json.loads((HERE / "test-vectors-aes256.json").read_text())["sframe_aes_256_ctr_hmac"]
OURS = json.loads((HERE / "stc-vectors.json").read_text())["vectors"]
AEAD_VECTORS = RFC["aes_ctr_hmac"] + RFC["aes_256_ctr_hmac"]
SFRAME_VECTORS = RFC["sframe"] + RFC_256


def _b(vec: dict[str, Any], key: str) -> bytes:
    return bytes.fromhex(vec[key])


def test_every_published_vector_is_here() -> None:
    # The counts the issue and the RFC name: 289 headers, 6 AEAD, 8 SFrame (suites 1-8).
    assert len(RFC["header"]) == 289
    assert sorted(v["cipher_suite"] for v in AEAD_VECTORS) == [1, 2, 3, 6, 7, 8]
    assert sorted(v["cipher_suite"] for v in SFRAME_VECTORS) == list(range(1, 9))


@pytest.mark.parametrize("vec", RFC["header"], ids=lambda v: v["encoded"])
def test_header_vector(vec: dict[str, Any]) -> None:
    encoded = _b(vec, "encoded")
    assert sf.encode_header(vec["kid"], vec["ctr"]) == encoded
    assert sf.parse_header(encoded + b"payload") == (vec["kid"], vec["ctr"], len(encoded))
    for cut in range(1, len(encoded)):  # every proper prefix of a long header is truncated
        with pytest.raises(errors.FormatError, match="truncated"):
            sf.parse_header(encoded[:cut])


@pytest.mark.parametrize("vec", AEAD_VECTORS, ids=lambda v: f"suite_{v['cipher_suite']}")
def test_aes_ctr_hmac_vector(vec: dict[str, Any]) -> None:
    key, nonce, aad, pt, ct = (_b(vec, k) for k in ("key", "nonce", "aad", "pt", "ct"))
    suite = sf.get_suite(vec["cipher_suite"])
    assert key[:suite.aes_key_size] == _b(vec, "enc_key") and key[suite.aes_key_size:] == _b(vec, "auth_key")
    assert sf.aead_seal(suite, key, nonce, aad, pt) == ct
    assert sf.aead_open(suite, key, nonce, aad, ct) == pt
    with pytest.raises(errors.IntegrityError):
        sf.aead_open(suite, key, nonce, aad + b"x", ct)


@pytest.mark.parametrize("vec", SFRAME_VECTORS, ids=lambda v: f"suite_{v['cipher_suite']}")
def test_sframe_vector(vec: dict[str, Any]) -> None:
    suite, kid, ctr = vec["cipher_suite"], vec["kid"], vec["ctr"]
    base, metadata, pt, ct = (_b(vec, k) for k in ("base_key", "metadata", "pt", "ct"))
    key, salt = sf.derive_key_salt(suite, kid, base)
    assert (key, salt) == (_b(vec, "sframe_key"), _b(vec, "sframe_salt"))
    assert sf.frame_nonce(salt, ctr) == _b(vec, "nonce")
    assert sf.protect_with(suite, base, kid, ctr, pt, metadata) == ct
    assert ct.startswith(_b(vec, "aad")[:len(ct) - len(pt) - sf.SUITES[suite].tag_size])
    assert sf.unprotect_with(suite, base, ct, metadata) == pt
    ctx = sf.SFrameContext(suite)
    ctx.add_key(kid, base, "unprotect")
    assert ctx.unprotect(ct, metadata) == pt
    with pytest.raises(errors.ReplayError):
        ctx.unprotect(ct, metadata)


@pytest.mark.parametrize("vec", OURS, ids=lambda v: v["name"])
def test_stc_vector(vec: dict[str, Any]) -> None:
    if vec["name"] == "good_session_export":
        root = stc.p2p.session_root(_b(vec, "session_seed"))
        from stc.p2p.keys import sframe_base_key
        assert sframe_base_key(root, 0) == _b(vec, "base_key_initiator")
        assert sframe_base_key(root, 1) == _b(vec, "base_key_responder")
        return
    suite, base, ct = vec["cipher_suite"], _b(vec, "base_key"), _b(vec, "ciphertext")
    metadata = _b(vec, "metadata_used" if "metadata_used" in vec else "metadata")
    ctx = sf.SFrameContext(suite)
    ctx.add_key(vec["kid"], base, "unprotect")
    if vec["expect"] == "ok":
        assert ctx.unprotect(ct, metadata) == _b(vec, "plaintext")
        assert sf.protect_with(suite, base, vec["kid"], 300, _b(vec, "plaintext"), metadata) == ct
        return
    with pytest.raises(getattr(errors, vec["expect"])):
        ctx.unprotect(ct, metadata)
    counted = {"IntegrityError": "forged", "UnknownKeyError": "unknown_kid", "FormatError": "malformed"}
    assert ctx.stats[counted[vec["expect"]]] == 1 and ctx.stats["unprotected"] == 0


def test_fail_vectors_cover_every_suite_and_case() -> None:
    names = {v["name"] for v in OURS}
    for suite in sf.SUITES:
        for case in ("flipped_tag_bit", "flipped_body_bit", "changed_ctr", "wrong_metadata", "shorter_than_tag",
                     "unknown_kid"):
            assert f"fail_suite_{suite}_{case}" in names
    assert all(n.startswith(("good_", "fail_")) for n in names)


@pytest.mark.parametrize(("data", "message"), [
    ("", "empty"), ("9901", "truncated: the KID"), ("0f010203", "truncated: the CTR"),
    ("8007", "KID is not minimally"), ("900009", "KID is not minimally"),
    ("0807", "CTR is not minimally"), ("09000a", "CTR is not minimally"),
    ("ff" + "00" * 16, "KID is not minimally"),
])
def test_fail_header_says_why(data: str, message: str) -> None:
    with pytest.raises(errors.FormatError, match=message):
        sf.parse_header(bytes.fromhex(data))


def test_header_boundaries() -> None:
    assert sf.encode_header(7, 7) == b"\x77"
    assert sf.encode_header(8, 0) == b"\x80\x08"
    assert sf.encode_header(0, 8) == b"\x08\x08"
    assert sf.encode_header(255, 256) == b"\x89\xff\x01\x00"
    top = (1 << 64) - 1
    assert sf.encode_header(top, top) == b"\xff" + b"\xff" * 16 and len(sf.encode_header(top, top)) == 17
    for bad in (-1, 1 << 64, True, 1.0, "1"):
        with pytest.raises(errors.ParameterError):
            sf.encode_header(bad, 0)  # type: ignore[arg-type]
        with pytest.raises(errors.ParameterError):
            sf.encode_header(0, bad)  # type: ignore[arg-type]
    assert sf.SFrameHeader.from_bytes(b"\x12rest") == (sf.SFrameHeader(1, 2), 1)


values = st.one_of(st.integers(0, 7), st.integers(8, 255), st.integers(0, (1 << 64) - 1),
                   st.sampled_from([(1 << (8 * n)) - 1 for n in range(1, 9)] + [1 << (8 * n) for n in range(1, 8)]))


@given(kid=values, ctr=values)
def test_header_round_trip(kid: int, ctr: int) -> None:
    encoded = sf.encode_header(kid, ctr)
    assert sf.parse_header(encoded + b"\x00" * 3) == (kid, ctr, len(encoded))
    kid_len = 0 if kid < 8 else (kid.bit_length() + 7) // 8
    ctr_len = 0 if ctr < 8 else (ctr.bit_length() + 7) // 8
    assert len(encoded) == 1 + kid_len + ctr_len


@given(st.binary(max_size=20))
def test_header_parser_fuzz(data: bytes) -> None:
    # Any bytes: a header that re-encodes to exactly its own bytes, or FormatError; nothing else.
    try:
        kid, ctr, size = sf.parse_header(data)
    except errors.FormatError:
        return
    assert sf.encode_header(kid, ctr) == data[:size]


@settings(max_examples=60)
@given(suite=st.sampled_from(sorted(sf.SUITES)), kid=values, ctr=values, pt=st.binary(max_size=300),
       metadata=st.binary(max_size=40), flip=st.integers(0, 10_000))
def test_round_trip_and_tamper_every_suite(suite: int, kid: int, ctr: int, pt: bytes, metadata: bytes,
                                           flip: int) -> None:
    base = b"k" * 16
    ct = sf.protect_with(suite, base, kid, ctr, pt, metadata)
    assert len(ct) == len(sf.encode_header(kid, ctr)) + len(pt) + sf.SUITES[suite].tag_size
    assert sf.unprotect_with(suite, base, ct, metadata) == pt
    index = flip % len(ct)
    tampered = ct[:index] + bytes((ct[index] ^ 1 << (flip % 8),)) + ct[index + 1:]
    with pytest.raises((errors.FormatError, errors.IntegrityError)):
        sf.unprotect_with(suite, base, tampered, metadata)
    with pytest.raises((errors.FormatError, errors.IntegrityError)):
        sf.unprotect_with(suite, base, ct[:index], metadata)


def test_suites_by_value_and_name() -> None:
    assert sf.get_suite("aes_128_gcm_sha256_128") is sf.get_suite(4) is sf.get_suite(sf.SUITES[4])
    sizes = {s.value: (s.key_size, s.tag_size, s.hash_size) for s in sf.SUITES.values()}
    assert sizes == {1: (48, 10, 32), 2: (48, 8, 32), 3: (48, 4, 32), 4: (16, 16, 32), 5: (32, 16, 64),
                     6: (96, 10, 64), 7: (96, 8, 64), 8: (96, 4, 64)}
    for bad in (0, 9, True, "AES", None, 4.0):
        with pytest.raises(errors.ParameterError, match="unknown SFrame cipher suite"):
            sf.get_suite(bad)  # type: ignore[arg-type]


def test_stateless_functions_check_their_inputs() -> None:
    key, nonce = bytes(16), bytes(12)
    with pytest.raises(errors.ParameterError, match="key must be exactly 16"):
        sf.aead_seal(4, bytes(15), nonce, b"", b"")
    with pytest.raises(errors.ParameterError, match="nonce must be exactly 12"):
        sf.aead_open(4, key, bytes(11), b"", bytes(16))
    with pytest.raises(errors.ParameterError, match="aad must be bytes"):
        sf.aead_seal(4, key, nonce, "x", b"")  # type: ignore[arg-type]
    with pytest.raises(errors.IntegrityError, match="shorter than the 4-byte tag"):
        sf.aead_open(3, bytes(48), nonce, b"", b"abc")
    assert sf.aead_open(3, bytes(48), nonce, b"", sf.aead_seal(3, bytes(48), nonce, b"", b"")) == b""
    with pytest.raises(errors.ParameterError, match="must not be empty"):
        sf.derive_key_salt(4, 1, b"")
    for kid in (-1, 1 << 64, False):
        with pytest.raises(errors.ParameterError, match="KID"):
            sf.derive_key_salt(4, kid, b"k")
    with pytest.raises(errors.ParameterError, match="base_key must be bytes"):
        sf.protect_with(4, "key", 1, 1, b"")  # type: ignore[arg-type]
    with pytest.raises(errors.ParameterError, match="metadata must be bytes"):
        sf.unprotect_with(4, b"key", b"\x00" + bytes(16), None)  # type: ignore[arg-type]


def test_frame_size_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sf.suites, "MAX_FRAME", 10)
    with pytest.raises(errors.ParameterError, match="at most 10 bytes"):
        sf.protect_with(4, b"k", 1, 1, bytes(11))
    assert sf.unprotect_with(4, b"k", sf.protect_with(4, b"k", 1, 1, bytes(10))) == bytes(10)
    with pytest.raises(errors.ParameterError, match="at most 10 bytes"):
        sf.aead_seal(4, bytes(16), bytes(12), b"", bytes(11))
    with pytest.raises(errors.IntegrityError, match="at most 10 bytes"):
        sf.aead_open(4, bytes(16), bytes(12), b"", bytes(27))
    assert sf.aead_open(4, bytes(16), bytes(12), b"", sf.aead_seal(4, bytes(16), bytes(12), b"", bytes(10)))


def test_ratchet_matches_the_rfc_formula() -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF, HKDFExpand
    for suite, algorithm, size in ((4, hashes.SHA256(), 32), (5, hashes.SHA512(), 64)):
        prk = HKDF.extract(algorithm, None, b"base")
        assert sf.ratchet_base_key(suite, b"base") == HKDFExpand(algorithm, size, b"SFrame 1.0 Ratchet").derive(prk)
