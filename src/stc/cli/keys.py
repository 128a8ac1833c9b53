"""``stc keygen`` and ``stc rekey``: public-key identities, and re-keying a file's header."""

from __future__ import annotations

import contextlib
import datetime
import os
import shutil
import stat
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from typing import Any

import click

from ..age import is_age
from ..context import STCContext
from ..files.outputs import atomic_output
from ..files.rekey import locked
from ..formats import armor
from ..formats.v2 import CORE_SIZE, HeaderV2
from ..keys.recipients import generate_identity
from ._common import (
    EXIT_USAGE,
    PRESETS,
    check_input,
    die,
    identities_from,
    identity_passfile_option,
    limits_option,
    one_preset,
    passfile_option,
    read_passphrase,
    reader_limits,
    recipients_from,
    reported_errors,
    seed_option,
)
from .inputs import HEAD
from .remote import is_url


@click.command()
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Write the identity here (created 0600; never overwritten) and its public key to stderr.")
@click.option("--pq", is_flag=True, help="A post-quantum hybrid key (ML-KEM-768 + X25519, X-Wing).")
@click.option("-y", "convert", type=click.Path(dir_okay=False, allow_dash=True),
              help="Print the public key of every identity in this file, one a line, in the identity's own form "
                   "(an age identity gives age1…), and exit.")
@click.option("--format", "form", type=click.Choice(["stc", "age"]), default=None,
              help="Write the key in this form: STC's (stc-x25519-…) or age's (age1…, AGE-SECRET-KEY-1…); the "
                   "same key either way. With -y: print the recipients in this form.")
@click.option("--protect", is_flag=True,
              help="Encrypt the identity under a passphrase (asked twice, or --identity-passphrase-file): an "
                   "armored STC message that -i opens after asking the passphrase.")
@identity_passfile_option
def keygen(output: str | None, pq: bool, convert: str | None, form: str | None, protect: bool,
           identity_passphrase_file: str | None) -> None:
    """Generate a secret key (identity) and print its public key (recipient).

    \b
    Examples:
      stc keygen -o key.txt                 # X25519; prints "Public key: stc-x25519-…"
      stc keygen --pq -o pq-key.txt         # post-quantum hybrid
      stc keygen -y key.txt                 # the recipient of an existing identity file
      stc keygen --format age -o key.txt    # an age identity (age -d -i key.txt opens files to it)
      stc keygen -y age-key.txt --format stc  # an age key's recipient in STC's form
      stc keygen --protect -o alice.key.stc  # the identity encrypted under a passphrase
    """
    if convert is not None and (pq or protect):
        die("--pq and --protect make a new key; -y only prints the public keys of an existing identity file",
            EXIT_USAGE)
    with reported_errors():
        if convert is not None:
            for identity in identities_from((convert,), identity_passphrase_file):
                click.echo(_in_form(identity.recipient, form).to_string())
            return
        identity = _in_form(generate_identity("mlkem768x25519" if pq else "x25519"), form)
        public = identity.recipient.to_string()
        created = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()
        text = f"# created: {created}\n# public key: {public}\n{identity.to_string()}\n"
        if protect:
            from ..identities import protect as protect_text

            if identity_passphrase_file is None:
                click.echo("Passphrase to protect the new identity:", err=True)
            secret = read_passphrase(identity_passphrase_file, True, stdin_is_data=False)
            text = protect_text(text, secret).decode("ascii")
        if output is None:
            click.echo(text, nl=False)
            return
        try:
            fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            die(f"{output} exists; stc keygen never overwrites a key", EXIT_USAGE)
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(text)
        click.echo(f"Public key: {public}", err=True)
        if protect:
            click.echo(f"stc: {output} is protected by that passphrase; -i {output} asks for it", err=True)


def _in_form(key: Any, form: str | None) -> Any:
    """``key`` written in STC's or age's form (None: as it is)."""
    from ..keys.recipients import as_age, as_stc

    return key if form is None else as_age(key) if form == "age" else as_stc(key)


@click.command()
@click.argument("file", type=click.Path())
@click.option("-i", "--identity", "identity_files", multiple=True, type=click.Path(dir_okay=False),
              help="Open the file with the secret keys in this identity file (repeatable).")
@click.option("--add-recipient", "add", multiple=True, metavar="RECIPIENT",
              help="Let this public key open the file too (repeatable).")
@click.option("--remove-recipient", "remove", multiple=True, metavar="RECIPIENT",
              help="Stop this public key from opening new copies of the file (repeatable).")
@click.option("-R", "--recipients-file", "recipients_files", multiple=True,
              type=click.Path(dir_okay=False, allow_dash=True),
              help="Add every recipient in this file (one a line, # comments).")
@click.option("--change-passphrase", is_flag=True, help="Replace every passphrase of the file by a new one.")
@click.option("--new-passphrase-file", type=click.Path(dir_okay=False),
              help="Read the new passphrase from this file instead of asking twice.")
@click.option("--fast", is_flag=True, help="Argon2id 16 MiB, 2 passes for the new passphrase.")
@click.option("--balanced", is_flag=True, help="Argon2id 64 MiB, 3 passes for the new passphrase (the default).")
@click.option("--paranoid", is_flag=True, help="Argon2id 256 MiB, 4 passes for the new passphrase.")
@seed_option
@limits_option
@passfile_option
@identity_passfile_option
def rekey(file: str, identity_files: tuple[str, ...], add: tuple[str, ...], remove: tuple[str, ...],
          recipients_files: tuple[str, ...], change_passphrase: bool, new_passphrase_file: str | None,
          fast: bool, balanced: bool, paranoid: bool, seed: str, passphrase_file: str | None,
          identity_passphrase_file: str | None) -> None:
    """Change who can open FILE by rewriting only its header (the data is not re-encrypted).

    FILE is rewritten in place when the new header has the old one's length (a journal beside
    it lets a crash be finished by the next stc command), and otherwise written anew beside it
    and renamed over it; an armored FILE stays armored.  Removing a recipient cannot take back
    copies it already has, nor the file key if it kept it.

    \b
    Examples:
      stc rekey backup.stc -i key.txt --add-recipient stc-x25519-…
      stc rekey backup.stc --passphrase-file old.txt --change-passphrase --new-passphrase-file new.txt
    """
    if is_url(file):
        die(f"{file}: stc rekey rewrites a local file's header in place, which a URL does not allow", EXIT_USAGE,
            "copy it here, re-key the copy and upload it again (only the header changes; the data is not "
            "re-encrypted)")
    check_input(file)
    added = recipients_from(add, recipients_files)
    if not added and not remove and not change_passphrase:
        die("nothing to change: give --add-recipient, --remove-recipient or --change-passphrase", EXIT_USAGE)
    if new_passphrase_file and not change_passphrase:
        die("--new-passphrase-file goes with --change-passphrase", EXIT_USAGE)
    with reported_errors():
        identities = identities_from(identity_files, identity_passphrase_file)
        password = None if identities and passphrase_file is None else \
            read_passphrase(passphrase_file, False, stdin_is_data=False)
        new_password = None
        if change_passphrase:
            if new_passphrase_file is None:
                click.echo("New passphrase for the file:", err=True)
            new_password = read_passphrase(new_passphrase_file, True, stdin_is_data=False)
        with open(file, "rb") as f:
            head = f.read(HEAD)
        if is_age(head):
            _rekey_age(file, identities, password, added, remove, new_password)
            return
        lattice, depth = PRESETS[one_preset(fast, balanced, paranoid)]
        ctx = STCContext(seed, lattice_size=lattice, depth=depth, **reader_limits())
        with _binary_form(file, head) as binary:
            with open(binary, "rb") as f:
                had_passphrase = HeaderV2.has_passphrase_prefix(f.read(CORE_SIZE + 1))
            header = ctx.rekey(binary, password=password, identities=identities, add=added, remove=remove,
                               new_password=new_password)
        if change_passphrase and not had_passphrase:
            click.echo(f"stc: note: {file} had no passphrase; it now opens with the new passphrase as well as "
                       f"with its recipients", err=True)
        kinds = header.describe()["slots_by_kind"]
        click.echo(f"stc: re-keyed {file}: " + ", ".join(f"{n} {kind}" for kind, n in kinds.items()) + " slots",
                   err=True)
        sys.stderr.flush()


def _rekey_age(file: str, identities: list[Any], password: str | bytes | None, added: list[str],
               remove: tuple[str, ...], new_password: str | bytes | None) -> None:
    """``stc rekey`` of an age file: its header rewritten under the same file key, the payload kept."""
    from .. import age
    from ..keys.recipients import parse_recipient

    dropped = []
    for text in remove:
        recipient = parse_recipient(text)
        owners = [i for i in identities if i.recipient == recipient]
        if not owners:
            die(f"an age stanza does not say whom it is for: to remove {text}, also give its identity with -i",
                EXIT_USAGE)
        dropped.append(owners[0])
    header = age.rekey(file, identities=identities, passphrase=None if identities else password, add=added,
                       remove=dropped, new_passphrase=new_password)
    kinds = Counter(stanza.args[0] for stanza in header.stanzas)
    click.echo(f"stc: re-keyed {file} (age): " + ", ".join(f"{n} {kind}" for kind, n in kinds.items())
               + " stanzas; the payload was not touched", err=True)


@contextlib.contextmanager
def _binary_form(file: str, head: bytes) -> Iterator[str]:
    """The path of FILE's binary form to re-key: FILE itself, or for an armored FILE a private
    de-armored copy beside it (ciphertext only), armored again over FILE once re-keyed, all
    under FILE's re-key lock."""
    if not armor.is_armored(head):
        yield file
        return
    with locked(file):
        fd, binary = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(file)),
                                      prefix=f".{os.path.basename(file)}.", suffix=".stc-rekey")
        try:
            with os.fdopen(fd, "wb") as out, open(file, "rb") as src:
                shutil.copyfileobj(armor.ArmorReader(src), out, 1 << 20)
            yield binary
            # armored again into a private file that gets FILE's mode before it is renamed over FILE
            with atomic_output(file, mode=stat.S_IMODE(os.stat(file).st_mode), sync=True) as out, \
                    open(binary, "rb") as src:
                writer = armor.ArmorWriter(out)
                shutil.copyfileobj(src, writer, 1 << 20)
                writer.close()
        finally:
            os.unlink(binary)
