"""AWS KMS as a recipient: the file key wrapped by KMS ``Encrypt`` under a customer master key.

Text form (recipient and identity alike; it names a key, it is not a secret):
``awskms:arn:aws:kms:REGION:ACCOUNT:key/ID``.  The client is boto3's (the optional ``[kms]``
extra) for the ARN's region, with credentials and endpoint from boto3's usual chain.

The stanza body (1,024 bytes) holds the key ARN, so an identity asks KMS only about its own
stanzas, and KMS's ciphertext blob, zero-padded.  The encryption context binds the stanza to one
header: ``{"stc:purpose": "file key", "stc:header": base64(SHA-256 label of the header core)}``,
so KMS refuses to unwrap a stanza moved into another file.  KMS ciphertexts name their key in
clear (as AWS documents), so these stanzas are not hidden among decoys; the ARN in the header
says no more than the blob already does.
"""

from __future__ import annotations

import base64
import os
import re
from typing import Any, ClassVar

from ...errors import DecryptionError, FormatError, ParameterError
from ...formats.stanza import BODY_SIZE, KMS, Stanza
from .base import Identity, Random, Recipient

PREFIX = "awskms:"
_ARN = re.compile(r"arn:aws[a-z-]*:kms:([a-z0-9-]{1,32}):[0-9]{12}:(?:key|alias)/[A-Za-z0-9/_+=,.@-]+")
MAX_ARN = 300
_SIZE = BODY_SIZE[KMS]
#: KMS errors that mean "this stanza is not for this key", not a refusal to be reported.
_NOT_MINE = {"IncorrectKeyException"}


def _context(label: bytes) -> dict[str, str]:
    return {"stc:purpose": "file key", "stc:header": base64.b64encode(label).decode("ascii")}


def _parse_arn(value: str) -> str | None:
    """The ARN of ``awskms:ARN``; None if ``value`` is not of this kind; ParameterError if malformed."""
    if not value.startswith(PREFIX):
        return None
    arn = value[len(PREFIX):]
    if len(arn) > MAX_ARN or not _ARN.fullmatch(arn):
        raise ParameterError("malformed AWS KMS key: expected awskms:arn:aws:kms:REGION:ACCOUNT:key/ID")
    return arn


def _client(arn: str) -> Any:
    try:
        import boto3
    except ImportError:
        raise ParameterError("AWS KMS keys need boto3: pip install 'stc-authenc[kms]'") from None
    region = arn.split(":")[3]
    return boto3.client("kms", region_name=region)


def _kms_error(exc: Exception) -> tuple[str, str]:
    """(code, message) of a botocore ClientError, or the exception's class and text."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error", {})
        return str(error.get("Code", type(exc).__name__)), str(error.get("Message", ""))
    return type(exc).__name__, str(exc)


def _body(arn: str, blob: bytes) -> bytes:
    raw = arn.encode("ascii")
    body = len(raw).to_bytes(2, "big") + raw + len(blob).to_bytes(2, "big") + blob
    if len(body) > _SIZE:
        raise ParameterError(f"the KMS ciphertext ({len(blob)} bytes) does not fit a {_SIZE}-byte stanza")
    return body + bytes(_SIZE - len(body))


def parse_body(body: bytes) -> tuple[str, bytes]:
    """(ARN, ciphertext blob) of a KMS stanza body; FormatError unless it is exactly as written."""
    n = int.from_bytes(body[:2], "big")
    if not 0 < n <= MAX_ARN or 2 + n + 2 > len(body):
        raise FormatError("a KMS stanza's key ARN length is out of range")
    try:
        arn = body[2:2 + n].decode("ascii")
    except UnicodeDecodeError:
        raise FormatError("a KMS stanza's key ARN is not ASCII") from None
    m = int.from_bytes(body[2 + n:4 + n], "big")
    end = 4 + n + m
    if not m or end > len(body) or any(body[end:]):
        raise FormatError("a KMS stanza's ciphertext length or padding is malformed")
    return arn, body[4 + n:end]


class AwsKmsRecipient(Recipient):
    """A KMS key that wraps file keys (``awskms:arn:aws:kms:…``)."""

    kind: ClassVar[int] = KMS

    def __init__(self, arn: str, client: Any = None) -> None:
        _parse_arn(PREFIX + arn)  # ParameterError unless a KMS key ARN
        self.arn, self._client = arn, client

    @classmethod
    def parse(cls, value: str) -> AwsKmsRecipient | None:
        arn = _parse_arn(value)
        return None if arn is None else cls(arn)

    def to_string(self) -> str:
        return PREFIX + self.arn

    def wrap(self, file_key: bytes, label: bytes, rand: Random = os.urandom) -> Stanza:
        client = self._client or _client(self.arn)
        try:
            blob = client.encrypt(KeyId=self.arn, Plaintext=file_key, EncryptionContext=_context(label))
        except Exception as exc:  # botocore's ClientError, or no credentials / endpoint
            code, message = _kms_error(exc)
            raise ParameterError(f"AWS KMS refused to encrypt with {self.arn}: {code}: {message}") from None
        return Stanza(KMS, _body(self.arn, bytes(blob["CiphertextBlob"])))

    @classmethod
    def decoy(cls, rand: Random = os.urandom) -> Stanza:
        raise ParameterError("KMS stanzas name their key in clear; no decoy can pass for one")


class AwsKmsIdentity(Identity):
    """The right to call KMS ``Decrypt`` with a key (``awskms:…``; not a secret in itself)."""

    kind: ClassVar[int] = KMS

    def __init__(self, arn: str, client: Any = None) -> None:
        self._recipient = AwsKmsRecipient(arn, client)

    @classmethod
    def parse(cls, value: str) -> AwsKmsIdentity | None:
        arn = _parse_arn(value)
        return None if arn is None else cls(arn)

    @property
    def recipient(self) -> AwsKmsRecipient:
        return self._recipient

    def to_string(self) -> str:
        return self._recipient.to_string()

    def unwrap(self, stanza: Stanza, label: bytes) -> bytes | None:
        """The file key from KMS, None for a stanza of another key; DecryptionError naming KMS's
        error when KMS refuses (a disabled key, a moved stanza, no permission)."""
        if stanza.kind != KMS:
            return None
        arn, blob = parse_body(stanza.body)
        if arn != self._recipient.arn:
            return None
        client = self._recipient._client or _client(arn)
        try:
            reply = client.decrypt(CiphertextBlob=blob, KeyId=arn, EncryptionContext=_context(label))
        except Exception as exc:
            code, message = _kms_error(exc)
            if code in _NOT_MINE:
                return None
            raise DecryptionError(f"AWS KMS refused to decrypt with {arn}: {code}: {message}") from None
        key = bytes(reply["Plaintext"])
        return key if len(key) == 32 else None

    def __reduce__(self) -> tuple[Any, ...]:  # naming a key is not a secret
        return (AwsKmsIdentity, (self._recipient.arn,))
