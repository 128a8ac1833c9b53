"""The click group behind ``stc`` (loaded only when a command runs, not for ``stc --help``)."""

from __future__ import annotations

import importlib
import os
import sys

import click

from .. import __version__
from ._common import EXIT_INTERRUPTED, EXIT_USAGE, Terminated, die, install_signal_handlers, quiet_pipe_exit
from .table import COMMANDS, EXIT_CODES_HELP, MAIN_HELP


class _LazyGroup(click.Group):
    """A group that imports a command's module only when the command is run (or asked for help)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module = importlib.import_module(f".{entry[0]}", __package__)
        command: click.Command = getattr(module, entry[1])
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, entry[2]) for name, entry in COMMANDS.items()])


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]}, epilog=EXIT_CODES_HELP,
             help=MAIN_HELP)
@click.version_option(__version__, prog_name="stc")
def main() -> None:
    """The ``stc`` command group (its help is MAIN_HELP, shared with the fast path)."""


def run_click() -> None:
    """Run a command: one error line and a documented exit code, never a traceback (unless
    STC_DEBUG=1); a closed output pipe ends quietly."""
    install_signal_handlers()
    try:  # not main.main(): it turns a closed output pipe into exit 1
        with main.make_context("stc", sys.argv[1:]) as ctx:
            code = main.invoke(ctx)
    except click.exceptions.Exit as exc:  # --help, --version
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        die("interrupted", EXIT_INTERRUPTED)
    except click.UsageError as exc:  # one error format for every refusal: ours, not click's
        where = exc.ctx.command_path if exc.ctx is not None else "stc"
        die(exc.format_message(), EXIT_USAGE, f"see '{where} --help'")
    except click.ClickException as exc:
        die(exc.format_message(), exc.exit_code)
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
