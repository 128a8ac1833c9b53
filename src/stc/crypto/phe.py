"""PHE: a keyed hash under the current epoch (BLAKE2b-256, RFC 7693, keyed mode).

The output is a deterministic function of (seed, epoch, context data, data):
usable as a MAC or a pseudonymous identifier, never a password hash.
"""

from __future__ import annotations

import hashlib
import struct

from .kdf import hkdf

DIGEST_SIZE = 32


def phe_key(epoch_key: bytes) -> bytes:
    """The BLAKE2b key of an epoch."""
    return hkdf(epoch_key, b"phe")


def keyed_hash(key: bytes, encoded_context: bytes, data: bytes) -> bytes:
    """BLAKE2b(key, len(context) || context || data), 32 bytes."""
    h = hashlib.blake2b(digest_size=DIGEST_SIZE, key=key, person=b"stc/v1 phe")
    h.update(struct.pack(">Q", len(encoded_context)))
    h.update(encoded_context)
    h.update(data)
    return h.digest()
