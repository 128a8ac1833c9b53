"""Noise HandshakeState (rev 34 §5.3): write_message / read_message over a pattern's tokens.

``s`` is an STC X25519 :class:`~stc.keys.recipients.x25519.X25519Identity` or raw private
bytes; ``rs`` an :class:`~stc.keys.recipients.x25519.X25519Recipient` or raw public bytes; ``e``
fixes the ephemeral key, for known-answer tests only (a fixed ephemeral in real use destroys
forward secrecy and, with PSK patterns, repeats keys).  After the last message, :meth:`split`
gives the two transport CipherStates, the initiator's sending state first.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...errors import HandshakeError, ParameterError, StateError
from ...keys.recipients.x25519 import X25519Identity, X25519Recipient
from .patterns import parse_protocol_name
from .primitives import CIPHERS, DHS, HASHES, TAG_SIZE
from .state import CipherState, SymmetricState, check_size

PSK_SIZE = 32


def _private(value: object, size: int, what: str) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, X25519Identity):
        value = value.secret_bytes()
    if not isinstance(value, (bytes, bytearray)) or len(value) != size:
        raise ParameterError(f"{what} must be an STC X25519 identity or {size} raw private bytes")
    return bytes(value)


def _psk(value: object) -> bytes:
    if not isinstance(value, (bytes, bytearray)) or len(value) != PSK_SIZE:
        raise ParameterError(f"a Noise pre-shared key is {PSK_SIZE} bytes")
    return bytes(value)


def _public(value: object, size: int) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, X25519Recipient):
        value = value.public_key
    if not isinstance(value, (bytes, bytearray)) or len(value) != size:
        raise ParameterError(f"rs must be an STC X25519 recipient or {size} raw public bytes")
    return bytes(value)


class HandshakeState:
    """One side of one Noise handshake; use each instance once."""

    def __init__(self, protocol_name: str, initiator: bool, *, s: object = None, rs: object = None,
                 psks: Sequence[bytes] | None = (), prologue: bytes = b"", e: bytes | None = None) -> None:
        protocol = parse_protocol_name(protocol_name)
        if not isinstance(initiator, bool):
            raise ParameterError("initiator must be a bool")
        self.protocol, self.initiator = protocol, initiator
        self._dh = DHS[protocol.dh]
        pattern = protocol.pattern
        self._psks: list[bytes] = []
        if psks is not None:  # None: given later with add_psk, before the message that needs each
            for psk in psks:
                self._psks.append(_psk(psk))
            if len(self._psks) != pattern.psks:
                raise ParameterError(f"{protocol.name} needs {pattern.psks} pre-shared key(s) of {PSK_SIZE} bytes")
        self._s = None if s is None else self._dh.keypair(_private(s, self._dh.size, "s"))  # type: ignore[arg-type]
        self._e = None if e is None else self._dh.keypair(_private(e, self._dh.size, "e"))  # type: ignore[arg-type]
        self._rs = _public(rs, self._dh.size)
        self._re: bytes | None = None
        mine, theirs = (pattern.initiator_pre, pattern.responder_pre) if initiator else \
            (pattern.responder_pre, pattern.initiator_pre)
        needs_s = "s" in mine or any("s" in m for i, m in enumerate(pattern.messages) if (i % 2 == 0) == initiator)
        if needs_s and self._s is None:
            raise ParameterError(f"{protocol.name} needs our static key s")
        if "s" in theirs and self._rs is None:
            raise ParameterError(f"{protocol.name} needs the peer's static key rs in advance")
        self._symmetric = SymmetricState(protocol.name.encode("ascii"), CIPHERS[protocol.cipher],
                                         HASHES[protocol.hash])
        self._symmetric.mix_hash(bytes(prologue))
        for role_pre, is_mine in ((pattern.initiator_pre, initiator), (pattern.responder_pre, not initiator)):
            if "s" in role_pre:
                self._symmetric.mix_hash(self._s[1] if is_mine else self._rs)  # type: ignore[index, arg-type]
        self._messages = pattern.messages
        self._psks_used = 0
        self._index = 0
        self._done = self._failed = False

    def __repr__(self) -> str:
        return (f"HandshakeState({self.protocol.name!r}, initiator={self.initiator}, "
                f"message={self._index}, complete={self._done})")

    def __reduce__(self) -> str | tuple[Any, ...]:
        raise ParameterError("a HandshakeState holds private keys; it cannot be pickled or copied")

    # ---- what the handshake has established --------------------------------------------------
    @property
    def is_complete(self) -> bool:
        """True once every message of the pattern was written or read."""
        return self._done

    @property
    def handshake_hash(self) -> bytes:
        """``h``: binds the whole transcript; use it for channel binding (§11.2)."""
        return self._symmetric.h

    @property
    def remote_static(self) -> X25519Recipient | bytes | None:
        """The peer's static key (an STC recipient for 25519), once known."""
        if self._rs is None:
            return None
        return X25519Recipient(self._rs) if self.protocol.dh == "25519" else self._rs

    @property
    def my_turn(self) -> bool:
        """True if the next message is ours to write."""
        return not self._done and (self._index % 2 == 0) == self.initiator

    def split(self) -> tuple[CipherState, CipherState]:
        """(initiator's sending state, responder's sending state), once complete."""
        if not self._done:
            raise StateError("the Noise handshake is not complete yet")
        return self._symmetric.split()

    def split_keys(self) -> tuple[bytes, bytes]:
        """The two keys :meth:`split` would put in its CipherStates: secrets, for a transport that
        seals with its own machinery (STC sessions key their frames from them)."""
        if not self._done:
            raise StateError("the Noise handshake is not complete yet")
        return self._symmetric.split_keys()

    # ---- messages ----------------------------------------------------------------------------
    def _begin(self, writing: bool) -> tuple[str, ...]:
        if self._failed:
            raise StateError("this Noise handshake failed; start a new one")
        if self._done:
            raise StateError("the Noise handshake is already complete")
        if self.my_turn != writing:
            raise StateError(f"it is the {'peer' if writing else 'our'} turn to write a handshake message")
        return self._messages[self._index]

    def _finish(self) -> None:
        self._index += 1
        self._done = self._index == len(self._messages)

    def _mix_dh(self, token: str) -> None:
        s, e, rs, re = self._s, self._e, self._rs, self._re
        local, remote = {"ee": (e, re), "ss": (s, rs),
                         "es": (e, rs) if self.initiator else (s, re),
                         "se": (s, re) if self.initiator else (e, rs)}[token]
        if local is None or remote is None:
            raise HandshakeError(f"token {token!r} needs a key this side does not have")
        self._symmetric.mix_key(self._dh.dh(local[0], remote))

    def add_psk(self, psk: bytes) -> None:
        """Give the next pre-shared key late (made with ``psks=None``), e.g. once a PAKE finished."""
        if len(self._psks) + self._psks_used >= self.protocol.pattern.psks:
            raise StateError(f"{self.protocol.name} takes {self.protocol.pattern.psks} pre-shared key(s)")
        self._psks.append(_psk(psk))

    def _mix_psk(self) -> None:
        if not self._psks:
            raise StateError("this handshake message needs a pre-shared key: add_psk() first")
        self._symmetric.mix_key_and_hash(self._psks.pop(0))
        self._psks_used += 1

    def write_message(self, payload: bytes = b"") -> bytes:
        """The next handshake message, carrying ``payload`` (encrypted once a key exists)."""
        tokens = self._begin(writing=True)
        try:
            out = self._write(tokens, bytes(payload))
        except HandshakeError:
            self._failed = True
            raise
        self._finish()
        return out

    def _write(self, tokens: tuple[str, ...], payload: bytes) -> bytes:
        sym, out = self._symmetric, bytearray()
        for token in tokens:
            if token == "e":
                if self._e is None:
                    self._e = self._dh.generate()
                out += self._e[1]
                sym.mix_hash(self._e[1])
                if self.protocol.pattern.psks:
                    sym.mix_key(self._e[1])
            elif token == "s":
                out += sym.encrypt_and_hash(self._s[1])  # type: ignore[index]
            elif token == "psk":
                self._mix_psk()
            else:
                self._mix_dh(token)
        out += sym.encrypt_and_hash(payload)
        check_size(out)
        return bytes(out)

    def read_message(self, message: bytes) -> bytes:
        """The payload of the peer's next handshake message; HandshakeError if it is malformed
        or does not authenticate (the state is then unusable: start a new handshake)."""
        tokens = self._begin(writing=False)
        data = bytes(message)
        try:
            check_size(data)
        except HandshakeError:
            self._failed = True
            raise
        sym, at = self._symmetric, 0
        try:
            for token in tokens:
                if token == "e":
                    self._re = data[at:at + self._dh.size]
                    if len(self._re) != self._dh.size:
                        raise HandshakeError("a Noise handshake message is too short (ephemeral key)")
                    at += self._dh.size
                    sym.mix_hash(self._re)
                    if self.protocol.pattern.psks:
                        sym.mix_key(self._re)
                elif token == "s":
                    size = self._dh.size + (TAG_SIZE if sym.cipher_state.has_key() else 0)
                    if len(data) - at < size:
                        raise HandshakeError("a Noise handshake message is too short (static key)")
                    self._rs = sym.decrypt_and_hash(data[at:at + size])
                    at += size
                elif token == "psk":
                    self._mix_psk()
                else:
                    self._mix_dh(token)
            if sym.cipher_state.has_key() and len(data) - at < TAG_SIZE:
                raise HandshakeError("a Noise handshake message is too short (payload tag)")
            payload = sym.decrypt_and_hash(data[at:])
        except HandshakeError:
            self._failed = True  # the transcript is spoiled: nothing more can be read or written
            raise
        self._finish()
        return payload
