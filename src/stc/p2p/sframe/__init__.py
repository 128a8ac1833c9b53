"""SFrame (RFC 9605): end-to-end encrypted media frames that WebRTC and other SFrame stacks read.

:mod:`.header` (the KID/CTR header), :mod:`.suites` (key derivation and the suites' AEADs,
stateless), :mod:`.kids` (the KID layouts and key families of §5), :mod:`.context`
(:class:`SFrameContext`, which owns the counters).
"""

from __future__ import annotations

from .context import DEFAULT_REPLAY_WINDOW, SFrameContext
from .header import MAX_HEADER_SIZE, SFrameHeader, encode_header, parse_header
from .kids import MAX_FAMILY_KIDS, MAX_RATCHET_BITS, mls_kid, sender_kid
from .suites import (
    MAX_FRAME,
    SUITES,
    SFrameSuite,
    aead_open,
    aead_seal,
    derive_key_salt,
    frame_nonce,
    get_suite,
    protect_with,
    ratchet_base_key,
    unprotect_with,
)

__all__ = [
    "DEFAULT_REPLAY_WINDOW",
    "MAX_FAMILY_KIDS",
    "MAX_FRAME",
    "MAX_HEADER_SIZE",
    "MAX_RATCHET_BITS",
    "SUITES",
    "SFrameContext",
    "SFrameHeader",
    "SFrameSuite",
    "aead_open",
    "aead_seal",
    "derive_key_salt",
    "encode_header",
    "frame_nonce",
    "get_suite",
    "mls_kid",
    "parse_header",
    "protect_with",
    "ratchet_base_key",
    "sender_kid",
    "unprotect_with",
]
