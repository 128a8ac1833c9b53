"""Known-answer vectors (tests/vectors/*.json, made by tests/vectors/generate.py)."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import pytest
from generate import (
    FILE_CHUNK,
    FROZEN_V1,
    _file_plaintext,
    build_armor,
    build_files,
    build_frames,
    build_frames_v2,
    build_messages,
    build_messages_v3,
)

import stc

HERE = Path(__file__).resolve().parents[1] / "vectors"
MESSAGES = json.loads((HERE / "messages.json").read_text())  # version 1, frozen
FILES = json.loads((HERE / "files.json").read_text())  # version 1, frozen
MESSAGES_V2 = json.loads((HERE / "messages_v2.json").read_text())["vectors"]
MESSAGES_V3 = json.loads((HERE / "messages_v3.json").read_text())["vectors"]
FILES_V2 = json.loads((HERE / "files_v2.json").read_text())
ARMOR = json.loads((HERE / "armor.json").read_text())
FRAMES = json.loads((HERE / "frames.json").read_text())
FRAMES_V2 = json.loads((HERE / "frames_v2.json").read_text())


def _value(v: Any) -> Any:
    return bytes.fromhex(v["hex"]) if isinstance(v, dict) and set(v) == {"hex"} else v


def test_vectors_are_what_the_code_writes() -> None:
    # A format change shows up as a vector diff: regenerate and review.
    assert build_messages() == MESSAGES_V2
    assert build_messages_v3() == MESSAGES_V3
    assert build_files() == FILES_V2["vectors"]
    assert build_armor() == ARMOR["vectors"]
    assert build_frames() == FRAMES["vectors"]
    assert build_frames_v2() == FRAMES_V2["vectors"]


def test_version_1_vectors_are_frozen() -> None:
    # What release 0.1 wrote never changes; the tests below still decrypt every one of them.
    for name, digest in FROZEN_V1.items():
        assert hashlib.sha256((HERE / name).read_bytes()).hexdigest() == digest


def test_vector_names_cover_outcomes() -> None:
    names = [v["name"] for v in MESSAGES + FILES["vectors"] + FRAMES["vectors"] + MESSAGES_V2 + MESSAGES_V3
             + FILES_V2["vectors"]]
    assert sum(n.startswith("fail_") for n in names) >= 8
    assert all(n.startswith(("good_", "fail_")) for n in names)


@pytest.mark.parametrize("vec", MESSAGES_V3, ids=[v["name"] for v in MESSAGES_V3])
def test_message_vector_v3(vec: dict[str, Any]) -> None:
    ctx = stc.STCContext(_value(vec["seed"]))
    metadata, ciphertext = bytes.fromhex(vec["metadata"]), bytes.fromhex(vec["ciphertext"])
    call = lambda: ctx.decrypt(ciphertext, metadata, vec["password"], identities=vec["identities"],  # noqa: E731
                               context_data=vec["context"])
    if vec["expect"] == "ok":
        assert stc.formats.headers.header_from_bytes(metadata).version == 3
        assert call() == _value(vec["plaintext"])
        assert call() == _value(vec["plaintext"])  # again, from the reader's session cache
        assert ctx.decrypt_blob(metadata + ciphertext, vec["password"], context_data=vec["context"]) \
            == _value(vec["plaintext"])
    else:
        with pytest.raises(getattr(stc.errors, vec["expect"])):
            call()
        good = next(v for v in MESSAGES_V3 if v["name"] == "good_bytes_context")
        if vec["expect"] in ("WrongPasswordError", "IntegrityError") and vec["seed"] == good["seed"]:
            # the same refusal once the reader has the genuine session's keys cached
            ctx.decrypt(bytes.fromhex(good["ciphertext"]), bytes.fromhex(good["metadata"]), good["password"],
                        context_data=good["context"])
            with pytest.raises(getattr(stc.errors, vec["expect"])):
                call()


@pytest.mark.parametrize("vec", MESSAGES_V2, ids=[v["name"] for v in MESSAGES_V2])
def test_message_vector_v2(vec: dict[str, Any]) -> None:
    ctx = stc.STCContext(_value(vec["seed"]))  # default context: the vectors are at the cost floor
    call = lambda: ctx.decrypt(  # noqa: E731
        bytes.fromhex(vec["ciphertext"]), bytes.fromhex(vec["metadata"]), vec["password"],
        identities=vec["identities"], context_data=vec["context"],
    )
    if vec["expect"] == "ok":
        assert call() == _value(vec["plaintext"])
        if vec["password"] is not None and vec["identities"]:  # either one alone opens it
            for password, identities in ((vec["password"], []), (None, vec["identities"])):
                assert ctx.decrypt(bytes.fromhex(vec["ciphertext"]), bytes.fromhex(vec["metadata"]), password,
                                   identities=identities, context_data=vec["context"]) == _value(vec["plaintext"])
    else:
        with pytest.raises(getattr(stc.errors, vec["expect"])):
            call()


@pytest.mark.parametrize("vec", MESSAGES, ids=[v["name"] for v in MESSAGES])
def test_message_vector(vec: dict[str, Any]) -> None:
    ctx = stc.STCContext(_value(vec["seed"]))  # released data opens with a default context
    call = lambda: ctx.decrypt(  # noqa: E731
        bytes.fromhex(vec["ciphertext"]), bytes.fromhex(vec["metadata"]), vec["password"],
        context_data=vec["context"],
    )
    if vec["expect"] == "ok":
        assert call() == _value(vec["plaintext"])
    else:
        with pytest.raises(getattr(stc.errors, vec["expect"])):
            call()


@pytest.mark.parametrize("vec", FILES["vectors"], ids=[v["name"] for v in FILES["vectors"]])
def test_file_vector(vec: dict[str, Any], tmp_path: Path) -> None:
    ctx = stc.STCContext(FILES["seed"])  # released files open with a default context
    src = tmp_path / "in.stc"
    src.write_bytes(bytes.fromhex(vec["file"]))
    out = tmp_path / "out"
    call = lambda: ctx.decrypt_stream(src, output_path=out, password=FILES["password"],  # noqa: E731
                                      context_data=FILES["context"])
    if vec["expect"] == "ok":
        call()
        assert out.read_bytes() == _file_plaintext(vec["size"])
        sink = io.BytesIO()
        ctx.decrypt_stream(io.BytesIO(src.read_bytes()), output_path=sink, password=FILES["password"],
                           context_data=FILES["context"])
        assert sink.getvalue() == _file_plaintext(vec["size"])
    else:
        with pytest.raises(getattr(stc.errors, vec["expect"])):
            call()
        assert list(tmp_path.iterdir()) == [src]
    assert FILES["chunk_size"] == FILE_CHUNK


@pytest.mark.parametrize("vec", FILES_V2["vectors"], ids=[v["name"] for v in FILES_V2["vectors"]])
def test_file_vector_v2(vec: dict[str, Any], tmp_path: Path) -> None:
    ctx = stc.STCContext(FILES_V2["seed"])
    src = tmp_path / "in.stc"
    src.write_bytes(bytes.fromhex(vec["file"]))
    out = tmp_path / "out"
    call = lambda: ctx.decrypt_stream(src, output_path=out, password=vec["password"],  # noqa: E731
                                      identities=vec["identities"], context_data=FILES_V2["context"])
    if vec["expect"] == "ok":
        call()
        assert out.read_bytes() == _file_plaintext(vec["size"])
        if "before_rekey" in vec:  # a re-key changed the header only
            before = bytes.fromhex(vec["before_rekey"])
            after = src.read_bytes()
            old, new = stc.HeaderV2.parse_prefix(before)[0], stc.HeaderV2.parse_prefix(after)[0]
            assert before[old.size :] == after[new.size :] and old.core == new.core
    else:
        with pytest.raises(getattr(stc.errors, vec["expect"])):
            call()
        assert list(tmp_path.iterdir()) == [src]
    assert FILES_V2["chunk_size"] == FILE_CHUNK


def _frame_case(table: dict[str, Any], vec: dict[str, Any]) -> None:
    depth = vec.get("depth")
    rx = stc.StreamingContext(table["seed"], suite=vec.get("suite", "aes-256-gcm"), role=vec.get("role"),
                              **({"initial_depth": depth, "max_depth": depth} if depth else {}))
    by_name = {v["name"]: v for v in table["vectors"]}
    for earlier in vec["after"]:
        rx.decrypt_chunk(bytes.fromhex(by_name[earlier]["header"]), bytes.fromhex(by_name[earlier]["payload"]))
    call = lambda: rx.decrypt_chunk(bytes.fromhex(vec["header"]), bytes.fromhex(vec["payload"]))  # noqa: E731
    if vec["expect"] == "ok":
        assert call() == bytes.fromhex(vec["plaintext"])
    else:
        with pytest.raises(getattr(stc.errors, vec["expect"])):
            call()


@pytest.mark.parametrize("vec", FRAMES["vectors"], ids=[v["name"] for v in FRAMES["vectors"]])
def test_frame_vector_v1(vec: dict[str, Any]) -> None:
    assert vec["header"][:2] in ("01", "03") or vec["name"] == "fail_short_header"
    _frame_case(FRAMES, vec)


@pytest.mark.parametrize("vec", FRAMES_V2["vectors"], ids=[v["name"] for v in FRAMES_V2["vectors"]])
def test_frame_vector_v2(vec: dict[str, Any]) -> None:
    _frame_case(FRAMES_V2, vec)


@pytest.mark.parametrize("vec", ARMOR["vectors"], ids=[v["name"] for v in ARMOR["vectors"]])
def test_armor_vector(vec: dict[str, Any]) -> None:
    from stc.formats import armor

    binary = bytes.fromhex(next(v for v in FILES_V2["vectors"] if v["name"] == "good_three_chunks")["file"])
    data = vec["armored"].encode("latin-1")
    read = lambda: armor.ArmorReader(io.BytesIO(data)).read()  # noqa: E731
    if vec["expect"] == "ok":
        assert armor.is_armored(data[: armor.DETECT])  # what the command line looks at finds it too
        assert read() == binary
    else:
        with pytest.raises(stc.FormatError):
            read()


PICKLES = json.loads((HERE / "pickles.json").read_text())


@pytest.mark.parametrize("vec", PICKLES["vectors"], ids=[v["name"] for v in PICKLES["vectors"]])
def test_pickled_headers_of_earlier_releases_still_load(vec: dict[str, Any]) -> None:
    """Headers pickled by 0.4.1 (the manual saves them to .meta files) name the module paths of
    that release; they load, through the validating parser, whatever the package layout now."""
    import pickle

    header = pickle.loads(bytes.fromhex(vec["pickle"]))
    assert header.to_bytes().hex() == vec["header"]
    assert pickle.loads(pickle.dumps(header)).to_bytes() == header.to_bytes()
