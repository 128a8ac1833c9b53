"""Security review 3, bounds and canonical forms: memory a tiny input can demand, replay-window
work, one text per key, PSKs that mean nothing, a filesystem that would serialise a secret."""

from __future__ import annotations

import io
import os
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import stc
from stc.keys.recipients import generate_identity, parse_identity, parse_recipient
from stc.p2p.frame import MAX_SEQUENCE
from stc.p2p.handshake import KeyExchange
from stc.p2p.replay import Window
from tests.conftest import CHEAP

MiB = 1 << 20


def _peak(run: Callable[[], Any]) -> int:
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# ---- 9. a small file that declares 64 MiB chunks --------------------------------------------------------
@pytest.fixture
def tiny(tmp_path: Path) -> tuple[stc.STCContext, Path]:
    ctx = stc.STCContext("s", **CHEAP)
    enc = tmp_path / "tiny.stc"
    ctx.encrypt_stream(io.BytesIO(b"x" * 100), enc, "pw", chunk_size=64 * MiB, use_decoys=False)
    assert enc.stat().st_size < 400
    return ctx, enc


class _Unsized(io.RawIOBase):
    """A pipe-like source: readable, not seekable, size unknown."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        return self._data.readinto(buffer)


@pytest.mark.parametrize("how", ["path", "unsized_stream", "range", "open"])
def test_fail_a_tiny_file_cannot_make_a_reader_allocate_its_declared_chunks(tiny: tuple[stc.STCContext, Path],
                                                                            tmp_path: Path, how: str) -> None:
    ctx, enc = tiny
    out = tmp_path / "out"
    runs: dict[str, Callable[[], Any]] = {
        "path": lambda: ctx.decrypt_stream(enc, output_path=out, password="pw"),
        "unsized_stream": lambda: ctx.decrypt_stream(_Unsized(enc.read_bytes()), output_path=out, password="pw"),
        "range": lambda: ctx.decrypt_range(enc, 10, 20, password="pw"),
        "open": lambda: stc.open(enc, "rb", password="pw", ctx=ctx).read(),
    }
    ctx.decrypt_range(enc, 0, 1, password="pw")  # Argon2id once, outside the measurement
    peak = _peak(runs[how])
    assert peak < 4 * MiB, f"{how}: {peak / MiB:.1f} MiB"  # was 349 MiB


def test_good_a_stream_that_really_sends_a_full_chunk_still_opens(tmp_path: Path) -> None:
    ctx = stc.STCContext("s", **CHEAP)
    data = os.urandom(3 * MiB + 5)
    sealed = io.BytesIO()
    ctx.encrypt_stream(io.BytesIO(data), sealed, "pw", chunk_size=MiB)
    out = io.BytesIO()
    ctx.decrypt_stream(_Unsized(sealed.getvalue()), output_path=out, password="pw")
    assert out.getvalue() == data


# ---- 12. replay-window work is bounded by the window, not by the jump -------------------------------------
def test_fail_a_window_jump_to_the_last_sequence_costs_no_memory() -> None:
    window = Window(1024)
    window.commit(0)
    peak = _peak(lambda: window.commit(2**32 - 1))
    assert peak < 64 * 1024, peak  # shifting the bitmap by 2**32 would take 512 MiB
    assert window.bitmap == 1 and window.highest == 2**32 - 1


def test_fail_an_authenticated_frame_jumping_to_the_last_sequence_costs_no_memory() -> None:
    key = os.urandom(32)
    tx, rx = StreamingPair(key)
    rx.decrypt_packet(tx.encrypt_packet(b"first"))
    tx._send.seq = MAX_SEQUENCE  # the sender's last sequence number
    packet = tx.encrypt_packet(b"last")
    out: list[bytes] = []
    peak = _peak(lambda: out.append(rx.decrypt_packet(packet)))
    assert out == [b"last"] and peak < 256 * 1024, peak
    with pytest.raises(stc.ReplayError):
        rx.decrypt_packet(packet)


def StreamingPair(key: bytes) -> tuple[stc.StreamingContext, stc.StreamingContext]:
    return stc.StreamingContext(key), stc.StreamingContext(key)


# ---- 10. one text per key; PSKs that would mean nothing; no secret in JSON ---------------------------------
def test_fail_an_xwing_recipient_with_spare_bits_set_is_refused() -> None:
    text = generate_identity("mlkem768x25519").recipient.to_string()
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(text[-1])
    assert last & 0b11 == 0  # the canonical form: spare bits zero
    accepted = []
    for spare in range(4):
        variant = text[:-1] + alphabet[last | spare]
        try:
            accepted.append(parse_recipient(variant).to_string() == text)
        except stc.ParameterError as exc:
            assert "canonical" in str(exc)
    assert accepted == [True]


@pytest.mark.parametrize("kind", ["x25519", "mlkem768x25519"])
@pytest.mark.parametrize("space", [" ", "\n", "\t", " \r\n"])
def test_fail_white_space_around_a_key_text_is_refused(kind: str, space: str) -> None:
    identity = generate_identity(kind)
    for text, parse, what in ((identity.recipient.to_string(), parse_recipient, "recipient"),
                              (identity.to_string(), parse_identity, "identity")):
        for padded in (space + text, text + space):
            with pytest.raises(stc.ParameterError, match=f"white space around the {what} text"):
                parse(padded)  # type: ignore[operator]
        assert parse(text).to_string() == text  # type: ignore[operator]


def test_good_identity_files_still_allow_indented_and_blank_lines(tmp_path: Path) -> None:
    identity = generate_identity()
    path = tmp_path / "key.txt"
    path.write_text(f"# comment\n\n   {identity.to_string()}  \n")
    assert [i.to_string() for i in stc.load_identities(path)] == [identity.to_string()]


def test_fail_a_foreign_recipient_is_refused_by_name() -> None:
    # age keys are recipients since issue 26; a key of another tool is refused, naming what is accepted
    with pytest.raises(stc.ParameterError, match=r"^not a recipient \(expected stc-x25519-…, stc-xwing-…, age1…, "
                                                 r"age1pq1… or awskms:…\)$"):
        parse_recipient("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl")
    age_key = "age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq"
    assert parse_recipient(age_key).to_string() == age_key
    with pytest.raises(stc.ParameterError, match="that is a secret key, not a recipient"):
        parse_recipient(generate_identity().to_string())


@pytest.mark.parametrize("psk", [b"", bytes(32), bytearray(1), "text"])
def test_fail_an_empty_or_zero_psk_is_refused(psk: Any) -> None:
    alice, bob = KeyExchange(), KeyExchange()
    with pytest.raises(stc.ParameterError, match="psk must be non-empty bytes that are not all zero"):
        alice.derive_seed(bob.public_key, psk=psk)
    assert len(alice.derive_seed(bob.public_key, psk=b"\x00\x01")) == 32  # unused: still one try


def test_fail_the_filesystem_has_no_json_form() -> None:
    fsspec = pytest.importorskip("fsspec")
    fs = fsspec.filesystem("stc", target_protocol="memory", password="hunter2", skip_instance_cache=True)
    for serialise in (fs.to_json, fs.to_dict):
        with pytest.raises(stc.ParameterError, match="holds a password or identities") as caught:
            serialise()
        assert "hunter2" not in str(caught.value)
