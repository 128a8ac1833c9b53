"""Generate the known-answer vectors under tests/vectors/ (run: python tests/vectors/generate.py).

Randomness is injected here only: a SHAKE-256 stream keyed by the vector name
stands in for os.urandom so the bytes are reproducible.  Each vector is named
by its outcome (good_* decrypts to the plaintext, fail_* raises the named error),
as age's testdata does.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "src"))

import stc  # noqa: E402
from stc.metadata import FIXED_SIZE  # noqa: E402

CHEAP = {"lattice_size": 16, "depth": 2, "insecure_allow_weak_kdf": True}  # Argon2id 1 MiB, 1 pass: vectors, not security


class DeterministicRandom:
    """A reproducible byte stream (SHAKE-256 of a label); for test vectors only."""

    def __init__(self, label: str) -> None:
        self._stream = hashlib.shake_256(b"stc test vectors " + label.encode()).digest(1 << 16)
        self._pos = 0

    def __call__(self, n: int) -> bytes:
        out = self._stream[self._pos : self._pos + n]
        self._pos += n
        return out


def deterministic_context(name: str, seed: Any, **kwargs: Any) -> stc.STCContext:
    """A context whose salts, nonces, keys and slot order come from DeterministicRandom(name)."""
    ctx = stc.STCContext(seed, **{**CHEAP, **kwargs})
    ctx._rand = DeterministicRandom(name)
    ctx._kdf_salt = ctx._rand(16)
    return ctx


def _flip(data: bytes, index: int, mask: int = 0x01) -> bytes:
    out = bytearray(data)
    out[index] ^= mask
    return bytes(out)


MESSAGES: list[dict[str, Any]] = [
    {"name": "good_text", "seed": "my-seed", "password": "pw", "plaintext": "Same message", "context": None},
    {"name": "good_bytes_context", "seed": "app-seed", "password": "pw", "plaintext": b"\x00\x01binary",
     "context": {"user": "alice", "role": "admin", "n": 3, "tags": ["a", "b"], "ok": True}},
    {"name": "good_empty_no_decoys", "seed": "s", "password": "pw", "plaintext": b"", "context": None,
     "use_decoys": False},
    {"name": "good_chacha20", "seed": b"\x00" * 32, "password": "pässwörd", "plaintext": "héllo",
     "context": "session-1", "suite": "chacha20-poly1305"},
    {"name": "good_int_seed_epoch3", "seed": 12345, "password": "pw", "plaintext": b"epoch three",
     "context": None, "epoch": 3},
]


def _encode_text(value: Any) -> Any:
    return {"hex": value.hex()} if isinstance(value, bytes) else value


def build_messages() -> list[dict[str, Any]]:
    """Good vectors, then fail_* vectors derived from the first good ones."""
    out: list[dict[str, Any]] = []
    for spec in MESSAGES:
        ctx = deterministic_context(spec["name"], spec["seed"], suite=spec.get("suite", "aes-256-gcm"))
        for _ in range(spec.get("epoch", 0)):
            ctx.cel.update()
        ciphertext, meta = ctx.encrypt(
            spec["plaintext"], spec["password"], context_data=spec["context"],
            use_decoys=spec.get("use_decoys", True),
        )
        out.append({
            "name": spec["name"], "seed": _encode_text(spec["seed"]), "password": spec["password"],
            "context": spec["context"], "plaintext": _encode_text(spec["plaintext"]),
            "suite": spec.get("suite", "aes-256-gcm"), "use_decoys": spec.get("use_decoys", True),
            "epoch": spec.get("epoch", 0), "metadata": meta.to_bytes().hex(), "ciphertext": ciphertext.hex(),
            "expect": "ok",
        })
    base = out[1]
    md, ct = bytes.fromhex(base["metadata"]), bytes.fromhex(base["ciphertext"])

    def fail(name: str, expect: str, *, metadata: bytes = md, ciphertext: bytes = ct, **over: Any) -> None:
        out.append({**base, "name": name, "metadata": metadata.hex(), "ciphertext": ciphertext.hex(),
                    "expect": expect, **over})

    fail("fail_wrong_password", "WrongPasswordError", password="Pw")
    fail("fail_wrong_seed", "WrongPasswordError", seed="app-seed2")
    fail("fail_wrong_context", "IntegrityError", context={"user": "bob", "role": "admin", "n": 3,
                                                          "tags": ["a", "b"], "ok": True})
    fail("fail_missing_context", "ContextMismatchError", context=None)
    fail("fail_bad_tag", "IntegrityError", ciphertext=_flip(ct, len(ct) - 1))
    fail("fail_truncated_ciphertext", "IntegrityError", ciphertext=ct[:-1])
    fail("fail_extended_ciphertext", "IntegrityError", ciphertext=ct + b"\x00")
    fail("fail_flipped_decoy_slot", "IntegrityError", metadata=_flip(md, FIXED_SIZE + 48 * 3 + 5))
    fail("fail_bad_magic", "FormatError", metadata=b"XTCM" + md[4:])
    fail("fail_version_2", "FormatError", metadata=md[:4] + b"\x02" + md[5:])
    fail("fail_unknown_suite", "FormatError", metadata=md[:5] + b"\x07" + md[6:])
    fail("fail_unknown_flag", "FormatError", metadata=md[:6] + bytes([md[6] | 0x80]) + md[7:])
    fail("fail_kdf_passes_17", "KDFLimitError", metadata=md[:7] + b"\x11" + md[8:])
    fail("fail_kdf_memory_2gib", "KDFLimitError", metadata=md[:8] + (2 << 20).to_bytes(4, "big") + md[12:])
    fail("fail_kdf_lanes_0", "KDFLimitError", metadata=md[:12] + b"\x00" + md[13:])
    fail("fail_zero_slots", "FormatError", metadata=md[: FIXED_SIZE - 1] + b"\x00")
    fail("fail_17_slots", "FormatError", metadata=md[: FIXED_SIZE - 1] + b"\x11" + md[FIXED_SIZE:])
    fail("fail_truncated_metadata", "FormatError", metadata=md[:-1])
    fail("fail_trailing_metadata", "FormatError", metadata=md + b"\x00")
    fail("fail_file_header_as_message", "FormatError", metadata=b"STCF" + md[4:])
    return out


FILES: list[dict[str, Any]] = [
    {"name": "good_empty_payload", "size": 0},
    {"name": "good_one_byte", "size": 1},
    {"name": "good_last_full", "size": 2048},
    {"name": "good_three_chunks", "size": 2500},
]
FILE_CHUNK = 1024
FILE_SEED, FILE_PASSWORD = "large-file-seed", "strong_password"
FILE_CONTEXT = {"purpose": "backup"}


def _file_plaintext(size: int) -> bytes:
    return hashlib.shake_256(b"plaintext").digest(size) if size else b""


def build_files() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for spec in FILES:
        ctx = deterministic_context(spec["name"], FILE_SEED)
        sink = io.BytesIO()
        ctx.encrypt_stream(io.BytesIO(_file_plaintext(spec["size"])), sink, FILE_PASSWORD,
                           chunk_size=FILE_CHUNK, context_data=FILE_CONTEXT)
        out.append({"name": spec["name"], "size": spec["size"], "file": sink.getvalue().hex(), "expect": "ok"})
    three = bytes.fromhex(out[3]["file"])
    full = bytes.fromhex(out[2]["file"])
    hdr = len(three) - (2 * (FILE_CHUNK + 16) + 452 + 16)
    c = FILE_CHUNK + 16

    def fail(name: str, data: bytes, expect: str) -> None:
        out.append({"name": name, "size": None, "file": data.hex(), "expect": expect})

    fail("fail_truncated_at_chunk_boundary", three[: hdr + 2 * c], "TruncatedError")
    fail("fail_truncated_inside_chunk", three[:-7], "IntegrityError")
    fail("fail_header_only", three[:hdr], "TruncatedError")
    fail("fail_swapped_chunks", three[:hdr] + three[hdr + c : hdr + 2 * c] + three[hdr : hdr + c]
         + three[hdr + 2 * c :], "IntegrityError")
    fail("fail_duplicated_chunk", three[: hdr + c] + three[hdr : hdr + c] + three[hdr + c :], "IntegrityError")
    fail("fail_dropped_chunk", three[: hdr + c] + three[hdr + 2 * c :], "IntegrityError")
    fail("fail_appended_chunk", full + full[hdr + c :], "IntegrityError")
    fail("fail_last_empty", full[: hdr + 2 * c] + bytes(16), "IntegrityError")
    fail("fail_spliced_from_other_file", three[: hdr + c] + full[hdr + c : hdr + 2 * c] + three[hdr + 2 * c :],
         "IntegrityError")
    fail("fail_header_flip", _flip(three, 30), "WrongPasswordError")
    fail("fail_chunk_flip", _flip(three, hdr + 100), "IntegrityError")
    fail("fail_bad_magic", b"STCX" + three[4:], "FormatError")
    fail("fail_message_header", b"STCM" + three[4:], "FormatError")
    return out


FRAME_SEED = "session_abc123"


def frame_sender(sender_id: bytes, **kwargs: Any) -> Any:
    """A StreamingContext whose sender id is fixed (the only randomness a sender uses)."""
    from stc.p2p import StreamingContext, _Epoch, _Sender

    ctx = StreamingContext(FRAME_SEED, **kwargs)
    ctx._send = _Sender(sender_id, _Epoch(ctx.suite, ctx._chain0(sender_id), ctx.key_schedule_size))
    return ctx


def build_frames() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def add(name: str, header: bytes, payload: bytes, expect: str, plaintext: bytes = b"",
            after: "list[str] | None" = None) -> None:
        out.append({"name": name, "header": header.hex(), "payload": payload.hex(),
                    "plaintext": plaintext.hex(), "expect": expect, "after": after or []})

    tx = frame_sender(bytes.fromhex("0102030405060708"))
    single = b"frame zero " * 10
    h0, p0 = tx.encrypt_chunk(single)
    add("good_single_chunk", h0.to_bytes(), p0, "ok", single)
    multi = hashlib.shake_256(b"multi").digest(20000)
    h1, p1 = tx.encrypt_chunk(multi)
    add("good_multi_chunk", h1.to_bytes(), p1, "ok", multi)
    rot = frame_sender(bytes.fromhex("a1a2a3a4a5a6a7a8"), key_rotation_mb=0.001)
    frames = [rot.encrypt_chunk(b"e" * 700) for _ in range(3)]
    add("good_epoch_1", frames[2][0].to_bytes(), frames[2][1], "ok", b"e" * 700)
    hb = h0.to_bytes()
    add("fail_replayed", hb, p0, "ReplayError", after=["good_single_chunk"])
    add("fail_flipped_header_sequence", hb[:15] + bytes([hb[15] ^ 1]), p0, "IntegrityError")
    add("fail_flipped_sender_id", hb[:2] + bytes([hb[2] ^ 1]) + hb[3:], p0, "IntegrityError")
    add("fail_flags_claim_multi", hb[:1] + b"\x01" + hb[2:], p0, "IntegrityError")
    add("fail_header_version_2", b"\x02" + hb[1:], p0, "FormatError")
    add("fail_unknown_flags", hb[:1] + b"\x80" + hb[2:], p0, "FormatError")
    add("fail_short_header", hb[:15], p0, "FormatError")
    add("fail_bad_tag", hb, p0[:-1] + bytes([p0[-1] ^ 1]), "IntegrityError")
    add("fail_truncated_payload", hb, p0[:-16], "IntegrityError")
    hm = h1.to_bytes()
    add("fail_multi_dropped_last_subchunk", hm, p1[: 4 + 8192 + 16 + 8192 + 16], "IntegrityError")
    add("fail_multi_swapped_subchunks", hm, p1[:4] + p1[4 + 8208 : 4 + 2 * 8208] + p1[4 : 4 + 8208]
        + p1[4 + 2 * 8208 :], "IntegrityError")
    add("fail_multi_bad_subchunk_size", hm, b"\x00\x00\x10\x00" + p1[4:], "IntegrityError")
    return out


def main() -> None:
    (HERE / "messages.json").write_text(json.dumps(build_messages(), indent=1) + "\n")
    files = {"seed": FILE_SEED, "password": FILE_PASSWORD, "context": FILE_CONTEXT, "chunk_size": FILE_CHUNK,
             "vectors": build_files()}
    (HERE / "files.json").write_text(json.dumps(files, indent=1) + "\n")
    frames = {"seed": FRAME_SEED, "vectors": build_frames()}
    (HERE / "frames.json").write_text(json.dumps(frames, indent=1) + "\n")


if __name__ == "__main__":
    main()
