"""CEL: the context's key-evolution layer, an epoch-indexed key hierarchy.

``seed_root = HKDF(encode(seed))`` and ``epoch_key(e) = HKDF(seed_root, e)``.
:meth:`CEL.update` moves to the next epoch and drops the previous epoch key.
Every epoch key is one-way (it reveals neither the root nor another epoch), and
any context holding the seed can recompute the key of the epoch a message
names, in constant time, so decryption work never depends on the epoch value.
"""

from __future__ import annotations

import threading
from typing import Any

from ..errors import ParameterError
from . import forksafe as _forksafe
from .kdf import hkdf, u32

MAX_EPOCH = 2**32 - 1

#: Wear budget per epoch (see entropy.py): operations and bytes before rotation is advised.
EPOCH_OPERATION_BUDGET = 1 << 20
EPOCH_BYTE_BUDGET = 1 << 36


def seed_root(encoded_seed: bytes) -> bytes:
    """Root key of a seed, the only value every other key of a context comes from."""
    return hkdf(encoded_seed, b"seed root", salt=b"stc/v1")


def epoch_key(root: bytes, epoch: int) -> bytes:
    """The key of ``epoch``; O(1) for every epoch in [0, 2**32)."""
    if not 0 <= epoch <= MAX_EPOCH:
        raise ParameterError(f"epoch must be in [0, {MAX_EPOCH}]; got {epoch}")
    return hkdf(root, b"cel epoch" + u32(epoch))


def seed_check(root: bytes) -> bytes:
    """A 16-byte value that identifies the seed in saved state (lets load_state refuse strangers)."""
    return hkdf(root, b"state check", length=16)


class CEL:
    """Epoch state of one context: the current epoch, its key, and its wear counters.

    Thread-safe: the (epoch, key) pair is one attribute replaced atomically, so a reader
    never pairs one epoch's number with another's key, and the counters move under a lock.
    """

    __slots__ = ("__weakref__", "_current", "_lock", "_root", "bytes_processed", "operations")

    def __init__(self, root: bytes, epoch: int = 0) -> None:
        self._root = root
        self._current = (epoch, epoch_key(root, epoch))
        self._lock = threading.Lock()
        self.operations = 0
        self.bytes_processed = 0
        _forksafe.register(self)

    def _after_fork_in_child(self) -> None:
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"CEL(epoch={self.epoch}, operations={self.operations})"

    def __reduce__(self) -> str | tuple[Any, ...]:
        raise ParameterError("a CEL holds keys and cannot be pickled or copied")

    @property
    def epoch(self) -> int:
        """Current epoch number (recorded in every message's metadata)."""
        return self._current[0]

    @property
    def key(self) -> bytes:
        """The current epoch key (secret; internal use)."""
        return self._current[1]

    def current(self) -> tuple[int, bytes]:
        """The current (epoch, key) pair, read atomically."""
        return self._current

    def key_for(self, epoch: int) -> bytes:
        """The key of any epoch, e.g. the one a message's metadata names."""
        current_epoch, key = self._current
        return key if epoch == current_epoch else epoch_key(self._root, epoch)

    def update(self) -> int:
        """Ratchet to the next epoch, reset the wear counters, return the new epoch."""
        with self._lock:
            epoch = self._current[0]
            if epoch >= MAX_EPOCH:
                raise ParameterError("the context is at its last epoch; create a context with a new seed")
            self._set_locked(epoch + 1, 0, 0)
            return epoch + 1

    def restore(self, epoch: int, operations: int, bytes_processed: int) -> None:
        """Set the epoch and wear counters (from saved state)."""
        with self._lock:
            self._set_locked(epoch, operations, bytes_processed)

    def _set_locked(self, epoch: int, operations: int, bytes_processed: int) -> None:
        self._current = (epoch, epoch_key(self._root, epoch))
        self.operations = operations
        self.bytes_processed = bytes_processed

    def record(self, nbytes: int) -> None:
        """Count one operation of ``nbytes`` against this epoch's wear budget."""
        with self._lock:
            self.operations += 1
            self.bytes_processed += nbytes

    @property
    def wear(self) -> float:
        """Fraction of this epoch's budget used (the larger of operations and bytes), in [0, 1]."""
        used = max(self.operations / EPOCH_OPERATION_BUDGET, self.bytes_processed / EPOCH_BYTE_BUDGET)
        return min(1.0, used)
