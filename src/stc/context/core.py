"""STCContext: authenticated encryption to passphrases and public-key recipients, bound to a
seed, an epoch and optional context data (the manual's main object).

It composes the layers below it: recipients and passphrase slots give a file key and a
header (:mod:`stc.keys.envelope`, version 2; :mod:`stc.keys.v1_slots` reads version 1), and the STREAM
layer (:mod:`stc.files.stream`) seals chunks under the payload key.  docs/design.md explains
why, docs/format.md gives the bytes.
"""

from __future__ import annotations

import os
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from ..crypto import cel, entropy, kdf, phe
from ..crypto import encoding as _encoding
from ..crypto import forksafe as _forksafe
from ..crypto.encoding import ContextData, Seed
from ..crypto.suite import Suite
from ..errors import ParameterError, StateError
from ..formats import state
from ..formats.headers import FORMATS_WRITTEN
from ..formats.v1 import MAX_SLOTS
from ..keys.keyslots import DEFAULT_V1_SLOTS
from .messages import MessageMethods

RandomSource = Callable[[int], bytes]


class STCContext(MessageMethods):
    """A seed-bound encryption context; create once and reuse (it caches password keys).

    ``seed`` is an application secret mixed into every key: the same password under
    another seed cannot decrypt.  It is not stretched here (the password is), so the
    outputs of :meth:`hash` and :meth:`derive_key` are only as strong as the seed.

    Thread-safe: one context may be shared by threads (its key cache, epoch and counters
    are guarded; Argon2id runs one at a time per process).  It cannot be pickled or
    copied (it holds keys); use :meth:`save_state` and a new context instead.

    New encryptions refuse an Argon2id cost below ``kdf.ENCRYPT_FLOOR`` (the manual's
    ``lattice_size=64, depth=4``), and decryption refuses headers below the floor of
    their format version.  ``insecure_allow_weak_kdf=True`` lifts both, for tests only.

    What a header may make a reader do is bounded before any key work: an Argon2id cost above
    ``max_kdf`` (default ``kdf.DEFAULT_MAX_KDF``, the ``--paranoid`` preset, or this context's
    own cost if higher; ``"MIB:PASSES"`` raises it) is refused; version-1 data is refused
    with ``min_version=2``, and a version-1 header with more than ``v1_max_slots`` (default 4)
    key slots is refused, since each slot of a crafted header tests one more password.
    """

    def __init__(
        self,
        seed: Seed,
        *,
        lattice_size: int = 128,
        depth: int = 6,
        suite: Suite | str | int = Suite.AES_256_GCM,
        insecure_allow_weak_kdf: bool = False,
        max_kdf: kdf.KdfCeiling | str | tuple[int, int] | None = None,
        min_version: int = 1,
        v1_max_slots: int = DEFAULT_V1_SLOTS,
    ) -> None:
        if not isinstance(insecure_allow_weak_kdf, bool):
            raise ParameterError("insecure_allow_weak_kdf must be a bool")
        if isinstance(min_version, bool) or min_version not in (1, 2):
            raise ParameterError(f"min_version must be 1 (read version-1 data) or 2 (refuse it); got {min_version!r}")
        if isinstance(v1_max_slots, bool) or not isinstance(v1_max_slots, int) or not 1 <= v1_max_slots <= MAX_SLOTS:
            raise ParameterError(f"v1_max_slots must be an integer in [1, {MAX_SLOTS}]; got {v1_max_slots!r}")
        self._weak_ok = insecure_allow_weak_kdf
        self._max_kdf = kdf.DEFAULT_MAX_KDF if max_kdf is None else kdf.KdfCeiling.parse(max_kdf)
        self._min_version, self._v1_max_slots = min_version, v1_max_slots
        self._kdf = self._checked_cost(lattice_size, depth, ParameterError)
        self._lattice_size, self._depth = lattice_size, depth
        self.suite = Suite.parse(suite)
        self._root = cel.seed_root(_encoding.encode_seed(seed))
        self._seed_check = cel.seed_check(self._root)
        self._state_key = kdf.hkdf(self._root, b"state mac")
        self.cel = cel.CEL(self._root)
        self._rand: RandomSource = os.urandom
        self._kdf_salt = self._rand(kdf.SALT_SIZE)
        self._cache: OrderedDict[bytes, bytes] = OrderedDict()
        self._cache_secret = secrets.token_bytes(32)
        self._lock = threading.Lock()
        self._init_sessions()
        self.hash_count = 0
        self._min_quality: float | None = None
        _forksafe.register(self)

    def _after_fork_in_child(self) -> None:
        self._lock = threading.Lock()
        self._forget_sessions()

    def __reduce__(self) -> str | tuple[Any, ...]:
        raise ParameterError(
            "an STCContext holds keys and cannot be pickled or copied; "
            "pickle save_state() and create STCContext(seed) again"
        )

    def _checked_cost(self, lattice_size: int, depth: int, error: type[Exception]) -> kdf.KdfParams:
        """Map the knobs to an Argon2id cost and refuse one below the encryption floor."""
        params = kdf.KdfParams.from_knobs(lattice_size, depth)
        if not self._weak_ok and not params.meets(kdf.ENCRYPT_FLOOR):
            raise error(
                f"lattice_size={lattice_size}, depth={depth} gives Argon2id {params.memory_kib // 1024} MiB and "
                f"{params.passes} pass(es), below the minimum of {kdf.ENCRYPT_FLOOR.describe()} "
                f"(lattice_size >= 64 and depth >= 4)"
            )
        return params

    def __repr__(self) -> str:
        return (
            f"STCContext(lattice_size={self._lattice_size}, depth={self._depth}, "
            f"suite={self.suite.label!r}, epoch={self.cel.epoch})"
        )

    @property
    def lattice_size(self) -> int:
        """Argon2id memory knob: memory = lattice_size**2 * 4 KiB."""
        return self._lattice_size

    @property
    def depth(self) -> int:
        """Argon2id time knob: passes = depth // 2."""
        return self._depth

    @property
    def kdf_params(self) -> kdf.KdfParams:
        """The Argon2id cost new messages are written with."""
        return self._kdf

    # ---- PHE / derivation ------------------------------------------------------------
    def hash(self, data: str | bytes, *, context_data: ContextData = None) -> bytes:
        """Keyed BLAKE2b-256 of ``data`` under the current epoch (deterministic)."""
        if isinstance(data, str):
            raw = _encoding.utf8(data, "the data")
        elif isinstance(data, (bytes, bytearray, memoryview)):
            raw = bytes(data)
        else:
            raise ParameterError(f"data must be str or bytes, not {type(data).__name__}")
        encoded_context = _encoding.encode_context(context_data)
        with self._lock:
            self.hash_count += 1
        self.cel.record(len(raw))
        return phe.keyed_hash(phe.phe_key(self.cel.key), encoded_context, raw)

    def derive_key(self, length: int = 32, *, purpose: str = "default") -> bytes:
        """A secret key for ``purpose`` under the current epoch (HKDF-SHA256)."""
        if not isinstance(purpose, str):
            raise ParameterError("purpose must be a str")
        if isinstance(length, bool) or not isinstance(length, int):
            raise ParameterError("length must be an integer")
        return kdf.hkdf(self.cel.key, b"derive " + _encoding.utf8(purpose, "purpose"), length=length)

    # ---- health and state --------------------------------------------------------------
    def get_entropy_health(self) -> dict[str, Any]:
        """SP 800-90B health tests on fresh OS randomness, weighed by this epoch's wear."""
        return entropy.entropy_health(self.cel.wear, self.cel.operations, self.cel.bytes_processed, self.cel.epoch)

    def get_entropy_profile(self) -> dict[str, Any]:
        """STC 0.4's name for :meth:`get_entropy_health` (the same report)."""
        return self.get_entropy_health()

    def set_minimum_entropy_threshold(self, threshold: float | None) -> None:
        """Refuse to encrypt while ``get_entropy_health()['quality_score']`` is below ``threshold``
        (0..1; None turns the check off).  Each encryption then runs the health tests (~1 ms)."""
        if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, (int, float))
                                      or not 0.0 <= threshold <= 1.0):
            raise ParameterError(f"the threshold must be a number in [0, 1] or None; got {threshold!r}")
        self._min_quality = None if threshold is None else float(threshold)

    def _check_health(self) -> None:
        if self._min_quality is None:
            return
        score = self.get_entropy_health()["quality_score"]
        if score < self._min_quality:
            raise ParameterError(
                f"entropy health {score:.3f} is below the minimum of {self._min_quality:.3f} set for this context: "
                "call ctx.cel.update() to start a new epoch (or lower the threshold)"
            )

    def get_status(self) -> dict[str, Any]:
        """A summary of this context, with no secret: settings, epoch, wear and counters."""
        from .. import __version__

        return {
            "version": __version__,
            "formats_written": dict(FORMATS_WRITTEN),
            "suite": self.suite.label,
            "lattice_size": self._lattice_size,
            "depth": self._depth,
            "kdf": {"memory_kib": self._kdf.memory_kib, "passes": self._kdf.passes, "lanes": self._kdf.lanes},
            "epoch": self.cel.epoch,
            "epoch_operations": self.cel.operations,
            "epoch_bytes": self.cel.bytes_processed,
            "epoch_wear": self.cel.wear,
            "hash_count": self.hash_count,
            "minimum_entropy_threshold": self._min_quality,
        }

    def save_state(self) -> dict[str, Any]:
        """JSON-ready state, authenticated with a MAC keyed from the seed (docs/format.md §3).

        It holds no key, but treat it as secret: it lets someone test guesses of the seed.
        """
        with self._lock:
            hash_count = self.hash_count
        snapshot = state.Snapshot(self.cel.epoch, self.cel.operations, self.cel.bytes_processed, hash_count,
                                  self.suite.label, self._lattice_size, self._depth)
        return state.build(snapshot, self._seed_check, self._state_key)

    def load_state(self, saved: dict[str, Any], *, legacy_unauthenticated: bool = False) -> None:
        """Restore a state from :meth:`save_state`; StateError if malformed, modified or
        from another seed, and nothing changes then.

        Version-1 states (written before states carried a MAC) are refused unless
        ``legacy_unauthenticated=True``: nothing can tell whether they were edited.
        """
        snap = state.parse(saved, self._seed_check, self._state_key, legacy_unauthenticated=legacy_unauthenticated)
        params = self._checked_cost(snap.lattice_size, snap.depth, StateError)
        try:
            suite = Suite.parse(snap.suite)
        except ParameterError as exc:
            raise StateError(f"pcf_state.suite: {exc}") from None
        # All checks passed: commit.
        self._kdf = params
        self._lattice_size, self._depth, self.suite = snap.lattice_size, snap.depth, suite
        self.cel.restore(snap.epoch, snap.operations, snap.bytes_processed)
        with self._lock:
            self.hash_count = snap.hash_count


def decrypting_context(seed: Seed, **limits: Any) -> STCContext:
    """A context used only to decrypt: the Argon2id cost comes from each header (the
    default knobs cost nothing until something is encrypted); ``limits`` are ``max_kdf``,
    ``min_version`` and ``v1_max_slots``."""
    return STCContext(seed, **limits)
