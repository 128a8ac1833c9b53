"""Version-3 messages: one password, a session key per context, a counter nonce (docs/format.md §6a)."""

from __future__ import annotations

import io
import os
import pickle
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import stc
from stc.errors import (
    ContextMismatchError,
    FormatError,
    IntegrityError,
    NoMatchingIdentityError,
    ParameterError,
    STCError,
    WrongPasswordError,
)
from stc.formats.headers import header_from_bytes
from stc.formats.v3 import MAX_MESSAGES, SIZE, HeaderV3
from stc.keys import sessions
from tests.conftest import CHEAP

_CTX = stc.STCContext("sessions", **CHEAP)


def _pairs(headers: list[HeaderV3]) -> set[tuple[bytes, int]]:
    return {(h.session_id, h.counter) for h in headers}


@settings(max_examples=60, deadline=None)
@given(data=st.one_of(st.binary(max_size=300), st.text(max_size=100)),
       context=st.one_of(st.none(), st.dictionaries(st.text(max_size=4), st.integers(), max_size=3)))
def test_round_trip_in_a_new_reader(data: str | bytes, context: object) -> None:
    ciphertext, meta = _CTX.encrypt(data, "pw", context_data=context)
    assert isinstance(meta, HeaderV3) and meta.size == SIZE
    reader = stc.STCContext("sessions", **CHEAP)
    out = reader.decrypt(ciphertext, meta.to_bytes(), "pw", context_data=context)
    assert out == data and type(out) is type(data)


@settings(max_examples=120, deadline=None)
@given(index=st.integers(0, SIZE + 40), bit=st.integers(0, 7))
def test_any_flipped_bit_is_refused(index: int, bit: int) -> None:
    ciphertext, meta = _CTX.encrypt(b"x" * 40, "pw", context_data={"k": 1})
    blob = bytearray(meta.to_bytes() + ciphertext)
    blob[index % len(blob)] ^= 1 << bit
    with pytest.raises(STCError):
        _CTX.decrypt_blob(bytes(blob), "pw", context_data={"k": 1})


def test_one_password_writes_version_3_and_the_rest_version_2() -> None:
    ctx = stc.STCContext("s", **CHEAP)
    assert ctx.encrypt(b"x", "pw")[1].version == 3
    assert ctx.encrypt(b"x", "pw", use_decoys=False)[1].version == 3
    assert ctx.encrypt(b"x", "pw", format_version=3)[1].version == 3
    for kwargs in ({"use_decoys": True}, {"format_version": 2}, {"additional_passwords": ["b"]},
                   {"recipients": [stc.generate_identity().recipient]}):
        _, meta = ctx.encrypt(b"x", "pw", **kwargs)  # type: ignore[arg-type]
        assert meta.version == 2, kwargs
    _, v2 = ctx.encrypt(b"x", "pw", format_version=2)
    assert v2.slot_count == 4  # the old default: decoys on


@pytest.mark.parametrize("kwargs", [{"format_version": 4}, {"format_version": 1}, {"format_version": "3"},
                                    {"format_version": 3, "use_decoys": True},
                                    {"format_version": 3, "additional_passwords": ["b"]}])
def test_format_version_is_checked(kwargs: dict[str, object]) -> None:
    with pytest.raises(ParameterError, match="format_version"):
        _CTX.encrypt(b"x", "pw", **kwargs)  # type: ignore[arg-type]


def test_format_version_3_needs_a_password() -> None:
    with pytest.raises(ParameterError, match="format_version=3"):
        _CTX.encrypt(b"x", recipients=[stc.generate_identity().recipient], format_version=3)


def test_counters_advance_in_one_session_and_readers_cache_it() -> None:
    ctx = stc.STCContext("s", **CHEAP)
    metas = [ctx.encrypt(b"m%d" % i, "pw")[1] for i in range(5)]
    assert [m.counter for m in metas] == [0, 1, 2, 3, 4]
    assert len({m.session_id for m in metas}) == 1 and len({m.commitment for m in metas}) == 1
    other = ctx.encrypt(b"x", "another password")[1]
    assert other.session_id != metas[0].session_id and other.counter == 0


def test_a_new_context_a_new_epoch_and_another_suite_start_new_sessions() -> None:
    a, b = stc.STCContext("s", **CHEAP), stc.STCContext("s", **CHEAP)
    ma, mb = a.encrypt(b"x", "pw")[1], b.encrypt(b"x", "pw")[1]
    assert ma.session_id != mb.session_id and ma.commitment != mb.commitment
    a.cel.update()
    m2 = a.encrypt(b"x", "pw")[1]
    assert m2.epoch == 1 and m2.counter == 0 and m2.session_id != ma.session_id
    a.suite = stc.Suite.CHACHA20_POLY1305
    m3 = a.encrypt(b"x", "pw")[1]
    assert m3.suite == stc.Suite.CHACHA20_POLY1305 and m3.counter == 0 and m3.session_id != m2.session_id
    assert b.decrypt(*a.encrypt(b"both", "pw"), "pw") == b"both"


def test_a_session_ends_at_its_message_limit() -> None:
    ctx = stc.STCContext("s", **CHEAP)
    first = ctx.encrypt(b"x", "pw")[1]
    (session,) = ctx._sessions.values()
    session.next = MAX_MESSAGES - 1
    last = ctx.encrypt(b"x", "pw")[1]
    assert last.session_id == first.session_id and last.counter == MAX_MESSAGES - 1
    fresh = ctx.encrypt(b"x", "pw")[1]
    assert fresh.session_id != first.session_id and fresh.counter == 0


def test_threads_never_share_a_counter() -> None:
    ctx = stc.STCContext("s", **CHEAP)
    found: list[HeaderV3] = []
    lock = threading.Lock()

    def work() -> None:
        mine = [ctx.encrypt(b"x", "pw")[1] for _ in range(300)]
        with lock:
            found.extend(mine)  # type: ignore[arg-type]

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(_pairs(found)) == 1200


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_starts_its_own_session() -> None:
    ctx = stc.STCContext("s", **CHEAP)
    parent_first = ctx.encrypt(b"x", "pw")[1]
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        try:
            os.write(write, ctx.encrypt(b"x", "pw")[1].to_bytes())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        child = header_from_bytes(pipe.read())
    os.waitpid(pid, 0)
    parent_next = ctx.encrypt(b"x", "pw")[1]
    assert isinstance(child, HeaderV3)
    assert child.session_id != parent_first.session_id and child.counter == 0
    assert parent_next.session_id == parent_first.session_id and parent_next.counter == 1


def test_the_reader_cache_is_bounded_and_keeps_only_keys_that_opened(monkeypatch: pytest.MonkeyPatch) -> None:
    writer, reader = stc.STCContext("s", **CHEAP), stc.STCContext("s", **CHEAP)
    derived: list[bytes] = []
    real = sessions.session_keys

    def counting(*args: object) -> tuple[bytes, bytes]:
        derived.append(args[-1])  # type: ignore[arg-type]
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(sessions, "session_keys", counting)
    first = writer.encrypt(b"x", "pw")
    for _ in range(3):  # one derivation per session, on either side
        assert reader.decrypt(*writer.encrypt(b"x", "pw"), "pw") == b"x"
    assert len(derived) == 2
    ids = [first[1].session_id]
    for i in range(sessions._OPEN_CACHE + 5):
        writer.cel.update() if i % 2 else writer._sessions.clear()
        c, m = writer.encrypt(b"x", "pw")
        ids.append(m.session_id)
        assert reader.decrypt(c, m, "pw") == b"x"
    assert len(reader._open_sessions) == sessions._OPEN_CACHE
    cached = {key[3] for key in reader._open_sessions}
    assert cached == set(ids[-sessions._OPEN_CACHE:])  # the least recently used were forgotten
    assert reader.decrypt(*first, "pw") == b"x"  # a forgotten session is derived again, and opens
    c, m = writer.encrypt(b"x", "pw")
    fresh = stc.STCContext("s", **CHEAP)
    with pytest.raises(WrongPasswordError):
        fresh.decrypt(c, m, "not the password")
    assert not fresh._open_sessions


def test_errors_in_order() -> None:
    ciphertext, meta = _CTX.encrypt(b"x", "pw", context_data="c")
    with pytest.raises(ContextMismatchError):  # the context flag is checked before any key work
        _CTX.decrypt(ciphertext, meta, "wrong", context_data=None)
    with pytest.raises(ParameterError, match=r"^give the password$"):
        _CTX.decrypt(ciphertext, meta, None, context_data="c")
    with pytest.raises(NoMatchingIdentityError,
                       match=r"^this message is sealed to a password only, which no identity opens$"):
        _CTX.decrypt(ciphertext, meta, None, identities=stc.generate_identity(), context_data="c")
    with pytest.raises(WrongPasswordError, match=r"^wrong password \(or wrong seed, or the header was modified\)$"):
        _CTX.decrypt(ciphertext, meta, "wrong", context_data="c")
    with pytest.raises(IntegrityError, match=r"^the key is right but the data did not authenticate: wrong context "
                                             r"data, or the ciphertext or metadata was modified$"):
        _CTX.decrypt(ciphertext, meta, "pw", context_data="d")
    with pytest.raises(IntegrityError, match="shorter than its tag"):
        _CTX.decrypt(ciphertext[:15], meta, "pw", context_data="c")
    with pytest.raises(FormatError, match="bytes"):
        _CTX.decrypt("text", meta, "pw", context_data="c")  # type: ignore[arg-type]
    assert _CTX.decrypt(bytearray(ciphertext), meta, "pw", context_data="c") == b"x"
    assert _CTX.decrypt(memoryview(ciphertext), meta, "pw", context_data="c") == b"x"


def test_header_objects_parse_describe_and_pickle_through_their_bytes() -> None:
    _, meta = _CTX.encrypt("x", "pw")
    assert pickle.loads(pickle.dumps(meta)) == meta
    assert header_from_bytes(meta.to_bytes()) == meta
    info = meta.describe()
    assert info["version"] == 3 and info["key_slots"] == 1 and info["header_bytes"] == SIZE and info["text"]
    assert info["session_id"] == meta.session_id.hex() and "commitment" not in info
    with pytest.raises(FormatError, match="89 bytes"):
        HeaderV3.from_bytes(meta.to_bytes() + b"\0")
    with pytest.raises(FormatError, match="truncated"):
        HeaderV3.parse_prefix(meta.to_bytes()[:-1])


def test_files_refuse_a_version_3_header() -> None:
    ciphertext, meta = _CTX.encrypt(b"x", "pw")
    with pytest.raises(FormatError, match="message header"):
        _CTX.decrypt_stream(io.BytesIO(meta.to_bytes() + ciphertext), None, io.BytesIO(), "pw")
    with pytest.raises(FormatError, match="message header"):
        stc.streaming.validate_chunk_fast(b"\0" * 64, meta, "pw", ctx=_CTX)


def test_module_level_calls_write_and_read_version_3() -> None:
    blob = stc.encrypt_blob(b"quick", "pw", seed="q", lattice_size=64, depth=4)
    assert blob[4] == 3
    assert stc.decrypt_blob(blob, "pw", seed="q") == b"quick"
    ciphertext, meta = stc.encrypt(b"quick", "pw", seed="q", lattice_size=64, depth=4, format_version=2)
    assert meta.version == 2 and stc.decrypt(ciphertext, meta, "pw", seed="q") == b"quick"


def test_a_session_key_is_a_function_of_every_input() -> None:
    from stc.crypto.kdf import KdfParams
    from stc.crypto.suite import Suite

    base = (bytes(32), bytes(32), Suite.AES_256_GCM, 0, KdfParams(16384, 2, 4), bytes(16), bytes(16))
    keys = {sessions.session_keys(*base)}
    for i, other in enumerate((b"\1" * 32, b"\1" * 32, Suite.CHACHA20_POLY1305, 1, KdfParams(16384, 3, 4),
                               b"\1" * 16, b"\1" * 16)):
        keys.add(sessions.session_keys(*base[:i], other, *base[i + 1:]))  # type: ignore[arg-type]
    assert len(keys) == 8 and all(len(k) == 32 and len(c) == 32 and k != c for k, c in keys)
    assert sessions.message_nonce(0) == bytes(12)
    assert sessions.message_nonce(2**64 - 1) == bytes(4) + b"\xff" * 8


def test_a_random_source_that_returns_too_little_is_refused() -> None:
    ctx = stc.STCContext("s", **CHEAP)
    ctx._rand = lambda n: bytes(n - 1)
    with pytest.raises(ParameterError, match=r"^the random source returned too few bytes$"):
        ctx.encrypt(b"x", "pw")
