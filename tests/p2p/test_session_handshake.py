"""The session handshakes without I/O: modes, the PAKE's offline resistance, post-quantum mixing,
and every refusal."""

from __future__ import annotations

import pytest

from stc import errors
from stc.keys.recipients.x25519 import X25519Identity
from stc.p2p.session import handshake as hs
from stc.p2p.session.handshake import InitiatorHandshake, ResponderHandshake

ALICE, BOB = X25519Identity.generate(), X25519Identity.generate()


def complete(i: InitiatorHandshake, **responder: object) -> ResponderHandshake:
    r = ResponderHandshake(i.first_message(), **responder)  # type: ignore[arg-type]
    final = i.read_response(r.response())
    if final is not None:
        r.read_final(final)
    return r


@pytest.mark.parametrize(("initiator", "responder", "mode"), [
    ({"identity": ALICE, "peer": BOB.recipient}, {"identity": BOB}, hs.MODE_IK),
    ({"identity": ALICE}, {"identity": BOB}, hs.MODE_XX),
    ({"code": "1-a-b"}, {"code": "1-a-b"}, hs.MODE_CODE),
])
@pytest.mark.parametrize("pq", [False, True])
def test_both_sides_get_the_same_keys(initiator: dict[str, object], responder: dict[str, object], mode: int,
                                      pq: bool) -> None:
    i = InitiatorHandshake(pq=pq, **initiator)  # type: ignore[arg-type]
    assert i.mode == mode
    r = complete(i, **responder)
    assert i.keys is not None and r.keys is not None
    assert i.keys.seed == r.keys.seed and i.keys.handshake_hash == r.keys.handshake_hash
    assert (i.keys.role, r.keys.role) == ("initiator", "responder") and i.keys.pq == r.keys.pq == pq
    assert "seed" not in repr(i.keys) or i.keys.seed.hex() not in repr(i.keys)
    if mode != hs.MODE_CODE:
        assert i.keys.peer == BOB.recipient and r.keys.peer == ALICE.recipient
    with pytest.raises(errors.StateError):
        i.read_response(b"again")


def test_the_kem_secret_is_in_the_seed() -> None:
    # Same Noise keys, different KEM secret: a different session seed (the hybrid combiner).
    i = InitiatorHandshake(code="1-a-b", pq=True)
    r = complete(i, code="1-a-b")
    assert i.keys is not None and r.keys is not None
    noise_only = hs.hkdf(b"".join(i._hs.split_keys()), b"p2p noise session", salt=i._hs.handshake_hash)
    assert i.keys.seed != noise_only
    assert i.keys.seed == hs._seed(i._hs, r._kem_secret)


def test_a_recorded_code_handshake_gives_no_offline_test_of_the_code(monkeypatch: pytest.MonkeyPatch) -> None:
    code = "7-guitar-ocean"
    made: list[bytes] = []
    real = hs._psk
    monkeypatch.setattr(hs, "_psk", lambda key: made.append(real(key)) or made[-1])
    i = InitiatorHandshake(code=code)
    first = i.first_message()
    r = ResponderHandshake(first, code=code)
    response = r.response()
    i.read_response(response)
    assert len(made) == 2 and made[0] == made[1]  # both sides used the same PSK
    spake_a, spake_b = first[1:1 + hs.SPAKE_SIZE], response[:hs.SPAKE_SIZE]
    # An observer holding the transcript, even with the right code, cannot compute that PSK: each
    # PAKE message hides a fresh secret scalar, so the only way to check a guess is to run a live
    # handshake with one of the peers (one guess per attempt).
    for initiator_side, recorded in ((True, spake_b), (False, spake_a)):
        guess = hs._spake(code, initiator_side)
        guess.start()  # type: ignore[attr-defined]
        assert real(guess.finish(recorded)) != made[0]  # type: ignore[attr-defined]
    # nor can the recorded reply be replayed to someone holding the code: it answers another PAKE message
    replay = InitiatorHandshake(code=code)
    replay.first_message()
    with pytest.raises(errors.HandshakeError):
        replay.read_response(response)


def test_wrong_code_fails_at_the_initiator() -> None:
    i = InitiatorHandshake(code="1-a-b")
    r = ResponderHandshake(i.first_message(), code="1-a-c")
    with pytest.raises(errors.HandshakeError, match="wrong code"):
        i.read_response(r.response())


def test_codes_are_canonical() -> None:
    assert hs.code_bytes("  7-Guitar-OCEAN ") == b"7-guitar-ocean"
    for bad in ("", "   ", None, 7):
        with pytest.raises(errors.ParameterError):
            hs.code_bytes(bad)  # type: ignore[arg-type]


def test_refusals() -> None:
    first = InitiatorHandshake(identity=ALICE, peer=BOB.recipient).first_message()
    with pytest.raises(errors.HandshakeError, match="empty"):
        ResponderHandshake(b"", identity=BOB)
    with pytest.raises(errors.HandshakeError, match="unknown handshake mode"):
        ResponderHandshake(bytes((9,)) + first[1:], identity=BOB)
    with pytest.raises(errors.HandshakeError, match="unknown handshake mode"):
        ResponderHandshake(bytes((first[0] | 0x04,)) + first[1:], identity=BOB)
    with pytest.raises(errors.HandshakeError):  # the mode byte is in the prologue: IK read as XX fails
        ResponderHandshake(bytes((hs.MODE_XX,)) + first[1:], identity=BOB)
    with pytest.raises(errors.HandshakeError, match="uses identities"):
        ResponderHandshake(first, code="1-a-b")
    with pytest.raises(errors.HandshakeError, match="uses a code"):
        ResponderHandshake(InitiatorHandshake(code="1-a-b").first_message(), identity=BOB)
    with pytest.raises(errors.HandshakeError, match="requires post-quantum"):
        ResponderHandshake(first, identity=BOB, pq=True)
    with pytest.raises(errors.HandshakeError, match="too short for its PAKE"):
        ResponderHandshake(bytes((hs.MODE_CODE,)) + b"short", code="1-a-b")
    with pytest.raises(errors.HandshakeError, match="PAKE message is malformed"):
        ResponderHandshake(bytes((hs.MODE_CODE,)) + bytes(hs.SPAKE_SIZE + 32), code="1-a-b")
    i = InitiatorHandshake(code="1-a-b")
    i.first_message()
    with pytest.raises(errors.HandshakeError, match="too short for its PAKE"):
        i.read_response(b"short")
    i = InitiatorHandshake(code="1-a-b")
    i.first_message()
    with pytest.raises(errors.HandshakeError, match="PAKE message is malformed"):
        i.read_response(bytes(hs.SPAKE_SIZE + 48))
    with pytest.raises(errors.HandshakeError, match="not among the peers"):
        ResponderHandshake(first, identity=BOB, peers=lambda r: False)
    xx = InitiatorHandshake(identity=ALICE)
    r = ResponderHandshake(xx.first_message(), identity=BOB, peers=[BOB.recipient])
    assert r.needs_final
    final = xx.read_response(r.response())
    with pytest.raises(errors.HandshakeError, match="not among the peers"):
        r.read_final(final)  # type: ignore[arg-type]


def test_post_quantum_payloads_are_checked() -> None:
    plain = InitiatorHandshake(identity=ALICE, peer=BOB.recipient)
    first = bytearray(plain.first_message())
    first[0] |= hs.FLAG_PQ  # claims pq, carries no KEM key: the prologue differs, Noise refuses
    with pytest.raises(errors.HandshakeError):
        ResponderHandshake(bytes(first), identity=BOB)
    i = InitiatorHandshake(identity=ALICE, peer=BOB.recipient, pq=True)
    r = ResponderHandshake(i.first_message(), identity=BOB)
    r._kem_ciphertext = b""  # a responder that does not answer the KEM
    with pytest.raises(errors.HandshakeError, match="did not answer the post-quantum"):
        i.read_response(r.response())


def test_construction_rules() -> None:
    with pytest.raises(errors.ParameterError, match="either an identity"):
        InitiatorHandshake()
    with pytest.raises(errors.ParameterError, match="either an identity"):
        InitiatorHandshake(identity=ALICE, code="1-a-b")
    with pytest.raises(errors.ParameterError, match="code mode has no peer key"):
        InitiatorHandshake(code="1-a-b", peer=BOB.recipient)


def test_only_x25519_keys_authenticate_sessions() -> None:
    from stc.keys.recipients import generate_identity

    hybrid = generate_identity("mlkem768x25519")
    with pytest.raises(errors.ParameterError, match="X25519 identities"):
        InitiatorHandshake(identity=hybrid)
    with pytest.raises(errors.ParameterError, match="X25519 keys"):
        InitiatorHandshake(identity=ALICE, peer=hybrid.recipient)
    with pytest.raises(errors.ParameterError, match="X25519 identities"):
        ResponderHandshake(b"\x01", identity=hybrid)
