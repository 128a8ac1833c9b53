"""age's key text forms (C2SP age, "Native recipient types"): Bech32 ``age1…`` / ``AGE-SECRET-KEY-1…``
(X25519) and ``age1pq1…`` / ``AGE-SECRET-KEY-PQ-1…`` (ML-KEM-768 + X25519, the X-Wing STC already uses).

An age key is the same key as its STC form: in an STC file it wraps the file key with STC's own
stanza of that kind, and its fingerprint, equality and hash are those of the STC form, so the
two spellings of one key are one recipient.  The checksum and character conversion come from
the ``bech32`` package (BIP 173's reference implementation, without its 90-character limit, as
age's hybrid keys need); the rules on top are age's: one case (lower for recipients, upper for
identities), the exact prefix, the exact key length and zero padding bits, so one key has one text.
"""

from __future__ import annotations

import bech32

from ...errors import ParameterError
from .hybrid import XWingIdentity, XWingRecipient
from .x25519 import X25519Identity, X25519Recipient
from .xwing import PUBLIC_KEY_SIZE, SEED_SIZE

MAX_KEY_TEXT = 4096  # an age1pq1 recipient is 1,960 characters; anything longer is not a key


def bech32_encode(hrp: str, key: bytes) -> str:
    """``hrp`` + ``1`` + Bech32 data and checksum of ``key``, in the case of ``hrp``."""
    words = bech32.convertbits(key, 8, 5, True)
    assert words is not None  # 8-bit input always converts
    text = bech32.bech32_encode(hrp.lower(), words)
    return text.upper() if hrp.isupper() else text


def bech32_decode(hrp: str, text: str, size: int, what: str) -> bytes | None:
    """The ``size``-byte key of ``text`` if it has prefix ``hrp`` + ``1`` (None otherwise); ParameterError
    if it has the prefix but is not the canonical text of a key."""
    if not text.lower().startswith(hrp.lower() + "1"):  # (try age1pq1 before age1: it starts the same)
        return None
    wanted_case = text.upper() if hrp.isupper() else text.lower()
    if len(text) > MAX_KEY_TEXT or not text.isascii() or text != wanted_case:
        raise ParameterError(f"malformed {what}: age keys are written in one case "
                             f"({'upper' if hrp.isupper() else 'lower'}), ASCII only")
    found, words = bech32.bech32_decode(text.lower())
    if found != hrp.lower() or words is None:
        raise ParameterError(f"malformed {what}: Bech32 checksum or characters are wrong (was it cut or mistyped?)")
    data = bech32.convertbits(words, 5, 8, False)
    if data is None or len(data) != size:
        raise ParameterError(f"malformed {what}: not a {size}-byte key")
    return bytes(data)


class AgeX25519Recipient(X25519Recipient):
    """An age X25519 recipient (``age1…``), wrapped as STC's X25519 stanza in STC files."""

    @classmethod
    def parse(cls, value: str) -> AgeX25519Recipient | None:
        key = bech32_decode("age", value, 32, "age recipient")
        return None if key is None else cls(key)

    def to_string(self) -> str:
        return bech32_encode("age", self.public_key)

    def canonical_string(self) -> str:
        return X25519Recipient.to_string(self)


class AgeHybridRecipient(XWingRecipient):
    """An age ML-KEM-768 + X25519 recipient (``age1pq1…``), wrapped as STC's X-Wing stanza in STC files."""

    @classmethod
    def parse(cls, value: str) -> AgeHybridRecipient | None:
        key = bech32_decode("age1pq", value, PUBLIC_KEY_SIZE, "age hybrid recipient")
        return None if key is None else cls(key)

    def to_string(self) -> str:
        return bech32_encode("age1pq", self.public_key)

    def canonical_string(self) -> str:
        return XWingRecipient.to_string(self)


class AgeX25519Identity(X25519Identity):
    """An age X25519 identity (``AGE-SECRET-KEY-1…``); its recipient is written ``age1…``."""

    def __init__(self, secret: bytes) -> None:
        super().__init__(secret)
        self._recipient = AgeX25519Recipient(self._recipient.public_key)

    @classmethod
    def parse(cls, value: str) -> AgeX25519Identity | None:
        key = bech32_decode("AGE-SECRET-KEY-", value, 32, "age identity")
        return None if key is None else cls(key)

    def to_string(self) -> str:
        return bech32_encode("AGE-SECRET-KEY-", self.secret_bytes())


class AgeHybridIdentity(XWingIdentity):
    """An age hybrid identity (``AGE-SECRET-KEY-PQ-1…``, the 32-byte seed); its recipient is ``age1pq1…``."""

    def __init__(self, seed: bytes) -> None:
        super().__init__(seed)
        self._recipient = AgeHybridRecipient(self._recipient.public_key)

    @classmethod
    def parse(cls, value: str) -> AgeHybridIdentity | None:
        seed = bech32_decode("AGE-SECRET-KEY-PQ-", value, SEED_SIZE, "age hybrid identity")
        return None if seed is None else cls(seed)

    def to_string(self) -> str:
        return bech32_encode("AGE-SECRET-KEY-PQ-", self.seed_bytes())


def as_age(key: X25519Recipient | XWingRecipient | X25519Identity | XWingIdentity) -> object:
    """The same key in age's text form (``stc keygen --format age``)."""
    if isinstance(key, XWingIdentity):
        return AgeHybridIdentity(key.seed_bytes())
    if isinstance(key, X25519Identity):
        return AgeX25519Identity(key.secret_bytes())
    if isinstance(key, XWingRecipient):
        return AgeHybridRecipient(key.public_key)
    if isinstance(key, X25519Recipient):
        return AgeX25519Recipient(key.public_key)
    raise ParameterError(f"{type(key).__name__} has no age form")


def as_stc(key: X25519Recipient | XWingRecipient | X25519Identity | XWingIdentity) -> object:
    """The same key in STC's text form (``stc keygen --format stc``)."""
    if isinstance(key, XWingIdentity):
        return XWingIdentity(key.seed_bytes())
    if isinstance(key, X25519Identity):
        return X25519Identity(key.secret_bytes())
    if isinstance(key, XWingRecipient):
        return XWingRecipient(key.public_key)
    if isinstance(key, X25519Recipient):
        return X25519Recipient(key.public_key)
    raise ParameterError(f"{type(key).__name__} has no STC form")
