"""Session handshakes, datagrams and reassembly, error by error: each refusal with its exact
message, each bound at its edge, and the derivations against an independent HKDF.

The tests in test_session_handshake.py and test_session_wire.py show what each path does; these
pin the details mutation testing found loose (issue 24).
"""

from __future__ import annotations

import re
import sys

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from stc import errors
from stc.crypto.kdf import PROTOCOL
from stc.keys.recipients.x25519 import X25519Identity
from stc.p2p.noise import HandshakeState
from stc.p2p.session import fragments as fragments_module
from stc.p2p.session import handshake as hs
from stc.p2p.session import wire
from stc.p2p.session.fragments import Reassembler
from stc.p2p.session.handshake import InitiatorHandshake, ResponderHandshake
from stc.p2p.session.wire import Datagram, Fragment, fragments, parse_fragment

ALICE, BOB = X25519Identity.generate(), X25519Identity.generate()


def exactly(message: str) -> str:
    return "^" + re.escape(message) + "$"


def _hkdf(ikm: bytes, info: bytes, salt: bytes | None = None) -> bytes:
    return HKDF(hashes.SHA256(), 32, salt, PROTOCOL + info).derive(ikm)


class _FakeKem:
    """Stands in for the initiator's ML-KEM key to send a chosen payload."""

    def __init__(self, payload: bytes) -> None:
        self.payload = payload

    def public_key(self) -> _FakeKem:
        return self

    def public_bytes_raw(self) -> bytes:
        return self.payload


# ---- derivations --------------------------------------------------------------------------------

def test_psk_and_seed_are_the_documented_hkdfs() -> None:
    assert hs._psk(b"k" * 32) == _hkdf(b"k" * 32, b"p2p pake psk")
    i = InitiatorHandshake(identity=ALICE, peer=BOB.recipient)
    r = ResponderHandshake(i.first_message(), identity=BOB)
    i.read_response(r.response())
    k1, k2 = i._hs.split_keys()
    assert i.keys is not None
    assert i.keys.seed == _hkdf(k1 + k2, b"p2p noise session", salt=i._hs.handshake_hash)


def test_spake_identities_are_the_documented_ones() -> None:
    from spake2 import SPAKE2_B

    mine = hs._spake("1-a-b", True)
    theirs = SPAKE2_B(b"1-a-b", idA=b"stc p2p initiator", idB=b"stc p2p responder")
    first = mine.start()  # type: ignore[attr-defined]
    assert mine.finish(theirs.start()) == theirs.finish(first)  # type: ignore[attr-defined]


def test_code_mode_without_spake2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "spake2", None)
    with pytest.raises(errors.ParameterError,
                       match=exactly("code mode needs the spake2 package: pip install 'stc-authenc[p2p]'")):
        hs._spake("1-a-b", True)


# ---- exact refusals ------------------------------------------------------------------------------

def test_parameter_messages() -> None:
    with pytest.raises(errors.ParameterError, match=exactly("a code is a non-empty string such as 7-guitar-ocean")):
        hs.code_bytes(" ")
    with pytest.raises(errors.ParameterError, match=exactly(
            "give either an identity (with or without the peer's key) or a code")):
        InitiatorHandshake()
    with pytest.raises(errors.ParameterError, match=exactly(
            "code mode has no peer key; give identity= and peer= instead")):
        InitiatorHandshake(code="1-a-b", peer=BOB.recipient)
    from stc.keys.recipients import generate_identity

    hybrid = generate_identity("mlkem768x25519")
    with pytest.raises(errors.ParameterError, match=exactly(
            "sessions are authenticated by X25519 identities (stc keygen); this one is of another kind")):
        hs.x25519_identity(hybrid)
    with pytest.raises(errors.ParameterError, match=exactly(
            "sessions are authenticated by X25519 keys (stc-x25519-…); this recipient is of another kind")):
        hs.x25519_recipient(hybrid.recipient)


def test_responder_messages() -> None:
    first = InitiatorHandshake(identity=ALICE, peer=BOB.recipient).first_message()
    cases = [
        (b"", {"identity": BOB}, "an empty handshake message"),
        (b"\x00" + first[1:], {"identity": BOB}, "unknown handshake mode 0x00"),
        (first, {"identity": BOB, "pq": True},
         "this listener requires post-quantum sessions (pq=True); the initiator did not offer one"),
        (InitiatorHandshake(code="1-a-b").first_message(), {"identity": BOB},
         "the initiator uses a code, and this listener has none"),
        (first, {"code": "1-a-b"}, "the initiator uses identities, and this listener has none"),
        (bytes((hs.MODE_CODE,)) + bytes(hs.SPAKE_SIZE - 1), {"code": "1-a-b"},
         "the first message is too short for its PAKE message"),
    ]
    for data, options, message in cases:
        with pytest.raises(errors.HandshakeError, match=exactly(message)):
            ResponderHandshake(data, **options)  # type: ignore[arg-type]
    with pytest.raises(errors.HandshakeError, match=r"^the initiator's PAKE message is malformed \(\w+\)$") as info:
        ResponderHandshake(bytes((hs.MODE_CODE,)) + bytes(hs.SPAKE_SIZE + 32), code="1-a-b")
    assert "NoneType" not in str(info.value)
    # exactly a PAKE message and nothing after it: past the length check, refused by Noise
    with pytest.raises(errors.HandshakeError) as short:
        ResponderHandshake(InitiatorHandshake(code="1-a-b").first_message()[: 1 + hs.SPAKE_SIZE], code="1-a-b")
    assert "too short for its PAKE" not in str(short.value)


def test_initiator_messages() -> None:
    i = InitiatorHandshake(code="1-a-b")
    first = i.first_message()
    r = ResponderHandshake(first, code="1-a-b")
    reply = r.response()
    with pytest.raises(errors.HandshakeError) as short:
        InitiatorHandshake(code="1-a-b").read_response(reply[: hs.SPAKE_SIZE])
    assert "too short for its PAKE" not in str(short.value)
    with pytest.raises(errors.HandshakeError, match=exactly("the responder's reply is too short for its PAKE message")):
        InitiatorHandshake(code="1-a-b").read_response(reply[: hs.SPAKE_SIZE - 1])
    j = InitiatorHandshake(code="1-a-b")
    j.first_message()
    with pytest.raises(errors.HandshakeError, match=r"^the responder's PAKE message is malformed \(\w+\)$") as info:
        j.read_response(bytes(hs.SPAKE_SIZE + 48))
    assert "NoneType" not in str(info.value)
    i.read_response(reply)
    with pytest.raises(errors.StateError, match=exactly("this handshake is complete")):
        i.read_response(reply)


def test_a_failed_xx_reply_keeps_noises_own_message() -> None:
    i = InitiatorHandshake(identity=ALICE)
    r = ResponderHandshake(i.first_message(), identity=BOB)
    reply = bytearray(r.response())
    reply[-1] ^= 1
    with pytest.raises(errors.HandshakeError) as xx:
        i.read_response(bytes(reply))
    assert str(xx.value) and "wrong code" not in str(xx.value) and str(xx.value) != "None"
    k = InitiatorHandshake(identity=ALICE, peer=BOB.recipient)
    r = ResponderHandshake(k.first_message(), identity=BOB)
    reply = bytearray(r.response())
    reply[-1] ^= 1
    with pytest.raises(errors.HandshakeError, match=r" \(a wrong code, or not the peer named\?\)$"):
        k.read_response(bytes(reply))


def test_unexpected_payloads() -> None:
    i = InitiatorHandshake(identity=ALICE, peer=BOB.recipient)
    i._kem = _FakeKem(b"surprise")  # type: ignore[assignment]
    with pytest.raises(errors.HandshakeError, match=exactly("unexpected payload in the first handshake message")):
        ResponderHandshake(i.first_message(), identity=BOB)
    i = InitiatorHandshake(identity=ALICE, peer=BOB.recipient)
    r = ResponderHandshake(i.first_message(), identity=BOB)
    r._kem_ciphertext = b"surprise"
    with pytest.raises(errors.HandshakeError, match=exactly("unexpected payload in the responder's handshake message")):
        i.read_response(r.response())
    i = InitiatorHandshake(identity=ALICE, peer=BOB.recipient, pq=True)
    r = ResponderHandshake(i.first_message(), identity=BOB)
    r._kem_ciphertext = b""
    no_answer = "the responder did not answer the post-quantum key exchange"
    with pytest.raises(errors.HandshakeError, match=exactly(no_answer)):
        i.read_response(r.response())
    i = InitiatorHandshake(identity=ALICE)
    r = ResponderHandshake(i.first_message(), identity=BOB)
    reply = r.response()
    i._hs.write_message = lambda payload=b"": HandshakeState.write_message(i._hs, b"surprise")  # type: ignore[method-assign]
    final = i.read_response(reply)
    assert final is not None
    with pytest.raises(errors.HandshakeError, match=exactly("unexpected payload in the final handshake message")):
        r.read_final(final)


@pytest.mark.parametrize("payload", [bytes(100), b"\xff" * hs.KEM_PUBLIC])
def test_malformed_post_quantum_keys(payload: bytes) -> None:
    i = InitiatorHandshake(identity=ALICE, peer=BOB.recipient, pq=True)
    i._kem = _FakeKem(payload)  # type: ignore[assignment]
    with pytest.raises(errors.HandshakeError, match=exactly("the initiator's post-quantum key is malformed")):
        ResponderHandshake(i.first_message(), identity=BOB)


def test_peer_checks_see_the_initiator() -> None:
    seen: list[object] = []
    first = InitiatorHandshake(identity=ALICE, peer=BOB.recipient).first_message()
    r = ResponderHandshake(first, identity=BOB, peers=lambda key: seen.append(key) or True)
    assert seen == [ALICE.recipient] and r.keys is None
    ResponderHandshake(first, identity=BOB, peers=[ALICE.recipient])  # a list naming the initiator admits it
    i = InitiatorHandshake(identity=ALICE)
    r = ResponderHandshake(i.first_message(), identity=BOB, peers=[ALICE.recipient])
    final = i.read_response(r.response())
    r.read_final(final)  # type: ignore[arg-type]
    assert r.keys is not None and r.keys.peer == ALICE.recipient
    with pytest.raises(errors.StateError, match=exactly("this handshake is complete")):
        r.read_final(final)  # type: ignore[arg-type]


def test_a_code_listener_ignores_its_identity() -> None:
    i = InitiatorHandshake(code="1-a-b")
    r = ResponderHandshake(i.first_message(), code="1-a-b", identity=BOB)
    i.read_response(r.response())
    assert i.keys is not None and r.keys is not None and i.keys.seed == r.keys.seed and r.keys.peer is None


def test_a_failed_noise_handshake_stays_failed() -> None:
    responder = HandshakeState("Noise_NN_25519_ChaChaPoly_BLAKE2s", False)
    with pytest.raises(errors.HandshakeError):
        responder.read_message(b"short")
    with pytest.raises(errors.StateError, match=exactly("this Noise handshake failed; start a new one")):
        responder.read_message(bytes(32))
    oversized = HandshakeState("Noise_NN_25519_ChaChaPoly_BLAKE2s", False)
    with pytest.raises(errors.HandshakeError):
        oversized.read_message(bytes(65536))  # longer than any Noise message
    with pytest.raises(errors.StateError, match=exactly("this Noise handshake failed; start a new one")):
        oversized.read_message(bytes(32))


# ---- datagrams -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("data", "message"), [
    (b"", "not an STC session handshake datagram"),
    (b"\x01" + bytes(4 + wire.COOKIE_SIZE), "handshake initiation too short"),
    (b"\x02" + bytes(8), "handshake response too short"),
    (b"\x03" + bytes(4), "handshake datagram too short"),
    (b"\x04" + bytes(4) + bytes(17), "a cookie reply carries exactly 16 bytes"),
    (b"\x03" + bytes(4) + bytes(wire.MAX_HANDSHAKE + 1), "handshake datagram too long"),
])
def test_datagram_messages(data: bytes, message: str) -> None:
    with pytest.raises(errors.FormatError, match=exactly(message)):
        Datagram.from_bytes(data)


def test_datagram_lengths_at_their_edges() -> None:
    assert Datagram.from_bytes(b"\x01" + bytes(4 + wire.COOKIE_SIZE + 1)).body == b"\x00"
    assert Datagram.from_bytes(b"\x02" + bytes(9)).body == b"\x00"
    assert Datagram.from_bytes(b"\x03" + bytes(5)).body == b"\x00"
    assert Datagram.from_bytes(b"\x04" + bytes(4 + wire.COOKIE_SIZE)).body == bytes(16)
    assert len(Datagram.from_bytes(b"\x03" + bytes(4) + bytes(wire.MAX_HANDSHAKE)).body) == wire.MAX_HANDSHAKE


def test_fragment_messages_and_edges() -> None:
    with pytest.raises(errors.FormatError, match=exactly("not an STC session data datagram")):
        parse_fragment(b"\x05" + bytes(12))
    for number, count in ((0, 0), (1, 1)):
        bad = bytes((wire.DATA,)) + bytes(8) + number.to_bytes(2, "big") + count.to_bytes(2, "big") + b"x"
        with pytest.raises(errors.FormatError, match=exactly("fragment number out of range")):
            parse_fragment(bad)
    assert parse_fragment(Fragment(1, 2, 0, 1, b"x").to_bytes()) == (1, 2, 0, 1, b"x")
    room = 3
    assert len(fragments(1, 1, bytes(room * 0xFFFF), room + wire.FRAGMENT_HEADER)) == 0xFFFF
    with pytest.raises(errors.FormatError, match=exactly("a frame this large needs more than 65,535 fragments")):
        fragments(1, 1, bytes(room * 0xFFFF + 1), room + wire.FRAGMENT_HEADER)


# ---- reassembly ----------------------------------------------------------------------------------

def test_reassembly_bounds_at_their_edges() -> None:
    r = Reassembler(100)
    assert (r.slots, r.min_piece, r.max_piece, r.max_count) == (16, 499, 65494, 1)
    assert (fragments_module.MIN_PIECE, fragments_module.MAX_PIECE) == (512 - 13, 65507 - 13)
    r = Reassembler(max_packet=25, min_piece=10)
    assert r.max_count == 3
    parts = [r.add(Fragment(1, 7, n, 3, bytes(10) if n < 2 else b"end")) for n in range(3)]
    assert parts[-1] == bytes(20) + b"end" and r.malformed == 0
    # the length of the pieces against the limit: (count - 1) full pieces and at least a byte
    r = Reassembler(max_packet=25, min_piece=10)
    assert r.add(Fragment(1, 8, 0, 3, bytes(12))) is None and r.malformed == 0  # 2 * 12 + 1 = 25: fits
    assert r.add(Fragment(1, 9, 0, 3, bytes(13))) is None and r.malformed == 1  # 2 * 13 + 1 = 27: over
    assert r.add(Fragment(1, 8, 2, 3, bytes(12))) is None and r.malformed == 1  # a last piece as long
    assert r.add(Fragment(1, 8, 1, 3, bytes(12))) == bytes(36)
    r = Reassembler(max_packet=100, min_piece=10, max_piece=20)
    assert r.add(Fragment(1, 1, 1, 2, bytes(21))) is None and r.malformed == 1  # longer than any piece
    assert r.add(Fragment(1, 1, 1, 2, bytes(20))) is None and r.malformed == 1


def test_reassembly_counts_each_drop_once() -> None:
    r = Reassembler(max_packet=100, min_piece=10, slots=1)
    r.add(Fragment(1, 1, 0, 2, bytes(10)))
    assert r.add(Fragment(1, 1, 1, 3, bytes(10))) is None  # same frame, another count
    assert r.malformed == 1
    r.add(Fragment(1, 1, 0, 11, bytes(10)))  # more pieces than the largest packet needs
    assert r.malformed == 2
    r.add(Fragment(1, 1, 1, 4, bytes(10)))  # another count again
    assert r.malformed == 3
    r.add(Fragment(1, 2, 0, 2, bytes(10)))  # evicts frame 1
    r.add(Fragment(1, 3, 0, 2, bytes(10)))  # evicts frame 2
    assert r.lost == 2 and r.pending() == 1
    assert r.add(Fragment(1, 1, 1, 2, b"x")) is None and r.add(Fragment(1, 2, 1, 2, b"x")) is None  # given up
    assert r.pending() == 1 and r.lost == 2  # a given-up frame's late pieces start nothing (and evict nothing)


def test_reassembly_forgets_all_but_the_most_recent() -> None:
    r = Reassembler(max_packet=100, min_piece=10, slots=2)
    for frame in range(8):  # 4 * slots frame numbers are remembered as they are
        r.add(Fragment(1, frame, 0, 2, bytes(10)))
        r.add(Fragment(1, frame, 1, 2, b"end"))
    assert r._done == set(range(8))
    r.add(Fragment(1, 8, 0, 2, bytes(10)))
    r.add(Fragment(1, 8, 1, 2, b"end"))  # one more: only the newest 2 * slots stay
    assert r._done == {5, 6, 7, 8}
