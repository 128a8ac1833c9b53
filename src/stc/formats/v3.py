"""Version-3 message headers (``STCM`` only): one passphrase, a per-session key and a message
counter, so that a context sealing many messages pays for key derivation once per session
(docs/format.md §6a).  Parsing only; the keys are in :mod:`stc.keys.sessions`.

The header is always 89 bytes, so it is parsed with one bounded unpack.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..crypto.kdf import SALT_SIZE, KdfParams
from ..crypto.suite import Suite
from ..errors import FormatError

VERSION = 3
MAGIC = b"STCM"
FLAG_TEXT, FLAG_CONTEXT = 0x01, 0x02
_KNOWN_FLAGS = FLAG_TEXT | FLAG_CONTEXT
SESSION_ID_SIZE = 16
COMMITMENT_SIZE = 32
#: A session seals at most this many messages; the next one starts a new session.
MAX_MESSAGES = 1 << 32

# magic, version, suite, flags, epoch, passes, memory KiB, lanes, Argon2 salt, session id, counter, commitment
_HEADER = struct.Struct(">4sBBBIBIB16s16sQ32s")
SIZE = _HEADER.size  # 89
#: Bytes 0..48: everything but the counter and the commitment.
SESSION_PREFIX_SIZE = SIZE - 8 - COMMITMENT_SIZE


@dataclass(frozen=True)
class HeaderV3:
    """One version-3 message header; ``to_bytes`` is its exact 89-byte wire form."""

    suite: Suite
    epoch: int
    kdf: KdfParams
    kdf_salt: bytes
    session_id: bytes
    counter: int
    commitment: bytes
    text: bool = False
    context_bound: bool = False
    _wire: bytes = field(default=b"", repr=False, compare=False)

    version: ClassVar[int] = VERSION
    is_file: ClassVar[bool] = False
    chunk_size: ClassVar[int] = 0
    size: ClassVar[int] = SIZE
    slot_count: ClassVar[int] = 1
    has_decoys: ClassVar[bool] = False

    def __post_init__(self) -> None:
        if not 0 <= self.epoch < 2**32 or not 0 <= self.counter < 2**64:
            raise FormatError("a version-3 header's epoch is a u32 and its counter a u64")
        if (len(self.kdf_salt), len(self.session_id), len(self.commitment)) != (
                SALT_SIZE, SESSION_ID_SIZE, COMMITMENT_SIZE):
            raise FormatError("a version-3 header has a 16-byte salt and session id and a 32-byte commitment")
        self.kdf.check()
        if not self._wire:
            object.__setattr__(self, "_wire", _HEADER.pack(
                MAGIC, VERSION, int(self.suite), self.flags, self.epoch, self.kdf.passes, self.kdf.memory_kib,
                self.kdf.lanes, self.kdf_salt, self.session_id, self.counter, self.commitment))

    @classmethod
    def sealed(cls, wire: bytes, suite: Suite, epoch: int, kdf: KdfParams, kdf_salt: bytes, session_id: bytes,
               counter: int, commitment: bytes, text: bool, context_bound: bool) -> HeaderV3:
        """The header the sealing path just packed into ``wire`` from checked fields; it is not
        validated or encoded again (a third of a small message's cost otherwise)."""
        new = object.__new__(cls)
        new.__dict__.update(suite=suite, epoch=epoch, kdf=kdf, kdf_salt=kdf_salt, session_id=session_id,
                            counter=counter, commitment=commitment, text=text, context_bound=context_bound,
                            _wire=wire)
        return new

    @property
    def flags(self) -> int:
        """The flags byte: bit 0 the payload was ``str``, bit 1 context data is bound."""
        return (FLAG_TEXT if self.text else 0) | (FLAG_CONTEXT if self.context_bound else 0)

    def to_bytes(self) -> bytes:
        """The wire form (also the associated data of the payload, with the context data)."""
        return self._wire

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> HeaderV3:
        """Parse exactly one header; any other length is an error."""
        if len(data) != SIZE:
            raise FormatError(f"a version-3 header is {SIZE} bytes, not {len(data)}")
        return cls.parse_prefix(data)[0]

    @classmethod
    def parse_prefix(cls, data: bytes | bytearray | memoryview) -> tuple[HeaderV3, int]:
        """Parse the header at the start of ``data``; return it and its length (always 89).

        Checked in order: length, magic, version, flags, suite, then the Argon2id bounds.
        """
        if len(data) < SIZE:
            raise FormatError(f"header truncated: {SIZE} bytes needed, {len(data)} given")
        wire = bytes(data[:SIZE])
        magic, version, suite, flags, epoch, passes, memory, lanes, salt, sid, counter, commit = _HEADER.unpack(wire)
        if magic != MAGIC:
            raise FormatError("not an STC message (version 3 exists for messages only)")
        if version != VERSION:
            raise FormatError(f"unsupported format version {version}")
        if flags & ~_KNOWN_FLAGS:
            raise FormatError(f"unknown flag bits 0x{flags & ~_KNOWN_FLAGS:02x}")
        header = cls(suite=Suite.from_wire(suite), epoch=epoch,
                     kdf=KdfParams(memory_kib=memory, passes=passes, lanes=lanes), kdf_salt=salt, session_id=sid,
                     counter=counter, commitment=commit, text=bool(flags & FLAG_TEXT),
                     context_bound=bool(flags & FLAG_CONTEXT), _wire=wire)
        return header, SIZE

    def describe(self) -> dict[str, Any]:
        """A JSON-ready summary with no secret (``stc inspect``)."""
        return {
            "format": "message",
            "version": VERSION,
            "suite": self.suite.label,
            "epoch": self.epoch,
            "chunk_size": 0,
            "key_slots": 1,
            "slot_kinds": ["passphrase"],
            "slots_by_kind": {"passphrase": 1},
            "text": self.text,
            "context_bound": self.context_bound,
            "header_bytes": SIZE,
            "session_id": self.session_id.hex(),
            "counter": self.counter,
            "kdf": {"algorithm": "argon2id", "memory_kib": self.kdf.memory_kib,
                    "passes": self.kdf.passes, "lanes": self.kdf.lanes},
        }

    def __reduce__(self) -> tuple[Any, tuple[bytes]]:
        # Pickle as the wire bytes so that unpickling goes through the validating parser.
        return (HeaderV3.from_bytes, (self._wire,))


def pack(suite: Suite, flags: int, epoch: int, kdf: KdfParams, kdf_salt: bytes, session_id: bytes, counter: int,
         commitment: bytes) -> bytes:
    """The wire form from already-checked fields (the sealing path; no object is built)."""
    return _HEADER.pack(MAGIC, VERSION, int(suite), flags, epoch, kdf.passes, kdf.memory_kib, kdf.lanes,
                        kdf_salt, session_id, counter, commitment)
