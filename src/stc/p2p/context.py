"""StreamingContext: authenticated, replay-safe real-time frames (the manual's P2P API).

Every frame is AEAD-sealed with its fixed 16-byte header as associated data.  Keys: a
session root from the seed; per sender (a random 64-bit id in every header) an epoch tree
(version 2, :mod:`.keys`); nonces are (sequence, sub-chunk index, last flag), unique per
sender and epoch.  The receiver keeps, per sender and retained epoch, an RFC 6479-style
window, and remembers senders it forgot (:mod:`.receiver`, :mod:`.replay`).  Nothing about a sender is
stored until one of its frames authenticates.

Threads and fork (docs/design.md, "Threads, fork and late joiners"): a sequence number is
reserved under a lock before sealing, a frame is accepted under a lock that checks and
commits its window bit together, and a forked child draws a new sender id (and fresh
randomness) before it can seal.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from ..crypto import forksafe as _forksafe
from ..crypto.encoding import Seed
from ..crypto.suite import AEAD, TAG_SIZE, Suite
from ..errors import FormatError, ParameterError
from .frame import (
    FLAG_MULTI,
    FLAG_SINGLE,
    HEADER,
    HEADER_SIZE,
    HEADER_VERSION,
    MAX_DEPTH,
    MAX_EPOCH,
    MAX_SEQUENCE,
    MAX_SUBCHUNK,
    MAX_WINDOW,
    MIN_SUBCHUNK,
    MIN_WINDOW,
    SENDER_ID_SIZE,
    ChunkHeader,
    StreamParameters,
    make_header,
)
from .keys import EpochFrontier, frame_aead_v2, sender_root, session_root, sframe_base_key
from .receiver import PeerTable
from .receiving import TIMING_MASK, Receiving
from .sframe import DEFAULT_REPLAY_WINDOW, SFrameContext
from .subchunks import NONCE, seal, seal_into, sealed_size

#: ``role=`` values and the top bit of the sender id each one writes.
ROLES: dict[str | None, int | None] = {None: None, "initiator": 0, "responder": 1}

#: Default sub-chunk size: a frame larger than this is cut into pieces authenticated one by one.
#: The manual's 8 KiB cost 0.33x a bare AEAD loop on 64 KB frames (one AEAD call per 8 KiB);
#: 32 KiB keeps 64 KB frames multi-chunk (two pieces) at a fraction of that cost.  Pass
#: ``optimal_chunk_size=8192`` to authenticate earlier.
DEFAULT_SUBCHUNK = 32768

_nonce = NONCE.pack
_now = time.perf_counter


class _Sender:
    """Our outgoing stream: id, epoch frontier, current epoch and AEAD, next sequence, bytes used."""

    __slots__ = ("aead", "epoch", "frontier", "id", "seq", "used")

    def __init__(self, sender_id: bytes, frontier: EpochFrontier, epoch: int, aead: AEAD) -> None:
        self.id, self.frontier, self.epoch, self.aead, self.seq, self.used = sender_id, frontier, epoch, aead, 0, 0


class StreamingContext(Receiving):
    """Encrypt and decrypt real-time frames; one context can both send and receive.

    Two contexts made from the same seed interoperate.  A seed given as text is
    stretched once with Argon2id (about 20 ms here); still, a guessable seed can be
    brute-forced offline from one captured frame.  For peers that share only a short string,
    use a session in code mode (``stc.p2p.connect(address, code="7-guitar-ocean")``: a PAKE,
    one guess per live attempt); for peers with keys, identities (``identity=``, ``peer=``);
    or :class:`stc.p2p.handshake.KeyExchange` / 32 random bytes.

    ``role`` separates the two directions of a two-party session: "initiator" and
    "responder" (as :meth:`KeyExchange.streaming_context` sets them) write sender ids
    whose top bit is 0 or 1 and refuse frames from their own side, so a frame reflected
    back to its sender is refused.  Without a role (the manual's examples, groups) every
    sender of the session is accepted, this context's own frames included.

    Thread-safe: threads may share a context for sending and receiving.  After
    ``os.fork()`` the child sends under a new sender id.  It cannot be pickled or copied.
    """

    def __init__(
        self,
        seed: Seed,
        optimal_chunk_size: int = DEFAULT_SUBCHUNK,
        enable_adaptive_chunking: bool = True,
        initial_depth: int = 2,
        max_depth: int = 6,
        key_schedule_size: int = 256,
        entropy_pool_size: int = 1024,
        key_rotation_mb: float = 10,
        *,
        suite: Suite | str | int = Suite.AES_256_GCM,
        role: str | None = None,
    ) -> None:
        _check_int("optimal_chunk_size", optimal_chunk_size, MIN_SUBCHUNK, MAX_SUBCHUNK)
        _check_int("max_depth", max_depth, 1, MAX_DEPTH)
        _check_int("initial_depth", initial_depth, 1, max_depth)
        _check_int("key_schedule_size", key_schedule_size, MIN_WINDOW, MAX_WINDOW)
        _check_int("entropy_pool_size", entropy_pool_size, 8, 1 << 20)
        if isinstance(key_rotation_mb, bool) or not isinstance(key_rotation_mb, (int, float)) \
                or not 0 < key_rotation_mb <= 1 << 20:
            raise ParameterError(f"key_rotation_mb must be a number in (0, {1 << 20}]; got {key_rotation_mb!r}")
        if not isinstance(enable_adaptive_chunking, bool):
            raise ParameterError("enable_adaptive_chunking must be a bool")
        if not isinstance(role, (str, type(None))) or role not in ROLES:
            raise ParameterError("role must be None, 'initiator' or 'responder'")
        self.suite = Suite.parse(suite)
        self.optimal_chunk_size = optimal_chunk_size
        self.enable_adaptive_chunking = enable_adaptive_chunking
        self.initial_depth, self.max_depth = initial_depth, max_depth
        self.key_schedule_size = key_schedule_size
        self.entropy_pool_size = entropy_pool_size
        self.key_rotation_mb = key_rotation_mb
        self.role = role
        self._role_bit = ROLES[role]
        self._rotation_bytes = int(key_rotation_mb * (1 << 20))
        self._root = session_root(seed)
        self._pool = b""
        self._own_ids: set[bytes] = set()
        self._send_lock = threading.Lock()
        self._recv_lock = threading.Lock()
        self._stats = dict.fromkeys(("key_rotations", "frames_rejected", "replays_rejected", "epochs_seen"), 0)
        self._send = self._new_sender()
        self._table = PeerTable(self._root, self.suite, key_schedule_size)
        self.subchunks_created = 0
        self._enc_count = self._dec_count = self._enc_bytes = self._dec_bytes = 0
        self._enc_timed = self._dec_timed = 0
        self._enc_time = self._dec_time = 0.0
        _forksafe.register(self)

    def __repr__(self) -> str:
        return (f"StreamingContext(sender_id={self._send.id.hex()}, epoch={self._send.epoch}, "
                f"optimal_chunk_size={self.optimal_chunk_size}, window={self.key_schedule_size})")

    def __reduce__(self) -> str | tuple[Any, ...]:
        raise ParameterError("a StreamingContext holds keys and a sender's sequence; it cannot be pickled or copied")

    def _after_fork_in_child(self) -> None:
        """In a forked child: fresh locks, no inherited randomness, a new sender id."""
        self._send_lock = threading.Lock()
        self._recv_lock = threading.Lock()
        self._pool = b""
        self._send = self._new_sender()

    def sframe_context(self, suite: str | int = "AES_128_GCM_SHA256_128", *,
                       replay_window: int | None = None) -> SFrameContext:
        """An RFC 9605 :class:`~stc.p2p.sframe.SFrameContext` keyed by this two-party session.

        Each direction has its own base key from the session root (docs/format.md, "SFrame");
        ours protects under a random KID whose top bit is our role (``ctx.session_kid``), and
        the peer's frames open under any KID with its role's bit.  Needs ``role``."""
        if self._role_bit is None:
            raise ParameterError("sframe_context needs a two-party session: make the context with "
                                 "role='initiator' or 'responder' (KeyExchange.streaming_context does)")
        ctx = SFrameContext(suite, replay_window=DEFAULT_REPLAY_WINDOW if replay_window is None else replay_window)
        own, peer = self._role_bit, 1 - self._role_bit
        ctx._add_session(own, sframe_base_key(self._root, own), peer, sframe_base_key(self._root, peer))
        return ctx

    def rotate_key(self) -> None:
        """Start a new sending epoch now, as after ``key_rotation_mb``: sessions call it on a timer,
        so a key captured later opens nothing sent before (the old leaf cannot be recomputed)."""
        with self._send_lock:
            self._rotate_locked()

    # ---- keys (the send lock is held, or the context is being built) ------------------------
    def _random(self, n: int) -> bytes:
        """OS randomness, buffered in a pool of entropy_pool_size bytes (emptied in a forked child)."""
        if len(self._pool) < n:
            self._pool = os.urandom(max(n, self.entropy_pool_size))
        out, self._pool = self._pool[:n], self._pool[n:]
        return out

    def _new_sender(self) -> _Sender:
        while True:
            raw = bytearray(self._random(SENDER_ID_SIZE))
            if self._role_bit is not None:
                raw[0] = (raw[0] & 0x7F) | (self._role_bit << 7)
            sender_id = bytes(raw)
            if sender_id not in self._own_ids:
                break
        self._own_ids.add(sender_id)
        frontier = EpochFrontier(sender_root(self._root, sender_id))
        first = frontier.next_leaf()
        assert first is not None  # a new tree has every epoch ahead of it
        epoch, leaf = first
        return _Sender(sender_id, frontier, epoch, frame_aead_v2(self.suite, leaf))

    def _rotate_locked(self) -> _Sender:
        """Advance our sending epoch (the old leaf cannot be recomputed from what is kept);
        after the last epoch a fresh sender id starts a new tree."""
        s = self._send
        nxt = s.frontier.next_leaf() if s.epoch < MAX_EPOCH else None
        if nxt is None:
            self._send = s = self._new_sender()
        else:
            s.epoch, leaf = nxt
            s.aead, s.seq, s.used = frame_aead_v2(self.suite, leaf), 0, 0
        self._stats["key_rotations"] += 1
        return s

    # ---- sending ----------------------------------------------------------------------------
    def _reserve(self, n: int) -> tuple[AEAD, bytes, int, int]:
        """Reserve the next sequence number of our sender (rotating first when due), atomically."""
        lock = self._send_lock
        lock.acquire()
        try:
            s = self._send
            if (s.used and s.used + n > self._rotation_bytes) or s.seq > MAX_SEQUENCE:
                s = self._rotate_locked()
            seq = s.seq
            s.seq = seq + 1
            s.used += n
            self._enc_count += 1
            self._enc_bytes += n
            return s.aead, s.id, s.epoch, seq
        finally:
            lock.release()

    def encrypt_chunk(self, data: bytes | bytearray | memoryview) -> tuple[ChunkHeader, bytes]:
        """Seal one frame; returns its header and the sealed payload (send both).

        The sequence number is reserved atomically before sealing, so threads sharing
        this context never seal two frames under one (key, nonce).
        """
        started = _now() if not self._enc_count & TIMING_MASK else 0.0
        try:
            n = len(data)
        except TypeError:
            raise ParameterError(f"frame data must be bytes, not {type(data).__name__}") from None
        aead, sender_id, epoch, seq = self._reserve(n)
        multi = self.enable_adaptive_chunking and n > self.optimal_chunk_size
        flags = FLAG_MULTI if multi else FLAG_SINGLE
        hb = HEADER.pack(HEADER_VERSION, flags, sender_id, epoch, seq)
        header = make_header(HEADER_VERSION, flags, sender_id, epoch, seq, hb)
        try:
            if multi:
                body, count = seal(aead, hb, seq, data, self.optimal_chunk_size)
                self.subchunks_created += count
            else:
                body = aead.encrypt(_nonce(seq, 0, 1), data, hb)
        except TypeError:  # e.g. str: its reserved sequence number is simply never used
            raise ParameterError(f"frame data must be bytes, not {type(data).__name__}") from None
        if started:
            self._enc_time += _now() - started
            self._enc_timed += 1
        return header, body

    def encrypt_packet(self, data: bytes | bytearray | memoryview) -> bytearray:
        """Seal one frame as one packet, ``header (16 bytes) || payload``, built in a single new
        buffer (no copy of the sealed bytes).  :meth:`decrypt_packet` is its inverse; the bytes
        are those of :meth:`encrypt_chunk` joined."""
        started = _now() if not self._enc_count & TIMING_MASK else 0.0
        if type(data) is bytes or type(data) is bytearray:
            view: bytes | bytearray | memoryview = data
        else:
            try:
                view = memoryview(data).cast("B")
            except TypeError:
                raise ParameterError(f"frame data must be bytes, not {type(data).__name__}") from None
        n = len(view)
        aead, sender_id, epoch, seq = self._reserve(n)
        size = self.optimal_chunk_size
        multi = self.enable_adaptive_chunking and n > size
        flags = FLAG_MULTI if multi else FLAG_SINGLE
        hb = HEADER.pack(HEADER_VERSION, flags, sender_id, epoch, seq)
        out = bytearray(HEADER_SIZE + (sealed_size(n, size) if multi else n + TAG_SIZE))
        out[:HEADER_SIZE] = hb
        if multi:
            self.subchunks_created += seal_into(aead, hb, seq, view, size, memoryview(out)[HEADER_SIZE:])
        else:
            aead.encrypt_into(_nonce(seq, 0, 1), view, hb, memoryview(out)[HEADER_SIZE:])
        if started:
            self._enc_time += _now() - started
            self._enc_timed += 1
        return out

    # ---- session description and stats ----------------------------------------------------
    def get_stream_metadata(self) -> bytes:
        """9 bytes a receiver can check with :meth:`check_stream_metadata`."""
        return StreamParameters(self.suite, self.enable_adaptive_chunking, self.optimal_chunk_size,
                                self.key_schedule_size, self.max_depth).to_bytes()

    def check_stream_metadata(self, data: bytes) -> StreamParameters:
        """Parse a peer's 9 bytes; FormatError if we could not decrypt its frames."""
        params = StreamParameters.from_bytes(data)
        if params.suite is not self.suite:
            raise FormatError(f"peer uses {params.suite.label}, this context {self.suite.label}")
        return params

    def get_performance_stats(self) -> dict[str, Any]:
        """Counters since creation (exact) and timings measured inside the calls on one frame
        in 16 (so the averages and throughputs are estimates from that sample)."""
        enc_avg = self._enc_time / self._enc_timed if self._enc_timed else 0.0
        dec_avg = self._dec_time / self._dec_timed if self._dec_timed else 0.0
        enc_bytes_avg = self._enc_bytes / self._enc_count if self._enc_count else 0.0
        dec_bytes_avg = self._dec_bytes / self._dec_count if self._dec_count else 0.0
        return {
            **self._stats,
            "chunks_encrypted": self._enc_count,
            "chunks_decrypted": self._dec_count,
            "bytes_encrypted": self._enc_bytes,
            "bytes_decrypted": self._dec_bytes,
            "encrypt_throughput_mbps": enc_bytes_avg / 1e6 / enc_avg if enc_avg else 0.0,
            "decrypt_throughput_mbps": dec_bytes_avg / 1e6 / dec_avg if dec_avg else 0.0,
            "avg_encrypt_ms": enc_avg * 1e3,
            "avg_decrypt_ms": dec_avg * 1e3,
            "subchunks_created": self.subchunks_created,
            "cel_depth": self.cel_depth,
            "current_epoch": self._send.epoch,
            "senders_tracked": len(self._table.peers),
            "senders_retired": len(self._table.retired),
        }


def _check_int(name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ParameterError(f"{name} must be an integer in [{low}, {high}]; got {value!r}")
