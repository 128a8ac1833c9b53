"""Real-time P2P frames: wire format (:mod:`.frame`), key schedules (:mod:`.keys`), replay
state (:mod:`.replay`, :mod:`.receiver`), multi-chunk bodies (:mod:`.subchunks`), the manual's
:class:`StreamingContext` (:mod:`.context`) and RFC 9605 SFrame (:mod:`.sframe`)."""

from __future__ import annotations

from typing import Any

from .context import StreamingContext
from .frame import (
    FLAG_MULTI,
    FLAG_SINGLE,
    HEADER_SIZE,
    HEADER_VERSION,
    MAX_EPOCH,
    MAX_SEQUENCE,
    STREAM_METADATA_SIZE,
    ChunkHeader,
    StreamParameters,
)
from .keys import session_root
from .receiver import V1_MAX_EPOCH_JUMP
from .replay import MAX_RETIRED, MAX_SENDERS
from .sframe import SFrameContext

__all__ = [
    "FLAG_MULTI",
    "FLAG_SINGLE",
    "HEADER_SIZE",
    "HEADER_VERSION",
    "MAX_EPOCH",
    "MAX_RETIRED",
    "MAX_SENDERS",
    "MAX_SEQUENCE",
    "STREAM_METADATA_SIZE",
    "SFrameContext",
    "V1_MAX_EPOCH_JUMP",
    "ChunkHeader",
    "StreamParameters",
    "StreamingContext",
    "session_root",
]


def __getattr__(name: str) -> Any:
    """The session layer (asyncio, Noise, ML-KEM) loads on first use: ``stc.p2p.connect``, ``listen``."""
    if name in ("connect", "listen", "Session", "Server"):
        from .session import Server, Session, connect, listen

        return {"connect": connect, "listen": listen, "Session": Session, "Server": Server}[name]
    raise AttributeError(f"module 'stc.p2p' has no attribute {name!r}")
