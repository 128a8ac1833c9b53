"""The receiving half of :class:`~stc.p2p.StreamingContext`: a frame is authenticated, checked
against its sender's replay window and accepted at most once, also under threads.

The window bit is checked and set under one lock together with the sender's state, so two
threads given one frame accept it once; nothing about a sender is stored before one of its
frames authenticated (:mod:`.receiver` holds the table of senders).
"""

from __future__ import annotations

import struct
import threading
import time

from cryptography.exceptions import InvalidTag

from ..crypto.suite import TAG_SIZE
from ..errors import FormatError, IntegrityError, ReplayError
from .frame import FLAG_MULTI, HEADER, HEADER_SIZE, HEADER_VERSIONS, ChunkHeader, make_header
from .receiver import PeerTable
from .subchunks import NONCE, open_body

#: Timings are sampled on one frame in 16 (counters are exact), so a frame costs no clock reads
#: most of the time.
TIMING_MASK = 15

_nonce = NONCE.pack
_unpack_header = HEADER.unpack_from
_now = time.perf_counter


class Receiving:
    """Frames in: :meth:`decrypt_chunk`, :meth:`decrypt_packet` and the retention depth."""

    role: str | None
    initial_depth: int
    max_depth: int
    _role_bit: int | None
    _table: PeerTable
    _recv_lock: threading.Lock
    _stats: dict[str, int]
    _dec_count: int
    _dec_bytes: int
    _dec_timed: int
    _dec_time: float

    @property
    def cel_depth(self) -> int:
        """Retired epochs a receiver keeps per sender: initial_depth, growing by one per
        epoch seen, up to max_depth."""
        return min(self.max_depth, self.initial_depth + self._stats["epochs_seen"] + self._stats["key_rotations"])

    def decrypt_chunk(self, header: ChunkHeader | bytes, encrypted: bytes) -> bytes:
        """Authenticate and open one frame, or raise: ReplayError (duplicate, too old, from a
        retired epoch or forgotten sender, or reflected), IntegrityError (tampered, wrong
        seed), FormatError (malformed).  A frame is accepted at most once, also under threads."""
        started = _now() if not self._dec_count & TIMING_MASK else 0.0
        if not isinstance(header, ChunkHeader):
            try:
                header = ChunkHeader.from_bytes(header)
            except FormatError:
                self._count_rejection(replay_error=False)
                raise
        hb = header.__dict__.get("_wire") or header.to_bytes()
        plain = self._open(header.version, header.flags, header.sender_id, header.epoch, header.sequence, hb,
                           encrypted, None)
        if started:
            self._dec_time += _now() - started
            self._dec_timed += 1
        return plain  # type: ignore[return-value]

    def decrypt_packet(self, packet: bytes | bytearray | memoryview) -> bytearray:
        """Open a packet of :meth:`encrypt_packet` (``header || payload``) into a new bytearray;
        the checks and errors of :meth:`decrypt_chunk`.  A memoryview is read in place."""
        started = _now() if not self._dec_count & TIMING_MASK else 0.0
        try:
            view = memoryview(packet)
            if view.format != "B":
                view = view.cast("B")
            version, flags, sender_id, epoch, seq = _unpack_header(view)
        except (TypeError, struct.error):
            self._count_rejection(replay_error=False)
            raise FormatError(f"a packet is bytes of at least {HEADER_SIZE} (the frame header)") from None
        if version not in HEADER_VERSIONS or flags > FLAG_MULTI:
            self._count_rejection(replay_error=False)
            raise FormatError(f"unsupported frame header version {version}" if version not in HEADER_VERSIONS
                              else f"unknown frame flags 0x{flags:02x}")
        hb = packet[:HEADER_SIZE] if type(packet) is bytes else bytes(view[:HEADER_SIZE])
        plain = self._open(version, flags, sender_id, epoch, seq, hb, view[HEADER_SIZE:], bytearray)
        if started:
            self._dec_time += _now() - started
            self._dec_timed += 1
        return plain  # type: ignore[return-value]

    def _open(self, version: int, flags: int, sender_id: bytes, epoch: int, seq: int, hb: bytes,
              encrypted: bytes | memoryview, into: type[bytearray] | None) -> bytes | bytearray:
        """Authenticate a frame against the replay state and open it (see decrypt_chunk); with
        ``into``, the plaintext is decrypted into a new bytearray (no copy)."""
        try:
            if self._role_bit is not None and sender_id[0] >> 7 == self._role_bit:
                raise ReplayError(f"the frame was sent by this session's {self.role} side (a reflected frame)")
            peer = self._table.peers.get(sender_id)
            key = peer.epochs.get(epoch) if peer is not None else None
            pending = header = None
            if key is None:
                header = make_header(version, flags, sender_id, epoch, seq, hb)
                key, pending = self._table.derive(peer, header, self.cel_depth)
            elif seq <= key.window.highest:
                key.window.check(seq)  # early refusal; checked again with the commit
            try:
                if flags == FLAG_MULTI:
                    plain: bytes | bytearray = open_body(key.aead, hb, seq, encrypted, into)
                elif into is None:
                    plain = key.aead.decrypt(_nonce(seq, 0, 1), encrypted, hb)
                else:
                    if len(encrypted) < TAG_SIZE:
                        raise InvalidTag
                    plain = into(len(encrypted) - TAG_SIZE)
                    key.aead.decrypt_into(_nonce(seq, 0, 1), encrypted, hb, plain)
            except InvalidTag:
                raise IntegrityError(
                    "frame did not authenticate: tampered, truncated, or sealed under another seed"
                ) from None
            except TypeError:
                raise FormatError("frame payload must be bytes") from None
            lock = self._recv_lock
            lock.acquire()
            try:
                if pending is None:  # a stored epoch: check and set the window bit together
                    window = key.window
                    if seq > window.highest:
                        shift = seq - window.highest
                        window.bitmap = ((window.bitmap << shift) | 1) & window.mask if shift < window.size else 1
                        window.highest = seq
                    else:
                        window.check(seq)
                        window.commit(seq)
                    # Least recently heard is forgotten first.  If another thread forgot this sender
                    # meanwhile, its floor already refuses this epoch, so the bit set here still rules.
                    try:  # noqa: SIM105  (contextlib.suppress costs as much as the lock here)
                        self._table.peers.move_to_end(sender_id)
                    except KeyError:
                        pass
                else:
                    assert header is not None
                    self._stats["epochs_seen"] += self._table.commit_locked(header, pending, self.cel_depth)
                self._dec_count += 1
                self._dec_bytes += len(plain)
            finally:
                lock.release()
        except ReplayError:
            self._count_rejection(replay_error=True)
            raise
        except (IntegrityError, FormatError):
            self._count_rejection(replay_error=False)
            raise
        return plain

    def _count_rejection(self, *, replay_error: bool) -> None:
        with self._recv_lock:
            self._stats["frames_rejected"] += 1
            if replay_error:
                self._stats["replays_rejected"] += 1
