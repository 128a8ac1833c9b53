"""Manual import path for P2P frame encryption: a thin re-export of :mod:`stc.p2p`."""

from stc.p2p import ChunkHeader, StreamingContext

__all__ = ["ChunkHeader", "StreamingContext"]
