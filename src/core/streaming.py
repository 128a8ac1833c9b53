"""Manual import path for file streaming: a thin re-export of :mod:`stc.streaming`."""

from stc.streaming import stream_decrypt_file, stream_encrypt_file, validate_chunk_fast

__all__ = ["stream_decrypt_file", "stream_encrypt_file", "validate_chunk_fast"]
