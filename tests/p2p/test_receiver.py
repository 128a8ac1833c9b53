"""The receiver's table of senders, driven directly: the orders of events that only threads or
version-1 peers produce (another thread storing an epoch first, a sender forgotten meanwhile,
a version-1 chain walked forward), each with its exact outcome."""

from __future__ import annotations

import os

import pytest

from stc.crypto.suite import Suite
from stc.errors import IntegrityError, ReplayError
from stc.p2p.frame import FLAG_SINGLE, ChunkHeader
from stc.p2p.keys import chain0, frame_aead_v1, next_chain
from stc.p2p.receiver import PeerTable

SUITE = Suite.AES_256_GCM
SENDER = b"\x01" * 8


def _table() -> PeerTable:
    return PeerTable(os.urandom(32), SUITE, 64)


def _header(epoch: int, seq: int, version: int = 2, sender: bytes = SENDER) -> ChunkHeader:
    return ChunkHeader(flags=FLAG_SINGLE, sender_id=sender, epoch=epoch, sequence=seq, version=version)


def _accept(table: PeerTable, epoch: int, seq: int, version: int = 2, depth: int = 2,
            sender: bytes = SENDER) -> int:
    header = _header(epoch, seq, version, sender)
    peer = table.peers.get(sender)
    if peer is not None and epoch in peer.epochs:  # as StreamingContext does: a stored epoch is not derived
        return table.commit_locked(header, None, depth)
    _, pending = table.derive(peer, header, depth)
    return table.commit_locked(header, pending, depth)


def _same_key(a: object, b: object) -> bool:
    nonce = bytes(12)
    return a.decrypt(nonce, b.encrypt(nonce, b"probe", None), None) == b"probe"  # type: ignore[attr-defined]


def test_epochs_advanced_are_counted_from_the_newest_known() -> None:
    table = _table()
    assert _accept(table, 5, 0) == 0  # a new sender: nothing advanced yet
    assert _accept(table, 5, 1) == 0  # a stored epoch
    assert _accept(table, 7, 0) == 2
    fresh = _table()
    assert _accept(fresh, 0, 0) == 0 and _accept(fresh, 3, 0) == 3  # from epoch 0 counts too


def test_an_epoch_another_thread_stored_first_shares_its_window() -> None:
    table = _table()
    first, second = _header(4, 0), _header(4, 1)
    _, pending1 = table.derive(None, first, 2)
    _, pending2 = table.derive(None, second, 2)  # both derived before either committed
    table.commit_locked(first, pending1, 2)
    assert table.commit_locked(second, pending2, 2) == 0
    stored = table.peers[SENDER].epochs[4]
    with pytest.raises(ReplayError):
        stored.window.check(0)  # the first frame's bit is in the one window kept
    with pytest.raises(ReplayError):
        table.commit_locked(first, pending1, 2)


def test_a_sender_forgotten_meanwhile_is_refused_with_the_reason() -> None:
    table = _table()
    header = _header(3, 0)
    with pytest.raises(ReplayError, match=r"^this receiver forgot the sender while the frame was being opened$"):
        table.commit_locked(header, None, 2)
    table.retired.retire(SENDER, 5)  # it had reached epoch 5 before it was forgotten
    with pytest.raises(ReplayError, match=r"^this receiver forgot the sender, which had reached epoch 5; only its "
                                          r"later epochs are accepted now$"):
        table.derive(None, _header(5, 0), 2)
    _, pending = table.derive(None, _header(6, 0), 2)  # retired after this frame was derived
    table.retired.retire(SENDER, 6)
    with pytest.raises(ReplayError, match=r"^this receiver forgot the sender; only its later epochs are accepted "
                                          r"now$"):
        table.commit_locked(_header(6, 0), pending, 2)
    assert _accept(table, 7, 0) == 0  # a later epoch readmits it
    assert table.retired.floor(SENDER) == 0 and SENDER in table.peers


def test_frames_below_the_floor_and_version_switches() -> None:
    table = _table()
    _accept(table, 10, 0, depth=2)  # floor 8
    with pytest.raises(ReplayError, match=r"^frame is from retired epoch 7; its replay state was erased$"):
        table.derive(table.peers[SENDER], _header(7, 0), 2)
    late = _header(9, 0)
    _, pending = table.derive(table.peers[SENDER], late, 2)
    _accept(table, 20, 0, depth=2)  # meanwhile the sender moved on: floor 18
    with pytest.raises(ReplayError, match=r"^frame is from retired epoch 9; its replay state was erased$"):
        table.commit_locked(late, pending, 2)
    with pytest.raises(IntegrityError, match=r"^sender switched from frame version 2 to 1$"):
        table.derive(table.peers[SENDER], _header(21, 0, version=1), 2)


def test_version_1_chains_are_walked_forward_from_the_newest_link() -> None:
    table = _table()
    chain = [chain0(table.root, SENDER)]
    for _ in range(6):
        chain.append(next_chain(chain[-1]))
    assert _accept(table, 0, 0, version=1) == 0
    assert _accept(table, 2, 0, version=1, depth=1) == 2  # a jump of two: epoch 1 kept (depth 1), 0 dropped
    peer = table.peers[SENDER]
    assert sorted(peer.epochs) == [1, 2] and peer.newest == 2 and peer.floor == 1
    for epoch in (1, 2):  # the skipped link got its key once the frame authenticated
        assert peer.epochs[epoch].aead is not None
        assert _same_key(peer.epochs[epoch].aead, frame_aead_v1(SUITE, chain[epoch]))
        assert peer.epochs[epoch].chain == chain[epoch]
    assert _accept(table, 1, 5, version=1, depth=1) == 0  # a late frame of the skipped epoch
    assert _accept(table, 4, 0, version=1, depth=1) == 2  # from newest 2 (2 + 4 > the jump limit)
    assert _same_key(table.peers[SENDER].epochs[4].aead, frame_aead_v1(SUITE, chain[4]))
    with pytest.raises(IntegrityError, match="too far from the newest known"):
        table.derive(table.peers[SENDER], _header(7, 0, version=1), 1)


def test_version_1_links_a_new_sender_brings_never_replace_stored_windows() -> None:
    table = _table()
    one, two = _header(1, 0, version=1), _header(2, 0, version=1)
    _, pending1 = table.derive(None, one, 2)
    _, pending2 = table.derive(None, two, 2)  # its links 0..2 were derived before epoch 1 was stored
    table.commit_locked(one, pending1, 2)
    table.commit_locked(two, pending2, 2)
    with pytest.raises(ReplayError):
        table.peers[SENDER].epochs[1].window.check(0)  # epoch 1's window still holds frame 0


def test_a_full_record_of_forgotten_senders_refuses_new_ones_only_when_one_must_be_forgotten() -> None:
    from stc.p2p.replay import MAX_RETIRED, MAX_SENDERS

    table = _table()
    for i in range(MAX_RETIRED):
        table.retired.retire(b"r" + i.to_bytes(7, "big"), 0)
    for i in range(MAX_SENDERS - 1):
        _accept(table, 0, 0, sender=b"s" + i.to_bytes(7, "big"))
    _accept(table, 0, 0, sender=b"t" * 8)  # the 256th fits without forgetting anyone
    assert len(table.peers) == MAX_SENDERS
    with pytest.raises(ReplayError, match=rf"^this session has seen too many senders \({MAX_RETIRED} forgotten\); "
                                          r"start a new session$"):
        _accept(table, 0, 0, sender=b"u" * 8)


def test_a_version_1_walk_turns_only_from_the_newest_known_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    """The work bound of an unauthenticated version-1 header: the walk towards its epoch starts at
    the newest epoch known, so a sender far along costs a few turns, not one per epoch so far."""
    from stc.p2p import receiver

    table = _table()
    for epoch in range(0, 401, 2):
        _accept(table, epoch, 0, version=1)
    turns: list[int] = []

    def counting_range(*args: int) -> range:
        turns.append(len(range(*args)))
        return range(*args)

    monkeypatch.setattr(receiver, "range", counting_range, raising=False)
    table.derive(table.peers[SENDER], _header(402, 0, version=1), 2)
    assert turns == [receiver.V1_MAX_EPOCH_JUMP + 1]  # epochs 400, 401 and 402
