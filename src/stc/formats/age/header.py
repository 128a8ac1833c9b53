"""The age v1 header (C2SP age, "Header"): version line, recipient stanzas, MAC line.

Parsed from a stream by an explicit, bounded grammar: every line has a maximum length, a header
at most :data:`MAX_HEADER` bytes and :data:`MAX_STANZAS` stanzas, base64 is canonical and
unpadded, no CR anywhere.  Anything else is a :class:`~stc.errors.FormatError`.  The MAC itself
is checked by whoever knows the file key (``keys/age``), over :attr:`AgeHeader.mac_input`.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import BinaryIO

from ...errors import FormatError

VERSION_LINE = b"age-encryption.org/v1\n"
VERSION_PREFIX = b"age-encryption.org/"
MAX_HEADER = 1 << 20
MAX_STANZAS = 4096
MAX_ARG_LINE = 4096  # a hybrid stanza's argument line is 1,514 bytes
BODY_COLUMNS = 64
MAC_SIZE = 32
_B64 = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


def b64decode(text: bytes, what: str) -> bytes:
    """Canonical unpadded standard base64 (age's encoding), or FormatError."""
    if not set(text) <= _B64 or len(text) % 4 == 1:
        raise FormatError(f"age header: {what} is not unpadded base64")
    raw = base64.b64decode(text + b"=" * (-len(text) % 4), validate=True)  # cannot fail after the checks above
    if b64encode(raw) != text:
        raise FormatError(f"age header: {what} is not canonical base64")
    return raw


def b64encode(raw: bytes) -> bytes:
    """Unpadded standard base64."""
    return base64.b64encode(raw).rstrip(b"=")


@dataclass(frozen=True)
class AgeStanza:
    """One recipient stanza: its arguments (ASCII, without spaces) and its body."""

    args: tuple[str, ...]
    body: bytes

    def __post_init__(self) -> None:
        if not self.args or any(not a or not all(0x21 <= ord(c) <= 0x7E for c in a) for a in self.args):
            raise FormatError("age stanza: arguments are one or more non-empty runs of printable ASCII")

    def to_bytes(self) -> bytes:
        text = b64encode(self.body)
        lines = [text[i : i + BODY_COLUMNS] for i in range(0, len(text), BODY_COLUMNS)]
        if len(text) % BODY_COLUMNS == 0:
            lines.append(b"")  # the body ends with a line shorter than 64 columns, which may be empty
        return b"-> " + " ".join(self.args).encode("ascii") + b"\n" + b"".join(line + b"\n" for line in lines)


@dataclass(frozen=True)
class AgeHeader:
    """A v1 header: stanzas and MAC; ``to_bytes()`` is the exact encoding, ``mac_input`` what the MAC covers."""

    stanzas: tuple[AgeStanza, ...]
    mac: bytes

    @property
    def mac_input(self) -> bytes:
        """The header up to and including the ``---`` of the MAC line."""
        return VERSION_LINE + b"".join(s.to_bytes() for s in self.stanzas) + b"---"

    def to_bytes(self) -> bytes:
        return self.mac_input + b" " + b64encode(self.mac) + b"\n"

    @classmethod
    def read(cls, src: BinaryIO) -> AgeHeader:
        """Read exactly one header from ``src`` (which is left at the payload's first byte)."""
        budget = [MAX_HEADER]

        def line(limit: int) -> bytes:
            got = src.readline(min(limit, budget[0]) + 1)
            budget[0] -= len(got)
            if not got.endswith(b"\n"):
                raise FormatError("age header: a line is too long, or the header ends without its MAC line"
                                  if got else "age header: the input ends inside the header")
            if b"\r" in got:
                raise FormatError("age header: lines end with LF only (a CR was found)")
            return got[:-1]

        first = line(256)
        if first + b"\n" != VERSION_LINE:
            if first.startswith(VERSION_PREFIX):
                raise FormatError(f"age header: unsupported version {first[len(VERSION_PREFIX):]!r} (STC reads v1)")
            raise FormatError("not an age file (no age-encryption.org/v1 line)")
        stanzas: list[AgeStanza] = []
        while True:
            text = line(MAX_ARG_LINE)
            if text.startswith(b"--- ") or text == b"---":
                return cls(tuple(stanzas), _mac(text, bool(stanzas)))
            if not text.startswith(b"-> "):
                raise FormatError("age header: a line starts neither a stanza (->) nor the MAC (---)")
            if len(stanzas) == MAX_STANZAS:
                raise FormatError(f"age header: more than {MAX_STANZAS} stanzas")
            args = text[3:].split(b" ")
            try:
                decoded = tuple(a.decode("ascii") for a in args)
            except UnicodeDecodeError:
                raise FormatError("age header: a stanza argument is not ASCII") from None
            body = bytearray()
            while True:
                chunk = line(BODY_COLUMNS)
                body += chunk
                if len(chunk) < BODY_COLUMNS:
                    break
            stanzas.append(AgeStanza(decoded, b64decode(bytes(body), "a stanza body")))


def _mac(text: bytes, any_stanza: bool) -> bytes:
    if not any_stanza:
        raise FormatError("age header: no recipient stanza")
    if not text.startswith(b"--- "):
        raise FormatError("age header: the MAC line is '--- ' and the MAC")
    mac = b64decode(text[4:], "the header MAC")
    if len(mac) != MAC_SIZE:
        raise FormatError("age header: the MAC is not 32 bytes")
    return mac
