"""age files (C2SP age v1), read and written by STC: ``stc.age.encrypt`` / ``stc.age.decrypt``.

Recipients are X25519 and ML-KEM-768 + X25519 keys in either text form (``age1…``, ``stc-x25519-…``,
``age1pq1…``, ``stc-xwing-…``) or a passphrase (scrypt); identities likewise.  What age forbids
is refused: a passphrase beside other recipients, and (as age 1.3 does) a post-quantum recipient
beside a classical one.  ``armor=True`` writes age's PEM armor.  Decryption checks the header
MAC before any payload byte, and a path output appears only after the final chunk authenticated.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any, BinaryIO

from .errors import ParameterError
from .files.age import Progress, decrypt_payload, encrypt_payload
from .files.outputs import PathOrFile, atomic_output
from .files.rekey import locked
from .formats.age.header import VERSION_PREFIX, AgeHeader, AgeStanza
from .formats.armor import MAX_SPACE, ArmorReader, ArmorWriter
from .keys.age import (
    DEFAULT_WORK_FACTOR,
    FILE_KEY_SIZE,
    MAX_WORK_FACTOR,
    AgeIdentity,
    describe,
    open_header,
    seal_header,
    unwrap_hybrid,
    unwrap_x25519,
    wrap_hybrid,
    wrap_scrypt,
    wrap_x25519,
)
from .keys.recipients import Identity, Recipient, XWingIdentity, XWingRecipient, parse_identity, parse_recipient
from .keys.recipients.x25519 import X25519Identity, X25519Recipient

ARMOR_LABEL = b"AGE ENCRYPTED FILE"
ARMOR_BEGIN = b"-----BEGIN " + ARMOR_LABEL + b"-----"
DETECT = MAX_SPACE + len(ARMOR_BEGIN)  # bytes of an input that tell whether it is an age file


def is_age(head: bytes) -> bool:
    """True if ``head`` (the first :data:`DETECT` bytes of an input) starts an age file, binary or armored."""
    return head.startswith(VERSION_PREFIX) or is_armored(head)


def is_armored(head: bytes) -> bool:
    """True if ``head`` starts age's armor (white space allowed before it)."""
    stripped = head.lstrip(b" \t\r\n")
    return len(head) - len(stripped) <= MAX_SPACE and stripped.startswith(ARMOR_BEGIN)


def _looks_armored(head: bytes) -> bool:
    """A PEM-like BEGIN line of any label, in any case: read as armor, so a wrong one is an armor error."""
    return head.lstrip(b" \t\r\n")[:11].upper() == b"-----BEGIN "


def _passphrase(value: str | bytes) -> bytes:
    """A passphrase's bytes: UTF-8 for text, as age takes it."""
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


def as_recipients(values: Iterable[str | Recipient]) -> list[X25519Recipient | XWingRecipient]:
    """The recipients an age file can have (X25519 and X-Wing keys, either text form), each once."""
    out: list[X25519Recipient | XWingRecipient] = []
    for value in values:
        recipient = parse_recipient(value)
        if not isinstance(recipient, X25519Recipient | XWingRecipient):
            raise ParameterError(f"{type(recipient).__name__} cannot be an age recipient")
        out.append(recipient)
    if len(set(out)) != len(out):
        raise ParameterError("the same recipient was given twice")
    return out


def as_identities(values: Iterable[str | Identity]) -> list[AgeIdentity]:
    """The identities that can open an age file's stanzas (X25519 and X-Wing, either text form)."""
    out: list[AgeIdentity] = []
    for value in values:
        identity = parse_identity(value)
        if not isinstance(identity, X25519Identity | XWingIdentity):
            raise ParameterError(f"{type(identity).__name__} cannot open an age file")
        out.append(identity)
    return out


def encrypt(src: BinaryIO, dst: Any, *, recipients: Sequence[str | Recipient] = (),
            passphrase: str | bytes | None = None, armor: bool = False,
            work_factor: int = DEFAULT_WORK_FACTOR, progress: Progress = None) -> int:
    """Write an age file of ``src``'s bytes to ``dst`` (a binary stream); returns the plaintext length."""
    to = as_recipients(recipients)
    if passphrase is not None and to:
        raise ParameterError("age does not allow a passphrase beside other recipients (scrypt must be alone)")
    if passphrase is None and not to:
        raise ParameterError("give recipients or a passphrase")
    pq = {isinstance(r, XWingRecipient) for r in to}
    if len(pq) == 2:
        raise ParameterError("age 1.3 refuses post-quantum (age1pq1…) recipients beside classical ones "
                             "(the file would be only as strong as the classical key)")
    file_key = os.urandom(FILE_KEY_SIZE)
    if passphrase is not None:
        stanzas = [wrap_scrypt(_passphrase(passphrase), file_key, work_factor)]
    else:
        stanzas = [wrap_hybrid(r, file_key) if isinstance(r, XWingRecipient) else wrap_x25519(r, file_key)
                   for r in to]
    header = seal_header(stanzas, file_key)
    out = ArmorWriter(dst, ARMOR_LABEL) if armor else dst
    out.write(header.to_bytes())
    total = encrypt_payload(src, out, file_key, progress=progress)
    if isinstance(out, ArmorWriter):
        out.close()
    return total


def reader(src: BinaryIO, armored: bool | None = None) -> Any:
    """A stream of the binary age file in ``src``: a strict reader of age's armor if it is armored
    (``None``: if it starts like armor)."""
    head = src.read(DETECT)
    stream = _Prefixed(head, src)
    if armored or (armored is None and _looks_armored(head)):
        return ArmorReader(stream, ARMOR_LABEL, space_after_markers=False)
    return stream


class _Prefixed:
    """The bytes already read from a stream, then the rest of it (``read``, ``readinto``, ``readline``)."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head, self._rest = head, rest

    def read(self, size: int = -1) -> bytes:
        if not self._head:
            return self._rest.read(size)
        if size is None or size < 0:
            data, self._head = self._head + self._rest.read(), b""
            return data
        data, self._head = self._head[:size], self._head[size:]
        return data

    def readinto(self, view: Any) -> int:
        if not self._head and hasattr(self._rest, "readinto"):
            return int(self._rest.readinto(view) or 0)
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def readline(self, limit: int = -1) -> bytes:
        if not self._head:
            return self._rest.readline(limit)
        end = self._head.find(b"\n") + 1 or len(self._head)
        if 0 <= limit < end:
            end = limit
        line, self._head = self._head[:end], self._head[end:]
        if line.endswith(b"\n") or len(line) == limit or self._head:
            return line
        return line + self._rest.readline(-1 if limit < 0 else limit - len(line))


def read_header(src: BinaryIO) -> AgeHeader:
    """The header of an age file (binary; wrap armored input with :func:`reader` first)."""
    return AgeHeader.read(src)


def inspect(src: BinaryIO) -> dict[str, object]:
    """What an age file's header says: its stanzas (types and sizes), whether it is armored; no key needed."""
    stream = reader(src)
    header = read_header(stream)
    return {"format": "age-encryption.org/v1", "armored": isinstance(stream, ArmorReader),
            "header_bytes": len(header.to_bytes()), "stanzas": describe(header)}


def decrypt(src: BinaryIO, dst: Any, *, identities: Sequence[str | Identity] = (),
            passphrase: str | bytes | None = None, max_work_factor: int = MAX_WORK_FACTOR,
            progress: Progress = None, armored: bool | None = None) -> int:
    """Write the plaintext of the age file in ``src`` to ``dst``; returns its length.

    ``dst`` receives chunks as they authenticate: give a path to :func:`decrypt_file` to have the
    output appear only once the whole file did."""
    keys = as_identities(identities)
    stream = reader(src, armored)
    header = read_header(stream)
    file_key = open_header(header, keys, None if passphrase is None else _passphrase(passphrase),
                           max_work_factor)
    return decrypt_payload(stream, dst, file_key, progress)


def decrypt_file(input: PathOrFile, output: PathOrFile, **keys: Any) -> int:
    """:func:`decrypt` from a path or stream to a path or stream; a path output is written beside
    the target and renamed into place only after the final chunk authenticated."""
    with _opened(input) as src, atomic_output(output) as dst:
        return decrypt(src, dst, **keys)


def encrypt_file(input: PathOrFile, output: PathOrFile, **options: Any) -> int:
    """:func:`encrypt` from a path or stream to a path or stream (the output appears when complete)."""
    with _opened(input) as src, atomic_output(output) as dst:
        return encrypt(src, dst, **options)


def rekey(path: str | os.PathLike[str], *, identities: Sequence[str | Identity] = (),
          passphrase: str | bytes | None = None, add: Sequence[str | Recipient] = (),
          remove: Sequence[str | Identity] = (), new_passphrase: str | bytes | None = None,
          work_factor: int = DEFAULT_WORK_FACTOR, max_work_factor: int = MAX_WORK_FACTOR) -> AgeHeader:
    """Rewrite the header of the age file at ``path``, keeping its payload byte for byte.

    The header is opened with ``identities`` or ``passphrase``; ``add`` gets new stanzas for the
    same file key; ``remove`` names identities whose stanzas are dropped (an age stanza does not
    say whom it is for, so only its identity can find it); ``new_passphrase`` replaces a
    passphrase file's scrypt stanza.  The new header gets its MAC, and the file is written beside
    ``path`` and renamed over it (armored again if it was armored).  Returns the new header."""
    keys = as_identities(identities)
    dropped = as_identities(remove)
    to = as_recipients(add)
    with locked(os.fspath(path)), open(path, "rb") as src:
        stream = reader(src)
        armored = isinstance(stream, ArmorReader)
        header = read_header(stream)
        file_key = open_header(header, keys, None if passphrase is None else _passphrase(passphrase),
                               max_work_factor)
        stanzas = [s for s in header.stanzas if not any(_opens(d, s) for d in dropped)]
        if len(stanzas) + len(dropped) != len(header.stanzas):
            raise ParameterError("an identity given to remove opens no stanza of this file")
        scrypt = any(s.args[0] == "scrypt" for s in stanzas)
        if new_passphrase is not None:
            if not scrypt:
                raise ParameterError("this age file has no passphrase to change (age does not allow a passphrase "
                                     "beside recipients)")
            stanzas = [wrap_scrypt(_passphrase(new_passphrase), file_key, work_factor)]
        if to and scrypt:
            raise ParameterError("age does not allow recipients beside a passphrase (scrypt must be alone)")
        kinds = {isinstance(r, XWingRecipient) for r in to} | {s.args[0] == "mlkem768x25519" for s in stanzas}
        if len(kinds) == 2:
            raise ParameterError("age 1.3 refuses post-quantum recipients beside classical ones")
        stanzas += [wrap_hybrid(r, file_key) if isinstance(r, XWingRecipient) else wrap_x25519(r, file_key)
                    for r in to]
        if not stanzas:
            raise ParameterError("no stanza would be left: nobody could open the file")
        new = seal_header(stanzas, file_key)
        with atomic_output(path, mode=os.stat(path).st_mode & 0o7777, sync=True) as out:
            sink = ArmorWriter(out, ARMOR_LABEL) if armored else out
            sink.write(new.to_bytes())
            while block := stream.read(1 << 20):
                sink.write(block)
            if isinstance(sink, ArmorWriter):
                sink.close()
    return new


def _opens(identity: AgeIdentity, stanza: AgeStanza) -> bool:
    """True if ``identity`` opens ``stanza`` (a malformed stanza of its type is a FormatError)."""
    unwrap = unwrap_hybrid if isinstance(identity, XWingIdentity) else unwrap_x25519
    return unwrap(identity, stanza) is not None  # type: ignore[arg-type]


def _opened(value: PathOrFile) -> Any:
    if isinstance(value, str | os.PathLike):
        return open(value, "rb")
    return _Borrowed(value)


class _Borrowed:
    """A caller's stream in a ``with``: not closed at the end."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def __enter__(self) -> Any:
        return self.stream

    def __exit__(self, *exc: object) -> None:
        return None


__all__ = ["as_identities", "as_recipients", "decrypt", "decrypt_file", "encrypt", "encrypt_file", "inspect", "is_age",
           "read_header", "reader", "rekey"]
