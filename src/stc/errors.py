"""The one exception hierarchy of STC.

Every failure the library reports derives from :class:`STCError`.  Messages
say what went wrong and what the caller can do; they never contain keys,
passwords, plaintext or seeds.
"""

from __future__ import annotations

__all__ = [
    "STCError",
    "ParameterError",
    "DecryptionError",
    "FormatError",
    "KDFLimitError",
    "WrongPasswordError",
    "IntegrityError",
    "ContextMismatchError",
    "TruncatedError",
    "ReplayError",
    "UnknownKeyError",
    "StateError",
    "HandshakeError",
    "SessionClosedError",
    "NoMatchingIdentityError",
    "STCWarning",
    "JournalWarning",
]


class STCError(Exception):
    """Base class of every error raised by STC."""


class ParameterError(STCError, ValueError):
    """An argument is out of range or of the wrong kind (misuse, not an attack)."""


class DecryptionError(STCError):
    """Ciphertext could not be authenticated or parsed; nothing was returned."""


class FormatError(DecryptionError, ValueError):
    """Bytes do not follow a documented STC format (bad magic, version, length...)."""


class KDFLimitError(FormatError):
    """A header asks for a password-KDF cost above the documented limit."""


class WrongPasswordError(DecryptionError):
    """No key slot opened: wrong password, wrong seed, or corrupted key slots."""


class IntegrityError(DecryptionError):
    """A key slot opened but the payload did not authenticate."""


class ContextMismatchError(IntegrityError):
    """The context data supplied differs from the data bound at encryption."""


class TruncatedError(IntegrityError):
    """The ciphertext ended before its authenticated final chunk."""


class ReplayError(DecryptionError):
    """A frame was seen before, or is older than the anti-replay window."""


class UnknownKeyError(DecryptionError):
    """A frame names a key id (an SFrame KID) for which no key is held: never added, removed, or
    retired; add the key (it may still arrive) or drop the frame."""


class StateError(STCError, ValueError):
    """A saved state is malformed or belongs to another seed."""


class HandshakeError(STCError, ValueError):
    """A key-agreement message is malformed or yields an unsafe shared secret."""


class SessionClosedError(STCError, ConnectionError):
    """A P2P session was closed (by this side or the peer) or timed out; nothing more arrives."""


class NoMatchingIdentityError(WrongPasswordError):
    """No identity given opens any recipient slot of this header."""


class STCWarning(UserWarning):
    """Base class of the warnings STC emits (something was ignored, and the caller should know)."""


class JournalWarning(STCWarning):
    """A re-key journal beside a file was ignored: not a regular file of this user, or not
    authenticated as a re-key of that file by someone holding its key."""
