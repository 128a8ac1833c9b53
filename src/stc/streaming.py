"""Phase 2 file streaming of the manual: upfront validation and stats-reporting
stream functions (also importable as ``core.streaming``).

Deliberate difference from the manual: :func:`validate_chunk_fast` needs the
password.  Decoy slots are indistinguishable from the real one without it, so
no function can tell them apart from the ciphertext alone.
"""

from __future__ import annotations

import os
import resource
import time
import tracemalloc
from typing import Any

from cryptography.exceptions import InvalidTag

from ._encoding import DEFAULT_SEED, ContextData, Password, Seed
from ._payload import chunk_nonce
from .context import STCContext, decrypting_context
from .errors import FormatError, IntegrityError, ParameterError
from .filestream import PathOrFile, Progress, decrypt_file, encrypt_file, open_file_key
from .metadata import Metadata
from .suite import TAG_SIZE


def _context(ctx: "STCContext | None", seed: "Seed | None") -> STCContext:
    if ctx is not None:
        return ctx
    return decrypting_context(DEFAULT_SEED if seed is None else seed)


def validate_chunk_fast(
    chunk: bytes,
    metadata: "Metadata | bytes | None" = None,
    password: "Password | None" = None,
    *,
    context_data: ContextData = None,
    seed: "Seed | None" = None,
    ctx: "STCContext | None" = None,
) -> tuple[int, dict[str, Any]]:
    """Find the real key slot and authenticate the first chunk from the start of a file.

    ``chunk`` is the first bytes of the encrypted file (with or without its header;
    without it, ``metadata`` is required).  Returns ``(real_slot_index, info)``; ``info``
    has ``validation_time`` (s) and ``first_chunk_verified`` (False when ``chunk`` is
    shorter than one whole encrypted chunk: the slot check alone was done).
    """
    if password is None:
        raise ParameterError(
            "validate_chunk_fast needs the password: decoy slots are indistinguishable from the "
            "real one without it (this is deliberate; see docs/design.md)"
        )
    started = time.perf_counter()
    data = bytes(chunk)
    if isinstance(metadata, (bytes, bytearray, memoryview)):
        metadata = Metadata.from_bytes(metadata)
    if data[:4] == b"STCF":
        header, used = Metadata.parse_prefix(data)
        if metadata is not None and metadata.to_bytes() != header.to_bytes():
            raise FormatError("the metadata given does not match the chunk's header")
        metadata, data = header, data[used:]
    if metadata is None:
        raise ParameterError("metadata is required when the chunk does not start with the file header")
    if not metadata.is_file:
        raise FormatError("this is a message header; validate_chunk_fast works on encrypted files")
    context = _context(ctx, seed)
    slot, aead = open_file_key(context, metadata, password, context_data)
    enc = metadata.chunk_size + TAG_SIZE
    # More than one chunk given: chunk 0 is not last.  Exactly one: it may be either.
    # Less: the whole (short) final chunk, or only a prefix of chunk 0 (then unverifiable).
    if len(data) > enc:
        candidates, required = [False], True
    elif len(data) == enc:
        candidates, required = [False, True], True
    else:
        candidates, required = ([True] if len(data) >= TAG_SIZE else []), False
    verified = False
    for last in candidates:
        try:
            aead.decrypt(chunk_nonce(0, last), data[:enc], None)
        except InvalidTag:
            continue
        verified = True
        break
    if required and not verified:
        raise IntegrityError("chunk 0 did not authenticate: wrong context data, or the file was modified")
    info = {
        "validation_time": time.perf_counter() - started,
        "real_decoy_index": slot,
        "key_slots": len(metadata.slots),
        "first_chunk_verified": verified,
        "bytes_examined": min(len(data), enc),
    }
    return slot, info


def _measure(run: Any) -> tuple[Any, dict[str, Any]]:
    """Run ``run()`` and report time, Python-heap peak and process RSS peak."""
    tracing = tracemalloc.is_tracing()
    if not tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    started = time.perf_counter()
    try:
        result = run()
    finally:
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1] - base
        if not tracing:
            tracemalloc.stop()
    return result, {
        "elapsed_s": elapsed,
        "peak_memory_usage": peak,
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }


def stream_decrypt_file(
    input_file: PathOrFile,
    output_file: PathOrFile,
    metadata: "Metadata | None" = None,
    password: "Password | None" = None,
    *,
    context_data: ContextData = None,
    seed: "Seed | None" = None,
    ctx: "STCContext | None" = None,
    progress_callback: "Progress | None" = None,
) -> dict[str, Any]:
    """Decrypt a file in constant memory and return measured stats.

    ``peak_memory_usage`` is the peak of Python-heap memory the call allocated
    (tracemalloc), in bytes; ``peak_rss_bytes`` the process's lifetime RSS peak.
    """
    if password is None:
        raise ParameterError("password is required")
    context = _context(ctx, seed)
    (meta, slot, chunks, nbytes), stats = _measure(
        lambda: decrypt_file(
            context, input_file, output_file, password,
            metadata=metadata, progress_callback=progress_callback, context_data=context_data,
        )
    )
    stats.update(
        {
            "throughput_mbps": nbytes / 1e6 / stats["elapsed_s"] if stats["elapsed_s"] else 0.0,
            "chunks_processed": chunks,
            "bytes_processed": nbytes,
            "real_decoy_index": slot,
            "chunk_size": meta.chunk_size,
        }
    )
    return stats


def stream_encrypt_file(
    input_file: PathOrFile,
    output_file: PathOrFile,
    password: Password,
    *,
    seed: "Seed | None" = None,
    ctx: "STCContext | None" = None,
    **kwargs: Any,
) -> tuple[Metadata, dict[str, Any]]:
    """Encrypt a file in constant memory; return its header and measured stats.

    Without ``ctx`` a context with the default Argon2id cost (lattice 128, depth 6) is used.
    """
    context = ctx if ctx is not None else STCContext(DEFAULT_SEED if seed is None else seed)
    meta, stats = _measure(lambda: encrypt_file(context, input_file, output_file, [password], **kwargs))
    size = os.path.getsize(input_file) if isinstance(input_file, (str, os.PathLike)) else None
    stats["throughput_mbps"] = size / 1e6 / stats["elapsed_s"] if size and stats["elapsed_s"] else None
    return meta, stats
