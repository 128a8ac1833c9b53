"""The functions a Noise protocol name selects (Noise rev 34, §4 and §12), from ``cryptography``.

DH: 25519 (X25519) and 448 (X448).  Ciphers: AESGCM (AES-256-GCM, nonce = 4 zero bytes ||
u64 big-endian n) and ChaChaPoly (ChaCha20-Poly1305, nonce = 4 zero bytes || u64 little-endian
n).  Hashes: SHA256, SHA512, BLAKE2s, BLAKE2b, with Noise's HKDF, which is RFC 5869 HKDF with
the chaining key as salt and empty info (§4.3).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x448 import X448PrivateKey, X448PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from ...errors import HandshakeError, IntegrityError, ParameterError

#: Tag size of both ciphers; the largest Noise message (§3).
TAG_SIZE = 16
MAX_MESSAGE = 65535


@dataclass(frozen=True)
class DH:
    """A Diffie-Hellman function: 25519 or 448."""

    name: str
    size: int  # DHLEN
    private: Any
    public: Any

    def generate(self) -> tuple[bytes, bytes]:
        """A fresh key pair (private, public), raw bytes."""
        return self.keypair(self.private.generate().private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()))

    def keypair(self, private: bytes) -> tuple[bytes, bytes]:
        """(private, public) of raw private bytes."""
        if len(private) != self.size:
            raise ParameterError(f"a {self.name} private key is {self.size} bytes")
        key = self.private.from_private_bytes(private)
        return private, key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    def dh(self, private: bytes, public: bytes) -> bytes:
        """DH(private, public); HandshakeError for a public key giving no shared secret (low order)."""
        try:
            return bytes(self.private.from_private_bytes(private).exchange(self.public.from_public_bytes(public)))
        except ValueError:
            raise HandshakeError(f"the peer's {self.name} key gives no shared secret (a low-order point)") from None


@dataclass(frozen=True)
class Cipher:
    """An AEAD cipher with Noise's nonce encoding."""

    name: str
    aead: Callable[[bytes], Any]
    nonce_format: str

    def nonce(self, n: int) -> bytes:
        return struct.pack(self.nonce_format, 0, n)

    def encrypt(self, key: Any, n: int, ad: bytes, plaintext: bytes) -> bytes:
        return bytes(key.encrypt(self.nonce(n), plaintext, ad))

    def decrypt(self, key: Any, n: int, ad: bytes, ciphertext: bytes) -> bytes:
        try:
            return bytes(key.decrypt(self.nonce(n), ciphertext, ad))
        except InvalidTag:
            raise IntegrityError("a Noise message did not authenticate (wrong key, or changed bytes)") from None


@dataclass(frozen=True)
class Hash:
    """A hash function with Noise's HMAC-based HKDF (§4.3)."""

    name: str
    algorithm: Callable[[], hashes.HashAlgorithm]
    size: int  # HASHLEN

    def hash(self, data: bytes) -> bytes:
        digest = hashes.Hash(self.algorithm())
        digest.update(data)
        return digest.finalize()

    def hkdf(self, chaining_key: bytes, input_key_material: bytes, outputs: int) -> list[bytes]:
        """``outputs`` (2 or 3) values of HASHLEN bytes: RFC 5869 with salt = chaining key, no info."""
        out = HKDF(self.algorithm(), outputs * self.size, chaining_key, b"").derive(input_key_material)
        return [out[i * self.size:(i + 1) * self.size] for i in range(outputs)]


DHS = {"25519": DH("25519", 32, X25519PrivateKey, X25519PublicKey),
       "448": DH("448", 56, X448PrivateKey, X448PublicKey)}
CIPHERS = {"AESGCM": Cipher("AESGCM", AESGCM, ">IQ"), "ChaChaPoly": Cipher("ChaChaPoly", ChaCha20Poly1305, "<IQ")}
HASHES = {"SHA256": Hash("SHA256", hashes.SHA256, 32), "SHA512": Hash("SHA512", hashes.SHA512, 64),
          "BLAKE2s": Hash("BLAKE2s", lambda: hashes.BLAKE2s(32), 32),
          "BLAKE2b": Hash("BLAKE2b", lambda: hashes.BLAKE2b(64), 64)}
