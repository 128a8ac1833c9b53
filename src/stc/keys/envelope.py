"""Version-2 key management: a random file key, wrapped for each recipient and passphrase, committed
to by a header MAC, and re-wrappable without touching the payload (docs/design.md, "Recipients").

Keys, each used once or with fresh inputs (docs/design.md lists why no (key, nonce) repeats):
- ``file_key``: 32 random bytes per file or message; it never changes, re-keying included.
- passphrase wrap key: ``HKDF(pw_key || epoch_key, "v2 passphrase wrap" || salt || label)`` with a
  random 16-byte salt per stanza, so each wraps one file key once (zero nonce).
- ``payload_key``: ``HKDF(file_key, "v2 payload" || SHA-256(core) || SHA-256(context), salt=nonce)``;
  chunks use STREAM nonces under it.  The core never changes, so re-keying keeps it.
- directory key: ``HKDF(file_key, "v2 directory" || dir_salt || label)``, a fresh salt per header
  written, so each directory is sealed once under its key (zero nonce).
- MAC key: ``HKDF(file_key, "v2 header mac")``; HMAC-SHA256 over the header commits it to the file
  key, so no header opens to two different payloads under two passphrases or identities.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from ..crypto.kdf import SALT_SIZE, KdfParams, hkdf, sha256
from ..crypto.suite import Suite
from ..errors import IntegrityError, NoMatchingIdentityError, ParameterError, WrongPasswordError
from ..formats.stanza import FILE_KEY_SIZE, PASSPHRASE, WRAPPED_SIZE, X25519, XWING, Stanza
from ..formats.v2 import (
    FINGERPRINT_SIZE,
    FLAG_CONTEXT,
    FLAG_TEXT,
    MAC_SIZE,
    MAX_PASSPHRASE_STANZAS,
    MAX_STANZAS,
    HeaderV2,
)
from .recipients import X25519Recipient, XWingRecipient
from .recipients.base import Identity, Random, Recipient, unwrap, wrap

#: Decoys pad the stanzas of each kind present to this many.
DECOYS = 4
_NO_FINGERPRINT = bytes(FINGERPRINT_SIZE)

PasswordKey = Callable[[bytes, KdfParams], bytes]  # (salt, cost) -> Argon2id output for one passphrase


def label(core: bytes) -> bytes:
    """What binds a stanza to one header: SHA-256 of its immutable core."""
    return sha256(core)


def payload_key(file_key: bytes, header: HeaderV2, encoded_context: bytes) -> bytes:
    """The AEAD key of the payload, bound to the core and the context data."""
    return hkdf(file_key, b"v2 payload" + sha256(header.core) + sha256(encoded_context), salt=header.nonce)


def _passphrase_kek(pw_key: bytes, epoch_key: bytes, salt: bytes, lbl: bytes) -> bytes:
    return hkdf(pw_key + epoch_key, b"v2 passphrase wrap" + salt + lbl)


def passphrase_stanza(pw_key: bytes, epoch_key: bytes, file_key: bytes, lbl: bytes,
                      rand: Random = os.urandom) -> Stanza:
    """A passphrase stanza: a fresh salt and the file key wrapped under the passphrase's key."""
    salt = rand(SALT_SIZE)
    return Stanza(PASSPHRASE, salt + wrap(_passphrase_kek(pw_key, epoch_key, salt, lbl), file_key))


def _decoy_passphrase(rand: Random = os.urandom) -> Stanza:
    return Stanza(PASSPHRASE, rand(SALT_SIZE + WRAPPED_SIZE))


def _shuffle(entries: list[Entry], rand: Random) -> None:
    """Fisher-Yates with rejection sampling from ``rand``: every order equally likely."""
    for i in range(len(entries) - 1, 0, -1):
        while True:
            value = rand(1)[0]
            if value < 256 - 256 % (i + 1):
                break
        j = value % (i + 1)
        entries[i], entries[j] = entries[j], entries[i]


def _mac(file_key: bytes, mac_input: bytes) -> bytes:
    return hmac.digest(hkdf(file_key, b"v2 header mac"), mac_input, hashlib.sha256)


def _directory_key(file_key: bytes, dir_salt: bytes, lbl: bytes) -> bytes:
    return hkdf(file_key, b"v2 directory" + dir_salt + lbl)


@dataclass(frozen=True)
class Core:
    """The fields of a header's immutable core."""

    suite: Suite
    nonce: bytes
    epoch: int
    text: bool
    context_bound: bool
    chunk_size: int
    is_file: bool

    @classmethod
    def of(cls, header: HeaderV2) -> Core:
        """The core of an existing header."""
        return cls(header.suite, header.nonce, header.epoch, header.text, header.context_bound,
                   header.chunk_size, header.is_file)

    def to_bytes(self) -> bytes:
        """The 31 core bytes."""
        flags = (FLAG_TEXT if self.text else 0) | (FLAG_CONTEXT if self.context_bound else 0)
        return HeaderV2.core_bytes(self.is_file, self.suite, flags, self.chunk_size, self.nonce, self.epoch)


Entry = tuple[Stanza, bytes]  # a stanza and its recipient's fingerprint (zeros: passphrase or decoy)


def _assemble(core: Core, entries: list[Entry], file_key: bytes, kdf: KdfParams | None, kdf_salt: bytes,
              rand: Random) -> HeaderV2:
    """Shuffle the entries, seal the directory (if any public-key stanza) and compute the MAC."""
    if len(entries) > MAX_STANZAS:
        raise ParameterError(f"at most {MAX_STANZAS} key slots (recipients, passphrases and decoys) fit a header")
    if sum(s.kind == PASSPHRASE for s, _ in entries) > MAX_PASSPHRASE_STANZAS:
        raise ParameterError(f"at most {MAX_PASSPHRASE_STANZAS} passphrase slots (passphrases and decoys) fit a header")
    _shuffle(entries, rand)  # positions reveal nothing
    has_pw = any(s.kind == PASSPHRASE for s, _ in entries)
    dir_salt = directory = b""
    if not all(s.kind == PASSPHRASE for s, _ in entries):
        dir_salt = rand(16)
        key = _directory_key(file_key, dir_salt, label(core.to_bytes()))
        directory = ChaCha20Poly1305(key).encrypt(bytes(12), b"".join(fp for _, fp in entries), None)
    fields = {"suite": core.suite, "nonce": core.nonce, "epoch": core.epoch, "text": core.text,
              "context_bound": core.context_bound, "chunk_size": core.chunk_size, "is_file": core.is_file,
              "stanzas": tuple(s for s, _ in entries), "kdf": kdf if has_pw else None,
              "kdf_salt": kdf_salt if has_pw else bytes(SALT_SIZE), "dir_salt": dir_salt, "directory": directory}
    draft = HeaderV2(mac=bytes(MAC_SIZE), **fields)  # type: ignore[arg-type]
    return draft.with_mac(_mac(file_key, draft.mac_input))


#: A decoy of each stanza kind: random bytes shaped like that kind's real stanzas.  KMS stanzas
#: name their key in clear (AWS's ciphertexts do), so no decoy could pass for one: they have none.
_DECOY_MAKERS: dict[int, Callable[[Random], Stanza]] = {
    PASSPHRASE: _decoy_passphrase, X25519: X25519Recipient.decoy, XWING: XWingRecipient.decoy,
}


def _decoys(entries: list[Entry], rand: Random) -> list[Entry]:
    """Decoys to bring each stanza kind present up to DECOYS stanzas."""
    out: list[Entry] = []
    for kind in sorted({s.kind for s, _ in entries} & _DECOY_MAKERS.keys()):
        have = sum(s.kind == kind for s, _ in entries)
        out += [(_DECOY_MAKERS[kind](rand), _NO_FINGERPRINT) for _ in range(max(0, DECOYS - have))]
    return out


def seal(
    *,
    suite: Suite,
    epoch: int,
    epoch_key: bytes,
    recipients: Sequence[Recipient],
    pw_keys: Sequence[bytes],
    kdf: KdfParams | None,
    kdf_salt: bytes,
    use_decoys: bool,
    text: bool = False,
    context_bound: bool = False,
    chunk_size: int = 0,
    is_file: bool = False,
    rand: Random = os.urandom,
) -> tuple[HeaderV2, bytes]:
    """A new header and its file key: one stanza per recipient and per passphrase key, plus decoys."""
    if not recipients and not pw_keys:
        raise ParameterError("at least one passphrase or recipient is needed")
    file_key = rand(FILE_KEY_SIZE)
    core = Core(suite, rand(16), epoch, text, context_bound, chunk_size, is_file)
    lbl = label(core.to_bytes())
    entries: list[Entry] = [(passphrase_stanza(k, epoch_key, file_key, lbl, rand), _NO_FINGERPRINT)
                            for k in pw_keys]
    entries += [(r.wrap(file_key, lbl, rand), r.fingerprint) for r in recipients]
    if use_decoys:
        entries += _decoys(entries, rand)
    return _assemble(core, entries, file_key, kdf, kdf_salt, rand), file_key


def open_file_key(
    header: HeaderV2,
    *,
    identities: Sequence[Identity],
    password_key: PasswordKey | None,
    epoch_key: Callable[[], bytes],
) -> tuple[bytes, int]:
    """The file key and the index of the stanza that gave it, after the header MAC verified.

    Only stanzas whose kind matches an identity are tried, and all of them (constant work);
    the passphrase costs one Argon2id run whatever the number of passphrase stanzas.
    """
    lbl = label(header.core)
    found: list[tuple[bytes, int]] = []
    for identity in identities:
        for index, stanza in enumerate(header.stanzas):
            if stanza.kind == identity.kind:
                key = identity.unwrap(stanza, lbl)
                if key is not None:
                    found.append((key, index))
    passphrase_slots = [i for i, s in enumerate(header.stanzas) if s.kind == PASSPHRASE]
    if password_key is not None and passphrase_slots and header.kdf is not None:
        pw_key, e_key = password_key(header.kdf_salt, header.kdf), epoch_key()
        for index in passphrase_slots:
            body = header.stanzas[index].body
            key = unwrap(_passphrase_kek(pw_key, e_key, body[:SALT_SIZE], lbl), body[SALT_SIZE:])
            if key is not None:
                found.append((key, index))
    if not found:
        raise _no_match(header, identities, password_key is not None)
    for key, index in found:
        if hmac.compare_digest(_mac(key, header.mac_input), header.mac):
            return key, index
    raise IntegrityError("a key slot opened but the header MAC did not verify: the header was modified")


def _no_match(header: HeaderV2, identities: Sequence[Identity], tried_password: bool) -> Exception:
    has_passphrase = any(s.kind == PASSPHRASE for s in header.stanzas)
    if identities and not tried_password:
        return NoMatchingIdentityError("no identity matched any of the recipients")
    if identities:
        return NoMatchingIdentityError("no identity matched any of the recipients, and the passphrase is wrong")
    if not has_passphrase:
        return NoMatchingIdentityError("this is encrypted to recipients only: an identity is needed to open it")
    return WrongPasswordError("wrong password (or wrong seed): no key slot opened")


def fingerprints(header: HeaderV2, file_key: bytes) -> list[bytes]:
    """The sealed directory: each stanza's recipient fingerprint (zeros for passphrases and decoys)."""
    if not header.directory:
        return [_NO_FINGERPRINT] * len(header.stanzas)
    key = _directory_key(file_key, header.dir_salt, label(header.core))
    try:
        plain = ChaCha20Poly1305(key).decrypt(bytes(12), header.directory, None)
    except InvalidTag:
        raise IntegrityError("the header's sealed directory did not authenticate") from None
    return [plain[i : i + FINGERPRINT_SIZE] for i in range(0, len(plain), FINGERPRINT_SIZE)]


def rekey(
    header: HeaderV2,
    file_key: bytes,
    *,
    add: Sequence[Recipient] = (),
    remove: Sequence[Recipient] = (),
    new_pw_key: bytes | None = None,
    new_kdf: KdfParams | None = None,
    new_kdf_salt: bytes = b"",
    epoch_key: bytes = b"",
    use_decoys: bool = True,
    rand: Random = os.urandom,
) -> HeaderV2:
    """A new header for the same file key and core: recipients added or removed, or every
    passphrase slot replaced by one for a new passphrase.  The payload stays valid as it is."""
    lbl = label(header.core)
    old = list(zip(header.stanzas, fingerprints(header, file_key), strict=True))
    present = {fp for _, fp in old if fp != _NO_FINGERPRINT}
    gone = {r.fingerprint for r in remove}
    for r in remove:
        if r.fingerprint not in present:
            raise ParameterError(f"{r.to_string()[:40]}… is not a recipient of this file")
    for r in add:
        if r.fingerprint in present - gone:
            raise ParameterError(f"{r.to_string()[:40]}… is already a recipient of this file")
    # Every stanza that stays, real or decoy, is kept byte for byte, so a header seen before and
    # after does not tell which stanzas are real.  With decoys, a removed recipient's stanza becomes
    # a fresh decoy of its kind and an added one takes a decoy's place: each change replaces one
    # stanza, whichever it is, and the header keeps its size (so the re-key happens in place).
    entries = [((_DECOY_MAKERS[s.kind](rand), _NO_FINGERPRINT) if fp in gone else (s, fp))
               for s, fp in old if fp not in gone or (use_decoys and s.kind in _DECOY_MAKERS)]
    kdf, kdf_salt = header.kdf, header.kdf_salt
    if new_pw_key is not None:
        entries = [(s, fp) for s, fp in entries if s.kind != PASSPHRASE]
        entries.append((passphrase_stanza(new_pw_key, epoch_key, file_key, lbl, rand), _NO_FINGERPRINT))
        kdf, kdf_salt = new_kdf, new_kdf_salt
    for r in add:
        stanza = r.wrap(file_key, lbl, rand)
        spare = [i for i, (s, fp) in enumerate(entries) if s.kind == stanza.kind and fp == _NO_FINGERPRINT]
        if spare and use_decoys:
            entries[spare[0]] = (stanza, r.fingerprint)  # decoys are alike: which one goes does not matter
        else:
            entries.append((stanza, r.fingerprint))
    if not any(fp != _NO_FINGERPRINT or s.kind == PASSPHRASE for s, fp in entries):
        raise ParameterError("re-keying would leave no recipient and no passphrase: nobody could open the file")
    if use_decoys:
        entries += [(s, fp) for s, fp in _decoys(entries, rand) if s.kind != PASSPHRASE or new_pw_key is not None]
    return _assemble(Core.of(header), entries, file_key, kdf, kdf_salt, rand)
