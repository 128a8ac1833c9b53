"""STC: authenticated encryption for messages, files of any size, folders and live P2P frames,
to passphrases and public keys (X25519, ML-KEM-768 + X25519), built only from vetted primitives
(AES-256-GCM / ChaCha20-Poly1305, Argon2id, HKDF-SHA256, BLAKE2b) through pyca/cryptography.

Names are loaded on first use (PEP 562), so ``import stc`` and ``stc --help`` stay fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import errors
from .crypto.encoding import DEFAULT_SEED, ContextData, Password, Seed
from .errors import (
    ContextMismatchError,
    DecryptionError,
    FormatError,
    HandshakeError,
    IntegrityError,
    JournalWarning,
    KDFLimitError,
    NoMatchingIdentityError,
    ParameterError,
    ReplayError,
    SessionClosedError,
    StateError,
    STCError,
    STCWarning,
    TruncatedError,
    UnknownKeyError,
    WrongPasswordError,
)
from .formats import legacy

__version__ = "0.7.0"

legacy.install()  # pickles of earlier releases name stc.metadata, stc.format_v2, ...

_LAZY = {
    "STCContext": "context", "decrypting_context": "context", "HeaderV2": "formats.v2", "HeaderV3": "formats.v3",
    "KeyExchange": "p2p.handshake",
    "Header": "formats.headers", "Metadata": "formats.v1", "ChunkHeader": "p2p", "StreamingContext": "p2p",
    "Identity": "keys.recipients", "Recipient": "keys.recipients", "generate_identity": "keys.recipients",
    "load_identities": "identities", "parse_identity": "keys.recipients", "parse_recipient": "keys.recipients",
    "Suite": "crypto.suite", "encrypt": "api", "decrypt": "api", "encrypt_blob": "api", "decrypt_blob": "api",
    "rekey": "api", "encrypt_file": "api", "decrypt_file": "api", "quick_encrypt": "api", "quick_decrypt": "api",
    "get_status": "api", "open": "api", "Secret": "crypto.secret", "DecryptingReader": "files.fileobj",
    "EncryptingWriter": "files.fileobj",
}


def __getattr__(name: str) -> Any:
    """Load a public name, or a submodule, on first use."""
    module = _LAZY.get(name)
    if module is not None:
        value = getattr(importlib.import_module(f".{module}", __name__), name)
        globals()[name] = value
        return value
    try:
        return importlib.import_module(f".{name}", __name__)
    except ModuleNotFoundError:
        raise AttributeError(f"module 'stc' has no attribute {name!r}") from None


if TYPE_CHECKING:  # what the lazy names are, for type checkers
    from .api import (
        decrypt,
        decrypt_blob,
        decrypt_file,
        encrypt,
        encrypt_blob,
        encrypt_file,
        get_status,
        open,
        quick_decrypt,
        quick_encrypt,
        rekey,
    )
    from .context import STCContext, decrypting_context
    from .crypto.secret import Secret
    from .crypto.suite import Suite
    from .files.fileobj import DecryptingReader, EncryptingWriter
    from .formats.headers import Header
    from .formats.v1 import Metadata
    from .formats.v2 import HeaderV2
    from .formats.v3 import HeaderV3
    from .identities import load_identities
    from .keys.recipients import (
        Identity,
        Recipient,
        generate_identity,
        parse_identity,
        parse_recipient,
    )
    from .p2p import ChunkHeader, StreamingContext
    from .p2p.handshake import KeyExchange

__all__ = [
    "DEFAULT_SEED",
    "ContextData",
    "EncryptingWriter",
    "Password",
    "Seed",
    "decrypting_context",
    "ChunkHeader",
    "ContextMismatchError",
    "DecryptingReader",
    "DecryptionError",
    "FormatError",
    "HandshakeError",
    "Header",
    "HeaderV2",
    "HeaderV3",
    "Identity",
    "IntegrityError",
    "JournalWarning",
    "KDFLimitError",
    "KeyExchange",
    "Metadata",
    "NoMatchingIdentityError",
    "ParameterError",
    "Recipient",
    "ReplayError",
    "STCContext",
    "STCError",
    "STCWarning",
    "SessionClosedError",
    "Secret",
    "StateError",
    "StreamingContext",
    "Suite",
    "TruncatedError",
    "UnknownKeyError",
    "WrongPasswordError",
    "decrypt",
    "decrypt_blob",
    "decrypt_file",
    "encrypt",
    "encrypt_blob",
    "encrypt_file",
    "errors",
    "get_status",
    "generate_identity",
    "load_identities",
    "open",
    "parse_identity",
    "parse_recipient",
    "quick_decrypt",
    "quick_encrypt",
    "rekey",
]
