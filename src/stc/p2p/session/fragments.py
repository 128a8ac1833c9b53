"""Reassembly of fragmented frames with bounded memory: a lost fragment loses its frame.

At most ``slots`` frames are in reassembly at once (the oldest is dropped, and counted as lost,
when a new one needs room), each at most ``max_packet`` bytes, so a receiver holds at most
``slots * max_packet`` bytes of pieces whatever arrives.  Pieces are not authenticated here: a
forged piece makes its frame fail authentication later, which is counted as forged.
"""

from __future__ import annotations

from collections import OrderedDict

from .wire import Fragment


class Reassembler:
    """Collects the pieces of each frame number; returns a whole packet once all arrived."""

    def __init__(self, max_packet: int, room: int, slots: int = 16) -> None:
        self.max_packet, self.room, self.slots = max_packet, room, slots
        self.max_count = -(-max_packet // room)
        self._frames: OrderedDict[int, tuple[int, dict[int, bytes]]] = OrderedDict()
        self._done: set[int] = set()
        self.lost = self.malformed = 0

    def add(self, fragment: Fragment) -> bytes | None:
        """The whole packet when ``fragment`` was its last missing piece, else None."""
        return self.add_parts(fragment.frame, fragment.number, fragment.count, fragment.body)

    def add_parts(self, frame: int, number: int, count: int, body: bytes) -> bytes | None:
        """:meth:`add` of a fragment's parts (:func:`~.wire.parse_fragment`)."""
        if count > self.max_count or len(body) > self.room or (number < count - 1 and len(body) != self.room):
            self.malformed += 1
            return None
        if count == 1:
            return body
        if frame in self._done:
            return None  # a duplicate piece of a frame already delivered or given up
        entry = self._frames.get(frame)
        if entry is None:
            while len(self._frames) >= self.slots:
                old, _ = self._frames.popitem(last=False)
                self._forget(old)
                self.lost += 1
            entry = self._frames[frame] = (count, {})
        expected, pieces = entry
        if count != expected:
            self.malformed += 1
            return None
        pieces.setdefault(number, body)
        if len(pieces) < count:
            return None
        del self._frames[frame]
        self._forget(frame)
        return b"".join(pieces[n] for n in range(count))

    def _forget(self, frame: int) -> None:
        self._done.add(frame)
        if len(self._done) > 4 * self.slots:  # bounded: only recent frame numbers are remembered
            self._done = set(sorted(self._done)[-2 * self.slots:])

    def pending(self) -> int:
        """Frames now in reassembly."""
        return len(self._frames)
