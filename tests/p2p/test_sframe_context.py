"""SFrameContext: counters that never repeat, keys used one way, replay windows, the key
management of RFC 9605 §5, session keys, threads and fork."""

from __future__ import annotations

import os
import pickle
import threading

import pytest

import stc
from stc import errors
from stc.p2p import sframe as sf
from stc.p2p.sframe import context as sframe_context

KEY = b"base key of one sender"


def pair(suite: int = 4, **kwargs: int) -> tuple[sf.SFrameContext, sf.SFrameContext]:
    tx, rx = sf.SFrameContext(suite, **kwargs), sf.SFrameContext(suite, **kwargs)
    tx.add_key(5, KEY, "protect")
    rx.add_key(5, KEY, "unprotect")
    return tx, rx


def test_protect_counts_up_from_zero_and_unprotect_opens() -> None:
    tx, rx = pair()
    frames = [tx.protect(5, b"frame %d" % i, b"meta") for i in range(10)]
    assert [sf.parse_header(f)[:2] for f in frames] == [(5, i) for i in range(10)]
    assert [rx.unprotect(f, b"meta") for f in frames] == [b"frame %d" % i for i in range(10)]
    assert tx.stats["protected"] == 10 and rx.stats["unprotected"] == 10
    assert frames[0] == sf.protect_with(4, KEY, 5, 0, b"frame 0", b"meta")


def test_removed_and_added_again_never_restarts_the_counter() -> None:
    tx, _ = pair()
    tx.protect(5, b"a")
    tx.protect(5, b"b")
    tx.remove_key(5)
    with pytest.raises(errors.UnknownKeyError, match="KID 5"):
        tx.protect(5, b"c")
    tx.add_key(5, KEY, "protect")
    assert sf.parse_header(tx.protect(5, b"c"))[1] == 2


def test_counter_refused_at_its_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    tx, rx = pair()
    tx._next_ctr[5] = (1 << 64) - 1
    last = tx.protect(5, b"last")
    assert sf.parse_header(last)[1] == (1 << 64) - 1
    with pytest.raises(errors.StateError, match="all 2\\*\\*64 counters"):
        tx.protect(5, b"one too many")
    assert rx.unprotect(last) == b"last"


def test_a_key_is_used_one_way_only() -> None:
    tx, rx = pair()
    frame = tx.protect(5, b"x")
    with pytest.raises(errors.ParameterError, match="held for unprotecting"):
        rx.protect(5, b"x")
    with pytest.raises(errors.ParameterError, match="our protect keys"):
        tx.unprotect(frame)  # our own frame reflected back
    with pytest.raises(errors.ParameterError, match="already has a key"):
        tx.add_key(5, KEY, "unprotect")
    with pytest.raises(errors.ParameterError, match="usage must be"):
        tx.add_key(6, KEY, "both")  # type: ignore[arg-type]


def test_unprotect_refusals_are_errors_and_counted() -> None:
    tx, rx = pair()
    frame = tx.protect(5, b"payload", b"meta")
    with pytest.raises(errors.IntegrityError):
        rx.unprotect(frame, b"other meta")
    with pytest.raises(errors.IntegrityError):
        rx.unprotect(frame[:-1] + bytes((frame[-1] ^ 1,)), b"meta")
    with pytest.raises(errors.FormatError):
        rx.unprotect(b"\x99\x01", b"meta")
    with pytest.raises(errors.UnknownKeyError, match="KID 6"):
        rx.unprotect(sf.encode_header(6, 0) + frame[2:], b"meta")
    assert rx.unprotect(frame, b"meta") == b"payload"  # the failures did not burn its counter
    with pytest.raises(errors.ReplayError, match="already received"):
        rx.unprotect(frame, b"meta")
    assert rx.stats == {"protected": 0, "unprotected": 1, "replays": 1, "forged": 2, "malformed": 1,
                        "unknown_kid": 1}
    with pytest.raises(errors.ParameterError, match="ciphertext must be bytes"):
        rx.unprotect("text")  # type: ignore[arg-type]


def test_replay_window_per_kid_and_off() -> None:
    tx, rx = pair(replay_window=4)
    frames = [tx.protect(5, bytes([i])) for i in range(6)]
    assert rx.unprotect(frames[5]) == b"\x05"
    assert rx.unprotect(frames[2]) == b"\x02"  # late but inside the window
    with pytest.raises(errors.ReplayError, match="older than the 4-frame"):
        rx.unprotect(frames[1])
    tx2, rx2 = pair(replay_window=0)
    frame = tx2.protect(5, b"again")
    assert rx2.unprotect(frame) == rx2.unprotect(frame) == b"again"
    for bad in (-1, 1 << 17, True, 1.5):
        with pytest.raises(errors.ParameterError, match="replay_window"):
            sf.SFrameContext(4, replay_window=bad)  # type: ignore[arg-type]


def test_remove_key_of_unknown_kid_and_repr_holds_no_secret() -> None:
    tx, _ = pair()
    with pytest.raises(errors.UnknownKeyError):
        tx.remove_key(99)
    assert KEY.hex() not in repr(tx) and "keys=1" in repr(tx)
    with pytest.raises(errors.ParameterError, match="cannot be pickled"):
        pickle.dumps(tx)
    with pytest.raises(errors.ParameterError, match="plaintext must be bytes"):
        tx.protect(5, "text")  # type: ignore[arg-type]


def test_frame_size_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    tx, _ = pair()
    monkeypatch.setattr(sframe_context, "MAX_FRAME", 3)
    with pytest.raises(errors.ParameterError, match="at most 3 bytes"):
        tx.protect(5, b"four")
    assert tx.protect(5, b"thr")


# ---- §5.1 sender keys ------------------------------------------------------------------------
def test_sender_key_ratchet_followed_by_the_receiver() -> None:
    tx, rx = sf.SFrameContext(1), sf.SFrameContext(1)
    kid = tx.add_sender_key(3, KEY, ratchet_bits=2)
    assert kid == rx.add_sender_key(3, KEY, "unprotect", ratchet_bits=2) == 3 << 2
    early = tx.protect(kid, b"step 0")
    kids = [kid]
    for _ in range(5):
        kids.append(tx.ratchet(kids[-1]))
    assert kids == [12, 13, 14, 15, 12, 13]  # generation 3, step mod 4
    with pytest.raises(errors.UnknownKeyError):
        tx.protect(kids[2], b"the old key is gone")
    # two steps ahead at once (2**(R-1)), then a late frame of the step before still opens
    assert rx.unprotect(tx_at(2).protect(14, b"step 2")) == b"step 2"
    assert rx.unprotect(tx_at(1).protect(13, b"step 1")) == b"step 1"
    with pytest.raises(errors.IntegrityError):  # step 0 left the window of late frames
        rx.unprotect(early)
    assert rx.unprotect(tx_at(4).protect(12, b"step 4")) == b"step 4"
    assert rx.unprotect(tx.protect(kids[5], b"step 5")) == b"step 5"
    with pytest.raises(errors.ParameterError, match="not a sender key"):
        tx.ratchet(99)


def tx_at(step: int) -> sf.SFrameContext:
    """A sender whose key of generation 3 (R = 2) is ratcheted ``step`` times."""
    ctx = sf.SFrameContext(1)
    kid = ctx.add_sender_key(3, KEY, ratchet_bits=2)
    for _ in range(step):
        kid = ctx.ratchet(kid)
    return ctx


def test_sender_key_window_holds_the_newest_steps_only() -> None:
    # R = 3: a frame may be up to 4 steps ahead; the 4 newest steps stay open for late frames.
    rx = sf.SFrameContext(1)
    rx.add_sender_key(3, KEY, "unprotect", ratchet_bits=3)
    keys = [KEY]
    for _ in range(12):
        keys.append(sf.ratchet_base_key(1, keys[-1]))
    counter = iter(range(1, 100))

    def send(step: int) -> bytes:
        kid = 24 | (step & 7)
        return rx.unprotect(sf.protect_with(1, keys[step], kid, next(counter), b"step %d" % step))

    with pytest.raises(errors.UnknownKeyError):  # the step before 0: behind, and never held
        rx.unprotect(sf.protect_with(1, KEY, 31, 0, b"x"))
    assert send(4) == b"step 4"
    assert [send(s) for s in (1, 2, 3)] == [b"step 1", b"step 2", b"step 3"]
    with pytest.raises(errors.IntegrityError):  # step 0 left the window: its KID means step 8 now
        send(0)
    with pytest.raises(errors.IntegrityError):  # five ahead is too far: its KID is step 1's, held
        send(9)
    assert send(8) == b"step 8"
    assert sorted(rx._keys) == [24, 29, 30, 31]  # steps 8, 5, 6, 7
    assert send(5) == b"step 5"
    with pytest.raises(errors.IntegrityError):  # step 4's KID means step 12 now
        send(4)
    assert send(11) == b"step 11"
    assert rx.stats["forged"] == 3 and rx.stats["unknown_kid"] == 1 and rx.stats["unprotected"] == 7


def test_a_forged_ratchet_kid_moves_nothing() -> None:
    rx = sf.SFrameContext(4)
    rx.add_sender_key(0, KEY, "unprotect", ratchet_bits=8)
    with pytest.raises(errors.IntegrityError):  # 128 steps ahead: the most a frame can ask
        rx.unprotect(sf.encode_header(128, 0) + bytes(40))
    family = rx._families[0]
    assert (family.step, family.base_key, list(rx._keys)) == (0, KEY, [0])
    with pytest.raises(errors.UnknownKeyError):
        rx.unprotect(sf.encode_header(129, 0) + bytes(40))  # behind step 0: nothing held
    with pytest.raises(errors.UnknownKeyError):
        rx.unprotect(sf.encode_header(256, 0) + bytes(40))  # generation 1: not ours
    with pytest.raises(errors.ParameterError, match="ratchet_bits"):
        rx.add_sender_key(0, KEY, ratchet_bits=9)


# ---- §5.2 MLS --------------------------------------------------------------------------------
def test_mls_kids_match_the_rfc_figure() -> None:
    # Figure 13 of RFC 9605 (E=4, S=6)
    assert sf.mls_kid(0, 3, 14, index_bits=6, epoch_bits=4) == 0x3E
    assert sf.mls_kid(0, 20, 14, index_bits=6, epoch_bits=4) == 0x14E
    assert sf.mls_kid(0, 5, 15, index_bits=6, epoch_bits=4) == 0x5F
    assert sf.mls_kid(2, 2, 16, index_bits=6, epoch_bits=4) == 0x820
    assert sf.mls_kid(3, 2, 16, index_bits=6, epoch_bits=4) == 0xC20
    assert sf.mls_kid(0, 51, 17, index_bits=6, epoch_bits=4) == 0x331
    with pytest.raises(errors.ParameterError, match="sender_index"):
        sf.mls_kid(0, 64, 1, index_bits=6, epoch_bits=4)
    with pytest.raises(errors.ParameterError, match="context"):
        sf.mls_kid(1 << 54, 0, 1, index_bits=6, epoch_bits=4)
    assert sf.sender_kid(3, 5, 2) == 13 and sf.sender_kid((1 << 62) - 1, 3, 2) == (1 << 64) - 1
    with pytest.raises(errors.ParameterError, match="generation"):
        sf.sender_kid(1 << 62, 0, 2)


def test_mls_epochs_members_and_rollover() -> None:
    secret14, secret30 = b"exporter secret 14", b"exporter secret 30"
    alice, bob = sf.SFrameContext(4), sf.SFrameContext(4)
    a = alice.add_mls_epoch(14, secret14, index_bits=6, epoch_bits=4, sender_index=3)
    b = bob.add_mls_epoch(14, secret14, index_bits=6, epoch_bits=4, sender_index=7)
    assert (a, b) == (0x3E, 0x7E)
    assert bob.unprotect(alice.protect(a, b"from alice")) == b"from alice"
    assert alice.unprotect(bob.protect(b, b"from bob")) == b"from bob"
    with pytest.raises(errors.ParameterError, match="our protect keys"):
        alice.unprotect(alice.protect(a, b"mine"))
    # epoch 30 has the same low 4 bits: epoch 14 must go, its frames no longer open
    old = alice.protect(a, b"epoch 14")
    bob.add_mls_epoch(30, secret30, index_bits=6, epoch_bits=4, sender_index=7)
    assert all(e.family is bob._families[0] for e in bob._keys.values() if e.usage == "unprotect")
    with pytest.raises(errors.IntegrityError):
        bob.unprotect(old)
    alice.add_mls_epoch(30, secret30, index_bits=6, epoch_bits=4, sender_index=3)
    new = alice.protect(a, b"epoch 30")
    assert sf.parse_header(new)[:2] == (a, 3)  # same KID: its counter went on
    assert bob.unprotect(new) == b"epoch 30"
    listener = sf.SFrameContext(4)
    assert listener.add_mls_epoch(14, secret14, index_bits=6, epoch_bits=4) is None


def test_a_family_derives_a_bounded_number_of_kids(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sf.kids, "MAX_FAMILY_KIDS", 2)
    rx = sf.SFrameContext(4)
    rx.add_mls_epoch(1, b"secret", index_bits=4, epoch_bits=4)
    for index in range(3):
        kid = sf.mls_kid(0, index, 1, index_bits=4, epoch_bits=4)
        frame = sf.protect_with(4, b"secret", kid, 0, b"hi")
        if index < 2:
            assert rx.unprotect(frame) == b"hi"
        else:
            with pytest.raises(errors.UnknownKeyError):
                rx.unprotect(frame)


# ---- session keys ----------------------------------------------------------------------------
def session_pair(suite: str = "AES_128_GCM_SHA256_128") -> tuple[sf.SFrameContext, sf.SFrameContext]:
    a, b = stc.KeyExchange(), stc.KeyExchange()
    ctx_a = a.streaming_context(b.public_key)
    ctx_b = b.streaming_context(a.public_key)
    return ctx_a.sframe_context(suite), ctx_b.sframe_context(suite)


def test_session_exports_one_key_per_direction() -> None:
    x, y = session_pair()
    assert x.session_kid is not None and y.session_kid is not None
    assert x.session_kid >> 63 != y.session_kid >> 63
    assert y.unprotect(x.protect(x.session_kid, b"to y")) == b"to y"
    assert x.unprotect(y.protect(y.session_kid, b"to x")) == b"to x"
    with pytest.raises(errors.ParameterError, match="our protect keys"):
        x.unprotect(x.protect(x.session_kid, b"reflected"))
    other_x, _ = session_pair()
    with pytest.raises((errors.IntegrityError, errors.UnknownKeyError)):  # another session's frame
        y.unprotect(other_x.protect(other_x.session_kid, b"elsewhere"))
    with pytest.raises(errors.ParameterError, match="two-party session"):
        stc.StreamingContext(b"s" * 32).sframe_context()


def test_two_contexts_of_one_session_never_share_a_nonce() -> None:
    ctx = stc.StreamingContext(b"s" * 32, role="initiator")
    first, second = ctx.sframe_context(), ctx.sframe_context()
    assert first.session_kid != second.session_kid  # so their keys differ, counters both start at 0
    rx = stc.StreamingContext(b"s" * 32, role="responder").sframe_context(replay_window=8)
    assert rx.replay_window == 8
    assert rx.unprotect(first.protect(first.session_kid, b"1")) == b"1"
    assert rx.unprotect(second.protect(second.session_kid, b"2")) == b"2"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_fork_child_protects_under_a_new_kid_and_never_an_inherited_one() -> None:
    x, y = session_pair()
    mine = sf.SFrameContext(4)
    mine.add_key(5, KEY, "protect")
    mine.protect(5, b"parent")
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: report what it can do, then leave at once
        out = []
        out.append(x.protect(x.session_kid, b"from the child").hex())  # type: ignore[arg-type]
        for action in (lambda: mine.protect(5, b"x"), lambda: (mine.remove_key(5), mine.add_key(5, KEY))):
            try:
                action()
                out.append("allowed")
            except errors.StateError:
                out.append("refused")
        os.write(write, " ".join(out).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    with os.fdopen(read) as f:
        frame_hex, protect, readd = f.read().split()
    child_frame = bytes.fromhex(frame_hex)
    assert (protect, readd) == ("refused", "refused")
    assert sf.parse_header(child_frame)[0] != x.session_kid
    parent_frame = x.protect(x.session_kid, b"from the parent")  # type: ignore[arg-type]
    assert y.unprotect(child_frame) == b"from the child"
    assert y.unprotect(parent_frame) == b"from the parent"


def test_after_fork_hook_refuses_inherited_sender_keys() -> None:
    ctx = sf.SFrameContext(4)
    kid = ctx.add_sender_key(1, KEY)
    ctx._after_fork_in_child()  # what os.fork runs in the child
    with pytest.raises(errors.StateError, match="inherited through fork"):
        ctx.ratchet(kid)
    with pytest.raises(errors.StateError, match="inherited through fork"):
        ctx.protect(kid, b"x")


def test_threads_never_share_a_counter() -> None:
    tx, _ = pair(replay_window=0)
    frames: list[bytes] = []
    lock = threading.Lock()

    def send() -> None:
        for _ in range(200):
            f = tx.protect(5, b"t")
            with lock:
                frames.append(f)

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(sf.parse_header(f)[1] for f in frames) == list(range(800))


def test_threads_accept_a_frame_once() -> None:
    tx, rx = pair()
    frames = [tx.protect(5, b"%d" % i) for i in range(100)]
    accepted: list[bytes] = []
    lock = threading.Lock()

    def receive() -> None:
        for f in frames:
            try:
                out = rx.unprotect(f)
            except errors.ReplayError:
                continue
            with lock:
                accepted.append(out)

    threads = [threading.Thread(target=receive) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(accepted) == sorted(b"%d" % i for i in range(100))


def test_a_key_removed_while_a_frame_is_opened_refuses_it(monkeypatch: pytest.MonkeyPatch) -> None:
    tx, rx = pair()
    frame = tx.protect(5, b"x")
    original = sf.suites.PreparedKey.open

    def open_then_remove(self: sf.suites.PreparedKey, ctr: int, aad: bytes, ct: bytes) -> bytes:
        out = original(self, ctr, aad, ct)
        rx.remove_key(5)
        return out

    monkeypatch.setattr(sf.suites.PreparedKey, "open", open_then_remove)
    with pytest.raises(errors.UnknownKeyError, match="removed while"):
        rx.unprotect(frame)
