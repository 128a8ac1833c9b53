"""Noise's three state objects (rev 34 §5): CipherState, SymmetricState and HandshakeState.

They follow the specification's pseudocode name for name, so a reader can check each line
against it.  Keys are raw bytes held only here; nothing secret is in a repr.
"""

from __future__ import annotations

from typing import Any

from ...errors import HandshakeError, IntegrityError, ParameterError, StateError
from .primitives import MAX_MESSAGE, TAG_SIZE, Cipher, Hash

#: The largest nonce a CipherState uses for messages; 2**64 - 1 is reserved for rekey (§5.1).
MAX_NONCE = (1 << 64) - 2


class CipherState:
    """A key ``k`` (or none) and the nonce ``n`` of the next message (§5.1)."""

    __slots__ = ("_aead", "_cipher", "_k", "n")

    def __init__(self, cipher: Cipher, key: bytes | None = None) -> None:
        self._cipher = cipher
        self.initialize_key(key)

    def __repr__(self) -> str:
        return f"CipherState({self._cipher.name}, has_key={self.has_key()}, n={self.n})"

    def __reduce__(self) -> str | tuple[Any, ...]:
        raise ParameterError("a CipherState holds a key and a nonce; it cannot be pickled or copied")

    def initialize_key(self, key: bytes | None) -> None:
        """Set the key (None: no key, messages pass in clear as §5.1 says) and n = 0."""
        if key is not None and len(key) != 32:
            raise ParameterError("a Noise cipher key is 32 bytes")
        self._k = key
        self._aead = None if key is None else self._cipher.aead(key)
        self.n = 0

    def has_key(self) -> bool:
        return self._k is not None

    def set_nonce(self, nonce: int) -> None:
        """Set n (for protocols that carry explicit nonces, §5.1)."""
        if isinstance(nonce, bool) or not isinstance(nonce, int) or not 0 <= nonce <= MAX_NONCE + 1:
            raise ParameterError("a Noise nonce is an integer in [0, 2**64 - 1]")
        self.n = nonce

    def _next_nonce(self) -> int:
        if self.n > MAX_NONCE:
            raise StateError("this Noise cipher state has used every nonce (2**64 - 1); start a new session")
        return self.n

    def encrypt_with_ad(self, ad: bytes, plaintext: bytes) -> bytes:
        """ENCRYPT(k, n++, ad, plaintext), or the plaintext itself while there is no key."""
        if self._aead is None:
            return bytes(plaintext)
        n = self._next_nonce()
        out = self._cipher.encrypt(self._aead, n, ad, plaintext)
        self.n = n + 1
        return out

    def decrypt_with_ad(self, ad: bytes, ciphertext: bytes) -> bytes:
        """DECRYPT(k, n++, ad, ciphertext); IntegrityError (n unchanged) if it fails."""
        if self._aead is None:
            return bytes(ciphertext)
        n = self._next_nonce()
        out = self._cipher.decrypt(self._aead, n, ad, ciphertext)
        self.n = n + 1
        return out

    def rekey(self) -> None:
        """k = REKEY(k): the first 32 bytes of ENCRYPT(k, 2**64 - 1, "", 32 zero bytes) (§4.2)."""
        if self._aead is None:
            raise StateError("rekey needs a key")
        key = self._cipher.encrypt(self._aead, MAX_NONCE + 1, b"", bytes(32))[:32]
        self._k, self._aead = key, self._cipher.aead(key)


class SymmetricState:
    """The chaining key ``ck``, the handshake hash ``h`` and a CipherState (§5.2)."""

    def __init__(self, protocol_name: bytes, cipher: Cipher, hash_fn: Hash) -> None:
        self.hash_fn, self.cipher = hash_fn, cipher
        if len(protocol_name) <= hash_fn.size:
            self.h = protocol_name + bytes(hash_fn.size - len(protocol_name))
        else:
            self.h = hash_fn.hash(protocol_name)
        self.ck = self.h
        self.cipher_state = CipherState(cipher)

    def _key(self, material: bytes) -> bytes:
        return material[:32]  # HASHLEN 64: truncate to 32 bytes (§5.2)

    def mix_key(self, input_key_material: bytes) -> None:
        self.ck, temp_k = self.hash_fn.hkdf(self.ck, input_key_material, 2)
        self.cipher_state.initialize_key(self._key(temp_k))

    def mix_hash(self, data: bytes) -> None:
        self.h = self.hash_fn.hash(self.h + data)

    def mix_key_and_hash(self, input_key_material: bytes) -> None:
        self.ck, temp_h, temp_k = self.hash_fn.hkdf(self.ck, input_key_material, 3)
        self.mix_hash(temp_h)
        self.cipher_state.initialize_key(self._key(temp_k))

    def encrypt_and_hash(self, plaintext: bytes) -> bytes:
        ciphertext = self.cipher_state.encrypt_with_ad(self.h, plaintext)
        self.mix_hash(ciphertext)
        return ciphertext

    def decrypt_and_hash(self, ciphertext: bytes) -> bytes:
        try:
            plaintext = self.cipher_state.decrypt_with_ad(self.h, ciphertext)
        except IntegrityError:
            raise HandshakeError("a Noise handshake message did not authenticate (wrong key, wrong "
                                 "pre-shared key, another prologue, or changed bytes)") from None
        self.mix_hash(ciphertext)
        return plaintext

    def split_keys(self) -> tuple[bytes, bytes]:
        temp_k1, temp_k2 = self.hash_fn.hkdf(self.ck, b"", 2)
        return self._key(temp_k1), self._key(temp_k2)

    def split(self) -> tuple[CipherState, CipherState]:
        k1, k2 = self.split_keys()
        return CipherState(self.cipher, k1), CipherState(self.cipher, k2)


def check_size(message: bytes | bytearray) -> None:
    """Noise messages are at most 65,535 bytes (§3)."""
    if len(message) > MAX_MESSAGE:
        raise HandshakeError(f"a Noise message is at most {MAX_MESSAGE} bytes; got {len(message)}")


__all__ = ["MAX_NONCE", "TAG_SIZE", "CipherState", "SymmetricState", "check_size"]
