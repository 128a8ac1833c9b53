"""Helpers every ``stc`` command shares: exit codes, error lines, signals, passphrases, checks
of inputs and outputs made before any prompt, and the options; what is shown on a terminal is
in :mod:`.terminal`."""

from __future__ import annotations

import contextlib
import errno
import getpass
import json
import os
import re
import signal
import stat
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, NoReturn

import click

from .. import DEFAULT_SEED
from ..errors import (
    ContextMismatchError,
    DecryptionError,
    IntegrityError,
    NoMatchingIdentityError,
    ParameterError,
    STCError,
    WrongPasswordError,
)
from .profiles import NAMES as PROFILE_NAMES
from .profiles import get as get_profile

if TYPE_CHECKING:
    from ..keys.recipients import Identity

PRESETS = {"fast": (64, 4), "balanced": (128, 6), "paranoid": (256, 8)}
EXIT_DECRYPT, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_PIPE = 1, 2, 130, 141
MIN_CHUNK, MAX_CHUNK = 1 << 10, 1 << 26

# Library words a command-line user never typed, and what to say instead.
_CLI_WORDS = (
    ("pass the same context_data", "give the same --context or --context-json as when encrypting"),
    ("pass context_data=None", "give no --context"),
    ("if the data was made with another seed, pass seed= or ctx=", "give the same --seed as when encrypting"),
    ("use decrypt_stream", "it is an encrypted file"),
    ("decrypt it as a message", "it is a one-value message"),
    ("give the password or an identity", "give a passphrase or -i IDENTITY_FILE"),
    ("give a password", "give a passphrase"),
    ("wrong password", "wrong passphrase"),
)


class Terminated(BaseException):
    """SIGTERM or SIGHUP: unwind like Ctrl-C, so temporary files are removed."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_terminated(signum: int, _frame: Any) -> None:
    raise Terminated(signum)


def install_signal_handlers() -> None:
    """SIGTERM and SIGHUP clean up like SIGINT."""
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _raise_terminated)


def cli_words(message: str) -> str:
    """A library message in the command line's words."""
    for library, cli in _CLI_WORDS:
        message = message.replace(library, cli)
    return message


def die(message: str, code: int, hint: str | None = None) -> NoReturn:
    """One ``stc: error:`` line (and a ``stc: hint:`` line), then exit with ``code``."""
    click.echo(f"stc: error: {cli_words(message)}", err=True)
    if hint:
        click.echo(f"stc: hint: {hint}", err=True)
    sys.exit(code)


def _hint(exc: BaseException) -> str | None:
    if isinstance(exc, NoMatchingIdentityError):
        return "pass the identity file that matches one of the file's recipients with -i"
    if isinstance(exc, WrongPasswordError):
        return "check the passphrase, and --seed (or $STC_SEED) if one was used to encrypt"
    if isinstance(exc, ContextMismatchError) or (isinstance(exc, IntegrityError) and "context data" in str(exc)):
        return "decrypting needs exactly the --context / --context-json given when encrypting"
    return None


def quiet_pipe_exit() -> NoReturn:
    """The reader of stdout went away: exit 141 (128 + SIGPIPE) without a word."""
    with contextlib.suppress(OSError):  # stdout is gone: do not let Python complain at exit
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    sys.exit(EXIT_PIPE)


@contextlib.contextmanager
def reported_errors() -> Iterator[None]:
    """Map errors to one line on stderr and the documented exit code (tracebacks only with STC_DEBUG=1)."""
    try:
        yield
    except DecryptionError as exc:
        die(str(exc), EXIT_DECRYPT, _hint(exc))
    except STCError as exc:
        die(str(exc), EXIT_USAGE, _hint(exc))
    except BrokenPipeError:
        quiet_pipe_exit()
    except OSError as exc:
        if exc.errno == errno.EPIPE:
            quiet_pipe_exit()
        die(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc.strerror or exc), EXIT_USAGE)
    except KeyboardInterrupt:
        die("interrupted; nothing was left at the output", EXIT_INTERRUPTED)
    except Terminated as exc:
        die("terminated; nothing was left at the output", 128 + exc.signum)


def parse_size(text: str) -> int:
    """``--chunk-size``: bytes, or a number with K, M or G (powers of two), 1K to 64M."""
    match = re.fullmatch(r"\s*(\d+)\s*([kmg]?)(i?b)?\s*", text, re.IGNORECASE)
    if not match:
        die(f"--chunk-size takes a size like 1048576, 512K or 4M, not {text!r}", EXIT_USAGE)
    size = int(match.group(1)) * {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[match.group(2).lower()]
    if not MIN_CHUNK <= size <= MAX_CHUNK:
        die(f"--chunk-size must be between 1K and 64M, not {text}", EXIT_USAGE)
    return size


def parse_context(pairs: tuple[str, ...], as_json: str | None) -> Any:
    """``--context K=V`` (repeatable, strings) or ``--context-json`` (typed, the API's encoding)."""
    if pairs and as_json is not None:
        die("give --context or --context-json, not both", EXIT_USAGE)
    if as_json is not None:
        try:
            value = json.loads(as_json)
        except json.JSONDecodeError as exc:
            die(f"--context-json is not valid JSON: {exc.msg} at character {exc.pos}", EXIT_USAGE)
        if not isinstance(value, dict):
            die(f"--context-json takes a JSON object such as '{{\"tenant\": 7}}', not a {type(value).__name__}",
                EXIT_USAGE)
        return value
    if not pairs:
        return None
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            die(f"--context takes KEY=VALUE, not {pair!r}", EXIT_USAGE)
        out[key] = value
    return out


def one_preset(fast: bool, balanced: bool, paranoid: bool) -> str:
    """The cost preset chosen (at most one of the flags)."""
    chosen = [name for name, on in (("fast", fast), ("balanced", balanced), ("paranoid", paranoid)) if on]
    if len(chosen) > 1:
        die(f"choose one of --fast, --balanced, --paranoid (got {', '.join('--' + c for c in chosen)})", EXIT_USAGE)
    return chosen[0] if chosen else "balanced"


def check_input(path: str, folder_hint: str = "an encrypted folder is one file: give that file") -> None:
    """INPUT exists, is a regular file (or a pipe or device) and can be read."""
    if path == "-":
        return
    try:
        st = os.stat(path)
    except FileNotFoundError:
        die(f"{path}: no such file", EXIT_USAGE)
    except OSError as exc:
        die(f"{path}: {exc.strerror}", EXIT_USAGE)
    if stat.S_ISDIR(st.st_mode):
        die(f"{path} is a directory", EXIT_USAGE, folder_hint)
    if not os.access(path, os.R_OK):
        die(f"{path}: permission denied", EXIT_USAGE)


def check_output(path: str, force: bool, input_path: str | None = None) -> None:
    """OUTPUT does not exist (or --force), its directory exists and is writable, and it is not INPUT."""
    if path == "-":
        return
    from ..files.outputs import stream_node

    try:
        if stream_node(path):
            return  # /dev/null, a named pipe: written into, as every Unix tool does
    except ParameterError as exc:
        die(str(exc), EXIT_USAGE)
    if os.path.lexists(path):
        if not force:
            die(f"{path} exists; use --force to replace it", EXIT_USAGE)
        if os.path.isdir(path):
            die(f"{path} is a directory", EXIT_USAGE)
        if input_path not in (None, "-") and os.path.exists(path) and os.path.samefile(path, input_path):
            die(f"{path} is also the input; write to another file", EXIT_USAGE)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        die(f"cannot write {path}: {directory} is not a directory", EXIT_USAGE)
    if not os.access(directory, os.W_OK | os.X_OK):
        die(f"cannot write {path}: {directory} is not writable", EXIT_USAGE)


def read_passphrase(passphrase_file: str | None, confirm: bool, stdin_is_data: bool,
                    prompt: str = "Passphrase: ") -> str | bytes:
    """From --passphrase-file (first line; '-' = stdin), else a no-echo prompt on the terminal.

    A file that is not UTF-8 is used as raw bytes, as the API does with a bytes password.
    """
    if passphrase_file is not None:
        if passphrase_file == "-" and stdin_is_data:
            die("--passphrase-file - reads standard input, which here carries the data", EXIT_USAGE,
                "give INPUT as a file, or the passphrase in a file")
        try:
            if passphrase_file == "-":
                raw = sys.stdin.buffer.readline(1 << 16)
            else:
                with open(passphrase_file, "rb") as f:
                    raw = f.readline(1 << 16)
        except OSError as exc:
            die(f"{passphrase_file}: {exc.strerror}", EXIT_USAGE)
        line = raw.rstrip(b"\r\n")
        if not line:
            die(f"the passphrase file {passphrase_file} starts with an empty line", EXIT_USAGE)
        try:
            return line.decode("utf-8")
        except UnicodeDecodeError:
            return line  # used as raw bytes, as the API does
    try:  # the terminal, not stdin: stdin may be the data (``tar c dir | stc encrypt``)
        os.close(os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY))
    except OSError:
        die("no terminal to ask for the passphrase", EXIT_USAGE, "use --passphrase-file FILE, or -r/-i keys")
    try:
        first = getpass.getpass(prompt)  # reads and writes /dev/tty, without echo
        if not first:
            die("empty passphrase", EXIT_USAGE)
        if confirm and getpass.getpass("Confirm passphrase: ") != first:
            die("the passphrases do not match", EXIT_USAGE)
    except EOFError:
        die("no passphrase given (end of input at the prompt)", EXIT_USAGE)
    return first


def recipients_from(values: tuple[str, ...], files: tuple[str, ...], stdin_is_data: bool = False) -> list[str]:
    """Recipients from ``-r`` values and ``-R`` files (one a line, ``#`` comments and blank lines
    skipped; ``-R -`` reads standard input, as age does, unless it carries the data)."""
    out = list(values)
    for path in files:
        if path == "-" and stdin_is_data:
            die("-R - reads standard input, which here carries the data", EXIT_USAGE,
                "give INPUT as a file, or the recipients in a file")
        try:
            with open(0 if path == "-" else path, encoding="utf-8", closefd=path != "-") as f:
                out += [line.strip() for line in f if line.strip() and not line.lstrip().startswith("#")]
        except UnicodeDecodeError:
            raise ParameterError(f"{path} is not UTF-8 text; not a recipients file") from None
    return out


IDENTITY_PASSPHRASE_ENV = "STC_IDENTITY_PASSPHRASE"


def identities_from(files: tuple[str, ...], passphrase_file: str | None = None,
                    stdin_is_data: bool = False) -> list[Identity]:
    """Identities from ``-i`` files, plain or protected by a passphrase (asked once a file, unless
    --identity-passphrase-file or $STC_IDENTITY_PASSPHRASE gives it); warns when a file is
    readable by others."""
    from ..identities import load_identities
    from ..keys.recipients import loose_permissions, parse_identity

    out: list[Identity] = []
    for path in files:
        if path.startswith("awskms:"):  # a KMS key names itself; there is no file to read
            out.append(parse_identity(path))
            continue
        if path != "-" and loose_permissions(path):
            click.echo(f"stc: warning: {path} is readable by other users; run chmod 600 {path}", err=True)

        def ask(path: str = path) -> str | bytes:
            if passphrase_file is None and os.environ.get(IDENTITY_PASSPHRASE_ENV):
                return os.environ[IDENTITY_PASSPHRASE_ENV]
            return read_passphrase(passphrase_file, False, stdin_is_data or path == "-",
                                   prompt=f"Passphrase for identity file {path}: ")

        out += load_identities(path if path != "-" else "/dev/stdin", ask)
    return out


def _nonempty_seed(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if value == "":
        raise click.BadParameter("an empty seed is refused (an unset variable?); leave --seed out for the default")
    return value


seed_option = click.option(
    "--seed", envvar="STC_SEED", default=DEFAULT_SEED, show_default="public default, or $STC_SEED",
    callback=_nonempty_seed,
    help="Application secret mixed into passphrase keys; decrypting needs the same seed. Prefer $STC_SEED "
         "to keep it out of the process list.",
)
def _keep_limit(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    if value is not None and param.name is not None:
        ctx.meta[f"stc.{param.name}"] = value
    return value


def limits_option(command: Any) -> Any:
    """``--max-kdf``, ``--min-version`` and ``--v1-max-slots``: what a header may make a reader do."""
    for option in (
        click.option("--max-kdf", metavar="MIB:PASSES", expose_value=False, callback=_keep_limit,
                     help="Run Argon2id up to this cost for a header (default 256:4, the --paranoid preset; "
                          "a header asking more is refused before any work)."),
        click.option("--min-version", type=click.IntRange(1, 2), expose_value=False, callback=_keep_limit,
                     help="2: refuse version-1 data (it lacks key commitment and the 4-slot bound)."),
        click.option("--v1-max-slots", type=click.IntRange(1, 16), expose_value=False, callback=_keep_limit,
                     help="Key slots tried in a version-1 header (default 4; more only for your own legacy data "
                          "written with more passwords)."),
    ):
        command = option(command)
    return command


def reader_limits() -> dict[str, Any]:
    """The limits the current command was given, as ``STCContext`` keywords."""
    meta = click.get_current_context().meta
    names = {"max_kdf": "stc.max_kdf", "min_version": "stc.min_version", "v1_max_slots": "stc.v1_max_slots"}
    return {key: meta[name] for key, name in names.items() if name in meta}


context_option = click.option("--context", "context", multiple=True, metavar="KEY=VALUE",
                              help="Context data bound to the data (repeatable; string values); decrypt needs "
                                   "the same.")
context_json_option = click.option("--context-json", metavar="JSON",
                                   help="Typed context data as JSON (the API's encoding), e.g. '{\"n\": 1}'.")
passfile_option = click.option("--passphrase-file", metavar="FILE",
                               help="Read the passphrase from the first line of FILE ('-' = stdin, when the "
                                    "data is not on stdin) instead of prompting.")
identity_passfile_option = click.option(
    "--identity-passphrase-file", metavar="FILE",
    help="Read the passphrase of protected identity files (-i; stc keygen --protect, or age -p) from the first "
         "line of FILE instead of prompting; $STC_IDENTITY_PASSPHRASE also works. --passphrase-file stays the "
         "encrypted file's own passphrase.")
force_option = click.option("--force", "-f", is_flag=True, help="Replace an existing output file.")
quiet_option = click.option("--quiet", "-q", is_flag=True, help="No progress bar.")


profile_option = click.option("--profile", type=click.Choice(list(PROFILE_NAMES)),
                              help="A preset of Argon2id cost, chunk size, decoys and suite (see stc recommend); "
                                   "explicit flags override it.")


def settings(profile: str | None, preset: str | None, chunk_size: str | None, no_decoys: bool,
             suite: str | None) -> dict[str, Any]:
    """Context and stream settings: the profile's, then the explicit flags over them."""
    base = get_profile(profile or "document")
    lattice, depth = PRESETS[preset] if preset else (base.lattice_size, base.depth)
    return {"lattice_size": lattice, "depth": depth, "suite": suite or base.suite,
            "chunk_size": parse_size(chunk_size) if chunk_size else base.chunk_size,
            "use_decoys": False if no_decoys else base.use_decoys}
