"""The handshakes of STC sessions, without any I/O: Noise in three modes, an optional ML-KEM.

- **identity, peer known**: ``Noise_IK_25519_ChaChaPoly_BLAKE2s`` (the initiator names the
  responder's key; only that key can read the first message);
- **identity, peer not known**: ``Noise_XX_25519_ChaChaPoly_BLAKE2s`` (both statics sent
  encrypted; the initiator learns who answered);
- **code**: SPAKE2 (``spake2``, as magic-wormhole uses) over the short code, its key as the
  pre-shared key of ``Noise_NNpsk2_25519_ChaChaPoly_BLAKE2s``, in the same round trip.

With ``pq``, the initiator's first payload carries an ML-KEM-768 public key and the responder's
reply its ciphertext (both inside the transcript); the KEM secret is mixed into the session
seed beside the Noise keys (docs/design.md, "P2P sessions").  The first byte of the first
message says the mode and is in the prologue, so a changed mode fails the handshake.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric import mlkem

from ...crypto.kdf import hkdf
from ...errors import HandshakeError, ParameterError, StateError
from ...keys.recipients.base import Identity, Recipient
from ...keys.recipients.x25519 import X25519Identity, X25519Recipient
from ..noise import HandshakeState

MODE_IK, MODE_XX, MODE_CODE = 1, 2, 3
FLAG_PQ = 0x80
PROTOCOLS = {MODE_IK: "Noise_IK_25519_ChaChaPoly_BLAKE2s", MODE_XX: "Noise_XX_25519_ChaChaPoly_BLAKE2s",
             MODE_CODE: "Noise_NNpsk2_25519_ChaChaPoly_BLAKE2s"}
PROLOGUE = b"STC P2P session v1 mode "
SPAKE_SIZE = 33
KEM_PUBLIC, KEM_CIPHERTEXT = 1184, 1088
_IDS = (b"stc p2p initiator", b"stc p2p responder")

Peers = Iterable[Recipient] | Callable[[X25519Recipient], bool] | None


def x25519_identity(identity: Identity | None) -> X25519Identity | None:
    """``identity`` if it is an X25519 one (sessions are authenticated by X25519 keys)."""
    if identity is None or isinstance(identity, X25519Identity):
        return identity
    raise ParameterError("sessions are authenticated by X25519 identities (stc keygen); this one is of another kind")


def x25519_recipient(recipient: Recipient | None) -> X25519Recipient | None:
    """``recipient`` if it is an X25519 one."""
    if recipient is None or isinstance(recipient, X25519Recipient):
        return recipient
    raise ParameterError("sessions are authenticated by X25519 keys (stc-x25519-…); this recipient is of another kind")


@dataclass(frozen=True)
class SessionKeys:
    """What a completed handshake gives a session: its seed (secret), role, transcript hash and
    the peer's static key (None in code mode)."""

    seed: bytes = field(repr=False)
    role: str
    handshake_hash: bytes
    peer: X25519Recipient | None
    pq: bool


def _spake(code: str, initiator: bool) -> object:
    try:
        from spake2 import SPAKE2_A, SPAKE2_B
    except ImportError:  # pragma: no cover - the p2p extra is installed with the tests
        raise ParameterError("code mode needs the spake2 package: pip install 'stc-authenc[p2p]'") from None
    return (SPAKE2_A if initiator else SPAKE2_B)(code_bytes(code), idA=_IDS[0], idB=_IDS[1])


def code_bytes(code: str) -> bytes:
    """The canonical bytes of a code: trimmed, lower case, UTF-8 (so "7-Guitar-Ocean " matches)."""
    if not isinstance(code, str) or not code.strip():
        raise ParameterError("a code is a non-empty string such as 7-guitar-ocean")
    return code.strip().lower().encode("utf-8")


def _psk(spake_key: bytes) -> bytes:
    return hkdf(spake_key, b"p2p pake psk")


def _seed(hs: HandshakeState, kem_secret: bytes) -> bytes:
    k1, k2 = hs.split_keys()
    return hkdf(k1 + k2 + kem_secret, b"p2p noise session", salt=hs.handshake_hash)


def _allowed(peers: Peers, peer: X25519Recipient) -> bool:
    if peers is None:
        return True
    if callable(peers):
        return bool(peers(peer))
    return peer in list(peers)


class InitiatorHandshake:
    """The connecting side: :meth:`first_message`, then :meth:`read_response` (which returns the
    third message for XX), then :attr:`keys`."""

    def __init__(self, *, identity: Identity | None = None, peer: Recipient | None = None,
                 code: str | None = None, pq: bool = False) -> None:
        identity, peer = x25519_identity(identity), x25519_recipient(peer)
        if (code is None) == (identity is None):
            raise ParameterError("give either an identity (with or without the peer's key) or a code")
        if code is not None and peer is not None:
            raise ParameterError("code mode has no peer key; give identity= and peer= instead")
        self.mode = MODE_CODE if code is not None else MODE_IK if peer is not None else MODE_XX
        self.pq, self.peer = bool(pq), peer
        self._mode_byte = self.mode | (FLAG_PQ if pq else 0)
        prologue = PROLOGUE + bytes((self._mode_byte,))
        self._spake = _spake(code, True) if code is not None else None
        self._hs = HandshakeState(PROTOCOLS[self.mode], True, s=identity, rs=peer,
                                  psks=None if self.mode == MODE_CODE else (), prologue=prologue)
        self._kem = mlkem.MLKEM768PrivateKey.generate() if pq else None
        self.keys: SessionKeys | None = None

    def first_message(self) -> bytes:
        """Mode byte, then (code mode) the SPAKE2 message, then Noise's first message."""
        spake = self._spake.start() if self._spake is not None else b""  # type: ignore[attr-defined]
        payload = self._kem.public_key().public_bytes_raw() if self._kem is not None else b""
        return bytes((self._mode_byte,)) + spake + self._hs.write_message(payload)

    def read_response(self, message: bytes) -> bytes | None:
        """Read the responder's reply; returns the final message to send (XX) or None."""
        if self.keys is not None:
            raise StateError("this handshake is complete")
        data = bytes(message)
        if self._spake is not None:
            if len(data) < SPAKE_SIZE:
                raise HandshakeError("the responder's reply is too short for its PAKE message")
            try:
                key = self._spake.finish(data[:SPAKE_SIZE])  # type: ignore[attr-defined]
            except Exception as exc:  # spake2 raises its own SPAKEError or ValueError for bad points
                raise HandshakeError(f"the responder's PAKE message is malformed ({type(exc).__name__})") from None
            self._hs.add_psk(_psk(key))
            data = data[SPAKE_SIZE:]
        try:
            payload = self._hs.read_message(data)
        except HandshakeError as exc:
            raise HandshakeError(f"{exc} (a wrong code, or not the peer named?)" if self.mode != MODE_XX
                                 else str(exc)) from None
        kem_secret = b""
        if self._kem is not None:
            if len(payload) != KEM_CIPHERTEXT:
                raise HandshakeError("the responder did not answer the post-quantum key exchange")
            kem_secret = self._kem.decapsulate(payload)
        elif payload:
            raise HandshakeError("unexpected payload in the responder's handshake message")
        final = self._hs.write_message() if not self._hs.is_complete else None
        remote = self._hs.remote_static
        assert remote is None or isinstance(remote, X25519Recipient)
        self.keys = SessionKeys(_seed(self._hs, kem_secret), "initiator", self._hs.handshake_hash, remote, self.pq)
        return final


class ResponderHandshake:
    """The listening side, made from the first message: :meth:`response`, then (XX)
    :meth:`read_final`; :attr:`keys` once complete.  Refusals are HandshakeError."""

    def __init__(self, first: bytes, *, identity: Identity | None = None, peers: Peers = None,
                 code: str | None = None, pq: bool = False) -> None:
        identity = x25519_identity(identity)
        data = bytes(first)
        if not data:
            raise HandshakeError("an empty handshake message")
        mode_byte = data[0]
        self.mode, self.pq = mode_byte & ~FLAG_PQ, bool(mode_byte & FLAG_PQ)
        if self.mode not in PROTOCOLS or mode_byte & 0x7C:
            raise HandshakeError(f"unknown handshake mode {mode_byte:#04x}")
        if pq and not self.pq:
            raise HandshakeError("this listener requires post-quantum sessions (pq=True); "
                                 "the initiator did not offer one")
        if self.mode == MODE_CODE and code is None:
            raise HandshakeError("the initiator uses a code, and this listener has none")
        if self.mode != MODE_CODE and identity is None:
            raise HandshakeError("the initiator uses identities, and this listener has none")
        self._peers = peers
        data = data[1:]
        spake_reply, psks = b"", tuple[bytes, ...]()
        if self.mode == MODE_CODE:
            if len(data) < SPAKE_SIZE:
                raise HandshakeError("the first message is too short for its PAKE message")
            spake = _spake(code, False)  # type: ignore[arg-type]
            spake_reply = spake.start()  # type: ignore[attr-defined]
            try:
                psks = (_psk(spake.finish(data[:SPAKE_SIZE])),)  # type: ignore[attr-defined]
            except Exception as exc:
                raise HandshakeError(f"the initiator's PAKE message is malformed ({type(exc).__name__})") from None
            data = data[SPAKE_SIZE:]
        self._spake_reply = spake_reply
        self._hs = HandshakeState(PROTOCOLS[self.mode], False, s=identity if self.mode != MODE_CODE else None,
                                  psks=psks, prologue=PROLOGUE + bytes((mode_byte,)))
        payload = self._hs.read_message(data)
        self._kem_ciphertext, self._kem_secret = b"", b""
        if self.pq:
            if len(payload) != KEM_PUBLIC:
                raise HandshakeError("the initiator's post-quantum key is malformed")
            try:
                self._kem_secret, self._kem_ciphertext = \
                    mlkem.MLKEM768PublicKey.from_public_bytes(payload).encapsulate()
            except ValueError:
                raise HandshakeError("the initiator's post-quantum key is malformed") from None
        elif payload:
            raise HandshakeError("unexpected payload in the first handshake message")
        if self.mode == MODE_IK:
            self._check_peer()
        self.keys: SessionKeys | None = None

    def _check_peer(self) -> None:
        remote = self._hs.remote_static
        assert isinstance(remote, X25519Recipient)
        if not _allowed(self._peers, remote):
            raise HandshakeError(f"initiator {remote.to_string()} is not among the peers this listener accepts")

    def _complete(self) -> None:
        remote = self._hs.remote_static
        assert remote is None or isinstance(remote, X25519Recipient)
        self.keys = SessionKeys(_seed(self._hs, self._kem_secret), "responder", self._hs.handshake_hash,
                                remote, self.pq)

    def response(self) -> bytes:
        """(Code mode) our SPAKE2 message, then Noise's second message."""
        out = self._spake_reply + self._hs.write_message(self._kem_ciphertext)
        if self._hs.is_complete:
            self._complete()
        return out

    def read_final(self, message: bytes) -> None:
        """XX only: the initiator's static key arrives; refused unless it is an allowed peer."""
        if self._hs.is_complete:
            raise StateError("this handshake is complete")
        if self._hs.read_message(bytes(message)):
            raise HandshakeError("unexpected payload in the final handshake message")
        self._check_peer()
        self._complete()

    @property
    def needs_final(self) -> bool:
        """True while a third message (XX) is awaited."""
        return not self._hs.is_complete
