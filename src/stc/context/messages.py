"""The message methods of :class:`~stc.STCContext`: one value in memory, sealed as a version-3
message to one password or a version-2 message to several passwords and recipients.

``text`` chooses the type a decryption returns, so that a type checker knows it (as
``subprocess.run`` does).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal, overload

from cryptography.exceptions import InvalidTag

from ..crypto import encoding as _encoding
from ..crypto.encoding import ContextData, Password
from ..crypto.payload import chunk_nonce
from ..crypto.suite import TAG_SIZE
from ..errors import FormatError, IntegrityError, ParameterError
from ..formats.headers import MessageHeader, as_header, parse_header
from ..formats.v2 import HeaderV2
from ..formats.v3 import HeaderV3
from ..keys.recipients import Identity, Recipient
from .streams import FileMethods


class MessageMethods(FileMethods):
    """Messages in memory; the state they use is listed in :class:`~stc.keys.keyslots.KeySlots`."""

    def encrypt(
        self,
        data: str | bytes,
        password: Password | None = None,
        *,
        recipients: Iterable[Recipient | str] = (),
        context_data: ContextData = None,
        use_decoys: bool | None = None,
        additional_passwords: Sequence[Password] = (),
        format_version: int | None = None,
    ) -> tuple[bytes, HeaderV2 | HeaderV3]:
        """Encrypt ``data``; return ``(ciphertext, metadata)``, both needed to decrypt.

        Any of ``password``, ``additional_passwords`` (4 passwords at most) and the
        ``recipients`` (public keys, see :func:`stc.generate_identity`) opens the message.
        The same ``context_data`` (JSON-like; see docs/format.md) must be given to decrypt.

        A message to one password and nothing else is written in version 3: sealed under a
        session key this context derives once, so a reused context pays no key derivation per
        message.  Several passwords or recipients, ``use_decoys=True`` (pad the key slots with
        decoys, hiding how many passwords open it) or ``format_version=2`` (for readers older
        than release 0.4) write version 2.
        """
        if isinstance(data, str):
            text, payload = True, _encoding.utf8(data, "the data")
        elif type(data) is bytes:
            text, payload = False, data
        elif isinstance(data, (bytes, bytearray, memoryview)):
            text, payload = False, bytes(data)
        else:
            raise ParameterError(f"data must be str or bytes, not {type(data).__name__}")
        if isinstance(recipients, (str, Recipient)):
            recipients = [recipients]
        recipients = list(recipients)
        single = password is not None and not additional_passwords and not recipients and use_decoys is not True
        if format_version not in (None, 2, 3):
            raise ParameterError(f"format_version must be 2 or 3 (or None to choose); got {format_version!r}")
        if format_version == 3 and not single:
            raise ParameterError("format_version=3 holds one password only: no recipients, additional passwords "
                                 "or decoys")
        if single and format_version != 2:
            return self._seal_v3(payload, password, context_data, text)
        passwords = [*([] if password is None else [password]), *additional_passwords]
        header, aead, encoded_context = self._new_header(
            passwords, recipients, context_data=context_data, use_decoys=use_decoys is not False, text=text
        )
        ciphertext = aead.encrypt(chunk_nonce(0, True), payload, encoded_context)
        self.cel.record(len(payload))
        return ciphertext, header

    @overload
    def decrypt(self, ciphertext: bytes, metadata: MessageHeader | bytes, password: Password | None = None, *,
                identities: Iterable[Identity | str] = (), context_data: ContextData = None,
                text: Literal[False]) -> bytes: ...
    @overload
    def decrypt(self, ciphertext: bytes, metadata: MessageHeader | bytes, password: Password | None = None, *,
                identities: Iterable[Identity | str] = (), context_data: ContextData = None,
                text: Literal[True]) -> str: ...
    @overload
    def decrypt(self, ciphertext: bytes, metadata: MessageHeader | bytes, password: Password | None = None, *,
                identities: Iterable[Identity | str] = (), context_data: ContextData = None,
                text: None = None) -> str | bytes: ...

    def decrypt(
        self,
        ciphertext: bytes,
        metadata: MessageHeader | bytes,
        password: Password | None = None,
        *,
        identities: Iterable[Identity | str] = (),
        context_data: ContextData = None,
        text: bool | None = None,
    ) -> str | bytes:
        """Authenticate and decrypt; returns ``str`` if a ``str`` was encrypted.  As in
        :func:`subprocess.run`, ``text=False`` always gives ``bytes`` (a text is given as the
        UTF-8 bytes that were encrypted) and ``text=True`` always ``str`` (ParameterError if
        the plaintext is not UTF-8), so that a type checker knows which it is.

        Raises WrongPasswordError (no key slot opened; NoMatchingIdentityError for
        identities), ContextMismatchError or IntegrityError (the payload did not
        authenticate), FormatError (malformed).
        """
        meta = as_header(metadata)
        if meta.is_file:
            raise FormatError("this is a file header; use decrypt_stream")
        if not isinstance(ciphertext, (bytes, bytearray, memoryview)):
            raise FormatError(f"ciphertext must be bytes, not {type(ciphertext).__name__}")
        if isinstance(meta, HeaderV3):
            ids = identities if not isinstance(identities, (str, Identity)) else [identities]
            payload = self._open_v3(meta, ciphertext, password, bool(list(ids)), context_data)
        else:
            if len(ciphertext) < TAG_SIZE:
                raise IntegrityError(f"ciphertext is {len(ciphertext)} bytes, shorter than its tag")
            _, aead = self._open(meta, password, identities, context_data)
            try:
                payload = aead.decrypt(chunk_nonce(0, True), bytes(ciphertext), _encoding.encode_context(context_data))
            except InvalidTag:
                raise IntegrityError(
                    "the key is right but the data did not authenticate: "
                    "wrong context data, or the ciphertext or metadata was modified"
                ) from None
        return as_asked(payload, meta.text, text)

    def encrypt_blob(self, data: str | bytes, password: Password | None = None, **kwargs: Any) -> bytes:
        """One-value form: ``metadata.to_bytes() + ciphertext`` (same keywords as :meth:`encrypt`)."""
        ciphertext, meta = self.encrypt(data, password, **kwargs)
        return meta.to_bytes() + ciphertext

    @overload
    def decrypt_blob(self, blob: bytes, password: Password | None = None, *,
                     identities: Iterable[Identity | str] = (), context_data: ContextData = None,
                     text: Literal[False]) -> bytes: ...
    @overload
    def decrypt_blob(self, blob: bytes, password: Password | None = None, *,
                     identities: Iterable[Identity | str] = (), context_data: ContextData = None,
                     text: Literal[True]) -> str: ...
    @overload
    def decrypt_blob(self, blob: bytes, password: Password | None = None, *,
                     identities: Iterable[Identity | str] = (), context_data: ContextData = None,
                     text: None = None) -> str | bytes: ...

    def decrypt_blob(
        self,
        blob: bytes,
        password: Password | None = None,
        *,
        identities: Iterable[Identity | str] = (),
        context_data: ContextData = None,
        text: bool | None = None,
    ) -> str | bytes:
        """Inverse of :meth:`encrypt_blob` (``text`` as for :meth:`decrypt`)."""
        meta, used = parse_header(blob)
        plain = self.decrypt(blob[used:], meta, password, identities=identities, context_data=context_data,
                             text=False)
        return as_asked(plain, meta.text, text)


def as_asked(payload: bytes, is_text: bool, text: bool | None) -> str | bytes:
    """The authenticated plaintext as the caller asked for it: as encrypted (``text=None``),
    always bytes (``False``) or always text (``True``)."""
    if text is False or (text is None and not is_text):
        return payload
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        if is_text:  # unreachable unless the encryptor was faulty
            raise IntegrityError("authenticated text is not valid UTF-8") from None
        raise ParameterError("text=True, but the plaintext is binary data, not UTF-8 text") from None
