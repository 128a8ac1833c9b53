"""The ``stc`` command line: a thin layer over the public API (no crypto here).

Exit codes: 0 success; 1 the input could not be decrypted or authenticated
(wrong passphrase or identity, wrong context, tampering, truncation, not STC data);
2 usage or I/O error; 130 interrupted; 141 output pipe closed; 129/143 hung up or
terminated.  Nothing partial is left at the output path on failure.
"""

from __future__ import annotations

import importlib
import os
import sys

import click

from .. import __version__
from ._common import (
    EXIT_CODES_HELP,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    Terminated,
    die,
    install_signal_handlers,
    quiet_pipe_exit,
)

#: Each command: (module, function, one-line help). A command's module (and with it cryptography)
#: is imported only when that command runs, so `stc --help` stays fast.
COMMANDS = {
    "encrypt": ("crypt", "encrypt", "Encrypt a file or stdin to recipients and/or a passphrase."),
    "decrypt": ("crypt", "decrypt", "Decrypt a file or stdin; nothing is released before it authenticated."),
    "inspect": ("crypt", "inspect", "Show a header: slot kinds, sizes, what the length implies."),
    "keygen": ("keys", "keygen", "Generate a secret key (identity) and print its public key."),
    "rekey": ("keys", "rekey", "Add or remove recipients, or change the passphrase, header only."),
    "encrypt-folder": ("folders", "encrypt_folder_cmd", "Encrypt a folder as one file (a tar stream inside)."),
    "decrypt-folder": ("folders", "decrypt_folder_cmd", "Extract an encrypted folder safely."),
    "list": ("folders", "list_cmd", "List the members of an encrypted folder."),
    "recommend": ("folders", "recommend_cmd", "Recommend a profile for a file or folder, with timings."),
    "demo": ("tools", "demo", "Run the main job: a message, a file, a folder and a live P2P stream."),
    "stream-demo": ("tools", "stream_demo_cmd", "Sender and receiver over loopback UDP: fps, latency."),
    "bench": ("tools", "bench", "Benchmark messages, files and frames against the bare AEAD and peers."),
}


class _LazyGroup(click.Group):
    """A group that imports a command's module only when the command is run (or asked for help)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> "click.Command | None":
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module = importlib.import_module(f".{entry[0]}", __name__)
        command: click.Command = getattr(module, entry[1])
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, entry[2]) for name, entry in COMMANDS.items()])


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]}, epilog=EXIT_CODES_HELP)
@click.version_option(__version__, prog_name="stc")
def main() -> None:
    """STC: authenticated encryption for messages, files of any size, folders and live P2P frames.

    Built only from vetted primitives (AES-256-GCM or ChaCha20-Poly1305, Argon2id,
    HKDF-SHA256, X25519, ML-KEM-768) through pyca/cryptography.
    """


def run() -> None:
    """The console entry point: one error line and a documented exit code, never a traceback
    (unless STC_DEBUG=1); a closed output pipe ends quietly."""
    install_signal_handlers()
    try:  # not main.main(): it turns a closed output pipe into exit 1
        with main.make_context("stc", sys.argv[1:]) as ctx:
            code = main.invoke(ctx)
    except click.exceptions.Exit as exc:  # --help, --version
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        die("interrupted", EXIT_INTERRUPTED)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        die("interrupted", EXIT_INTERRUPTED)
    except Terminated as exc:
        die("terminated", 128 + exc.signum)
    except BrokenPipeError:
        quiet_pipe_exit()
    except Exception as exc:
        if os.environ.get("STC_DEBUG") == "1":
            raise
        die(f"unexpected {type(exc).__name__}; please report it (run with STC_DEBUG=1 for details)", EXIT_USAGE)
    sys.exit(code if isinstance(code, int) else 0)


__all__ = ["main", "run"]
