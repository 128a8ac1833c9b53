"""Helpers every ``stc`` command shares: errors and exit codes, passphrases, progress, options."""

from __future__ import annotations

import contextlib
import getpass
import os
import re
import sys
from collections.abc import Iterator
from typing import NoReturn

import click

from .. import DEFAULT_SEED
from ..errors import DecryptionError, STCError
from ..filestream import Progress
from ..recipients import Identity, load_identities, loose_permissions

PRESETS = {"fast": (64, 4), "balanced": (128, 6), "paranoid": (256, 8)}
EXIT_DECRYPT, EXIT_USAGE = 1, 2


def die(message: str, code: int) -> NoReturn:
    click.echo(f"stc: error: {message}", err=True)
    sys.exit(code)


@contextlib.contextmanager
def reported_errors() -> Iterator[None]:
    """Map library and OS errors to one line on stderr and the documented exit code."""
    try:
        yield
    except DecryptionError as exc:
        die(str(exc), EXIT_DECRYPT)
    except STCError as exc:
        die(str(exc), EXIT_USAGE)
    except OSError as exc:
        die(f"{exc.strerror}: {exc.filename}" if exc.filename else str(exc), EXIT_USAGE)
    except KeyboardInterrupt:
        die("interrupted", 130)


def parse_size(text: str) -> int:
    match = re.fullmatch(r"\s*(\d+)\s*([kmg]?)(i?b)?\s*", text, re.IGNORECASE)
    if not match:
        raise click.BadParameter(f"{text!r} is not a size like 1048576, 512K or 4M")
    return int(match.group(1)) * {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[match.group(2).lower()]


def parse_context(pairs: tuple[str, ...]) -> "dict[str, str] | None":
    if not pairs:
        return None
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--context")
        out[key] = value
    return out


def read_passphrase(passphrase_file: "str | None", confirm: bool) -> str:
    """From --passphrase-file (first line), else a no-echo prompt on the terminal."""
    if passphrase_file is not None:
        with open(passphrase_file, encoding="utf-8") as f:
            line = f.readline().rstrip("\r\n")
        if not line:
            die(f"the passphrase file {passphrase_file} is empty", EXIT_USAGE)
        return line
    try:  # the terminal, not stdin: stdin may be the data (``tar c dir | stc encrypt -``)
        os.close(os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY))
    except OSError:
        die("no terminal to ask for the passphrase; use --passphrase-file", EXIT_USAGE)
    first = getpass.getpass("Passphrase: ")  # reads and writes /dev/tty, without echo
    if not first:
        die("empty passphrase", EXIT_USAGE)
    if confirm and getpass.getpass("Confirm passphrase: ") != first:
        die("the passphrases do not match", EXIT_USAGE)
    return first


@contextlib.contextmanager
def progress_bar(enabled: bool, total: "int | None", label: str) -> Iterator["Progress | None"]:
    """A progress callback drawing a tqdm bar on stderr when stderr is a terminal; else None."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from tqdm import tqdm

    with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=label, file=sys.stderr,
              leave=False, dynamic_ncols=True) as bar:
        yield lambda done, _total: bar.update(done - bar.n)


def check_output(path: str, force: bool) -> None:
    if path != "-" and os.path.exists(path) and not force:
        die(f"{path} exists; use --force to overwrite it", EXIT_USAGE)


seed_option = click.option(
    "--seed", envvar="STC_SEED", default=DEFAULT_SEED, show_default="public default, or $STC_SEED",
    help="Application secret mixed into every key; decrypting needs the same seed. Prefer $STC_SEED "
         "to keep it out of the process list.",
)
context_option = click.option("--context", "context", multiple=True, metavar="KEY=VALUE",
                               help="Context data bound to the file (repeatable); decrypt needs the same.")
passfile_option = click.option("--passphrase-file", type=click.Path(dir_okay=False),
                                help="Read the passphrase from the first line of this file instead of prompting.")
force_option = click.option("--force", "-f", is_flag=True, help="Overwrite an existing output file.")
quiet_option = click.option("--quiet", "-q", is_flag=True, help="No progress bar.")




def recipients_from(values: tuple[str, ...], files: tuple[str, ...]) -> list[str]:
    """Recipients from ``-r`` values and ``-R`` files (one a line, ``#`` comments and blank lines skipped)."""
    out = list(values)
    for path in files:
        with open(path, encoding="utf-8") as f:
            out += [line.strip() for line in f if line.strip() and not line.lstrip().startswith("#")]
    return out


def identities_from(files: tuple[str, ...]) -> list[Identity]:
    """Identities from ``-i`` files; warns when a file is readable by others."""
    out: list[Identity] = []
    for path in files:
        if path != "-" and loose_permissions(path):
            click.echo(f"stc: warning: {path} is readable by other users; run chmod 600 {path}", err=True)
        out += load_identities(path if path != "-" else "/dev/stdin")
    return out
