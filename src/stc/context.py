"""STCContext: authenticated encryption to passphrases and public-key recipients, bound to a
seed, an epoch and optional context data (the manual's main object).

It composes the layers below it: recipients and passphrase slots give a file key and a
header (:mod:`stc.envelope`, version 2; :mod:`stc.slots` reads version 1), and the STREAM
layer (:mod:`stc.filestream`) seals chunks under the payload key.  docs/design.md explains
why, docs/format.md gives the bytes.
"""

from __future__ import annotations

import os
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal, overload

from cryptography.exceptions import InvalidTag

from . import _encoding, _forksafe, cel, entropy, envelope, kdf, phe, state
from ._encoding import ContextData, Password, Seed
from ._payload import chunk_nonce
from .errors import FormatError, IntegrityError, ParameterError, StateError
from .filestream import Progress, check_chunk_size, decrypt_file, decrypt_range, encrypt_file
from .format_v2 import HeaderV2
from .format_v3 import HeaderV3
from .headers import FORMATS_WRITTEN, Header, MessageHeader, as_header, parse_header
from .keyslots import DEFAULT_V1_SLOTS
from .metadata import MAX_SLOTS
from .outputs import PathOrFile
from .recipients import Identity, Recipient, parse_identity, parse_recipients
from .rekeyfile import finish_interrupted, rewrite_header
from .sessions import SessionMessages
from .suite import TAG_SIZE, Suite

RandomSource = Callable[[int], bytes]


class STCContext(SessionMessages):
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

    # ---- messages ------------------------------------------------------------------
    def encrypt(
        self,
        data: str | bytes,
        password: Password | None = None,
        *,
        recipients: Iterable[Recipient | str] = (),
        context_data: ContextData = None,
        use_decoys: bool | None = None,
        additional_passwords: Sequence[Password] = (),
        format_version: int | None = None,
    ) -> tuple[bytes, HeaderV2 | HeaderV3]:
        """Encrypt ``data``; return ``(ciphertext, metadata)``, both needed to decrypt.

        Any of ``password``, ``additional_passwords`` (4 passwords at most) and the
        ``recipients`` (public keys, see :func:`stc.generate_identity`) opens the message.
        The same ``context_data`` (JSON-like; see docs/format.md) must be given to decrypt.

        A message to one password and nothing else is written in version 3: sealed under a
        session key this context derives once, so a reused context pays no key derivation per
        message.  Several passwords or recipients, ``use_decoys=True`` (pad the key slots with
        decoys, hiding how many passwords open it) or ``format_version=2`` (for readers older
        than release 0.4) write version 2.
        """
        if isinstance(data, str):
            text, payload = True, _encoding.utf8(data, "the data")
        elif type(data) is bytes:
            text, payload = False, data
        elif isinstance(data, (bytes, bytearray, memoryview)):
            text, payload = False, bytes(data)
        else:
            raise ParameterError(f"data must be str or bytes, not {type(data).__name__}")
        if isinstance(recipients, (str, Recipient)):
            recipients = [recipients]
        recipients = list(recipients)
        single = password is not None and not additional_passwords and not recipients and use_decoys is not True
        if format_version not in (None, 2, 3):
            raise ParameterError(f"format_version must be 2 or 3 (or None to choose); got {format_version!r}")
        if format_version == 3 and not single:
            raise ParameterError("format_version=3 holds one password only: no recipients, additional passwords "
                                 "or decoys")
        if single and format_version != 2:
            return self._seal_v3(payload, password, context_data, text)
        passwords = [*([] if password is None else [password]), *additional_passwords]
        header, aead, encoded_context = self._new_header(
            passwords, recipients, context_data=context_data, use_decoys=use_decoys is not False, text=text
        )
        ciphertext = aead.encrypt(chunk_nonce(0, True), payload, encoded_context)
        self.cel.record(len(payload))
        return ciphertext, header

    @overload
    def decrypt(self, ciphertext: bytes, metadata: MessageHeader | bytes, password: Password | None = None, *,
                identities: Iterable[Identity | str] = (), context_data: ContextData = None,
                text: Literal[False]) -> bytes: ...
    @overload
    def decrypt(self, ciphertext: bytes, metadata: MessageHeader | bytes, password: Password | None = None, *,
                identities: Iterable[Identity | str] = (), context_data: ContextData = None,
                text: Literal[True]) -> str: ...
    @overload
    def decrypt(self, ciphertext: bytes, metadata: MessageHeader | bytes, password: Password | None = None, *,
                identities: Iterable[Identity | str] = (), context_data: ContextData = None,
                text: None = None) -> str | bytes: ...

    def decrypt(
        self,
        ciphertext: bytes,
        metadata: MessageHeader | bytes,
        password: Password | None = None,
        *,
        identities: Iterable[Identity | str] = (),
        context_data: ContextData = None,
        text: bool | None = None,
    ) -> str | bytes:
        """Authenticate and decrypt; returns ``str`` if a ``str`` was encrypted.  As in
        :func:`subprocess.run`, ``text=False`` always gives ``bytes`` (a text is given as the
        UTF-8 bytes that were encrypted) and ``text=True`` always ``str`` (ParameterError if
        the plaintext is not UTF-8), so that a type checker knows which it is.

        Raises WrongPasswordError (no key slot opened; NoMatchingIdentityError for
        identities), ContextMismatchError or IntegrityError (the payload did not
        authenticate), FormatError (malformed).
        """
        meta = as_header(metadata)
        if meta.is_file:
            raise FormatError("this is a file header; use decrypt_stream")
        if not isinstance(ciphertext, (bytes, bytearray, memoryview)):
            raise FormatError(f"ciphertext must be bytes, not {type(ciphertext).__name__}")
        if isinstance(meta, HeaderV3):
            ids = identities if not isinstance(identities, (str, Identity)) else [identities]
            payload = self._open_v3(meta, ciphertext, password, bool(list(ids)), context_data)
        else:
            if len(ciphertext) < TAG_SIZE:
                raise IntegrityError(f"ciphertext is {len(ciphertext)} bytes, shorter than its tag")
            _, aead = self._open(meta, password, identities, context_data)
            try:
                payload = aead.decrypt(chunk_nonce(0, True), bytes(ciphertext), _encoding.encode_context(context_data))
            except InvalidTag:
                raise IntegrityError(
                    "the key is right but the data did not authenticate: "
                    "wrong context data, or the ciphertext or metadata was modified"
                ) from None
        return _as_asked(payload, meta.text, text)

    def encrypt_blob(self, data: str | bytes, password: Password | None = None, **kwargs: Any) -> bytes:
        """One-value form: ``metadata.to_bytes() + ciphertext`` (same keywords as :meth:`encrypt`)."""
        ciphertext, meta = self.encrypt(data, password, **kwargs)
        return meta.to_bytes() + ciphertext

    @overload
    def decrypt_blob(self, blob: bytes, password: Password | None = None, *,
                     identities: Iterable[Identity | str] = (), context_data: ContextData = None,
                     text: Literal[False]) -> bytes: ...
    @overload
    def decrypt_blob(self, blob: bytes, password: Password | None = None, *,
                     identities: Iterable[Identity | str] = (), context_data: ContextData = None,
                     text: Literal[True]) -> str: ...
    @overload
    def decrypt_blob(self, blob: bytes, password: Password | None = None, *,
                     identities: Iterable[Identity | str] = (), context_data: ContextData = None,
                     text: None = None) -> str | bytes: ...

    def decrypt_blob(
        self,
        blob: bytes,
        password: Password | None = None,
        *,
        identities: Iterable[Identity | str] = (),
        context_data: ContextData = None,
        text: bool | None = None,
    ) -> str | bytes:
        """Inverse of :meth:`encrypt_blob` (``text`` as for :meth:`decrypt`)."""
        meta, used = parse_header(blob)
        plain = self.decrypt(blob[used:], meta, password, identities=identities, context_data=context_data,
                             text=False)
        return _as_asked(plain, meta.text, text)

    # ---- files -----------------------------------------------------------------------
    def encrypt_stream(
        self,
        input_path: PathOrFile,
        output_path: PathOrFile,
        password: Password | None = None,
        *,
        recipients: Iterable[Recipient | str] = (),
        chunk_size: int = 1 << 20,
        progress_callback: Progress | None = None,
        context_data: ContextData = None,
        use_decoys: bool = True,
        additional_passwords: Sequence[Password] = (),
    ) -> HeaderV2:
        """Encrypt a file of any size in constant memory; return its header.

        The output is self-contained (the header is written first); a path output
        appears only once complete.  ``progress_callback(done, total)`` runs after
        each non-empty chunk (``total`` is None for pipes); for regular files it may run
        on a worker thread, never two calls at once, with ``done`` increasing.
        """
        check_chunk_size(chunk_size)
        passwords = [*([] if password is None else [password]), *additional_passwords]
        header, aead, _ = self._new_header(passwords, recipients, context_data=context_data,
                                           use_decoys=use_decoys, chunk_size=chunk_size, is_file=True)
        done = encrypt_file(header.to_bytes(), aead, input_path, output_path, chunk_size=chunk_size,
                            progress_callback=progress_callback)
        self.cel.record(done)
        return header

    def decrypt_stream(
        self,
        input_path: PathOrFile,
        metadata: Header | None = None,
        output_path: PathOrFile | None = None,
        password: Password | None = None,
        *,
        identities: Iterable[Identity | str] = (),
        chunk_size: int | None = None,
        progress_callback: Progress | None = None,
        context_data: ContextData = None,
    ) -> Header:
        """Decrypt a file made by :meth:`encrypt_stream`; return its header.

        ``metadata`` is optional (the file holds it) and must match when given.
        ``chunk_size`` is accepted for the manual's calls and ignored: the header
        decides.  A path output is written to a temporary file and renamed only
        after the final chunk authenticated; on error nothing is left behind.
        """
        if output_path is None:
            raise ParameterError("output_path is required")
        del chunk_size
        if isinstance(input_path, (str, os.PathLike)):  # a re-key a crash interrupted is completed first
            finish_interrupted(input_path, self._key_of(password, identities),
                               self._opener(password, identities, context_data))
        meta, _, _, _ = decrypt_file(input_path, output_path, self._opener(password, identities, context_data),
                                     metadata=metadata, progress_callback=progress_callback)
        return meta

    def decrypt_range(
        self,
        input_path: str | os.PathLike[str],
        offset: int,
        length: int,
        password: Password | None = None,
        *,
        identities: Iterable[Identity | str] = (),
        context_data: ContextData = None,
    ) -> bytes:
        """Random access: plaintext bytes [offset, offset+length) of an encrypted file,
        authenticating only the chunks that cover them (and the final chunk)."""
        finish_interrupted(input_path, self._key_of(password, identities),
                           self._opener(password, identities, context_data))
        return decrypt_range(input_path, offset, length, self._opener(password, identities, context_data))

    def rekey(
        self,
        path: str | os.PathLike[str],
        *,
        password: Password | None = None,
        identities: Iterable[Identity | str] = (),
        add: Iterable[Recipient | str] = (),
        remove: Iterable[Recipient | str] = (),
        new_password: Password | None = None,
        use_decoys: bool = True,
    ) -> HeaderV2:
        """Change who can open an encrypted file by rewriting only its header: add or remove
        recipients, or replace every passphrase by ``new_password``.  The chunks are copied
        as they are (never decrypted).  Removing a recipient cannot take back copies it
        already has, nor the file key if it kept it (the key does not change)."""
        add_r, remove_r = parse_recipients(add), parse_recipients(remove)
        new_pw = None if new_password is None else _encoding.encode_password(new_password)
        if not add_r and not remove_r and new_pw is None:
            raise ParameterError("nothing to change: give recipients to add or remove, or a new password")
        ids = [parse_identity(i) for i in identities]
        if password is None and not ids:
            raise ParameterError("give the password or an identity that opens the file")

        def make(header: Header) -> HeaderV2:
            if not isinstance(header, HeaderV2):
                raise ParameterError(
                    "this is a version-1 file, whose header cannot be re-keyed; decrypt it and encrypt it "
                    "again to get a version-2 file"
                )
            self._check_cost(header)
            file_key, _ = self._file_key(header, password, ids)
            new_salt = self._rand(kdf.SALT_SIZE) if new_pw is not None else b""
            return envelope.rekey(
                header, file_key, add=add_r, remove=remove_r,
                new_pw_key=None if new_pw is None else self._password_key(new_pw, new_salt, self._kdf),
                new_kdf=self._kdf, new_kdf_salt=new_salt, epoch_key=self.cel.key_for(header.epoch),
                use_decoys=use_decoys, rand=self._rand,
            )

        return rewrite_header(path, make, self._key_of(password, ids))

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
        from . import __version__

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


def _as_asked(payload: bytes, is_text: bool, text: bool | None) -> str | bytes:
    """The authenticated plaintext as the caller asked for it: as encrypted (``text=None``),
    always bytes (``False``) or always text (``True``)."""
    if text is False or (text is None and not is_text):
        return payload
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        if is_text:  # unreachable unless the encryptor was faulty
            raise IntegrityError("authenticated text is not valid UTF-8") from None
        raise ParameterError("text=True, but the plaintext is binary data, not UTF-8 text") from None
