"""The ``stc`` command line: a thin layer over the public API (no crypto here).

Exit codes: 0 success; 1 the input could not be decrypted or authenticated
(wrong passphrase or identity, wrong context, tampering, truncation, not STC data);
2 usage or I/O error; 130 interrupted; 141 output pipe closed; 129/143 hung up or
terminated.  Nothing partial is left at the output path on failure.

This module stays light: ``stc --help`` and ``--version`` are answered from the table
below without importing click or cryptography; :mod:`.app` holds the click group.
"""

from __future__ import annotations

import sys
from typing import Any

from .. import __version__
from .table import COMMANDS, EXIT_CODES_HELP, MAIN_HELP


def _fast_help(argv: list[str]) -> bool:
    """Answer ``stc --help``/``-h``/``--version`` from the command table (what click would print),
    without importing click or anything else: every command pays for start-up."""
    if argv == ["--version"]:
        sys.stdout.write(f"stc, version {__version__}\n")
        return True
    if argv not in (["--help"], ["-h"]):
        return False
    width = max(len(name) for name in COMMANDS) + 2
    lines = ["Usage: stc [OPTIONS] COMMAND [ARGS]...", "", f"  {MAIN_HELP}", "", "Options:",
             "  --version   Show the version and exit.", "  -h, --help  Show this message and exit.", "",
             "Commands:", *(f"  {name:<{width}}{entry[2]}" for name, entry in COMMANDS.items()), "",
             *_wrap(EXIT_CODES_HELP)]
    sys.stdout.write("\n".join(lines) + "\n")
    return True


def _wrap(text: str, width: int = 78) -> list[str]:
    out, line = [], " "
    for word in text.split():
        if len(line) + len(word) + 1 > width:
            out.append(line)
            line = " "
        line += " " + word
    return [*out, line]


def run() -> None:
    """The console entry point (``stc``)."""
    try:
        if _fast_help(sys.argv[1:]):
            sys.stdout.flush()
            return
    except BrokenPipeError:
        sys.exit(141)
    from .app import run_click

    run_click()


def __getattr__(name: str) -> Any:
    if name == "main":  # the click group, for tests and embedding
        from .app import main

        return main
    raise AttributeError(f"module 'stc.cli' has no attribute {name!r}")


__all__ = ["main", "run"]
