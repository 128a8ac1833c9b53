"""Shared fixtures: cheap Argon2 settings where cost is not what a test is about."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "vectors"))

import stc

CHEAP = {"lattice_size": 16, "depth": 2, "insecure_allow_weak_kdf": True}


@pytest.fixture
def ctx() -> stc.STCContext:
    """A context with Argon2id at 1 MiB / 1 pass."""
    return stc.STCContext("test-seed", **CHEAP)
