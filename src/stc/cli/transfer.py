"""``stc send`` and ``stc receive``: one file over an authenticated TCP session.

The sender offers the file's name and size, sends it in frames of up to 1 MiB, each with its
offset, then the total; every frame is authenticated by the session, and the offsets make a
dropped, repeated or reordered frame an error.  The receiver writes into a private temporary
file beside the output and renames it into place only when the final frame authenticated and
every offset and the size matched, then says so.  An interrupted transfer leaves nothing under
the output name and exits non-zero.
"""

from __future__ import annotations

import asyncio
import os
import struct
import sys
import time
from typing import Any

import click

from ._common import EXIT_DECRYPT, EXIT_USAGE, die, reported_errors

OFFER, DATA, END, RECEIVED = 1, 2, 3, 4
_OFFER = struct.Struct(">BQH")
_DATA = struct.Struct(">BQ")
_END = struct.Struct(">BQ")
PIECE = (1 << 20) - _DATA.size
MAX_NAME = 255


def parse_address(text: str, what: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``[IPv6]:PORT``."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535 or not host:
        die(f"{what} is HOST:PORT (e.g. 127.0.0.1:4000), not {text!r}", EXIT_USAGE)
    return host.strip("[]"), int(port)


def _safe_name(raw: bytes) -> str:
    """The offered name as a plain file name of the current folder, or a refusal."""
    from ..errors import FormatError

    try:
        name = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise FormatError("the offered file name is not UTF-8") from None
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name or not name.isprintable():
        raise FormatError(f"the sender offered an unsafe file name {name!r}; give -o")
    return name


async def _send_file(session: Any, path: str, progress: Any) -> None:
    size = os.path.getsize(path)
    name = os.path.basename(path).encode("utf-8")[:MAX_NAME]
    await session.send(_OFFER.pack(OFFER, size, len(name)) + name)
    sent = 0
    frame = bytearray(_DATA.size + PIECE)
    with open(path, "rb", buffering=0) as f:
        while count := f.readinto(memoryview(frame)[_DATA.size:]):
            _DATA.pack_into(frame, 0, DATA, sent)
            await session.send(memoryview(frame)[:_DATA.size + count])
            sent += count
            if progress is not None:
                progress(sent, size)
    await session.send(_END.pack(END, sent))
    reply = await asyncio.wait_for(session.recv(), 120)
    if reply[:1] != bytes((RECEIVED,)):
        from ..errors import HandshakeError

        raise HandshakeError("the receiver did not confirm the file")


async def _receive_file(session: Any, output: str | None, force: bool, progress_label: str) -> tuple[str, int]:
    from ..errors import FormatError, IntegrityError
    from ..files.outputs import atomic_output
    from .terminal import progress_bar

    first = await session.recv()
    if len(first) < _OFFER.size or first[0] != OFFER:
        raise FormatError("the sender did not offer a file")
    _, size, length = _OFFER.unpack_from(first)
    if len(first) != _OFFER.size + length or length > MAX_NAME:
        raise FormatError("malformed file offer")
    name = output if output is not None else _safe_name(first[_OFFER.size:])
    if os.path.lexists(name) and not force:
        raise FormatError(f"{name} exists; use --force to replace it")
    got = 0
    with progress_bar(True, size, progress_label) as progress, atomic_output(name) as out:
        while True:
            frame = await session.recv()
            if frame[:1] == bytes((DATA,)) and len(frame) > _DATA.size:
                _, offset = _DATA.unpack_from(frame)
                if offset != got:
                    raise IntegrityError("a piece of the file is missing, repeated or out of order")
                got += len(frame) - _DATA.size
                if got > size:
                    raise IntegrityError("the sender sent more than it offered")
                out.write(memoryview(frame)[_DATA.size:])
                if progress is not None:
                    progress(got, size)
            elif frame[:1] == bytes((END,)) and len(frame) == _END.size:
                _, total = _END.unpack(frame)
                if total != got or got != size:
                    raise IntegrityError("the file that arrived is not the size offered")
                break
            else:
                raise FormatError("unexpected frame during a file transfer")
    await session.send(bytes((RECEIVED,)))
    return name, got


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.argument("address")
@click.option("--to", "to", metavar="RECIPIENT", help="The receiver's stc-x25519-… recipient (identity mode).")
@click.option("--code", "code", is_flag=False, flag_value="", default=None, metavar="[CODE]",
              help="A shared code instead (code mode); without a value one is made and printed.")
@click.option("-i", "--identity", "identity_file", type=click.Path(dir_okay=False),
              help="Our identity file (identity mode; default: a new one for this transfer).")
@click.option("--pq", is_flag=True, help="Add ML-KEM-768 to the key exchange (post-quantum forward secrecy).")
@click.option("--timeout", default=60.0, show_default=True, help="Seconds to keep trying to reach the receiver.")
def send(file: str, address: str, to: str | None, code: str | None, identity_file: str | None, pq: bool,
         timeout: float) -> None:
    """Send FILE to a `stc receive` listening at ADDRESS (HOST:PORT)."""
    host_port = parse_address(address, "ADDRESS")
    if (to is None) == (code is None):
        die("give --to RECIPIENT or --code", EXIT_USAGE)
    with reported_errors():
        kwargs = _keys(to, code, identity_file)
        if code == "":
            from ..p2p.session.codes import generate_code

            kwargs["code"] = generate_code()
            click.echo(f"stc: code: {kwargs['code']}", err=True)
            click.echo(f"stc: on the receiving side: stc receive --listen HOST:PORT --code {kwargs['code']}", err=True)
        from ..errors import HandshakeError
        from .terminal import progress_bar

        with progress_bar(True, os.path.getsize(file), "sending") as progress:
            try:
                asyncio.run(_send_main(host_port, file, kwargs, pq, timeout, progress))
            except HandshakeError as exc:  # the peer could not be authenticated, or refused us
                die(str(exc), EXIT_DECRYPT)
        click.echo(f"stc: sent {file}; the receiver confirmed it", err=True)


async def _send_main(address: tuple[str, int], path: str, kwargs: dict[str, Any], pq: bool, timeout: float,
                     progress: Any) -> None:
    from ..errors import HandshakeError
    from ..p2p.session import connect

    deadline = time.monotonic() + timeout
    while True:
        try:
            session = await connect(address, transport="tcp", pq=pq, timeout=max(1.0, deadline - time.monotonic()),
                                    **kwargs)
            break
        except HandshakeError as exc:
            if "cannot connect" not in str(exc) or time.monotonic() >= deadline:
                raise
            await asyncio.sleep(0.25)  # the receiver is not listening yet
    async with session:
        await _send_file(session, path, progress)


def _keys(to: str | None, code: str | None, identity_file: str | None) -> dict[str, Any]:
    from ..errors import ParameterError
    from ..keys.recipients import load_identities, parse_recipient
    from ..keys.recipients.x25519 import X25519Identity, X25519Recipient

    if code is not None:
        return {"code": code}
    assert to is not None
    peer = parse_recipient(to)
    if not isinstance(peer, X25519Recipient):
        raise ParameterError("sessions are authenticated by X25519 keys; this recipient is of another kind")
    identity = X25519Identity.generate()
    if identity_file is not None:
        found = [i for i in load_identities(identity_file) if isinstance(i, X25519Identity)]
        if not found:
            raise ParameterError(f"{identity_file} holds no X25519 identity")
        identity = found[0]
    return {"identity": identity, "peer": peer}


@click.command()
@click.option("--listen", "listen_at", required=True, metavar="HOST:PORT", help="Where to listen (port 0: any).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write here (default: the sender's file name).")
@click.option("-i", "--identity", "identity_file", type=click.Path(dir_okay=False),
              help="Our identity file (identity mode).")
@click.option("--from", "senders", multiple=True, metavar="RECIPIENT", help="Accept only these senders (repeatable).")
@click.option("--code", "code", is_flag=False, flag_value="", default=None, metavar="[CODE]",
              help="A shared code (code mode); without a value it is asked for.")
@click.option("--pq", is_flag=True, help="Require a post-quantum key exchange.")
@click.option("--keep-listening", is_flag=True, help="Receive files until interrupted, not just one.")
@click.option("-f", "--force", is_flag=True, help="Replace an existing output file.")
def receive(listen_at: str, output: str | None, identity_file: str | None, senders: tuple[str, ...],
            code: str | None, pq: bool, keep_listening: bool, force: bool) -> None:
    """Receive a file from `stc send`; it appears only once complete and authenticated."""
    address = parse_address(listen_at, "--listen")
    if (identity_file is None) == (code is None):
        die("give -i IDENTITY (and --from RECIPIENT…) or --code", EXIT_USAGE)
    if senders and identity_file is None:
        die("--from needs -i IDENTITY", EXIT_USAGE)
    if code == "":
        code = click.prompt("Enter the code", err=True).strip()
    with reported_errors():
        kwargs: dict[str, Any] = {"code": code} if code is not None else _listener_keys(identity_file, senders)
        status = asyncio.run(_receive_main(address, kwargs, pq, output, force, keep_listening))
    if status:
        sys.exit(status)


def _listener_keys(identity_file: str | None, senders: tuple[str, ...]) -> dict[str, Any]:
    from ..errors import ParameterError
    from ..keys.recipients import load_identities, parse_recipient
    from ..keys.recipients.x25519 import X25519Identity, X25519Recipient

    assert identity_file is not None
    found = [i for i in load_identities(identity_file) if isinstance(i, X25519Identity)]
    if not found:
        raise ParameterError(f"{identity_file} holds no X25519 identity")
    peers = [parse_recipient(s) for s in senders]
    if not all(isinstance(p, X25519Recipient) for p in peers):
        raise ParameterError("--from takes stc-x25519-… recipients")
    return {"identity": found[0], "peers": peers or None}


async def _receive_main(address: tuple[str, int], kwargs: dict[str, Any], pq: bool, output: str | None, force: bool,
                        keep_listening: bool) -> int:
    from ..errors import DecryptionError, SessionClosedError
    from ..p2p.session import listen

    async with await listen(address, transport="tcp", pq=pq, **kwargs) as server:
        click.echo(f"stc: listening on {server.address[0]}:{server.address[1]}", err=True)
        while True:
            session = await server.accept()
            who = "code" if session.peer is None else session.peer.to_string()
            try:
                async with session:
                    name, size = await _receive_file(session, output, force, "receiving")
                click.echo(f"stc: received {name} ({size} bytes) from {who}", err=True)
            except (DecryptionError, SessionClosedError) as exc:
                click.echo(f"stc: error: the transfer from {who} failed: {exc}; nothing was written", err=True)
                if not keep_listening:
                    return EXIT_DECRYPT
            if not keep_listening:
                return 0
