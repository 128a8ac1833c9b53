"""Reassembly of fragmented frames with bounded memory: a lost fragment loses its frame.

Each peer cuts its packets to its own ``datagram_size``, so a receiver takes pieces of any length
a sender may choose (:data:`MIN_PIECE` to :data:`MAX_PIECE` bytes), as long as every piece of a
frame but the last has one length and the last is no longer.  At most ``slots`` frames are in
reassembly at once (the oldest is dropped, and counted as lost, when a new one needs room), each
at most ``max_packet`` bytes (checked as soon as one full piece shows the length), so a receiver
holds at most about ``slots * (max_packet + 2 * MAX_PIECE)`` bytes of pieces whatever arrives.
Pieces are not authenticated here: a forged piece makes its frame fail authentication later,
which is counted as forged.
"""

from __future__ import annotations

from collections import OrderedDict

from .wire import FRAGMENT_HEADER, MAX_DATAGRAM, MIN_DATAGRAM, Fragment

#: The shortest piece that is not a frame's last (the smallest ``datagram_size`` less the header).
MIN_PIECE = MIN_DATAGRAM - FRAGMENT_HEADER
#: The longest piece (the largest UDP payload less the header).
MAX_PIECE = MAX_DATAGRAM - FRAGMENT_HEADER


class _Frame:
    """A frame in reassembly: how many pieces, their length (0 until a piece not the last shows
    it), and the pieces so far."""

    __slots__ = ("count", "pieces", "size")

    def __init__(self, count: int) -> None:
        self.count, self.size = count, 0
        self.pieces: dict[int, bytes] = {}


class Reassembler:
    """Collects the pieces of each frame number; returns a whole packet once all arrived."""

    def __init__(self, max_packet: int, *, min_piece: int = MIN_PIECE, max_piece: int = MAX_PIECE,
                 slots: int = 16) -> None:
        self.max_packet, self.min_piece, self.max_piece, self.slots = max_packet, min_piece, max_piece, slots
        self.max_count = -(-max_packet // min_piece)
        self._frames: OrderedDict[int, _Frame] = OrderedDict()
        self._done: set[int] = set()
        self.lost = self.malformed = 0

    def add(self, fragment: Fragment) -> bytes | None:
        """The whole packet when ``fragment`` was its last missing piece, else None."""
        return self.add_parts(fragment.frame, fragment.number, fragment.count, fragment.body)

    def add_parts(self, frame: int, number: int, count: int, body: bytes) -> bytes | None:
        """:meth:`add` of a fragment's parts (:func:`~.wire.parse_fragment`)."""
        size, last = len(body), number == count - 1
        if count > self.max_count or size > self.max_piece or (not last and size < self.min_piece):
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
            entry = self._frames[frame] = _Frame(count)
        if count != entry.count or not self._fits(entry, size, last):
            self.malformed += 1
            return None
        entry.pieces.setdefault(number, body)
        if len(entry.pieces) < count:
            return None
        del self._frames[frame]
        self._forget(frame)
        return b"".join(entry.pieces[n] for n in range(count))

    def _fits(self, entry: _Frame, size: int, last: bool) -> bool:
        """A piece of ``size`` bytes agrees with the frame's others, and the frame with the limit."""
        if last:
            return entry.size == 0 or size <= entry.size
        if entry.size == 0:
            last_piece = entry.pieces.get(entry.count - 1)
            if (entry.count - 1) * size >= self.max_packet or (last_piece is not None and len(last_piece) > size):
                return False  # with its last piece (at least a byte), over the limit; or a last piece too long
            entry.size = size
        return size == entry.size

    def _forget(self, frame: int) -> None:
        self._done.add(frame)
        if len(self._done) > 4 * self.slots:  # bounded: only recent frame numbers are remembered
            self._done = set(sorted(self._done)[-2 * self.slots:])

    def pending(self) -> int:
        """Frames now in reassembly."""
        return len(self._frames)
