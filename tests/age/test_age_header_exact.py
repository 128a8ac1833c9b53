"""age's header grammar, message by message and bound by bound (issue 26)."""

from __future__ import annotations

import io
import re

import pytest

from stc import errors
from stc.formats.age.header import AgeHeader, AgeStanza, b64decode, b64encode
from stc.keys.recipients import AgeX25519Recipient, parse_identity, parse_recipient
from stc.keys.recipients.age import MAX_KEY_TEXT

V1 = b"age-encryption.org/v1\n"
STANZA = b"-> X25519 abc\n\n"


def exactly(message: str) -> str:
    return "^" + re.escape(message) + "$"


@pytest.mark.parametrize(("text", "message"), [
    (b"", "age header: the input ends inside the header"),
    (b"x" * 257 + b"\n", "age header: a line is too long, or the header ends without its MAC line"),
    (b"x" * 256 + b"\n", "not an age file (no age-encryption.org/v1 line)"),
    (V1 + b"--- " + b"A" * 43 + b"\n", "age header: no recipient stanza"),
    (V1 + STANZA + b"---\n", "age header: the MAC line is '--- ' and the MAC"),
    (V1 + STANZA + b"--- " + b"A" * 42 + b"\n", "age header: the MAC is not 32 bytes"),
    (V1 + STANZA + b"--- " + b"A" * 42 + b"B\n", "age header: the header MAC is not canonical base64"),
    (V1 + STANZA + b"xx\n", "age header: a line starts neither a stanza (->) nor the MAC (---)"),
    (V1 + b"-> X25519 abc\r\n\n", "age header: lines end with LF only (a CR was found)"),
    (V1 + b"-> X25519 \xff\n\n", "age header: a stanza argument is not ASCII"),
    (V1 + b"-> X25519 a\x7fb\n\n", "age stanza: arguments are one or more non-empty runs of printable ASCII"),
    (V1 + b"-> X25519 abc\nAB\n", "age header: a stanza body is not canonical base64"),
    (V1 + b"-> X25519 abc\nA=\n", "age header: a stanza body is not unpadded base64"),
])
def test_header_messages(text: bytes, message: str) -> None:
    with pytest.raises(errors.FormatError, match=exactly(message)):
        AgeHeader.read(io.BytesIO(text))


def test_base64_both_ways() -> None:
    assert b64encode(b"\x00\x00\x17") == b"AAAX"  # an X at the end stays
    assert b64encode(b"\xff") == b"/w" and b64decode(b"/w", "x") == b"\xff"
    assert b64decode(b"", "x") == b""


def test_key_text_bounds_and_messages() -> None:
    at_limit = "age1" + "q" * (MAX_KEY_TEXT - 4)
    with pytest.raises(errors.ParameterError, match="Bech32 checksum or characters are wrong"):
        parse_recipient(at_limit)
    with pytest.raises(errors.ParameterError, match=exactly(
            "malformed age recipient: age keys are written in one case (lower), ASCII only")):
        parse_recipient(at_limit + "q")
    with pytest.raises(errors.ParameterError, match=exactly(
            "malformed age identity: age keys are written in one case (upper), ASCII only")):
        parse_identity("AGE-SECRET-KEY-1qqqq")
    with pytest.raises(errors.ParameterError, match=exactly(
            "malformed age hybrid identity: Bech32 checksum or characters are wrong (was it cut or mistyped?)")):
        parse_identity("AGE-SECRET-KEY-PQ-1QQQQQQ")
    with pytest.raises(errors.ParameterError, match=exactly(
            "malformed age identity: Bech32 checksum or characters are wrong (was it cut or mistyped?)")):
        parse_identity("AGE-SECRET-KEY-1QQQQQQ")
    pq = "age1pq1" + "q" * 10
    with pytest.raises(errors.ParameterError, match="malformed age recipient: Bech32 checksum"):
        AgeX25519Recipient.parse(pq)  # its separator is the last 1: another hrp, never read as "age"


def test_stanza_arguments_are_printable_ascii() -> None:
    with pytest.raises(errors.FormatError):
        AgeStanza(("a\x7f",), b"")
    assert AgeStanza(("!~",), b"").to_bytes() == b"-> !~\n\n"
