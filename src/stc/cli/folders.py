"""``stc encrypt-folder``, ``stc decrypt-folder``, ``stc list`` and ``stc recommend``."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import json
import os
import stat
import sys

import click

from ..context import STCContext, decrypting_context
from ..folders import decrypt_folder, encrypt_folder, folder_size, list_folder
from ..keys.recipients import parse_recipients
from ._common import (
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
from .inputs import checked_input, for_api, open_input
from .remote import check_output as check_url_output
from .remote import is_url, localize
from .remote import output as url_output
from .table import EXIT_CODES_HELP
from .terminal import printable, progress_bar


@click.command("encrypt-folder", epilog=EXIT_CODES_HELP)
@click.argument("folder", type=click.Path(file_okay=False, exists=True))
@click.option("-o", "--output", type=click.Path(allow_dash=True, dir_okay=False),
              help="Output file ('-' = stdout). Default: FOLDER.stc.")
@click.option("--exclude", "excludes", multiple=True, metavar="PATTERN",
              help="Leave out paths matching this shell pattern (matched against the relative path and the "
                   "name; repeatable).")
@click.option("-r", "--recipient", "recipients", multiple=True, metavar="RECIPIENT", help="As stc encrypt -r.")
@click.option("-R", "--recipients-file", "recipients_files", multiple=True,
              type=click.Path(dir_okay=False, allow_dash=True),
              help="As stc encrypt -R.")
@click.option("-p", "--passphrase", "with_passphrase", is_flag=True, help="As stc encrypt -p.")
@profile_option
@click.option("--fast", is_flag=True, help="Argon2id 16 MiB, 2 passes.")
@click.option("--balanced", is_flag=True, help="Argon2id 64 MiB, 3 passes.")
@click.option("--paranoid", is_flag=True, help="Argon2id 256 MiB, 4 passes.")
@click.option("--chunk-size", default=None, help="Chunk size: 1K to 64M (default: the profile's, 1M).")
@click.option("--no-decoys", is_flag=True, help="Write only the real key slots.")
@click.option("--suite", type=click.Choice(["aes-256-gcm", "chacha20-poly1305"]), default=None,
              help="Data cipher (default: the profile's).")
@context_option
@context_json_option
@seed_option
@passfile_option
@force_option
@quiet_option
def encrypt_folder_cmd(folder: str, output: str | None, excludes: tuple[str, ...], recipients: tuple[str, ...],
                       recipients_files: tuple[str, ...], with_passphrase: bool, profile: str | None,
                       fast: bool, balanced: bool, paranoid: bool, chunk_size: str | None, no_decoys: bool,
                       suite: str | None,
                       context: tuple[str, ...], context_json: str | None, seed: str,
                       passphrase_file: str | None, force: bool, quiet: bool) -> None:
    """Encrypt FOLDER: a pax tar stream inside one encrypted file (so `stc decrypt FILE | tar t` works).

    Modes, modification times, empty directories and symlinks inside the folder are kept.

    \b
    Examples:
      stc encrypt-folder taxes/ -o taxes.stc
      stc encrypt-folder photos/ --profile media -r stc-x25519-… --exclude '*.tmp'
    """
    out = localize(output or folder.rstrip("/") + ".stc")
    if is_url(out):
        check_url_output(out, force)
    else:
        check_output(out, force)
    if out == "-" and sys.stdout.isatty():
        die("refusing to write binary ciphertext to a terminal", EXIT_USAGE, "use -o FILE or redirect stdout")
    preset = one_preset(fast, balanced, paranoid) if fast or balanced or paranoid else None
    chosen = settings(profile, preset, chunk_size, no_decoys, suite)
    context_data = parse_context(context, context_json)
    with reported_errors():
        to = parse_recipients(recipients_from(recipients, recipients_files))
        ctx = STCContext(seed, lattice_size=chosen["lattice_size"], depth=chosen["depth"], suite=chosen["suite"])
        password = read_passphrase(passphrase_file, True, False) if with_passphrase or not to else None
        _, total = folder_size(folder, excludes)
        with contextlib.ExitStack() as stack:
            sink = stack.enter_context(url_output(out)) if is_url(out) else \
                sys.stdout.buffer if out == "-" else out
            progress = stack.enter_context(progress_bar(not quiet, total, "encrypted"))
            encrypt_folder(folder, sink, password, ctx=ctx, recipients=to,
                           excludes=excludes, progress_callback=progress, chunk_size=chosen["chunk_size"],
                           use_decoys=chosen["use_decoys"], context_data=context_data)


@click.command("decrypt-folder", epilog=EXIT_CODES_HELP)
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("-o", "--output", type=click.Path(file_okay=False),
              help="Folder to create. Default: FILE without .stc.")
@click.option("-i", "--identity", "identity_files", multiple=True, type=click.Path(dir_okay=False),
              help="Decrypt with the secret keys in this identity file (repeatable).")
@context_option
@context_json_option
@seed_option
@limits_option
@passfile_option
@identity_passfile_option
@force_option
@click.option("-p", "--preserve-permissions", is_flag=True,
              help="Keep the archive's modes as they are (group/other write, sticky); by default those bits "
                   "are dropped and the umask applies. Owners are never restored.")
def decrypt_folder_cmd(file: str, output: str | None, identity_files: tuple[str, ...], context: tuple[str, ...],
                       context_json: str | None, seed: str, passphrase_file: str | None,
                       identity_passphrase_file: str | None, force: bool, preserve_permissions: bool) -> None:
    """Extract an encrypted folder safely: nothing appears before the whole file authenticated.

    Absolute paths, '..', links leaving the folder, device files and setuid bits are refused,
    naming the member; an existing non-empty folder is replaced only with --force.

    \b
    Examples:
      stc decrypt-folder taxes.stc               # creates taxes/
      stc decrypt-folder photos.stc -o restored -i key.txt
    """
    file = localize(file)
    checked_input(file)
    if output is None:
        name = file.rsplit("/", 1)[-1] if is_url(file) else file  # a URL's folder goes here
        if file == "-" or not name.endswith(".stc"):
            die(f"cannot guess the folder name ({file} does not end in .stc)", EXIT_USAGE, "use -o FOLDER")
        output = name[: -len(".stc")]
    if os.path.isdir(output) and os.listdir(output) and not force:
        die(f"{output} exists and is not empty; use --force to replace it", EXIT_USAGE)
    if os.path.lexists(output) and not os.path.isdir(output):
        die(f"{output} exists and is not a folder", EXIT_USAGE)
    context_data = parse_context(context, context_json)
    with reported_errors():
        stream, head = open_input(file)
        identities = identities_from(identity_files, identity_passphrase_file)
        password = None if identities and passphrase_file is None else \
            read_passphrase(passphrase_file, False, file == "-")
        members = decrypt_folder(for_api(file, stream, head), output, password,
                                 ctx=decrypting_context(seed, **reader_limits()), identities=identities,
                                 context_data=context_data, force=force, preserve_permissions=preserve_permissions)
        click.echo(f"stc: extracted {len(members)} entries into {output}", err=True)


@click.command("list", epilog=EXIT_CODES_HELP)
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("-i", "--identity", "identity_files", multiple=True, type=click.Path(dir_okay=False),
              help="Decrypt with the secret keys in this identity file (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@context_option
@context_json_option
@seed_option
@limits_option
@passfile_option
@identity_passfile_option
def list_cmd(file: str, identity_files: tuple[str, ...], as_json: bool, context: tuple[str, ...],
             context_json: str | None, seed: str, passphrase_file: str | None,
             identity_passphrase_file: str | None) -> None:
    """List the members of an encrypted folder (decrypted and authenticated, nothing written).

    \b
    Examples:
      stc list taxes.stc
      stc list photos.stc -i key.txt --json
    """
    file = localize(file)
    checked_input(file)
    context_data = parse_context(context, context_json)
    with reported_errors():
        stream, head = open_input(file)
        identities = identities_from(identity_files, identity_passphrase_file)
        password = None if identities and passphrase_file is None else \
            read_passphrase(passphrase_file, False, file == "-")
        members = list_folder(for_api(file, stream, head), password,
                              ctx=decrypting_context(seed, **reader_limits()), identities=identities,
                              context_data=context_data)
    if as_json:
        click.echo(json.dumps([dataclasses.asdict(m) for m in members], indent=2))  # exact names
        return
    for m in members:
        when = datetime.datetime.fromtimestamp(m.mtime, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")
        link = f" -> {printable(m.target)}" if m.kind == "symlink" else \
            f" link to {printable(m.target)}" if m.kind == "hardlink" else ""
        click.echo(f"{stat.filemode(m.mode | _TYPE[m.kind])} {m.size:>12} {when} {printable(m.name)}{link}")


_TYPE = {"file": stat.S_IFREG, "dir": stat.S_IFDIR, "symlink": stat.S_IFLNK, "hardlink": stat.S_IFREG}


@click.command("recommend", epilog=EXIT_CODES_HELP)
@click.argument("path", type=click.Path(exists=True))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def recommend_cmd(path: str, as_json: bool) -> None:
    """Recommend a profile for PATH (a file or folder) and estimate the time on this machine.

    Only names, sizes and the first bytes of files are read, locally; nothing is stored.

    \b
    Examples:
      stc recommend movie.mkv
      stc recommend ~/taxes --json
    """
    from .recommend import recommend

    with reported_errors():
        report = recommend(path)
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    what = f"folder, {report['files']} files" if report["folder"] else "file"
    click.echo(f"{path}: {what}, {report['bytes'] / (1 << 20):.1f} MiB ({', '.join(report['kinds'])})")
    click.echo(f"profile: {report['profile']} — {report['reason']}")
    s = report["settings"]
    click.echo(f"settings: {s['kdf']}, chunks of {s['chunk_size'] >> 10} KiB, decoys {'on' if s['decoys'] else 'off'},"
               f" {s['suite']}")
    t = report["expected_seconds"]
    click.echo(f"expected here: {t['total']:.2f} s (key derivation {t['kdf']:.2f} s, data {t['data']:.2f} s; "
               f"{t['note']})")
    click.echo(f"run: {report['command']}")
