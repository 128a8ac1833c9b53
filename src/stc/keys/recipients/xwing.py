"""X-Wing, the hybrid ML-KEM-768 + X25519 KEM of draft-connolly-cfrg-xwing-kem (Appendix C vectors
in tests/test_recipients.py), built from pyca/cryptography's ML-KEM-768, X25519, SHAKE256 and SHA3-256.

The secret key is a 32-byte seed; the public key is ML-KEM's 1,184 bytes then X25519's 32; a
ciphertext is ML-KEM's 1,088 bytes then X25519's 32.  The shared secret is SHA3-256 over both
shared secrets, the X25519 ciphertext and public key, and a fixed label: it stays secret as long
as either ML-KEM-768 or X25519 (in the random-oracle model for SHA3) is unbroken (docs/design.md).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric.mlkem import MLKEM768PrivateKey, MLKEM768PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from ...errors import FormatError

SEED_SIZE = 32
PUBLIC_KEY_SIZE = 1184 + 32
CIPHERTEXT_SIZE = 1088 + 32
_LABEL = bytes.fromhex("5c2e2f2f5e5c")  # the draft's ASCII-art label


def _expand(seed: bytes) -> tuple[MLKEM768PrivateKey, X25519PrivateKey]:
    expanded = hashlib.shake_256(seed).digest(96)
    return MLKEM768PrivateKey.from_seed_bytes(expanded[:64]), X25519PrivateKey.from_private_bytes(expanded[64:])


def public_key(seed: bytes) -> bytes:
    """The 1,216-byte public key of a 32-byte X-Wing secret key (deterministic)."""
    mlkem, x25519 = _expand(seed)
    return mlkem.public_key().public_bytes_raw() + x25519.public_key().public_bytes_raw()


def _combine(ss_m: bytes, ss_x: bytes, ct_x: bytes, pk_x: bytes) -> bytes:
    return hashlib.sha3_256(ss_m + ss_x + ct_x + pk_x + _LABEL).digest()


def encapsulate(public: bytes, rand: Callable[[int], bytes] = os.urandom) -> tuple[bytes, bytes]:
    """(shared secret, ciphertext) for ``public``.  ML-KEM draws its own randomness inside
    OpenSSL; ``rand`` gives the X25519 ephemeral key."""
    if len(public) != PUBLIC_KEY_SIZE:
        raise FormatError(f"an X-Wing public key is {PUBLIC_KEY_SIZE} bytes")
    try:
        pk_m = MLKEM768PublicKey.from_public_bytes(public[:1184])
        pk_x = X25519PublicKey.from_public_bytes(public[1184:])
    except ValueError:
        raise FormatError("malformed X-Wing public key") from None
    ss_m, ct_m = pk_m.encapsulate()
    ephemeral = X25519PrivateKey.from_private_bytes(rand(32))
    ct_x = ephemeral.public_key().public_bytes_raw()
    try:
        ss_x = ephemeral.exchange(pk_x)
    except ValueError:
        raise FormatError("the X-Wing public key's X25519 part is a low-order point") from None
    return _combine(ss_m, ss_x, ct_x, public[1184:]), ct_m + ct_x


def decapsulate(seed: bytes, ciphertext: bytes) -> bytes | None:
    """The shared secret, or None if the X25519 part is a low-order point (ML-KEM rejects implicitly)."""
    if len(ciphertext) != CIPHERTEXT_SIZE:
        raise FormatError(f"an X-Wing ciphertext is {CIPHERTEXT_SIZE} bytes")
    mlkem, x25519 = _expand(seed)
    ss_m = mlkem.decapsulate(ciphertext[:1088])
    ct_x = ciphertext[1088:]
    try:
        ss_x = x25519.exchange(X25519PublicKey.from_public_bytes(ct_x))
    except ValueError:
        return None
    return _combine(ss_m, ss_x, ct_x, x25519.public_key().public_bytes_raw())

