"""Recipients and identities: who can open a version-2 file or message besides passphrase holders.

``generate_identity(kind)`` makes a new secret key; ``parse_recipient`` / ``parse_identity`` read
the text forms; ``load_identities`` reads an identity file (``#`` comments, one key a line).
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from ...errors import ParameterError
from ...formats.stanza import KIND_NAMES, Stanza
from .age import AgeHybridIdentity, AgeHybridRecipient, AgeX25519Identity, AgeX25519Recipient, as_age, as_stc
from .base import Identity, Recipient
from .hybrid import XWingIdentity, XWingRecipient
from .kms import AwsKmsIdentity, AwsKmsRecipient
from .text import MAX_IDENTITY_FILE, identity_lines, loose_permissions
from .x25519 import X25519Identity, X25519Recipient

KINDS = ("x25519", "mlkem768x25519")


def generate_identity(kind: str = "x25519") -> Identity:
    """A new secret key: ``"x25519"`` (classical) or ``"mlkem768x25519"`` (X-Wing, post-quantum hybrid)."""
    if kind == "x25519":
        return X25519Identity.generate()
    if kind == "mlkem768x25519":
        return XWingIdentity.generate()
    raise ParameterError(f"kind must be one of {KINDS}; got {kind!r}")


def _no_spaces(value: str, what: str) -> None:
    """Key texts are taken exactly: one key, one string (files' lines are stripped before this)."""
    if value != value.strip():
        raise ParameterError(f"white space around the {what} text; remove it (one key has one text form)")


def parse_recipient(value: str | Recipient) -> Recipient:
    """A recipient from its text form (``stc-x25519-…``, ``stc-xwing-…``, or age's ``age1…`` / ``age1pq1…``)."""
    if isinstance(value, Recipient):
        return value
    if not isinstance(value, str):
        raise ParameterError(f"a recipient is a Recipient or its text form, not {type(value).__name__}")
    _no_spaces(value, "recipient")
    if value.upper().startswith(("STC-SECRET-KEY-", "AGE-SECRET-KEY-")):
        raise ParameterError("that is a secret key, not a recipient; give its public key (stc keygen -y)")
    recipient_kinds: tuple[type[X25519Recipient] | type[XWingRecipient] | type[AwsKmsRecipient], ...] = (
        X25519Recipient, XWingRecipient, AgeHybridRecipient, AgeX25519Recipient,  # age1pq1 before age1
        AwsKmsRecipient)
    for cls in recipient_kinds:
        found = cls.parse(value)
        if found is not None:
            return found
    raise ParameterError("not a recipient (expected stc-x25519-…, stc-xwing-…, age1…, age1pq1… or awskms:…)")


def parse_identity(value: str | Identity) -> Identity:
    """An identity from its secret text form (``STC-SECRET-KEY-X25519-…``, ``STC-SECRET-KEY-XWING-…``, or
    age's ``AGE-SECRET-KEY-1…`` / ``AGE-SECRET-KEY-PQ-1…``)."""
    if isinstance(value, Identity):
        return value
    if not isinstance(value, str):
        raise ParameterError(f"an identity is an Identity or its text form, not {type(value).__name__}")
    _no_spaces(value, "identity")
    identity_kinds: tuple[type[X25519Identity] | type[XWingIdentity] | type[AwsKmsIdentity], ...] = (
        X25519Identity, XWingIdentity, AgeX25519Identity, AgeHybridIdentity, AwsKmsIdentity)
    for cls in identity_kinds:
        found = cls.parse(value)
        if found is not None:
            return found
    raise ParameterError("not an identity (expected STC-SECRET-KEY-X25519-…, STC-SECRET-KEY-XWING-…, "
                         "AGE-SECRET-KEY-1…, AGE-SECRET-KEY-PQ-1… or awskms:…)")


def load_identities(path: str | os.PathLike[str]) -> list[Identity]:
    """Every identity in an identity file (comments and blank lines allowed)."""
    with open(path, "rb") as f:
        data = f.read(MAX_IDENTITY_FILE + 1)
    if data[:4] in (b"STCF", b"STCM") or data.startswith(b"age-encryption.org/") \
            or data.lstrip(b" \t\r\n").startswith(b"-----BEGIN "):
        raise ParameterError(f"{os.fspath(path)} is encrypted (a protected identity file); open it with "
                             "stc.load_identities(path, password=…)")
    return [parse_identity(line) for line in identity_lines(data, os.fspath(path))]


def parse_recipients(values: Iterable[str | Recipient]) -> list[Recipient]:
    """Parse several recipients, refusing the same one twice."""
    out = [parse_recipient(v) for v in values]
    if len(set(out)) != len(out):
        raise ParameterError("the same recipient was given twice")
    return out



__all__ = [
    "KINDS",
    "AgeHybridIdentity",
    "AgeHybridRecipient",
    "AgeX25519Identity",
    "AgeX25519Recipient",
    "AwsKmsIdentity",
    "AwsKmsRecipient",
    "as_age",
    "as_stc",
    "KIND_NAMES",
    "Identity",
    "Recipient",
    "Stanza",
    "X25519Identity",
    "X25519Recipient",
    "XWingIdentity",
    "XWingRecipient",
    "generate_identity",
    "load_identities",
    "loose_permissions",
    "parse_identity",
    "parse_recipient",
    "parse_recipients",
]
