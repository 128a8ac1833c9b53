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
from stc.formats.v3 import FLAG_CONTEXT, FLAG_TEXT  # noqa: E402

# Argon2id 1 MiB, 1 pass: vectors, not security (release 0.1 could write this cost; it still decrypts)
CHEAP = {"lattice_size": 16, "depth": 2, "insecure_allow_weak_kdf": True}


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


#: The version-1 vector files are what release 0.1 wrote: frozen (this release writes version 2);
#: tests/test_vectors.py checks these digests and that every vector still decrypts as recorded.
FROZEN_V1 = {
    "messages.json": "b376d6d62b340ead60ebb47c3887c18fb7b5aa9c689636d9ab323afb9593188f",
    "files.json": "8d8c1247d9bef6210545317c9bd74665fab6c74a3329d38acd30a03bc3436ecd",
}
#: Version-2 vectors use the least cost new encryptions accept, so a default context opens them.
FLOOR = {"lattice_size": 64, "depth": 4}
# Test identities (never use them for anything else).
X25519_SECRET = hashlib.shake_256(b"stc test identity x25519").digest(32)
XWING_SECRET = hashlib.shake_256(b"stc test identity xwing").digest(32)


def test_identities() -> dict[str, Any]:
    from stc.keys.recipients import X25519Identity, XWingIdentity

    return {"x25519": X25519Identity(X25519_SECRET), "xwing": XWingIdentity(XWING_SECRET)}


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
    {"name": "good_x25519", "seed": "s", "password": None, "recipients": ["x25519"], "plaintext": b"to a key",
     "context": None},
    {"name": "good_x25519_and_password", "seed": "s", "password": "pw", "recipients": ["x25519"],
     "plaintext": b"either opens", "context": None, "identities": ["x25519"]},
    {"name": "good_xwing", "seed": "s", "password": None, "recipients": ["xwing"], "plaintext": b"post-quantum",
     "context": {"k": 1}, "frozen": True},
    {"name": "good_several_recipients", "seed": "s", "password": "pw", "recipients": ["x25519", "xwing"],
     "identities": ["xwing"], "plaintext": "to two keys and a passphrase", "context": None, "frozen": True},
]


def _encode_text(value: Any) -> Any:
    return {"hex": value.hex()} if isinstance(value, bytes) else value


def _frozen(name: str, filename: str) -> dict[str, Any] | None:
    """A vector kept from the first generation (X-Wing: ML-KEM's randomness is OpenSSL's own)."""
    path = HERE / filename
    if not path.exists():
        return None
    table = json.loads(path.read_text())
    vectors = table["vectors"] if isinstance(table, dict) else table
    return next((v for v in vectors if v["name"] == name), None)


def _wrong_key_and_context(fail: Any, ct: bytes) -> None:
    """The fail vectors every message version has, derived from good_bytes_context."""
    fail("fail_wrong_password", "WrongPasswordError", password="Pw")
    fail("fail_wrong_seed", "WrongPasswordError", seed="app-seed2")
    fail("fail_wrong_context", "IntegrityError", context={"user": "bob", "role": "admin", "n": 3,
                                                          "tags": ["a", "b"], "ok": True})
    fail("fail_missing_context", "ContextMismatchError", context=None)
    fail("fail_bad_tag", "IntegrityError", ciphertext=_flip(ct, len(ct) - 1))


def build_messages() -> list[dict[str, Any]]:
    """Version-2 messages (messages_v2.json): good ones, then fail_* ones derived from them."""
    ids = test_identities()
    out: list[dict[str, Any]] = []
    for spec in MESSAGES:
        kept = _frozen(spec["name"], "messages_v2.json") if spec.get("frozen") else None
        if kept is not None:
            out.append(kept)
            continue
        ctx = deterministic_context(spec["name"], spec["seed"], suite=spec.get("suite", "aes-256-gcm"), **FLOOR)
        for _ in range(spec.get("epoch", 0)):
            ctx.cel.update()
        recipients = [ids[r].recipient for r in spec.get("recipients", [])]
        ciphertext, meta = ctx.encrypt(
            spec["plaintext"], spec["password"], recipients=recipients, context_data=spec["context"],
            use_decoys=spec.get("use_decoys", True), format_version=2,
        )
        out.append({
            "name": spec["name"], "seed": _encode_text(spec["seed"]), "password": spec["password"],
            "identities": [ids[r].to_string() for r in spec.get("identities", spec.get("recipients", []))],
            "context": spec["context"], "plaintext": _encode_text(spec["plaintext"]),
            "suite": spec.get("suite", "aes-256-gcm"), "use_decoys": spec.get("use_decoys", True),
            "epoch": spec.get("epoch", 0), "metadata": meta.to_bytes().hex(), "ciphertext": ciphertext.hex(),
            "expect": "ok",
        })
    base = out[1]
    md, ct = bytes.fromhex(base["metadata"]), bytes.fromhex(base["ciphertext"])
    pk = next(v for v in out if v["name"] == "good_x25519")

    def fail(name: str, expect: str, *, metadata: bytes = md, ciphertext: bytes = ct, **over: Any) -> None:
        out.append({**base, "name": name, "metadata": metadata.hex(), "ciphertext": ciphertext.hex(),
                    "expect": expect, **over})

    # Offsets (docs/format.md §6): core 0..30 (flags 6, nonce 11..26), layout 31, Argon2 32..53 (t 32,
    # m 33..36, p 37), stanza count 54, stanzas from 55 (65 bytes each here), MAC the last 32.
    _wrong_key_and_context(fail, ct)
    fail("fail_truncated_ciphertext", "IntegrityError", ciphertext=ct[:-1])
    fail("fail_extended_ciphertext", "IntegrityError", ciphertext=ct + b"\x00")
    fail("fail_flipped_mac", "IntegrityError", metadata=_flip(md, len(md) - 1))
    fail("fail_flipped_nonce", "WrongPasswordError", metadata=_flip(md, 20))
    fail("fail_flipped_kdf_salt", "WrongPasswordError", metadata=_flip(md, 40))
    for i in range(4):  # a flipped byte in every stanza: the real one no longer opens, a decoy breaks the MAC
        real = _opens(md, base, i)
        fail(f"fail_flipped_stanza_{i}", "WrongPasswordError" if real else "IntegrityError",
             metadata=_flip(md, 55 + 65 * i + 30))
    fail("fail_bad_magic", "FormatError", metadata=b"XTCM" + md[4:])
    fail("fail_version_3", "FormatError", metadata=md[:4] + b"\x03" + md[5:])
    fail("fail_unknown_suite", "FormatError", metadata=md[:5] + b"\x07" + md[6:])
    fail("fail_unknown_flag", "FormatError", metadata=md[:6] + bytes([md[6] | 0x80]) + md[7:])
    fail("fail_unknown_layout_bit", "FormatError", metadata=md[:31] + bytes([md[31] | 0x80]) + md[32:])
    fail("fail_kdf_passes_17", "KDFLimitError", metadata=md[:32] + b"\x11" + md[33:])
    fail("fail_kdf_memory_2gib", "KDFLimitError", metadata=md[:33] + (2 << 20).to_bytes(4, "big") + md[37:])
    fail("fail_kdf_lanes_0", "KDFLimitError", metadata=md[:37] + b"\x00" + md[38:])
    fail("fail_kdf_below_floor", "KDFLimitError", metadata=md[:33] + (16383).to_bytes(4, "big") + md[37:])
    fail("fail_zero_stanzas", "FormatError", metadata=md[:54] + b"\x00" + md[55 + 4 * 65 :])
    fail("fail_five_passphrase_stanzas", "FormatError",
         metadata=md[:54] + b"\x05" + md[55 : 55 + 4 * 65] + md[55 : 55 + 65] + md[55 + 4 * 65 :])
    fail("fail_unknown_stanza_kind", "FormatError", metadata=md[:55] + b"\x09" + md[56:])
    fail("fail_truncated_metadata", "FormatError", metadata=md[:-1])
    fail("fail_trailing_metadata", "FormatError", metadata=md + b"\x00")
    fail("fail_file_header_as_message", "FormatError", metadata=b"STCF" + md[4:])
    out.append({**pk, "name": "fail_wrong_identity", "expect": "NoMatchingIdentityError",
                "identities": [test_identities()["xwing"].to_string()]})
    out.append({**pk, "name": "fail_password_for_recipients_only", "expect": "NoMatchingIdentityError",
                "identities": [], "password": "pw"})
    out.append({**base, "name": "fail_identity_for_passphrase_only", "expect": "NoMatchingIdentityError",
                "identities": [test_identities()["x25519"].to_string()], "password": None})
    return out


MESSAGES_V3: list[dict[str, Any]] = [
    {"name": "good_text", "seed": "my-seed", "password": "pw", "plaintext": "Same message", "context": None},
    {"name": "good_bytes_context", "seed": "app-seed", "password": "pw", "plaintext": b"\x00\x01binary",
     "context": {"user": "alice", "role": "admin", "n": 3, "tags": ["a", "b"], "ok": True}},
    {"name": "good_empty", "seed": "s", "password": "pw", "plaintext": b"", "context": None},
    {"name": "good_chacha20", "seed": b"\x00" * 32, "password": "pässwörd", "plaintext": "héllo",
     "context": "session-1", "suite": "chacha20-poly1305"},
    {"name": "good_int_seed_epoch3", "seed": 12345, "password": "pw", "plaintext": b"epoch three",
     "context": None, "epoch": 3},
    {"name": "good_third_message_of_session", "seed": "s", "password": "pw", "plaintext": b"counter 2",
     "context": None, "skip": 2},
]


def build_messages_v3() -> list[dict[str, Any]]:
    """Version-3 messages (messages_v3.json): one password, a session key and a counter."""
    out: list[dict[str, Any]] = []
    for spec in MESSAGES_V3:
        ctx = deterministic_context("v3 " + spec["name"], spec["seed"], suite=spec.get("suite", "aes-256-gcm"),
                                    **FLOOR)
        for _ in range(spec.get("epoch", 0)):
            ctx.cel.update()
        for _ in range(spec.get("skip", 0)):
            ctx.encrypt(b"earlier", spec["password"])
        ciphertext, meta = ctx.encrypt(spec["plaintext"], spec["password"], context_data=spec["context"])
        assert meta.version == 3
        out.append({
            "name": spec["name"], "seed": _encode_text(spec["seed"]), "password": spec["password"], "identities": [],
            "context": spec["context"], "plaintext": _encode_text(spec["plaintext"]),
            "suite": spec.get("suite", "aes-256-gcm"), "epoch": spec.get("epoch", 0),
            "metadata": meta.to_bytes().hex(), "ciphertext": ciphertext.hex(), "expect": "ok",
        })
    base = out[1]
    md, ct = bytes.fromhex(base["metadata"]), bytes.fromhex(base["ciphertext"])

    def fail(name: str, expect: str, *, metadata: bytes = md, ciphertext: bytes = ct, **over: Any) -> None:
        out.append({**base, "name": name, "metadata": metadata.hex(), "ciphertext": ciphertext.hex(),
                    "expect": expect, **over})

    def put(offset: int, value: bytes) -> bytes:
        return md[:offset] + value + md[offset + len(value):]

    # Offsets (docs/format.md §6a): magic 0..3, version 4, suite 5, flags 6, epoch 7..10, t 11, m 12..15,
    # p 16, Argon2 salt 17..32, session id 33..48, counter 49..56, commitment 57..88.
    _wrong_key_and_context(fail, ct)
    fail("fail_flipped_ciphertext", "IntegrityError", ciphertext=_flip(ct, 0))
    fail("fail_truncated_ciphertext", "IntegrityError", ciphertext=ct[:-1])
    fail("fail_extended_ciphertext", "IntegrityError", ciphertext=ct + b"\x00")
    fail("fail_ciphertext_shorter_than_tag", "IntegrityError", ciphertext=ct[:15])
    fail("fail_flipped_epoch", "WrongPasswordError", metadata=_flip(md, 10))
    fail("fail_flipped_kdf_salt", "WrongPasswordError", metadata=_flip(md, 20))
    fail("fail_flipped_session_id", "WrongPasswordError", metadata=_flip(md, 40))
    fail("fail_other_suite", "WrongPasswordError", metadata=put(5, b"\x02"))
    fail("fail_flipped_counter", "IntegrityError", metadata=_flip(md, 56))
    fail("fail_flipped_commitment", "WrongPasswordError", metadata=_flip(md, 70))
    fail("fail_text_flag_set", "IntegrityError", metadata=_flip(md, 6, FLAG_TEXT))
    fail("fail_context_flag_cleared", "ContextMismatchError", metadata=_flip(md, 6, FLAG_CONTEXT))
    fail("fail_bad_magic", "FormatError", metadata=b"XTCM" + md[4:])
    fail("fail_file_magic", "FormatError", metadata=b"STCF" + md[4:])
    fail("fail_version_4", "FormatError", metadata=put(4, b"\x04"))
    fail("fail_unknown_suite", "FormatError", metadata=put(5, b"\x07"))
    fail("fail_unknown_flag", "FormatError", metadata=_flip(md, 6, 0x80))
    fail("fail_kdf_passes_17", "KDFLimitError", metadata=put(11, b"\x11"))
    fail("fail_kdf_memory_2gib", "KDFLimitError", metadata=put(12, (2 << 20).to_bytes(4, "big")))
    fail("fail_kdf_lanes_0", "KDFLimitError", metadata=put(16, b"\x00"))
    fail("fail_kdf_below_floor", "KDFLimitError", metadata=put(12, (16383).to_bytes(4, "big")))
    fail("fail_truncated_metadata", "FormatError", metadata=md[:-1])
    fail("fail_trailing_metadata", "FormatError", metadata=md + b"\x00")
    fail("fail_identity_for_password_only", "NoMatchingIdentityError", password=None,
         identities=[test_identities()["x25519"].to_string()])
    return out


def _opens(md: bytes, vec: dict[str, Any], index: int) -> bool:
    """Whether stanza ``index`` of a header is the one the vector's password opens."""
    ctx = stc.STCContext(vec["seed"])
    meta = stc.HeaderV2.from_bytes(md)
    _, opened = ctx._file_key(meta, vec["password"], [])
    return opened == index


FILES: list[dict[str, Any]] = [
    {"name": "good_empty_payload", "size": 0},
    {"name": "good_one_byte", "size": 1},
    {"name": "good_last_full", "size": 2048},
    {"name": "good_three_chunks", "size": 2500},
    {"name": "good_chacha20", "size": 1500, "suite": "chacha20-poly1305"},
    {"name": "good_x25519_no_password", "size": 1500, "password": None, "recipients": ["x25519"]},
    {"name": "good_rekeyed", "size": 2500, "rekey": True},
]
FILE_CHUNK = 1024
FILE_SEED, FILE_PASSWORD = "large-file-seed", "strong_password"
FILE_CONTEXT = {"purpose": "backup"}


def _file_plaintext(size: int) -> bytes:
    return hashlib.shake_256(b"plaintext").digest(size) if size else b""


def build_files() -> list[dict[str, Any]]:
    """Version-2 files (files_v2.json)."""
    import tempfile

    ids = test_identities()
    out: list[dict[str, Any]] = []
    for spec in FILES:
        ctx = deterministic_context(spec["name"], FILE_SEED, suite=spec.get("suite", "aes-256-gcm"), **FLOOR)
        sink = io.BytesIO()
        password = spec.get("password", FILE_PASSWORD)
        ctx.encrypt_stream(io.BytesIO(_file_plaintext(spec["size"])), sink, password,
                           recipients=[ids[r].recipient for r in spec.get("recipients", [])],
                           chunk_size=FILE_CHUNK, context_data=FILE_CONTEXT)
        data = sink.getvalue()
        entry = {"name": spec["name"], "size": spec["size"], "password": password,
                 "identities": [ids[r].to_string() for r in spec.get("recipients", [])], "expect": "ok"}
        if spec.get("rekey"):  # the same file after `rekey --add-recipient` (X25519): only the header differs
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "f.stc"
                path.write_bytes(data)
                ctx.rekey(path, password=password, add=[ids["x25519"].recipient])
                entry["before_rekey"] = data.hex()
                data = path.read_bytes()
            entry["identities"] = [ids["x25519"].to_string()]
        out.append({**entry, "file": data.hex()})
    three = bytes.fromhex(out[3]["file"])
    full = bytes.fromhex(out[2]["file"])
    hdr = len(three) - (2 * (FILE_CHUNK + 16) + 452 + 16)
    c = FILE_CHUNK + 16

    def fail(name: str, data: bytes, expect: str) -> None:
        out.append({"name": name, "size": None, "password": FILE_PASSWORD, "identities": [], "file": data.hex(),
                    "expect": expect})

    fail("fail_truncated_at_chunk_boundary", three[: hdr + 2 * c], "TruncatedError")
    fail("fail_truncated_inside_chunk", three[:-7], "IntegrityError")
    fail("fail_header_only", three[:hdr], "TruncatedError")
    fail("fail_header_cut", three[: hdr - 1], "FormatError")
    fail("fail_swapped_chunks", three[:hdr] + three[hdr + c : hdr + 2 * c] + three[hdr : hdr + c]
         + three[hdr + 2 * c :], "IntegrityError")
    fail("fail_duplicated_chunk", three[: hdr + c] + three[hdr : hdr + c] + three[hdr + c :], "IntegrityError")
    fail("fail_dropped_chunk", three[: hdr + c] + three[hdr + 2 * c :], "IntegrityError")
    fail("fail_appended_chunk", full + full[hdr + c :], "IntegrityError")
    fail("fail_last_empty", full[: hdr + 2 * c] + bytes(16), "IntegrityError")
    fail("fail_spliced_from_other_file", three[: hdr + c] + full[hdr + c : hdr + 2 * c] + three[hdr + 2 * c :],
         "IntegrityError")
    fail("fail_header_mac_flip", _flip(three, hdr - 1), "IntegrityError")
    fail("fail_core_flip", _flip(three, 20), "WrongPasswordError")
    fail("fail_chunk_flip", _flip(three, hdr + 100), "IntegrityError")
    fail("fail_bad_magic", b"STCX" + three[4:], "FormatError")
    fail("fail_message_header", b"STCM" + three[4:], "FormatError")
    return out


def build_armor() -> list[dict[str, Any]]:
    """Armored forms (armor.json) of the version-2 file good_three_chunks: good and malformed."""
    from stc.formats import armor

    binary = bytes.fromhex(next(v for v in build_files() if v["name"] == "good_three_chunks")["file"])
    sink = io.BytesIO()
    writer = armor.ArmorWriter(sink)
    writer.write(binary)
    writer.close()
    text = sink.getvalue()
    lines = text.split(b"\n")
    out: list[dict[str, Any]] = []

    def add(name: str, data: bytes, expect: str) -> None:
        out.append({"name": name, "armored": data.decode("latin-1"), "expect": expect})

    add("good_lf", text, "ok")
    add("good_crlf_and_surrounding_space", b"\r\n \t\n" + text.replace(b"\n", b"\r\n") + b"\n  \n", "ok")
    add("fail_data_after_end", text + b"more\n", "FormatError")
    add("fail_missing_end", b"\n".join(lines[:-2]) + b"\n", "FormatError")
    add("fail_long_line", b"\n".join([lines[0], lines[1] + lines[2][:4], *lines[2:]]), "FormatError")
    add("fail_short_line_in_the_middle", b"\n".join([lines[0], lines[1][:60], lines[1][60:] + lines[2], *lines[3:]]),
        "FormatError")
    add("fail_character_outside_base64", text.replace(lines[1][:1], b"*", 1), "FormatError")
    add("fail_space_inside_a_line", b"\n".join([lines[0], lines[1][:32] + b" " + lines[1][33:], *lines[2:]]),
        "FormatError")
    last = lines[-3]
    assert len(last) <= 60
    # "QR==" decodes like "QQ==" but its padding bits are not zero: not the canonical base64 of anything.
    add("fail_noncanonical_last_group", b"\n".join([*lines[:-3], last + b"QR==", *lines[-2:]]), "FormatError")
    add("fail_bad_begin_line", text.replace(b"BEGIN STC", b"BEGIN XTC", 1), "FormatError")
    # The white-space limits of format.md §10, at the limit and one byte past it.
    begin, end = armor.BEGIN, armor.END
    body = text[len(begin) + 1 : -(len(end) + 1)]  # the base64 lines, each with its LF
    add("good_1024_bytes_of_space_before_begin", b" \t" * 500 + b"\r\n" * 12 + text, "ok")
    add("fail_1025_bytes_of_space_before_begin", b" \t" * 500 + b"\r\n" * 12 + b" " + text, "FormatError")
    add("good_1024_spaces_after_the_begin_marker", begin + b" \t" * 512 + b"\n" + body + end + b"\n", "ok")
    add("fail_1025_spaces_after_the_begin_marker", begin + b" \t" * 512 + b" \n" + body + end + b"\n",
        "FormatError")
    add("good_1024_bytes_of_space_after_the_end_marker", text[:-1] + b" \t\r\n" * 256, "ok")
    add("fail_1025_bytes_of_space_after_the_end_marker", text[:-1] + b" \t\r\n" * 256 + b" ", "FormatError")
    add("good_end_marker_without_a_line_end", text[:-1], "ok")
    add("fail_indented_end_marker", begin + b"\n" + body + b" " + end + b"\n", "FormatError")
    add("fail_text_after_the_begin_marker", begin + b" x\n" + body + end + b"\n", "FormatError")
    add("fail_nothing_after_the_begin_line", begin + b"\n", "FormatError")
    return out


FRAME_SEED = "session_abc123"
#: The sub-chunk size every frame vector was sealed with (release 0.1's and 0.2's default).
V1_SUBCHUNK = 8192


def v1_frame(sender_id: bytes, epoch: int, seq: int, data: bytes) -> tuple[bytes, bytes]:
    """A version-1 frame (header, payload), sealed as release 0.1 did (its senders are gone)."""
    from stc.p2p import frame, keys, subchunks

    ctx = stc.StreamingContext(FRAME_SEED, optimal_chunk_size=V1_SUBCHUNK)
    chain = keys.chain0(ctx._root, sender_id)
    for _ in range(epoch):
        chain = keys.next_chain(chain)
    aead = keys.frame_aead_v1(ctx.suite, chain)
    multi = len(data) > ctx.optimal_chunk_size
    hb = frame.HEADER.pack(1, int(multi), sender_id, epoch, seq)
    if multi:
        return hb, subchunks.seal(aead, hb, seq, data, ctx.optimal_chunk_size)[0]
    return hb, aead.encrypt(seq.to_bytes(4, "big") + b"\x00\x00\x00\x00\x01\x00\x00\x00", data, hb)


def v2_sender(sender_id: bytes, **kwargs: Any) -> stc.StreamingContext:
    """A StreamingContext whose sender id is fixed (the only randomness a sender uses)."""
    ctx = stc.StreamingContext(FRAME_SEED, **{"optimal_chunk_size": V1_SUBCHUNK, **kwargs})
    ctx._pool = sender_id
    ctx._send = ctx._new_sender()
    return ctx


class _FrameVectors:
    def __init__(self) -> None:
        self.out: list[dict[str, Any]] = []

    def add(self, name: str, header: bytes, payload: bytes, expect: str, plaintext: bytes = b"",
            after: list[str] | None = None, **extra: Any) -> None:
        self.out.append({"name": name, "header": header.hex(), "payload": payload.hex(),
                         "plaintext": plaintext.hex(), "expect": expect, "after": after or [], **extra})

    def tampered(self, hb: bytes, p0: bytes, hm: bytes, p1: bytes, unknown_version: int) -> None:
        """The fail_* vectors both versions share, from one single-chunk and one multi-chunk frame."""
        add = self.add
        add("fail_replayed", hb, p0, "ReplayError", after=["good_single_chunk"])
        add("fail_flipped_header_sequence", hb[:15] + bytes([hb[15] ^ 1]), p0, "IntegrityError")
        add("fail_flipped_sender_id", hb[:2] + bytes([hb[2] ^ 1]) + hb[3:], p0, "IntegrityError")
        add("fail_flags_claim_multi", hb[:1] + b"\x01" + hb[2:], p0, "IntegrityError")
        add(f"fail_header_version_{unknown_version}", bytes([unknown_version]) + hb[1:], p0, "FormatError")
        add("fail_unknown_flags", hb[:1] + b"\x80" + hb[2:], p0, "FormatError")
        add("fail_short_header", hb[:15], p0, "FormatError")
        add("fail_bad_tag", hb, p0[:-1] + bytes([p0[-1] ^ 1]), "IntegrityError")
        add("fail_truncated_payload", hb, p0[:-16], "IntegrityError")
        add("fail_multi_dropped_last_subchunk", hm, p1[: 4 + 8192 + 16 + 8192 + 16], "IntegrityError")
        add("fail_multi_swapped_subchunks", hm, p1[:4] + p1[4 + 8208 : 4 + 2 * 8208] + p1[4 : 4 + 8208]
            + p1[4 + 2 * 8208 :], "IntegrityError")
        add("fail_multi_bad_subchunk_size", hm, b"\x00\x00\x10\x00" + p1[4:], "IntegrityError")


def build_frames() -> list[dict[str, Any]]:
    """Version-1 frames (frames.json): what release 0.1 senders wrote; receivers still read them."""
    v = _FrameVectors()
    sender = bytes.fromhex("0102030405060708")
    single = b"frame zero " * 10
    hb, p0 = v1_frame(sender, 0, 0, single)
    v.add("good_single_chunk", hb, p0, "ok", single)
    multi = hashlib.shake_256(b"multi").digest(20000)
    hm, p1 = v1_frame(sender, 0, 1, multi)
    v.add("good_multi_chunk", hm, p1, "ok", multi)
    he, pe = v1_frame(bytes.fromhex("a1a2a3a4a5a6a7a8"), 2, 0, b"e" * 700)
    v.add("good_epoch_2", he, pe, "ok", b"e" * 700)
    v.tampered(hb, p0, hm, p1, unknown_version=3)
    return v.out


def build_frames_v2() -> list[dict[str, Any]]:
    """Version-2 frames (frames_v2.json): what this release writes."""
    from stc.p2p import frame, keys

    v = _FrameVectors()
    tx = v2_sender(bytes.fromhex("0102030405060708"))
    single = b"frame zero " * 10
    h0, p0 = tx.encrypt_chunk(single)
    v.add("good_single_chunk", h0.to_bytes(), p0, "ok", single)
    multi = hashlib.shake_256(b"multi").digest(20000)
    h1, p1 = tx.encrypt_chunk(multi)
    v.add("good_multi_chunk", h1.to_bytes(), p1, "ok", multi)
    rot = v2_sender(bytes.fromhex("a1a2a3a4a5a6a7a8"), key_rotation_mb=0.001)
    frames = [rot.encrypt_chunk(b"e" * 700) for _ in range(3)]
    v.add("good_epoch_2", frames[2][0].to_bytes(), frames[2][1], "ok", b"e" * 700)
    # A late joiner: epoch 0x1234 of a fresh sender, sealed straight from the epoch tree.
    late_id, late_epoch, late_text = bytes.fromhex("b1b2b3b4b5b6b7b8"), 0x1234, b"joined late"
    leaf = keys.epoch_leaf(keys.sender_root(tx._root, late_id), late_epoch)
    hl = frame.HEADER.pack(2, 0, late_id, late_epoch, 7)
    v.add("good_epoch_4660_late_joiner", hl, keys.frame_aead_v2(tx.suite, leaf).encrypt(
        b"\x00\x00\x00\x07\x00\x00\x00\x00\x01\x00\x00\x00", late_text, hl), "ok", late_text)
    cc = v2_sender(bytes.fromhex("c1c2c3c4c5c6c7c8"), suite="chacha20-poly1305")
    hc, pc = cc.encrypt_chunk(b"chacha frame")
    v.add("good_chacha20", hc.to_bytes(), pc, "ok", b"chacha frame", suite="chacha20-poly1305")
    init = v2_sender(bytes.fromhex("0102030405060708"), role="initiator")
    hi, pi = init.encrypt_chunk(b"from the initiator")
    v.add("good_responder_hears_initiator", hi.to_bytes(), pi, "ok", b"from the initiator", role="responder")
    v.add("fail_reflected_to_initiator", hi.to_bytes(), pi, "ReplayError", role="initiator")
    hb = h0.to_bytes()
    v.add("fail_v2_header_on_v1_payload", b"\x01" + hb[1:], p0, "IntegrityError")
    v.add("fail_retired_epoch", frames[0][0].to_bytes(), frames[0][1], "ReplayError",
          after=["good_epoch_2"], depth=1)
    v.tampered(hb, p0, h1.to_bytes(), p1, unknown_version=3)
    return v.out


SFRAME_BASE_KEY = bytes(range(16))
SFRAME_SESSION_SEED = bytes(range(32))


def build_sframe() -> list[dict[str, Any]]:
    """SFrame frames of our own (sframe/stc-vectors.json): for each suite, a good frame and every
    way one must fail; then the session exporter's keys, pinned (docs/format.md, "SFrame")."""
    from stc.p2p import sframe as sf
    from stc.p2p.keys import session_root, sframe_base_key

    out: list[dict[str, Any]] = []

    def add(name: str, suite: int, ciphertext: bytes, expect: str, **extra: Any) -> None:
        out.append({"name": name, "cipher_suite": suite, "base_key": SFRAME_BASE_KEY.hex(), "kid": 9,
                    "metadata": b"stc sframe".hex(), "ciphertext": ciphertext.hex(), "expect": expect,
                    **{k: v.hex() if isinstance(v, bytes) else v for k, v in extra.items()}})

    plaintext = b"one encoded media frame"
    for suite in sorted(sf.SUITES):
        good = sf.protect_with(suite, SFRAME_BASE_KEY, 9, 300, plaintext, b"stc sframe")
        header_size = sf.parse_header(good)[2]
        tag = sf.SUITES[suite].tag_size
        add(f"good_suite_{suite}", suite, good, "ok", plaintext=plaintext)
        add(f"fail_suite_{suite}_flipped_tag_bit", suite, good[:-1] + bytes((good[-1] ^ 0x80,)), "IntegrityError")
        add(f"fail_suite_{suite}_flipped_body_bit", suite,
            good[:header_size] + bytes((good[header_size] ^ 1,)) + good[header_size + 1:], "IntegrityError")
        add(f"fail_suite_{suite}_changed_ctr", suite, sf.encode_header(9, 301) + good[header_size:], "IntegrityError")
        add(f"fail_suite_{suite}_wrong_metadata", suite, good, "IntegrityError", metadata_used=b"stc sframE")
        add(f"fail_suite_{suite}_shorter_than_tag", suite, good[:header_size + tag - 1], "IntegrityError")
        add(f"fail_suite_{suite}_unknown_kid", suite, sf.encode_header(10, 300) + good[header_size:],
            "UnknownKeyError")
    for name, data in [("fail_empty", b""), ("fail_truncated_kid", bytes.fromhex("9901")),
                       ("fail_truncated_ctr", bytes.fromhex("0f010203")),
                       ("fail_non_minimal_kid_below_8", bytes.fromhex("8007")),
                       ("fail_non_minimal_kid_leading_zero", bytes.fromhex("900009")),
                       ("fail_non_minimal_ctr_below_8", bytes.fromhex("0807")),
                       ("fail_non_minimal_ctr_leading_zero", bytes.fromhex("09000a"))]:
        add(name, 4, data, "FormatError")
    root = session_root(SFRAME_SESSION_SEED)
    out.append({"name": "good_session_export", "session_seed": SFRAME_SESSION_SEED.hex(),
                "base_key_initiator": sframe_base_key(root, 0).hex(),
                "base_key_responder": sframe_base_key(root, 1).hex(), "expect": "ok"})
    return out


def main() -> None:
    messages = {"vectors": build_messages()}
    (HERE / "messages_v2.json").write_text(json.dumps(messages, indent=1, ensure_ascii=False) + "\n")
    messages_v3 = {"vectors": build_messages_v3()}
    (HERE / "messages_v3.json").write_text(json.dumps(messages_v3, indent=1, ensure_ascii=False) + "\n")
    files = {"seed": FILE_SEED, "context": FILE_CONTEXT, "chunk_size": FILE_CHUNK, "vectors": build_files()}
    (HERE / "files_v2.json").write_text(json.dumps(files, indent=1) + "\n")
    frames = {"seed": FRAME_SEED, "vectors": build_frames()}
    (HERE / "frames.json").write_text(json.dumps(frames, indent=1) + "\n")
    (HERE / "armor.json").write_text(json.dumps({"binary_of": "files_v2.json good_three_chunks",
                                                 "vectors": build_armor()}, indent=1) + "\n")
    frames_v2 = {"seed": FRAME_SEED, "vectors": build_frames_v2()}
    (HERE / "frames_v2.json").write_text(json.dumps(frames_v2, indent=1) + "\n")
    sframe = {"source": "STC's own (tests/vectors/generate.py); the RFC's are test-vectors*.json here",
              "vectors": build_sframe()}
    (HERE / "sframe" / "stc-vectors.json").write_text(json.dumps(sframe, indent=1) + "\n")


if __name__ == "__main__":
    main()
