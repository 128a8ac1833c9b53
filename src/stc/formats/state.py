"""Saved state of an STCContext: the JSON-ready form, its MAC and its strict parser (docs/format.md §3).

Version 2 carries an HMAC-SHA256, keyed from the seed, over the canonical encoding (§2) of
everything else, so an edited state is refused before anything changes.  Version 1 (release
0.1) has no MAC and loads only when the caller says so.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from typing import Any

from ..crypto import cel, kdf
from ..crypto import encoding as _encoding
from ..errors import ParameterError, StateError

VERSION = 2
LEGACY_VERSION = 1
_HEX32 = re.compile(r"[0-9a-f]{32}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_SECTIONS = {
    "cel_state": {"version", "epoch", "operations", "bytes_processed", "seed_check"},
    "phe_state": {"version", "hash_count"},
    "pcf_state": {"version", "suite", "lattice_size", "depth"},
}


@dataclass(frozen=True)
class Snapshot:
    """The values a state carries (validated for type and range, not yet for the KDF floor)."""

    epoch: int
    operations: int
    bytes_processed: int
    hash_count: int
    suite: str
    lattice_size: int
    depth: int


def mac(state_key: bytes, state: dict[str, Any]) -> bytes:
    """HMAC-SHA256 over the canonical encoding of the state without its ``mac`` field."""
    body = {name: {k: v for k, v in section.items() if k != "mac"} for name, section in state.items()}
    return hmac.new(state_key, _encoding.encode_context(body), "sha256").digest()


def build(snapshot: Snapshot, seed_check: bytes, state_key: bytes) -> dict[str, Any]:
    """The JSON-ready state of ``snapshot``, with its MAC."""
    state: dict[str, Any] = {
        "cel_state": {"version": VERSION, "epoch": snapshot.epoch, "operations": snapshot.operations,
                      "bytes_processed": snapshot.bytes_processed, "seed_check": seed_check.hex()},
        "phe_state": {"version": VERSION, "hash_count": snapshot.hash_count},
        "pcf_state": {"version": VERSION, "suite": snapshot.suite, "lattice_size": snapshot.lattice_size,
                      "depth": snapshot.depth},
    }
    state["cel_state"]["mac"] = mac(state_key, state).hex()
    return state


def parse(state: object, seed_check: bytes, state_key: bytes, *, legacy_unauthenticated: bool) -> Snapshot:
    """Check every key, type and range, the seed and the MAC; StateError on anything wrong."""
    if not isinstance(state, dict) or set(state) != set(_SECTIONS):
        raise StateError("state must be a dict with exactly the keys cel_state, phe_state, pcf_state")
    for name in _SECTIONS:
        if not isinstance(state[name], dict):
            raise StateError(f"state[{name!r}] must be a dict")
    cel_s, phe_s, pcf_s = state["cel_state"], state["phe_state"], state["pcf_state"]
    version = _int(cel_s, "version", LEGACY_VERSION, VERSION)
    for name, keys in _SECTIONS.items():
        expected = keys | ({"mac"} if name == "cel_state" and version == VERSION else set())
        if set(state[name]) != expected:
            raise StateError(f"{name} must have exactly the keys {sorted(expected)}")
    if any(_int(section, "version", 0, 255) != version for section in (phe_s, pcf_s)):
        raise StateError("all sections of a state must have the same version")
    snapshot = Snapshot(
        epoch=_int(cel_s, "epoch", 0, cel.MAX_EPOCH),
        operations=_int(cel_s, "operations", 0, 2**63),
        bytes_processed=_int(cel_s, "bytes_processed", 0, 2**63),
        hash_count=_int(phe_s, "hash_count", 0, 2**63),
        suite=pcf_s["suite"],
        lattice_size=_int(pcf_s, "lattice_size", kdf.MIN_LATTICE, kdf.MAX_LATTICE),
        depth=_int(pcf_s, "depth", kdf.MIN_DEPTH, kdf.MAX_DEPTH),
    )
    check = cel_s["seed_check"]
    if not isinstance(check, str) or not _HEX32.fullmatch(check):
        raise StateError("cel_state.seed_check must be 32 lower-case hex digits")
    if not isinstance(snapshot.suite, str):
        raise StateError("pcf_state.suite must be a string")
    # Every field has its type now, so the canonical encoding under the MAC cannot fail on types.
    if not hmac.compare_digest(bytes.fromhex(check), seed_check):
        raise StateError("this state belongs to a context with another seed")
    if version == VERSION:
        given = cel_s["mac"]
        if not isinstance(given, str) or not _HEX64.fullmatch(given):
            raise StateError("cel_state.mac must be 64 lower-case hex digits")
        try:
            expected_mac = mac(state_key, state)
        except ParameterError:
            raise StateError("the state holds a value that is not valid text") from None
        if not hmac.compare_digest(bytes.fromhex(given), expected_mac):
            raise StateError("the state was modified: its MAC does not match (nothing was loaded)")
    elif not legacy_unauthenticated:
        raise StateError(
            "this is a version-1 state, which carries no MAC, so edits cannot be detected; load it once "
            "with legacy_unauthenticated=True if you trust it, then save_state() again"
        )
    return snapshot


def _int(section: dict[str, Any], key: str, low: int, high: int) -> int:
    value = section.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise StateError(f"{key} must be an integer in [{low}, {high}]")
    return value
