"""SFrame cipher suites (RFC 9605 §4.4-§4.5): key and salt derivation, and each suite's AEAD.

The five suites of the RFC's IANA registry (1-5) and the three AES-256-CTR-HMAC-SHA512 suites
of the working group's reference implementation and vectors (6-8).  The CTR-HMAC suites are the
RFC's encrypt-then-MAC composition of AES-CTR and HMAC, both from ``cryptography``, with the
truncated tag compared in constant time; the GCM suites are plain AES-GCM.  All of it is
stateless: a (key, nonce) pair must never be sealed twice, which :class:`.SFrameContext` ensures.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import constant_time, hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF, HKDFExpand

from ...errors import IntegrityError, ParameterError
from .header import MAX_VALUE, encode_header, parse

NONCE_SIZE = 12
#: Largest plaintext one frame may carry: AES-CTR's 32-bit block counter (RFC 9605 §4.5.1)
#: would allow 64 GiB, ``cryptography`` takes at most 2**31 - 1 bytes in one call.
MAX_FRAME = (1 << 31) - 1
_KEY_LABEL = b"SFrame 1.0 Secret key "
_SALT_LABEL = b"SFrame 1.0 Secret salt "
_RATCHET_LABEL = b"SFrame 1.0 Ratchet"
_LENGTHS = struct.Struct(">QQQ")


@dataclass(frozen=True)
class SFrameSuite:
    """One cipher suite: its registry value, name and the RFC's sizes (Nh, Nka, Nk, Nn, Nt)."""

    value: int
    name: str
    hash_size: int  # Nh
    aes_key_size: int  # Nka (the AES key; for GCM suites it is the whole key)
    tag_size: int  # Nt

    @property
    def gcm(self) -> bool:
        """True for the AES-GCM suites, False for AES-CTR with HMAC."""
        return self.tag_size == 16

    @property
    def key_size(self) -> int:
        """Nk: the AEAD key (for CTR-HMAC suites the AES key then the HMAC key)."""
        return self.aes_key_size if self.gcm else self.aes_key_size + self.hash_size

    def hash(self) -> hashes.HashAlgorithm:
        """The suite's hash, for HKDF and HMAC."""
        return hashes.SHA256() if self.hash_size == 32 else hashes.SHA512()


_SUITES = (
    SFrameSuite(1, "AES_128_CTR_HMAC_SHA256_80", 32, 16, 10),
    SFrameSuite(2, "AES_128_CTR_HMAC_SHA256_64", 32, 16, 8),
    SFrameSuite(3, "AES_128_CTR_HMAC_SHA256_32", 32, 16, 4),
    SFrameSuite(4, "AES_128_GCM_SHA256_128", 32, 16, 16),
    SFrameSuite(5, "AES_256_GCM_SHA512_128", 64, 32, 16),
    SFrameSuite(6, "AES_256_CTR_HMAC_SHA512_80", 64, 32, 10),
    SFrameSuite(7, "AES_256_CTR_HMAC_SHA512_64", 64, 32, 8),
    SFrameSuite(8, "AES_256_CTR_HMAC_SHA512_32", 64, 32, 4),
)
SUITES: dict[int, SFrameSuite] = {suite.value: suite for suite in _SUITES}
_BY_NAME = {suite.name: suite for suite in _SUITES}


def get_suite(suite: SFrameSuite | int | str) -> SFrameSuite:
    """The suite named by its registry value (1-8), its RFC name, or itself."""
    if isinstance(suite, SFrameSuite):
        return suite
    found = _BY_NAME.get(suite.upper()) if isinstance(suite, str) else \
        SUITES.get(suite) if isinstance(suite, int) and not isinstance(suite, bool) else None
    if found is None:
        raise ParameterError(f"unknown SFrame cipher suite {suite!r}; known: "
                             + ", ".join(f"{s.value} ({s.name})" for s in _SUITES))
    return found


def _check_bytes(name: str, value: object, size: int | None = None) -> bytes:
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise ParameterError(f"{name} must be bytes")
    data = bytes(value)
    if size is not None and len(data) != size:
        raise ParameterError(f"{name} must be exactly {size} bytes for this suite; got {len(data)}")
    return data


# ---- the AEAD of §4.5 ----------------------------------------------------------------------
class _CtrHmac:
    """The §4.5.1 AEAD's two keyed primitives, set up once per key: AES for CTR, and an HMAC
    state keyed with the authentication key (copied per frame)."""

    __slots__ = ("aes", "mac", "tag_size")

    def __init__(self, suite: SFrameSuite, key: bytes) -> None:
        self.aes = algorithms.AES(key[:suite.aes_key_size])
        self.mac = hmac.HMAC(key[suite.aes_key_size:], suite.hash())
        self.tag_size = suite.tag_size

    def ctr(self, nonce: bytes, data: bytes) -> bytes:
        """AES-CTR over ``data`` from the initial counter block ``nonce || 0x00000000``."""
        return Cipher(self.aes, modes.CTR(nonce + bytes(4))).encryptor().update(data)

    def tag(self, nonce: bytes, aad: bytes, ct: bytes) -> bytes:
        """The truncated HMAC over the three lengths, the nonce, the AAD and the ciphertext."""
        mac = self.mac.copy()
        mac.update(_LENGTHS.pack(len(aad), len(ct), self.tag_size) + nonce + aad)
        mac.update(ct)
        return mac.finalize()[:self.tag_size]

    def seal(self, nonce: bytes, aad: bytes, plaintext: bytes) -> bytes:
        ct = self.ctr(nonce, plaintext)
        return ct + self.tag(nonce, aad, ct)

    def open(self, nonce: bytes, aad: bytes, ciphertext: bytes) -> bytes:
        if len(ciphertext) < self.tag_size:
            raise IntegrityError(f"SFrame ciphertext is shorter than the {self.tag_size}-byte tag")
        ct, tag = ciphertext[:-self.tag_size], ciphertext[-self.tag_size:]
        if not constant_time.bytes_eq(self.tag(nonce, aad, ct), tag):
            raise IntegrityError(_FAILED)
        return self.ctr(nonce, ct)


def aead_seal(suite: SFrameSuite | int | str, key: bytes, nonce: bytes, aad: bytes, plaintext: bytes) -> bytes:
    """``AEAD.Encrypt`` of the suite: ciphertext with its tag appended (RFC 9605 §4.5)."""
    s = get_suite(suite)
    key, nonce = _check_bytes("key", key, s.key_size), _check_bytes("nonce", nonce, NONCE_SIZE)
    aad, plaintext = _check_bytes("aad", aad), _check_bytes("plaintext", plaintext)
    if len(plaintext) > MAX_FRAME:
        raise ParameterError(f"an SFrame plaintext is at most {MAX_FRAME} bytes")
    if s.gcm:
        return AESGCM(key).encrypt(nonce, plaintext, aad)
    return _CtrHmac(s, key).seal(nonce, aad, plaintext)


def aead_open(suite: SFrameSuite | int | str, key: bytes, nonce: bytes, aad: bytes, ciphertext: bytes) -> bytes:
    """``AEAD.Decrypt`` of the suite; IntegrityError if the tag does not match (nothing returned)."""
    s = get_suite(suite)
    key, nonce = _check_bytes("key", key, s.key_size), _check_bytes("nonce", nonce, NONCE_SIZE)
    aad, ciphertext = _check_bytes("aad", aad), _check_bytes("ciphertext", ciphertext)
    return _open(AESGCM(key) if s.gcm else _CtrHmac(s, key), nonce, aad, ciphertext)


_FAILED = "SFrame frame did not authenticate (wrong key, metadata or a changed byte)"
_GCM_TAG = 16


def _open(aead: AESGCM | _CtrHmac, nonce: bytes, aad: bytes, ciphertext: bytes) -> bytes:
    tag_size = aead.tag_size if isinstance(aead, _CtrHmac) else _GCM_TAG
    if len(ciphertext) - tag_size > MAX_FRAME:
        raise IntegrityError(f"an SFrame plaintext is at most {MAX_FRAME} bytes")
    if isinstance(aead, _CtrHmac):
        return aead.open(nonce, aad, ciphertext)
    if len(ciphertext) < _GCM_TAG:
        raise IntegrityError(f"SFrame ciphertext is shorter than the {_GCM_TAG}-byte tag")
    try:
        return aead.decrypt(nonce, ciphertext, aad)
    except InvalidTag:
        raise IntegrityError(_FAILED) from None


# ---- key schedule of §4.4.2 and §5.1 ---------------------------------------------------------
def derive_key_salt(suite: SFrameSuite | int | str, kid: int, base_key: bytes) -> tuple[bytes, bytes]:
    """(sframe_key, sframe_salt) of one KID: HKDF-Extract with an empty salt, then two Expands."""
    s = get_suite(suite)
    base_key = _check_bytes("base_key", base_key)
    if not base_key:
        raise ParameterError("an SFrame base key must not be empty")
    if isinstance(kid, bool) or not isinstance(kid, int) or not 0 <= kid <= MAX_VALUE:
        raise ParameterError(f"SFrame KID must be an integer in [0, 2**64 - 1]; got {kid!r}")
    secret = HKDF.extract(s.hash(), None, base_key)
    labels = struct.pack(">QH", kid, s.value)
    key = HKDFExpand(s.hash(), s.key_size, _KEY_LABEL + labels).derive(secret)
    salt = HKDFExpand(s.hash(), NONCE_SIZE, _SALT_LABEL + labels).derive(secret)
    return key, salt


def ratchet_base_key(suite: SFrameSuite | int | str, base_key: bytes) -> bytes:
    """The next sender key of §5.1: ``HKDF-Expand(HKDF-Extract("", base_key), "SFrame 1.0 Ratchet", Nh)``."""
    s = get_suite(suite)
    secret = HKDF.extract(s.hash(), None, _check_bytes("base_key", base_key))
    return HKDFExpand(s.hash(), s.hash_size, _RATCHET_LABEL).derive(secret)


def frame_nonce(salt: bytes, ctr: int) -> bytes:
    """The nonce of one frame: the salt XOR the CTR, as a 12-byte big-endian integer."""
    return (int.from_bytes(salt, "big") ^ ctr).to_bytes(NONCE_SIZE, "big")


class PreparedKey:
    """The derived key and salt of one (base key, KID), with the suite's AEAD keyed and ready
    (``gcm`` for the GCM suites, so the per-frame path can call it directly)."""

    __slots__ = ("_aead", "gcm", "key", "salt", "suite")

    def __init__(self, suite: SFrameSuite, kid: int, base_key: bytes) -> None:
        self.suite = suite
        self.key, salt = derive_key_salt(suite, kid, base_key)
        self.salt = int.from_bytes(salt, "big")
        self.gcm = AESGCM(self.key) if suite.gcm else None
        self._aead: AESGCM | _CtrHmac = self.gcm or _CtrHmac(suite, self.key)

    def __repr__(self) -> str:
        return f"PreparedKey(suite={self.suite.name})"

    def same_as(self, other: PreparedKey) -> bool:
        """True if both hold the same derived key (the salt comes from the same derivation)."""
        return constant_time.bytes_eq(self.key, other.key)

    def seal(self, ctr: int, aad: bytes, plaintext: bytes) -> bytes:
        """Ciphertext and tag of one frame whose counter is ``ctr``."""
        nonce = (self.salt ^ ctr).to_bytes(NONCE_SIZE, "big")
        if self.gcm is not None:
            return self.gcm.encrypt(nonce, plaintext, aad)
        return self._aead.seal(nonce, aad, plaintext)  # type: ignore[union-attr]

    def open(self, ctr: int, aad: bytes, ciphertext: bytes) -> bytes:
        """Plaintext of one frame; IntegrityError if it does not authenticate."""
        return _open(self._aead, (self.salt ^ ctr).to_bytes(NONCE_SIZE, "big"), aad, ciphertext)


def protect_with(suite: SFrameSuite | int | str, base_key: bytes, kid: int, ctr: int, plaintext: bytes,
                 metadata: bytes = b"") -> bytes:
    """One SFrame ciphertext for an explicit (KID, CTR), for known-answer tests and custom stacks.

    NEVER call this twice with the same base key, KID and CTR: both frames would share a
    nonce, which breaks AES-GCM's and AES-CTR's secrecy.  :class:`.SFrameContext` keeps the
    counter for you; use it unless you manage counters yourself.
    """
    s = get_suite(suite)
    header = encode_header(kid, ctr)
    plaintext, metadata = _check_bytes("plaintext", plaintext), _check_bytes("metadata", metadata)
    if len(plaintext) > MAX_FRAME:
        raise ParameterError(f"an SFrame plaintext is at most {MAX_FRAME} bytes")
    return header + PreparedKey(s, kid, _check_bytes("base_key", base_key)).seal(ctr, header + metadata, plaintext)


def unprotect_with(suite: SFrameSuite | int | str, base_key: bytes, ciphertext: bytes, metadata: bytes = b"") -> bytes:
    """Open one SFrame ciphertext with one base key (no replay check: see :class:`.SFrameContext`)."""
    s = get_suite(suite)
    data, metadata = _check_bytes("ciphertext", ciphertext), _check_bytes("metadata", metadata)
    kid, ctr, size = parse(data)
    return PreparedKey(s, kid, _check_bytes("base_key", base_key)).open(ctr, data[:size] + metadata, data[size:])
