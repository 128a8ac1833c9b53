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
from collections.abc import Iterable
from typing import Any

from cryptography.exceptions import InvalidTag

from .context import STCContext, decrypting_context
from .crypto.encoding import DEFAULT_SEED, ContextData, Password, Seed
from .crypto.payload import chunk_nonce
from .crypto.suite import TAG_SIZE
from .errors import FormatError, IntegrityError, ParameterError, WrongPasswordError
from .files.outputs import PathOrFile
from .files.stream import Progress, decrypt_file
from .formats.headers import Header, as_file_header, parse_header
from .keys.recipients import Identity


def _context(ctx: STCContext | None, seed: Seed | None, metadata: Header | None = None) -> STCContext:
    """The context given, else the one that made ``metadata`` in this process, else one for ``seed``."""
    if ctx is not None:
        return ctx
    if seed is None and metadata is not None:
        made_by = getattr(metadata, "_origin", None)  # set in memory by the context that made it
        if isinstance(made_by, STCContext):
            return made_by
    return decrypting_context(DEFAULT_SEED if seed is None else seed)


def _hint_seed(exc: WrongPasswordError, seed: Seed | None, ctx: STCContext | None) -> WrongPasswordError:
    """The same error, telling to pass ``seed=``/``ctx=`` when the public default seed was assumed."""
    if seed is None and ctx is None and not str(exc).endswith("ctx="):
        return type(exc)(f"{exc}; if the data was made with another seed, pass seed= or ctx=")
    return exc


def validate_chunk_fast(
    chunk: bytes,
    metadata: Header | bytes | None = None,
    password: Password | None = None,
    *,
    identities: Iterable[Identity | str] = (),
    context_data: ContextData = None,
    seed: Seed | None = None,
    ctx: STCContext | None = None,
) -> tuple[int, dict[str, Any]]:
    """Find the real key slot and authenticate the first chunk from the start of a file.

    ``chunk`` is the first bytes of the encrypted file (with or without its header;
    without it, ``metadata`` is required).  Returns ``(real_slot_index, info)``; ``info``
    has ``validation_time`` (s) and ``first_chunk_verified`` (False when ``chunk`` is
    shorter than one whole encrypted chunk: the slot check alone was done).
    """
    if password is None and not identities:
        raise ParameterError(
            "validate_chunk_fast needs the password (or an identity): decoy slots are indistinguishable from the "
            "real one without it (this is deliberate; see docs/design.md)"
        )
    started = time.perf_counter()
    data = bytes(chunk)
    given = None if metadata is None else as_file_header(metadata)
    if data[:4] == b"STCF":
        parsed, used = parse_header(data)
        header = as_file_header(parsed)
        if given is not None and given.to_bytes() != header.to_bytes():
            raise FormatError("the metadata given does not match the chunk's header")
        # Keep the caller's metadata object when there is one: only it carries the in-memory
        # link to the context that made it (and so the seed).
        given, data = header if given is None else given, data[used:]
    metadata = given
    if metadata is None:
        raise ParameterError("metadata is required when the chunk does not start with the file header")
    if not metadata.is_file:
        raise FormatError("this is a message header; validate_chunk_fast works on encrypted files")
    context = _context(ctx, seed, metadata)
    try:
        slot, aead = context._open(metadata, password, identities, context_data)
    except WrongPasswordError as exc:
        raise _hint_seed(exc, seed, ctx) from None
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
        "key_slots": metadata.slot_count,
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
    metadata: Header | None = None,
    password: Password | None = None,
    *,
    identities: Iterable[Identity | str] = (),
    context_data: ContextData = None,
    seed: Seed | None = None,
    ctx: STCContext | None = None,
    progress_callback: Progress | None = None,
) -> dict[str, Any]:
    """Decrypt a file in constant memory and return measured stats.

    ``peak_memory_usage`` is the peak of Python-heap memory the call allocated
    (tracemalloc), in bytes; ``peak_rss_bytes`` the process's lifetime RSS peak.
    """
    if password is None and not identities:
        raise ParameterError("password (or an identity) is required")
    context = _context(ctx, seed, metadata)
    try:
        (meta, slot, chunks, nbytes), stats = _measure(
            lambda: decrypt_file(input_file, output_file, context._opener(password, identities, context_data),
                                 metadata=metadata, progress_callback=progress_callback)
        )
    except WrongPasswordError as exc:
        raise _hint_seed(exc, seed, ctx) from None
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
    seed: Seed | None = None,
    ctx: STCContext | None = None,
    **kwargs: Any,
) -> tuple[Header, dict[str, Any]]:
    """Encrypt a file in constant memory; return its header and measured stats.

    Without ``ctx`` a context with the default Argon2id cost (lattice 128, depth 6) is used.
    """
    context = ctx if ctx is not None else STCContext(DEFAULT_SEED if seed is None else seed)
    meta, stats = _measure(lambda: context.encrypt_stream(input_file, output_file, password, **kwargs))
    size = os.path.getsize(input_file) if isinstance(input_file, (str, os.PathLike)) else None
    stats["throughput_mbps"] = size / 1e6 / stats["elapsed_s"] if size and stats["elapsed_s"] else None
    return meta, stats
