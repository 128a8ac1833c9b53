"""Receiver state for anti-replay: per-epoch sliding windows and the record of forgotten senders.

Nothing here is secret and nothing is stored before a frame authenticated; the caller
holds the receiver's lock around every check-and-commit, so a frame is accepted once.
"""

from __future__ import annotations

from ..errors import ReplayError

#: Most senders tracked at once per receiver (the least recently heard is retired first).
MAX_SENDERS = 256
#: Most retired senders remembered (about 120 bytes each, so at most about 2 MiB); past it,
#: new senders are refused: the session is full and must be renewed.
MAX_RETIRED = 16384


def tracked_over(count: int) -> bool:
    """True when ``count`` tracked senders is more than a receiver keeps (one must be forgotten)."""
    return count > MAX_SENDERS


class Window:
    """Anti-replay bitmap (RFC 6479 style): bit i set = sequence (highest - i) seen."""

    __slots__ = ("bitmap", "highest", "mask", "size")

    def __init__(self, size: int) -> None:
        self.size, self.highest, self.bitmap, self.mask = size, -1, 0, (1 << size) - 1

    def check(self, seq: int) -> None:
        """ReplayError if ``seq`` was seen or is older than the window (``seq <= highest - size``)."""
        if seq > self.highest:
            return
        offset = self.highest - seq
        if offset >= self.size:
            raise ReplayError(f"frame {seq} is older than the {self.size}-frame replay window")
        if (self.bitmap >> offset) & 1:
            raise ReplayError(f"frame {seq} was already received (duplicate or replay)")

    def commit(self, seq: int) -> None:
        """Mark ``seq`` seen (after :meth:`check` passed and the frame authenticated)."""
        if seq > self.highest:
            shift = seq - self.highest
            self.bitmap = ((self.bitmap << shift) | 1) & self.mask if shift < self.size else 1
            self.highest = seq
        else:
            self.bitmap |= 1 << (self.highest - seq)


class RetiredSenders:
    """Senders a receiver forgot, each with the newest epoch it had accepted from them.

    A forgotten sender is heard again only from a later epoch, so none of its frames that
    were accepted before can be accepted twice, whatever its old windows held.
    """

    __slots__ = ("_newest",)

    def __init__(self) -> None:
        self._newest: dict[bytes, int] = {}

    def __len__(self) -> int:
        return len(self._newest)

    def floor(self, sender_id: bytes) -> int:
        """The least epoch this sender may use now (0 if never retired)."""
        newest = self._newest.get(sender_id)
        return 0 if newest is None else newest + 1

    def retire(self, sender_id: bytes, newest_epoch: int) -> None:
        """Remember a sender being forgotten."""
        self._newest[sender_id] = newest_epoch

    def readmit(self, sender_id: bytes) -> None:
        """The sender is tracked again (its floor now lives in its peer record)."""
        self._newest.pop(sender_id, None)

    @property
    def full(self) -> bool:
        """True when no further sender can be retired (so no new one can be admitted)."""
        return len(self._newest) >= MAX_RETIRED

    def refusal(self) -> str:
        """Why a new sender is refused when the record is full."""
        return f"this session has seen too many senders ({MAX_RETIRED} forgotten); start a new session"
