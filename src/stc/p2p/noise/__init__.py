"""The Noise Protocol Framework, revision 34 (https://noiseprotocol.org/noise.html), over ``cryptography``.

:mod:`.primitives` (DH 25519/448, AESGCM/ChaChaPoly, SHA256/SHA512/BLAKE2s/BLAKE2b),
:mod:`.patterns` (every one-way, fundamental and deferred pattern, ``psk`` modifiers),
:mod:`.state` (CipherState, SymmetricState) and :mod:`.handshake` (HandshakeState).
"""

from __future__ import annotations

from .handshake import PSK_SIZE, HandshakeState
from .patterns import Pattern, Protocol, parse_protocol_name
from .primitives import MAX_MESSAGE
from .state import MAX_NONCE, CipherState

__all__ = ["MAX_MESSAGE", "MAX_NONCE", "PSK_SIZE", "CipherState", "HandshakeState", "Pattern", "Protocol",
           "parse_protocol_name"]
