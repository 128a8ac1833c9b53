"""StreamingContext: authenticated, replay-safe real-time frames (the manual's P2P API).

Every frame is AEAD-sealed with its fixed 16-byte header as associated data
(32 bytes of overhead in all for a single-chunk frame).  Keys: a session root
from the seed; per sender (a random 64-bit id in every header) a one-way HKDF
chain, one link per epoch; the frame key of an epoch comes from its link.
Nonces are (sequence, sub-chunk index, last flag), unique per sender and epoch.
The receiver keeps, per sender and retained epoch, an RFC 6479-style sliding
window: duplicates, replays and frames older than the window are rejected and
counted.  Nothing about a sender is stored until one of its frames authenticates.
"""

from __future__ import annotations

import os
import struct
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, ClassVar

from cryptography.exceptions import InvalidTag

from . import _encoding
from ._encoding import Seed
from .errors import FormatError, IntegrityError, ParameterError, ReplayError
from .kdf import KdfParams, argon2id, hkdf
from .suite import AEAD, KEY_SIZE, TAG_SIZE, Suite

HEADER_VERSION = 1
FLAG_SINGLE = 0x0000
FLAG_MULTI = 0x0001
HEADER_SIZE = 16
STREAM_METADATA_SIZE = 9

MAX_SEQUENCE = 2**32 - 1
MAX_EPOCH = 2**16 - 1
#: Most epochs a frame may be ahead of the newest one known (bounds unauthenticated work).
MAX_EPOCH_JUMP = 1024
#: Most senders tracked at once (least recently heard from is forgotten first).
MAX_SENDERS = 256
#: Cost of stretching a human seed: Argon2id, 16 MiB, 2 passes, 4 lanes (about 20 ms here).
SEED_KDF = KdfParams(memory_kib=16384, passes=2, lanes=4)
SEED_KDF_SALT = b"stc/v1 p2p seed."

_HEADER = struct.Struct(">BB8sHI")
_NONCE = struct.Struct(">IIB3x")
_nonce = _NONCE.pack
_now = time.perf_counter
_U32 = struct.Struct(">I")
_META = struct.Struct(">BBB3sHB")


@dataclass(frozen=True)
class ChunkHeader:
    """The 16 bytes before every frame: version, flags, sender id, epoch, sequence."""

    flags: int
    sender_id: bytes
    epoch: int
    sequence: int

    version: ClassVar[int] = HEADER_VERSION

    def __post_init__(self) -> None:
        if self.flags not in (FLAG_SINGLE, FLAG_MULTI):
            raise ParameterError("flags must be 0x0000 (single chunk) or 0x0001 (multi-chunk)")
        if not isinstance(self.sender_id, bytes) or len(self.sender_id) != 8:
            raise ParameterError("sender_id must be 8 bytes")
        if not 0 <= self.epoch <= 0xFFFF or not 0 <= self.sequence <= 0xFFFFFFFF:
            raise ParameterError("epoch must fit 16 bits and sequence 32 bits")

    def to_bytes(self) -> bytes:
        """Exactly 16 bytes (docs/format.md, "Frame header")."""
        wire: "bytes | None" = self.__dict__.get("_wire")
        if wire is None:
            wire = _HEADER.pack(HEADER_VERSION, self.flags, self.sender_id, self.epoch, self.sequence)
            self.__dict__["_wire"] = wire  # a cache, not a field: equality and repr ignore it
        return wire

    @classmethod
    def from_bytes(cls, data: bytes) -> "ChunkHeader":
        """Parse 16 bytes (exactly; slice ``packet[:16]``); FormatError otherwise."""
        if not isinstance(data, (bytes, bytearray, memoryview)) or len(data) != HEADER_SIZE:
            raise FormatError(f"a frame header is exactly {HEADER_SIZE} bytes")
        version, flags, sender, epoch, seq = _HEADER.unpack(data)
        if version != HEADER_VERSION:
            raise FormatError(f"unsupported frame header version {version}")
        if flags not in (FLAG_SINGLE, FLAG_MULTI):
            raise FormatError(f"unknown frame flags 0x{flags:02x}")
        return _make_header(flags, sender, epoch, seq, bytes(data))


def _make_header(flags: int, sender_id: bytes, epoch: int, sequence: int, wire: bytes) -> ChunkHeader:
    """Hot-path constructor for values already known valid (skips __post_init__)."""
    header = _new(ChunkHeader)
    d = header.__dict__
    d["flags"], d["sender_id"], d["epoch"], d["sequence"], d["_wire"] = flags, sender_id, epoch, sequence, wire
    return header


_new = object.__new__


@dataclass(frozen=True)
class StreamParameters:
    """The 9-byte session description of get_stream_metadata()."""

    suite: Suite
    adaptive_chunking: bool
    optimal_chunk_size: int
    replay_window: int
    max_depth: int
    version: int = HEADER_VERSION

    def to_bytes(self) -> bytes:
        """9 bytes: version, suite, flags, sub-chunk size (u24), window (u16), max depth."""
        return _META.pack(self.version, int(self.suite), int(self.adaptive_chunking),
                          self.optimal_chunk_size.to_bytes(3, "big"), self.replay_window, self.max_depth)

    @classmethod
    def from_bytes(cls, data: bytes) -> "StreamParameters":
        """Parse and validate; FormatError on anything malformed."""
        if not isinstance(data, (bytes, bytearray, memoryview)) or len(data) != STREAM_METADATA_SIZE:
            raise FormatError(f"stream metadata is exactly {STREAM_METADATA_SIZE} bytes")
        version, suite, flags, chunk, window, depth = _META.unpack(data)
        if version != HEADER_VERSION:
            raise FormatError(f"unsupported stream metadata version {version}")
        if flags & ~1:
            raise FormatError(f"unknown stream flags 0x{flags:02x}")
        size = int.from_bytes(chunk, "big")
        if not MIN_SUBCHUNK <= size <= MAX_SUBCHUNK or window < MIN_WINDOW or not 1 <= depth <= MAX_DEPTH:
            raise FormatError("stream metadata holds an out-of-range parameter")
        return cls(Suite.from_wire(suite), bool(flags), size, window, depth)


MIN_SUBCHUNK, MAX_SUBCHUNK = 256, (1 << 24) - 1
MIN_WINDOW, MAX_WINDOW = 64, 65535
MAX_DEPTH = 64


def session_root(seed: Seed) -> bytes:
    """High-entropy bytes (>= 32) are used as they are; anything else is stretched once."""
    if isinstance(seed, (bytes, bytearray)) and len(seed) >= KEY_SIZE:
        ikm = b"k" + bytes(seed)
    else:
        ikm = b"p" + argon2id(_encoding.encode_seed(seed), SEED_KDF_SALT, SEED_KDF)
    return hkdf(ikm, b"p2p session root")


class _Window:
    """Anti-replay bitmap (RFC 6479 style): bit i set = sequence (highest - i) seen."""

    __slots__ = ("bitmap", "highest", "mask", "size")

    def __init__(self, size: int) -> None:
        self.size, self.highest, self.bitmap, self.mask = size, -1, 0, (1 << size) - 1

    def check(self, seq: int) -> None:
        if seq > self.highest:
            return
        offset = self.highest - seq
        if offset >= self.size:
            raise ReplayError(f"frame {seq} is older than the {self.size}-frame replay window")
        if (self.bitmap >> offset) & 1:
            raise ReplayError(f"frame {seq} was already received (duplicate or replay)")

    def commit(self, seq: int) -> None:
        if seq > self.highest:
            shift = seq - self.highest
            self.bitmap = ((self.bitmap << shift) | 1) & self.mask if shift < self.size else 1
            self.highest = seq
        else:
            self.bitmap |= 1 << (self.highest - seq)


class _Epoch:
    """One epoch of one sender: its chain link, frame AEAD and (receiving) window."""

    __slots__ = ("aead", "chain", "window")

    def __init__(self, suite: Suite, chain: bytes, window: int) -> None:
        self.chain = chain
        self.aead: AEAD = suite.aead(hkdf(chain, b"p2p frame key"))
        self.window = _Window(window)


class _Sender:
    """Our outgoing stream: id, epoch, next sequence number and bytes in this epoch."""

    __slots__ = ("epoch", "id", "key", "seq", "used")

    def __init__(self, sender_id: bytes, key: _Epoch) -> None:
        self.id, self.key, self.epoch, self.seq, self.used = sender_id, key, 0, 0, 0


def _next_chain(chain: bytes) -> bytes:
    return hkdf(chain, b"p2p chain next")


class StreamingContext:
    """Encrypt and decrypt real-time frames; one context can both send and receive.

    Two contexts made from the same seed interoperate.  A seed given as text is
    stretched once with Argon2id (about 20 ms here); still, a guessable seed can be
    brute-forced offline from one captured frame: use :class:`stc.handshake.KeyExchange`
    or 32 random bytes.
    """

    def __init__(
        self,
        seed: Seed,
        optimal_chunk_size: int = 8192,
        enable_adaptive_chunking: bool = True,
        initial_depth: int = 2,
        max_depth: int = 6,
        key_schedule_size: int = 256,
        entropy_pool_size: int = 1024,
        key_rotation_mb: float = 10,
        *,
        suite: "Suite | str | int" = Suite.AES_256_GCM,
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
        self.suite = Suite.parse(suite)
        self.optimal_chunk_size = optimal_chunk_size
        self.enable_adaptive_chunking = enable_adaptive_chunking
        self.initial_depth, self.max_depth = initial_depth, max_depth
        self.key_schedule_size = key_schedule_size
        self.entropy_pool_size = entropy_pool_size
        self.key_rotation_mb = key_rotation_mb
        self._rotation_bytes = int(key_rotation_mb * (1 << 20))
        self._root = session_root(seed)
        self._pool = b""
        self._send = self._new_sender()
        self._peers: OrderedDict[bytes, dict[int, _Epoch]] = OrderedDict()
        self.subchunks_created = 0
        self._stats = dict.fromkeys(("key_rotations", "frames_rejected", "replays_rejected", "epochs_seen"), 0)
        self._enc_count = self._dec_count = self._enc_bytes = self._dec_bytes = 0
        self._enc_time = self._dec_time = 0.0

    def __repr__(self) -> str:
        return (f"StreamingContext(sender_id={self._send.id.hex()}, epoch={self._send.epoch}, "
                f"optimal_chunk_size={self.optimal_chunk_size}, window={self.key_schedule_size})")

    # ---- keys -------------------------------------------------------------------------
    def _random(self, n: int) -> bytes:
        """OS randomness, buffered in a pool of entropy_pool_size bytes."""
        if len(self._pool) < n:
            self._pool = os.urandom(max(n, self.entropy_pool_size))
        out, self._pool = self._pool[:n], self._pool[n:]
        return out

    def _chain0(self, sender_id: bytes) -> bytes:
        return hkdf(self._root, b"p2p sender chain" + sender_id)

    def _new_sender(self) -> _Sender:
        sender_id = self._random(8)
        return _Sender(sender_id, _Epoch(self.suite, self._chain0(sender_id), self.key_schedule_size))

    def _rotate(self) -> None:
        """Advance our sending epoch; the old link is dropped (one-way: it cannot be recomputed
        from the new one).  After the last epoch a fresh sender id starts a new chain."""
        s = self._send
        if s.epoch >= MAX_EPOCH:
            self._send = self._new_sender()
        else:
            s.key = _Epoch(self.suite, _next_chain(s.key.chain), self.key_schedule_size)
            s.epoch += 1
            s.seq = 0
            s.used = 0
        self._stats["key_rotations"] += 1

    @property
    def cel_depth(self) -> int:
        """Retired epochs a receiver keeps per sender: initial_depth, growing by one per
        epoch seen, up to max_depth."""
        return min(self.max_depth, self.initial_depth + self._stats["epochs_seen"] + self._stats["key_rotations"])

    # ---- frames -----------------------------------------------------------------------
    def encrypt_chunk(self, data: bytes) -> tuple[ChunkHeader, bytes]:
        """Seal one frame; returns its header and the sealed payload (send both)."""
        started = _now()
        n = len(data)
        s = self._send
        if (s.used and s.used + n > self._rotation_bytes) or s.seq > MAX_SEQUENCE:
            self._rotate()
            s = self._send
        seq = s.seq
        multi = self.enable_adaptive_chunking and n > self.optimal_chunk_size
        flags = FLAG_MULTI if multi else FLAG_SINGLE
        hb = _HEADER.pack(HEADER_VERSION, flags, s.id, s.epoch, seq)
        header = _make_header(flags, s.id, s.epoch, seq, hb)
        try:
            if multi:
                body = self._seal_multi(s.key.aead, hb, seq, data)
            else:
                body = s.key.aead.encrypt(_nonce(seq, 0, 1), data, hb)
        except TypeError:
            raise ParameterError(f"frame data must be bytes, not {type(data).__name__}") from None
        s.seq = seq + 1  # only a frame actually sealed consumes its sequence number
        s.used += n
        self._enc_count += 1
        self._enc_bytes += n
        self._enc_time += _now() - started
        return header, body

    def _seal_multi(self, aead: AEAD, header: bytes, seq: int, data: bytes) -> bytes:
        """u32 sub-chunk size, then each sub-chunk sealed with its index and a last flag."""
        size = self.optimal_chunk_size
        n = len(data)
        count = -(-n // size)
        out = bytearray(4 + n + TAG_SIZE * count)
        _U32.pack_into(out, 0, size)
        aad = header + out[:4]
        src, dst = memoryview(data), memoryview(out)
        pos = 4
        for i in range(count):
            part = src[i * size : (i + 1) * size]
            end = pos + len(part) + TAG_SIZE
            aead.encrypt_into(_NONCE.pack(seq, i, i == count - 1), part, aad, dst[pos:end])
            pos = end
        self.subchunks_created += count
        return bytes(out)

    def decrypt_chunk(self, header: "ChunkHeader | bytes", encrypted: bytes) -> bytes:
        """Authenticate and open one frame, or raise: ReplayError (duplicate / too old),
        IntegrityError (tampered, wrong seed), FormatError (malformed)."""
        started = _now()
        try:
            if not isinstance(header, ChunkHeader):
                header = ChunkHeader.from_bytes(header)
            seq = header.sequence
            epochs = self._peers.get(header.sender_id)
            key = epochs.get(header.epoch) if epochs is not None else None
            links: "dict[int, _Epoch] | None" = None
            if key is None:
                key, links = self._key_for(epochs, header)
            window = key.window
            if seq <= window.highest:
                window.check(seq)
            hb = header.__dict__.get("_wire") or header.to_bytes()  # parsed/sealed headers carry it
            try:
                if header.flags == FLAG_MULTI:
                    plain = self._open_multi(key.aead, hb, seq, encrypted)
                else:
                    plain = key.aead.decrypt(_nonce(seq, 0, 1), encrypted, hb)
            except InvalidTag:
                raise IntegrityError(
                    "frame did not authenticate: tampered, truncated, or sealed under another seed"
                ) from None
            except TypeError:
                raise FormatError("frame payload must be bytes") from None
        except ReplayError:
            self._stats["frames_rejected"] += 1
            self._stats["replays_rejected"] += 1
            raise
        except (IntegrityError, FormatError):
            self._stats["frames_rejected"] += 1
            raise
        if links is None and seq > window.highest:  # the common case: in order, known epoch
            shift = seq - window.highest
            window.bitmap = ((window.bitmap << shift) | 1) & window.mask if shift < window.size else 1
            window.highest = seq
        else:
            self._commit(header, epochs, links or {}, key)
        self._dec_count += 1
        self._dec_bytes += len(plain)
        self._dec_time += _now() - started
        return plain

    def _key_for(
        self, epochs: "dict[int, _Epoch] | None", header: ChunkHeader
    ) -> tuple[_Epoch, dict[int, _Epoch]]:
        """The key of the frame's epoch, and the links derived to reach it (stored only
        once the frame authenticates; only those within the retention depth are kept)."""
        target = header.epoch
        if epochs is not None:
            known = epochs.get(target)
            if known is not None:
                return known, {}
            newest = max(epochs)
            if target < newest:
                raise ReplayError(f"frame is from retired epoch {target}; its key was erased")
            base, chain = newest, epochs[newest].chain
        else:
            base, chain = 0, self._chain0(header.sender_id)
        if target - base > MAX_EPOCH_JUMP:
            raise IntegrityError(f"frame epoch {target} is implausibly far ahead (more than {MAX_EPOCH_JUMP})")
        keep_from = target - self.cel_depth
        links: dict[int, _Epoch] = {}
        if epochs is None and base >= keep_from:
            links[base] = _Epoch(self.suite, chain, self.key_schedule_size)
        for epoch in range(base + 1, target + 1):
            chain = _next_chain(chain)
            if epoch >= keep_from:
                links[epoch] = _Epoch(self.suite, chain, self.key_schedule_size)
        return links[target], links

    def _commit(self, header: ChunkHeader, epochs: "dict[int, _Epoch] | None", links: dict[int, _Epoch],
                key: _Epoch) -> None:
        """Record an authenticated frame: its window bit, new epoch links, retired keys erased."""
        key.window.commit(header.sequence)
        if epochs is None:
            epochs = self._peers[header.sender_id] = {}
            if len(self._peers) > MAX_SENDERS:
                self._peers.popitem(last=False)
        else:
            self._peers.move_to_end(header.sender_id)
            if links:
                self._stats["epochs_seen"] += header.epoch - max(epochs)
        if links:
            epochs.update(links)
            for old in [e for e in epochs if e < header.epoch - self.cel_depth]:
                del epochs[old]  # erase retired keys (forward secrecy within the chain)

    def _open_multi(self, aead: AEAD, header: bytes, seq: int, body: bytes) -> bytes:
        if len(body) < 4:
            raise IntegrityError("multi-chunk frame too short")
        size = _U32.unpack_from(body)[0]
        if not MIN_SUBCHUNK <= size <= MAX_SUBCHUNK:
            raise IntegrityError("multi-chunk frame has an invalid sub-chunk size")
        enc = size + TAG_SIZE
        payload = len(body) - 4
        count = -(-payload // enc)
        if count < 2 or payload - (count - 1) * enc <= TAG_SIZE:
            raise IntegrityError("multi-chunk frame has a malformed length")
        aad = header + bytes(body[:4])
        out = bytearray(payload - TAG_SIZE * count)
        src, dst = memoryview(body), memoryview(out)
        for i in range(count):
            part = src[4 + i * enc : 4 + (i + 1) * enc]
            out_part = dst[i * size : i * size + len(part) - TAG_SIZE]
            aead.decrypt_into(_NONCE.pack(seq, i, i == count - 1), part, aad, out_part)
        return bytes(out)

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
        """Counters and timings since creation (time measured inside the calls only)."""
        return {
            **self._stats,
            "chunks_encrypted": self._enc_count,
            "chunks_decrypted": self._dec_count,
            "bytes_encrypted": self._enc_bytes,
            "bytes_decrypted": self._dec_bytes,
            "encrypt_throughput_mbps": self._enc_bytes / 1e6 / self._enc_time if self._enc_time else 0.0,
            "decrypt_throughput_mbps": self._dec_bytes / 1e6 / self._dec_time if self._dec_time else 0.0,
            "avg_encrypt_ms": self._enc_time * 1e3 / self._enc_count if self._enc_count else 0.0,
            "avg_decrypt_ms": self._dec_time * 1e3 / self._dec_count if self._dec_count else 0.0,
            "subchunks_created": self.subchunks_created,
            "cel_depth": self.cel_depth,
            "current_epoch": self._send.epoch,
            "senders_tracked": len(self._peers),
        }


def _check_int(name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ParameterError(f"{name} must be an integer in [{low}, {high}]; got {value!r}")
