"""``Secret``: key material that can travel (to Dask workers, through fsspec options)
without showing itself in reprs, logs, task names or cache tokens.

Its token is an HMAC of the value under a random key made when this module is first
imported, so equal secrets share a token inside a process (fsspec reuses one
filesystem, and its cached Argon2id keys, for them) while a token seen elsewhere says
nothing about the value.  A pickled Secret keeps its token and carries its value: that
is how it reaches a worker, inside the task's pickled payload, never its name.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import Any

from ..errors import ParameterError

_PROCESS_KEY = os.urandom(32)
_TOKEN_SIZE = 16


def _canonical(value: Any) -> bytes:
    """An unambiguous byte form of a secret value (str, bytes, a list of them, or context data)."""
    if isinstance(value, str):
        return b"s" + value.encode("utf-8", "surrogatepass")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return b"b" + bytes(value)
    if isinstance(value, (list, tuple)):
        parts = [_canonical(v) for v in value]
        return b"l" + b"".join(len(p).to_bytes(8, "big") + p for p in parts)
    from .encoding import encode_context  # context data: its own canonical encoding

    try:
        return b"c" + encode_context(value)
    except ParameterError:
        raise ParameterError(f"a Secret holds a password, seed, identities or context data; got "
                             f"{type(value).__name__}") from None


class Secret:
    """Wraps a password, seed, identities or context data; prints as ``Secret(<hidden ...>)``."""

    __slots__ = ("_token", "_value")

    def __init__(self, value: Any) -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        self._token = hmac.new(_PROCESS_KEY, _canonical(value), hashlib.sha256).hexdigest()[: 2 * _TOKEN_SIZE]
        self._value = value

    def reveal(self) -> Any:
        """The wrapped value (this returns a secret)."""
        return self._value

    @property
    def token(self) -> str:
        """A keyed hash of the value: equal within a process for equal values, nothing more."""
        return self._token

    def __repr__(self) -> str:
        return f"Secret(<hidden {self._token[:12]}>)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and hmac.compare_digest(self._token, other._token)

    def __hash__(self) -> int:
        return hash(self._token)

    def __dask_tokenize__(self) -> tuple[str, str]:
        return ("stc.Secret", self._token)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore, (self._value, self._token))


def _restore(value: Any, token: str) -> Secret:
    secret = Secret.__new__(Secret)
    secret._value, secret._token = value, token
    return secret


def reveal(value: Any) -> Any:
    """The value inside a Secret, or ``value`` itself."""
    return value.reveal() if isinstance(value, Secret) else value
