"""CKE: key derivation. Argon2id for passwords, HKDF-SHA256 for everything else.

The manual's knobs map onto RFC 9106 Argon2id: the memory matrix *is* the
lattice (``lattice_size**2 * 4`` KiB) and ``depth // 2`` is the pass count.
Decryption never runs a cost above :data:`MAX_MEMORY_KIB` / :data:`MAX_PASSES`,
whatever a header says.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
import threading
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ..errors import KDFLimitError, ParameterError

LANES = 4
MIN_LATTICE, MAX_LATTICE = 16, 512
MIN_DEPTH, MAX_DEPTH = 2, 32
MAX_MEMORY_KIB = 1 << 20  # 1 GiB, what lattice_size=512 asks for
MAX_PASSES = 16
MAX_LANES = 16
SALT_SIZE = 16
HKDF_MAX = 255 * 32

PROTOCOL = b"stc/v1 "


@dataclass(frozen=True)
class KdfParams:
    """Argon2id cost as recorded in headers (memory in KiB, passes, lanes)."""

    memory_kib: int
    passes: int
    lanes: int = LANES

    @classmethod
    def from_knobs(cls, lattice_size: int, depth: int) -> KdfParams:
        """Map the manual's lattice_size/depth onto Argon2id, validating both."""
        for name, value, low, high in (
            ("lattice_size", lattice_size, MIN_LATTICE, MAX_LATTICE),
            ("depth", depth, MIN_DEPTH, MAX_DEPTH),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ParameterError(
                    f"{name} must be an integer in [{low}, {high}] "
                    f"(lattice_size 64/128/256 = fast/balanced/paranoid, depth 4/6/8); got {value!r}"
                )
        return cls(memory_kib=lattice_size * lattice_size * 4, passes=depth // 2)

    def check(self) -> None:
        """Refuse a cost outside what any header may ask, before anything is allocated.

        Checked in this order: lanes in [1, 16], passes in [1, 16], memory in
        [8 * lanes, 1 GiB] (Argon2's own lower bound is 8 KiB per lane).
        """
        if not 1 <= self.lanes <= MAX_LANES:
            raise KDFLimitError(f"Argon2 lanes {self.lanes} outside [1, {MAX_LANES}]")
        if not 1 <= self.passes <= MAX_PASSES:
            raise KDFLimitError(f"Argon2 passes {self.passes} outside [1, {MAX_PASSES}]")
        if not 8 * self.lanes <= self.memory_kib <= MAX_MEMORY_KIB:
            raise KDFLimitError(
                f"Argon2 memory {self.memory_kib} KiB outside [{8 * self.lanes}, {MAX_MEMORY_KIB}] KiB"
            )

    def meets(self, floor: KdfFloor) -> bool:
        """True if this cost is at least ``floor`` in memory and passes (and lanes, if fixed)."""
        return (
            self.memory_kib >= floor.memory_kib
            and self.passes >= floor.passes
            and (floor.lanes is None or self.lanes == floor.lanes)
        )


@dataclass(frozen=True)
class KdfFloor:
    """The least Argon2id cost accepted: memory (KiB), passes, and optionally exact lanes."""

    memory_kib: int
    passes: int
    lanes: int | None = None

    def describe(self) -> str:
        """Human form, e.g. ``16 MiB and 2 passes``."""
        lanes = f" with {self.lanes} lanes" if self.lanes is not None else ""
        return f"{self.memory_kib // 1024} MiB and {self.passes} pass{'es' if self.passes > 1 else ''}{lanes}"


#: New encryptions never use less than the manual's fastest preset (``lattice_size=64, depth=4``):
#: 16 MiB and 2 passes, the scale of OWASP's Argon2id minimum (19 MiB, t=2).
ENCRYPT_FLOOR = KdfFloor(memory_kib=16 * 1024, passes=2)
#: Version-1 headers: the least any released writer produced (``lattice_size=16, depth=2``, 4 lanes).
#: It keeps every released file decrypting while refusing crafted near-free headers.
V1_DECRYPT_FLOOR = KdfFloor(memory_kib=1024, passes=1, lanes=LANES)

@dataclass(frozen=True)
class KdfCeiling:
    """The most Argon2id cost a reader runs for a header: memory (KiB) and passes.

    A header asking for more is refused before Argon2id runs: anyone can craft a small header
    whose every decryption attempt costs seconds and a GiB (as age caps scrypt's work factor).
    """

    memory_kib: int
    passes: int

    @classmethod
    def parse(cls, value: KdfCeiling | str | tuple[int, int]) -> KdfCeiling:
        """From a ceiling, ``"MIB:PASSES"`` (e.g. ``"1024:16"``) or ``(memory_kib, passes)``."""
        if isinstance(value, KdfCeiling):
            return value
        try:
            if isinstance(value, str):
                mib, passes = (int(part) for part in value.split(":"))
                value = (mib * 1024, passes)
            memory_kib, passes = value
            ceiling = cls(int(memory_kib), int(passes))
        except (TypeError, ValueError):
            raise ParameterError(f"max_kdf must be 'MIB:PASSES' such as '1024:16'; got {value!r}") from None
        if not 1 <= ceiling.passes <= MAX_PASSES or not 8 <= ceiling.memory_kib <= MAX_MEMORY_KIB:
            raise ParameterError(f"max_kdf must be at most {MAX_MEMORY_KIB // 1024} MiB and {MAX_PASSES} passes "
                                 f"(what any header may ask); got {value!r}")
        return ceiling

    def allows(self, cost: KdfParams) -> bool:
        """True if ``cost`` is within this ceiling in memory and in passes."""
        return cost.memory_kib <= self.memory_kib and cost.passes <= self.passes

    def widened_to(self, cost: KdfParams) -> KdfCeiling:
        """This ceiling raised, if needed, to admit ``cost``."""
        return KdfCeiling(max(self.memory_kib, cost.memory_kib), max(self.passes, cost.passes))

    def describe(self) -> str:
        """Human form, e.g. ``256 MiB and 4 passes``."""
        return f"{self.memory_kib // 1024} MiB and {self.passes} pass{'es' if self.passes > 1 else ''}"

    def option(self) -> str:
        """The ``MIB:PASSES`` text that asks for this ceiling."""
        return f"{-(-self.memory_kib // 1024)}:{self.passes}"


#: What a reader runs by default: the strongest preset STC writes (``--paranoid``:
#: lattice_size=256, depth=8).  A context that encrypts with more reads its own cost too.
DEFAULT_MAX_KDF = KdfCeiling(memory_kib=256 * 1024, passes=4)

# One Argon2id at a time in this process: concurrent multi-lane calls in cryptography 50 were seen
# to deadlock or raise MemoryError.  Each call already uses `lanes` threads of its own.
_ARGON2_LOCK = threading.Lock()


def _reset_lock_in_child() -> None:
    global _ARGON2_LOCK
    _ARGON2_LOCK = threading.Lock()  # a thread of the parent may have held it at fork time


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_lock_in_child)


def argon2id(password: bytes, salt: bytes, params: KdfParams) -> bytes:
    """RFC 9106 Argon2id, 32-byte output; ``params`` must already be checked.

    Thread-safe: calls are serialised process-wide (see ``_ARGON2_LOCK``).
    """
    kdf = Argon2id(salt=salt, length=32, iterations=params.passes, lanes=params.lanes, memory_cost=params.memory_kib)
    with _ARGON2_LOCK:
        return kdf.derive(password)


def hkdf(ikm: bytes, info: bytes, length: int = 32, salt: bytes | None = None) -> bytes:
    """HKDF-SHA256 (RFC 5869) with the protocol label prefixed to ``info``."""
    if not 1 <= length <= HKDF_MAX:
        raise ParameterError(f"derived key length must be in [1, {HKDF_MAX}] bytes; got {length}")
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=PROTOCOL + info).derive(ikm)


def hkdf_expand(prk: bytes, info: bytes) -> bytes:
    """HKDF-Expand (RFC 5869 §2.3) for one 32-byte block: ``HMAC-SHA256(prk, PROTOCOL || info || 0x01)``.

    Only for a ``prk`` that is already a uniformly random 32-byte key (RFC 5869 §3.3 allows
    skipping Extract then); about twice as fast as :func:`hkdf`, for per-packet paths.
    """
    return hmac.digest(prk, PROTOCOL + info + b"\x01", hashlib.sha256)


def u32(value: int) -> bytes:
    """Big-endian 4-byte unsigned integer."""
    return struct.pack(">I", value)


def sha256(data: bytes) -> bytes:
    """SHA-256 digest (used to bind variable-length inputs into HKDF info)."""
    return hashlib.sha256(data).digest()
