"""Version-2 headers of messages (``STCM``) and files (``STCF``): recipients, a sealed directory
and a header MAC (docs/format.md §6).  Parsing only; the keys are in :mod:`stc.keys.envelope`.

Layout: the 31-byte *core* (magic, version, suite, flags, chunk size, nonce, epoch), which
never changes for the life of a file; a slot-layout byte; the optional passphrase KDF
parameters; the stanzas; the optional sealed directory; the 32-byte MAC.  Re-keying rewrites
everything after the core.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..crypto.kdf import SALT_SIZE, KdfParams
from ..crypto.suite import Suite
from ..errors import FormatError
from .stanza import BODY_SIZE, KIND_NAMES, PASSPHRASE, Stanza

VERSION = 2
MAGIC_MESSAGE, MAGIC_FILE = b"STCM", b"STCF"
FLAG_TEXT, FLAG_CONTEXT = 0x01, 0x02
_KNOWN_FLAGS = FLAG_TEXT | FLAG_CONTEXT
#: The slot-layout byte after the core: which optional parts follow.
LAYOUT_PASSPHRASE, LAYOUT_DIRECTORY = 0x01, 0x02
_KNOWN_LAYOUT = LAYOUT_PASSPHRASE | LAYOUT_DIRECTORY
MIN_CHUNK, MAX_CHUNK = 1 << 10, 1 << 26
MAX_STANZAS = 32
#: At most this many passphrase stanzas: one decryption tests a passphrase against each, so a
#: crafted header could test this many candidates per query (a partitioning oracle); 4 is what
#: the default decoys need.
MAX_PASSPHRASE_STANZAS = 4
MAC_SIZE = 32
FINGERPRINT_SIZE = 16

_CORE = struct.Struct(">4sBBBI16sI")  # magic, version, suite, flags, chunk size, nonce, epoch
CORE_SIZE = _CORE.size  # 31
_KDF = struct.Struct(">BIB16s")  # passes, memory KiB, lanes, salt
KDF_SIZE = _KDF.size  # 22


def directory_size(count: int) -> int:
    """Length of the sealed directory of ``count`` stanzas (one fingerprint each, plus a tag)."""
    return FINGERPRINT_SIZE * count + 16


@dataclass(frozen=True)
class HeaderV2:
    """One version-2 header; ``to_bytes`` is its exact wire form."""

    suite: Suite
    nonce: bytes
    epoch: int
    stanzas: tuple[Stanza, ...]
    mac: bytes
    kdf: KdfParams | None = None
    kdf_salt: bytes = bytes(SALT_SIZE)
    dir_salt: bytes = b""
    directory: bytes = b""
    text: bool = False
    context_bound: bool = False
    chunk_size: int = 0
    is_file: bool = False
    _wire: bytes = field(default=b"", repr=False, compare=False)

    version: ClassVar[int] = VERSION

    def __post_init__(self) -> None:
        if len(self.nonce) != 16 or not 0 <= self.epoch < 2**32:
            raise FormatError("a header nonce is 16 bytes and its epoch a u32")
        if self.is_file and not MIN_CHUNK <= self.chunk_size <= MAX_CHUNK:
            raise FormatError(f"chunk size {self.chunk_size} outside [{MIN_CHUNK}, {MAX_CHUNK}]")
        if not self.is_file and self.chunk_size != 0:
            raise FormatError("a message header has chunk size 0")
        if not 1 <= len(self.stanzas) <= MAX_STANZAS:
            raise FormatError(f"a header holds 1 to {MAX_STANZAS} stanzas")
        passphrases = sum(s.kind == PASSPHRASE for s in self.stanzas)
        if passphrases > MAX_PASSPHRASE_STANZAS:
            raise FormatError(f"a header holds at most {MAX_PASSPHRASE_STANZAS} passphrase stanzas")
        if (self.kdf is not None) != (passphrases > 0):
            raise FormatError("passphrase KDF parameters go with passphrase stanzas, and only with them")
        if self.kdf is not None:
            self.kdf.check()
            if len(self.kdf_salt) != SALT_SIZE:
                raise FormatError("the passphrase KDF salt is 16 bytes")
        has_directory = passphrases < len(self.stanzas)
        if has_directory != bool(self.directory) or (
            has_directory
            and (len(self.dir_salt) != 16 or len(self.directory) != directory_size(len(self.stanzas)))
        ):
            raise FormatError("a sealed directory (16-byte salt) goes with public-key stanzas, and only with them")
        if len(self.mac) != MAC_SIZE:
            raise FormatError(f"the header MAC is {MAC_SIZE} bytes")
        object.__setattr__(self, "_wire", self._encode())

    def with_mac(self, mac: bytes) -> HeaderV2:
        """This header with ``mac`` as its tag: the fields were checked when this one was made and
        only the last 32 bytes change, so it is not validated or encoded again."""
        if len(mac) != MAC_SIZE:
            raise FormatError(f"the header MAC is {MAC_SIZE} bytes")
        new = object.__new__(HeaderV2)
        new.__dict__.update(self.__dict__)
        new.__dict__.update(mac=mac, _wire=self._wire[:-MAC_SIZE] + mac)
        return new

    @property
    def flags(self) -> int:
        """The flags byte of the core."""
        return (FLAG_TEXT if self.text else 0) | (FLAG_CONTEXT if self.context_bound else 0)

    @property
    def layout(self) -> int:
        """The slot-layout byte: which optional parts follow it."""
        return (LAYOUT_PASSPHRASE if self.kdf is not None else 0) | (LAYOUT_DIRECTORY if self.directory else 0)

    def _encode(self) -> bytes:
        out = bytearray(self.core_bytes(self.is_file, self.suite, self.flags, self.chunk_size, self.nonce, self.epoch))
        out.append(self.layout)
        if self.kdf is not None:
            out += _KDF.pack(self.kdf.passes, self.kdf.memory_kib, self.kdf.lanes, self.kdf_salt)
        out.append(len(self.stanzas))
        for stanza in self.stanzas:
            out += stanza.to_bytes()
        if self.directory:
            out += self.dir_salt + self.directory
        return bytes(out) + self.mac

    @staticmethod
    def core_bytes(is_file: bool, suite: Suite, flags: int, chunk_size: int, nonce: bytes, epoch: int) -> bytes:
        """The 31 bytes that never change for the life of a file (the payload key binds them)."""
        return _CORE.pack(MAGIC_FILE if is_file else MAGIC_MESSAGE, VERSION, int(suite), flags, chunk_size,
                          nonce, epoch)

    @property
    def core(self) -> bytes:
        """The immutable first 31 bytes (bound into the payload key; a re-key never changes them)."""
        return self._wire[:CORE_SIZE]

    @property
    def mac_input(self) -> bytes:
        """Every byte the MAC covers: all of the header before it."""
        return self._wire[:-MAC_SIZE]

    def to_bytes(self) -> bytes:
        """The wire form."""
        return self._wire

    @property
    def size(self) -> int:
        """Length of the wire form in bytes."""
        return len(self._wire)

    @property
    def slot_count(self) -> int:
        """How many key slots the header holds (real ones and decoys alike)."""
        return len(self.stanzas)

    @property
    def has_decoys(self) -> bool:
        """True if the header has more stanzas than one (some may be decoys; only keys tell)."""
        return len(self.stanzas) > 1

    @staticmethod
    def has_passphrase_prefix(prefix: bytes) -> bool:
        """From a file's first 32 bytes: True unless it is a version-2 header whose slot-layout
        byte says there is no passphrase stanza (version 1 and 3 always have one)."""
        return not (len(prefix) > CORE_SIZE and prefix[4] == VERSION and not prefix[CORE_SIZE] & LAYOUT_PASSPHRASE)

    @classmethod
    def from_bytes(cls, data: bytes) -> HeaderV2:
        """Parse exactly one header; trailing bytes are an error."""
        header, used = cls.parse_prefix(data)
        if used != len(data):
            raise FormatError(f"{len(data) - used} unexpected bytes after the header")
        return header

    @classmethod
    def parse_prefix(cls, data: bytes | bytearray | memoryview) -> tuple[HeaderV2, int]:
        """Parse the header at the start of ``data``; return it and its length."""
        reader = _Reader(bytes(data[: max_size()]))
        return cls.read(reader.take), reader.pos

    @classmethod
    def read(cls, take: Any) -> HeaderV2:
        """Parse a header from ``take(n) -> exactly n bytes`` (FormatError if fewer)."""
        magic, version, suite, flags, chunk, nonce, epoch = _CORE.unpack(take(CORE_SIZE))
        if magic not in (MAGIC_MESSAGE, MAGIC_FILE):
            raise FormatError("not STC data (bad magic)")
        if version != VERSION:
            raise FormatError(f"unsupported format version {version}")
        if flags & ~_KNOWN_FLAGS:
            raise FormatError(f"unknown flag bits 0x{flags & ~_KNOWN_FLAGS:02x}")
        layout = take(1)[0]
        if layout & ~_KNOWN_LAYOUT:
            raise FormatError(f"unknown slot-layout bits 0x{layout & ~_KNOWN_LAYOUT:02x}")
        kdf, kdf_salt = None, bytes(SALT_SIZE)
        if layout & LAYOUT_PASSPHRASE:
            passes, memory, lanes, kdf_salt = _KDF.unpack(take(KDF_SIZE))
            kdf = KdfParams(memory_kib=memory, passes=passes, lanes=lanes)
            kdf.check()
        count = take(1)[0]
        if not 1 <= count <= MAX_STANZAS:
            raise FormatError(f"stanza count {count} outside [1, {MAX_STANZAS}]")
        stanzas = []
        for _ in range(count):
            kind = take(1)[0]
            if kind not in BODY_SIZE:
                raise FormatError(f"unknown stanza kind {kind} (known: {sorted(KIND_NAMES)})")
            stanzas.append(Stanza(kind, take(BODY_SIZE[kind])))
        dir_salt = directory = b""
        if layout & LAYOUT_DIRECTORY:
            dir_salt, directory = take(16), take(directory_size(count))
        return cls(
            suite=Suite.from_wire(suite), nonce=nonce, epoch=epoch, stanzas=tuple(stanzas), mac=take(MAC_SIZE),
            kdf=kdf, kdf_salt=kdf_salt, dir_salt=dir_salt, directory=directory, text=bool(flags & FLAG_TEXT),
            context_bound=bool(flags & FLAG_CONTEXT), chunk_size=chunk, is_file=magic == MAGIC_FILE,
        )

    def describe(self) -> dict[str, Any]:
        """A JSON-ready summary with no secret (``stc inspect``): stanza kinds, never which is real."""
        kinds: dict[str, int] = {}
        for stanza in self.stanzas:
            kinds[KIND_NAMES[stanza.kind]] = kinds.get(KIND_NAMES[stanza.kind], 0) + 1
        summary: dict[str, Any] = {
            "format": "file" if self.is_file else "message",
            "version": VERSION,
            "suite": self.suite.label,
            "epoch": self.epoch,
            "chunk_size": self.chunk_size,
            "key_slots": len(self.stanzas),
            "slot_kinds": [KIND_NAMES[s.kind] for s in self.stanzas],
            "slots_by_kind": kinds,
            "text": self.text,
            "context_bound": self.context_bound,
            "header_bytes": self.size,
        }
        if self.kdf is not None:
            summary["kdf"] = {"algorithm": "argon2id", "memory_kib": self.kdf.memory_kib,
                              "passes": self.kdf.passes, "lanes": self.kdf.lanes}
        return summary

    def __reduce__(self) -> tuple[Any, tuple[bytes]]:
        # Pickle as the wire bytes so that unpickling goes through the validating parser.
        return (HeaderV2.from_bytes, (self._wire,))


def max_size() -> int:
    """The longest a version-2 header can be: every stanza of the largest kind, which is not a
    passphrase kind, so there is no KDF part (a passphrase stanza is 1,104 bytes shorter than
    an X-Wing one and brings only 22 bytes of KDF part)."""
    return CORE_SIZE + 1 + 1 + MAX_STANZAS * (1 + max(BODY_SIZE.values())) + 16 \
        + directory_size(MAX_STANZAS) + MAC_SIZE


class _Reader:
    """Bounded reads from bytes: FormatError when the header is cut short."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        end = self.pos + n
        if end > len(self.data):
            raise FormatError(f"header truncated: {end} bytes needed, {len(self.data)} given")
        out, self.pos = self.data[self.pos : end], end
        return out
