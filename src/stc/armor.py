"""ASCII armor for encrypted files and messages (docs/format.md §10): PEM-like, strict, streaming.

::

    -----BEGIN STC ENCRYPTED FILE-----
    <standard base64 of the binary form, 64 characters a line, the last line 1..64>
    -----END STC ENCRYPTED FILE-----

Writing uses LF line ends.  Reading tolerates CRLF and white space before the BEGIN line
and after the END line, and nothing else: a line longer than 64 characters, a short line
before the last, padding before the end, a character outside the alphabet or anything after
the END line is a ``FormatError``.  Both directions work in constant memory.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from .errors import FormatError

BEGIN = b"-----BEGIN STC ENCRYPTED FILE-----"
END = b"-----END STC ENCRYPTED FILE-----"
LINE = 64
_RAW_LINE = LINE // 4 * 3  # 48 bytes a full line
_LINE_RE = re.compile(rb"[A-Za-z0-9+/]*={0,2}")
_MAX_LEADING = 1 << 10  # white space tolerated before BEGIN


def is_armored(prefix: bytes) -> bool:
    """True if ``prefix`` (the first bytes of an input, at least 64 unless the input is shorter)
    starts an armored file."""
    return prefix.lstrip(b" \t\r\n").startswith(BEGIN)


class ArmorWriter:
    """Write-only binary stream that armors what is written to ``out``; call :meth:`close`."""

    def __init__(self, out: Any) -> None:
        self._out, self._pending = out, bytearray()
        out.write(BEGIN + b"\n")

    def write(self, data: "bytes | bytearray | memoryview") -> int:
        self._pending += data
        whole = len(self._pending) // _RAW_LINE * _RAW_LINE
        if whole:
            self._emit(bytes(self._pending[:whole]))
            del self._pending[:whole]
        return len(data)

    def _emit(self, raw: bytes) -> None:
        text = base64.b64encode(raw)
        self._out.write(b"".join(text[i : i + LINE] + b"\n" for i in range(0, len(text), LINE)))

    def close(self) -> None:
        """Write what is left and the END line (the stream under it stays open)."""
        if self._pending:
            self._emit(bytes(self._pending))
            self._pending.clear()
        self._out.write(END + b"\n")

    def flush(self) -> None:
        flush = getattr(self._out, "flush", None)
        if flush is not None:
            flush()


class ArmorReader:
    """Read-only binary stream over an armored input; FormatError on anything not canonical."""

    def __init__(self, src: Any) -> None:
        self._src, self._buf, self._done, self._last_short = src, bytearray(), False, False
        self._begin()

    def _line(self) -> bytes:
        line: bytes = self._src.readline(LINE + 3)
        if len(line) > LINE + 2 or (len(line) == LINE + 2 and not line.endswith(b"\r\n")):
            raise FormatError("armor: a line is longer than 64 characters")
        return line

    def _begin(self) -> None:
        skipped = 0
        while True:
            line = self._src.readline(len(BEGIN) + _MAX_LEADING)
            if not line:
                raise FormatError("armor: no BEGIN line")
            if line.strip(b" \t\r\n"):
                if line.rstrip(b"\r\n").strip(b" \t") != BEGIN:
                    raise FormatError("armor: the first line is not -----BEGIN STC ENCRYPTED FILE-----")
                return
            skipped += len(line)
            if skipped > _MAX_LEADING:
                raise FormatError("armor: too much white space before the BEGIN line")

    def _fill(self) -> None:
        line = self._line()
        if not line:
            raise FormatError("armor: the input ends before the END line")
        body = line[:-2] if line.endswith(b"\r\n") else line[:-1] if line.endswith(b"\n") else line
        if body == END:
            self._done = True
            self._trailer()
            return
        if self._last_short:
            raise FormatError("armor: a line shorter than 64 characters is not the last one")
        if not body or len(body) % 4 or not _LINE_RE.fullmatch(body):
            raise FormatError("armor: a line holds characters outside base64, or a partial group")
        if len(body) < LINE or body.endswith(b"="):
            self._last_short = True
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise FormatError("armor: invalid base64") from None
        if base64.b64encode(raw) != body:  # e.g. non-zero bits in the last group: not the canonical form
            raise FormatError("armor: base64 that is not in canonical form")
        self._buf += raw

    def _trailer(self) -> None:
        rest: bytes = self._src.read(_MAX_LEADING + 1)
        if rest.strip(b" \t\r\n") or len(rest) > _MAX_LEADING:
            raise FormatError("armor: data after the END line")

    def readinto(self, view: Any) -> int:
        view = memoryview(view).cast("B")
        while len(self._buf) < len(view) and not self._done:
            self._fill()
        n = min(len(view), len(self._buf))
        view[:n] = self._buf[:n]
        del self._buf[:n]
        return n

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            while not self._done:
                self._fill()
            out = bytes(self._buf)
            self._buf.clear()
            return out
        buf = bytearray(size)
        return bytes(buf[: self.readinto(buf)])
