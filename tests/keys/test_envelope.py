"""The version-2 key envelope driven directly: shuffle, limits, defaults, re-keying and every refusal."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import pytest

from stc.crypto.kdf import SALT_SIZE, KdfParams
from stc.crypto.suite import Suite
from stc.errors import IntegrityError, NoMatchingIdentityError, ParameterError, WrongPasswordError
from stc.formats.stanza import PASSPHRASE, X25519, Stanza
from stc.formats.v2 import MAX_STANZAS, HeaderV2
from stc.keys import envelope
from stc.keys.recipients import X25519Identity
from stc.keys.recipients.base import Random

PW_KEY, EPOCH_KEY = b"p" * 32, b"e" * 32
KDF = KdfParams(8, 1, 1)
SALT = b"s" * SALT_SIZE


def scripted(values: list[int]) -> Random:
    """A random source that returns the scripted bytes one at a time, then zeros."""
    it: Iterator[int] = iter(values)

    def rand(n: int) -> bytes:
        return bytes(next(it, 0) for _ in range(n))

    return rand


def seal_pw(**kw: object) -> tuple[HeaderV2, bytes]:
    args: dict[str, object] = {"suite": Suite.AES_256_GCM, "epoch": 0, "epoch_key": EPOCH_KEY, "recipients": (),
                               "pw_keys": (PW_KEY,), "kdf": KDF, "kdf_salt": SALT, "use_decoys": True}
    args.update(kw)
    return envelope.seal(**args)  # type: ignore[arg-type]


def open_pw(header: HeaderV2, pw_key: bytes = PW_KEY, epoch_key: bytes = EPOCH_KEY) -> bytes:
    key, _ = envelope.open_file_key(header, identities=(), password_key=lambda salt, cost: pw_key,
                                    epoch_key=lambda: epoch_key)
    return key


def kinds(header: HeaderV2) -> list[int]:
    return sorted(s.kind for s in header.stanzas)


def test_shuffle_rejects_exactly_the_biased_bytes() -> None:
    # Three entries: i=2 accepts bytes below 255 (256 - 256 % 3), i=1 accepts every byte.
    entries = [(Stanza(PASSPHRASE, bytes([n]) * 64), bytes(16)) for n in range(3)]
    envelope._shuffle(entries, scripted([254, 1]))  # 254 % 3 = 2 (stay), then 1 % 2 = 1 (stay)
    assert [s.body[0] for s, _ in entries] == [0, 1, 2]
    entries = [(Stanza(PASSPHRASE, bytes([n]) * 64), bytes(16)) for n in range(3)]
    envelope._shuffle(entries, scripted([255, 0, 255]))  # 255 refused, 0 swaps 2 and 0; then 255 % 2 = 1
    assert [s.body[0] for s, _ in entries] == [2, 1, 0]


def test_seal_defaults_and_the_kdf_salt_of_a_header_without_passphrase() -> None:
    header, _ = seal_pw()
    assert (header.text, header.context_bound, header.is_file, header.chunk_size) == (False, False, False, 0)
    ident = X25519Identity.generate()
    header, key = seal_pw(recipients=(ident.recipient,), pw_keys=(), kdf=None, kdf_salt=SALT)
    assert header.kdf is None and header.kdf_salt == bytes(SALT_SIZE)  # the salt given is not written
    assert envelope.open_file_key(header, identities=(ident,), password_key=None, epoch_key=bytes)[0] == key


def test_assemble_takes_exactly_max_stanzas() -> None:
    core = envelope.Core(Suite.AES_256_GCM, bytes(16), 0, False, False, 0, False)
    entries = [(X25519Identity.generate().recipient.wrap(b"k" * 32, b"l" * 32), b"f" * 16)
               for _ in range(MAX_STANZAS)]
    header = envelope._assemble(core, list(entries), b"k" * 32, None, SALT, os.urandom)
    assert len(header.stanzas) == MAX_STANZAS
    with pytest.raises(ParameterError, match=rf"^at most {MAX_STANZAS} key slots"):
        envelope._assemble(core, entries + entries[:1], b"k" * 32, None, SALT, os.urandom)


def test_refusals_say_exactly_why() -> None:
    with pytest.raises(ParameterError, match=r"^at least one passphrase or recipient is needed$"):
        seal_pw(pw_keys=())
    header, _ = seal_pw()
    with pytest.raises(WrongPasswordError, match=r"^wrong password \(or wrong seed\): no key slot opened$"):
        open_pw(header, pw_key=b"q" * 32)
    ident, other = X25519Identity.generate(), X25519Identity.generate()
    mixed, _ = seal_pw(recipients=(ident.recipient,))
    with pytest.raises(NoMatchingIdentityError, match=r"^no identity matched any of the recipients$"):
        envelope.open_file_key(mixed, identities=(other,), password_key=None, epoch_key=bytes)
    with pytest.raises(NoMatchingIdentityError,
                       match=r"^no identity matched any of the recipients, and the passphrase is wrong$"):
        envelope.open_file_key(mixed, identities=(other,), password_key=lambda s, c: b"q" * 32,
                               epoch_key=lambda: EPOCH_KEY)
    only_keys, _ = seal_pw(recipients=(ident.recipient,), pw_keys=(), kdf=None)
    with pytest.raises(NoMatchingIdentityError,
                       match=r"^this is encrypted to recipients only: an identity is needed to open it$"):
        envelope.open_file_key(only_keys, identities=(), password_key=lambda s, c: PW_KEY, epoch_key=bytes)


def test_a_slot_that_opens_under_a_changed_mac_is_refused_with_its_reason() -> None:
    header, _ = seal_pw()
    forged = header.with_mac(bytes(32))
    with pytest.raises(IntegrityError, match=r"^a key slot opened but the header MAC did not verify: "
                                             r"the header was modified$"):
        open_pw(forged)


def test_a_directory_that_does_not_authenticate_is_refused() -> None:
    ident = X25519Identity.generate()
    header, key = seal_pw(recipients=(ident.recipient,))
    assert envelope.fingerprints(header, key).count(ident.recipient.fingerprint) == 1
    with pytest.raises(IntegrityError, match=r"^the header's sealed directory did not authenticate$"):
        envelope.fingerprints(header, b"x" * 32)


def test_rekey_keeps_the_core_flags_and_adds_decoys_by_default() -> None:
    ident = X25519Identity.generate()
    header, key = seal_pw(text=True, context_bound=True, use_decoys=False)
    new = envelope.rekey(header, key, add=(ident.recipient,))
    assert new.core == header.core and new.text and new.context_bound
    assert kinds(new) == [PASSPHRASE] + [X25519] * 4  # the passphrase slot kept, public-key decoys added
    assert envelope.open_file_key(new, identities=(ident,), password_key=None, epoch_key=bytes)[0] == key


def test_rekey_adds_passphrase_decoys_only_with_a_new_passphrase() -> None:
    header, key = seal_pw()
    assert kinds(header) == [PASSPHRASE] * 4
    ident = X25519Identity.generate()
    added = envelope.rekey(header, key, add=(ident.recipient,))
    assert kinds(added) == [PASSPHRASE] * 4 + [X25519] * 4  # the old passphrase slots, none added
    renewed = envelope.rekey(header, key, new_pw_key=b"n" * 32, new_kdf=KDF, new_kdf_salt=SALT,
                             epoch_key=EPOCH_KEY)
    assert kinds(renewed) == [PASSPHRASE] * 4  # one new slot and three new decoys
    assert open_pw(renewed, pw_key=b"n" * 32) == key


def test_rekey_draws_the_new_passphrase_salt_from_its_random_source() -> None:
    header, key = seal_pw(use_decoys=False)
    renewed = envelope.rekey(header, key, new_pw_key=b"n" * 32, new_kdf=KDF, new_kdf_salt=SALT,
                             use_decoys=False, rand=lambda n: b"\x07" * n)
    (stanza,) = renewed.stanzas
    assert stanza.body[:SALT_SIZE] == b"\x07" * SALT_SIZE


def test_rekey_default_epoch_key_is_empty() -> None:
    header, key = seal_pw(use_decoys=False)
    renewed = envelope.rekey(header, key, new_pw_key=b"n" * 32, new_kdf=KDF, new_kdf_salt=SALT)
    assert open_pw(renewed, pw_key=b"n" * 32, epoch_key=b"") == key


def test_rekey_refusals_name_the_recipient_by_its_first_forty_characters() -> None:
    ident, other = X25519Identity.generate(), X25519Identity.generate()
    header, key = seal_pw(recipients=(ident.recipient,))
    text = other.recipient.to_string()[:40]
    with pytest.raises(ParameterError, match=rf"^{re.escape(text)}… is not a recipient of this file$"):
        envelope.rekey(header, key, remove=(other.recipient,))
    text = ident.recipient.to_string()[:40]
    with pytest.raises(ParameterError, match=rf"^{re.escape(text)}… is already a recipient of this file$"):
        envelope.rekey(header, key, add=(ident.recipient,))
    only, key = seal_pw(recipients=(ident.recipient,), pw_keys=(), kdf=None)
    with pytest.raises(ParameterError, match=r"^re-keying would leave no recipient and no passphrase: "
                                             r"nobody could open the file$"):
        envelope.rekey(only, key, remove=(ident.recipient,))
