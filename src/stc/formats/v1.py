"""Metadata: the versioned header of a message (``STCM``) or a file (``STCF``).

It carries everything a fresh context holding the seed needs to decrypt: the
suite, the Argon2id cost, the epoch, two salts and the key slots.  It holds no
secret.  The parser checks every field against a documented bound before use
(docs/format.md, "Metadata").
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..crypto.kdf import SALT_SIZE, KdfParams
from ..crypto.suite import KEY_SIZE, TAG_SIZE, Suite
from ..errors import FormatError

MAGIC_MESSAGE = b"STCM"
MAGIC_FILE = b"STCF"
VERSION = 1

FLAG_TEXT = 0x01
FLAG_CONTEXT = 0x02
_KNOWN_FLAGS = FLAG_TEXT | FLAG_CONTEXT

SLOT_SIZE = KEY_SIZE + TAG_SIZE
MAX_SLOTS = 16

MIN_CHUNK, MAX_CHUNK = 1 << 10, 1 << 26  # 1 KiB .. 64 MiB

# magic, version, suite, flags, passes, memory_kib, lanes, epoch, chunk_size, kdf_salt, nonce, slot count
_FIXED = struct.Struct(">4sBBBBIBII16s16sB")
FIXED_SIZE = _FIXED.size  # 54
MAX_SIZE = FIXED_SIZE + MAX_SLOTS * SLOT_SIZE


@dataclass(frozen=True)
class Metadata:
    """Header of one encrypted message or file; ``to_bytes`` is its exact wire form."""

    suite: Suite
    kdf: KdfParams
    epoch: int
    kdf_salt: bytes
    nonce: bytes
    slots: tuple[bytes, ...]
    text: bool = False
    context_bound: bool = False
    chunk_size: int = 0
    is_file: bool = False
    _wire: bytes = field(default=b"", repr=False, compare=False)

    version: ClassVar[int] = VERSION

    def __post_init__(self) -> None:
        # Validate on construction, so no out-of-range header can exist in memory.
        self.kdf.check()
        if not 0 <= self.epoch < 2**32:
            raise FormatError(f"epoch {self.epoch} outside [0, 2**32)")
        if len(self.kdf_salt) != SALT_SIZE or len(self.nonce) != SALT_SIZE:
            raise FormatError("salts must be 16 bytes")
        if not 1 <= len(self.slots) <= MAX_SLOTS or any(len(s) != SLOT_SIZE for s in self.slots):
            raise FormatError(f"a header holds 1 to {MAX_SLOTS} key slots of {SLOT_SIZE} bytes")
        if self.is_file:
            if not MIN_CHUNK <= self.chunk_size <= MAX_CHUNK:
                raise FormatError(f"chunk size {self.chunk_size} outside [{MIN_CHUNK}, {MAX_CHUNK}]")
        elif self.chunk_size != 0:
            raise FormatError("a message header has chunk size 0")
        object.__setattr__(self, "_wire", self._encode())

    def _encode(self) -> bytes:
        flags = (FLAG_TEXT if self.text else 0) | (FLAG_CONTEXT if self.context_bound else 0)
        fixed = _FIXED.pack(
            MAGIC_FILE if self.is_file else MAGIC_MESSAGE,
            VERSION,
            int(self.suite),
            flags,
            self.kdf.passes,
            self.kdf.memory_kib,
            self.kdf.lanes,
            self.epoch,
            self.chunk_size,
            self.kdf_salt,
            self.nonce,
            len(self.slots),
        )
        return fixed + b"".join(self.slots)

    def to_bytes(self) -> bytes:
        """The wire form (54 + 48 * slots bytes)."""
        return self._wire

    @property
    def prefix(self) -> bytes:
        """Every byte before the slots; bound into the key-encryption key."""
        return self._wire[:FIXED_SIZE]

    @property
    def size(self) -> int:
        """Length of the wire form in bytes."""
        return len(self._wire)

    @property
    def slot_count(self) -> int:
        """How many key slots the header holds (real ones and decoys alike)."""
        return len(self.slots)

    @property
    def has_decoys(self) -> bool:
        """True if the header holds more than one key slot."""
        return len(self.slots) > 1

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> Metadata:
        """Parse exactly one header; trailing bytes are an error."""
        meta, used = cls.parse_prefix(data)
        if used != len(data):
            raise FormatError(f"{len(data) - used} unexpected bytes after the metadata")
        return meta

    @classmethod
    def parse_prefix(cls, data: bytes | bytearray | memoryview) -> tuple[Metadata, int]:
        """Parse the header at the start of ``data``; return it and its length."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise FormatError(f"metadata must be bytes, not {type(data).__name__}")
        data = bytes(data[:MAX_SIZE])
        if len(data) < FIXED_SIZE:
            raise FormatError(f"metadata is {len(data)} bytes; at least {FIXED_SIZE} are needed")
        (magic, version, suite, flags, passes, memory, lanes, epoch, chunk, salt, nonce, count) = (
            _FIXED.unpack_from(data)
        )
        if magic not in (MAGIC_MESSAGE, MAGIC_FILE):
            raise FormatError("not STC data (bad magic)")
        if version != VERSION:
            raise FormatError(f"unsupported format version {version}; this release reads version {VERSION}")
        if flags & ~_KNOWN_FLAGS:
            raise FormatError(f"unknown flag bits 0x{flags & ~_KNOWN_FLAGS:02x}")
        if not 1 <= count <= MAX_SLOTS:
            raise FormatError(f"key slot count {count} outside [1, {MAX_SLOTS}]")
        end = FIXED_SIZE + count * SLOT_SIZE
        if len(data) < end:
            raise FormatError(f"metadata truncated: {count} key slots need {end} bytes, got {len(data)}")
        slots = tuple(data[FIXED_SIZE + i * SLOT_SIZE : FIXED_SIZE + (i + 1) * SLOT_SIZE] for i in range(count))
        meta = cls(
            suite=Suite.from_wire(suite),
            kdf=KdfParams(memory_kib=memory, passes=passes, lanes=lanes),
            epoch=epoch,
            kdf_salt=salt,
            nonce=nonce,
            slots=slots,
            text=bool(flags & FLAG_TEXT),
            context_bound=bool(flags & FLAG_CONTEXT),
            chunk_size=chunk,
            is_file=magic == MAGIC_FILE,
        )
        return meta, end

    def describe(self) -> dict[str, Any]:
        """A JSON-ready summary with no secret (used by ``stc inspect``)."""
        return {
            "format": "file" if self.is_file else "message",
            "version": VERSION,
            "suite": self.suite.label,
            "kdf": {"algorithm": "argon2id", "memory_kib": self.kdf.memory_kib,
                    "passes": self.kdf.passes, "lanes": self.kdf.lanes},
            "epoch": self.epoch,
            "chunk_size": self.chunk_size,
            "key_slots": len(self.slots),
            "text": self.text,
            "context_bound": self.context_bound,
            "header_bytes": self.size,
        }

    def __reduce__(self) -> tuple[Any, tuple[bytes]]:
        # Pickle as the wire bytes so that unpickling goes through the validating parser.
        return (Metadata.from_bytes, (self._wire,))
