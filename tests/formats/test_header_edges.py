"""Every header parser's checks at their edges, each refusal with its own message (docs/format.md
§1, §6, §6a), and the exact ``describe()`` summaries that ``stc inspect`` prints."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import stc
from stc.crypto import kdf
from stc.crypto.suite import Suite
from stc.errors import FormatError, KDFLimitError
from stc.formats import headers
from stc.formats.stanza import Stanza
from stc.formats.v1 import FIXED_SIZE, MAX_SIZE, MAX_SLOTS, SLOT_SIZE, Metadata
from stc.formats.v2 import MAX_STANZAS, HeaderV2, directory_size
from stc.formats.v3 import SIZE, HeaderV3
from tests.conftest import CHEAP

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
V1 = json.loads((VECTORS / "messages.json").read_text())
V1_META = bytes.fromhex(V1[0]["metadata"])  # good_text: a message with 4 slots
V1_FILE = bytes.fromhex(json.loads((VECTORS / "files.json").read_text())["vectors"][0]["file"])


def _v1(**over: Any) -> Metadata:
    base = Metadata.from_bytes(V1_META)
    fields = {f: getattr(base, f) for f in ("suite", "kdf", "epoch", "kdf_salt", "nonce", "slots", "text",
                                            "context_bound", "chunk_size", "is_file")}
    return Metadata(**{**fields, **over})


# ---- version 1 ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("over", "message"), [
    ({"epoch": 2**32}, r"^epoch 4294967296 outside \[0, 2\*\*32\)$"),
    ({"epoch": -1}, r"^epoch -1 outside"),
    ({"kdf_salt": bytes(15)}, r"^salts must be 16 bytes$"),
    ({"nonce": bytes(17)}, r"^salts must be 16 bytes$"),
    ({"slots": ()}, r"^a header holds 1 to 16 key slots of 48 bytes$"),
    ({"slots": (bytes(48),) * 17}, r"^a header holds 1 to 16 key slots of 48 bytes$"),
    ({"slots": (bytes(47),)}, r"^a header holds 1 to 16 key slots of 48 bytes$"),
    ({"is_file": True, "chunk_size": 1023}, r"^chunk size 1023 outside \[1024, 67108864\]$"),
    ({"is_file": True, "chunk_size": (1 << 26) + 1}, r"^chunk size 67108865 outside"),
    ({"chunk_size": 1024}, r"^a message header has chunk size 0$"),
])
def test_v1_fields_are_checked_on_construction(over: dict[str, Any], message: str) -> None:
    with pytest.raises(FormatError, match=message):
        _v1(**over)


@pytest.mark.parametrize("over", [{"epoch": 2**32 - 1}, {"epoch": 0}, {"slots": (bytes(48),)},
                                  {"slots": (bytes(48),) * MAX_SLOTS}, {"is_file": True, "chunk_size": 1024},
                                  {"is_file": True, "chunk_size": 1 << 26}])
def test_v1_fields_at_their_bounds_round_trip(over: dict[str, Any]) -> None:
    meta = _v1(**over)
    assert Metadata.from_bytes(meta.to_bytes()) == meta
    assert meta.size == FIXED_SIZE + SLOT_SIZE * meta.slot_count
    assert meta.has_decoys == (meta.slot_count > 1) and meta.prefix == meta.to_bytes()[:FIXED_SIZE]


def _put(data: bytes, offset: int, value: bytes) -> bytes:
    return data[:offset] + value + data[offset + len(value):]


@pytest.mark.parametrize(("data", "error", "message"), [
    ("text", FormatError, r"^metadata must be bytes, not str$"),
    (V1_META[:FIXED_SIZE - 1], FormatError, r"^metadata is 53 bytes; at least 54 are needed$"),
    (b"XTCM" + V1_META[4:], FormatError, r"^not STC data \(bad magic\)$"),
    (_put(V1_META, 4, b"\x02"), FormatError, r"^unsupported format version 2; this release reads version 1$"),
    (_put(V1_META, 6, b"\x04"), FormatError, r"^unknown flag bits 0x04$"),
    (_put(V1_META, 6, b"\x84"), FormatError, r"^unknown flag bits 0x84$"),
    (_put(V1_META, 53, b"\x00"), FormatError, r"^key slot count 0 outside \[1, 16\]$"),
    (_put(V1_META, 53, b"\x11"), FormatError, r"^key slot count 17 outside \[1, 16\]$"),
    (V1_META[:-1], FormatError, r"^metadata truncated: 4 key slots need 246 bytes, got 245$"),
    (V1_META[:FIXED_SIZE], FormatError, r"^metadata truncated: 4 key slots need 246 bytes, got 54$"),
    (_put(V1_META, 5, b"\x09"), FormatError, r"suite"),
    (_put(V1_META, 7, b"\x11"), KDFLimitError, r"^Argon2 passes 17 outside \[1, 16\]$"),
    (_put(V1_META, 12, b"\x00"), KDFLimitError, r"^Argon2 lanes 0 outside \[1, 16\]$"),
], ids=["str", "short", "bad-magic", "version-2", "flag-0x04", "flag-0x84", "slots-0", "slots-17", "truncated",
        "fixed-part-only", "suite-9", "passes-17", "lanes-0"])
def test_v1_parser_refusals(data: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        Metadata.parse_prefix(data)


def test_v1_parser_reads_exactly_its_slots_and_no_more() -> None:
    meta, used = Metadata.parse_prefix(V1_META + b"trailing ciphertext")
    assert used == len(V1_META) == 246 and meta.to_bytes() == V1_META
    assert Metadata.parse_prefix(memoryview(V1_META))[0] == meta
    assert Metadata.parse_prefix(bytearray(V1_META))[0] == meta
    with pytest.raises(FormatError, match=r"^1 unexpected bytes after the metadata$"):
        Metadata.from_bytes(V1_META + b"\0")
    full = _v1(slots=(bytes(48),) * MAX_SLOTS).to_bytes()
    assert len(full) == MAX_SIZE and Metadata.parse_prefix(full + b"x" * 100)[1] == MAX_SIZE


def test_v1_describe_is_exact() -> None:
    assert Metadata.from_bytes(V1_META).describe() == {
        "format": "message", "version": 1, "suite": "aes-256-gcm",
        "kdf": {"algorithm": "argon2id", "memory_kib": 1024, "passes": 1, "lanes": 4},
        "epoch": 0, "chunk_size": 0, "key_slots": 4, "text": True, "context_bound": False, "header_bytes": 246,
    }
    file_meta, _ = headers.parse_header(V1_FILE)
    assert file_meta.describe()["format"] == "file" and file_meta.describe()["chunk_size"] == file_meta.chunk_size


# ---- version 3 ---------------------------------------------------------------------------------

_CTX = stc.STCContext("edges", **CHEAP)
V3_META = _CTX.encrypt(b"x", "pw", context_data={"k": 1})[1].to_bytes()


@pytest.mark.parametrize(("data", "error", "message"), [
    (V3_META[:-1], FormatError, r"^header truncated: 89 bytes needed, 88 given$"),
    (b"STCF" + V3_META[4:], FormatError, r"^not an STC message \(version 3 exists for messages only\)$"),
    (_put(V3_META, 4, b"\x02"), FormatError, r"^unsupported format version 2$"),
    (_put(V3_META, 6, b"\x06"), FormatError, r"^unknown flag bits 0x04$"),
    (_put(V3_META, 6, b"\x83"), FormatError, r"^unknown flag bits 0x80$"),
    (_put(V3_META, 5, b"\x00"), FormatError, r"suite"),
    (_put(V3_META, 11, b"\x00"), KDFLimitError, r"^Argon2 passes 0 outside \[1, 16\]$"),
    (_put(V3_META, 16, b"\x11"), KDFLimitError, r"^Argon2 lanes 17 outside \[1, 16\]$"),
], ids=["truncated", "file-magic", "version-2", "flag-0x04", "flag-0x80", "suite-0", "passes-0", "lanes-17"])
def test_v3_parser_refusals(data: bytes, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        HeaderV3.parse_prefix(data)


def test_v3_exact_length_and_what_each_byte_holds() -> None:
    header = HeaderV3.from_bytes(V3_META)
    assert len(V3_META) == SIZE == 89 and header.to_bytes() == V3_META
    assert V3_META[:4] == b"STCM" and V3_META[4] == 3 and V3_META[5] == int(_CTX.suite) and V3_META[6] == 0x02
    assert int.from_bytes(V3_META[7:11], "big") == header.epoch == 0
    assert (V3_META[11], int.from_bytes(V3_META[12:16], "big"), V3_META[16]) == (1, 1024, 4)
    assert V3_META[17:33] == header.kdf_salt == _CTX._kdf_salt and V3_META[33:49] == header.session_id
    assert int.from_bytes(V3_META[49:57], "big") == header.counter and V3_META[57:] == header.commitment
    assert (header.flags, header.context_bound, header.text) == (0x02, True, False)
    assert (header.version, header.is_file, header.chunk_size, header.slot_count, header.has_decoys) == (
        3, False, 0, 1, False)
    with pytest.raises(FormatError, match=r"^a version-3 header is 89 bytes, not 90$"):
        HeaderV3.from_bytes(V3_META + b"\0")
    with pytest.raises(FormatError, match=r"^a version-3 header is 89 bytes, not 88$"):
        HeaderV3.from_bytes(V3_META[:-1])
    assert HeaderV3.parse_prefix(V3_META + b"ciphertext") == (header, 89)
    assert HeaderV3.parse_prefix(memoryview(V3_META))[0] == header


def test_v3_fields_are_checked_on_construction() -> None:
    header = HeaderV3.from_bytes(V3_META)
    fields = {f: getattr(header, f) for f in ("suite", "epoch", "kdf", "kdf_salt", "session_id", "counter",
                                              "commitment", "text", "context_bound")}
    for name, bad in (("epoch", 2**32), ("counter", -1)):
        with pytest.raises(FormatError, match=r"^a version-3 header's epoch is a u32 and its counter a u64$"):
            HeaderV3(**{**fields, name: bad})
    for name, bad in (("kdf_salt", bytes(17)), ("session_id", bytes(15)), ("commitment", bytes(33))):
        with pytest.raises(FormatError, match=r"^a version-3 header has a 16-byte salt and session id and a "
                                              r"32-byte commitment$"):
            HeaderV3(**{**fields, name: bad})
    with pytest.raises(KDFLimitError):
        HeaderV3(**{**fields, "kdf": kdf.KdfParams(7, 1, 1)})
    rebuilt = HeaderV3(**fields)
    assert rebuilt.to_bytes() == V3_META and rebuilt == header
    text = HeaderV3(**{**fields, "text": True, "context_bound": False, "suite": Suite.CHACHA20_POLY1305})
    assert text.to_bytes()[5:7] == b"\x02\x01" and text.flags == 0x01


def test_v3_describe_is_exact() -> None:
    header = HeaderV3.from_bytes(V3_META)
    assert header.describe() == {
        "format": "message", "version": 3, "suite": "aes-256-gcm", "epoch": 0, "chunk_size": 0, "key_slots": 1,
        "slot_kinds": ["passphrase"], "slots_by_kind": {"passphrase": 1}, "text": False, "context_bound": True,
        "header_bytes": 89, "session_id": header.session_id.hex(), "counter": header.counter,
        "kdf": {"algorithm": "argon2id", "memory_kib": 1024, "passes": 1, "lanes": 4},
    }


# ---- dispatch by version ---------------------------------------------------------------------------

@pytest.mark.parametrize(("data", "message"), [
    (b"STCM", r"^4 bytes are too few for an STC header$"),
    (b"", r"^0 bytes are too few for an STC header$"),
    (b"XTCM\x01", r"^not STC data \(bad magic\)$"),
    (b"STCM\x04" + bytes(100), r"^unsupported format version 4; this release reads versions 1 to 3$"),
    (b"STCM\x00" + bytes(100), r"^unsupported format version 0; this release reads versions 1 to 3$"),
])
def test_version_dispatch_refusals(data: bytes, message: str) -> None:
    with pytest.raises(FormatError, match=message):
        headers.parse_header(data)
    with pytest.raises(FormatError, match=message if len(data) >= 5 else "ends inside its STC header"):
        headers.read_header(_reader(data))


def _reader(data: bytes) -> Any:
    pos = [0]

    def read_exactly(n: int) -> bytes:
        out = data[pos[0]: pos[0] + n]
        pos[0] += n
        return out
    return read_exactly


def test_dispatch_reads_every_version() -> None:
    v2 = _CTX.encrypt(b"x", "pw", format_version=2)[1].to_bytes()
    for wire, version in ((V1_META, 1), (v2, 2), (V3_META, 3)):
        header, used = headers.parse_header(wire + b"rest")
        assert (header.version, used, header.to_bytes()) == (version, len(wire), wire)
        assert headers.header_from_bytes(wire) == header == headers.as_header(wire) == headers.as_header(header)
    with pytest.raises(FormatError, match=r"^3 unexpected bytes after the header$"):
        headers.header_from_bytes(V3_META + b"abc")
    assert headers.read_header(_reader(V1_FILE)).is_file
    with pytest.raises(FormatError, match=r"^a header is bytes, not int$"):
        headers.parse_header(7)  # type: ignore[arg-type]
    with pytest.raises(FormatError, match=r"^this is a message header \(version 3\); files have version 1 or 2$"):
        headers.read_header(_reader(V3_META))
    with pytest.raises(FormatError, match=r"^this is a message header \(version 3\); files have version 1 or 2$"):
        headers.as_file_header(V3_META)
    assert headers.as_file_header(V1_META).version == 1
    with pytest.raises(FormatError, match=r"^the input ends inside its STC header \(truncated, or not STC data\)$"):
        headers.read_header(_reader(V1_FILE[:60]))
    with pytest.raises(FormatError, match=r"^the input ends inside its STC header"):
        headers.read_header(_reader(V1_FILE[:3]))


# ---- version 2 ---------------------------------------------------------------------------------

V2 = _CTX.encrypt(b"x", "pw", format_version=2)[1]  # 4 passphrase stanzas, no directory
V2_RCPT = _CTX.encrypt(b"x", recipients=[stc.generate_identity().recipient], format_version=2)[1]


def _v2(base: HeaderV2, **over: Any) -> HeaderV2:
    fields = {f: getattr(base, f) for f in ("suite", "nonce", "epoch", "stanzas", "mac", "kdf", "kdf_salt",
                                            "dir_salt", "directory", "text", "context_bound", "chunk_size",
                                            "is_file")}
    return HeaderV2(**{**fields, **over})


PASS_STANZA = V2.stanzas[0]
KEY_STANZA = V2_RCPT.stanzas[0]


@pytest.mark.parametrize(("base", "over", "message"), [
    (V2, {"nonce": bytes(15)}, r"^a header nonce is 16 bytes and its epoch a u32$"),
    (V2, {"epoch": 2**32}, r"^a header nonce is 16 bytes and its epoch a u32$"),
    (V2, {"epoch": -1}, r"^a header nonce is 16 bytes and its epoch a u32$"),
    (V2, {"is_file": True, "chunk_size": 1023}, r"^chunk size 1023 outside \[1024, 67108864\]$"),
    (V2, {"is_file": True, "chunk_size": (1 << 26) + 1}, r"^chunk size 67108865 outside"),
    (V2, {"chunk_size": 1024}, r"^a message header has chunk size 0$"),
    (V2, {"stanzas": ()}, r"^a header holds 1 to 32 stanzas$"),
    (V2_RCPT, {"stanzas": (KEY_STANZA,) * (MAX_STANZAS + 1), "directory": bytes(directory_size(33))},
     r"^a header holds 1 to 32 stanzas$"),
    (V2, {"stanzas": (PASS_STANZA,) * 5}, r"^a header holds at most 4 passphrase stanzas$"),
    (V2, {"kdf": None}, r"^passphrase KDF parameters go with passphrase stanzas, and only with them$"),
    (V2_RCPT, {"kdf": V2.kdf}, r"^passphrase KDF parameters go with passphrase stanzas, and only with them$"),
    (V2, {"kdf_salt": bytes(15)}, r"^the passphrase KDF salt is 16 bytes$"),
    (V2, {"dir_salt": bytes(16), "directory": bytes(directory_size(4))},
     r"^a sealed directory \(16-byte salt\) goes with public-key stanzas, and only with them$"),
    (V2_RCPT, {"directory": b""}, r"^a sealed directory"),
    (V2_RCPT, {"dir_salt": bytes(15)}, r"^a sealed directory"),
    (V2_RCPT, {"directory": bytes(directory_size(2))}, r"^a sealed directory"),
    (V2, {"mac": bytes(31)}, r"^the header MAC is 32 bytes$"),
])
def test_v2_fields_are_checked_on_construction(base: HeaderV2, over: dict[str, Any], message: str) -> None:
    with pytest.raises(FormatError, match=message):
        _v2(base, **over)


def test_v2_bounds_accepted_and_round_trip() -> None:
    for base, over in ((V2, {"epoch": 2**32 - 1}), (V2, {"stanzas": (PASS_STANZA,)}),
                       (V2, {"is_file": True, "chunk_size": 1024}), (V2, {"is_file": True, "chunk_size": 1 << 26}),
                       (V2_RCPT, {"stanzas": (KEY_STANZA,) * MAX_STANZAS,
                                  "directory": bytes(directory_size(MAX_STANZAS))})):
        header = _v2(base, **over)
        assert HeaderV2.from_bytes(header.to_bytes()) == header
        assert header.size == len(header.to_bytes()) and header.slot_count == len(header.stanzas)
        assert header.has_decoys == (len(header.stanzas) > 1)
    with pytest.raises(FormatError, match=r"^the header MAC is 32 bytes$"):
        V2.with_mac(bytes(33))
    assert V2.with_mac(bytes(32)).to_bytes() == V2.to_bytes()[:-32] + bytes(32)
    assert V2.core == V2.to_bytes()[:31] and V2.mac_input == V2.to_bytes()[:-32]
    assert (V2.flags, V2.layout, V2_RCPT.layout) == (0, 0x01, 0x02)
    assert isinstance(Stanza(1, bytes(64)).to_bytes(), bytes)


@pytest.mark.parametrize(("data", "message"), [
    (b"XTCM" + V2.to_bytes()[4:], r"^not STC data \(bad magic\)$"),
    (V2.to_bytes()[:4] + b"\x05" + V2.to_bytes()[5:], r"^unsupported format version 5$"),
    (V2.to_bytes()[:-1], r"^header truncated: \d+ bytes needed, \d+ given$"),
    (V2.to_bytes() + b"\0", r"^1 unexpected bytes after the header$"),
], ids=["bad-magic", "version-5", "truncated", "trailing"])
def test_v2_parser_refusals(data: bytes, message: str) -> None:
    with pytest.raises(FormatError, match=message):
        HeaderV2.from_bytes(data)


def test_v2_parser_messages_and_largest_header() -> None:
    from stc.formats.v2 import max_size

    wire = V2.to_bytes()
    for data, message in ((_put(wire, 6, b"\x82"), r"^unknown flag bits 0x80$"),
                          (_put(wire, 31, b"\x05"), r"^unknown slot-layout bits 0x04$"),
                          (_put(wire, 54, b"\x21"), r"^stanza count 33 outside \[1, 32\]$"),
                          (_put(wire, 55, b"\x09"), r"^unknown stanza kind 9 \(known: \[1, 2, 3, 4\]\)$")):
        with pytest.raises(FormatError, match=message):
            HeaderV2.from_bytes(data)
    # docs/format.md §6: 31 + 1 + 1 + 32 * (1 + 1,168) + 16 + (16 * 32 + 16) + 32, reached by a real header
    assert max_size() == 38_017
    largest = stc.STCContext("largest").encrypt(b"x", recipients=[
        stc.generate_identity("mlkem768x25519").recipient for _ in range(32)])[1]
    assert len(largest.to_bytes()) == max_size()
    fewer = stc.STCContext("largest", lattice_size=64, depth=4).encrypt(b"x", "pw", recipients=[
        stc.generate_identity("mlkem768x25519").recipient for _ in range(31)], use_decoys=False)[1]
    assert len(fewer.to_bytes()) < max_size()  # a passphrase stanza instead of an X-Wing one is shorter


def test_v2_describe_is_exact() -> None:
    assert V2.describe() == {
        "format": "message", "version": 2, "suite": "aes-256-gcm", "epoch": 0, "chunk_size": 0, "key_slots": 4,
        "slot_kinds": ["passphrase"] * 4, "slots_by_kind": {"passphrase": 4}, "text": False,
        "context_bound": False, "header_bytes": 347,
        "kdf": {"algorithm": "argon2id", "memory_kib": 1024, "passes": 1, "lanes": 4},
    }
    info = V2_RCPT.describe()
    assert info["slots_by_kind"] == {"x25519": 4} and "kdf" not in info and info["key_slots"] == 4
    assert _v2(V2, is_file=True, chunk_size=1024).describe()["format"] == "file"
