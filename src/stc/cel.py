"""CEL: the context's key-evolution layer, an epoch-indexed key hierarchy.

``seed_root = HKDF(encode(seed))`` and ``epoch_key(e) = HKDF(seed_root, e)``.
:meth:`CEL.update` moves to the next epoch and drops the previous epoch key.
Every epoch key is one-way (it reveals neither the root nor another epoch), and
any context holding the seed can recompute the key of the epoch a message
names, in constant time, so decryption work never depends on the epoch value.
"""

from __future__ import annotations

from .errors import ParameterError
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
    """Epoch state of one context: the current epoch, its key, and its wear counters."""

    __slots__ = ("_epoch", "_key", "_root", "bytes_processed", "operations")

    def __init__(self, root: bytes, epoch: int = 0) -> None:
        self._root = root
        self._epoch = epoch
        self._key = epoch_key(root, epoch)
        self.operations = 0
        self.bytes_processed = 0

    def __repr__(self) -> str:
        return f"CEL(epoch={self._epoch}, operations={self.operations})"

    @property
    def epoch(self) -> int:
        """Current epoch number (recorded in every message's metadata)."""
        return self._epoch

    @property
    def key(self) -> bytes:
        """The current epoch key (secret; internal use)."""
        return self._key

    def key_for(self, epoch: int) -> bytes:
        """The key of any epoch, e.g. the one a message's metadata names."""
        return self._key if epoch == self._epoch else epoch_key(self._root, epoch)

    def update(self) -> int:
        """Ratchet to the next epoch, reset the wear counters, return the new epoch."""
        if self._epoch >= MAX_EPOCH:
            raise ParameterError("the context is at its last epoch; create a context with a new seed")
        self._set(self._epoch + 1)
        return self._epoch

    def _set(self, epoch: int, operations: int = 0, bytes_processed: int = 0) -> None:
        self._key = epoch_key(self._root, epoch)
        self._epoch = epoch
        self.operations = operations
        self.bytes_processed = bytes_processed

    def record(self, nbytes: int) -> None:
        """Count one operation of ``nbytes`` against this epoch's wear budget."""
        self.operations += 1
        self.bytes_processed += nbytes

    @property
    def wear(self) -> float:
        """Fraction of this epoch's budget used (the larger of operations and bytes), in [0, 1]."""
        used = max(self.operations / EPOCH_OPERATION_BUDGET, self.bytes_processed / EPOCH_BYTE_BUDGET)
        return min(1.0, used)
