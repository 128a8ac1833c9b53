"""Issue 9: every finding of the security review, reproduced as an attack that must fail now."""

from __future__ import annotations

import copy
import json
import os
import pickle
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import stc
from stc import p2p
from stc.crypto import kdf
from stc.formats.v1 import Metadata
from stc.keys import v1_slots as slots
from stc.p2p import keys as p2p_keys
from stc.p2p import replay as p2p_replay
from stc.p2p.handshake import KeyExchange
from tests.conftest import CHEAP

SEED = b"\x42" * 32


def _run_threads(target: Any, count: int) -> None:
    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
        assert not t.is_alive(), "a thread hung (deadlock?)"


# ---- 1. (key, nonce) reuse under threads and fork -------------------------------------------------
def test_threads_sealing_on_one_context_never_reuse_a_nonce() -> None:
    tx = stc.StreamingContext(SEED, key_rotation_mb=0.05)  # rotations happen under contention too
    seen: list[list[tuple[bytes, int, int]]] = [[] for _ in range(4)]

    def seal(i: int) -> None:
        for _ in range(5000):
            h, _ = tx.encrypt_chunk(b"x" * 64)
            seen[i].append((h.sender_id, h.epoch, h.sequence))

    _run_threads(seal, 4)
    every = [item for part in seen for item in part]
    assert len(every) == 20000 and len(set(every)) == 20000
    assert tx.get_performance_stats()["chunks_encrypted"] == 20000


def test_threads_replaying_one_frame_get_it_accepted_once() -> None:
    tx, rx = stc.StreamingContext(SEED), stc.StreamingContext(SEED)
    frames = [tx.encrypt_chunk(b"f%d" % i) for i in range(2000)]
    accepted: Counter[int] = Counter()
    lock = threading.Lock()

    def receive(_: int) -> None:
        for h, e in frames:
            try:
                rx.decrypt_chunk(h, e)
            except stc.ReplayError:
                continue
            with lock:
                accepted[h.sequence] += 1

    _run_threads(receive, 4)
    assert set(accepted.values()) == {1} and len(accepted) == 2000
    stats = rx.get_performance_stats()
    assert stats["chunks_decrypted"] == 2000 and stats["replays_rejected"] == 6000


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_fork_child_seals_under_a_new_sender_id() -> None:
    tx = stc.StreamingContext(SEED)
    tx._random(8)  # leave bytes in the randomness pool that a careless child would reuse
    parent_first = tx.encrypt_chunk(b"before fork")[0]
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: seal two frames and report their headers
        try:
            os.close(read_end)
            packets = b"".join(h.to_bytes() + e for h, e in (tx.encrypt_chunk(b"child %d" % i) for i in range(2)))
            os.write(write_end, packets)
        finally:
            os._exit(0)
    os.close(write_end)
    data = b""
    while chunk := os.read(read_end, 65536):
        data += chunk
    os.close(read_end)
    os.waitpid(pid, 0)
    parent = [tx.encrypt_chunk(b"parent %d" % i)[0] for i in range(2)]
    size = 16 + len(b"child 0") + 16
    child = [stc.ChunkHeader.from_bytes(data[i * size : i * size + 16]) for i in range(2)]
    assert {h.sender_id for h in child}.isdisjoint({parent_first.sender_id})
    nonces = [(h.sender_id, h.epoch, h.sequence) for h in [parent_first, *parent, *child]]
    assert len(set(nonces)) == len(nonces)
    rx = stc.StreamingContext(SEED)
    assert rx.decrypt_chunk(child[0], data[16:size]) == b"child 0"


# ---- 2. reflection: direction separation ------------------------------------------------------------
def test_reflected_frame_is_refused_in_a_handshake_session() -> None:
    a, b = KeyExchange(), KeyExchange()
    ctx_a = a.streaming_context(b.public_key)
    ctx_b = b.streaming_context(a.public_key)
    assert {ctx_a.role, ctx_b.role} == {"initiator", "responder"}
    h, e = ctx_a.encrypt_chunk(b"to b")
    assert ctx_b.decrypt_chunk(h, e) == b"to b"
    with pytest.raises(stc.ReplayError, match="reflected"):
        ctx_a.decrypt_chunk(h, e)  # the attacker sends a's own frame back to a
    h2, e2 = ctx_b.encrypt_chunk(b"to a")
    assert ctx_a.decrypt_chunk(h2, e2) == b"to a"
    with pytest.raises(stc.ReplayError, match="reflected"):
        ctx_b.decrypt_chunk(h2, e2)


def test_seed_only_sessions_with_roles_and_without() -> None:
    tx, rx = stc.StreamingContext(SEED, role="initiator"), stc.StreamingContext(SEED, role="responder")
    h, e = tx.encrypt_chunk(b"hi")
    assert h.sender_id[0] >> 7 == 0 and rx.decrypt_chunk(h, e) == b"hi"
    with pytest.raises(stc.ReplayError):
        tx.decrypt_chunk(h, e)
    plain = stc.StreamingContext(SEED)  # the manual's examples: no role, loopback works
    assert plain.decrypt_chunk(*plain.encrypt_chunk(b"self")) == b"self"
    with pytest.raises(stc.ParameterError):
        stc.StreamingContext(SEED, role="server")


# ---- 3. replay after eviction -------------------------------------------------------------------------
def test_replay_after_eviction_cycling_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(p2p_replay, "MAX_SENDERS", 4)
    rx = stc.StreamingContext(SEED)
    senders = [stc.StreamingContext(SEED, key_rotation_mb=0.001) for _ in range(5)]
    captured = [[s.encrypt_chunk(b"p" * 600) for _ in range(3)] for s in senders]
    for frames in captured:
        for f in frames:
            rx.decrypt_chunk(*f)
    assert rx.get_performance_stats()["senders_retired"] == 1
    replayed = 0
    for _ in range(3):  # cycle: every sender gets evicted by the others again and again
        for frames in captured:
            for f in frames:
                with pytest.raises(stc.ReplayError):
                    rx.decrypt_chunk(*f)
                replayed += 1
    assert replayed == 45
    # An honest sender that was forgotten comes back from a later epoch and is heard again.
    h, e = senders[0].encrypt_chunk(b"p" * 600)
    assert rx.decrypt_chunk(h, e) == b"p" * 600


def test_a_full_session_refuses_new_senders(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(p2p_replay, "MAX_SENDERS", 2)
    monkeypatch.setattr(p2p_replay, "MAX_RETIRED", 2)
    rx = stc.StreamingContext(SEED)
    for _ in range(4):
        rx.decrypt_chunk(*stc.StreamingContext(SEED).encrypt_chunk(b"x"))
    with pytest.raises(stc.ReplayError, match="too many senders"):
        rx.decrypt_chunk(*stc.StreamingContext(SEED).encrypt_chunk(b"x"))


# ---- 4. bounded cost per forged packet, and late joiners ------------------------------------------------
def test_forged_packet_work_is_bounded_at_every_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = Counter[str]()
    real_expand, real_hkdf = p2p_keys.hkdf_expand, p2p_keys.hkdf

    def counting_expand(prk: bytes, info: bytes) -> bytes:
        calls["expand"] += 1
        return real_expand(prk, info)

    def counting_hkdf(ikm: bytes, info: bytes, length: int = 32, salt: bytes | None = None) -> bytes:
        calls["hkdf"] += 1
        return real_hkdf(ikm, info, length, salt)

    monkeypatch.setattr(p2p_keys, "hkdf_expand", counting_expand)
    monkeypatch.setattr(p2p_keys, "hkdf", counting_hkdf)
    rx = stc.StreamingContext(SEED)
    for version, epoch in ((2, 0), (2, 0xFFFF), (2, 0x8000), (1, 0), (1, p2p.V1_MAX_EPOCH_JUMP)):
        calls.clear()
        forged = p2p.ChunkHeader(0, os.urandom(8), epoch, 0, version)
        with pytest.raises(stc.IntegrityError):
            rx.decrypt_chunk(forged, os.urandom(64))
        # v2: sender root + 4 tree levels + frame key; v1: chain link 0 + the jump + frame key.
        assert calls["expand"] + calls["hkdf"] <= 2 + max(4, p2p.V1_MAX_EPOCH_JUMP), (version, epoch, calls)
    with pytest.raises(stc.IntegrityError, match="too far"):
        rx.decrypt_chunk(p2p.ChunkHeader(0, os.urandom(8), p2p.V1_MAX_EPOCH_JUMP + 1, 0, 1), os.urandom(64))
    assert rx.get_performance_stats()["senders_tracked"] == 0


def test_late_joiner_catches_up_after_many_rotations() -> None:
    tx = stc.StreamingContext(SEED, key_rotation_mb=0.001)
    for _ in range(1200):
        tx.encrypt_chunk(b"r" * 1100)  # each frame starts a new epoch
    frames = [tx.encrypt_chunk(b"frame %d" % i) for i in range(100)]
    assert frames[0][0].epoch >= 1129
    rx = stc.StreamingContext(SEED)
    assert [rx.decrypt_chunk(*f) for f in frames] == [b"frame %d" % i for i in range(100)]


def test_first_heard_late_then_an_earlier_retained_epoch_opens() -> None:
    tx = stc.StreamingContext(SEED, key_rotation_mb=0.001)
    frames = [tx.encrypt_chunk(b"e" * 1100) for _ in range(6)]  # epochs 0..5
    rx = stc.StreamingContext(SEED, initial_depth=2, max_depth=2)
    assert rx.decrypt_chunk(*frames[5]) == b"e" * 1100
    assert rx.decrypt_chunk(*frames[3]) == b"e" * 1100  # depth 2: epochs 3..5 retained
    with pytest.raises(stc.ReplayError, match="retired epoch"):
        rx.decrypt_chunk(*frames[2])
    with pytest.raises(stc.ReplayError):
        rx.decrypt_chunk(*frames[3])


def test_epoch_frontier_matches_the_tree_and_forgets_the_past() -> None:
    root = os.urandom(32)
    frontier = p2p_keys.EpochFrontier(root)
    for epoch in range(40):
        got = frontier.next_leaf()
        assert got == (epoch, p2p_keys.epoch_leaf(root, epoch))
    held = {node for _, _, node in frontier._stack}
    assert all(p2p_keys.epoch_leaf(root, e) not in held for e in range(40))
    assert root not in held and len(held) <= 15 * p2p_keys.TREE_LEVELS


def test_hkdf_expand_is_rfc5869_expand() -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

    prk = os.urandom(32)
    assert kdf.hkdf_expand(prk, b"label") == HKDFExpand(hashes.SHA256(), 32, kdf.PROTOCOL + b"label").derive(prk)


# ---- 5. Argon2id under concurrency -----------------------------------------------------------------------
def test_concurrent_argon2id_neither_fails_nor_deadlocks() -> None:
    shared = stc.STCContext("argon-seed", **CHEAP)
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            own = stc.STCContext("argon-seed", **CHEAP)
            for j in range(3):
                for ctx in (shared, own):
                    blob = ctx.encrypt_blob(b"m", f"pw-{i}-{j}")
                    assert ctx.decrypt_blob(blob, f"pw-{i}-{j}") == b"m"
        except BaseException as exc:  # collected: a failure in a thread must fail the test
            errors.append(exc)

    _run_threads(work, 8)
    assert errors == []


# ---- 6. state integrity and the KDF floor ------------------------------------------------------------------
@pytest.mark.parametrize("edit", [
    ("pcf_state", "lattice_size", 16), ("pcf_state", "depth", 2), ("pcf_state", "suite", "chacha20-poly1305"),
    ("cel_state", "epoch", 0), ("cel_state", "operations", 0), ("phe_state", "hash_count", 99),
])
def test_edited_state_is_refused(edit: tuple[str, str, Any]) -> None:
    ctx = stc.STCContext("state-seed")
    ctx.cel.update()
    ctx.hash("x")
    state = json.loads(json.dumps(ctx.save_state()))
    section, key, value = edit
    state[section][key] = value
    fresh = stc.STCContext("state-seed")
    before = fresh.save_state()
    with pytest.raises(stc.StateError, match="modified"):
        fresh.load_state(state)
    assert fresh.save_state() == before


def test_legacy_state_needs_an_explicit_opt_in_and_still_meets_the_floor() -> None:
    ctx = stc.STCContext("state-seed")
    state = ctx.save_state()
    legacy = {name: {k: v for k, v in section.items() if k != "mac"} | {"version": 1}
              for name, section in state.items()}
    with pytest.raises(stc.StateError, match="legacy_unauthenticated=True"):
        stc.STCContext("state-seed").load_state(legacy)
    stc.STCContext("state-seed").load_state(legacy, legacy_unauthenticated=True)
    legacy["pcf_state"]["lattice_size"] = 16
    with pytest.raises(stc.StateError, match="below the minimum"):
        stc.STCContext("state-seed").load_state(legacy, legacy_unauthenticated=True)


def test_state_with_bad_text_or_types_gives_state_error() -> None:
    state = stc.STCContext("s").save_state()
    for section, key, value in (("cel_state", "seed_check", "é" * 32), ("cel_state", "mac", "\ud800" * 64),
                                ("pcf_state", "suite", "\ud800"), ("cel_state", "version", "2")):
        bad = copy.deepcopy(state)
        bad[section][key] = value
        with pytest.raises(stc.StateError):
            stc.STCContext("s").load_state(bad)


def test_kdf_floor_for_new_encryptions() -> None:
    with pytest.raises(stc.ParameterError, match="below the minimum"):
        stc.STCContext("s", lattice_size=16, depth=2)
    with pytest.raises(stc.ParameterError, match="below the minimum"):
        stc.STCContext("s", lattice_size=64, depth=3)  # 1 pass
    with pytest.raises(stc.ParameterError, match="below the minimum"):
        stc.STCContext("s", lattice_size=63, depth=4)  # just under 16 MiB
    assert stc.STCContext("s", lattice_size=64, depth=4).kdf_params == kdf.KdfParams(16384, 2, 4)
    with pytest.raises(stc.ParameterError):
        stc.STCContext("s", insecure_allow_weak_kdf=1)  # type: ignore[arg-type]


_V1_TEXT = json.loads((Path(__file__).resolve().parents[1] / "vectors" / "messages.json").read_text())[0]  # good_text


def _crafted_v1(memory_kib: int, passes: int, lanes: int) -> bytes:
    """Release 0.1's own message, its header's Argon2 cost edited (the slots left as they were)."""
    meta = Metadata.from_bytes(bytes.fromhex(_V1_TEXT["metadata"]))
    crafted = Metadata(suite=meta.suite, kdf=kdf.KdfParams(memory_kib, passes, lanes), epoch=meta.epoch,
                       kdf_salt=meta.kdf_salt, nonce=meta.nonce, slots=meta.slots, text=meta.text)
    return crafted.to_bytes() + bytes.fromhex(_V1_TEXT["ciphertext"])


@pytest.mark.parametrize(("memory", "passes", "lanes"), [(32, 1, 4), (1023, 1, 4), (128, 1, 16), (1024, 1, 1)])
def test_crafted_cheap_v1_headers_are_refused_before_argon2(memory: int, passes: int, lanes: int,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    blob = _crafted_v1(memory, passes, lanes)
    monkeypatch.setattr(kdf, "argon2id", lambda *a: pytest.fail("Argon2id ran"))
    with pytest.raises(stc.KDFLimitError, match="below the minimum"):
        stc.decrypt_blob(blob, _V1_TEXT["password"], seed=_V1_TEXT["seed"])


@pytest.mark.parametrize("version", [2, 3])
@pytest.mark.parametrize(("memory", "passes"), [(32, 1), (16384, 1), (16383, 2), (1024, 1)])
def test_crafted_cheap_v2_headers_are_refused_before_argon2(memory: int, passes: int, version: int,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    weak = stc.STCContext("s", **CHEAP)
    weak._kdf = kdf.KdfParams(memory, passes, 4)  # what a crafted header would ask
    blob = weak.encrypt_blob(b"secret", "pw", format_version=version)
    monkeypatch.setattr(kdf, "argon2id", lambda *a: pytest.fail("Argon2id ran"))
    with pytest.raises(stc.KDFLimitError, match=f"below the minimum of 16 MiB and 2 passes for version {version}"):
        stc.decrypt_blob(blob, "pw", seed="s")


def test_released_minimum_cost_still_decrypts() -> None:
    blob = bytes.fromhex(_V1_TEXT["metadata"] + _V1_TEXT["ciphertext"])  # 1 MiB, 1 pass, as release 0.1 allowed
    assert Metadata.from_bytes(bytes.fromhex(_V1_TEXT["metadata"])).kdf == kdf.KdfParams(1024, 1, 4)
    assert stc.decrypt_blob(blob, _V1_TEXT["password"], seed=_V1_TEXT["seed"]) == _V1_TEXT["plaintext"]


# ---- 7. only our errors, never the secret -------------------------------------------------------------
@pytest.mark.parametrize("call", [
    lambda c: c.encrypt("data", "pass\ud800word"),
    lambda c: c.encrypt("da\ud800ta", "pw"),
    lambda c: c.encrypt("data", "pw", context_data={"k": "v\ud800"}),
    lambda c: c.encrypt("data", "pw", context_data={"k\ud800": 1}),
    lambda c: c.hash("h\ud800"),
    lambda c: c.derive_key(purpose="p\ud800"),
    lambda c: stc.STCContext("se\ud800ed"),
    lambda c: c.hash(12),
])
def test_bad_text_and_types_raise_parameter_error_without_the_secret(call: Any) -> None:
    ctx = stc.STCContext("s", **CHEAP)
    with pytest.raises(stc.ParameterError) as info:
        call(ctx)
    assert "\ud800" not in str(info.value) and info.value.__cause__ is None


# ---- 8. constant work across slots; no pickling of keys ----------------------------------------------------
def test_every_slot_is_tried_wherever_the_real_one_is() -> None:
    kek, dek = os.urandom(32), os.urandom(32)
    real = slots.wrap_key(stc.Suite.AES_256_GCM, kek, dek)

    class CountingSuite:
        """Stands in for a Suite: counts every slot-opening attempt."""

        def __init__(self) -> None:
            self.calls = 0

        def aead(self, key: bytes) -> Any:
            inner, outer = stc.Suite.AES_256_GCM.aead(key), self

            class Counting:
                def decrypt(self, *args: Any) -> bytes:
                    outer.calls += 1
                    return inner.decrypt(*args)

            return Counting()

    for position in range(4):
        all_slots = [os.urandom(48) for _ in range(4)]
        all_slots[position] = real
        suite = CountingSuite()
        assert slots.open_slots(suite, kek, all_slots) == (position, dek)  # type: ignore[arg-type]
        assert suite.calls == 4
    suite = CountingSuite()
    assert slots.open_slots(suite, os.urandom(32), [real] * 3) is None  # type: ignore[arg-type]
    assert suite.calls == 3


@pytest.mark.parametrize("make", [
    lambda: stc.STCContext("s", **CHEAP), lambda: stc.StreamingContext(SEED), lambda: stc.STCContext("s").cel,
])
def test_contexts_refuse_pickle_and_copy(make: Any) -> None:
    obj = make()
    for action in (pickle.dumps, copy.copy, copy.deepcopy):
        with pytest.raises(stc.ParameterError, match="cannot be pickled"):
            action(obj)
