"""Post-quantum hybrid recipients: X-Wing (ML-KEM-768 + X25519) encapsulation, HKDF, wrapped file key.

The KEM is the one behind age 1.3's ``mlkem768x25519`` recipients; its secret key is the
32-byte X-Wing seed.
"""

from __future__ import annotations

import os
from typing import ClassVar

from ...crypto.kdf import hkdf
from ...errors import FormatError, ParameterError
from ...formats.stanza import WRAPPED_SIZE, XWING, Stanza
from .base import Identity, Random, Recipient, unwrap, wrap
from .text import decode, encode
from .xwing import CIPHERTEXT_SIZE, PUBLIC_KEY_SIZE, SEED_SIZE, decapsulate, encapsulate, public_key

RECIPIENT_PREFIX = "stc-xwing-"
IDENTITY_PREFIX = "STC-SECRET-KEY-XWING-"


def _wrap_key(shared: bytes, ciphertext: bytes, recipient: bytes, label: bytes) -> bytes:
    return hkdf(shared, b"v2 xwing wrap" + label, salt=ciphertext[-32:] + recipient[-32:])


class XWingRecipient(Recipient):
    """An X-Wing public key (``stc-xwing-…``, 1,216 bytes)."""

    kind: ClassVar[int] = XWING

    def __init__(self, public_key: bytes) -> None:
        if not isinstance(public_key, bytes) or len(public_key) != PUBLIC_KEY_SIZE:
            raise ParameterError(f"an X-Wing public key is {PUBLIC_KEY_SIZE} bytes")
        self.public_key = public_key

    @classmethod
    def parse(cls, value: str) -> XWingRecipient | None:
        """The recipient of ``value``, None if it is not of this kind."""
        key = decode(RECIPIENT_PREFIX, value, PUBLIC_KEY_SIZE, "X-Wing recipient")
        return None if key is None else cls(key)

    def to_string(self) -> str:
        return encode(RECIPIENT_PREFIX, self.public_key)

    def wrap(self, file_key: bytes, label: bytes, rand: Random = os.urandom) -> Stanza:
        try:
            shared, ciphertext = encapsulate(self.public_key, rand)
        except FormatError as exc:
            raise ParameterError(f"cannot encrypt to this X-Wing recipient: {exc}") from None
        return Stanza(XWING, ciphertext + wrap(_wrap_key(shared, ciphertext, self.public_key, label), file_key))

    @classmethod
    def decoy(cls, rand: Random = os.urandom) -> Stanza:
        _, ciphertext = encapsulate(public_key(rand(SEED_SIZE)), rand)  # a real ciphertext
        return Stanza(XWING, ciphertext + rand(WRAPPED_SIZE))


class XWingIdentity(Identity):
    """An X-Wing secret key (``STC-SECRET-KEY-XWING-…``, the 32-byte seed)."""

    kind: ClassVar[int] = XWING

    def __init__(self, seed: bytes) -> None:
        if not isinstance(seed, bytes) or len(seed) != SEED_SIZE:
            raise ParameterError(f"an X-Wing secret key is {SEED_SIZE} bytes")
        self._seed = seed
        self._recipient = XWingRecipient(public_key(seed))

    @classmethod
    def generate(cls) -> XWingIdentity:
        """A new random identity."""
        return cls(os.urandom(SEED_SIZE))

    @classmethod
    def parse(cls, value: str) -> XWingIdentity | None:
        """The identity of ``value``, None if it is not of this kind."""
        seed = decode(IDENTITY_PREFIX, value, SEED_SIZE, "X-Wing identity")
        return None if seed is None else cls(seed)

    @property
    def recipient(self) -> XWingRecipient:
        return self._recipient

    def seed_bytes(self) -> bytes:
        """The 32-byte X-Wing seed: a secret (for age's text form); never log or store it."""
        return self._seed

    def to_string(self) -> str:
        return encode(IDENTITY_PREFIX, self._seed)

    def unwrap(self, stanza: Stanza, label: bytes) -> bytes | None:
        if stanza.kind != XWING:
            return None
        ciphertext, wrapped = stanza.body[: CIPHERTEXT_SIZE], stanza.body[CIPHERTEXT_SIZE :]
        shared = decapsulate(self._seed, ciphertext)
        if shared is None:
            return None
        return unwrap(_wrap_key(shared, ciphertext, self._recipient.public_key, label), wrapped)
