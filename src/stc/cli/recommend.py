"""``stc recommend``: pick a profile for a file or folder, and estimate the time on this machine.

Only names, sizes and the first 16 bytes of each file are looked at, locally; nothing is
stored or sent anywhere.  The time estimate comes from running what ``stc encrypt`` runs: the
profile's Argon2id at its real cost, then its chunk loop (both cores) over 64 MiB of zeros
between temporary files in memory; a scaled-down measurement (Argon2id at 4 MiB, one AES-GCM
call) over-estimated the key derivation about threefold and missed the second core.
"""

from __future__ import annotations

import os
import shlex
import stat
import tempfile
import time
from typing import Any

from .profiles import Profile
from .profiles import get as get_profile

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
#: Bytes encrypted to measure the data rate: enough chunks for both cores at every profile's chunk size.
SAMPLE = 64 << 20


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


def measure(profile: Profile, sample: int = SAMPLE) -> dict[str, float]:
    """Time what ``stc encrypt --profile`` does on this machine: the profile's Argon2id (run once,
    at its real cost and lanes) and its chunk loop over ``sample`` bytes of zeros between two
    private temporary files (so the both-cores path runs, as it does for a file); returns the
    key-derivation seconds and the data rate in bytes a second."""
    from ..context import STCContext

    ctx = STCContext("stc recommend", **profile.context_options())
    marks: list[float] = []
    scratch = "/dev/shm" if os.path.isdir("/dev/shm") else None
    with tempfile.TemporaryDirectory(prefix="stc-recommend-", dir=scratch) as work:
        src, dst = os.path.join(work, "zeros"), os.path.join(work, "zeros.stc")
        with open(src, "wb") as f:
            f.truncate(sample)  # a sparse file of zeros: nothing secret, nothing to write
        start = time.perf_counter()
        ctx.encrypt_stream(src, dst, "stc recommend", progress_callback=lambda done, total: marks.append(
            time.perf_counter()) if not marks else None, **profile.stream_options())
        end = time.perf_counter()
    first = min(profile.chunk_size, sample)
    kdf_s = marks[0] - start
    return {"kdf_s": kdf_s, "data_bytes_per_s": (sample - first) / max(end - marks[0], 1e-9)}


def recommend(path: str) -> dict[str, Any]:
    """What ``stc recommend PATH`` prints: the facts, the profile, its settings, the time and the command."""
    facts = survey(path)
    profile = get_profile(choose(facts))
    rates = measure(profile)
    kdf_s = rates["kdf_s"]
    data_s = facts["bytes"] / rates["data_bytes_per_s"]
    command = "encrypt-folder" if facts["folder"] else "encrypt"
    return {
        "path": path, **facts, "profile": profile.name, "reason": profile.reason,
        "settings": {"kdf": profile.kdf, "chunk_size": profile.chunk_size, "decoys": profile.use_decoys,
                     "suite": profile.suite},
        "expected_seconds": {"kdf": round(kdf_s, 3), "data": round(data_s, 3),
                             "total": round(kdf_s + data_s, 3),
                             "note": "measured here on files in memory; a disk may be slower"
                             + (", and a folder adds its tar work" if facts["folder"] else "")},
        "command": f"stc {command} {shlex.quote(path)} --profile {profile.name}",
    }
