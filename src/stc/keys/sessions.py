"""Version-3 messages: one password, sealed under a per-session key with a counter nonce
(docs/design.md, "Message sessions"; the bytes are in docs/format.md §6a).

A context sealing its first message to a password starts a session: 16 random bytes name it,
and ``HKDF(pw_key || epoch_key, "v3 session" || suite || epoch || KDF part || session id)``
gives 64 bytes, the AEAD key and a 32-byte key commitment.  Message ``i`` of the session is
sealed with nonce ``0^4 || u64(i)``; the counter is reserved under a lock, a session ends
after ``MAX_MESSAGES``, and a forked child drops its parent's sessions, so no (key, nonce)
pair repeats.  A reader derives the same keys once per session it sees (an LRU cache).
"""

from __future__ import annotations

import hmac
from collections import OrderedDict
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag

from ..crypto import encoding as _encoding
from ..crypto.kdf import KdfParams, hkdf, u32
from ..crypto.suite import AEAD, TAG_SIZE, Suite
from ..errors import IntegrityError, NoMatchingIdentityError, ParameterError, WrongPasswordError
from ..formats.v3 import (
    COMMITMENT_SIZE,
    FLAG_CONTEXT,
    FLAG_TEXT,
    MAX_MESSAGES,
    SESSION_ID_SIZE,
    HeaderV3,
    pack,
)
from .keyslots import KeySlots, check_context_flag

#: Sessions a reader keeps keys for (least recently used forgotten first).
_OPEN_CACHE = 64


def session_keys(pw_key: bytes, epoch_key: bytes, suite: Suite, epoch: int, kdf: KdfParams, kdf_salt: bytes,
                 session_id: bytes) -> tuple[bytes, bytes]:
    """(AEAD key, key commitment) of one session; the commitment is what a header carries."""
    kdf_part = bytes([kdf.passes]) + u32(kdf.memory_kib) + bytes([kdf.lanes]) + kdf_salt
    okm = hkdf(pw_key + epoch_key, b"v3 session" + bytes([int(suite)]) + u32(epoch) + kdf_part + session_id,
               length=32 + COMMITMENT_SIZE)
    return okm[:32], okm[32:]


def message_nonce(counter: int) -> bytes:
    """The AEAD nonce of message ``counter`` of a session."""
    return b"\x00\x00\x00\x00" + counter.to_bytes(8, "big")


@dataclass
class _Session:
    """A sending session: its key, what its headers repeat, and the next counter."""

    aead: AEAD
    suite: Suite
    epoch: int
    session_id: bytes
    commitment: bytes
    next: int = 0


class SessionMessages(KeySlots):
    """Sealing and opening version-3 messages; a base of :class:`~stc.context.STCContext`
    (it relies on the state listed in :class:`~stc.keys.keyslots.KeySlots`)."""

    _sessions: dict[tuple[bytes, int, Suite], _Session]
    _open_sessions: OrderedDict[tuple[bytes, int, Suite, bytes], tuple[AEAD, bytes]]

    def _init_sessions(self) -> None:
        self._sessions = {}
        self._open_sessions = OrderedDict()

    def _forget_sessions(self) -> None:
        """In a forked child: the parent goes on counting in its sessions, so start new ones."""
        self._init_sessions()

    def _reserve(self, password: bytes) -> tuple[_Session, int]:
        """This password's current session (started if needed) and a counter no one else gets."""
        tag = self._password_tag(password, self._kdf_salt, self._kdf)
        epoch, epoch_key = self.cel.current()
        key = (tag, epoch, self.suite)
        with self._lock:
            session = self._sessions.get(key)
            if session is not None and session.next < MAX_MESSAGES:
                counter = session.next
                session.next = counter + 1
                return session, counter
        pw_key = self._password_key(password, self._kdf_salt, self._kdf)
        session_id = self._rand(SESSION_ID_SIZE)
        if len(session_id) != SESSION_ID_SIZE:
            raise ParameterError("the random source returned too few bytes")
        aead_key, commitment = session_keys(pw_key, epoch_key, self.suite, epoch, self._kdf, self._kdf_salt,
                                            session_id)
        fresh = _Session(self.suite.aead(aead_key), self.suite, epoch, session_id, commitment, next=1)
        with self._lock:
            self._sessions[key] = fresh
        return fresh, 0

    def _seal_v3(self, payload: bytes, password: object, context_data: _encoding.ContextData,
                 text: bool) -> tuple[bytes, HeaderV3]:
        """Seal one message to one password (the caller checked that nothing else was asked)."""
        pw = _encoding.encode_password(password)  # type: ignore[arg-type]
        encoded_context = _encoding.encode_context(context_data)
        self._check_health()
        session, counter = self._reserve(pw)
        flags = (FLAG_TEXT if text else 0) | (FLAG_CONTEXT if context_data is not None else 0)
        wire = pack(session.suite, flags, session.epoch, self._kdf, self._kdf_salt, session.session_id, counter,
                    session.commitment)
        ciphertext = session.aead.encrypt(message_nonce(counter), payload, wire + encoded_context)
        header = HeaderV3.sealed(wire, session.suite, session.epoch, self._kdf, self._kdf_salt, session.session_id,
                                 counter, session.commitment, text, context_data is not None)
        self.cel.record(len(payload))
        return ciphertext, header

    def _open_v3(self, header: HeaderV3, ciphertext: bytes, password: object, has_identities: bool,
                 context_data: _encoding.ContextData) -> bytes:
        """Authenticate and open one version-3 message; the checks of docs/format.md §6a, in order."""
        self._check_cost(header)
        check_context_flag(header, context_data)
        if password is None:
            if has_identities:
                raise NoMatchingIdentityError("this message is sealed to a password only, which no identity opens")
            raise ParameterError("give the password")
        encoded_context = _encoding.encode_context(context_data)
        pw = _encoding.encode_password(password)  # type: ignore[arg-type]
        if len(ciphertext) < TAG_SIZE:
            raise IntegrityError(f"ciphertext is {len(ciphertext)} bytes, shorter than its tag")
        tag = self._password_tag(pw, header.kdf_salt, header.kdf)
        key = (tag, header.epoch, header.suite, header.session_id)
        with self._lock:
            known = self._open_sessions.get(key)
            if known is not None:
                self._open_sessions.move_to_end(key)
        if known is None:
            aead_key, commitment = session_keys(
                self._password_key(pw, header.kdf_salt, header.kdf), self.cel.key_for(header.epoch), header.suite,
                header.epoch, header.kdf, header.kdf_salt, header.session_id)
            known = (header.suite.aead(aead_key), commitment)
            if hmac.compare_digest(commitment, header.commitment):  # only keys that opened something are kept
                with self._lock:
                    self._open_sessions[key] = known
                    if len(self._open_sessions) > _OPEN_CACHE:
                        self._open_sessions.popitem(last=False)
        aead, commitment = known
        if not hmac.compare_digest(commitment, header.commitment):
            raise WrongPasswordError("wrong password (or wrong seed, or the header was modified)")
        try:
            return aead.decrypt(message_nonce(header.counter), ciphertext, header.to_bytes() + encoded_context)
        except InvalidTag:
            raise IntegrityError(
                "the key is right but the data did not authenticate: "
                "wrong context data, or the ciphertext or metadata was modified"
            ) from None
