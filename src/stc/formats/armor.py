"""ASCII armor for encrypted files and messages (docs/format.md §10): PEM-like, strict, streaming.

::

    -----BEGIN STC ENCRYPTED FILE-----
    <standard base64 of the binary form, 64 characters a line, the last line 1..64>
    -----END STC ENCRYPTED FILE-----

Writing uses LF line ends.  Reading tolerates CRLF line ends and up to 1,024 bytes of white
space (space, tab, CR, LF) before the BEGIN marker, up to 1,024 spaces or tabs after it on
its line, and up to 1,024 bytes of white space after the END marker, and nothing else: a
line longer than 64 characters, a short line before the last, padding before the end, a
character outside the alphabet, an indented END marker or anything but white space after it
is a ``FormatError``.  Both directions work in constant memory.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from ..errors import FormatError

BEGIN = b"-----BEGIN STC ENCRYPTED FILE-----"
END = b"-----END STC ENCRYPTED FILE-----"
LINE = 64
_RAW_LINE = LINE // 4 * 3  # 48 bytes a full line
_LINE_RE = re.compile(rb"[A-Za-z0-9+/]*={0,2}")
MAX_SPACE = 1 << 10  # white space tolerated before the BEGIN marker, after it on its line, after the END marker
DETECT = MAX_SPACE + len(BEGIN)  # the prefix is_armored needs to see
_SPACE = b" \t\r\n"
_MARKER_END = re.compile(rb"[ \t]{0,1024}\r?\n")


def is_armored(prefix: bytes) -> bool:
    """True if ``prefix`` (the first ``DETECT`` bytes of an input, or all of a shorter one)
    starts an armored file: at most MAX_SPACE bytes of white space, then the BEGIN marker."""
    stripped = prefix.lstrip(_SPACE)
    return len(prefix) - len(stripped) <= MAX_SPACE and stripped.startswith(BEGIN)


def markers(label: bytes) -> tuple[bytes, bytes]:
    """The BEGIN and END lines of a PEM label (age's is ``AGE ENCRYPTED FILE``)."""
    return b"-----BEGIN " + label + b"-----", b"-----END " + label + b"-----"


STC_LABEL = b"STC ENCRYPTED FILE"


class ArmorWriter:
    """Write-only binary stream that armors what is written to ``out``; call :meth:`close`."""

    def __init__(self, out: Any, label: bytes = STC_LABEL) -> None:
        self._out, self._pending = out, bytearray()
        self._begin_line, self._end_line = markers(label)
        out.write(self._begin_line + b"\n")

    def write(self, data: bytes | bytearray | memoryview) -> int:
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
        self._out.write(self._end_line + b"\n")

    def flush(self) -> None:
        flush = getattr(self._out, "flush", None)
        if flush is not None:
            flush()


class ArmorReader:
    """Read-only binary stream over an armored input; FormatError on anything not canonical."""

    def __init__(self, src: Any, label: bytes = STC_LABEL, *, space_after_markers: bool = True) -> None:
        self._src, self._buf, self._done, self._last_short = src, bytearray(), False, False
        self._begin_line, self._end_line = markers(label)
        self._marker_end = _MARKER_END if space_after_markers else re.compile(rb"\r?\n")
        self._begin()

    def _begin(self) -> None:
        skipped = 0
        while True:
            line = self._src.readline(len(self._begin_line) + MAX_SPACE + 2)
            if not line:
                raise FormatError("armor: no BEGIN line")
            stripped = line.lstrip(_SPACE)
            skipped += len(line) - len(stripped)
            if skipped > MAX_SPACE:
                raise FormatError("armor: more than 1,024 bytes of white space before the BEGIN line")
            if stripped:
                break
        if not stripped.startswith(self._begin_line):
            raise FormatError(f"armor: the first non-blank line is not {self._begin_line.decode()}")
        rest = stripped[len(self._begin_line):]
        if not rest.endswith(b"\n"):
            rest += self._src.readline(MAX_SPACE + 3 - len(rest))
        if not self._marker_end.fullmatch(rest):
            raise FormatError("armor: the BEGIN line must end after its marker (up to 1,024 spaces or tabs "
                              "may follow it)")

    def _fill(self) -> None:
        line = self._src.readline(LINE + 3)
        if not line:
            raise FormatError("armor: the input ends before the END line")
        if line.startswith(self._end_line):
            self._done = True
            self._trailer(line[len(self._end_line):])
            return
        if len(line) > LINE + 2 or (len(line) == LINE + 2 and not line.endswith(b"\r\n")):
            raise FormatError("armor: a line is longer than 64 characters")
        body = line[:-2] if line.endswith(b"\r\n") else line[:-1] if line.endswith(b"\n") else line
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

    def _trailer(self, rest: bytes) -> None:
        rest += self._src.read(MAX_SPACE + 1 - len(rest))
        if rest.strip(_SPACE):
            raise FormatError("armor: data after the END line")
        if len(rest) > MAX_SPACE:
            raise FormatError("armor: more than 1,024 bytes of white space after the END marker")

    def readinto(self, view: Any) -> int:
        view = memoryview(view).cast("B")
        while len(self._buf) < len(view) and not self._done:
            self._fill()
        n = min(len(view), len(self._buf))
        view[:n] = self._buf[:n]
        del self._buf[:n]
        return n

    def readline(self, limit: int = -1) -> bytes:
        """Up to and including the next LF of the decoded bytes (at most ``limit`` bytes)."""
        while not self._done and b"\n" not in self._buf and not 0 <= limit <= len(self._buf):
            self._fill()
        n = self._buf.find(b"\n") + 1 or len(self._buf)
        if 0 <= limit < n:
            n = limit
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            while not self._done:
                self._fill()
            out = bytes(self._buf)
            self._buf.clear()
            return out
        buf = bytearray(size)
        return bytes(buf[: self.readinto(buf)])
