"""``stc encrypt``, ``stc decrypt`` and ``stc inspect``: thin layers over the public API.

Everything that can be checked is checked before a passphrase is asked.  Decrypted bytes
reach stdout only after every chunk authenticated (a first pass reads and authenticates,
a second writes), unless ``--stream`` is given; only ciphertext is ever spooled to disk.

It stays one module (about 360 lines): ``encrypt``, ``decrypt`` and ``inspect`` share their
checks of inputs and outputs and the two-pass write to stdout.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import io
import re
import sys
from typing import Any

import click

from ..age import is_age
from ..age import is_armored as is_armored_age
from ..context import STCContext, decrypting_context
from ..errors import ParameterError
from ..files.outputs import atomic_output, stream_node
from ..files.rekey import finish_interrupted
from ..formats import armor
from ..formats.v2 import CORE_SIZE, LAYOUT_PASSPHRASE
from ..keys.recipients import parse_recipients
from . import age_files
from ._common import (
    EXIT_DECRYPT,
    EXIT_USAGE,
    check_output,
    context_json_option,
    context_option,
    die,
    force_option,
    identities_from,
    identity_passfile_option,
    limits_option,
    one_preset,
    parse_context,
    passfile_option,
    profile_option,
    quiet_option,
    read_passphrase,
    reader_limits,
    recipients_from,
    reported_errors,
    seed_option,
    settings,
)
from .inputs import checked_input, open_input, spool
from .remote import check_output as check_url_output
from .remote import is_url, localize
from .remote import open_input as open_url
from .remote import output as url_output
from .table import EXIT_CODES_HELP
from .terminal import progress_bar, same_terminal_as_stderr

MAX_MESSAGE = 1 << 30  # a one-value message is decrypted in memory


class _Discard:
    """A sink for the authenticate-only pass."""

    def write(self, data: Any) -> int:
        return len(data)


@click.command(epilog=EXIT_CODES_HELP)
@click.argument("input", required=False, type=click.Path(allow_dash=True))
@click.option("-o", "--output", type=click.Path(allow_dash=True, dir_okay=False),
              help="Output file ('-' = stdout). Default: INPUT.stc, or stdout without INPUT. A device or FIFO "
                   "(/dev/null) is written into; an existing file or symlink is replaced only with --force "
                   "(the link itself, never its target).")
@click.option("-a", "--armor", "armored", is_flag=True, help="Write PEM-like text (base64) instead of binary.")
@click.option("--age", "as_age", is_flag=True,
              help="Write an age file (age-encryption.org/v1) that age -d opens: to X25519 or age1pq1 keys, or "
                   "a passphrase alone. Default output: INPUT.age.")
@click.option("-r", "--recipient", "recipients", multiple=True, metavar="RECIPIENT",
              help="Encrypt to this public key (stc-x25519-…, stc-xwing-…, age1… or age1pq1…; repeatable). No "
                   "passphrase is asked unless -p is given too.")
@click.option("-R", "--recipients-file", "recipients_files", multiple=True,
              type=click.Path(dir_okay=False, allow_dash=True),
              help="Encrypt to every recipient in this file (one a line, # comments; repeatable).")
@click.option("-p", "--passphrase", "with_passphrase", is_flag=True,
              help="Also let a passphrase open the file (asked, or from --passphrase-file) next to -r/-R.")
@click.option("--fast", is_flag=True, help="Argon2id 16 MiB, 2 passes (lattice 64, depth 4).")
@click.option("--balanced", is_flag=True, help="Argon2id 64 MiB, 3 passes (lattice 128, depth 6; the default).")
@click.option("--paranoid", is_flag=True, help="Argon2id 256 MiB, 4 passes (lattice 256, depth 8).")
@profile_option
@click.option("--chunk-size", default=None, help="Chunk size: 1K to 64M (e.g. 512K, 4M; default: the profile's, "
                                                  "1M).")
@click.option("--no-decoys", is_flag=True, help="Write only the real key slots (no decoys).")
@click.option("--suite", type=click.Choice(["aes-256-gcm", "chacha20-poly1305"]), default=None,
              help="Data cipher (default: the profile's, aes-256-gcm).")
@context_option
@context_json_option
@seed_option
@passfile_option
@force_option
@quiet_option
def encrypt(input: str | None, output: str | None, armored: bool, as_age: bool, recipients: tuple[str, ...],
            recipients_files: tuple[str, ...], with_passphrase: bool, fast: bool, balanced: bool, paranoid: bool,
            profile: str | None, chunk_size: str | None, no_decoys: bool, suite: str | None,
            context: tuple[str, ...], context_json: str | None,
            seed: str, passphrase_file: str | None, force: bool, quiet: bool) -> None:
    """Encrypt INPUT (default: stdin) to recipients and/or a passphrase.

    \b
    Examples:
      stc encrypt report.pdf                         # asks a passphrase twice; writes report.pdf.stc
      stc encrypt report.pdf -r stc-x25519-…         # to a public key; no passphrase
      tar c docs | stc encrypt -R team.txt > docs.tar.stc
      stc encrypt notes.txt -a -o notes.txt.stc      # armored (text) output
      stc encrypt db.dump --context-json '{"tenant": 7}' --paranoid
      stc encrypt --age -r age1… notes.txt           # an age file (age -d opens it)
    """
    source = localize(input or "-")
    out = localize(output or ("-" if source == "-" else source + (".age" if as_age else ".stc")))
    preset = one_preset(fast, balanced, paranoid) if fast or balanced or paranoid else None
    total = checked_input(source, "to encrypt a folder, use stc encrypt-folder DIR (it keeps names, modes and "
                                   "links in one file)")
    _check_output(out, force, source)
    if out == "-" and sys.stdout.isatty() and not armored:
        die("refusing to write binary ciphertext to a terminal", EXIT_USAGE, "use -o FILE, -a, or redirect stdout")
    if as_age:
        stc_only = {"--fast/--balanced/--paranoid": preset, "--profile": profile, "--chunk-size": chunk_size,
                    "--no-decoys": no_decoys or None, "--suite": suite, "--context": context or None,
                    "--context-json": context_json}
        given = [name for name, value in stc_only.items() if value is not None]
        if given:
            die(f"{', '.join(given)}: STC-only options; an age file has none of them", EXIT_USAGE)
        _encrypt_age(source, out, armored, recipients, recipients_files, with_passphrase, passphrase_file, quiet,
                     total)
        return
    chosen = settings(profile, preset, chunk_size, no_decoys, suite)
    context_data = parse_context(context, context_json)
    with reported_errors():
        to = parse_recipients(recipients_from(recipients, recipients_files, stdin_is_data=source == "-"))
        ctx = STCContext(seed, lattice_size=chosen["lattice_size"], depth=chosen["depth"], suite=chosen["suite"])
        needs_passphrase = with_passphrase or not to
        password = read_passphrase(passphrase_file, True, source == "-") if needs_passphrase else None
        src: Any = sys.stdin.buffer if source == "-" else open_url(source) if is_url(source) else source
        bar = not quiet and not (out == "-" and same_terminal_as_stderr())  # never over the armor it prints
        with _sink(out, source) as raw_out, progress_bar(bar, total, "encrypted") as progress:
            armor_writer = armor.ArmorWriter(raw_out) if armored else None
            ctx.encrypt_stream(src, armor_writer or raw_out, password, recipients=to,
                               chunk_size=chosen["chunk_size"], progress_callback=progress,
                               context_data=context_data, use_decoys=chosen["use_decoys"])
            if armor_writer is not None:
                armor_writer.close()
        if out == "-":
            sys.stdout.buffer.flush()


def _encrypt_age(source: str, out: str, armored: bool, recipients: tuple[str, ...], recipients_files: tuple[str, ...],
                 with_passphrase: bool, passphrase_file: str | None, quiet: bool, total: int | None) -> None:
    from .. import age

    with reported_errors():
        to = age.as_recipients(recipients_from(recipients, recipients_files, stdin_is_data=source == "-"))
        if with_passphrase and to:
            raise ParameterError("age does not allow a passphrase beside other recipients (scrypt must be alone); "
                                 "write an STC file (no --age) to have both")
        password = read_passphrase(passphrase_file, True, source == "-") if not to else None
        src: Any = sys.stdin.buffer if source == "-" else open_url(source) if is_url(source) else open(source, "rb")  # noqa: SIM115
        bar = not quiet and not (out == "-" and same_terminal_as_stderr())
        with _sink(out, source) as raw_out, progress_bar(bar, total, "encrypted") as progress:
            age.encrypt(src, raw_out, recipients=to, passphrase=password, armor=armored, progress=progress)
        if out == "-":
            sys.stdout.buffer.flush()


def _check_output(output: str, force: bool, source: str) -> None:
    if is_url(output):
        check_url_output(output, force)
    else:
        check_output(output, force, None if is_url(source) else source)


def _sink(output: str, source: str | None = None) -> Any:
    """Where output goes: stdout, a URL (committed on success), or a path (renamed on success)."""
    if is_url(output):
        return url_output(output)
    local_source = None if source in (None, "-") or is_url(source) else source
    return atomic_output(sys.stdout.buffer if output == "-" else output, local_source)


@click.command(epilog=EXIT_CODES_HELP)
@click.argument("input", required=False, type=click.Path(allow_dash=True))
@click.option("-o", "--output", type=click.Path(allow_dash=True, dir_okay=False),
              help="Output file ('-' = stdout). Default: INPUT without .stc, or stdout without INPUT. A device or "
                   "FIFO (/dev/null) is written into, after authentication; an existing file or symlink is "
                   "replaced only with --force (the link itself, never its target).")
@click.option("-i", "--identity", "identity_files", multiple=True, type=click.Path(dir_okay=False, allow_dash=True),
              help="Decrypt with the secret keys in this identity file (repeatable); no passphrase is asked.")
@click.option("--stream", "stream_out", is_flag=True,
              help="Write each chunk to stdout as soon as it authenticated (as age does). A truncated or "
                   "tampered input then ends with exit 1 after an authentic prefix was written.")
@click.option("--range", "byte_range", metavar="OFFSET:LENGTH",
              help="Decrypt only these plaintext bytes (random access; INPUT must be a file).")
@click.option("--max-work-factor", type=click.IntRange(1, 30), default=22, show_default=True,
              help="age files: the largest scrypt work factor (log2 N) a passphrase stanza may ask for; 22 is "
                   "age's own limit (4 GiB of memory). Raise it only for a file you trust.")
@context_option
@context_json_option
@seed_option
@limits_option
@passfile_option
@identity_passfile_option
@force_option
@quiet_option
def decrypt(input: str | None, output: str | None, identity_files: tuple[str, ...], stream_out: bool,
            byte_range: str | None, max_work_factor: int, context: tuple[str, ...], context_json: str | None, seed: str,
            passphrase_file: str | None, identity_passphrase_file: str | None, force: bool, quiet: bool) -> None:
    """Decrypt INPUT (default: stdin; binary or armored, file or one-value message, STC or age).

    Nothing reaches the output before every chunk authenticated: a file output appears only
    at the end, and for stdout a first pass authenticates and a second writes (pipes are
    spooled to a temporary file as ciphertext, never as plaintext). --stream trades that for
    immediate output.

    \b
    Examples:
      stc decrypt report.pdf.stc                     # asks the passphrase; writes report.pdf
      stc decrypt backup.stc -i key.txt -o backup.tar
      stc decrypt < docs.tar.stc | tar x
      stc decrypt big.stc --range 1000000:4096 -o part.bin
    """
    source = localize(input or "-")
    output = None if output is None else localize(output)
    total = checked_input(source)
    if output is None:
        if source == "-" or byte_range:
            output = "-"
        elif source.endswith((".stc", ".age")):
            output = source[:-4]
        else:
            die(f"cannot guess the output name ({source} does not end in .stc or .age)", EXIT_USAGE,
                f"name the output: -o {source}.plain (any name), or -o - for stdout")
    _check_output(output, force, source)
    if byte_range and (source == "-" or stream_out):
        die("--range needs INPUT as a file, and does not go with --stream", EXIT_USAGE)
    span = _parse_range(byte_range) if byte_range else None
    context_data = parse_context(context, context_json)
    with reported_errors():
        stream, head = open_input(source, age_ok=True)
        identities = identities_from(identity_files, identity_passphrase_file, source == "-")
        if is_age(head):
            if span is not None or context_data:
                die("--range and context data are for STC files; this is an age file", EXIT_USAGE)
            age_files.decrypt(stream, output, identities, passphrase_file, source, stream_out, quiet,
                              max_work_factor, None if is_armored_age(head) else total)
            return
        ctx = decrypting_context(seed, **reader_limits())
        armored = armor.is_armored(head)
        if not identities and not armored and _recipients_only(head):
            die("this was encrypted to public keys only; no passphrase can open it", EXIT_DECRYPT,
                "pass the matching identity file with -i")
        password = None if identities and passphrase_file is None else \
            read_passphrase(passphrase_file, False, source == "-")
        keys = {"password": password, "identities": identities, "context_data": context_data}
        if source != "-" and not is_url(source) and not armored \
                and finish_interrupted(source, ctx._key_of(password, identities),
                                       ctx._opener(password, identities, context_data)):
            stream.close()  # a re-key a crash interrupted was completed, as the API does: read the new header
            stream, head = open_input(source)
        if (_armored_kind(head) if armored else head[:4]) == b"STCM":
            _decrypt_message(ctx, stream, armored, output, keys)
        elif span is not None:
            _decrypt_range(ctx, spool(armor.ArmorReader(stream)) if armored else stream, output, span, keys)
        else:
            _decrypt_file(ctx, None if armored else total, stream, armored, output, stream_out, quiet, keys)


def _recipients_only(head: bytes) -> bool:
    """A version-2 header whose slot-layout byte says it has no passphrase slot (format.md §6)."""
    return len(head) > CORE_SIZE and head[4] == 2 and not head[CORE_SIZE] & LAYOUT_PASSPHRASE


def _armored_kind(head: bytes) -> bytes:
    """The magic under an armored input's BEGIN line."""
    lines = head.lstrip(b" \t\r\n").split(b"\n", 2)
    if len(lines) < 2:
        return b""
    try:
        return base64.b64decode(lines[1].strip()[:8])[:4]
    except (binascii.Error, ValueError):
        return b""


def _decrypt_message(ctx: STCContext, stream: Any, armored: bool, output: str, keys: dict[str, Any]) -> None:
    reader = armor.ArmorReader(stream) if armored else stream
    blob = reader.read(MAX_MESSAGE + 1)
    if len(blob) > MAX_MESSAGE:
        die("a one-value message larger than 1 GiB is not supported; encrypt large data as a file", EXIT_USAGE)
    plain = ctx.decrypt_blob(blob, keys["password"], identities=keys["identities"],
                             context_data=keys["context_data"])
    data = plain.encode("utf-8") if isinstance(plain, str) else plain
    with _sink(output) as out:
        out.write(data)
    if output == "-":
        sys.stdout.buffer.flush()


def _decrypt_file(ctx: STCContext, total: int | None, stream: Any, armored: bool, output: str, stream_out: bool,
                  quiet: bool, keys: dict[str, Any]) -> None:
    def run(src: Any, dst: Any, label: str, bar: bool) -> None:
        reader = armor.ArmorReader(src) if armored else src
        with progress_bar(bar and not quiet, total, label) as progress:
            ctx.decrypt_stream(reader, output_path=dst, progress_callback=progress, **keys)

    if is_url(output):
        with url_output(output) as remote_out:
            run(stream, remote_out, "decrypted", True)
        return
    if output != "-" and not stream_node(output):
        run(stream, output, "decrypted", True)
        return
    # stdout, or a device or FIFO named with -o: authenticated first, written in a second pass
    with contextlib.ExitStack() as stack:
        sink = sys.stdout.buffer if output == "-" else stack.enter_context(open(output, "wb", buffering=0))
        to_terminal = output == "-" and same_terminal_as_stderr()
        if stream_out:
            run(stream, sink, "decrypted", not to_terminal)
        else:
            src = stream if stream.seekable() else spool(stream)
            start = src.tell()
            run(src, _Discard(), "authenticated", not to_terminal)
            src.seek(start)
            run(src, sink, "decrypted", not to_terminal)
        sink.flush()


def _parse_range(spec: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d+):(\d+)", spec)
    if not match:
        die(f"--range takes OFFSET:LENGTH in bytes, not {spec!r}", EXIT_USAGE)
    return int(match.group(1)), int(match.group(2))


def _decrypt_range(ctx: STCContext, stream: Any, output: str, span: tuple[int, int], keys: dict[str, Any]) -> None:
    """Random access through a seekable reader: only the chunks of the span (and the final one)."""
    with ctx.open(stream, "rb", **keys) as reader:
        size = reader.seek(0, io.SEEK_END)
        if span[0] > size:  # as decrypt_range refuses it
            raise ParameterError(f"the range starts at byte {span[0]}, past the end of the {size}-byte plaintext")
        reader.seek(span[0])
        data = reader.read(span[1])
    with _sink(output) as out:
        out.write(data)
    if output == "-":
        sys.stdout.buffer.flush()


__all__ = ["decrypt", "encrypt"]
