"""Noise HandshakeState and CipherState: every refusal, and the limits of the specification."""

from __future__ import annotations

import os
import pickle

import pytest

from stc import errors
from stc.keys.recipients.x25519 import X25519Identity, X25519Recipient
from stc.p2p.noise import MAX_NONCE, CipherState, HandshakeState, parse_protocol_name
from stc.p2p.noise.primitives import CIPHERS, DHS

XX = "Noise_XX_25519_ChaChaPoly_BLAKE2s"
IK = "Noise_IK_25519_AESGCM_SHA256"


def complete(initiator: HandshakeState, responder: HandshakeState) -> None:
    while not initiator.is_complete:
        writer, reader = (initiator, responder) if initiator.my_turn else (responder, initiator)
        reader.read_message(writer.write_message())


def test_identities_and_recipients_of_stc_are_the_static_keys() -> None:
    alice, bob = X25519Identity.generate(), X25519Identity.generate()
    i = HandshakeState(IK, True, s=alice, rs=bob.recipient)
    r = HandshakeState(IK, False, s=bob)
    assert i.remote_static == bob.recipient and r.remote_static is None
    complete(i, r)
    assert r.remote_static == alice.recipient and isinstance(r.remote_static, X25519Recipient)
    assert i.handshake_hash == r.handshake_hash and len(i.handshake_hash) == 32
    a, b = i.split()
    c, d = r.split()
    assert c.decrypt_with_ad(b"ad", a.encrypt_with_ad(b"ad", b"i->r")) == b"i->r"
    assert b.decrypt_with_ad(b"", d.encrypt_with_ad(b"", b"r->i")) == b"r->i"


def test_a_responder_key_other_than_the_one_named_fails_the_handshake() -> None:
    alice, bob, mallory = X25519Identity.generate(), X25519Identity.generate(), X25519Identity.generate()
    i = HandshakeState(IK, True, s=alice, rs=bob.recipient)
    r = HandshakeState(IK, False, s=mallory)
    with pytest.raises(errors.HandshakeError, match="did not authenticate"):
        r.read_message(i.write_message(b"secret payload"))
    with pytest.raises(errors.StateError, match="failed"):
        r.write_message()


@pytest.mark.parametrize("where", ["ephemeral", "static", "payload", "tag"])
def test_a_changed_byte_fails_and_spoils_the_handshake(where: str) -> None:
    i, r = HandshakeState(XX, True, s=os.urandom(32)), HandshakeState(XX, False, s=os.urandom(32))
    r.read_message(i.write_message())
    message = bytearray(r.write_message(b"payload"))
    index = {"ephemeral": 0, "static": 40, "payload": 32 + 48 + 2, "tag": len(message) - 1}[where]
    message[index] ^= 1
    with pytest.raises(errors.HandshakeError):
        i.read_message(bytes(message))
    with pytest.raises(errors.StateError, match="failed"):
        i.read_message(bytes(message))


@pytest.mark.parametrize(("cut", "what"),
                         [(31, "ephemeral key"), (32 + 47, "static key"), (32 + 48 + 15, "payload tag")])
def test_a_short_message_says_which_part_is_missing(cut: int, what: str) -> None:
    i, r = HandshakeState(XX, True, s=os.urandom(32)), HandshakeState(XX, False, s=os.urandom(32))
    r.read_message(i.write_message())
    message = r.write_message()
    with pytest.raises(errors.HandshakeError, match=f"too short \\({what}\\)"):
        i.read_message(message[:cut])


def test_wrong_psk_and_wrong_prologue_fail() -> None:
    name = "Noise_XXpsk3_25519_ChaChaPoly_BLAKE2s"
    for i_kwargs, r_kwargs in (({"psks": [b"a" * 32]}, {"psks": [b"b" * 32]}),
                               ({"psks": [b"a" * 32], "prologue": b"one"}, {"psks": [b"a" * 32], "prologue": b"two"})):
        i = HandshakeState(name, True, s=os.urandom(32), **i_kwargs)  # type: ignore[arg-type]
        r = HandshakeState(name, False, s=os.urandom(32), **r_kwargs)  # type: ignore[arg-type]
        with pytest.raises(errors.HandshakeError):
            complete(i, r)


def test_low_order_peer_key_is_refused() -> None:
    i = HandshakeState("Noise_NN_25519_ChaChaPoly_SHA256", True)
    r = HandshakeState("Noise_NN_25519_ChaChaPoly_SHA256", False)
    r.read_message(i.write_message())
    message = bytearray(r.write_message())
    message[:32] = bytes(32)  # the all-zero point: no shared secret
    with pytest.raises(errors.HandshakeError, match="low-order"):
        i.read_message(bytes(message))


def test_turns_completion_and_split() -> None:
    i, r = HandshakeState(XX, True, s=os.urandom(32)), HandshakeState(XX, False, s=os.urandom(32))
    with pytest.raises(errors.StateError, match="peer turn"):
        r.write_message()
    with pytest.raises(errors.StateError, match="our turn"):
        i.read_message(b"")
    with pytest.raises(errors.StateError, match="not complete"):
        i.split()
    complete(i, r)
    with pytest.raises(errors.StateError, match="already complete"):
        i.write_message()
    assert not i.my_turn and i.is_complete


def test_construction_is_checked() -> None:
    for name in ("Noise_XY_25519_ChaChaPoly_BLAKE2s", "Noise_XX_25519_RC4_BLAKE2s", "Noise_XX_25519_AESGCM_MD5",
                 "Noise_XX_P256_AESGCM_SHA256", "XX", "Noise_XXpsk9_25519_AESGCM_SHA256",
                 "Noise_XXpsk1+psk1_25519_AESGCM_SHA256", "Noise_XXfallback_25519_AESGCM_SHA256"):
        with pytest.raises(errors.ParameterError):
            HandshakeState(name, True, s=os.urandom(32))
    with pytest.raises(errors.ParameterError, match="needs 1 pre-shared key"):
        HandshakeState("Noise_NNpsk0_25519_AESGCM_SHA256", True)
    with pytest.raises(errors.ParameterError, match="pre-shared key is 32 bytes"):
        HandshakeState("Noise_NNpsk0_25519_AESGCM_SHA256", True, psks=[b"short"])
    with pytest.raises(errors.ParameterError, match="needs our static key"):
        HandshakeState(XX, True)
    with pytest.raises(errors.ParameterError, match="needs the peer's static key"):
        HandshakeState(IK, True, s=os.urandom(32))
    with pytest.raises(errors.ParameterError, match="initiator must be a bool"):
        HandshakeState(XX, 1, s=os.urandom(32))  # type: ignore[arg-type]
    with pytest.raises(errors.ParameterError, match="s must be"):
        HandshakeState(XX, True, s=b"short")
    with pytest.raises(errors.ParameterError, match="rs must be"):
        HandshakeState(IK, True, s=os.urandom(32), rs="stc-x25519-...")
    assert parse_protocol_name("Noise_XXpsk0+psk3_448_AESGCM_BLAKE2b").pattern.psks == 2


def test_no_secret_in_repr_and_no_pickling() -> None:
    identity = X25519Identity.generate()
    hs = HandshakeState(XX, True, s=identity)
    assert identity.secret_bytes().hex() not in repr(hs)
    with pytest.raises(errors.ParameterError, match="cannot be pickled"):
        pickle.dumps(hs)
    cs = CipherState(CIPHERS["AESGCM"], b"k" * 32)
    assert "6b6b" not in repr(cs)
    with pytest.raises(errors.ParameterError, match="cannot be pickled"):
        pickle.dumps(cs)


def test_cipher_state_nonce_limit_rekey_and_no_key() -> None:
    clear = CipherState(CIPHERS["ChaChaPoly"])
    assert clear.encrypt_with_ad(b"", b"in clear") == b"in clear" and not clear.has_key()
    with pytest.raises(errors.StateError, match="needs a key"):
        clear.rekey()
    tx, rx = CipherState(CIPHERS["AESGCM"], b"k" * 32), CipherState(CIPHERS["AESGCM"], b"k" * 32)
    tx.set_nonce(MAX_NONCE)
    rx.set_nonce(MAX_NONCE)
    assert rx.decrypt_with_ad(b"", tx.encrypt_with_ad(b"", b"last")) == b"last"
    with pytest.raises(errors.StateError, match="every nonce"):
        tx.encrypt_with_ad(b"", b"one more")
    with pytest.raises(errors.StateError, match="every nonce"):
        rx.decrypt_with_ad(b"", b"x" * 20)
    with pytest.raises(errors.ParameterError):
        tx.set_nonce(1 << 64)
    a, b = CipherState(CIPHERS["ChaChaPoly"], b"k" * 32), CipherState(CIPHERS["ChaChaPoly"], b"k" * 32)
    a.rekey()
    b.rekey()
    assert b.decrypt_with_ad(b"", a.encrypt_with_ad(b"", b"after rekey")) == b"after rekey"
    c = CipherState(CIPHERS["ChaChaPoly"], b"k" * 32)
    with pytest.raises(errors.IntegrityError):
        c.decrypt_with_ad(b"", a.encrypt_with_ad(b"", b"old key cannot open it"))
    assert c.n == 0  # a failed decryption does not advance the nonce
    with pytest.raises(errors.ParameterError, match="32 bytes"):
        CipherState(CIPHERS["AESGCM"], b"short")


def test_rekey_matches_the_independent_implementation() -> None:
    noise = pytest.importorskip("noise.connection", reason="noiseprotocol is not installed")
    name = "Noise_NN_25519_ChaChaPoly_BLAKE2s"
    us = HandshakeState(name, True)
    them = noise.NoiseConnection.from_name(name.encode())
    them.set_as_responder()
    them.start_handshake()
    them.read_message(us.write_message())
    us.read_message(bytes(them.write_message()))
    send, _ = us.split()
    send.rekey()
    them.noise_protocol.cipher_state_decrypt.rekey()
    assert bytes(them.decrypt(send.encrypt_with_ad(b"", b"rekeyed"))) == b"rekeyed"


def test_message_size_limit() -> None:
    i, r = HandshakeState(XX, True, s=os.urandom(32)), HandshakeState(XX, False, s=os.urandom(32))
    with pytest.raises(errors.HandshakeError, match="at most 65535"):
        i.write_message(bytes(65535))
    with pytest.raises(errors.HandshakeError, match="at most 65535"):
        r.read_message(bytes(65536))


def test_dh_448_and_fixed_keys() -> None:
    dh = DHS["448"]
    private, public = dh.generate()
    assert len(private) == 56 and len(public) == 56
    with pytest.raises(errors.ParameterError, match="56 bytes"):
        dh.keypair(b"x" * 32)


def test_a_psk_given_late() -> None:
    name = "Noise_NNpsk2_25519_ChaChaPoly_BLAKE2s"
    i, r = HandshakeState(name, True, psks=None), HandshakeState(name, False, psks=None)
    r.read_message(i.write_message(b"before the psk"))
    with pytest.raises(errors.StateError, match="add_psk"):
        r.write_message()
    r2 = HandshakeState(name, False, psks=None)
    r2.read_message(HandshakeState(name, True, psks=None).write_message())
    i.add_psk(b"p" * 32)
    r3 = HandshakeState(name, False, psks=[b"p" * 32])
    i2 = HandshakeState(name, True, psks=None)
    r3.read_message(i2.write_message())
    i2.add_psk(b"p" * 32)
    i2.read_message(r3.write_message(b"after"))
    assert i2.is_complete and i2.split_keys() == r3.split_keys()
    with pytest.raises(errors.StateError, match="takes 1 pre-shared"):
        i2.add_psk(b"p" * 32)
    with pytest.raises(errors.ParameterError, match="32 bytes"):
        HandshakeState(name, True, psks=None).add_psk(b"short")
    with pytest.raises(errors.StateError, match="not complete"):
        HandshakeState(name, True, psks=None).split_keys()


def _exact(message: str) -> str:
    import re

    return "^" + re.escape(message) + "$"


def test_messages_and_bounds_exactly() -> None:
    hs = HandshakeState(XX, True, s=os.urandom(32))
    with pytest.raises(errors.ParameterError, match=_exact("a HandshakeState holds private keys; it cannot be "
                                                           "pickled or copied")):
        hs.__reduce__()
    for call in (hs.split, hs.split_keys):
        with pytest.raises(errors.StateError, match=_exact("the Noise handshake is not complete yet")):
            call()
    cs = CipherState(CIPHERS["AESGCM"], b"k" * 32)
    with pytest.raises(errors.ParameterError, match=_exact("a CipherState holds a key and a nonce; it cannot be "
                                                           "pickled or copied")):
        cs.__reduce__()
    with pytest.raises(errors.StateError, match=_exact("rekey needs a key")):
        CipherState(CIPHERS["AESGCM"]).rekey()
    for bad in (-1, MAX_NONCE + 2, True, 1.0):
        with pytest.raises(errors.ParameterError, match=_exact("a Noise nonce is an integer in [0, 2**64 - 1]")):
            cs.set_nonce(bad)  # type: ignore[arg-type]
    for good in (0, 1, MAX_NONCE + 1):
        cs.set_nonce(good)
        assert cs.n == good
    with pytest.raises(errors.IntegrityError, match=_exact("a Noise message did not authenticate (wrong key, or "
                                                           "changed bytes)")):
        CipherState(CIPHERS["AESGCM"], b"k" * 32).decrypt_with_ad(b"", bytes(20))
    i, r = HandshakeState(XX, True, s=os.urandom(32)), HandshakeState(XX, False, s=os.urandom(32))
    r.read_message(i.write_message())
    message = bytearray(r.write_message())
    message[-1] ^= 1
    with pytest.raises(errors.HandshakeError, match=_exact(
            "a Noise handshake message did not authenticate (wrong key, wrong pre-shared key, another prologue, "
            "or changed bytes)")):
        i.read_message(bytes(message))


def test_rekey_known_answer() -> None:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

    key = bytes(range(32))
    for name, aead, nonce in (("AESGCM", AESGCM, b"\x00" * 4 + b"\xff" * 8),
                              ("ChaChaPoly", ChaCha20Poly1305, b"\x00" * 4 + b"\xff" * 8)):
        expected = aead(key).encrypt(nonce, bytes(32), b"")[:32]
        cs = CipherState(CIPHERS[name], key)
        cs.rekey()
        check = CipherState(CIPHERS[name], expected)
        assert cs.encrypt_with_ad(b"ad", b"x") == check.encrypt_with_ad(b"ad", b"x")


def test_psks_given_late_are_counted() -> None:
    name = "Noise_XXpsk0+psk3_25519_ChaChaPoly_BLAKE2s"
    i = HandshakeState(name, True, s=os.urandom(32), psks=None)
    i.add_psk(b"a" * 32)
    i.add_psk(b"b" * 32)
    with pytest.raises(errors.StateError, match=_exact(f"{name} takes 2 pre-shared key(s)")):
        i.add_psk(b"c" * 32)
    r = HandshakeState(name, False, s=os.urandom(32), psks=[b"a" * 32, b"b" * 32])
    complete(i, r)
    assert i.split_keys() == r.split_keys()
    late = HandshakeState("Noise_NNpsk0_25519_ChaChaPoly_BLAKE2s", True, psks=None)
    with pytest.raises(errors.StateError, match=_exact("this handshake message needs a pre-shared key: "
                                                       "add_psk() first")):
        late.write_message()


def test_a_token_without_its_key_is_a_handshake_error() -> None:
    hs = HandshakeState(XX, True, s=os.urandom(32))
    with pytest.raises(errors.HandshakeError, match=_exact("token 'ee' needs a key this side does not have")):
        hs._mix_dh("ee")  # before any ephemeral key exists
    hs.write_message()
    with pytest.raises(errors.HandshakeError, match=_exact("token 'es' needs a key this side does not have")):
        hs._mix_dh("es")  # the ephemeral exists, the peer's static does not


def test_more_messages_exactly() -> None:
    with pytest.raises(errors.ParameterError, match=_exact("initiator must be a bool")):
        HandshakeState(XX, None, s=os.urandom(32))  # type: ignore[arg-type]
    with pytest.raises(errors.ParameterError, match=_exact("rs must be an STC X25519 recipient or 32 raw public "
                                                           "bytes")):
        HandshakeState(IK, True, s=os.urandom(32), rs=b"short")
    with pytest.raises(errors.ParameterError, match=_exact("a Noise cipher key is 32 bytes")):
        CipherState(CIPHERS["AESGCM"], b"short")
    cs = CipherState(CIPHERS["AESGCM"], b"k" * 32)
    cs.set_nonce(MAX_NONCE + 1)
    with pytest.raises(errors.StateError, match=_exact("this Noise cipher state has used every nonce (2**64 - 1); "
                                                       "start a new session")):
        cs.encrypt_with_ad(b"", b"x")
    i, r = HandshakeState(XX, True, s=os.urandom(32)), HandshakeState(XX, False, s=os.urandom(32))
    complete(i, r)
    with pytest.raises(errors.StateError, match=_exact("the Noise handshake is already complete")):
        i.read_message(b"")
    i, r = HandshakeState(XX, True, s=os.urandom(32)), HandshakeState(XX, False, s=os.urandom(32))
    r.read_message(i.write_message())
    message = r.write_message()
    with pytest.raises(errors.HandshakeError, match=_exact("a Noise handshake message is too short (ephemeral key)")):
        i.read_message(message[:31])
    with pytest.raises(errors.StateError, match=_exact("this Noise handshake failed; start a new one")):
        i.read_message(message)


@pytest.mark.parametrize(("cut", "what"), [(32 + 47, "static key"), (32 + 48, "payload tag"),
                                           (32 + 48 + 15, "payload tag")])
def test_which_part_is_short_at_each_boundary(cut: int, what: str) -> None:
    i, r = HandshakeState(XX, True, s=os.urandom(32)), HandshakeState(XX, False, s=os.urandom(32))
    r.read_message(i.write_message())
    with pytest.raises(errors.HandshakeError, match=_exact(f"a Noise handshake message is too short ({what})")):
        i.read_message(r.write_message()[:cut])


def test_a_write_that_fails_spoils_the_handshake() -> None:
    low_order = bytes(32)  # the all-zero point: no shared secret
    hs = HandshakeState(IK, True, s=os.urandom(32), rs=low_order)
    with pytest.raises(errors.HandshakeError, match="low-order"):
        hs.write_message()
    with pytest.raises(errors.StateError, match=_exact("this Noise handshake failed; start a new one")):
        hs.write_message()


def test_the_largest_message_is_allowed() -> None:
    i = HandshakeState(XX, True, s=os.urandom(32))
    assert len(i.write_message(bytes(65535 - 32))) == 65535  # message 1 of XX: e, then the payload in clear
    r = HandshakeState(XX, False, s=os.urandom(32))
    i2 = HandshakeState(XX, True, s=os.urandom(32))
    assert len(r.read_message(i2.write_message(bytes(65535 - 32)))) == 65535 - 32


def test_late_psks_are_counted_once_each() -> None:
    name = "Noise_XXpsk0+psk3_25519_ChaChaPoly_BLAKE2s"
    i = HandshakeState(name, True, s=os.urandom(32), psks=None)
    r = HandshakeState(name, False, s=os.urandom(32), psks=[b"a" * 32, b"b" * 32])
    i.add_psk(b"a" * 32)
    r.read_message(i.write_message())  # psk0 used
    i.add_psk(b"b" * 32)  # one used, one given: allowed
    i.read_message(r.write_message())
    r.read_message(i.write_message())  # psk3 used
    assert i.is_complete and i.split_keys() == r.split_keys()
    with pytest.raises(errors.StateError, match=_exact(f"{name} takes 2 pre-shared key(s)")):
        i.add_psk(b"c" * 32)


@pytest.mark.parametrize(("name", "message"), [
    ("Noise_XX_25519_RC4_BLAKE2s", "unknown Noise cipher 'RC4'; known: AESGCM, ChaChaPoly"),
    ("Noise_XX_25519_AESGCM_MD5", "unknown Noise hash 'MD5'; known: SHA256, SHA512, BLAKE2s, BLAKE2b"),
    ("Noise_XX_P256_AESGCM_SHA256", "unknown Noise DH 'P256'; known: 25519, 448"),
    ("XX", "not a Noise protocol name: 'XX' (e.g. Noise_XX_25519_ChaChaPoly_BLAKE2s)"),
    ("Noise_XY_25519_AESGCM_SHA256", "unknown Noise handshake pattern 'XY' (fallback patterns are not supported)"),
    ("Noise_XXpsk9_25519_AESGCM_SHA256", "Noise modifier 'psk9' does not fit pattern 'XX'"),
    ("Noise_XXpsk1+psk1_25519_AESGCM_SHA256", "Noise modifier 'psk1' does not fit pattern 'XX'"),
])
def test_protocol_name_messages(name: str, message: str) -> None:
    with pytest.raises(errors.ParameterError, match=_exact(message)):
        parse_protocol_name(name)


def test_protocol_names_are_text_and_modifiers_default_to_none() -> None:
    from stc.p2p.noise.patterns import pattern

    with pytest.raises(errors.ParameterError, match="not a Noise protocol name"):
        parse_protocol_name(b"Noise_XX_25519_AESGCM_SHA256")  # type: ignore[arg-type]
    assert pattern("XX").psks == 0 and pattern("XX").name == "XX"
    with pytest.raises(errors.ParameterError, match=_exact("e must be an STC X25519 identity or 32 raw private bytes")):
        HandshakeState(XX, True, s=os.urandom(32), e=b"short")


def test_a_dh_token_needs_the_peer_key_too() -> None:
    hs = HandshakeState(XX, True, s=os.urandom(32))
    hs.write_message()  # our ephemeral exists; the peer's does not yet
    with pytest.raises(errors.HandshakeError, match=_exact("token 'ee' needs a key this side does not have")):
        hs._mix_dh("ee")


def test_a_static_key_known_in_advance_is_still_ours_to_give() -> None:
    # K and KK: the initiator's static is a pre-message (never sent), yet the pattern needs it.
    for name in ("Noise_K_25519_AESGCM_SHA256", "Noise_KK_25519_AESGCM_SHA256", "Noise_KN_25519_AESGCM_SHA256"):
        with pytest.raises(errors.ParameterError, match=_exact(f"{name} needs our static key s")):
            HandshakeState(name, True, rs=os.urandom(32))
