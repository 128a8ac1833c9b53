"""What the command line shows and reads on a terminal or pipe: the progress bar and its
summary, sizes in binary units, names escaped as ``ls -b`` does, and a look at the start of
standard input that gives the bytes back."""

from __future__ import annotations

import contextlib
import io
import os
import sys
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from ..files.stream import Progress


class Peekable(io.RawIOBase):
    """A raw stream that gives back bytes already read for a look at the start of the input."""

    def __init__(self, raw: Any) -> None:
        self._raw, self._head = raw, b""

    def peek(self, n: int) -> bytes:
        """The first ``n`` bytes (fewer only at end of input), without consuming them."""
        while len(self._head) < n:
            more = self._raw.read(n - len(self._head))
            if not more:
                break
            self._head += more
        return self._head[:n]

    def readable(self) -> bool:
        return True

    def readinto(self, view: Any) -> int:
        if self._head:
            n = min(len(view), len(self._head))
            view[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        n = self._raw.readinto(view)
        return int(n or 0)


def same_terminal_as_stderr() -> bool:
    """True when stdout is the terminal stderr also draws on (no bar over the plaintext then)."""
    try:
        return sys.stdout.isatty() and os.path.samestat(os.fstat(1), os.fstat(2))
    except OSError:
        return False


@contextlib.contextmanager
def progress_bar(enabled: bool, total: int | None, label: str) -> Iterator[Progress | None]:
    """A tqdm bar on stderr when stderr is a terminal, then a one-line summary; else None."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from tqdm import tqdm

    started, done = time.perf_counter(), [0]
    with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=label, file=sys.stderr,
              leave=False, dynamic_ncols=True) as bar:

        def update(count: int, _total: int | None) -> None:
            bar.update(count - bar.n)
            done[0] = count

        yield update
    elapsed = max(time.perf_counter() - started, 1e-9)
    rate = f" ({human_size(done[0] / elapsed)}/s)" if done[0] >= 1 << 20 else ""
    click.echo(f"stc: {label}: {human_size(done[0])} in {elapsed:.2f} s{rate}", err=True)


def human_size(count: float) -> str:
    """``512 bytes``, ``1.5 KiB``, ``64.0 MiB``, ``1.00 GiB``: binary units, as the progress bar shows."""
    if count < 1024:
        return f"{count:.0f} bytes"
    for unit, scale in (("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("TiB", 1 << 40)):
        if count < scale * 1024 or unit == "TiB":
            return f"{count / scale:.2f} {unit}" if unit in ("GiB", "TiB") else f"{count / scale:.1f} {unit}"
    raise AssertionError("unreachable")


_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\x1b": "\\e"}


def printable(text: str) -> str:
    """``text`` safe for a terminal, as ``ls -b`` shows names: control, format and other
    non-printable characters (ESC, CR, BEL, bidirectional overrides...) escaped with a backslash."""
    if text.isprintable() and "\\" not in text:
        return text
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif char.isprintable():
            out.append(char)
        else:
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
    return "".join(out)
