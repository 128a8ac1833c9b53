"""Key agreement for P2P sessions: ephemeral X25519 plus an optional pre-shared key.

Each peer sends its 32-byte public key; both derive the same 32-byte session
seed with HKDF over the shared secret and the transcript (both public keys in
a fixed order).  The seed goes straight into :class:`stc.StreamingContext`,
so the peers need no guessable shared string.  The exchange alone is not
authenticated: without a PSK (or another check of the peer's public key), a
man in the middle can sit between the peers.
"""

from __future__ import annotations

import hmac
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from ..crypto.kdf import hkdf
from ..errors import HandshakeError, ParameterError
from . import StreamingContext

PUBLIC_KEY_SIZE = 32


class KeyExchange:
    """One side of an ephemeral X25519 exchange; use each instance for one session."""

    def __init__(self) -> None:
        self._private: X25519PrivateKey | None = X25519PrivateKey.generate()
        self.public_key = self._private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    def __repr__(self) -> str:
        return f"KeyExchange(public_key={self.public_key.hex()})"

    def derive_seed(self, peer_public_key: bytes, *, psk: bytes | None = None, info: bytes = b"") -> bytes:
        """The 32-byte session seed both peers compute; the private key is then dropped.

        ``psk`` (a secret both peers hold) authenticates the exchange; ``info`` binds
        an application label (e.g. a session name) into the result.
        """
        if psk is not None and (not isinstance(psk, (bytes, bytearray)) or not any(psk)):
            raise ParameterError("psk must be non-empty bytes that are not all zero (an empty or zero PSK "
                                 "would silently mean no PSK); leave it out for an unauthenticated exchange")
        if self._private is None:
            raise HandshakeError("this KeyExchange was already used; create one per session")
        if not isinstance(peer_public_key, (bytes, bytearray)) or len(peer_public_key) != PUBLIC_KEY_SIZE:
            raise HandshakeError(f"a peer public key is exactly {PUBLIC_KEY_SIZE} bytes")
        peer = bytes(peer_public_key)
        if hmac.compare_digest(peer, self.public_key):
            raise HandshakeError("the peer sent back our own public key (reflection)")
        try:
            shared = self._private.exchange(X25519PublicKey.from_public_bytes(peer))
        except ValueError:
            raise HandshakeError("the peer public key is a low-order point (no shared secret)") from None
        self._private = None
        low, high = sorted((self.public_key, peer))
        return hkdf(shared, b"p2p handshake" + low + high + info, salt=psk)

    def role_for(self, peer_public_key: bytes) -> str:
        """This side's role in the session: "initiator" if our public key sorts first, else "responder"."""
        return "initiator" if bytes(self.public_key) < bytes(peer_public_key) else "responder"

    def streaming_context(
        self, peer_public_key: bytes, *, psk: bytes | None = None, info: bytes = b"", **options: Any
    ) -> StreamingContext:
        """A :class:`StreamingContext` for this session, with the two directions separated:
        each side gets its role from the public keys, so a frame reflected back to its
        sender is refused.  ``options`` go to StreamingContext (e.g. ``key_rotation_mb``)."""
        seed = self.derive_seed(peer_public_key, psk=psk, info=info)  # validates the peer key first
        return StreamingContext(seed, role=self.role_for(peer_public_key), **options)
