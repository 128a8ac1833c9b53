"""STCContext messages: round trips, every failure kind, metadata, state, hash, health."""

from __future__ import annotations

import contextlib
import json
import pickle

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import stc
from stc import errors
from stc.crypto import kdf
from stc.formats.headers import header_from_bytes
from tests.conftest import CHEAP

fast = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8) | st.binary(max_size=8)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


@fast
@given(data=st.one_of(st.binary(max_size=2048), st.text(max_size=512)), context=json_values,
       decoys=st.sampled_from([True, False, None]))
def test_round_trip_returns_same_type(ctx: stc.STCContext, data: str | bytes, context: object,
                                      decoys: bool | None) -> None:
    ciphertext, meta = ctx.encrypt(data, "pw", context_data=context, use_decoys=decoys)
    out = ctx.decrypt(ciphertext, meta, "pw", context_data=context)
    assert out == data and type(out) is type(data)
    assert meta.slot_count == (4 if decoys else 1) and meta.version == (2 if decoys else 3)


def test_large_message(ctx: stc.STCContext) -> None:
    data = bytes(range(256)) * 40_000
    ciphertext, meta = ctx.encrypt(data, "pw")
    assert len(ciphertext) == len(data) + 16
    assert ctx.decrypt(ciphertext, meta, "pw") == data


def test_ciphertexts_unique_and_sizes(ctx: stc.STCContext) -> None:
    c1, m1 = ctx.encrypt("same", "pw", use_decoys=True)
    c2, m2 = ctx.encrypt("same", "pw", use_decoys=True)
    assert c1 != c2 and m1.nonce != m2.nonce
    _, small = ctx.encrypt("x", "pw", use_decoys=False, format_version=2)
    # Version 2: core 31, layout 1, Argon2 22, count 1, one passphrase slot 65, MAC 32 (docs/format.md §6).
    assert small.size == 152
    assert m1.size == 152 + 3 * 65
    # Version 3 (one password): 89 bytes; messages of one session differ in their counter and ciphertext.
    c3, m3 = ctx.encrypt("same", "pw")
    c4, m4 = ctx.encrypt("same", "pw")
    assert m3.size == m4.size == 89 and m4.counter == m3.counter + 1 and m3.session_id == m4.session_id
    assert c3 != c4


def test_wrong_password_and_seed(ctx: stc.STCContext) -> None:
    ciphertext, meta = ctx.encrypt("secret", "pw")
    with pytest.raises(stc.WrongPasswordError, match="wrong password"):
        ctx.decrypt(ciphertext, meta, "wrong")
    other = stc.STCContext("other-seed", **CHEAP)
    with pytest.raises(stc.WrongPasswordError):
        other.decrypt(ciphertext, meta, "pw")


def test_context_mismatch_kinds(ctx: stc.STCContext) -> None:
    ciphertext, meta = ctx.encrypt("x", "pw", context_data={"user": "alice"})
    with pytest.raises(stc.IntegrityError, match="context data"):
        ctx.decrypt(ciphertext, meta, "pw", context_data={"user": "bob"})
    with pytest.raises(stc.ContextMismatchError, match="encrypted with context data"):
        ctx.decrypt(ciphertext, meta, "pw")
    plain_ct, plain_meta = ctx.encrypt("x", "pw")
    with pytest.raises(stc.ContextMismatchError, match="without context data"):
        ctx.decrypt(plain_ct, plain_meta, "pw", context_data={"user": "alice"})


def test_context_encoding_is_canonical_and_typed(ctx: stc.STCContext) -> None:
    ciphertext, meta = ctx.encrypt("x", "pw", context_data={"a": 1, "b": [1, "2"]})
    assert ctx.decrypt(ciphertext, meta, "pw", context_data={"b": [1, "2"], "a": 1}) == "x"
    for other in ({"a": "1", "b": [1, "2"]}, {"a": True, "b": [1, "2"]}, {"a": 1, "b": (1, b"2")}):
        with pytest.raises(stc.IntegrityError):
            ctx.decrypt(ciphertext, meta, "pw", context_data=other)


@pytest.mark.parametrize("bad", [{1: "x"}, {"x": object()}, float("nan"), {"x": set()}])
def test_bad_context_data_rejected(ctx: stc.STCContext, bad: object) -> None:
    with pytest.raises(stc.ParameterError):
        ctx.encrypt("x", "pw", context_data=bad)  # type: ignore[arg-type]


def test_deep_context_rejected(ctx: stc.STCContext) -> None:
    deep: object = "x"
    for _ in range(40):
        deep = [deep]
    with pytest.raises(stc.ParameterError, match="nested"):
        ctx.encrypt("x", "pw", context_data=deep)  # type: ignore[arg-type]


def test_every_bit_flip_of_metadata_and_ciphertext_rejected(ctx: stc.STCContext,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    # Flips that raise the Argon2 cost are refused by the limit check; lowering the limit
    # keeps this test fast without changing what it asserts (every flip raises our error).
    monkeypatch.setattr(kdf, "MAX_MEMORY_KIB", 4096)
    ciphertext, meta = ctx.encrypt(b"attack at dawn", "pw", context_data={"k": "v"})
    wire = meta.to_bytes()
    for i in range(len(wire) * 8):
        bad = bytearray(wire)
        bad[i // 8] ^= 1 << (i % 8)
        with pytest.raises(stc.DecryptionError):
            ctx.decrypt(ciphertext, bytes(bad), "pw", context_data={"k": "v"})
    for i in range(len(ciphertext) * 8):
        bad = bytearray(ciphertext)
        bad[i // 8] ^= 1 << (i % 8)
        with pytest.raises(stc.IntegrityError):
            ctx.decrypt(bytes(bad), meta, "pw", context_data={"k": "v"})


def test_truncated_and_extended_ciphertext(ctx: stc.STCContext) -> None:
    ciphertext, meta = ctx.encrypt(b"0123456789" * 5, "pw")
    for cut in range(len(ciphertext)):
        with pytest.raises(stc.IntegrityError):
            ctx.decrypt(ciphertext[:cut], meta, "pw")
    with pytest.raises(stc.IntegrityError):
        ctx.decrypt(ciphertext + b"\x00", meta, "pw")


def test_ciphertext_type_checked(ctx: stc.STCContext) -> None:
    _, meta = ctx.encrypt(b"x", "pw")
    with pytest.raises(stc.FormatError):
        ctx.decrypt("not bytes", meta, "pw")  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_fuzzed_metadata_raises_only_format_error(data: bytes) -> None:
    with contextlib.suppress(stc.FormatError):
        header_from_bytes(data)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 346), st.integers(1, 255), st.integers(0, 20))
def test_mutated_metadata_parses_or_raises_format_error(pos: int, xor: int, cut: int) -> None:
    ctx = _SHARED
    wire = bytearray(_SHARED_META.to_bytes())
    wire[pos] ^= xor
    try:
        parsed = header_from_bytes(bytes(wire[: len(wire) - cut]))
    except stc.FormatError:
        return
    assert parsed.to_bytes() == bytes(wire[: len(wire) - cut])
    del ctx


_SHARED = stc.STCContext("fuzz", **CHEAP)
_SHARED_META = _SHARED.encrypt(b"x", "pw", use_decoys=True)[1]


def test_metadata_pickle_and_bytes_round_trip(ctx: stc.STCContext) -> None:
    _, meta = ctx.encrypt("x", "pw")
    assert pickle.loads(pickle.dumps(meta)) == meta
    assert header_from_bytes(meta.to_bytes()) == meta
    # Unpickling goes through the validating parser.
    tampered = pickle.dumps(meta).replace(meta.to_bytes()[:5], b"XTCM\x02")
    with pytest.raises(stc.FormatError):
        pickle.loads(tampered)
    assert json.dumps(meta.describe())


def test_kdf_limits_refused_before_work() -> None:
    with pytest.raises(stc.KDFLimitError):
        kdf.KdfParams(memory_kib=(1 << 20) + 1, passes=1).check()
    with pytest.raises(stc.KDFLimitError):
        kdf.KdfParams(memory_kib=1024, passes=17).check()
    with pytest.raises(stc.KDFLimitError):
        kdf.KdfParams(memory_kib=1024, passes=1, lanes=17).check()


@pytest.mark.parametrize("kwargs", [{"lattice_size": 8}, {"lattice_size": 1024}, {"depth": 1}, {"depth": 33},
                                    {"lattice_size": 64.0}, {"depth": True}])
def test_knob_validation(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="must be an integer"):
        stc.STCContext("s", **kwargs)  # type: ignore[arg-type]


def test_knobs_map_to_argon2() -> None:
    assert stc.STCContext("s").kdf_params == kdf.KdfParams(65536, 3, 4)
    assert stc.STCContext("s", lattice_size=64, depth=4).kdf_params == kdf.KdfParams(16384, 2, 4)
    assert stc.STCContext("s", lattice_size=256, depth=8).kdf_params == kdf.KdfParams(262144, 4, 4)


@pytest.mark.parametrize("seed", [True, 1.5, None, ["x"]])
def test_seed_type_checked(seed: object) -> None:
    with pytest.raises(stc.ParameterError):
        stc.STCContext(seed, **CHEAP)  # type: ignore[arg-type]


def test_seed_types_are_distinct() -> None:
    keys = {stc.STCContext(s, **CHEAP).derive_key() for s in ("1", b"1", 1, -1, 0, "")}
    assert len(keys) == 6


def test_password_rules(ctx: stc.STCContext) -> None:
    with pytest.raises(stc.ParameterError, match="empty"):
        ctx.encrypt("x", "")
    with pytest.raises(stc.ParameterError):
        ctx.encrypt("x", 5)  # type: ignore[arg-type]
    with pytest.raises(stc.ParameterError, match="twice"):
        ctx.encrypt("x", "a", additional_passwords=["a"])
    with pytest.raises(stc.ParameterError, match="at most"):
        ctx.encrypt("x", "a", additional_passwords=[str(i) for i in range(16)])
    with pytest.raises(stc.ParameterError):
        ctx.encrypt(123, "pw")  # type: ignore[arg-type]
    # NFC: composed and decomposed forms of the same text are one password.
    ciphertext, meta = ctx.encrypt("x", "caf\u00e9")
    assert ctx.decrypt(ciphertext, meta, "cafe\u0301") == "x"


def test_several_passwords_each_unlock(ctx: stc.STCContext) -> None:
    ciphertext, meta = ctx.encrypt("shared", "alice-pw", additional_passwords=["bob-pw"])
    assert meta.slot_count == 4
    assert ctx.decrypt(ciphertext, meta, "alice-pw") == ctx.decrypt(ciphertext, meta, "bob-pw") == "shared"
    with pytest.raises(stc.WrongPasswordError):
        ctx.decrypt(ciphertext, meta, "carol-pw")


def test_chacha_suite_and_cross_context(ctx: stc.STCContext) -> None:
    chacha = stc.STCContext("test-seed", suite="chacha20-poly1305", **CHEAP)
    ciphertext, meta = chacha.encrypt("x", "pw")
    assert meta.suite is stc.Suite.CHACHA20_POLY1305
    assert ctx.decrypt(ciphertext, meta, "pw") == "x"
    with pytest.raises(stc.ParameterError):
        stc.STCContext("s", suite="des")


def test_epoch_changes_keys_and_old_messages_still_decrypt(ctx: stc.STCContext) -> None:
    old_ct, old_meta = ctx.encrypt("old", "pw")
    h0, k0 = ctx.hash("d"), ctx.derive_key()
    assert ctx.cel.update() == 1
    assert ctx.hash("d") != h0 and ctx.derive_key() != k0
    new_ct, new_meta = ctx.encrypt("new", "pw")
    assert new_meta.epoch == 1
    fresh = stc.STCContext("test-seed", **CHEAP)
    assert fresh.decrypt(old_ct, old_meta, "pw") == "old"
    assert fresh.decrypt(new_ct, new_meta, "pw") == "new"


def test_hash_and_derive_key(ctx: stc.STCContext) -> None:
    twin = stc.STCContext("test-seed", **CHEAP)
    assert ctx.hash("data") == twin.hash(b"data") and len(ctx.hash("data")) == 32
    assert ctx.hash("data", context_data={"a": 1}) != ctx.hash("data")
    assert ctx.hash("data") != stc.STCContext("other", **CHEAP).hash("data")
    assert ctx.derive_key(16, purpose="a") != ctx.derive_key(16, purpose="b")
    assert len(ctx.derive_key(64)) == 64
    with pytest.raises(stc.ParameterError):
        ctx.derive_key(0)
    with pytest.raises(stc.ParameterError):
        ctx.derive_key(purpose=b"x")  # type: ignore[arg-type]


def test_state_round_trip_and_json(ctx: stc.STCContext) -> None:
    ctx.hash("operation1")
    ctx.cel.update()
    ctx.cel.update()
    state = json.loads(json.dumps(ctx.save_state()))
    assert list(state) == ["cel_state", "phe_state", "pcf_state"]
    assert "test-seed" not in json.dumps(state)
    twin = stc.STCContext("test-seed", **CHEAP)
    twin.load_state(state)
    assert twin.hash("z") == ctx.hash("z") and twin.derive_key() == ctx.derive_key()
    ciphertext, meta = twin.encrypt("from twin", "pw")
    assert ctx.decrypt(ciphertext, meta, "pw") == "from twin"
    assert twin.save_state()["cel_state"]["epoch"] == 2


def _mutations(state: dict) -> list[dict]:  # type: ignore[type-arg]
    out = []
    for section in ("cel_state", "phe_state", "pcf_state"):
        for key in state[section]:
            for value in (None, -1, "x", True, 2**70, 1.5):
                bad = json.loads(json.dumps(state))
                if bad[section][key] == value:
                    continue
                bad[section][key] = value
                out.append(bad)
        missing = json.loads(json.dumps(state))
        del missing[section]
        out.append(missing)
        extra = json.loads(json.dumps(state))
        extra[section]["extra"] = 1
        out.append(extra)
    out.append({**state, "more": {}})
    return out


def test_state_validation(ctx: stc.STCContext) -> None:
    state = ctx.save_state()
    with pytest.raises(stc.StateError, match="another seed"):
        stc.STCContext("other-seed", **CHEAP).load_state(state)
    for bad in _mutations(state):
        fresh = stc.STCContext("test-seed", **CHEAP)
        before = fresh.save_state()
        with pytest.raises(stc.StateError):
            fresh.load_state(bad)
        assert fresh.save_state() == before  # nothing half-applied
    with pytest.raises(stc.StateError):
        ctx.load_state("not a dict")  # type: ignore[arg-type]


def test_entropy_health_falls_with_wear_and_update_restores(ctx: stc.STCContext,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from stc.crypto import cel

    health = ctx.get_entropy_health()
    assert health["health_tests_passed"] and 0.99 < health["quality_score"] <= 1.0
    monkeypatch.setattr(cel, "EPOCH_OPERATION_BUDGET", 10)
    for _ in range(8):
        ctx.hash("x")
    worn = ctx.get_entropy_health()
    assert worn["quality_score"] < 0.7 and worn["epoch_wear"] == pytest.approx(0.8)
    ctx.cel.update()
    assert ctx.get_entropy_health()["quality_score"] == 1.0


def test_health_tests_catch_a_stuck_source() -> None:
    from stc.crypto import entropy

    assert not entropy.health_tests(b"\x00" * 4096)["health_tests_passed"]
    biased = bytes([7, 1, 7, 2, 7, 3, 7, 4]) * 512
    report = entropy.health_tests(biased)
    assert report["adaptive_proportion_max"] >= entropy.APT_CUTOFF and not report["health_tests_passed"]


def test_reused_context_caches_password_key(ctx: stc.STCContext, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = kdf.argon2id
    monkeypatch.setattr("stc.crypto.kdf.argon2id", lambda *a: calls.append(1) or real(*a))
    for _ in range(5):
        ciphertext, meta = ctx.encrypt("x", "pw")
        ctx.decrypt(ciphertext, meta, "pw")
    assert len(calls) == 1


def test_repr_has_no_secrets(ctx: stc.STCContext) -> None:
    text = repr(ctx) + repr(ctx.cel)
    assert "test-seed" not in text and ctx.cel.key.hex()[:8] not in text


def test_module_level_quick_start() -> None:
    fast = {"lattice_size": 64, "depth": 4}  # the manual's fastest preset, the encryption floor
    ciphertext, meta = stc.encrypt("hello", password="pw", **fast)
    assert stc.decrypt(ciphertext, meta, password="pw") == "hello"
    blob = stc.encrypt_blob(b"\x00blob", "pw", context_data={"a": 1}, **fast)
    assert stc.decrypt_blob(blob, "pw", context_data={"a": 1}) == b"\x00blob"
    with pytest.raises(stc.WrongPasswordError):
        stc.decrypt_blob(blob, "pw", seed="other", context_data={"a": 1})
    with pytest.raises(stc.FormatError):
        stc.decrypt_blob(b"junk", "pw")


def test_error_hierarchy() -> None:
    for leaf in (errors.WrongPasswordError, errors.IntegrityError, errors.FormatError, errors.ReplayError,
                 errors.TruncatedError, errors.ContextMismatchError, errors.KDFLimitError):
        assert issubclass(leaf, errors.DecryptionError) and issubclass(leaf, errors.STCError)
    for misuse in (errors.ParameterError, errors.StateError, errors.FormatError):
        assert issubclass(misuse, ValueError)
