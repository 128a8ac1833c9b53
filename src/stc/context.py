"""STCContext: password-based authenticated encryption bound to a seed, an
epoch and optional context data (the manual's main object).

Layering: Argon2id(password) -> key-encryption key (with the seed's epoch key
and the header) -> opens a key slot -> random data key -> HKDF payload key
(bound to every header byte and the context data) -> AEAD.  docs/design.md
explains why, docs/format.md gives the bytes.
"""

from __future__ import annotations

import hmac
import os
import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

from cryptography.exceptions import InvalidTag

from . import _encoding, _forksafe, cel, entropy, kdf, phe
from ._encoding import ContextData, Password, Seed
from ._payload import chunk_nonce, payload_key
from .errors import (
    ContextMismatchError,
    FormatError,
    IntegrityError,
    KDFLimitError,
    ParameterError,
    StateError,
    WrongPasswordError,
)
from .filestream import PathOrFile, Progress, decrypt_file, decrypt_range, encrypt_file
from .metadata import DECOY_SLOTS, MAX_SLOTS, Metadata
from .slots import open_slots, seal_slots, slot_kek, wrap_key
from .suite import KEY_SIZE, TAG_SIZE, Suite

RandomSource = Callable[[int], bytes]

_CACHE_ENTRIES = 32
_STATE_VERSION = 2
_LEGACY_STATE_VERSION = 1
_HEX32 = re.compile(r"[0-9a-f]{32}")
_HEX64 = re.compile(r"[0-9a-f]{64}")


def check_context_flag(meta: Metadata, context_data: ContextData) -> None:
    """Refuse early, with a precise message, when context data is missing or unexpected."""
    if meta.context_bound and context_data is None:
        raise ContextMismatchError("this data was encrypted with context data; pass the same context_data")
    if not meta.context_bound and context_data is not None:
        raise ContextMismatchError("this data was encrypted without context data; pass context_data=None")


class STCContext:
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
    """

    def __init__(
        self,
        seed: Seed,
        *,
        lattice_size: int = 128,
        depth: int = 6,
        suite: "Suite | str | int" = Suite.AES_256_GCM,
        insecure_allow_weak_kdf: bool = False,
    ) -> None:
        if not isinstance(insecure_allow_weak_kdf, bool):
            raise ParameterError("insecure_allow_weak_kdf must be a bool")
        self._weak_ok = insecure_allow_weak_kdf
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
        self.hash_count = 0
        _forksafe.register(self)

    def _after_fork_in_child(self) -> None:
        self._lock = threading.Lock()

    def __reduce__(self) -> "str | tuple[Any, ...]":
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

    # ---- password keys -------------------------------------------------------------
    def _password_key(self, password: bytes, salt: bytes, params: kdf.KdfParams) -> bytes:
        """Argon2id, memoised per (password, salt, cost) under a per-context random key."""
        tag = hmac.new(
            self._cache_secret,
            b"%d.%d.%d." % (params.memory_kib, params.passes, params.lanes) + salt + password,
            "sha256",
        ).digest()
        with self._lock:
            key = self._cache.get(tag)
            if key is not None:
                self._cache.move_to_end(tag)
                return key
        key = kdf.argon2id(password, salt, params)  # outside our lock: it may take seconds
        with self._lock:
            self._cache[tag] = key
            self._cache.move_to_end(tag)
            if len(self._cache) > _CACHE_ENTRIES:
                self._cache.popitem(last=False)
        return key

    def _randbelow(self, n: int) -> int:
        while True:  # rejection sampling keeps the choice uniform
            value = self._rand(1)[0]
            if value < 256 - 256 % n:
                return value % n

    # ---- headers (shared by messages and files) ------------------------------------
    def _new_header(
        self,
        passwords: Sequence[Password],
        *,
        context_data: ContextData,
        use_decoys: bool,
        text: bool = False,
        chunk_size: int = 0,
        is_file: bool = False,
    ) -> tuple[Metadata, bytes, bytes]:
        """A fresh header, its random data key and the encoded context data."""
        encoded = [_encoding.encode_password(p) for p in passwords]
        if not encoded:
            raise ParameterError("at least one password is needed")
        if len(set(encoded)) != len(encoded):
            raise ParameterError("the same password was given twice")
        total = max(DECOY_SLOTS, len(encoded)) if use_decoys else len(encoded)
        if total > MAX_SLOTS:
            raise ParameterError(f"at most {MAX_SLOTS} passwords can unlock one message")
        encoded_context = _encoding.encode_context(context_data)  # validated before any key work
        epoch, epoch_key = self.cel.current()
        # Placeholder slots give the header its final shape; the prefix does not depend on them.
        draft = Metadata(
            suite=self.suite,
            kdf=self._kdf,
            epoch=epoch,
            kdf_salt=self._kdf_salt,
            nonce=self._rand(kdf.SALT_SIZE),
            slots=(bytes(KEY_SIZE + TAG_SIZE),) * total,
            text=text,
            context_bound=context_data is not None,
            chunk_size=chunk_size,
            is_file=is_file,
        )
        dek = self._rand(KEY_SIZE)
        keks = [slot_kek(self._password_key(p, self._kdf_salt, self._kdf), epoch_key, draft.prefix) for p in encoded]
        slots = seal_slots([wrap_key(self.suite, k, dek) for k in keks], total, self._rand, self._randbelow)
        meta = Metadata(
            suite=draft.suite,
            kdf=draft.kdf,
            epoch=epoch,
            kdf_salt=draft.kdf_salt,
            nonce=draft.nonce,
            slots=slots,
            text=text,
            context_bound=draft.context_bound,
            chunk_size=chunk_size,
            is_file=is_file,
        )
        return meta, dek, encoded_context

    def _open_header(self, meta: Metadata, password: Password, context_data: ContextData) -> tuple[int, bytes]:
        """Open the key slots: return (slot index, data key) or raise WrongPasswordError.

        Checks, in order: the header's Argon2id cost against its version's floor
        (KDFLimitError), the context-data flag (ContextMismatchError), the password.
        """
        if not self._weak_ok and not meta.kdf.meets(kdf.V1_DECRYPT_FLOOR):
            raise KDFLimitError(
                f"the header asks for Argon2id at {meta.kdf.memory_kib} KiB, {meta.kdf.passes} pass(es) and "
                f"{meta.kdf.lanes} lanes, below the minimum of {kdf.V1_DECRYPT_FLOOR.describe()}: "
                f"refused, since such a header makes password guessing cheap"
            )
        check_context_flag(meta, context_data)
        pw = _encoding.encode_password(password)
        kek = slot_kek(self._password_key(pw, meta.kdf_salt, meta.kdf), self.cel.key_for(meta.epoch), meta.prefix)
        opened = open_slots(meta.suite, kek, meta.slots)
        if opened is None:
            raise WrongPasswordError("wrong password (or wrong seed): no key slot opened")
        return opened

    # ---- messages ------------------------------------------------------------------
    def encrypt(
        self,
        data: "str | bytes",
        password: Password,
        *,
        context_data: ContextData = None,
        use_decoys: bool = True,
        additional_passwords: Sequence[Password] = (),
    ) -> tuple[bytes, Metadata]:
        """Encrypt ``data``; return ``(ciphertext, metadata)``, both needed to decrypt.

        Any of ``password`` and ``additional_passwords`` opens the message.  The same
        ``context_data`` (JSON-like; see docs/format.md) must be given to decrypt.
        """
        if isinstance(data, str):
            text, payload = True, _encoding.utf8(data, "the data")
        elif isinstance(data, (bytes, bytearray, memoryview)):
            text, payload = False, bytes(data)
        else:
            raise ParameterError(f"data must be str or bytes, not {type(data).__name__}")
        meta, dek, encoded_context = self._new_header(
            [password, *additional_passwords], context_data=context_data, use_decoys=use_decoys, text=text
        )
        aead = meta.suite.aead(payload_key(dek, meta, encoded_context))
        ciphertext = aead.encrypt(chunk_nonce(0, True), payload, encoded_context)
        self.cel.record(len(payload))
        return ciphertext, meta

    def decrypt(
        self,
        ciphertext: bytes,
        metadata: "Metadata | bytes",
        password: Password,
        *,
        context_data: ContextData = None,
    ) -> "str | bytes":
        """Authenticate and decrypt; returns ``str`` if a ``str`` was encrypted.

        Raises WrongPasswordError (no key slot opened), ContextMismatchError or
        IntegrityError (the payload did not authenticate), FormatError (malformed).
        """
        meta = metadata if isinstance(metadata, Metadata) else Metadata.from_bytes(metadata)
        if meta.is_file:
            raise FormatError("this is a file header; use decrypt_stream")
        if not isinstance(ciphertext, (bytes, bytearray, memoryview)):
            raise FormatError(f"ciphertext must be bytes, not {type(ciphertext).__name__}")
        if len(ciphertext) < TAG_SIZE:
            raise IntegrityError(f"ciphertext is {len(ciphertext)} bytes, shorter than its tag")
        _, dek = self._open_header(meta, password, context_data)
        encoded_context = _encoding.encode_context(context_data)
        aead = meta.suite.aead(payload_key(dek, meta, encoded_context))
        try:
            payload = aead.decrypt(chunk_nonce(0, True), bytes(ciphertext), encoded_context)
        except InvalidTag:
            raise IntegrityError(
                "the password is right but the data did not authenticate: "
                "wrong context data, or the ciphertext or metadata was modified"
            ) from None
        if meta.text:
            try:
                return payload.decode("utf-8")
            except UnicodeDecodeError:  # unreachable unless the encryptor was faulty
                raise IntegrityError("authenticated text is not valid UTF-8") from None
        return payload

    def encrypt_blob(self, data: "str | bytes", password: Password, **kwargs: Any) -> bytes:
        """One-value form: ``metadata.to_bytes() + ciphertext``."""
        ciphertext, meta = self.encrypt(data, password, **kwargs)
        return meta.to_bytes() + ciphertext

    def decrypt_blob(self, blob: bytes, password: Password, *, context_data: ContextData = None) -> "str | bytes":
        """Inverse of :meth:`encrypt_blob`."""
        meta, used = Metadata.parse_prefix(blob)
        return self.decrypt(blob[used:], meta, password, context_data=context_data)

    # ---- files -----------------------------------------------------------------------
    def encrypt_stream(
        self,
        input_path: "PathOrFile",
        output_path: "PathOrFile",
        password: Password,
        *,
        chunk_size: int = 1 << 20,
        progress_callback: "Progress | None" = None,
        context_data: ContextData = None,
        use_decoys: bool = True,
        additional_passwords: Sequence[Password] = (),
    ) -> Metadata:
        """Encrypt a file of any size in constant memory; return its header.

        The output is self-contained (the header is written first); a path output
        appears only once complete.  ``progress_callback(done, total)`` runs after
        each non-empty chunk (``total`` is None for pipes).
        """
        return encrypt_file(
            self, input_path, output_path, [password, *additional_passwords],
            chunk_size=chunk_size, progress_callback=progress_callback,
            context_data=context_data, use_decoys=use_decoys,
        )

    def decrypt_stream(
        self,
        input_path: "PathOrFile",
        metadata: "Metadata | None" = None,
        output_path: "PathOrFile | None" = None,
        password: "Password | None" = None,
        *,
        chunk_size: "int | None" = None,
        progress_callback: "Progress | None" = None,
        context_data: ContextData = None,
    ) -> Metadata:
        """Decrypt a file made by :meth:`encrypt_stream`; return its header.

        ``metadata`` is optional (the file holds it) and must match when given.
        ``chunk_size`` is accepted for the manual's calls and ignored: the header
        decides.  A path output is written to a temporary file and renamed only
        after the final chunk authenticated; on error nothing is left behind.
        """
        if output_path is None or password is None:
            raise ParameterError("output_path and password are required")
        del chunk_size
        meta, _, _, _ = decrypt_file(
            self, input_path, output_path, password,
            metadata=metadata, progress_callback=progress_callback, context_data=context_data,
        )
        return meta

    def decrypt_range(
        self,
        input_path: "str | os.PathLike[str]",
        offset: int,
        length: int,
        password: Password,
        *,
        context_data: ContextData = None,
    ) -> bytes:
        """Random access: plaintext bytes [offset, offset+length) of an encrypted file,
        authenticating only the chunks that cover them (and the final chunk)."""
        return decrypt_range(self, input_path, offset, length, password, context_data=context_data)

    # ---- PHE / derivation ------------------------------------------------------------
    def hash(self, data: "str | bytes", *, context_data: ContextData = None) -> bytes:
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

    def save_state(self) -> dict[str, Any]:
        """JSON-ready state, authenticated with a MAC keyed from the seed (docs/format.md §3).

        It holds no key, but treat it as secret: it lets someone test guesses of the seed.
        """
        with self._lock:
            hash_count = self.hash_count
        epoch, _ = self.cel.current()
        state: dict[str, Any] = {
            "cel_state": {
                "version": _STATE_VERSION,
                "epoch": epoch,
                "operations": self.cel.operations,
                "bytes_processed": self.cel.bytes_processed,
                "seed_check": self._seed_check.hex(),
            },
            "phe_state": {"version": _STATE_VERSION, "hash_count": hash_count},
            "pcf_state": {
                "version": _STATE_VERSION,
                "suite": self.suite.label,
                "lattice_size": self._lattice_size,
                "depth": self._depth,
            },
        }
        state["cel_state"]["mac"] = self._state_mac(state).hex()
        return state

    def _state_mac(self, state: dict[str, Any]) -> bytes:
        """HMAC-SHA256 over the canonical encoding of the state without its ``mac`` field."""
        body = {name: {k: v for k, v in section.items() if k != "mac"} for name, section in state.items()}
        return hmac.new(self._state_key, _encoding.encode_context(body), "sha256").digest()

    def load_state(self, state: dict[str, Any], *, legacy_unauthenticated: bool = False) -> None:
        """Restore a state from :meth:`save_state`; StateError if malformed, modified or
        from another seed, and nothing changes then.

        Version-1 states (written before states carried a MAC) are refused unless
        ``legacy_unauthenticated=True``: nothing can tell whether they were edited.
        """
        if not isinstance(state, dict) or set(state) != {"cel_state", "phe_state", "pcf_state"}:
            raise StateError("state must be a dict with exactly the keys cel_state, phe_state, pcf_state")
        cel_s = _section(state, "cel_state")
        version = _int(cel_s, "version", _LEGACY_STATE_VERSION, _STATE_VERSION)
        mac_keys = {"mac"} if version == _STATE_VERSION else set()
        _keys(cel_s, "cel_state", {"version", "epoch", "operations", "bytes_processed", "seed_check"} | mac_keys)
        phe_s = _keys(_section(state, "phe_state"), "phe_state", {"version", "hash_count"})
        pcf_s = _keys(_section(state, "pcf_state"), "pcf_state", {"version", "suite", "lattice_size", "depth"})
        if any(_int(section, "version", 0, 255) != version for section in (phe_s, pcf_s)):
            raise StateError("all sections of a state must have the same version")
        epoch = _int(cel_s, "epoch", 0, cel.MAX_EPOCH)
        ops = _int(cel_s, "operations", 0, 2**63)
        nbytes = _int(cel_s, "bytes_processed", 0, 2**63)
        hashes = _int(phe_s, "hash_count", 0, 2**63)
        lattice = _int(pcf_s, "lattice_size", kdf.MIN_LATTICE, kdf.MAX_LATTICE)
        depth = _int(pcf_s, "depth", kdf.MIN_DEPTH, kdf.MAX_DEPTH)
        check, suite_label = cel_s["seed_check"], pcf_s["suite"]
        if not isinstance(check, str) or not _HEX32.fullmatch(check):
            raise StateError("cel_state.seed_check must be 32 lower-case hex digits")
        if not isinstance(suite_label, str):
            raise StateError("pcf_state.suite must be a string")
        # Every field has its type now, so the canonical encoding under the MAC cannot fail.
        if not hmac.compare_digest(bytes.fromhex(check), self._seed_check):
            raise StateError("this state belongs to a context with another seed")
        if version == _STATE_VERSION:
            mac = cel_s["mac"]
            if not isinstance(mac, str) or not _HEX64.fullmatch(mac):
                raise StateError("cel_state.mac must be 64 lower-case hex digits")
            try:
                expected = self._state_mac(state)
            except ParameterError:
                raise StateError("the state holds a value that is not valid text") from None
            if not hmac.compare_digest(bytes.fromhex(mac), expected):
                raise StateError("the state was modified: its MAC does not match (nothing was loaded)")
        elif not legacy_unauthenticated:
            raise StateError(
                "this is a version-1 state, which carries no MAC, so edits cannot be detected; load it once "
                "with legacy_unauthenticated=True if you trust it, then save_state() again"
            )
        params = self._checked_cost(lattice, depth, StateError)
        try:
            suite = Suite.parse(suite_label)
        except ParameterError as exc:
            raise StateError(f"pcf_state.suite: {exc}") from None
        # All checks passed: commit.
        self._kdf = params
        self._lattice_size, self._depth, self.suite = lattice, depth, suite
        self.cel.restore(epoch, ops, nbytes)
        with self._lock:
            self.hash_count = hashes


def decrypting_context(seed: Seed) -> STCContext:
    """A context used only to decrypt: the Argon2id cost comes from each header (the
    default knobs cost nothing until something is encrypted)."""
    return STCContext(seed)


def _section(state: dict[str, Any], name: str) -> dict[str, Any]:
    section = state[name]
    if not isinstance(section, dict):
        raise StateError(f"state[{name!r}] must be a dict")
    return section


def _keys(section: dict[str, Any], name: str, keys: set[str]) -> dict[str, Any]:
    if set(section) != keys:
        raise StateError(f"{name} must have exactly the keys {sorted(keys)}")
    return section


def _int(section: dict[str, Any], key: str, low: int, high: int) -> int:
    value = section.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise StateError(f"{key} must be an integer in [{low}, {high}]")
    return value
