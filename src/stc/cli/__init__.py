"""The ``stc`` command line: a thin layer over the public API (no crypto here).

Exit codes: 0 success; 1 the input could not be decrypted or authenticated
(wrong passphrase or identity, wrong context, tampering, truncation, not STC data);
2 usage or I/O error; 130 interrupted; 141 output pipe closed; 129/143 hung up or
terminated.  Nothing partial is left at the output path on failure.
"""

from __future__ import annotations

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
from .crypt import decrypt, encrypt, inspect
from .folders import decrypt_folder_cmd, encrypt_folder_cmd, list_cmd, recommend_cmd
from .keys import keygen, rekey
from .tools import bench, demo, stream_demo_cmd


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, epilog=EXIT_CODES_HELP)
@click.version_option(__version__, prog_name="stc")
def main() -> None:
    """STC: authenticated encryption for messages, files of any size and live P2P frames.

    Built only from vetted primitives (AES-256-GCM or ChaCha20-Poly1305, Argon2id,
    HKDF-SHA256, X25519, ML-KEM-768) through pyca/cryptography.  Exit codes: 0 ok,
    1 decryption or authentication failure, 2 usage or I/O error.
    """


for command in (encrypt, decrypt, inspect, keygen, rekey, encrypt_folder_cmd, decrypt_folder_cmd, list_cmd,
                recommend_cmd, demo, stream_demo_cmd, bench):
    main.add_command(command)


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
