"""SFrameContext: RFC 9605 frames whose (key, nonce) pairs can never repeat within a process.

Keys are held per KID, each marked for protecting or for unprotecting, never both (§4.4.1).
Counters: a protect KID's next CTR is reserved under a lock before sealing and remembered for
the life of the context, even after the key is removed, so adding that KID again continues
where it stopped; the counter is refused past ``2**64 - 1``.  A forked child cannot protect
with a key its parent held (both would count from the same CTR) except a session's own key,
which it redraws.  Replay (left to the application by §9.3 of the RFC) is refused by default with
a window per KID (:class:`stc.p2p.replay.Window`, the RFC 6479 bitmap).
"""

from __future__ import annotations

import hmac
import secrets
import threading
from typing import Any, Literal

from ...crypto import forksafe as _forksafe
from ...errors import FormatError, IntegrityError, ParameterError, ReplayError, StateError, UnknownKeyError
from ..replay import Window
from .header import MAX_VALUE, field, parse
from .kids import SenderKeyFamily, SharedKeyFamily, mls_kid, sender_kid
from .suites import MAX_FRAME, PreparedKey, SFrameSuite, get_suite, ratchet_base_key

Usage = Literal["protect", "unprotect"]
Family = SharedKeyFamily | SenderKeyFamily
#: Default replay window per KID, in frames (RFC 3711's default is 64; video reorders more).
DEFAULT_REPLAY_WINDOW = 1024
MAX_REPLAY_WINDOW = 1 << 16
_STATS = ("protected", "unprotected", "replays", "forged", "malformed", "unknown_kid")


class _Key:
    """One KID's key: what it is for, and its replay window (unprotect) or whether it may seal
    (protect, with the KID's part of the header ready: config bits and bytes)."""

    __slots__ = ("family", "kid_bits", "kid_bytes", "prepared", "sealable", "usage", "window")

    def __init__(self, kid: int, prepared: PreparedKey, usage: Usage, window: int = 0,
                 family: SharedKeyFamily | None = None) -> None:
        self.prepared, self.usage, self.family, self.sealable = prepared, usage, family, True
        self.window = Window(window) if usage == "unprotect" and window else None
        kid_field, self.kid_bytes = field(kid)
        self.kid_bits = kid_field << 4


def _bytes(name: str, value: object) -> bytes:
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise ParameterError(f"{name} must be bytes")
    return bytes(value)


def _usage(usage: object) -> Usage:
    if usage == "protect":
        return "protect"
    if usage == "unprotect":
        return "unprotect"
    raise ParameterError(f"usage must be 'protect' or 'unprotect'; got {usage!r}")


class SFrameContext:
    """Protect and unprotect SFrame (RFC 9605) frames with keys held per KID.

    ``suite`` is a registry value (1-8) or an RFC name such as ``"AES_128_GCM_SHA256_128"``.
    ``replay_window`` frames are remembered per KID (0 turns replay checking off for
    applications that do their own).  Thread-safe; see the module docstring for fork.
    """

    def __init__(self, suite: SFrameSuite | int | str, *, replay_window: int = DEFAULT_REPLAY_WINDOW) -> None:
        if isinstance(replay_window, bool) or not isinstance(replay_window, int) \
                or not 0 <= replay_window <= MAX_REPLAY_WINDOW:
            raise ParameterError(f"replay_window must be an integer in [0, {MAX_REPLAY_WINDOW}]")
        self.suite = get_suite(suite)
        self.replay_window = replay_window
        self._keys: dict[int, _Key] = {}
        self._families: list[Family] = []
        self._next_ctr: dict[int, int] = {}  # every KID ever protected with: its next CTR
        self._inherited: set[int] = set()  # protect KIDs of the parent, in a forked child
        self._senders: dict[int, tuple[int, int, int, bytes]] = {}  # kid -> (generation, step, R, base)
        self._session: tuple[int, bytes] | None = None  # (our role bit, our base key), for fork
        #: Our KID in a context made by :meth:`stc.StreamingContext.sframe_context` (else None);
        #: a forked child gets a new one.
        self.session_kid: int | None = None
        self._lock = threading.Lock()
        self._stats = dict.fromkeys(_STATS, 0)
        _forksafe.register(self)

    def __repr__(self) -> str:
        return f"SFrameContext(suite={self.suite.name}, keys={len(self._keys)})"

    def __reduce__(self) -> str | tuple[Any, ...]:
        raise ParameterError("an SFrameContext holds keys and counters; it cannot be pickled or copied")

    @property
    def stats(self) -> dict[str, int]:
        """Counts: frames ``protected`` and ``unprotected``, and frames refused as ``replays``,
        ``forged`` (tag failed), ``malformed`` (header) or ``unknown_kid``."""
        with self._lock:
            return dict(self._stats)

    # ---- keys --------------------------------------------------------------------------------
    def add_key(self, kid: int, base_key: bytes, usage: Usage = "protect") -> None:
        """Hold ``base_key`` for ``kid``, to protect with or to unprotect with (not both)."""
        entry = _Key(kid, PreparedKey(self.suite, kid, _bytes("base_key", base_key)), _usage(usage), self.replay_window)
        with self._lock:
            self._insert(kid, entry)

    def _insert(self, kid: int, entry: _Key) -> None:
        if kid in self._keys:
            raise ParameterError(f"KID {kid} already has a key; remove it first")
        if entry.usage == "protect" and kid in self._inherited:
            raise StateError(f"KID {kid} was protecting in the parent of this forked process; "
                             "protect with a new KID (the parent's counter goes on)")
        self._keys[kid] = entry

    def remove_key(self, kid: int) -> None:
        """Forget the key of ``kid`` (its counter is remembered); UnknownKeyError if none is held."""
        with self._lock:
            if self._keys.pop(kid, None) is None:
                raise UnknownKeyError(f"no SFrame key is held for KID {kid}")
            self._senders.pop(kid, None)

    def add_sender_key(self, generation: int, base_key: bytes, usage: Usage = "protect", *,
                       ratchet_bits: int = 4) -> int:
        """A §5.1 sender key of ``generation`` at ratchet step 0; returns its KID.

        To protect, advance it with :meth:`ratchet`.  To unprotect, later steps of this
        generation are followed as frames under them arrive (at most ``2**ratchet_bits - 1``
        steps ahead of the newest authenticated one; ``ratchet_bits`` <= 8).
        """
        kid = sender_kid(generation, 0, ratchet_bits)
        base = _bytes("base_key", base_key)
        if _usage(usage) == "protect":
            self.add_key(kid, base)
            with self._lock:
                self._senders[kid] = (generation, 0, ratchet_bits, base)
        else:
            family = SenderKeyFamily(self.suite, generation, base, ratchet_bits)
            entry = _Key(kid, PreparedKey(self.suite, kid, base), "unprotect", self.replay_window)
            with self._lock:
                self._insert(kid, entry)
                self._families.append(family)
        return kid

    def ratchet(self, kid: int) -> int:
        """Advance the sender key protecting under ``kid`` one step (§5.1); returns the new KID.

        The old key is removed, so its frames can no longer be made; receivers follow the new
        KID by themselves."""
        with self._lock:
            if kid not in self._senders:
                raise ParameterError(f"KID {kid} is not a sender key added with add_sender_key(usage='protect')")
            if not self._keys[kid].sealable:
                raise StateError(f"KID {kid} was inherited through fork; the parent ratchets it, "
                                 "so this process must use a sender key of its own")
            generation, step, bits, base = self._senders.pop(kid)
            del self._keys[kid]
        new_base = ratchet_base_key(self.suite, base)
        new_kid = sender_kid(generation, step + 1, bits)
        self.add_key(new_kid, new_base)
        with self._lock:
            self._senders[new_kid] = (generation, step + 1, bits, new_base)
        return new_kid

    def add_mls_epoch(self, epoch: int, base_key: bytes, *, index_bits: int, epoch_bits: int,
                      sender_index: int | None = None, context: int = 0) -> int | None:
        """Hold an MLS epoch's base key (§5.2, ``MLS-Exporter("SFrame 1.0 Base Key", "", Nk)``).

        Frames of any member of this epoch unprotect; an earlier epoch with the same low
        ``epoch_bits`` is removed, as the RFC requires.  With ``sender_index``, our own KID for
        ``context`` is added for protecting and returned.
        """
        own = None if sender_index is None else \
            mls_kid(context, sender_index, epoch, index_bits=index_bits, epoch_bits=epoch_bits)
        mask = (1 << epoch_bits) - 1
        family = SharedKeyFamily(mask, epoch & mask, _bytes("base_key", base_key))
        with self._lock:
            for old in [f for f in self._families if isinstance(f, SharedKeyFamily)
                        and (f.mask, f.value) == (mask, family.value)]:
                self._drop_family(old)
            if own is not None:
                self._keys.pop(own, None)
                self._insert(own, _Key(own, PreparedKey(self.suite, own, family.base_key), "protect"))
            self._families.append(family)
        return own

    def _drop_family(self, family: Family) -> None:
        self._families.remove(family)
        for kid in [k for k, e in self._keys.items() if e.family is family]:
            del self._keys[kid]

    def _add_session(self, own_bit: int, own_base: bytes, peer_bit: int, peer_base: bytes) -> int:
        """Keys of one direction each, as a session exports them: ours under a random KID whose top
        bit is our role, the peer's for any KID with its role bit.  Returns our KID."""
        with self._lock:
            self._session = (own_bit, own_base)
            self._families.append(SharedKeyFamily(1 << 63, peer_bit << 63, peer_base))
            return self._new_session_kid()

    def _new_session_kid(self) -> int:
        assert self._session is not None
        bit, base = self._session
        kid = (bit << 63) | secrets.randbits(63)
        self._insert(kid, _Key(kid, PreparedKey(self.suite, kid, base), "protect"))
        self.session_kid = kid
        return kid

    def _after_fork_in_child(self) -> None:
        """The parent goes on counting: the child may not protect under any KID it inherited."""
        self._lock = threading.Lock()
        self._inherited |= set(self._next_ctr) | {k for k, e in self._keys.items() if e.usage == "protect"}
        for kid, entry in list(self._keys.items()):
            if entry.usage == "protect":
                entry.sealable = False
                if kid == self.session_kid:
                    del self._keys[kid]
                    self._new_session_kid()

    # ---- frames ------------------------------------------------------------------------------
    def protect(self, kid: int, plaintext: bytes, metadata: bytes = b"") -> bytes:
        """One SFrame ciphertext (header, ciphertext, tag) under ``kid``'s next counter."""
        if type(plaintext) is not bytes:
            plaintext = _bytes("plaintext", plaintext)
        if type(metadata) is not bytes:
            metadata = _bytes("metadata", metadata)
        if len(plaintext) > MAX_FRAME:
            raise ParameterError(f"an SFrame plaintext is at most {MAX_FRAME} bytes")
        with self._lock:
            entry = self._keys.get(kid)
            if entry is None or entry.usage != "protect" or not entry.sealable:
                raise self._refusal(kid, entry)
            ctr = self._next_ctr.get(kid, 0)
            if ctr > MAX_VALUE:
                raise StateError(f"KID {kid} has used all 2**64 counters; protect with a new key")
            self._next_ctr[kid] = ctr + 1
            self._stats["protected"] += 1
        if ctr < 8:  # the header of §4.3, written out: this runs once per frame
            header = bytes((entry.kid_bits | ctr,)) + entry.kid_bytes
        else:
            size = (ctr.bit_length() + 7) >> 3
            header = bytes((entry.kid_bits | 7 + size,)) + entry.kid_bytes + ctr.to_bytes(size, "big")
        prepared = entry.prepared
        if prepared.gcm is not None:
            return header + prepared.gcm.encrypt((prepared.salt ^ ctr).to_bytes(12, "big"), plaintext,
                                                 header + metadata)
        return header + prepared.seal(ctr, header + metadata, plaintext)

    @staticmethod
    def _refusal(kid: int, entry: _Key | None) -> Exception:
        if entry is None:
            return UnknownKeyError(f"no SFrame key is held for KID {kid}")
        if entry.usage != "protect":
            return ParameterError(f"KID {kid} is held for unprotecting; a key is used one way only")
        return StateError(f"KID {kid} was inherited through fork; protect with a new KID")

    def unprotect(self, ciphertext: bytes, metadata: bytes = b"") -> bytes:
        """The plaintext of one SFrame ciphertext; an ``stc.errors`` class if it is malformed
        (FormatError), names no key (UnknownKeyError), fails its tag (IntegrityError) or was
        seen before (ReplayError)."""
        if type(ciphertext) is not bytes:
            ciphertext = _bytes("ciphertext", ciphertext)
        if type(metadata) is not bytes:
            metadata = _bytes("metadata", metadata)
        try:
            kid, ctr, size = parse(ciphertext)
        except FormatError:
            self._count("malformed")
            raise
        entry = self._keys.get(kid)  # one dict read (atomic); the lock below checks it again
        proposal = None
        if entry is None:
            with self._lock:
                entry, proposal = None, self._propose(kid)
            if proposal is None:
                self._count("unknown_kid")
                raise UnknownKeyError(f"no SFrame key is held for KID {kid}")
            prepared = PreparedKey(self.suite, kid, proposal[1])
        elif entry.usage != "unprotect":
            raise ParameterError(f"KID {kid} is one of our protect keys (a reflected frame?); "
                                 "a key is used one way only")
        else:
            prepared = entry.prepared
            if entry.window is not None and ctr <= entry.window.highest:  # a replay costs no decryption
                with self._lock:
                    self._check_window(entry.window, ctr)
        try:
            plaintext = prepared.open(ctr, ciphertext[:size] + metadata, ciphertext[size:])
        except IntegrityError:
            self._count("forged")
            raise
        with self._lock:
            if proposal is not None:
                entry = self._settle(kid, prepared, proposal)
            elif self._keys.get(kid) is not entry:
                raise UnknownKeyError(f"the key of KID {kid} was removed while the frame was being opened")
            window = entry.window  # type: ignore[union-attr]
            if window is not None:
                if ctr <= window.highest:
                    self._check_window(window, ctr)
                window.commit(ctr)
            self._stats["unprotected"] += 1
        return plaintext

    def _propose(self, kid: int) -> tuple[Family, bytes, int] | None:
        for family in self._families:
            found = family.propose(kid)
            if found is not None:
                return family, found[0], found[1]
        return None

    def _check_window(self, window: Window, ctr: int) -> None:
        try:
            window.check(ctr)
        except ReplayError:
            self._stats["replays"] += 1
            raise

    def _settle(self, kid: int, prepared: PreparedKey, proposal: tuple[Family, bytes, int]) -> _Key:
        """The key a family proposed and a frame authenticated under, now stored (with the keys of
        any ratchet steps passed over), or the same key another thread stored meanwhile;
        UnknownKeyError if the family was removed or moved on while the frame was being opened."""
        family, base, steps = proposal
        current = self._keys.get(kid)
        if current is not None:
            if current.prepared.same_as(prepared):
                return current
            raise UnknownKeyError(f"the key of KID {kid} was replaced while the frame was being opened")
        again = family.propose(kid) if family in self._families else None
        if again is None or not hmac.compare_digest(again[0], base):
            raise UnknownKeyError(f"the key of KID {kid} was removed while the frame was being opened")
        held, gone = family.adopt(steps, base)
        for old in gone:
            self._keys.pop(old, None)
        for passed, key in held:
            self._keys[passed] = _Key(passed, PreparedKey(self.suite, passed, key), "unprotect", self.replay_window)
        new = self._keys[kid] = _Key(kid, prepared, "unprotect", self.replay_window,
                                     family if isinstance(family, SharedKeyFamily) else None)
        return new

    def _count(self, what: str) -> None:
        with self._lock:
            self._stats[what] += 1


__all__ = ["DEFAULT_REPLAY_WINDOW", "SFrameContext"]
