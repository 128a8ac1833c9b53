"""``stc recommend``: pick a profile for a file or folder, and estimate the time on this machine.

Only names, sizes and the first 16 bytes of each file are looked at, locally; nothing is
stored or sent anywhere.  The time estimate comes from a self-measurement of about 100 ms
(an Argon2id run at a small cost, scaled linearly in memory times passes, and AES-GCM on 1 MiB).
"""

from __future__ import annotations

import os
import shlex
import stat
import time
from typing import Any

from . import profiles
from .kdf import KdfParams, argon2id

_CREDENTIALS = {".key", ".pem", ".p12", ".pfx", ".kdbx", ".gpg", ".asc", ".env", ".ovpn", ".jks", ".keystore"}
_CREDENTIAL_WORDS = ("password", "passwd", "secret", "credential", "token", "id_rsa", "id_ed25519", "wallet")
_MEDIA = {".mp4", ".mkv", ".mov", ".avi", ".webm", ".mp3", ".flac", ".wav", ".ogg", ".jpg", ".jpeg", ".png",
          ".heic", ".raw", ".tiff", ".gif"}
_ARCHIVES = {".tar", ".tgz", ".gz", ".zst", ".xz", ".bz2", ".zip", ".7z", ".iso", ".img", ".dump", ".bak",
             ".qcow2", ".vmdk"}
_MAGIC = (
    (b"%PDF", "document"), (b"PK\x03\x04", "archive"), (b"\x1f\x8b", "archive"), (b"\x89PNG", "media"),
    (b"\xff\xd8\xff", "media"), (b"ID3", "media"), (b"fLaC", "media"), (b"OggS", "media"), (b"RIFF", "media"),
    (b"7z\xbc\xaf", "archive"), (b"\x28\xb5\x2f\xfd", "archive"), (b"-----BEGIN", "credentials"),
)
_BIG = 100 << 20


def classify(path: str) -> str:
    """'credentials', 'media', 'archive', 'document' or 'data', from the name and the first bytes."""
    name = os.path.basename(path).lower()
    ext = os.path.splitext(name)[1]
    if ext in _CREDENTIALS or any(word in name for word in _CREDENTIAL_WORDS):
        return "credentials"
    if ext in _MEDIA:
        return "media"
    if ext in _ARCHIVES:
        return "archive"
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError:
        return "data"
    if head[4:8] == b"ftyp":
        return "media"
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    return "document" if ext in {".txt", ".md", ".doc", ".docx", ".odt", ".xls", ".xlsx", ".csv"} else "data"


def survey(path: str) -> dict[str, Any]:
    """Size, file count and kinds of a file or folder."""
    st = os.stat(path)
    if not stat.S_ISDIR(st.st_mode):
        return {"folder": False, "bytes": st.st_size, "files": 1, "kinds": {classify(path): 1}}
    total = count = 0
    kinds: dict[str, int] = {}
    for directory, _, files in os.walk(path):
        for name in files:
            full = os.path.join(directory, name)
            try:
                size = os.lstat(full).st_size
            except OSError:
                continue
            total, count = total + size, count + 1
            kind = classify(full)
            kinds[kind] = kinds.get(kind, 0) + 1
    return {"folder": True, "bytes": total, "files": count, "kinds": kinds}


def choose(facts: dict[str, Any]) -> str:
    """The profile for what :func:`survey` found."""
    kinds, size = facts["kinds"], facts["bytes"]
    main = max(kinds, key=kinds.get) if kinds else "data"
    if kinds.get("credentials") and size < _BIG:
        return "credentials"
    if (facts["folder"] and size > (1 << 30)) or main == "archive":
        return "backup"
    if main == "media" and size > _BIG // 10:
        return "media"
    return "document"


def measure(seconds: float = 0.1) -> dict[str, float]:
    """Argon2id (KiB·pass per second) and AES-GCM (bytes per second) on this machine, ~``seconds`` long."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    params = KdfParams(memory_kib=4096, passes=1, lanes=4)
    start, runs = time.perf_counter(), 0
    while time.perf_counter() - start < seconds / 2 or runs == 0:
        argon2id(b"recommend", b"s" * 16, params)
        runs += 1
    kdf_rate = runs * params.memory_kib * params.passes / (time.perf_counter() - start)
    aead, block, nonce = AESGCM(bytes(32)), bytes(1 << 20), bytes(12)
    start, done = time.perf_counter(), 0
    while time.perf_counter() - start < seconds / 2 or done == 0:
        aead.encrypt(nonce, block, None)
        done += len(block)
    return {"kdf_kib_pass_per_s": kdf_rate, "aead_bytes_per_s": done / (time.perf_counter() - start)}


def recommend(path: str) -> dict[str, Any]:
    """What ``stc recommend PATH`` prints: the facts, the profile, its settings, the time and the command."""
    facts = survey(path)
    profile = profiles.get(choose(facts))
    rates = measure()
    kdf_s = profile.lattice_size ** 2 * 4 * (profile.depth // 2) / rates["kdf_kib_pass_per_s"]
    data_s = facts["bytes"] / rates["aead_bytes_per_s"]
    command = "encrypt-folder" if facts["folder"] else "encrypt"
    return {
        "path": path, **facts, "profile": profile.name, "reason": profile.reason,
        "settings": {"kdf": profile.kdf, "chunk_size": profile.chunk_size, "decoys": profile.use_decoys,
                     "suite": profile.suite},
        "expected_seconds": {"kdf": round(kdf_s, 3), "data": round(data_s, 3), "note": "encryption only; the "
                             "disk may be slower"},
        "command": f"stc {command} {shlex.quote(path)} --profile {profile.name}",
    }
