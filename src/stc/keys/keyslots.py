"""Key slots of an STCContext: cached Argon2id password keys, new version-2 headers, and
opening headers of both versions (floors first, then the context flag, then the keys).

A base class of :class:`~stc.context.STCContext`; it uses the context's seed-derived
state (``cel``, ``_kdf``, ``_kdf_salt``, ``_rand``, ``_cache``, ``_lock``, ``_weak_ok``).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence

from ..crypto import cel, kdf
from ..crypto import encoding as _encoding
from ..crypto.encoding import ContextData, Password
from ..crypto.payload import payload_key
from ..crypto.suite import AEAD, Suite
from ..errors import (
    ContextMismatchError,
    FormatError,
    KDFLimitError,
    NoMatchingIdentityError,
    ParameterError,
    WrongPasswordError,
)
from ..formats.headers import Header, MessageHeader, Opener
from ..formats.v1 import Metadata
from ..formats.v2 import MAX_PASSPHRASE_STANZAS, HeaderV2
from . import envelope
from .recipients import Identity, Recipient, parse_identity, parse_recipients
from .v1_slots import open_slots, slot_kek

#: Version-1 key slots a reader tries by default (what the default decoys wrote: 4).
DEFAULT_V1_SLOTS = 4

_CACHE_ENTRIES = 32


def check_context_flag(meta: MessageHeader, context_data: ContextData) -> None:
    """Refuse early, with a precise message, when context data is missing or unexpected."""
    if meta.context_bound and context_data is None:
        raise ContextMismatchError("this data was encrypted with context data; pass the same context_data")
    if not meta.context_bound and context_data is not None:
        raise ContextMismatchError("this data was encrypted without context data; pass context_data=None")


class KeySlots:
    """Password keys and header slots; see the module docstring for what it relies on."""

    cel: cel.CEL
    suite: Suite
    _kdf: kdf.KdfParams
    _kdf_salt: bytes
    _rand: Callable[[int], bytes]
    _cache: OrderedDict[bytes, bytes]
    _cache_secret: bytes
    _lock: threading.Lock
    _weak_ok: bool
    _max_kdf: kdf.KdfCeiling
    _min_version: int
    _v1_max_slots: int

    def _check_health(self) -> None:
        """Refuse to encrypt below a minimum entropy health (see STCContext)."""

    # ---- password keys -------------------------------------------------------------
    def _password_tag(self, password: bytes, salt: bytes, params: kdf.KdfParams) -> bytes:
        """A per-context name for (password, salt, cost): keyed BLAKE2b (RFC 7693) under a random
        key, so no fast hash of the password is kept; in memory only (about 3x cheaper than HMAC)."""
        return hashlib.blake2b(
            b"%d.%d.%d." % (params.memory_kib, params.passes, params.lanes) + salt + password,
            key=self._cache_secret, digest_size=32,
        ).digest()

    def _password_key(self, password: bytes, salt: bytes, params: kdf.KdfParams) -> bytes:
        """Argon2id, memoised per (password, salt, cost) under a per-context random key."""
        tag = self._password_tag(password, salt, params)
        with self._lock:
            key = self._cache.get(tag)
            if key is not None:
                self._cache.move_to_end(tag)
                return key
        key = kdf.argon2id(password, salt, params)  # outside our lock: it may take seconds
        with self._lock:
            self._cache[tag] = key
            self._cache.move_to_end(tag)
            if len(self._cache) > _CACHE_ENTRIES:
                self._cache.popitem(last=False)
        return key

    # ---- headers (shared by messages and files) ------------------------------------
    def _new_header(
        self,
        passwords: Sequence[Password],
        recipients: Iterable[Recipient | str],
        *,
        context_data: ContextData,
        use_decoys: bool,
        text: bool = False,
        chunk_size: int = 0,
        is_file: bool = False,
    ) -> tuple[HeaderV2, AEAD, bytes]:
        """A fresh version-2 header, the AEAD of its payload and the encoded context data."""
        encoded = [_encoding.encode_password(p) for p in passwords]
        if len(set(encoded)) != len(encoded):
            raise ParameterError("the same password was given twice")
        if len(encoded) > MAX_PASSPHRASE_STANZAS:
            raise ParameterError(f"at most {MAX_PASSPHRASE_STANZAS} passwords can unlock one message or file")
        if isinstance(recipients, (str, Recipient)):
            recipients = [recipients]
        parsed = parse_recipients(recipients)
        if not encoded and not parsed:
            raise ParameterError("give a password or at least one recipient")
        encoded_context = _encoding.encode_context(context_data)  # validated before any key work
        self._check_health()
        epoch, epoch_key = self.cel.current()
        header, file_key = envelope.seal(
            suite=self.suite, epoch=epoch, epoch_key=epoch_key, recipients=parsed,
            pw_keys=[self._password_key(p, self._kdf_salt, self._kdf) for p in encoded],
            kdf=self._kdf, kdf_salt=self._kdf_salt, use_decoys=use_decoys, text=text,
            context_bound=context_data is not None, chunk_size=chunk_size, is_file=is_file, rand=self._rand,
        )
        object.__setattr__(header, "_origin", self)  # in memory only: never pickled or written
        aead = header.suite.aead(envelope.payload_key(file_key, header, encoded_context))
        return header, aead, encoded_context

    def _check_cost(self, header: MessageHeader) -> None:
        """Refuse, before Argon2id runs, a header this reader does not process: version 1 when
        ``min_version`` is 2, more version-1 slots than ``v1_max_slots``, an Argon2id cost below
        its version's floor or above this reader's ceiling."""
        if isinstance(header, Metadata):
            if self._min_version > 1:
                raise FormatError("version-1 data is refused by this reader (min_version=2; CLI --min-version 2)")
            if len(header.slots) > self._v1_max_slots:
                raise KDFLimitError(
                    f"this version-1 header has {len(header.slots)} key slots; a reader tries at most "
                    f"{self._v1_max_slots}, since each slot of a crafted header tests one more password per "
                    f"attempt. For your own legacy data written with more passwords, allow it with "
                    f"v1_max_slots={len(header.slots)} (CLI --v1-max-slots {len(header.slots)})")
        cost = header.kdf
        if cost is None:
            return
        ceiling = self._max_kdf.widened_to(self._kdf)
        if not ceiling.allows(cost):
            wanted = kdf.KdfCeiling(cost.memory_kib, cost.passes)
            raise KDFLimitError(
                f"the header asks for Argon2id at {wanted.describe()}, above this reader's limit of "
                f"{ceiling.describe()}: refused before running it, since a crafted header could make each "
                f"attempt cost seconds and a GiB. If you wrote it with stronger settings, allow it with "
                f"max_kdf={wanted.option()!r} (CLI --max-kdf {wanted.option()})")
        if self._weak_ok:
            return
        floor = kdf.V1_DECRYPT_FLOOR if isinstance(header, Metadata) else kdf.ENCRYPT_FLOOR
        if not cost.meets(floor):
            raise KDFLimitError(
                f"the header asks for Argon2id at {cost.memory_kib} KiB, {cost.passes} pass(es) and "
                f"{cost.lanes} lanes, below the minimum of {floor.describe()} for version {header.version}: "
                f"refused, since such a header makes password guessing cheap"
            )

    def _file_key(
        self, header: HeaderV2, password: Password | None, identities: Sequence[Identity]
    ) -> tuple[bytes, int]:
        """Open a version-2 header: (file key, index of the stanza that opened)."""
        if password is not None:
            pw = _encoding.encode_password(password)
            return envelope.open_file_key(
                header, identities=identities, password_key=lambda salt, cost: self._password_key(pw, salt, cost),
                epoch_key=lambda: self.cel.key_for(header.epoch))
        return envelope.open_file_key(header, identities=identities, password_key=None,
                                      epoch_key=lambda: self.cel.key_for(header.epoch))

    def _open(
        self,
        header: Header,
        password: Password | None,
        identities: Iterable[Identity | str],
        context_data: ContextData,
    ) -> tuple[int, AEAD]:
        """Open a header of either version: (index of the key slot that opened, payload AEAD).

        Checks, in order: the Argon2id floor (KDFLimitError), the context-data flag
        (ContextMismatchError), then the identities and the password.
        """
        ids = [parse_identity(i) for i in ([identities] if isinstance(identities, (str, Identity)) else identities)]
        if password is None and not ids:
            raise ParameterError("give the password or an identity")
        self._check_cost(header)
        check_context_flag(header, context_data)
        encoded_context = _encoding.encode_context(context_data)
        if isinstance(header, Metadata):
            if password is None:
                raise NoMatchingIdentityError("this is version-1 data, which only a password opens")
            pw = _encoding.encode_password(password)
            kek = slot_kek(self._password_key(pw, header.kdf_salt, header.kdf), self.cel.key_for(header.epoch),
                           header.prefix)
            opened = open_slots(header.suite, kek, header.slots)
            if opened is None:
                raise WrongPasswordError("wrong password (or wrong seed): no key slot opened")
            slot, dek = opened
            return slot, header.suite.aead(payload_key(dek, header, encoded_context))
        file_key, slot = self._file_key(header, password, ids)
        return slot, header.suite.aead(envelope.payload_key(file_key, header, encoded_context))

    def _opener(self, password: Password | None, identities: Iterable[Identity | str],
                context_data: ContextData) -> Opener:
        return lambda header: self._open(header, password, identities, context_data)

    def _key_of(self, password: Password | None,
                identities: Iterable[Identity | str]) -> Callable[[HeaderV2], bytes]:
        """Opens a version-2 header with these credentials: its file key, after the cost checks
        and the header MAC (for re-key journals, which must prove they belong to the file)."""
        ids = [parse_identity(i) for i in ([identities] if isinstance(identities, (str, Identity)) else identities)]

        def key_of(header: HeaderV2) -> bytes:
            self._check_cost(header)
            return self._file_key(header, password, ids)[0]

        return key_of
