"""The module-level calls of :mod:`stc` (loaded on first use, so ``import stc`` stays cheap)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any, Literal, overload

from .context import STCContext, as_asked, decrypting_context
from .crypto.encoding import DEFAULT_SEED, ContextData, Password, Seed
from .errors import ParameterError
from .files.fileobj import DecryptingReader, EncryptingWriter
from .files.stream import DEFAULT_CHUNK
from .formats.headers import FORMATS_READ, FORMATS_WRITTEN, Header, MessageHeader, as_header, parse_header
from .formats.v2 import HeaderV2
from .formats.v3 import HeaderV3
from .keys.recipients import Identity, Recipient


def encrypt(
    data: str | bytes,
    password: Password | None = None,
    *,
    recipients: Iterable[Recipient | str] = (),
    seed: Seed = DEFAULT_SEED,
    context_data: ContextData = None,
    use_decoys: bool | None = None,
    lattice_size: int = 128,
    depth: int = 6,
    format_version: int | None = None,
) -> tuple[bytes, HeaderV2 | HeaderV3]:
    """Quick start: encrypt with a one-off context; returns ``(ciphertext, metadata)``
    (keywords as :meth:`STCContext.encrypt`)."""
    ctx = STCContext(seed, lattice_size=lattice_size, depth=depth)
    return ctx.encrypt(data, password, recipients=recipients, context_data=context_data, use_decoys=use_decoys,
                       format_version=format_version)


@overload
def decrypt(ciphertext: bytes, metadata: MessageHeader | bytes, password: Password | None = None, *,
            identities: Iterable[Identity | str] = (), seed: Seed = DEFAULT_SEED, context_data: ContextData = None,
            text: Literal[False]) -> bytes: ...
@overload
def decrypt(ciphertext: bytes, metadata: MessageHeader | bytes, password: Password | None = None, *,
            identities: Iterable[Identity | str] = (), seed: Seed = DEFAULT_SEED, context_data: ContextData = None,
            text: Literal[True]) -> str: ...
@overload
def decrypt(ciphertext: bytes, metadata: MessageHeader | bytes, password: Password | None = None, *,
            identities: Iterable[Identity | str] = (), seed: Seed = DEFAULT_SEED, context_data: ContextData = None,
            text: None = None) -> str | bytes: ...


def decrypt(
    ciphertext: bytes,
    metadata: MessageHeader | bytes,
    password: Password | None = None,
    *,
    identities: Iterable[Identity | str] = (),
    seed: Seed = DEFAULT_SEED,
    context_data: ContextData = None,
    text: bool | None = None,
) -> str | bytes:
    """Quick start: inverse of :func:`encrypt` (the cost is read from the metadata).  ``text=False``
    always gives ``bytes``, ``text=True`` always ``str``; by default, what was encrypted."""
    ctx = decrypting_context(seed)
    plain = ctx.decrypt(ciphertext, metadata, password, identities=identities, context_data=context_data,
                        text=False)
    return as_asked(plain, as_header(metadata).text, text)


def encrypt_blob(
    data: str | bytes, password: Password | None = None, *, seed: Seed = DEFAULT_SEED, **kwargs: Any
) -> bytes:
    """Quick start, one value: ``metadata.to_bytes() + ciphertext`` (keywords as :func:`encrypt`)."""
    ciphertext, meta = encrypt(data, password, seed=seed, **kwargs)
    return meta.to_bytes() + ciphertext


@overload
def decrypt_blob(blob: bytes, password: Password | None = None, *, identities: Iterable[Identity | str] = (),
                 seed: Seed = DEFAULT_SEED, context_data: ContextData = None, text: Literal[False]) -> bytes: ...
@overload
def decrypt_blob(blob: bytes, password: Password | None = None, *, identities: Iterable[Identity | str] = (),
                 seed: Seed = DEFAULT_SEED, context_data: ContextData = None, text: Literal[True]) -> str: ...
@overload
def decrypt_blob(blob: bytes, password: Password | None = None, *, identities: Iterable[Identity | str] = (),
                 seed: Seed = DEFAULT_SEED, context_data: ContextData = None, text: None = None) -> str | bytes: ...


def decrypt_blob(
    blob: bytes,
    password: Password | None = None,
    *,
    identities: Iterable[Identity | str] = (),
    seed: Seed = DEFAULT_SEED,
    context_data: ContextData = None,
    text: bool | None = None,
) -> str | bytes:
    """Inverse of :func:`encrypt_blob` (``text`` as for :func:`decrypt`)."""
    ctx = decrypting_context(seed)
    meta, used = parse_header(blob)
    plain = ctx.decrypt(blob[used:], meta, password, identities=identities, context_data=context_data, text=False)
    return as_asked(plain, meta.text, text)


def rekey(
    path: str | os.PathLike[str],
    *,
    password: Password | None = None,
    identities: Iterable[Identity | str] = (),
    add: Iterable[Recipient | str] = (),
    remove: Iterable[Recipient | str] = (),
    new_password: Password | None = None,
    seed: Seed = DEFAULT_SEED,
    lattice_size: int = 128,
    depth: int = 6,
) -> HeaderV2:
    """Re-key an encrypted file in place (header only; see :meth:`STCContext.rekey`).

    ``lattice_size``/``depth`` set the Argon2id cost of a new password.
    """
    ctx = STCContext(seed, lattice_size=lattice_size, depth=depth)
    return ctx.rekey(path, password=password, identities=identities, add=add, remove=remove,
                     new_password=new_password)


def encrypt_file(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    password: Password | None = None,
    *,
    seed: Seed = DEFAULT_SEED,
    lattice_size: int = 128,
    depth: int = 6,
    **options: Any,
) -> HeaderV2:
    """STC 0.4's module-level file call: :meth:`STCContext.encrypt_stream` with a one-off context."""
    return STCContext(seed, lattice_size=lattice_size, depth=depth).encrypt_stream(src, dst, password, **options)


def decrypt_file(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    password: Password | None = None,
    *,
    seed: Seed = DEFAULT_SEED,
    **options: Any,
) -> Header:
    """Inverse of :func:`encrypt_file` (the cost is read from the header)."""
    return decrypting_context(seed).decrypt_stream(src, output_path=dst, password=password, **options)


def quick_encrypt(data: str | bytes, seed: Seed, *, password: Password, **options: Any) -> bytes:
    """STC 0.4's one-call encryption, as one value (``metadata || ciphertext``).

    Unlike 0.4, a password is required: 0.4 silently used the seed as the password.
    """
    return encrypt_blob(data, password, seed=seed, **options)


def quick_decrypt(blob: bytes, seed: Seed, *, password: Password, **options: Any) -> str | bytes:
    """Inverse of :func:`quick_encrypt`."""
    plain: str | bytes = decrypt_blob(blob, password, seed=seed, **options)
    return plain


@overload
def open(file: Any, mode: Literal["rb"] = "rb", *, password: Password | None = None,
         identities: Iterable[Identity | str] = (), recipients: Iterable[Recipient | str] = (),
         additional_passwords: Sequence[Password] = (), context_data: ContextData = None, seed: Seed | None = None,
         ctx: STCContext | None = None, chunk_size: int = DEFAULT_CHUNK, use_decoys: bool = True,
         lattice_size: int = 128, depth: int = 6, close_file: bool | None = None) -> DecryptingReader: ...
@overload
def open(file: Any, mode: Literal["wb"], *, password: Password | None = None,
         identities: Iterable[Identity | str] = (), recipients: Iterable[Recipient | str] = (),
         additional_passwords: Sequence[Password] = (), context_data: ContextData = None, seed: Seed | None = None,
         ctx: STCContext | None = None, chunk_size: int = DEFAULT_CHUNK, use_decoys: bool = True,
         lattice_size: int = 128, depth: int = 6, close_file: bool | None = None) -> EncryptingWriter: ...
@overload
def open(file: Any, mode: str, *, password: Password | None = None,
         identities: Iterable[Identity | str] = (), recipients: Iterable[Recipient | str] = (),
         additional_passwords: Sequence[Password] = (), context_data: ContextData = None, seed: Seed | None = None,
         ctx: STCContext | None = None, chunk_size: int = DEFAULT_CHUNK, use_decoys: bool = True,
         lattice_size: int = 128, depth: int = 6,
         close_file: bool | None = None) -> DecryptingReader | EncryptingWriter: ...


def open(  # mirrors the builtin, as gzip.open does
    file: Any,
    mode: str = "rb",
    *,
    password: Password | None = None,
    identities: Iterable[Identity | str] = (),
    recipients: Iterable[Recipient | str] = (),
    additional_passwords: Sequence[Password] = (),
    context_data: ContextData = None,
    seed: Seed | None = None,
    ctx: STCContext | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    use_decoys: bool = True,
    lattice_size: int = 128,
    depth: int = 6,
    close_file: bool | None = None,
) -> DecryptingReader | EncryptingWriter:
    """An encrypted file as a binary file object: ``mode="rb"`` reads (seekable when the
    input is, authenticating only the chunks a read touches), ``"wb"`` writes.

    Pass ``ctx`` to reuse a context (and its cached password keys), or ``seed`` and the
    Argon2id knobs for a one-off one.  Writing: close the file (or leave the ``with``
    block) to finish it; an exception in the block, or a writer dropped unclosed, leaves
    no file at a path.  Files opened here and files of ``encrypt_stream``/``stc encrypt``
    are one format.
    """
    if ctx is not None and (seed is not None or lattice_size != 128 or depth != 6):
        raise ParameterError("give ctx or seed/lattice_size/depth, not both")
    if ctx is None:
        ctx = STCContext(DEFAULT_SEED if seed is None else seed, lattice_size=lattice_size, depth=depth)
    return ctx.open(file, mode, password=password, identities=identities, recipients=recipients,
                     additional_passwords=additional_passwords, context_data=context_data, chunk_size=chunk_size,
                     use_decoys=use_decoys, close_file=close_file)


def get_status() -> dict[str, Any]:
    """What this library is and does (no context needed): version, primitives, formats."""
    return {
        "version": _version(),
        "primitives": ["AES-256-GCM", "ChaCha20-Poly1305", "Argon2id", "HKDF-SHA256", "BLAKE2b", "X25519",
                       "ML-KEM-768 (X-Wing)"],
        "formats_written": dict(FORMATS_WRITTEN),
        "formats_read": {kind: list(versions) for kind, versions in FORMATS_READ.items()},
        "minimum_argon2id_for_new_data": "16 MiB, 2 passes",
    }


def _version() -> str:
    from . import __version__

    return __version__
