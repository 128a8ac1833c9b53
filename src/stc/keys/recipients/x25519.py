"""X25519 recipients: ephemeral-static Diffie-Hellman, HKDF over both public keys, wrapped file key."""

from __future__ import annotations

import os
from typing import ClassVar

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from ...crypto.kdf import hkdf
from ...errors import ParameterError
from ...formats.stanza import WRAPPED_SIZE, X25519, Stanza
from .base import Identity, Random, Recipient, unwrap, wrap
from .text import decode, encode

RECIPIENT_PREFIX = "stc-x25519-"
IDENTITY_PREFIX = "STC-SECRET-KEY-X25519-"
_KEY = 32


def _wrap_key(shared: bytes, ephemeral: bytes, recipient: bytes, label: bytes) -> bytes:
    return hkdf(shared, b"v2 x25519 wrap" + label, salt=ephemeral + recipient)


class X25519Recipient(Recipient):
    """An X25519 public key (``stc-x25519-…``)."""

    kind: ClassVar[int] = X25519

    def __init__(self, public_key: bytes) -> None:
        if not isinstance(public_key, bytes) or len(public_key) != _KEY:
            raise ParameterError("an X25519 public key is 32 bytes")
        self.public_key = public_key

    @classmethod
    def parse(cls, value: str) -> X25519Recipient | None:
        """The recipient of ``value``, None if it is not of this kind."""
        key = decode(RECIPIENT_PREFIX, value, _KEY, "X25519 recipient")
        return None if key is None else cls(key)

    def to_string(self) -> str:
        return encode(RECIPIENT_PREFIX, self.public_key)

    def wrap(self, file_key: bytes, label: bytes, rand: Random = os.urandom) -> Stanza:
        ephemeral = X25519PrivateKey.from_private_bytes(rand(_KEY))
        share = ephemeral.public_key().public_bytes_raw()
        try:
            shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(self.public_key))
        except ValueError:
            raise ParameterError("this X25519 recipient is a low-order point; nothing can be encrypted to it") from None
        return Stanza(X25519, share + wrap(_wrap_key(shared, share, self.public_key, label), file_key))

    @classmethod
    def decoy(cls, rand: Random = os.urandom) -> Stanza:
        share = X25519PrivateKey.from_private_bytes(rand(_KEY)).public_key().public_bytes_raw()  # a real point
        return Stanza(X25519, share + rand(WRAPPED_SIZE))


class X25519Identity(Identity):
    """An X25519 secret key (``STC-SECRET-KEY-X25519-…``)."""

    kind: ClassVar[int] = X25519

    def __init__(self, secret: bytes) -> None:
        if not isinstance(secret, bytes) or len(secret) != _KEY:
            raise ParameterError("an X25519 secret key is 32 bytes")
        self._key = X25519PrivateKey.from_private_bytes(secret)
        self._secret = secret
        self._recipient = X25519Recipient(self._key.public_key().public_bytes_raw())

    @classmethod
    def generate(cls) -> X25519Identity:
        """A new random identity."""
        return cls(os.urandom(_KEY))

    @classmethod
    def parse(cls, value: str) -> X25519Identity | None:
        """The identity of ``value``, None if it is not of this kind."""
        key = decode(IDENTITY_PREFIX, value, _KEY, "X25519 identity")
        return None if key is None else cls(key)

    @property
    def recipient(self) -> X25519Recipient:
        return self._recipient

    def secret_bytes(self) -> bytes:
        """The 32-byte X25519 private key: a secret, for protocols that run the DH themselves
        (Noise handshakes); never log or store it."""
        return self._secret

    def to_string(self) -> str:
        return encode(IDENTITY_PREFIX, self._secret)

    def unwrap(self, stanza: Stanza, label: bytes) -> bytes | None:
        if stanza.kind != X25519:
            return None
        share, wrapped = stanza.body[:_KEY], stanza.body[_KEY:]
        try:
            shared = self._key.exchange(X25519PublicKey.from_public_bytes(share))
        except ValueError:  # a low-order share: not a stanza for anyone
            return None
        return unwrap(_wrap_key(shared, share, self._recipient.public_key, label), wrapped)
