"""Security profiles: named presets of Argon2id cost, chunk size, decoys and suite, each with its reason.

Explicit arguments always win over a profile's values (``STCContext(seed, **profile.context_options())``
then ``encrypt_stream(..., **profile.stream_options())``, overriding any key you pass yourself).
"""

from __future__ import annotations

import functools
import platform
from dataclasses import dataclass
from typing import Any

from ..errors import ParameterError


@functools.lru_cache(maxsize=1)
def aes_hardware() -> bool:
    """True if the CPU has AES instructions (x86 ``aes`` flag, ARM ``aes`` feature); True if unknown."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            text = f.read(1 << 20)
    except OSError:
        return True
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() in ("flags", "features"):
            return "aes" in value.split()
    return platform.machine() not in ("armv7l", "armv6l", "riscv64")


@dataclass(frozen=True)
class Profile:
    """One preset: the knobs and why."""

    name: str
    lattice_size: int
    depth: int
    chunk_size: int
    use_decoys: bool
    suite: str
    reason: str

    @property
    def kdf(self) -> str:
        """The Argon2id cost in words."""
        return f"Argon2id {self.lattice_size ** 2 * 4 // 1024} MiB, {self.depth // 2} passes"

    def context_options(self) -> dict[str, Any]:
        """Keywords for :class:`stc.STCContext`."""
        return {"lattice_size": self.lattice_size, "depth": self.depth, "suite": self.suite}

    def stream_options(self) -> dict[str, Any]:
        """Keywords for ``encrypt_stream`` / ``encrypt_folder``."""
        return {"chunk_size": self.chunk_size, "use_decoys": self.use_decoys}


def _backup_suite() -> str:
    return "aes-256-gcm" if aes_hardware() else "chacha20-poly1305"


def _profiles() -> dict[str, Profile]:
    return {
        "interactive": Profile(
            "interactive", 64, 4, 1 << 20, False, "aes-256-gcm",
            "opens in tens of milliseconds: the least Argon2id cost accepted, one key slot"),
        "document": Profile(
            "document", 128, 6, 1 << 20, True, "aes-256-gcm",
            "RFC 9106's second recommendation (64 MiB, 3 passes) and decoys; 1 MiB chunks keep random "
            "access cheap"),
        "media": Profile(
            "media", 128, 6, 8 << 20, False, "aes-256-gcm",
            "large files: 8 MiB chunks cut per-chunk overhead for throughput; the KDF is negligible next to "
            "the data"),
        "credentials": Profile(
            "credentials", 256, 8, 64 << 10, True, "aes-256-gcm",
            "small, high-value secrets: the highest cost here (256 MiB, 4 passes) makes each password guess "
            "expensive, decoys hide the real slot, small chunks fit small files"),
        "backup": Profile(
            "backup", 128, 6, 4 << 20, True, _backup_suite(),
            "large archives kept for long: 4 MiB chunks for throughput, ChaCha20-Poly1305 where the CPU has "
            "no AES instructions (constant-time and fast in software)"),
    }


NAMES = ("document", "media", "credentials", "backup", "interactive")


def get(name: str) -> Profile:
    """The profile called ``name``."""
    profiles = _profiles()
    if name not in profiles:
        raise ParameterError(f"unknown profile {name!r}; choose one of {', '.join(NAMES)}")
    return profiles[name]


def all_profiles() -> list[Profile]:
    """Every profile, in the documented order."""
    return [get(name) for name in NAMES]
