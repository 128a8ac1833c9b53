"""``stc.open``: an encrypted file as a binary file object, for a path or any file object.

Reading a path finishes an interrupted re-key first, as ``decrypt_stream`` does.  Writing
a path goes to a temporary file beside it, renamed into place by ``close()`` (after the
final chunk was written) and removed when the ``with`` block raised.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Sequence
from typing import Any

from ._encoding import ContextData, Password
from .context import STCContext
from .errors import ParameterError
from .fileobj import DecryptingReader, EncryptingWriter, check_mode
from .filestream import DEFAULT_CHUNK, check_chunk_size
from .outputs import atomic_output
from .recipients import Identity, Recipient
from .rekeyfile import finish_interrupted


def open_file(
    ctx: STCContext,
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
    """Open ``file`` (a path or a binary file object) through ``ctx``.

    ``close_file`` says whether closing the result closes a file object given as ``file``
    (default: no; a path is always closed).
    """
    mode = check_mode(mode)
    is_path = isinstance(file, (str, os.PathLike))
    if mode == "rb":
        if recipients or additional_passwords:
            raise ParameterError("recipients and additional_passwords are for writing; reading takes a password "
                                 "or identities")
        opener = ctx._opener(password, identities, context_data)
        if is_path:
            finish_interrupted(file, ctx._key_of(password, identities), opener)
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
    header, aead, _ = ctx._new_header(passwords, recipients, context_data=context_data, use_decoys=use_decoys,
                                      chunk_size=chunk_size, is_file=True)
    stack = contextlib.ExitStack()
    raw = stack.enter_context(atomic_output(file)) if is_path else file

    def commit(written: int) -> None:
        stack.close()  # a path: renamed into place
        if not is_path and close_file:
            file.close()
        ctx.cel.record(written)

    def discard(exc: BaseException | None) -> None:
        error = exc if exc is not None else ParameterError("the encrypted file was abandoned before close()")
        with contextlib.suppress(BaseException):
            stack.__exit__(type(error), error, error.__traceback__)  # a path: the temporary file is removed
        if not is_path and close_file:  # a file object we own: discarded if it can be, else closed
            with contextlib.suppress(BaseException):
                (file.discard if hasattr(file, "discard") else file.close)()

    return EncryptingWriter(raw, header.to_bytes(), aead, chunk_size, on_close=commit, on_abort=discard,
                            name=os.fspath(file) if is_path else getattr(file, "name", None))
