"""``stc encrypt``, ``stc decrypt`` and ``stc inspect``: thin layers over the public API."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import click

from ..context import STCContext, decrypting_context
from ..filestream import Progress
from ..format_v2 import max_size
from ..headers import parse_header
from ..recipients import Identity
from ._common import (
    EXIT_USAGE,
    PRESETS,
    check_output,
    context_option,
    die,
    force_option,
    identities_from,
    parse_context,
    parse_size,
    passfile_option,
    progress_bar,
    quiet_option,
    read_passphrase,
    recipients_from,
    reported_errors,
    seed_option,
)


@click.command()
@click.argument("input", type=click.Path(allow_dash=True, dir_okay=False))
@click.option("-o", "--output", type=click.Path(allow_dash=True, dir_okay=False),
              help="Output file ('-' = stdout). Default: INPUT.stc, or stdout when INPUT is '-'.")
@click.option("-r", "--recipient", "recipients", multiple=True, metavar="RECIPIENT",
              help="Encrypt to this public key (stc-x25519-… or stc-xwing-…; repeatable). No passphrase is "
                   "asked unless -p is given too.")
@click.option("-R", "--recipients-file", "recipients_files", multiple=True, type=click.Path(dir_okay=False),
              help="Encrypt to every recipient in this file (one a line, # comments; repeatable).")
@click.option("-p", "--passphrase", "with_passphrase", is_flag=True,
              help="Also let a passphrase open the file (asked, or from --passphrase-file) next to -r/-R.")
@click.option("--fast", "preset", flag_value="fast", help="Argon2id 16 MiB, 2 passes (lattice 64, depth 4).")
@click.option("--balanced", "preset", flag_value="balanced", default=True,
              help="Argon2id 64 MiB, 3 passes (lattice 128, depth 6; the default).")
@click.option("--paranoid", "preset", flag_value="paranoid", help="Argon2id 256 MiB, 4 passes (lattice 256, depth 8).")
@click.option("--chunk-size", default="1M", show_default=True, help="Chunk size: 1K to 64M (e.g. 512K, 4M).")
@click.option("--no-decoys", is_flag=True, help="Write only the real key slots (no decoys).")
@click.option("--suite", type=click.Choice(["aes-256-gcm", "chacha20-poly1305"]), default="aes-256-gcm",
              show_default=True, help="Data cipher.")
@context_option
@seed_option
@passfile_option
@force_option
@quiet_option
def encrypt(input: str, output: "str | None", recipients: tuple[str, ...], recipients_files: tuple[str, ...],
            with_passphrase: bool, preset: str, chunk_size: str, no_decoys: bool, suite: str,
            context: tuple[str, ...], seed: str, passphrase_file: "str | None", force: bool, quiet: bool) -> None:
    """Encrypt INPUT ('-' = stdin) to recipients and/or a passphrase."""
    out = output or ("-" if input == "-" else input + ".stc")
    if out == "-" and sys.stdout.isatty():
        die("refusing to write binary ciphertext to a terminal; use -o FILE or redirect stdout", EXIT_USAGE)
    check_output(out, force)
    size = parse_size(chunk_size)
    context_data = parse_context(context)
    with reported_errors():
        lattice, depth = PRESETS[preset]
        ctx = STCContext(seed, lattice_size=lattice, depth=depth, suite=suite)
        to = recipients_from(recipients, recipients_files)
        password = read_passphrase(passphrase_file, confirm=True) if with_passphrase or not to else None
        src: Any = sys.stdin.buffer if input == "-" else input
        dst: Any = sys.stdout.buffer if out == "-" else out
        with progress_bar(not quiet, None if input == "-" else os.path.getsize(input), "encrypt") as progress:
            ctx.encrypt_stream(src, dst, password, recipients=to, chunk_size=size, progress_callback=progress,
                               context_data=context_data, use_decoys=not no_decoys)
        if out == "-":
            sys.stdout.buffer.flush()


@click.command()
@click.argument("input", type=click.Path(allow_dash=True, dir_okay=False))
@click.option("-o", "--output", type=click.Path(allow_dash=True, dir_okay=False),
              help="Output file ('-' = stdout). Default: INPUT without .stc, or stdout when INPUT is '-'.")
@click.option("-i", "--identity", "identity_files", multiple=True, type=click.Path(dir_okay=False, allow_dash=True),
              help="Decrypt with the secret keys in this identity file (repeatable); no passphrase is asked.")
@click.option("--range", "byte_range", metavar="OFFSET:LENGTH",
              help="Decrypt only these plaintext bytes (random access; INPUT must be a file).")
@context_option
@seed_option
@passfile_option
@force_option
@quiet_option
def decrypt(input: str, output: "str | None", identity_files: tuple[str, ...], byte_range: "str | None",
            context: tuple[str, ...], seed: str, passphrase_file: "str | None", force: bool, quiet: bool) -> None:
    """Decrypt INPUT ('-' = stdin). Output appears only after every chunk authenticated."""
    if output is None:
        if input == "-" or byte_range:
            output = "-"
        elif input.endswith(".stc"):
            output = input[: -len(".stc")]
        else:
            die("cannot guess the output name (INPUT does not end in .stc); use -o", EXIT_USAGE)
    check_output(output, force)
    context_data = parse_context(context)
    with reported_errors():
        ctx = decrypting_context(seed)
        identities = identities_from(identity_files)
        password = None if identities and passphrase_file is None else read_passphrase(passphrase_file, confirm=False)
        if byte_range:
            _decrypt_range(ctx, input, output, byte_range, context_data, password, identities)
            return
        src: Any = sys.stdin.buffer if input == "-" else input
        with progress_bar(not quiet, None if input == "-" else os.path.getsize(input), "decrypt") as progress:
            if output == "-":
                _decrypt_to_stdout(ctx, src, password, identities, context_data, progress)
            else:
                ctx.decrypt_stream(src, output_path=output, password=password, identities=identities,
                                   progress_callback=progress, context_data=context_data)


def _decrypt_to_stdout(ctx: STCContext, src: Any, password: "str | None", identities: list[Identity],
                       context_data: Any, progress: "Progress | None") -> None:
    """Spool to a private temporary file; copy to stdout only once everything authenticated."""
    with tempfile.TemporaryFile(prefix="stc-") as spool:
        ctx.decrypt_stream(src, output_path=spool, password=password, identities=identities,
                           progress_callback=progress, context_data=context_data)
        spool.seek(0)
        shutil.copyfileobj(spool, sys.stdout.buffer, 1 << 20)
        sys.stdout.buffer.flush()


def _decrypt_range(ctx: STCContext, input: str, output: str, spec: str, context_data: Any,
                   password: "str | None", identities: list[Identity]) -> None:
    match = re.fullmatch(r"(\d+):(\d+)", spec)
    if not match:
        die(f"--range takes OFFSET:LENGTH in bytes, not {spec!r}", EXIT_USAGE)
    if input == "-":
        die("--range needs a seekable file, not stdin", EXIT_USAGE)
    data = ctx.decrypt_range(input, int(match.group(1)), int(match.group(2)), password, identities=identities,
                             context_data=context_data)
    if output == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        Path(output).write_bytes(data)


@click.command()
@click.argument("file", type=click.Path(allow_dash=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def inspect(file: str, as_json: bool) -> None:
    """Show the header of an encrypted FILE: slot kinds (never which is real), no secrets."""
    with reported_errors():
        if file == "-":
            data = sys.stdin.buffer.read(max_size())
        else:
            with open(file, "rb") as f:
                data = f.read(max_size())
        meta, _ = parse_header(data)
        info = meta.describe()
        if meta.is_file and file != "-":
            body = os.path.getsize(file) - meta.size
            chunks = -(-body // (meta.chunk_size + 16)) if body > 0 else 0
            info.update({"file_bytes": body + meta.size, "chunks": chunks,
                         "plaintext_bytes": max(0, body - 16 * chunks)})
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    kdf = info.pop("kdf", None)
    if kdf is not None:
        info["kdf"] = f"argon2id, {kdf['memory_kib'] // 1024} MiB, {kdf['passes']} passes, {kdf['lanes']} lanes"
    info.pop("slot_kinds", None)
    if "slots_by_kind" in info:
        info["slots_by_kind"] = ", ".join(f"{n} {kind}" for kind, n in info["slots_by_kind"].items())
    for key, value in info.items():
        click.echo(f"{key.replace('_', ' '):>16}: {value}")
