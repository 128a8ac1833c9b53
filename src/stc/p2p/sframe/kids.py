"""Key management of RFC 9605 §5: KID layouts, and the key families a receiver resolves lazily.

A *family* stands for many KIDs that share one base key (or one ratchet), so a receiver need not
be told each KID in advance: the MLS scheme (§5.2, one base key per epoch, a KID per member and
context), the sender-key ratchet (§5.1, a generation and a ratchet step), and the two directions
of an STC session (:meth:`stc.StreamingContext.sframe_context`).  A family only *proposes* a key
for a KID; the context stores it once a frame under it authenticated, so a forged KID costs a few
HKDF calls and leaves no state.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...errors import ParameterError
from .header import MAX_VALUE
from .suites import SFrameSuite, ratchet_base_key

#: Most KIDs one family derives (a session, an MLS epoch); past it, its new KIDs are refused.
MAX_FAMILY_KIDS = 4096
#: Widest ratchet-step field of a sender-key KID: a frame may ask a receiver to ratchet
#: at most ``2**8 - 1`` steps ahead (that many HKDF calls) before it authenticates.
MAX_RATCHET_BITS = 8


def _check(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ParameterError(f"{name} must be an integer in [{low}, {high}]; got {value!r}")
    return value


def sender_kid(generation: int, step: int, ratchet_bits: int) -> int:
    """The KID of §5.1: ``generation << R | step mod 2**R`` (``R = ratchet_bits``)."""
    bits = _check("ratchet_bits", ratchet_bits, 1, MAX_RATCHET_BITS)
    _check("generation", generation, 0, MAX_VALUE >> bits)
    _check("step", step, 0, MAX_VALUE)
    return (generation << bits) | (step & ((1 << bits) - 1))


def mls_kid(context: int, sender_index: int, epoch: int, *, index_bits: int, epoch_bits: int) -> int:
    """The KID of §5.2: ``context << (S + E) | sender_index << E | epoch mod 2**E``."""
    s = _check("index_bits", index_bits, 0, 63)
    e = _check("epoch_bits", epoch_bits, 1, 64 - s)
    _check("sender_index", sender_index, 0, (1 << s) - 1)
    _check("context", context, 0, MAX_VALUE >> (s + e))
    _check("epoch", epoch, 0, MAX_VALUE)
    return (context << (s + e)) | (sender_index << e) | (epoch & ((1 << e) - 1))


@dataclass
class SharedKeyFamily:
    """KIDs with ``kid & mask == value`` share one base key (an MLS epoch, a session direction)."""

    mask: int
    value: int
    base_key: bytes
    derived: int = 0  # KIDs stored so far

    def propose(self, kid: int) -> tuple[bytes, int] | None:
        """(base key, ratchet steps = 0) for ``kid``, or None if it is not ours or we are full."""
        if kid & self.mask != self.value or self.derived >= MAX_FAMILY_KIDS:
            return None
        return self.base_key, 0

    def adopt(self, steps: int, base_key: bytes) -> tuple[list[tuple[int, bytes]], list[int]]:
        """A frame under a new KID authenticated and its key is stored: count it (no other key changes)."""
        self.derived += 1
        return [], []


class SenderKeyFamily:
    """One sender's key generation under the §5.1 ratchet, as a receiver follows it.

    The ``2**R`` values of the step field are split in two halves: a KID up to ``2**(R-1)``
    steps ahead of the newest authenticated step proposes that step's key (the ratchet moves
    only once a frame under it authenticated); the other half names the ``2**(R-1)`` newest
    steps, whose keys the context holds for frames that arrive late.  So every KID has one
    meaning, and a frame can never make a receiver ratchet more than ``2**(R-1)`` steps.
    """

    def __init__(self, suite: SFrameSuite, generation: int, base_key: bytes, ratchet_bits: int) -> None:
        self.bits = _check("ratchet_bits", ratchet_bits, 1, MAX_RATCHET_BITS)
        self.generation = _check("generation", generation, 0, MAX_VALUE >> self.bits)
        self.suite, self.base_key, self.step = suite, base_key, 0
        self._mask, self._half = (1 << self.bits) - 1, 1 << (self.bits - 1)

    def _kid(self, step: int) -> int:
        return (self.generation << self.bits) | (step & self._mask)

    def _offset(self, kid: int) -> int | None:
        """Steps ``kid`` is ahead of the newest (0 for the newest), None for an earlier step or
        another generation."""
        if kid >> self.bits != self.generation:
            return None
        offset = (kid - self.step) & self._mask
        return offset if offset <= self._half else None

    def propose(self, kid: int) -> tuple[bytes, int] | None:
        """(base key, steps ahead) for the newest step or one ahead of it; None otherwise."""
        ahead = self._offset(kid)
        if ahead is None:
            return None
        key = self.base_key
        for _ in range(ahead):
            key = ratchet_base_key(self.suite, key)
        return key, ahead

    def adopt(self, steps: int, base_key: bytes) -> tuple[list[tuple[int, bytes]], list[int]]:
        """A frame ``steps`` ahead authenticated: the ratchet moves there.  Returns the (KID, base
        key) of each step passed over, to hold, and the KIDs of the steps that left the window of
        late frames, to drop (a jump is at most ``2**(R-1)`` steps, so every step passed over
        is still in the window)."""
        old, new = self.step, self.step + steps
        passed, key = [], self.base_key
        for step in range(old + 1, new):
            key = ratchet_base_key(self.suite, key)
            passed.append((self._kid(step), key))
        gone = [self._kid(step) for step in range(max(old - self._half + 1, 0), new - self._half + 1)]
        self.base_key, self.step = base_key, new
        return passed, gone
