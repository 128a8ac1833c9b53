"""An fsspec filesystem, protocol ``stc``: encrypted files on any filesystem, read and
written as plaintext (``stc::file://``, ``stc::memory://``, ``stc::s3://`` ...).

It is a chaining filesystem, like fsspec's ``simplecache``: paths are those of the target
filesystem, and every call that is not about file contents (``rm``, ``mkdir``, ``exists``,
globbing) goes to the target unchanged.  Opening returns :mod:`stc.files.fileobj` objects over
the target's file objects; ``info`` and ``ls`` report plaintext sizes, computed from the
header and the ciphertext length (one small read per file, no decryption).

Key material (``password``, ``seed``, ``identities``, ``context_data``) is wrapped in a
:class:`~stc.crypto.secret.Secret` before fsspec computes the instance token, so neither reprs
nor tokens carry it; see docs/datasets.md for how it reaches Dask workers.
Installed with the ``fsspec`` extra and registered through the ``fsspec.specs`` entry
point, so no import is needed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any

import fsspec
from fsspec.implementations.chained import ChainedFileSystem

from .context import STCContext
from .crypto.encoding import DEFAULT_SEED
from .crypto.secret import Secret, reveal
from .errors import ParameterError, STCError
from .files.fileobj import DecryptingReader, EncryptingWriter
from .files.stream import DEFAULT_CHUNK, layout, read_file_header

#: Options that are key material: wrapped in Secret before fsspec tokenizes them.
SECRET_OPTIONS = ("password", "additional_passwords", "seed", "identities", "context_data")


class _SecretOptions(type(ChainedFileSystem)):  # type: ignore[misc]
    """Wraps key material before fsspec's instance cache tokenizes the options."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        for name in SECRET_OPTIONS:
            value = kwargs.get(name)
            if value is not None and not isinstance(value, Secret):
                kwargs[name] = Secret(list(value) if isinstance(value, tuple) else value)
        return super().__call__(*args, **kwargs)


class STCFileSystem(ChainedFileSystem, metaclass=_SecretOptions):  # type: ignore[misc]
    """Encrypted files as plaintext; see the module docstring.

    Keys: ``password`` (and ``additional_passwords`` when writing) or ``identities``
    (secret keys) to read, ``recipients`` (public keys) to write to, ``seed`` (default
    the library's), ``context_data``, ``chunk_size``, and the Argon2id knobs
    ``lattice_size``/``depth`` for new files.
    """

    protocol = "stc"
    root_marker = ""


    def to_json(self, *, include_password: bool = True) -> str:
        """Refused: the filesystem holds key material, which has no JSON form here."""
        raise ParameterError("an STCFileSystem holds a password or identities and has no JSON form; create it "
                             "again from its options where it is needed")

    def to_dict(self, *, include_password: bool = True) -> dict[str, Any]:
        """Refused, as :meth:`to_json` is."""
        raise ParameterError("an STCFileSystem holds a password or identities and has no dict form; create it "
                             "again from its options where it is needed")

    def __init__(
        self,
        target_protocol: str | None = None,
        target_options: dict[str, Any] | None = None,
        fs: fsspec.AbstractFileSystem | None = None,
        fo: str | None = None,
        *,
        password: Secret | None = None,
        additional_passwords: Secret | None = None,
        identities: Secret | None = None,
        recipients: Iterable[str] = (),
        seed: Secret | None = None,
        context_data: Secret | None = None,
        chunk_size: int = DEFAULT_CHUNK,
        lattice_size: int = 128,
        depth: int = 6,
        use_decoys: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        del fo  # a chained URL's inner path; paths are given to each call
        if fs is None:
            if target_protocol is None:
                raise ParameterError("give target_protocol (e.g. 'file', 's3') or fs")
            fs = fsspec.filesystem(target_protocol, **(target_options or {}))
        self.fs = fs
        self._ctx = STCContext(DEFAULT_SEED if seed is None else reveal(seed), lattice_size=lattice_size,
                               depth=depth)
        self._keys: dict[str, Any] = {
            "password": reveal(password),
            "additional_passwords": tuple(reveal(additional_passwords) or ()),
            "identities": tuple(reveal(identities) or ()),
            "recipients": tuple([recipients] if isinstance(recipients, str) else recipients),
            "chunk_size": chunk_size,
            "use_decoys": use_decoys,
        }
        self._context_data = reveal(context_data)

    def __repr__(self) -> str:
        return f"STCFileSystem(target={type(self.fs).__name__})"

    @classmethod
    def _strip_protocol(cls, path: Any) -> Any:
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]
        path = str(path)
        return path[len("stc://"):] if path.startswith("stc://") else path

    # ---- contents ----------------------------------------------------------------------------
    def _open(self, path: str, mode: str = "rb", block_size: Any = None, autocommit: bool = True,
              cache_options: Any = None, **kwargs: Any) -> DecryptingReader | EncryptingWriter:
        if mode == "rb":
            raw = self.fs.open(path, "rb", block_size=block_size, cache_options=cache_options, **kwargs)
            try:
                return self._ctx.open(raw, "rb", password=self._keys["password"],
                                 identities=self._keys["identities"], context_data=self._context_data,
                                 close_file=True)
            except BaseException:
                raw.close()
                raise
        if mode != "wb":
            raise ParameterError(f"mode must be 'rb' or 'wb' (text modes wrap these); got {mode!r}")
        return self._ctx.open(TargetWriter(self.fs, path, **kwargs), "wb",
                         password=self._keys["password"], additional_passwords=self._keys["additional_passwords"],
                         recipients=self._keys["recipients"], context_data=self._context_data,
                         chunk_size=self._keys["chunk_size"], use_decoys=self._keys["use_decoys"], close_file=True)

    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        """The target's entry, with ``size`` the plaintext size (files of STC's only)."""
        return self._plaintext_entry(dict(self.fs.info(path, **kwargs)))

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> Any:
        entries = self.fs.ls(path, detail=True, **kwargs)
        entries = [self._plaintext_entry(dict(e)) for e in entries]
        return entries if detail else [e["name"] for e in entries]

    def _plaintext_entry(self, entry: dict[str, Any]) -> dict[str, Any]:
        """Replace a file's size by its plaintext size; a file that is not STC's gets size None."""
        if entry.get("type") != "file":
            return entry
        entry["ciphertext_size"] = entry.get("size")
        try:
            with self.fs.open(entry["name"], "rb", block_size=1 << 16) as raw:
                header = read_file_header(raw)
                body = raw.seek(0, 2) - len(header.to_bytes())
            entry["size"] = layout(body, header.chunk_size)[1]
        except (STCError, OSError):
            entry["size"] = None
        return entry


def _delegate(name: str) -> Any:
    def method(self: STCFileSystem, *args: Any, **kwargs: Any) -> Any:
        return getattr(self.fs, name)(*args, **kwargs)

    method.__name__ = name
    method.__doc__ = f"The target filesystem's ``{name}`` (names and folders are not encrypted)."
    return method


# Calls about names, folders and whole ciphertexts go to the target unchanged.
for _name in ("mkdir", "makedirs", "rmdir", "exists", "isdir", "isfile", "rm_file", "rm", "mv", "cp_file",
              "created", "modified", "invalidate_cache"):
    setattr(STCFileSystem, _name, _delegate(_name))


class TargetWriter:
    """A file being written on an fsspec filesystem, finished only by :meth:`close`.

    Opened with ``autocommit=False`` where the filesystem supports it (local files, S3
    multipart uploads), so nothing appears until the commit.  Some filesystems accept the
    flag and commit at once anyway (``memory://``), and some refuse it: for those, an
    abandoned write is removed, so no partial file is left at the path either way.
    """

    def __init__(self, fs: Any, path: str, **kwargs: Any) -> None:
        self._fs, self._path, self.name = fs, path, path
        self._existed = bool(fs.exists(path))
        try:
            self._raw, self._deferred = fs.open(path, "wb", autocommit=False, **kwargs), True
        except (TypeError, NotImplementedError):
            self._raw, self._deferred = fs.open(path, "wb", **kwargs), False

    def write(self, data: Any) -> Any:
        return self._raw.write(data)

    def close(self) -> None:
        """Finish the file: close it, then commit a deferred write."""
        self._raw.close()
        if self._deferred:
            self._raw.commit()

    def discard(self) -> None:
        """Abandon the file: discard a deferred write, and remove whatever reached the path."""
        with contextlib.suppress(Exception):
            if self._deferred:
                self._raw.discard()
            else:
                self._raw.close()
        with contextlib.suppress(Exception):
            if not self._deferred or (not self._existed and self._fs.exists(self._path)):
                self._fs.rm_file(self._path)
