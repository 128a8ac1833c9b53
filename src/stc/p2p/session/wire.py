"""The bytes STC sessions put on the network (docs/format.md §12): UDP datagrams, TCP records,
and the kinds of sealed packets inside both.  Every parser is bounded and refuses, with
FormatError, anything shorter or longer than its type allows."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from ...errors import FormatError

# datagram / record types
INITIATION, RESPONSE, FINAL, COOKIE, DATA = 1, 2, 3, 4, 5
COOKIE_SIZE = 16
#: Inside a sealed packet, the first plaintext byte says what it is.
KIND_FRAME, KIND_CONFIRM, KIND_ACK, KIND_KEEPALIVE = 0, 1, 2, 3
#: The range of ``datagram_size=``: a datagram every IPv4 path carries, up to the largest UDP payload.
MIN_DATAGRAM, MAX_DATAGRAM = 512, 65507
#: Largest handshake message (a post-quantum first message is 1,266 bytes).
MAX_HANDSHAKE = 2048
_INDEX = struct.Struct(">I")
_TWO = struct.Struct(">II")
_FRAGMENT = struct.Struct(">BIIHH")  # type, receiver index, frame number, fragment index, count
FRAGMENT_HEADER = _FRAGMENT.size


@dataclass(frozen=True)
class Datagram:
    """One UDP datagram: its type, the index it is for or from, and its body."""

    kind: int
    index: int  # INITIATION: the sender's index; others: the receiver's index
    body: bytes
    sender: int = 0  # RESPONSE only: the responder's own index
    cookie: bytes = bytes(COOKIE_SIZE)  # INITIATION: a cookie from a COOKIE reply, or zeros

    def to_bytes(self) -> bytes:
        head = bytes((self.kind,))
        if self.kind == INITIATION:
            return head + _INDEX.pack(self.index) + self.cookie + self.body
        if self.kind == RESPONSE:
            return head + _TWO.pack(self.sender, self.index) + self.body
        return head + _INDEX.pack(self.index) + self.body

    @classmethod
    def from_bytes(cls, data: bytes) -> Datagram:
        """A handshake or cookie datagram (DATA is read by :func:`parse_fragment`)."""
        if not data or data[0] not in (INITIATION, RESPONSE, FINAL, COOKIE):
            raise FormatError("not an STC session handshake datagram")
        kind = data[0]
        if kind == INITIATION:
            if len(data) < 5 + COOKIE_SIZE + 1:
                raise FormatError("handshake initiation too short")
            (index,) = _INDEX.unpack_from(data, 1)
            return cls(kind, index, data[5 + COOKIE_SIZE:], cookie=data[5:5 + COOKIE_SIZE])
        if kind == RESPONSE:
            if len(data) < 10:
                raise FormatError("handshake response too short")
            sender, index = _TWO.unpack_from(data, 1)
            return cls(kind, index, data[9:], sender=sender)
        if len(data) < 5 + (COOKIE_SIZE if kind == COOKIE else 1):
            raise FormatError("handshake datagram too short")
        (index,) = _INDEX.unpack_from(data, 1)
        body = data[5:]
        if kind == COOKIE and len(body) != COOKIE_SIZE:
            raise FormatError("a cookie reply carries exactly 16 bytes")
        if len(body) > MAX_HANDSHAKE:
            raise FormatError("handshake datagram too long")
        return cls(kind, index, body)


@dataclass(frozen=True)
class Fragment:
    """One piece of a sealed packet: which frame of the sender, which piece of how many."""

    index: int  # the receiver's session index
    frame: int
    number: int
    count: int
    body: bytes

    def to_bytes(self) -> bytes:
        return _FRAGMENT.pack(DATA, self.index, self.frame, self.number, self.count) + self.body

    @classmethod
    def from_bytes(cls, data: bytes) -> Fragment:
        return cls(*parse_fragment(data))


def parse_fragment(data: bytes) -> tuple[int, int, int, int, bytes]:
    """(receiver index, frame number, fragment, count, piece) of a data datagram; the fast form
    of :meth:`Fragment.from_bytes`, for the receive path."""
    if len(data) < FRAGMENT_HEADER + 1 or data[0] != DATA:
        raise FormatError("not an STC session data datagram")
    _, index, frame, number, count = _FRAGMENT.unpack_from(data)
    if count == 0 or number >= count:
        raise FormatError("fragment number out of range")
    return index, frame, number, count, data[FRAGMENT_HEADER:]


def fragments(index: int, frame: int, packet: bytes | bytearray, budget: int) -> list[bytes]:
    """``packet`` cut into datagrams of at most ``budget`` bytes (the header packed directly:
    this runs for every datagram sent)."""
    room = budget - FRAGMENT_HEADER
    count = max(1, -(-len(packet) // room))
    if count > 0xFFFF:
        raise FormatError("a frame this large needs more than 65,535 fragments")
    view, pack = memoryview(packet), _FRAGMENT.pack
    return [pack(DATA, index, frame, n, count) + view[n * room:(n + 1) * room] for n in range(count)]


# ---- TCP ---------------------------------------------------------------------------------------
RECORD_HEADER = struct.Struct(">IB")  # body length (type byte excluded), type


def record(kind: int, body: bytes) -> bytes:
    """One TCP record: u32 length of the body, type byte, body."""
    return RECORD_HEADER.pack(len(body), kind) + body
