"""Noise rev 34 against the published vector files (cacophony, snow) and an independent
implementation (``noiseprotocol``, installed for the tests)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from stc.p2p.noise import CipherState, HandshakeState, parse_protocol_name

HERE = Path(__file__).resolve().parents[1] / "vectors" / "noise"
FILES = {name: json.loads((HERE / f"{name}.txt").read_text())["vectors"] for name in ("cacophony", "snow")}


def _b(vec: dict[str, Any], key: str) -> bytes | None:
    return bytes.fromhex(vec[key]) if key in vec else None


def run_vector(vec: dict[str, Any]) -> None:
    """Both sides from the vector's keys: every message byte-exact, both ways, and the hash."""
    sides = {}
    for role in ("init", "resp"):
        sides[role] = HandshakeState(
            vec["protocol_name"], role == "init", s=_b(vec, f"{role}_static"), rs=_b(vec, f"{role}_remote_static"),
            psks=[bytes.fromhex(p) for p in vec.get(f"{role}_psks", [])], prologue=_b(vec, f"{role}_prologue") or b"",
            e=_b(vec, f"{role}_ephemeral"))
    i, r = sides["init"], sides["resp"]
    one_way = i.protocol.pattern.one_way
    transport: dict[str, tuple[CipherState, CipherState]] = {}
    for k, message in enumerate(vec["messages"]):
        payload, ciphertext = bytes.fromhex(message["payload"]), bytes.fromhex(message["ciphertext"])
        if not i.is_complete:
            writer, reader = (i, r) if k % 2 == 0 else (r, i)
            assert writer.write_message(payload) == ciphertext
            assert reader.read_message(ciphertext) == payload
            if i.is_complete:
                assert r.is_complete and i.handshake_hash == r.handshake_hash
                if "handshake_hash" in vec:
                    assert i.handshake_hash.hex() == vec["handshake_hash"]
                transport = {"init": i.split(), "resp": r.split()}
            continue
        from_initiator = one_way or k % 2 == 0
        send = transport["init"][0] if from_initiator else transport["resp"][1]
        receive = transport["resp"][0] if from_initiator else transport["init"][1]
        assert send.encrypt_with_ad(b"", payload) == ciphertext
        assert receive.decrypt_with_ad(b"", ciphertext) == payload


@pytest.mark.parametrize("source", sorted(FILES))
def test_every_published_vector_passes(source: str) -> None:
    passed = 0
    for vec in FILES[source]:
        run_vector(vec)
        passed += 1
    expected = {"cacophony": 944, "snow": 408}[source]
    assert passed == expected
    print(f"{source}: {passed} of {len(FILES[source])} vectors pass (none skipped)")


def test_the_vectors_cover_what_we_claim() -> None:
    names = [v["protocol_name"] for v in FILES["cacophony"] + FILES["snow"]]
    parsed = [parse_protocol_name(n) for n in names]
    assert {p.dh for p in parsed} == {"25519", "448"}
    assert {p.cipher for p in parsed} == {"AESGCM", "ChaChaPoly"}
    assert {p.hash for p in parsed} == {"SHA256", "SHA512", "BLAKE2s", "BLAKE2b"}
    fundamental = {"NN", "NK", "NX", "XN", "XK", "XX", "KN", "KK", "KX", "IN", "IK", "IX"}
    assert fundamental <= {p.pattern.name for p in parsed}
    for psk in range(4):
        assert any(f"psk{psk}" in p.pattern.name for p in parsed)


noise = pytest.importorskip("noise.connection", reason="noiseprotocol (the interoperability peer) is not installed")

INTEROP = ["Noise_XX_25519_ChaChaPoly_BLAKE2s", "Noise_IK_25519_AESGCM_SHA256", "Noise_NN_25519_ChaChaPoly_SHA512",
           "Noise_KK_25519_AESGCM_BLAKE2b", "Noise_XXpsk3_25519_ChaChaPoly_BLAKE2s", "Noise_NNpsk0_25519_AESGCM_SHA256",
           "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s", "Noise_NK_25519_ChaChaPoly_SHA256", "Noise_XK_25519_AESGCM_SHA512",
           "Noise_IX_25519_ChaChaPoly_BLAKE2b"]


def _peer(name: str, initiator: bool, s: bytes, rs: bytes | None, psk: bytes, prologue: bytes) -> Any:
    """The independent implementation's side of the handshake."""
    from noise.connection import Keypair, NoiseConnection

    conn = NoiseConnection.from_name(name.encode())
    conn.set_as_initiator() if initiator else conn.set_as_responder()
    conn.set_keypair_from_private_bytes(Keypair.STATIC, s)
    if rs is not None:
        conn.set_keypair_from_public_bytes(Keypair.REMOTE_STATIC, rs)
    if "psk" in name:
        conn.set_psks(psk)
    conn.set_prologue(prologue)
    conn.start_handshake()
    return conn


def _has_static(pattern: Any, initiator: bool) -> bool:
    """True if the side (initiator or not) has a static key in this pattern."""
    pre = pattern.initiator_pre if initiator else pattern.responder_pre
    sent = any("s" in m for i, m in enumerate(pattern.messages) if (i % 2 == 0) == initiator)
    return "s" in pre or sent


@pytest.mark.parametrize("name", INTEROP)
@pytest.mark.parametrize("we_initiate", [True, False], ids=["we_initiate", "they_initiate"])
def test_handshake_and_transport_with_noiseprotocol(name: str, we_initiate: bool) -> None:
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    ours_s, theirs_s, psk, prologue = os.urandom(32), os.urandom(32), os.urandom(32), b"stc interop"
    ours_pub = X25519PrivateKey.from_private_bytes(ours_s).public_key().public_bytes_raw()
    theirs_pub = X25519PrivateKey.from_private_bytes(theirs_s).public_key().public_bytes_raw()
    pattern = parse_protocol_name(name).pattern
    needs_rs = "s" in (pattern.responder_pre if we_initiate else pattern.initiator_pre)
    us = HandshakeState(name, we_initiate, s=ours_s, rs=theirs_pub if needs_rs else None,
                        psks=[psk] * pattern.psks, prologue=prologue)
    their_needs_rs = "s" in (pattern.initiator_pre if we_initiate else pattern.responder_pre)
    them = _peer(name, not we_initiate, theirs_s, ours_pub if their_needs_rs else None, psk, prologue)
    k = 0
    while not us.is_complete:
        if us.my_turn:
            assert bytes(them.read_message(us.write_message(b"ours %d" % k))) == b"ours %d" % k
        else:
            assert us.read_message(bytes(them.write_message(b"theirs %d" % k))) == b"theirs %d" % k
        k += 1
    assert them.handshake_finished and bytes(them.get_handshake_hash()) == us.handshake_hash
    if _has_static(pattern, not we_initiate):
        assert us.remote_static is not None
        assert getattr(us.remote_static, "public_key", us.remote_static) == theirs_pub
    else:
        assert us.remote_static is None
    initiator_send, responder_send = us.split()
    send, receive = (initiator_send, responder_send) if we_initiate else (responder_send, initiator_send)
    for n in range(3):
        assert bytes(them.decrypt(send.encrypt_with_ad(b"", b"to them %d" % n))) == b"to them %d" % n
        assert receive.decrypt_with_ad(b"", bytes(them.encrypt(b"to us %d" % n))) == b"to us %d" % n
