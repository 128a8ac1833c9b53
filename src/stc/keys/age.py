"""age's recipient stanzas and header MAC (C2SP age, "Native recipient types" and "Header MAC").

Three stanza types, each wrapping the 16-byte file key independently:

- ``X25519``: ephemeral-static X25519, HKDF-SHA-256 (salt: share and recipient), ChaCha20-Poly1305
  with a zero nonce under that single-use key;
- ``scrypt``: a passphrase through scrypt (N = 2^work factor, r = 8, p = 1; salt labelled), alone
  in its header; the work factor is capped (22 unless raised, as age does);
- ``mlkem768x25519``: HPKE (RFC 9180) SealBase with the MLKEM768-X25519 KEM, HKDF-SHA256 and
  ChaCha20Poly1305, from ``cryptography``.

A stanza of a type we hold an identity for is checked strictly: a malformed one is a
``FormatError`` (age's "header failure"), one that does not open is skipped ("no match").
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Callable, Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hpke
from cryptography.hazmat.primitives.asymmetric.mlkem import MLKEM768PrivateKey, MLKEM768PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from ..errors import FormatError, IntegrityError, NoMatchingIdentityError, ParameterError, WrongPasswordError
from ..formats.age.header import AgeHeader, AgeStanza, b64decode, b64encode
from .recipients.base import unwrap, wrap
from .recipients.hybrid import XWingIdentity, XWingRecipient
from .recipients.x25519 import X25519Identity, X25519Recipient

FILE_KEY_SIZE = 16
BODY_SIZE = FILE_KEY_SIZE + 16
DEFAULT_WORK_FACTOR = 18  # age's default: about a second
MAX_WORK_FACTOR = 22  # age refuses more unless told otherwise
_X25519_INFO = b"age-encryption.org/v1/X25519"
_SCRYPT_LABEL = b"age-encryption.org/v1/scrypt"
_HYBRID_INFO = b"age-encryption.org/mlkem768x25519"
_HYBRID_ENC = 1120
_WORK_FACTOR = re.compile(r"[1-9][0-9]{0,1}")
_SUITE = hpke.Suite(hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.CHACHA20_POLY1305)

Random = Callable[[int], bytes]
AgeIdentity = X25519Identity | XWingIdentity


def _hkdf(ikm: bytes, salt: bytes, info: bytes) -> bytes:
    return HKDF(hashes.SHA256(), 32, salt, info).derive(ikm)


def _body(stanza: AgeStanza, what: str) -> bytes:
    if len(stanza.body) != BODY_SIZE:  # checked before any decryption (partitioning oracles)
        raise FormatError(f"age {what} stanza: the body is {len(stanza.body)} bytes, not {BODY_SIZE}")
    return stanza.body


# X25519 ---------------------------------------------------------------------------------------

def wrap_x25519(recipient: X25519Recipient, file_key: bytes, rand: Random = os.urandom) -> AgeStanza:
    """An ``X25519`` stanza of ``file_key`` to ``recipient``."""
    ephemeral = X25519PrivateKey.from_private_bytes(rand(32))
    share = ephemeral.public_key().public_bytes_raw()
    try:
        shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient.public_key))
    except ValueError:
        raise ParameterError("this X25519 recipient is a low-order point; nothing can be encrypted to it") from None
    key = _hkdf(shared, share + recipient.public_key, _X25519_INFO)
    return AgeStanza(("X25519", b64encode(share).decode()), wrap(key, file_key))


def unwrap_x25519(identity: X25519Identity, stanza: AgeStanza) -> bytes | None:
    """The file key if ``stanza`` is an X25519 stanza to ``identity``; FormatError if it is malformed."""
    if stanza.args[0] != "X25519":
        return None
    if len(stanza.args) != 2:
        raise FormatError("age X25519 stanza: two arguments expected")
    share = b64decode(stanza.args[1].encode(), "the X25519 share")
    if len(share) != 32:
        raise FormatError("age X25519 stanza: the share is not 32 bytes")
    body = _body(stanza, "X25519")
    try:
        shared = X25519PrivateKey.from_private_bytes(identity.secret_bytes()).exchange(
            X25519PublicKey.from_public_bytes(share))
    except ValueError:  # all-zero shared secret: age aborts
        raise FormatError("age X25519 stanza: the share is a low-order point") from None
    return unwrap(_hkdf(shared, share + identity.recipient.public_key, _X25519_INFO), body)


# mlkem768x25519 -------------------------------------------------------------------------------

def _hybrid_public(recipient: XWingRecipient) -> hpke.MLKEM768X25519PublicKey:
    key = recipient.public_key
    try:
        return hpke.MLKEM768X25519PublicKey(MLKEM768PublicKey.from_public_bytes(key[:1184]),
                                            X25519PublicKey.from_public_bytes(key[1184:]))
    except ValueError:
        raise ParameterError("malformed ML-KEM-768 + X25519 recipient") from None


def _hybrid_private(identity: XWingIdentity) -> hpke.MLKEM768X25519PrivateKey:
    expanded = hashlib.shake_256(identity.seed_bytes()).digest(96)  # the seed expansion of X-Wing / hpke-pq
    return hpke.MLKEM768X25519PrivateKey(MLKEM768PrivateKey.from_seed_bytes(expanded[:64]),
                                         X25519PrivateKey.from_private_bytes(expanded[64:]))


def wrap_hybrid(recipient: XWingRecipient, file_key: bytes) -> AgeStanza:
    """An ``mlkem768x25519`` stanza of ``file_key`` to ``recipient`` (HPKE SealBase; its randomness is OpenSSL's)."""
    sealed = _SUITE.encrypt(file_key, _hybrid_public(recipient), _HYBRID_INFO)
    return AgeStanza(("mlkem768x25519", b64encode(sealed[:_HYBRID_ENC]).decode()), sealed[_HYBRID_ENC:])


def unwrap_hybrid(identity: XWingIdentity, stanza: AgeStanza) -> bytes | None:
    """The file key if ``stanza`` is an mlkem768x25519 stanza to ``identity``; FormatError if malformed."""
    if stanza.args[0] != "mlkem768x25519":
        return None
    if len(stanza.args) != 2:
        raise FormatError("age mlkem768x25519 stanza: two arguments expected")
    enc = b64decode(stanza.args[1].encode(), "the mlkem768x25519 enc")
    if len(enc) != _HYBRID_ENC:
        raise FormatError(f"age mlkem768x25519 stanza: enc is not {_HYBRID_ENC} bytes")
    body = _body(stanza, "mlkem768x25519")
    try:
        X25519PrivateKey.generate().exchange(X25519PublicKey.from_public_bytes(enc[-32:]))
    except ValueError:  # a low-order X25519 part: the all-zero shared secret age forbids
        raise FormatError("age mlkem768x25519 stanza: the X25519 part of enc is a low-order point") from None
    try:
        return _SUITE.decrypt(enc + body, _hybrid_private(identity), _HYBRID_INFO)
    except InvalidTag:
        return None


# scrypt ---------------------------------------------------------------------------------------

def _scrypt_key(passphrase: bytes, salt: bytes, work_factor: int) -> bytes:
    return Scrypt(_SCRYPT_LABEL + salt, 32, 1 << work_factor, 8, 1).derive(passphrase)


def wrap_scrypt(passphrase: bytes, file_key: bytes, work_factor: int = DEFAULT_WORK_FACTOR,
                rand: Random = os.urandom) -> AgeStanza:
    """An ``scrypt`` stanza of ``file_key`` under ``passphrase``."""
    if not 1 <= work_factor <= MAX_WORK_FACTOR:
        raise ParameterError(f"the scrypt work factor is 1 to {MAX_WORK_FACTOR}")
    if not passphrase:
        raise ParameterError("an empty passphrase protects nothing")
    salt = rand(16)
    return AgeStanza(("scrypt", b64encode(salt).decode(), str(work_factor)),
                     wrap(_scrypt_key(passphrase, salt, work_factor), file_key))


def unwrap_scrypt(passphrase: bytes, stanza: AgeStanza, max_work_factor: int = MAX_WORK_FACTOR) -> bytes | None:
    """The file key if ``passphrase`` opens the scrypt ``stanza``; FormatError if it is malformed or too costly."""
    if stanza.args[0] != "scrypt":
        return None
    if len(stanza.args) != 3:
        raise FormatError("age scrypt stanza: three arguments expected")
    salt = b64decode(stanza.args[1].encode(), "the scrypt salt")
    if len(salt) != 16:
        raise FormatError("age scrypt stanza: the salt is not 16 bytes")
    if not _WORK_FACTOR.fullmatch(stanza.args[2]):
        raise FormatError("age scrypt stanza: the work factor is not a decimal number without leading zeros")
    work_factor = int(stanza.args[2])
    if work_factor > max_work_factor:
        raise FormatError(f"age scrypt stanza: work factor {work_factor} is above the limit of {max_work_factor} "
                          "(raise it only for a file you trust)")
    return unwrap(_scrypt_key(passphrase, salt, work_factor), _body(stanza, "scrypt"))


# header ---------------------------------------------------------------------------------------

def header_mac(file_key: bytes, header: AgeHeader) -> bytes:
    """HMAC-SHA-256 of the header under HKDF(file key, info "header")."""
    return hmac.new(_hkdf(file_key, b"", b"header"), header.mac_input, "sha256").digest()


def seal_header(stanzas: Sequence[AgeStanza], file_key: bytes) -> AgeHeader:
    """A header of ``stanzas`` with its MAC."""
    unsigned = AgeHeader(tuple(stanzas), bytes(32))
    return AgeHeader(tuple(stanzas), header_mac(file_key, unsigned))


def open_header(header: AgeHeader, identities: Sequence[AgeIdentity] = (), passphrase: bytes | None = None,
                max_work_factor: int = MAX_WORK_FACTOR) -> bytes:
    """The file key of ``header``, its MAC checked; the error says why not (C2SP age's outcomes)."""
    scrypts = [s for s in header.stanzas if s.args[0] == "scrypt"]
    if scrypts and len(header.stanzas) != 1:
        raise FormatError("age header: an scrypt stanza must be the only stanza")
    file_key = None
    if scrypts:
        if passphrase is None:
            raise WrongPasswordError("this age file is protected by a passphrase; none was given")
        file_key = unwrap_scrypt(passphrase, scrypts[0], max_work_factor)
        if file_key is None:
            raise WrongPasswordError("wrong passphrase for this age file")
    else:
        file_key = _by_identities(header, identities)
    if not hmac.compare_digest(header_mac(file_key, header), header.mac):
        raise IntegrityError("age header MAC does not match: the header was changed")
    return file_key


def _by_identities(header: AgeHeader, identities: Sequence[AgeIdentity]) -> bytes:
    for stanza in header.stanzas:
        for identity in identities:
            if isinstance(identity, XWingIdentity):
                found = unwrap_hybrid(identity, stanza)
            else:
                found = unwrap_x25519(identity, stanza)
            if found is not None:
                return found
    if not identities:
        raise NoMatchingIdentityError("this age file is encrypted to keys; give an identity (-i)")
    raise NoMatchingIdentityError("no identity given opens this age file")


def describe(header: AgeHeader) -> list[dict[str, object]]:
    """What ``stc inspect`` says of each stanza (its type and public arguments' sizes)."""
    out: list[dict[str, object]] = []
    for stanza in header.stanzas:
        entry: dict[str, object] = {"type": stanza.args[0], "arguments": len(stanza.args) - 1,
                                    "body_bytes": len(stanza.body)}
        if stanza.args[0] == "scrypt" and len(stanza.args) == 3:
            entry["work_factor"] = stanza.args[2]
        out.append(entry)
    return out
