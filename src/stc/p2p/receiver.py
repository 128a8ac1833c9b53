"""The receiving side's record of senders: who was heard, at which epochs, with which windows.

:class:`PeerTable` derives the key a frame names without storing anything (bounded work:
four HKDF-Expand calls for version 2, a few HKDFs for version 1) and, once the frame
authenticated, records it.  The caller (:class:`~stc.p2p.StreamingContext`) holds its
receive lock around :meth:`PeerTable.commit_locked`, so a frame is accepted once.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from ..crypto.suite import AEAD, Suite
from ..errors import IntegrityError, ReplayError
from .frame import HEADER_VERSION, ChunkHeader
from .keys import chain0, epoch_leaf, frame_aead_v1, frame_aead_v2, next_chain, sender_root
from .replay import RetiredSenders, Window, tracked_over

#: Most epochs a version-1 frame may be ahead of the newest known (from 0 for a new sender):
#: each step is one HKDF, so this bounds the unauthenticated work of a forged v1 header.
V1_MAX_EPOCH_JUMP = 2


class Epoch:
    """One epoch of one sender as a receiver knows it: frame AEAD, window, v1 chain link."""

    __slots__ = ("aead", "chain", "window")

    def __init__(self, aead: AEAD | None, window: int, chain: bytes = b"") -> None:
        self.aead: Any = aead  # None only for a v1 link derived in passing, until it is stored
        self.chain, self.window = chain, Window(window)


class Peer:
    """A sender this receiver tracks: frame version, v2 tree root, retained epochs, floor."""

    __slots__ = ("epochs", "floor", "newest", "root", "version")

    def __init__(self, version: int, root: bytes, floor: int) -> None:
        self.version, self.root, self.floor, self.newest = version, root, floor, -1
        self.epochs: dict[int, Epoch] = {}


class Pending:
    """Keys derived for a frame, stored only once it authenticates."""

    __slots__ = ("links", "root")

    def __init__(self, root: bytes, links: dict[int, Epoch]) -> None:
        self.root, self.links = root, links


class PeerTable:
    """Senders tracked by one receiver (at most ``MAX_SENDERS`` of :mod:`.replay`) and those it forgot."""

    def __init__(self, root: bytes, suite: Suite, window: int) -> None:
        self.root, self.suite, self.window = root, suite, window
        self.peers: OrderedDict[bytes, Peer] = OrderedDict()
        self.retired = RetiredSenders()

    def derive(self, peer: Peer | None, header: ChunkHeader, depth: int) -> tuple[Epoch, Pending]:
        """The key of a frame's epoch, derived without storing anything.  Bounded work: four
        HKDF-Expand calls for version 2, at most V1_MAX_EPOCH_JUMP + 2 HKDFs for version 1."""
        sender_id, target, version = header.sender_id, header.epoch, header.version
        window = self.window
        if peer is not None:
            if peer.version != version:
                raise IntegrityError(f"sender switched from frame version {peer.version} to {version}")
            if target < peer.floor:
                raise ReplayError(f"frame is from retired epoch {target}; its replay state was erased")
        else:
            floor = self.retired.floor(sender_id)
            if target < floor:
                raise ReplayError(
                    f"this receiver forgot the sender, which had reached epoch {floor - 1}; "
                    "only its later epochs are accepted now"
                )
        if version == HEADER_VERSION:
            root = peer.root if peer is not None else sender_root(self.root, sender_id)
            key = Epoch(frame_aead_v2(self.suite, epoch_leaf(root, target)), window)
            return key, Pending(root, {target: key})
        # Version 1: walk the hash chain forward from the newest link known (or from link 0).
        if peer is not None and peer.newest >= 0:
            base, chain = peer.newest, peer.epochs[peer.newest].chain
        else:
            base, chain = 0, chain0(self.root, sender_id)
        if target - base > V1_MAX_EPOCH_JUMP or target < base:
            raise IntegrityError(
                f"version-1 frame epoch {target} is too far from the newest known ({base}); "
                f"version-1 receivers follow at most {V1_MAX_EPOCH_JUMP} epochs at a time"
            )
        keep_from = target - depth
        links: dict[int, Epoch] = {}
        for epoch in range(base, target + 1):
            if epoch > base:
                chain = next_chain(chain)
            if epoch >= keep_from and (peer is None or epoch > base):
                links[epoch] = Epoch(None, window, chain)  # AEADs of skipped epochs: after authentication
        key = links[target]
        key.aead = frame_aead_v1(self.suite, chain)
        return key, Pending(b"", links)

    def commit_locked(self, header: ChunkHeader, pending: Pending | None, depth: int) -> int:
        """Record an authenticated frame (the caller holds the receive lock): its sender and epoch if
        new, retired epochs erased, and its window bit, checked and set together.  Returns how many
        epochs the sender moved ahead (for the depth statistic)."""
        sender_id, epoch, seq = header.sender_id, header.epoch, header.sequence
        advanced = 0
        peer = self.peers.get(sender_id)
        if peer is None:
            if pending is None:  # forgotten by another thread since it was looked up
                raise ReplayError("this receiver forgot the sender while the frame was being opened")
            floor = self.retired.floor(sender_id)
            if epoch < floor:
                raise ReplayError("this receiver forgot the sender; only its later epochs are accepted now")
            if tracked_over(len(self.peers) + 1) and self.retired.full:
                raise ReplayError(self.retired.refusal())
            # Epochs within the retention depth below the first one heard never had a frame accepted.
            peer = Peer(header.version, pending.root, max(floor, epoch - depth))
            self.peers[sender_id] = peer
            self.retired.readmit(sender_id)
            if tracked_over(len(self.peers)):
                old_id, old = self.peers.popitem(last=False)
                self.retired.retire(old_id, old.newest)
        else:
            self.peers.move_to_end(sender_id)
        known = peer.epochs.get(epoch)
        if known is not None:
            key = known  # the same key; another thread may have stored it first
        elif epoch < peer.floor:
            raise ReplayError(f"frame is from retired epoch {epoch}; its replay state was erased")
        else:
            assert pending is not None  # an epoch not stored was derived
            for link_epoch, link in pending.links.items():
                if link_epoch >= peer.floor and link_epoch not in peer.epochs:
                    if link.aead is None:
                        link.aead = frame_aead_v1(self.suite, link.chain)
                    peer.epochs[link_epoch] = link
            if epoch > peer.newest:
                advanced = epoch - peer.newest if peer.newest >= 0 else 0
                peer.newest = epoch
                peer.floor = max(peer.floor, epoch - depth)
                for old_epoch in [e for e in peer.epochs if e < peer.floor]:
                    del peer.epochs[old_epoch]  # erase retired keys and their windows
            key = peer.epochs[epoch]
        key.window.check(seq)
        key.window.commit(seq)
        return advanced
