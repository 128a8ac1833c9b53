"""STC: password-based authenticated encryption, file streaming and P2P frames
built only from vetted primitives (AES-256-GCM / ChaCha20-Poly1305, Argon2id,
HKDF-SHA256, BLAKE2b) through pyca/cryptography.
"""

from __future__ import annotations

from typing import Any

from . import errors
from ._encoding import DEFAULT_SEED, ContextData, Password, Seed
from .context import STCContext, decrypting_context
from .errors import (
    ContextMismatchError,
    DecryptionError,
    FormatError,
    IntegrityError,
    KDFLimitError,
    ParameterError,
    ReplayError,
    StateError,
    STCError,
    TruncatedError,
    WrongPasswordError,
)
from .handshake import KeyExchange
from .metadata import Metadata
from .p2p import ChunkHeader, StreamingContext
from .suite import Suite

__version__ = "0.1.0"



def encrypt(
    data: "str | bytes",
    password: Password,
    *,
    seed: Seed = DEFAULT_SEED,
    context_data: ContextData = None,
    use_decoys: bool = True,
    lattice_size: int = 128,
    depth: int = 6,
) -> tuple[bytes, Metadata]:
    """Quick start: encrypt with a one-off context; returns ``(ciphertext, metadata)``."""
    ctx = STCContext(seed, lattice_size=lattice_size, depth=depth)
    return ctx.encrypt(data, password, context_data=context_data, use_decoys=use_decoys)


def decrypt(
    ciphertext: bytes,
    metadata: "Metadata | bytes",
    password: Password,
    *,
    seed: Seed = DEFAULT_SEED,
    context_data: ContextData = None,
) -> "str | bytes":
    """Quick start: inverse of :func:`encrypt` (the cost is read from the metadata)."""
    return decrypting_context(seed).decrypt(
        ciphertext, metadata, password, context_data=context_data
    )


def encrypt_blob(data: "str | bytes", password: Password, *, seed: Seed = DEFAULT_SEED, **kwargs: Any) -> bytes:
    """Quick start, one value: ``metadata.to_bytes() + ciphertext``."""
    ciphertext, meta = encrypt(data, password, seed=seed, **kwargs)
    return meta.to_bytes() + ciphertext


def decrypt_blob(
    blob: bytes, password: Password, *, seed: Seed = DEFAULT_SEED, context_data: ContextData = None
) -> "str | bytes":
    """Inverse of :func:`encrypt_blob`."""
    return decrypting_context(seed).decrypt_blob(blob, password, context_data=context_data)


__all__ = [
    "DEFAULT_SEED",
    "ChunkHeader",
    "KeyExchange",
    "StreamingContext",
    "ContextMismatchError",
    "DecryptionError",
    "FormatError",
    "IntegrityError",
    "KDFLimitError",
    "Metadata",
    "ParameterError",
    "ReplayError",
    "STCContext",
    "STCError",
    "StateError",
    "Suite",
    "TruncatedError",
    "WrongPasswordError",
    "decrypt",
    "decrypt_blob",
    "encrypt",
    "encrypt_blob",
    "errors",
]
