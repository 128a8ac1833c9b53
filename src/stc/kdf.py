"""CKE: key derivation. Argon2id for passwords, HKDF-SHA256 for everything else.

The manual's knobs map onto RFC 9106 Argon2id: the memory matrix *is* the
lattice (``lattice_size**2 * 4`` KiB) and ``depth // 2`` is the pass count.
Decryption never runs a cost above :data:`MAX_MEMORY_KIB` / :data:`MAX_PASSES`,
whatever a header says.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .errors import KDFLimitError, ParameterError

LANES = 4
MIN_LATTICE, MAX_LATTICE = 16, 512
MIN_DEPTH, MAX_DEPTH = 2, 32
MIN_MEMORY_KIB = 8 * LANES
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
    def from_knobs(cls, lattice_size: int, depth: int) -> "KdfParams":
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
        """Refuse a cost outside the documented limits before anything is allocated."""
        if not 1 <= self.lanes <= MAX_LANES:
            raise KDFLimitError(f"Argon2 lanes {self.lanes} outside [1, {MAX_LANES}]")
        if not 1 <= self.passes <= MAX_PASSES:
            raise KDFLimitError(f"Argon2 passes {self.passes} outside [1, {MAX_PASSES}]")
        if not max(MIN_MEMORY_KIB, 8 * self.lanes) <= self.memory_kib <= MAX_MEMORY_KIB:
            raise KDFLimitError(
                f"Argon2 memory {self.memory_kib} KiB outside [{8 * self.lanes}, {MAX_MEMORY_KIB}] KiB"
            )


def argon2id(password: bytes, salt: bytes, params: KdfParams) -> bytes:
    """RFC 9106 Argon2id, 32-byte output; ``params`` must already be checked."""
    return Argon2id(
        salt=salt,
        length=32,
        iterations=params.passes,
        lanes=params.lanes,
        memory_cost=params.memory_kib,
    ).derive(password)


def hkdf(ikm: bytes, info: bytes, length: int = 32, salt: bytes | None = None) -> bytes:
    """HKDF-SHA256 (RFC 5869) with the protocol label prefixed to ``info``."""
    if not 1 <= length <= HKDF_MAX:
        raise ParameterError(f"derived key length must be in [1, {HKDF_MAX}] bytes; got {length}")
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=PROTOCOL + info).derive(ikm)


def u32(value: int) -> bytes:
    """Big-endian 4-byte unsigned integer."""
    return struct.pack(">I", value)


def sha256(data: bytes) -> bytes:
    """SHA-256 digest (used to bind variable-length inputs into HKDF info)."""
    return hashlib.sha256(data).digest()
