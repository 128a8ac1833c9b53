"""Session wire formats and reassembly, without sockets: every parser refusal and every bound."""

from __future__ import annotations

import pytest

from stc import errors
from stc.p2p.session import wire
from stc.p2p.session.fragments import Reassembler
from stc.p2p.session.wire import COOKIE, DATA, FINAL, INITIATION, RESPONSE, Datagram, Fragment, fragments


def test_datagrams_round_trip() -> None:
    for datagram in (Datagram(INITIATION, 7, b"first", cookie=b"c" * 16), Datagram(RESPONSE, 7, b"reply", sender=9),
                     Datagram(FINAL, 9, b"final"), Datagram(COOKIE, 7, b"k" * 16)):
        assert Datagram.from_bytes(datagram.to_bytes()) == datagram
    assert Datagram(INITIATION, 1, b"x").to_bytes() == b"\x01\x00\x00\x00\x01" + bytes(16) + b"x"
    assert Datagram(RESPONSE, 2, b"y", sender=3).to_bytes() == b"\x02\x00\x00\x00\x03\x00\x00\x00\x02y"


@pytest.mark.parametrize(("data", "message"), [
    (b"", "not an STC session handshake datagram"),
    (b"\x05" + bytes(20), "not an STC session handshake datagram"),
    (b"\x09", "not an STC session handshake datagram"),
    (b"\x01" + bytes(20), "handshake initiation too short"),
    (b"\x02" + bytes(8), "handshake response too short"),
    (b"\x03" + bytes(4), "handshake datagram too short"),
    (b"\x04" + bytes(19), "handshake datagram too short"),
    (b"\x04" + bytes(4) + bytes(17), "a cookie reply carries exactly 16 bytes"),
    (b"\x03" + bytes(4) + bytes(wire.MAX_HANDSHAKE + 1), "handshake datagram too long"),
])
def test_datagram_refusals(data: bytes, message: str) -> None:
    with pytest.raises(errors.FormatError, match=message):
        Datagram.from_bytes(data)


def test_fragments_cut_and_parse() -> None:
    packet = bytes(range(256)) * 10
    pieces = fragments(5, 77, packet, 100)
    room = 100 - wire.FRAGMENT_HEADER
    assert len(pieces) == -(-len(packet) // room) and all(len(p) <= 100 for p in pieces)
    parsed = [Fragment.from_bytes(p) for p in pieces]
    assert {(f.index, f.frame, f.count) for f in parsed} == {(5, 77, len(pieces))}
    assert b"".join(f.body for f in parsed) == packet
    assert len(fragments(1, 1, b"", 100)) == 1
    with pytest.raises(errors.FormatError, match="65,535 fragments"):
        fragments(1, 1, bytes(70000 * 2), wire.FRAGMENT_HEADER + 2)
    for bad, message in ((bytes((DATA,)) + bytes(12), "not an STC session data"),
                         (b"\x01" + bytes(13), "not an STC session data"),
                         (Fragment(1, 1, 0, 1, b"x").to_bytes()[:-5] + b"\x00\x01\x00\x01x", "out of range"),
                         (Fragment(1, 1, 0, 1, b"x").to_bytes()[:-5] + b"\x00\x00\x00\x00x", "out of range")):
        with pytest.raises(errors.FormatError, match=message):
            Fragment.from_bytes(bad)


def test_reassembly_is_bounded_and_counts_what_it_drops() -> None:
    room = 10
    r = Reassembler(max_packet=100, min_piece=room, max_piece=2 * room, slots=2)
    assert r.max_count == 10
    assert r.add(Fragment(1, 1, 0, 1, b"whole")) == b"whole"
    pieces = [Fragment(1, 2, n, 3, bytes([n]) * (room if n < 2 else 4)) for n in range(3)]
    assert r.add(pieces[0]) is None and r.add(pieces[0]) is None  # a duplicate piece changes nothing
    assert r.add(pieces[2]) is None and r.pending() == 1
    assert r.add(pieces[1]) == b"\x00" * 10 + b"\x01" * 10 + b"\x02" * 4
    assert r.add(pieces[1]) is None  # a late duplicate of a delivered frame
    for frame in (3, 4, 5):  # three frames started, two slots: the oldest is lost
        r.add(Fragment(1, frame, 0, 2, bytes(room)))
    assert r.lost == 1 and r.pending() == 2
    assert r.add(Fragment(1, 3, 1, 2, b"x")) is None  # frame 3 was given up
    for bad in (Fragment(1, 9, 0, 11, bytes(room)),  # more pieces than the largest packet needs
                Fragment(1, 9, 0, 2, bytes(2 * room + 1)),  # a piece larger than any datagram
                Fragment(1, 9, 0, 2, bytes(room - 1))):  # a short piece that is not the last
        assert r.add(bad) is None
    r.add(Fragment(1, 10, 0, 2, bytes(room)))
    assert r.add(Fragment(1, 10, 1, 3, b"x")) is None  # its count changed
    assert r.malformed == 4


def test_reassembly_remembers_only_recent_frames() -> None:
    r = Reassembler(max_packet=100, min_piece=10, slots=2)
    for frame in range(20):
        r.add(Fragment(1, frame, 0, 2, bytes(10)))
        r.add(Fragment(1, frame, 1, 2, b"end"))
    assert len(r._done) <= 4 * r.slots and r.lost == 0


def test_pieces_of_any_senders_size_are_reassembled_and_must_agree() -> None:
    """Peers choose their own datagram_size: a receiver takes the sender's, one length per frame."""
    packet = bytes(range(256)) * 20
    for budget in (512, 1200, 1500, 9000):
        r = Reassembler(max_packet=len(packet))
        pieces = [Fragment.from_bytes(d) for d in fragments(1, 5, packet, budget)]
        assert [r.add(f) for f in reversed(pieces)][-1] == packet and r.malformed == 0
    r = Reassembler(max_packet=100, min_piece=10, slots=4)
    r.add(Fragment(1, 1, 0, 3, bytes(20)))
    assert r.add(Fragment(1, 1, 1, 3, bytes(21))) is None and r.malformed == 1  # another length in one frame
    assert r.add(Fragment(1, 1, 2, 3, bytes(21))) is None and r.malformed == 2  # a last piece longer
    assert r.add(Fragment(1, 1, 2, 3, bytes(20))) is None and r.add(Fragment(1, 1, 1, 3, bytes(20))) == bytes(60)
    r.add(Fragment(1, 2, 1, 2, bytes(15)))  # the last piece first: the full one must not be shorter
    assert r.add(Fragment(1, 2, 0, 2, bytes(14))) is None and r.malformed == 3
    assert r.add(Fragment(1, 2, 0, 2, bytes(15))) == bytes(30)


def test_records() -> None:
    assert wire.record(5, b"abc") == b"\x00\x00\x00\x03\x05abc"
