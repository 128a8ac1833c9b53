"""The stanza of a version-2 header (docs/format.md §6): a kind byte and a body of the kind's
fixed size.  Grammar only: what a body holds, and how a recipient makes or opens one, is in
:mod:`stc.keys.recipients`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import FormatError

FILE_KEY_SIZE = 32
WRAPPED_SIZE = FILE_KEY_SIZE + 16

PASSPHRASE, X25519, XWING, KMS = 1, 2, 3, 4
#: Body size of each stanza kind (its type byte is not counted).  A KMS body holds the key's ARN
#: and KMS's ciphertext blob, zero-padded (docs/format.md §6.3).
BODY_SIZE = {PASSPHRASE: 16 + WRAPPED_SIZE, X25519: 32 + WRAPPED_SIZE, XWING: 1120 + WRAPPED_SIZE, KMS: 1024}
KIND_NAMES = {PASSPHRASE: "passphrase", X25519: "x25519", XWING: "mlkem768x25519", KMS: "awskms"}


@dataclass(frozen=True)
class Stanza:
    """One key slot of a version-2 header: a kind byte and a body of the kind's fixed size."""

    kind: int
    body: bytes

    def __post_init__(self) -> None:
        if self.kind not in BODY_SIZE:
            raise FormatError(f"unknown stanza kind {self.kind}")
        if len(self.body) != BODY_SIZE[self.kind]:
            raise FormatError(f"a {KIND_NAMES[self.kind]} stanza body is {BODY_SIZE[self.kind]} bytes")

    def to_bytes(self) -> bytes:
        """Kind byte, then the body."""
        return bytes((self.kind,)) + self.body
