"""Frame key schedules: the session root, version 1's hash chain and version 2's epoch tree.

Version 2 (written): each sender has a root, and the key of epoch ``e`` (16 bits) is the leaf
reached by walking a 16-ary tree of HKDF-Expand calls along the four hex digits of ``e`` (the
shape of MLS's secret tree, RFC 9420 §9, four times wider).  Any epoch costs four calls, so a
forged header cannot make a receiver ratchet far ahead, and a receiver that joins late starts
at once.  A sender keeps only the subtrees of epochs still to come (:class:`EpochFrontier`), so
the keys of its past epochs cannot be recomputed from its state.

Version 1 (read only): ``chain_{e+1} = HKDF(chain_e)``, one step per epoch.
"""

from __future__ import annotations

from ..crypto import encoding as _encoding
from ..crypto.encoding import Seed
from ..crypto.kdf import KdfParams, argon2id, hkdf, hkdf_expand
from ..crypto.suite import AEAD, KEY_SIZE, Suite

#: Cost of stretching a human seed: Argon2id, 16 MiB, 2 passes, 4 lanes (about 20 ms here).
SEED_KDF = KdfParams(memory_kib=16384, passes=2, lanes=4)
SEED_KDF_SALT = b"stc/v1 p2p seed."
TREE_ARITY = 16
TREE_LEVELS = 4  # 16 ** 4 == 65,536 epochs, the u16 epoch field


def session_root(seed: Seed) -> bytes:
    """High-entropy bytes (>= 32) are used as they are; anything else is stretched once."""
    if isinstance(seed, (bytes, bytearray)) and len(seed) >= KEY_SIZE:
        ikm = b"k" + bytes(seed)
    else:
        ikm = b"p" + argon2id(_encoding.encode_seed(seed), SEED_KDF_SALT, SEED_KDF)
    return hkdf(ikm, b"p2p session root")


def sframe_base_key(root: bytes, role_bit: int) -> bytes:
    """The SFrame base key of one direction of a two-party session (0: initiator, 1: responder)."""
    return hkdf_expand(root, b"sframe base key" + bytes((role_bit,)))


# ---- version 2: the epoch tree ----------------------------------------------------------------
def sender_root(root: bytes, sender_id: bytes) -> bytes:
    """The root of one sender's epoch tree."""
    return hkdf_expand(root, b"p2p v2 sender" + sender_id)


def _child(node: bytes, digit: int) -> bytes:
    return hkdf_expand(node, b"p2p v2 tree" + bytes((digit,)))


def epoch_leaf(root_of_sender: bytes, epoch: int) -> bytes:
    """The tree leaf of ``epoch``: four HKDF-Expand calls, whatever the epoch."""
    node = root_of_sender
    for level in range(TREE_LEVELS - 1, -1, -1):
        node = _child(node, (epoch >> (4 * level)) & 0xF)
    return node


def frame_aead_v2(suite: Suite, leaf: bytes) -> AEAD:
    """The frame AEAD of one epoch of one sender (version 2)."""
    return suite.aead(hkdf_expand(leaf, b"p2p v2 frame key"))


class EpochFrontier:
    """A sender's forward-secure walk over its epoch leaves, in order.

    It holds, for the epochs not yet used, only the subtrees that cover them (at most 15
    per level): after :meth:`next_leaf` returns epoch ``e``, no held value leads to a leaf
    below ``e``.
    """

    __slots__ = ("_stack",)

    def __init__(self, root_of_sender: bytes) -> None:
        self._stack: list[tuple[int, int, bytes]] = [(0, 0, root_of_sender)]  # (level, index, node)

    def next_leaf(self) -> tuple[int, bytes] | None:
        """The next (epoch, leaf), or None once all 65,536 epochs are used."""
        if not self._stack:
            return None
        level, index, node = self._stack.pop()
        while level < TREE_LEVELS:
            children = [_child(node, digit) for digit in range(TREE_ARITY)]
            level += 1
            for digit in range(TREE_ARITY - 1, 0, -1):  # later subtrees first: the smallest ends on top
                self._stack.append((level, index * TREE_ARITY + digit, children[digit]))
            index, node = index * TREE_ARITY, children[0]
        return index, node


# ---- version 1: the hash chain (read only) ----------------------------------------------------
def chain0(root: bytes, sender_id: bytes) -> bytes:
    """Version 1: the first chain link of a sender."""
    return hkdf(root, b"p2p sender chain" + sender_id)


def next_chain(chain: bytes) -> bytes:
    """Version 1: the next chain link (one-way)."""
    return hkdf(chain, b"p2p chain next")


def frame_aead_v1(suite: Suite, chain: bytes) -> AEAD:
    """Version 1: the frame AEAD of the epoch whose chain link is ``chain``."""
    return suite.aead(hkdf(chain, b"p2p frame key"))
