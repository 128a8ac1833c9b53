"""The file methods of :class:`~stc.STCContext`: files of any size in constant memory,
random access, header-only re-keying and encrypted file objects.

They join the keys layer (an opener for a header, a new header for writing) to the files
layer (the chunk loops, file objects, re-key on disk); a path being read has an interrupted
re-key finished first, and a path written appears only once complete.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Sequence
from typing import Any

from ..crypto import encoding as _encoding
from ..crypto import kdf
from ..crypto.encoding import ContextData, Password
from ..errors import ParameterError
from ..files.fileobj import DecryptingReader, EncryptingWriter, check_mode
from ..files.outputs import PathOrFile, atomic_output
from ..files.rekey import finish_interrupted, rewrite_header
from ..files.stream import DEFAULT_CHUNK, Progress, check_chunk_size, decrypt_file, decrypt_range, encrypt_file
from ..formats.headers import Header
from ..formats.v2 import HeaderV2
from ..keys import envelope
from ..keys.recipients import Identity, Recipient, parse_identity, parse_recipients
from ..keys.sessions import SessionMessages


class FileMethods(SessionMessages):
    """Files, ranges, re-keying and file objects; the state they use is listed in
    :class:`~stc.keys.keyslots.KeySlots`."""

    def encrypt_stream(
        self,
        input_path: PathOrFile,
        output_path: PathOrFile,
        password: Password | None = None,
        *,
        recipients: Iterable[Recipient | str] = (),
        chunk_size: int = 1 << 20,
        progress_callback: Progress | None = None,
        context_data: ContextData = None,
        use_decoys: bool = True,
        additional_passwords: Sequence[Password] = (),
    ) -> HeaderV2:
        """Encrypt a file of any size in constant memory; return its header.

        The output is self-contained (the header is written first); a path output
        appears only once complete.  ``progress_callback(done, total)`` runs after
        each non-empty chunk (``total`` is None for pipes); for regular files it may run
        on a worker thread, never two calls at once, with ``done`` increasing.
        """
        check_chunk_size(chunk_size)
        passwords = [*([] if password is None else [password]), *additional_passwords]
        header, aead, _ = self._new_header(passwords, recipients, context_data=context_data,
                                           use_decoys=use_decoys, chunk_size=chunk_size, is_file=True)
        done = encrypt_file(header.to_bytes(), aead, input_path, output_path, chunk_size=chunk_size,
                            progress_callback=progress_callback)
        self.cel.record(done)
        return header

    def decrypt_stream(
        self,
        input_path: PathOrFile,
        metadata: Header | None = None,
        output_path: PathOrFile | None = None,
        password: Password | None = None,
        *,
        identities: Iterable[Identity | str] = (),
        chunk_size: int | None = None,
        progress_callback: Progress | None = None,
        context_data: ContextData = None,
    ) -> Header:
        """Decrypt a file made by :meth:`encrypt_stream`; return its header.

        ``metadata`` is optional (the file holds it) and must match when given.
        ``chunk_size`` is accepted for the manual's calls and ignored: the header
        decides.  A path output is written to a temporary file and renamed only
        after the final chunk authenticated; on error nothing is left behind.
        """
        if output_path is None:
            raise ParameterError("output_path is required")
        del chunk_size
        if isinstance(input_path, (str, os.PathLike)):  # a re-key a crash interrupted is completed first
            finish_interrupted(input_path, self._key_of(password, identities),
                               self._opener(password, identities, context_data))
        meta, _, _, _ = decrypt_file(input_path, output_path, self._opener(password, identities, context_data),
                                     metadata=metadata, progress_callback=progress_callback)
        return meta

    def decrypt_range(
        self,
        input_path: str | os.PathLike[str],
        offset: int,
        length: int,
        password: Password | None = None,
        *,
        identities: Iterable[Identity | str] = (),
        context_data: ContextData = None,
    ) -> bytes:
        """Random access: plaintext bytes [offset, offset+length) of an encrypted file,
        authenticating only the chunks that cover them (and the final chunk)."""
        finish_interrupted(input_path, self._key_of(password, identities),
                           self._opener(password, identities, context_data))
        return decrypt_range(input_path, offset, length, self._opener(password, identities, context_data))

    def rekey(
        self,
        path: str | os.PathLike[str],
        *,
        password: Password | None = None,
        identities: Iterable[Identity | str] = (),
        add: Iterable[Recipient | str] = (),
        remove: Iterable[Recipient | str] = (),
        new_password: Password | None = None,
        use_decoys: bool = True,
    ) -> HeaderV2:
        """Change who can open an encrypted file by rewriting only its header: add or remove
        recipients, or replace every passphrase by ``new_password``.  The chunks are copied
        as they are (never decrypted).  Removing a recipient cannot take back copies it
        already has, nor the file key if it kept it (the key does not change)."""
        add_r, remove_r = parse_recipients(add), parse_recipients(remove)
        new_pw = None if new_password is None else _encoding.encode_password(new_password)
        if not add_r and not remove_r and new_pw is None:
            raise ParameterError("nothing to change: give recipients to add or remove, or a new password")
        ids = [parse_identity(i) for i in identities]
        if password is None and not ids:
            raise ParameterError("give the password or an identity that opens the file")

        def make(header: Header) -> HeaderV2:
            if not isinstance(header, HeaderV2):
                raise ParameterError(
                    "this is a version-1 file, whose header cannot be re-keyed; decrypt it and encrypt it "
                    "again to get a version-2 file"
                )
            self._check_cost(header)
            file_key, _ = self._file_key(header, password, ids)
            new_salt = self._rand(kdf.SALT_SIZE) if new_pw is not None else b""
            return envelope.rekey(
                header, file_key, add=add_r, remove=remove_r,
                new_pw_key=None if new_pw is None else self._password_key(new_pw, new_salt, self._kdf),
                new_kdf=self._kdf, new_kdf_salt=new_salt, epoch_key=self.cel.key_for(header.epoch),
                use_decoys=use_decoys, rand=self._rand,
            )

        return rewrite_header(path, make, self._key_of(password, ids))

    def open(
        self,
        file: Any,
        mode: str = "rb",
        *,
        password: Password | None = None,
        identities: Iterable[Identity | str] = (),
        recipients: Iterable[Recipient | str] = (),
        additional_passwords: Sequence[Password] = (),
        context_data: ContextData = None,
        chunk_size: int = DEFAULT_CHUNK,
        use_decoys: bool = True,
        close_file: bool | None = None,
    ) -> DecryptingReader | EncryptingWriter:
        """Open ``file`` (a path or a binary file object) as an encrypted file (what :func:`stc.open` returns).

        ``close_file`` says whether closing the result closes a file object given as ``file``
        (default: no; a path is always closed).
        """
        mode = check_mode(mode)
        is_path = isinstance(file, (str, os.PathLike))
        if mode == "rb":
            if recipients or additional_passwords:
                raise ParameterError("recipients and additional_passwords are for writing; reading takes a password "
                                     "or identities")
            opener = self._opener(password, identities, context_data)
            if is_path:
                finish_interrupted(file, self._key_of(password, identities), opener)
                return DecryptingReader(open(file, "rb", buffering=0), opener, close_raw=True, name=os.fspath(file))
            if not hasattr(file, "read"):
                raise ParameterError("file must be a path or a binary file object")
            return DecryptingReader(file, opener, close_raw=bool(close_file), name=getattr(file, "name", None))
        if identities:
            raise ParameterError("identities open files; to write, give recipients (their public keys) or a password")
        check_chunk_size(chunk_size)
        if not is_path and not hasattr(file, "write"):
            raise ParameterError("file must be a path or a binary file object")
        passwords = [*([] if password is None else [password]), *additional_passwords]
        header, aead, _ = self._new_header(passwords, recipients, context_data=context_data, use_decoys=use_decoys,
                                          chunk_size=chunk_size, is_file=True)
        stack = contextlib.ExitStack()
        raw = stack.enter_context(atomic_output(file)) if is_path else file

        def commit(written: int) -> None:
            stack.close()  # a path: renamed into place
            if not is_path and close_file:
                file.close()
            self.cel.record(written)

        def discard(exc: BaseException | None) -> None:
            error = exc if exc is not None else ParameterError("the encrypted file was abandoned before close()")
            with contextlib.suppress(BaseException):
                stack.__exit__(type(error), error, error.__traceback__)  # a path: the temporary file is removed
            if not is_path and close_file:  # a file object we own: discarded if it can be, else closed
                with contextlib.suppress(BaseException):
                    (file.discard if hasattr(file, "discard") else file.close)()

        return EncryptingWriter(raw, header.to_bytes(), aead, chunk_size, on_close=commit, on_abort=discard,
                                name=os.fspath(file) if is_path else getattr(file, "name", None))
