"""SFrame: every message, boundary and bookkeeping rule, one by one (what mutation testing asks)."""

from __future__ import annotations

import re

import pytest

from stc import errors
from stc.p2p import sframe as sf
from stc.p2p.sframe import context as sframe_context
from stc.p2p.sframe.kids import SenderKeyFamily, SharedKeyFamily

KEY = b"edge base key"


def exact(message: str) -> str:
    return "^" + re.escape(message) + "$"


# ---- argument messages -------------------------------------------------------------------------
@pytest.mark.parametrize(("call", "message"), [
    (lambda: sf.sender_kid(0, 0, 0), "ratchet_bits must be an integer in [1, 8]; got 0"),
    (lambda: sf.sender_kid(1 << 63, 0, 1), f"generation must be an integer in [0, {(1 << 63) - 1}]; got {1 << 63}"),
    (lambda: sf.sender_kid(0, -1, 1), f"step must be an integer in [0, {(1 << 64) - 1}]; got -1"),
    (lambda: sf.mls_kid(0, 0, 0, index_bits=64, epoch_bits=1), "index_bits must be an integer in [0, 63]; got 64"),
    (lambda: sf.mls_kid(0, 0, 0, index_bits=4, epoch_bits=0), "epoch_bits must be an integer in [1, 60]; got 0"),
    (lambda: sf.mls_kid(0, 0, 0, index_bits=4, epoch_bits=61), "epoch_bits must be an integer in [1, 60]; got 61"),
    (lambda: sf.mls_kid(0, 16, 0, index_bits=4, epoch_bits=4), "sender_index must be an integer in [0, 15]; got 16"),
    (lambda: sf.mls_kid(1 << 56, 0, 0, index_bits=4, epoch_bits=4),
     f"context must be an integer in [0, {(1 << 56) - 1}]; got {1 << 56}"),
    (lambda: sf.mls_kid(0, 0, -1, index_bits=4, epoch_bits=4),
     f"epoch must be an integer in [0, {(1 << 64) - 1}]; got -1"),
    (lambda: sf.mls_kid(0, True, 0, index_bits=4, epoch_bits=4),
     "sender_index must be an integer in [0, 15]; got True"),
    (lambda: SenderKeyFamily(sf.SUITES[4], 0, KEY, 9), "ratchet_bits must be an integer in [1, 8]; got 9"),
    (lambda: SenderKeyFamily(sf.SUITES[4], 1 << 60, KEY, 4),
     f"generation must be an integer in [0, {(1 << 60) - 1}]; got {1 << 60}"),
    (lambda: sf.aead_seal(4, "k", bytes(12), b"", b""), "key must be bytes"),
    (lambda: sf.aead_seal(4, bytes(16), "n", b"", b""), "nonce must be bytes"),
    (lambda: sf.aead_seal(4, bytes(16), bytes(11), b"", b""), "nonce must be exactly 12 bytes for this suite; got 11"),
    (lambda: sf.aead_seal(4, bytes(16), bytes(12), b"", "p"), "plaintext must be bytes"),
    (lambda: sf.aead_open(4, "k", bytes(12), b"", bytes(16)), "key must be bytes"),
    (lambda: sf.aead_open(4, bytes(15), bytes(12), b"", bytes(16)),
     "key must be exactly 16 bytes for this suite; got 15"),
    (lambda: sf.aead_open(4, bytes(16), bytes(12), "a", bytes(16)), "aad must be bytes"),
    (lambda: sf.aead_open(4, bytes(16), bytes(12), b"", "c"), "ciphertext must be bytes"),
    (lambda: sf.derive_key_salt(4, 1, "k"), "base_key must be bytes"),
    (lambda: sf.derive_key_salt(4, 1, b""), "an SFrame base key must not be empty"),
    (lambda: sf.derive_key_salt(4, 1 << 64, b"k"), f"SFrame KID must be an integer in [0, 2**64 - 1]; got {1 << 64}"),
    (lambda: sf.ratchet_base_key(4, "k"), "base_key must be bytes"),
    (lambda: sf.protect_with(4, b"k", 1, 1, "p"), "plaintext must be bytes"),
    (lambda: sf.protect_with(4, b"k", 1, 1, b"p", "m"), "metadata must be bytes"),
    (lambda: sf.unprotect_with(4, b"k", "c"), "ciphertext must be bytes"),
    (lambda: sf.unprotect_with(4, "k", b"\x00" + bytes(16)), "base_key must be bytes"),
    (lambda: sf.parse_header("\x00"), "an SFrame header is bytes"),
    (lambda: sf.SFrameHeader(-1, 0), "SFrame KID must be an integer in [0, 2**64 - 1]; got -1"),
    (lambda: sf.SFrameHeader(0, -1), "SFrame CTR must be an integer in [0, 2**64 - 1]; got -1"),
    (lambda: sf.SFrameContext(4, replay_window=(1 << 16) + 1), "replay_window must be an integer in [0, 65536]"),
    (lambda: sf.SFrameContext(4).add_key(1, "k"), "base_key must be bytes"),
    (lambda: sf.SFrameContext(4).add_sender_key(0, "k"), "base_key must be bytes"),
    (lambda: sf.SFrameContext(4).add_mls_epoch(0, "k", index_bits=1, epoch_bits=1), "base_key must be bytes"),
    (lambda: sf.SFrameContext(4).remove_key(3), "no SFrame key is held for KID 3"),
    (lambda: sf.SFrameContext(4).protect(3, b""), "no SFrame key is held for KID 3"),
    (lambda: sf.SFrameContext(4).protect(3, b"", "m"), "metadata must be bytes"),
    (lambda: sf.SFrameContext(4).protect(3, "p"), "plaintext must be bytes"),
    (lambda: sf.SFrameContext(4).unprotect(b"\x30" + bytes(20)), "no SFrame key is held for KID 3"),
    (lambda: sf.SFrameContext(4).unprotect(b"\x30", "m"), "metadata must be bytes"),
    (lambda: sf.SFrameContext(4).unprotect(bytearray(b""), b""), "SFrame ciphertext is empty (no header)"),
    (lambda: sf.parse_header(b"\x90\x01"), "SFrame header truncated: the KID needs 2 bytes, 1 follow"),
    (lambda: sf.parse_header(b"\x90"), "SFrame header truncated: the KID needs 2 bytes, 0 follow"),
    (lambda: sf.parse_header(b"\x89\x09\x01"), "SFrame header truncated: the CTR needs 2 bytes, 1 follow"),
    (lambda: sf.parse_header(b"\x09\x01"), "SFrame header truncated: the CTR needs 2 bytes, 1 follow"),
    (lambda: sf.parse_header(b"\x89\x09"), "SFrame header truncated: the CTR needs 2 bytes, 0 follow"),
])
def test_every_message_says_what_is_wrong(call: object, message: str) -> None:
    with pytest.raises(errors.STCError, match=exact(message)):
        call()  # type: ignore[operator]


def test_error_classes_of_the_context() -> None:
    tx = sf.SFrameContext(4)
    tx.add_key(1, KEY)
    with pytest.raises(errors.ParameterError, match=exact("an SFrameContext holds keys and counters; it cannot be "
                                                           "pickled or copied")):
        tx.__reduce__()
    with pytest.raises(errors.ParameterError, match=exact("KID 1 is one of our protect keys (a reflected frame?); "
                                                           "a key is used one way only")):
        tx.unprotect(tx.protect(1, b"x"))
    rx = sf.SFrameContext(4)
    rx.add_key(1, KEY, "unprotect")
    with pytest.raises(errors.ParameterError,
                       match=exact("KID 1 is held for unprotecting; a key is used one way only")):
        rx.protect(1, b"x")
    with pytest.raises(errors.IntegrityError, match=exact("SFrame frame did not authenticate (wrong key, metadata or "
                                                           "a changed byte)")):
        rx.unprotect(sf.protect_with(4, b"other", 1, 0, b"x"))
    with pytest.raises(errors.IntegrityError, match=exact("SFrame ciphertext is shorter than the 16-byte tag")):
        sf.aead_open(4, bytes(16), bytes(12), b"", bytes(15))
    assert sf.aead_open(4, bytes(16), bytes(12), b"", sf.aead_seal(4, bytes(16), bytes(12), b"", b"")) == b""
    c = sf.SFrameContext(1)
    c.add_key(1, KEY, "unprotect")
    with pytest.raises(errors.IntegrityError, match=exact("SFrame frame did not authenticate (wrong key, metadata or "
                                                           "a changed byte)")):
        c.unprotect(sf.protect_with(1, b"other", 1, 0, b"x"))
    with pytest.raises(errors.ParameterError, match="known: 1 \\(AES_128_CTR_HMAC_SHA256_80\\), 2 "):
        sf.get_suite(0)


def test_ctr_hmac_suites_use_the_suite_tag_size_for_the_frame_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sf.suites, "MAX_FRAME", 10)
    for suite, tag in ((1, 10), (3, 4)):
        key = bytes(sf.SUITES[suite].key_size)
        sealed = sf.aead_seal(suite, key, bytes(12), b"", bytes(10))
        assert sf.aead_open(suite, key, bytes(12), b"", sealed) == bytes(10)
        with pytest.raises(errors.IntegrityError, match="at most 10 bytes"):
            sf.aead_open(suite, key, bytes(12), b"", bytes(11 + tag))


def test_gcm_frames_at_the_size_limit_open(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sf.suites, "MAX_FRAME", 40)
    tx, rx = sf.SFrameContext(4), sf.SFrameContext(4)
    tx.add_key(1, KEY)
    rx.add_key(1, KEY, "unprotect")
    assert rx.unprotect(tx.protect(1, bytes(24))) == bytes(24)  # ciphertext of exactly 40 bytes


def test_aad_is_authenticated_by_the_stateless_seal() -> None:
    key, nonce = bytes(16), bytes(12)
    sealed = sf.aead_seal(4, key, nonce, b"aad", b"pt")
    with pytest.raises(errors.IntegrityError):
        sf.aead_open(4, key, nonce, b"", sealed)


def test_buffers_other_than_bytes_are_accepted() -> None:
    tx, rx = sf.SFrameContext(4), sf.SFrameContext(4)
    tx.add_key(1, bytearray(KEY))
    rx.add_key(1, memoryview(KEY), "unprotect")
    frame = tx.protect(1, bytearray(b"pt"), memoryview(b"md"))
    assert rx.unprotect(bytearray(frame), bytearray(b"md")) == b"pt"
    frame = tx.protect(1, b"pt", bytearray(b"md"))
    assert rx.unprotect(memoryview(frame), b"md") == b"pt"
    frame = tx.protect(1, memoryview(b"pt"), b"md")
    assert rx.unprotect(frame, memoryview(b"md")) == b"pt"


def test_replay_of_the_newest_frame_costs_no_decryption(monkeypatch: pytest.MonkeyPatch) -> None:
    tx, rx = sf.SFrameContext(4), sf.SFrameContext(4)
    tx.add_key(1, KEY)
    rx.add_key(1, KEY, "unprotect")
    frame = tx.protect(1, b"x")
    rx.unprotect(frame)
    opened = []
    original = sf.suites.PreparedKey.open
    monkeypatch.setattr(sf.suites.PreparedKey, "open", lambda self, *a: opened.append(1) or original(self, *a))
    with pytest.raises(errors.ReplayError):
        rx.unprotect(frame)
    assert opened == [] and rx.stats["replays"] == 1
    with pytest.raises(errors.ReplayError):
        rx.unprotect(frame)
    assert rx.stats["replays"] == 2


def test_header_values_at_every_length() -> None:
    for size in range(1, 9):
        for value in ((1 << (8 * (size - 1))) if size > 1 else 8, (1 << (8 * size)) - 1):
            header = sf.encode_header(value, value)
            assert len(header) == 1 + 2 * size
            assert sf.parse_header(header) == (value, value, len(header))
            assert sf.parse_header(bytearray(header)) == (value, value, len(header))


def test_nonce_and_salt_are_big_endian() -> None:
    assert sf.frame_nonce(bytes(11) + b"\x01", 2) == bytes(11) + b"\x03"
    assert sf.frame_nonce(b"\x01" + bytes(11), 0) == b"\x01" + bytes(11)


def test_default_ratchet_bits_and_mls_masks() -> None:
    ctx = sf.SFrameContext(4)
    assert ctx.add_sender_key(1, KEY) == 1 << 4  # R = 4 by default
    assert ctx.session_kid is None and ctx._session is None
    rx = sf.SFrameContext(4)
    rx.add_mls_epoch(5, b"epoch five", index_bits=2, epoch_bits=3)
    family = rx._families[0]
    assert isinstance(family, SharedKeyFamily) and (family.mask, family.value) == (7, 5)
    rx.add_mls_epoch(13, b"epoch thirteen", index_bits=2, epoch_bits=3)  # 13 & 7 == 5: replaces epoch 5
    rx.add_mls_epoch(6, b"epoch six", index_bits=2, epoch_bits=3)
    assert [(f.value, f.base_key) for f in rx._families] == [(5, b"epoch thirteen"), (6, b"epoch six")]  # type: ignore[union-attr]
    rx.add_sender_key(0, KEY, "unprotect", ratchet_bits=1)
    rx.add_mls_epoch(14, b"again", index_bits=2, epoch_bits=3)  # the sender family stays
    assert sum(isinstance(f, SenderKeyFamily) for f in rx._families) == 1


def test_mls_kid_boundaries() -> None:
    assert sf.mls_kid(0, 0, 1, index_bits=0, epoch_bits=1) == 1
    assert sf.mls_kid(0, (1 << 63) - 1, 1, index_bits=63, epoch_bits=1) == (1 << 64) - 1
    assert sf.mls_kid(0, 15, 0, index_bits=4, epoch_bits=60) == 15 << 60
    assert sf.mls_kid((1 << 56) - 1, 0, 0, index_bits=4, epoch_bits=4) == ((1 << 56) - 1) << 8
    assert sf.mls_kid(0, 0, (1 << 64) - 1, index_bits=4, epoch_bits=4) == 15
    assert sf.sender_kid(0, 0, 1) == 0 and sf.sender_kid(0, 255, 8) == 255 and sf.sender_kid(0, 256, 8) == 0
    assert sf.sender_kid(1, 3, 1) == 3 and sf.sender_kid(0, (1 << 64) - 1, 2) == 3


def test_an_mls_member_protects_its_own_kid_only_when_asked() -> None:
    ctx = sf.SFrameContext(4)
    own = ctx.add_mls_epoch(3, b"secret", index_bits=2, epoch_bits=2, sender_index=1, context=1)
    assert own == (1 << 4) | (1 << 2) | 3 and ctx._keys[own].usage == "protect"
    assert ctx.add_mls_epoch(7, b"next", index_bits=2, epoch_bits=2, sender_index=1, context=1) == own
    assert list(ctx._keys) == [own] and ctx._next_ctr == {}


def test_a_ratchet_that_passes_over_steps_already_dropped() -> None:
    # R = 2: two steps ahead at once, twice; the second jump drops KIDs that are no longer held
    rx = sf.SFrameContext(1)
    rx.add_sender_key(0, KEY, "unprotect", ratchet_bits=2)
    keys = [KEY]
    for _ in range(6):
        keys.append(sf.ratchet_base_key(1, keys[-1]))
    for ctr, step in enumerate((2, 4, 6)):
        assert rx.unprotect(sf.protect_with(1, keys[step], step & 3, ctr, b"s")) == b"s"
    assert sorted(rx._keys) == [1, 2]  # steps 5 and 6


def test_a_sender_family_proposes_only_its_generation_and_window() -> None:
    family = SenderKeyFamily(sf.SUITES[4], 2, KEY, 2)
    assert family.propose(2 << 2) == (KEY, 0)
    assert family.propose((2 << 2) | 1) == (sf.ratchet_base_key(4, KEY), 1)
    assert family.propose((2 << 2) | 3) is None and family.propose(3 << 2) is None
    held, gone = family.adopt(2, b"two")
    assert held == [((2 << 2) | 1, sf.ratchet_base_key(4, KEY))] and gone == [2 << 2]  # step 0 left
    assert (family.step, family.base_key) == (2, b"two")
    assert family.propose((2 << 2) | 3)[1] == 1  # type: ignore[index]
    held, gone = family.adopt(2, b"four")
    assert held == [((2 << 2) | 3, sf.ratchet_base_key(4, b"two"))] and gone == [(2 << 2) | 1, (2 << 2) | 2]
    shared = SharedKeyFamily(1, 1, KEY)
    assert shared.propose(3) == (KEY, 0) and shared.propose(2) is None
    assert shared.adopt(0, KEY) == ([], []) and shared.derived == 1


def test_fork_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = sf.SFrameContext(4)
    ctx.add_key(1, KEY)
    ctx.protect(1, b"used")
    ctx.remove_key(1)  # used, then removed: still the parent's counter
    ctx.add_key(2, KEY)  # held for protecting, never used
    ctx.add_key(3, KEY, "unprotect")
    ctx._after_fork_in_child()
    with pytest.raises(errors.StateError, match=exact("KID 2 was inherited through fork; protect with a new KID")):
        ctx.protect(2, b"x")
    ctx.remove_key(2)
    for kid in (1, 2):
        message = (f"KID {kid} was protecting in the parent of this forked process; protect with a new KID "
                   "(the parent's counter goes on)")
        with pytest.raises(errors.StateError, match=exact(message)):
            ctx.add_key(kid, KEY)
    ctx.add_key(4, KEY)
    assert ctx.protect(4, b"a new KID is fine")
    ctx.remove_key(3)
    ctx.add_key(3, KEY, "protect")  # the parent only received under KID 3
    ctx._after_fork_in_child()  # a grandchild inherits everything the child inherited, and more
    assert {1, 2, 3, 4} <= ctx._inherited


def test_ratchet_refuses_in_a_child_with_its_message() -> None:
    ctx = sf.SFrameContext(4)
    kid = ctx.add_sender_key(0, KEY)
    ctx._after_fork_in_child()
    with pytest.raises(errors.StateError, match=exact(f"KID {kid} was inherited through fork; the parent ratchets it, "
                                                      "so this process must use a sender key of its own")):
        ctx.ratchet(kid)
    ctx2 = sf.SFrameContext(4)
    kid = ctx2.add_sender_key(0, KEY)
    new = ctx2.ratchet(kid)
    assert ctx2._keys[new].usage == "protect"
    ctx2.remove_key(new)
    assert ctx2._senders == {}


def test_settle_keeps_one_key_per_kid_across_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    # Two frames under a new KID of a family are opened at once: the second finds the first's key.
    tx_key = b"session peer key"
    rx = sf.SFrameContext(4)
    rx._families.append(SharedKeyFamily(1 << 63, 1 << 63, tx_key))
    kid = (1 << 63) | 12345
    first, second = (sf.protect_with(4, tx_key, kid, n, b"f%d" % n) for n in range(2))
    original = sf.suites.PreparedKey.open
    calls = []

    def open_and_interleave(self: sf.suites.PreparedKey, ctr: int, aad: bytes, ct: bytes) -> bytes:
        out = original(self, ctr, aad, ct)
        if not calls:
            calls.append(1)
            assert rx.unprotect(second) == b"f1"  # another thread stores the KID meanwhile
        return out

    monkeypatch.setattr(sf.suites.PreparedKey, "open", open_and_interleave)
    assert rx.unprotect(first) == b"f0"
    assert list(rx._keys) == [kid] and rx._keys[kid].family is rx._families[0]
    assert rx._keys[kid].window is not None and rx._keys[kid].window.highest == 1


def test_settle_refuses_when_the_family_went_away(monkeypatch: pytest.MonkeyPatch) -> None:
    rx = sf.SFrameContext(4)
    rx.add_mls_epoch(1, b"one", index_bits=2, epoch_bits=2)
    frame = sf.protect_with(4, b"one", 1, 0, b"x")
    original = sf.suites.PreparedKey.open

    def open_then_new_epoch(self: sf.suites.PreparedKey, ctr: int, aad: bytes, ct: bytes) -> bytes:
        out = original(self, ctr, aad, ct)
        rx.add_mls_epoch(5, b"five", index_bits=2, epoch_bits=2)  # same low bits: epoch 1 is gone
        return out

    monkeypatch.setattr(sf.suites.PreparedKey, "open", open_then_new_epoch)
    with pytest.raises(errors.UnknownKeyError, match=exact("the key of KID 1 was removed while the frame was being "
                                                           "opened")):
        rx.unprotect(frame)
    assert 1 not in rx._keys


def test_a_sender_key_followed_one_step_at_a_time() -> None:
    rx = sf.SFrameContext(1)
    rx.add_sender_key(0, KEY, "unprotect", ratchet_bits=2)
    first = sf.protect_with(1, KEY, 0, 0, b"step 0")
    assert rx.unprotect(first) == b"step 0"  # the key of step 0 is held from the start
    with pytest.raises(errors.ReplayError):
        rx.unprotect(first)
    assert rx._keys[0].family is None and rx._keys[0].usage == "unprotect"
    key = KEY
    for step in range(1, 7):  # odd and even steps: the offset is counted from the newest step
        key = sf.ratchet_base_key(1, key)
        assert rx.unprotect(sf.protect_with(1, key, step & 3, step, b"s%d" % step)) == b"s%d" % step
        assert rx._families[0].step == step  # type: ignore[union-attr]
    assert sorted(rx._keys) == [1, 2]  # steps 5 and 6


def test_a_passed_step_is_replay_checked_and_a_removed_key_may_be_passed() -> None:
    rx = sf.SFrameContext(1)
    rx.add_sender_key(0, KEY, "unprotect", ratchet_bits=2)
    keys = [KEY]
    for _ in range(4):
        keys.append(sf.ratchet_base_key(1, keys[-1]))
    assert rx.unprotect(sf.protect_with(1, keys[2], 2, 0, b"s2")) == b"s2"  # step 1 passed over, held
    late = sf.protect_with(1, keys[1], 1, 5, b"s1")
    assert rx.unprotect(late) == b"s1"
    with pytest.raises(errors.ReplayError):
        rx.unprotect(late)
    rx.remove_key(1)  # the application drops step 1 itself; the ratchet later passes it
    assert rx.unprotect(sf.protect_with(1, keys[3], 3, 0, b"s3")) == b"s3"
    assert sorted(rx._keys) == [2, 3]


def test_a_frame_opened_twice_at_once_is_accepted_once(monkeypatch: pytest.MonkeyPatch) -> None:
    tx, rx = sf.SFrameContext(4), sf.SFrameContext(4)
    tx.add_key(1, KEY)
    rx.add_key(1, KEY, "unprotect")
    frame = tx.protect(1, b"once")
    original = sf.suites.PreparedKey.open
    inner: list[bytes] = []
    raced: list[bool] = []

    def open_and_race(self: sf.suites.PreparedKey, ctr: int, aad: bytes, ct: bytes) -> bytes:
        out = original(self, ctr, aad, ct)
        if not raced:
            raced.append(True)
            inner.append(rx.unprotect(frame))  # another thread accepts the same frame meanwhile
        return out

    monkeypatch.setattr(sf.suites.PreparedKey, "open", open_and_race)
    with pytest.raises(errors.ReplayError):
        rx.unprotect(frame)
    assert inner == [b"once"] and rx.stats["unprotected"] == 1 and rx.stats["replays"] == 1


def test_a_family_kid_stored_by_another_key_meanwhile_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    rx = sf.SFrameContext(4)
    rx.add_mls_epoch(1, b"one", index_bits=2, epoch_bits=2)
    frame = sf.protect_with(4, b"one", 1, 0, b"x")
    original = sf.suites.PreparedKey.open

    def open_then_add(self: sf.suites.PreparedKey, ctr: int, aad: bytes, ct: bytes) -> bytes:
        out = original(self, ctr, aad, ct)
        if 1 not in rx._keys:
            rx.add_key(1, b"another key", "unprotect")
        return out

    monkeypatch.setattr(sf.suites.PreparedKey, "open", open_then_add)
    with pytest.raises(errors.UnknownKeyError, match=exact("the key of KID 1 was replaced while the frame was being "
                                                           "opened")):
        rx.unprotect(frame)


def test_prepared_key_repr_names_the_suite_only() -> None:
    key = sf.suites.PreparedKey(sf.SUITES[4], 1, KEY)
    assert repr(key) == "PreparedKey(suite=AES_128_GCM_SHA256_128)"
    assert key.same_as(sf.suites.PreparedKey(sf.SUITES[4], 1, KEY))
    assert not key.same_as(sf.suites.PreparedKey(sf.SUITES[4], 2, KEY))


def test_stats_count_each_refusal_once() -> None:
    tx, rx = sf.SFrameContext(4, replay_window=4), sf.SFrameContext(4, replay_window=4)
    tx.add_key(1, KEY)
    rx.add_key(1, KEY, "unprotect")
    frames = [tx.protect(1, b"%d" % i) for i in range(8)]
    rx.unprotect(frames[7])
    for old in frames[:3]:
        with pytest.raises(errors.ReplayError):
            rx.unprotect(old)
    assert rx.stats["replays"] == 3 and rx.stats["unprotected"] == 1 and tx.stats["protected"] == 8


def test_session_kid_is_ours_and_fresh() -> None:
    from stc.p2p import StreamingContext

    ctx = StreamingContext(b"s" * 32, role="responder").sframe_context()
    kid = ctx.session_kid
    assert kid is not None and kid >> 63 == 1 and ctx._keys[kid].usage == "protect"
    assert ctx._keys[kid].window is None
    ctx._after_fork_in_child()
    assert ctx.session_kid != kid and ctx.session_kid is not None and ctx.session_kid >> 63 == 1
    assert kid not in ctx._keys and ctx.protect(ctx.session_kid, b"child")


def test_sframe_context_limits_are_exported() -> None:
    assert sframe_context.DEFAULT_REPLAY_WINDOW == 1024 and sframe_context.MAX_REPLAY_WINDOW == 65536
    assert sf.SFrameContext(4, replay_window=65536).replay_window == 65536
    assert sf.SFrameContext(4, replay_window=0).replay_window == 0


def test_the_largest_kid_has_keys() -> None:
    top = (1 << 64) - 1
    key, salt = sf.derive_key_salt(4, top, KEY)
    assert len(key) == 16 and len(salt) == 12
    assert sf.unprotect_with(4, KEY, sf.protect_with(4, KEY, top, top, b"edge")) == b"edge"
