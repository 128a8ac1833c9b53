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

MAIN_HELP = "STC: authenticated encryption for messages, files of any size, folders and live P2P frames."
EXIT_CODES_HELP = ("Exit codes: 0 success; 1 the input could not be decrypted or authenticated (wrong "
                   "passphrase or identity, wrong context, tampering, truncation, not STC data); 2 usage or "
                   "I/O error; 130 interrupted; 141 output pipe closed; 129/143 hung up/terminated.")

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
