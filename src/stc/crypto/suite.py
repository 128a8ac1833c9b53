"""PCF/DSF: the algorithm-suite byte and the AEAD behind it.

Only two suites exist, both vetted AEADs from pyca/cryptography with 256-bit
keys, 96-bit nonces and 128-bit tags, so every format can size its buffers
without knowing which one is in use.
"""

from __future__ import annotations

import enum
from typing import Union

from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

from ..errors import FormatError, ParameterError

KEY_SIZE = 32
NONCE_SIZE = 12
TAG_SIZE = 16

AEAD = Union[AESGCM, ChaCha20Poly1305]


class Suite(enum.IntEnum):
    """Wire value of the data-encryption algorithm."""

    AES_256_GCM = 1
    CHACHA20_POLY1305 = 2

    @property
    def label(self) -> str:
        """Human and state-file name of the suite."""
        return _LABELS[self]

    def aead(self, key: bytes) -> AEAD:
        """A keyed AEAD object; the caller guarantees the key is used with unique nonces."""
        if self is Suite.AES_256_GCM:
            return AESGCM(key)
        return ChaCha20Poly1305(key)

    @classmethod
    def parse(cls, value: Suite | str | int) -> Suite:
        """Accept a Suite, its label (``'aes-256-gcm'``) or its wire value."""
        if isinstance(value, Suite):
            return value
        if isinstance(value, str):
            for suite, label in _LABELS.items():
                if value.lower() == label:
                    return suite
            raise ParameterError(f"unknown suite {value!r}; use one of {sorted(_LABELS.values())}")
        if isinstance(value, int) and not isinstance(value, bool):
            try:
                return cls(value)
            except ValueError:
                raise ParameterError(f"unknown suite id {value}") from None
        raise ParameterError(f"suite must be a Suite, str or int, not {type(value).__name__}")

    @classmethod
    def from_wire(cls, value: int) -> Suite:
        """Parse the suite byte of a header, raising FormatError if unknown."""
        try:
            return cls(value)
        except ValueError:
            raise FormatError(f"unknown algorithm suite id {value}") from None


_LABELS = {Suite.AES_256_GCM: "aes-256-gcm", Suite.CHACHA20_POLY1305: "chacha20-poly1305"}
