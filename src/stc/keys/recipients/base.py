"""The recipient/identity interface and the stanza a recipient writes (in the spirit of age).

A :class:`Recipient` wraps a file key into a :class:`Stanza`; the matching :class:`Identity`
unwraps it.  Every stanza kind has a fixed body size, and a decoy of a kind is built so that
nobody without the matching identity can tell it from a real stanza of that kind.  Each wrap
key is derived from fresh randomness (an ephemeral key or a KEM encapsulation), so the fixed
all-zero nonce of the key-wrapping AEAD is used once per key.
"""

from __future__ import annotations

import hashlib
import os
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import ClassVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from ...formats.stanza import Stanza

Random = Callable[[int], bytes]  # os.urandom, or a fixed stream for known-answer vectors

_ZERO_NONCE = bytes(12)


def wrap(key: bytes, file_key: bytes) -> bytes:
    """ChaCha20-Poly1305 of the file key under a single-use wrap key (48 bytes)."""
    return ChaCha20Poly1305(key).encrypt(_ZERO_NONCE, file_key, None)


def unwrap(key: bytes, wrapped: bytes) -> bytes | None:
    """The file key, or None if ``wrapped`` was not sealed under ``key``."""
    try:
        return ChaCha20Poly1305(key).decrypt(_ZERO_NONCE, wrapped, None)
    except InvalidTag:
        return None


class Recipient(ABC):
    """Someone a file can be encrypted to: wraps a file key into a stanza."""

    kind: ClassVar[int]

    @abstractmethod
    def wrap(self, file_key: bytes, label: bytes, rand: Random = os.urandom) -> Stanza:
        """A stanza only the matching identity opens; ``label`` binds it to one header."""

    @classmethod
    @abstractmethod
    def decoy(cls, rand: Random = os.urandom) -> Stanza:
        """A stanza of this kind that nobody can tell from a real one without the identity."""

    @abstractmethod
    def to_string(self) -> str:
        """The public text form (safe to share)."""

    def canonical_string(self) -> str:
        """The STC text form, whatever form this key was written in: one key is one recipient."""
        return self.to_string()

    @property
    def fingerprint(self) -> bytes:
        """16 bytes naming this recipient in a header's sealed directory."""
        return hashlib.sha256(self.canonical_string().encode("ascii")).digest()[:16]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Recipient) and other.canonical_string() == self.canonical_string()

    def __hash__(self) -> int:
        return hash(self.canonical_string())

    def __repr__(self) -> str:
        text = self.to_string()
        return f"{type(self).__name__}({text[:24]}…)" if len(text) > 40 else f"{type(self).__name__}({text})"


class Identity(ABC):
    """A secret that opens the stanzas of one recipient."""

    kind: ClassVar[int]

    @abstractmethod
    def unwrap(self, stanza: Stanza, label: bytes) -> bytes | None:
        """The file key if this identity opens ``stanza``, else None."""

    @property
    @abstractmethod
    def recipient(self) -> Recipient:
        """The public recipient of this identity."""

    @abstractmethod
    def to_string(self) -> str:
        """The secret text form (``STC-SECRET-KEY-…``): this returns a secret."""

    def __repr__(self) -> str:  # never the secret
        return f"{type(self).__name__}(recipient={self.recipient!r})"

    def __reduce__(self) -> str | tuple[object, ...]:
        from ...errors import ParameterError

        raise ParameterError("an identity is a secret key; save identity.to_string() to a 0600 file instead")
