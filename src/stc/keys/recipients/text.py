"""Text forms of recipients and identities, and identity files.

A key is written as a fixed prefix and the unpadded base64url of the key bytes followed by a
4-byte checksum (the first bytes of SHA-256 over prefix and key), so a mistyped or truncated
key is refused instead of encrypting to nobody.  Secret forms start ``STC-SECRET-KEY-`` and
can never be mistaken for a recipient.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import stat

from ...errors import ParameterError

_CHECK = 4
MAX_IDENTITY_FILE = 1 << 20


def encode(prefix: str, key: bytes) -> str:
    """``prefix`` + base64url(key || checksum), no padding."""
    check = hashlib.sha256(prefix.encode("ascii") + key).digest()[:_CHECK]
    return prefix + base64.urlsafe_b64encode(key + check).rstrip(b"=").decode("ascii")


def decode(prefix: str, text: str, size: int, what: str) -> bytes | None:
    """The key of ``text`` if it starts with ``prefix`` (None otherwise); ParameterError if malformed."""
    if not text.startswith(prefix):
        return None
    body = text[len(prefix) :]
    if len(body) != -(-(size + _CHECK) * 4 // 3) or not all(c.isalnum() or c in "-_" for c in body) \
            or not body.isascii():
        raise ParameterError(f"malformed {what}: wrong length or characters (was it cut or mistyped?)")
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        raise ParameterError(f"malformed {what}: not base64url") from None
    key, check = raw[:size], raw[size:]
    if hashlib.sha256(prefix.encode("ascii") + key).digest()[:_CHECK] != check:
        raise ParameterError(f"malformed {what}: checksum mismatch (was it mistyped?)")
    if encode(prefix, key) != text:  # the spare bits of the last character must be zero
        raise ParameterError(f"malformed {what}: not the canonical text of its key (one key has one text form)")
    return key


def identity_lines(data: bytes, source: str) -> list[str]:
    """The identity lines of an identity file: UTF-8, ``#`` comments and blank lines skipped."""
    if len(data) > MAX_IDENTITY_FILE:
        raise ParameterError(f"{source} is larger than {MAX_IDENTITY_FILE} bytes; not an identity file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ParameterError(f"{source} is not UTF-8 text; not an identity file") from None
    lines = [line.strip() for line in text.splitlines()]
    found = [line for line in lines if line and not line.startswith("#")]
    if not found:
        raise ParameterError(f"{source} holds no identity")
    return found


def loose_permissions(path: str | os.PathLike[str]) -> bool:
    """True if a file others may read (group or world permission bits set)."""
    return bool(os.stat(path).st_mode & (stat.S_IRWXG | stat.S_IRWXO))
