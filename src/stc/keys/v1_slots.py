"""Version-1 key slots (read only; version 2 is :mod:`stc.keys.envelope`): the data key wrapped
under each password's key, hidden among decoys.

A slot is ``AEAD(kek, nonce=0, dek)`` (48 bytes).  ``kek`` is derived from the
Argon2id output, the epoch key and the header prefix (which holds a fresh
16-byte nonce), so each kek seals exactly one slot.  Decoy slots are uniform
random bytes of the same length; without the password nobody can tell them
from the real one.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.exceptions import InvalidTag

from ..crypto.kdf import hkdf
from ..crypto.suite import NONCE_SIZE, Suite

_ZERO_NONCE = bytes(NONCE_SIZE)


def slot_kek(password_key: bytes, epoch_key: bytes, header_prefix: bytes) -> bytes:
    """Key-encryption key of one password for one header."""
    return hkdf(password_key + epoch_key, b"slot kek" + header_prefix)


def wrap_key(suite: Suite, kek: bytes, dek: bytes) -> bytes:
    """One real version-1 slot, as release 0.1 sealed it (the inverse of :func:`open_slots`)."""
    return suite.aead(kek).encrypt(_ZERO_NONCE, dek, None)


def open_slots(suite: Suite, kek: bytes, slots: Sequence[bytes]) -> tuple[int, bytes] | None:
    """Try every slot with one kek; return (index, dek) of the first that opens.

    Every slot is tried even after one opened, so the work (one AEAD open per slot, all
    but one failing when the key is right) does not depend on where the real slot sits.
    """
    aead = suite.aead(kek)
    found: tuple[int, bytes] | None = None
    for index, slot in enumerate(slots):
        try:
            dek = aead.decrypt(_ZERO_NONCE, slot, None)
        except InvalidTag:
            continue
        if found is None:
            found = (index, dek)
    return found
