"""age files on the command line: ``stc decrypt`` of an age file, ``stc encrypt --age``, ``stc inspect``.

Outputs follow STC's own rules: a path appears only after the final chunk authenticated; stdout
gets nothing before the whole file authenticated (a first pass over the ciphertext, spooled if
it is a pipe), unless ``--stream``.
"""

from __future__ import annotations

import contextlib
import sys
from typing import Any

from .. import age
from ..files.age import decrypt_payload
from ..files.outputs import atomic_output, stream_node
from ..keys.age import open_header
from ..keys.recipients import Identity
from ._common import EXIT_DECRYPT, die, read_passphrase
from .inputs import spool
from .terminal import progress_bar, same_terminal_as_stderr


class _Discard:
    def write(self, data: Any) -> int:
        return len(data)


def _file_key(stream: Any, identities: list[Identity], passphrase_file: str | None, stdin_is_data: bool,
              max_work_factor: int) -> tuple[bytes, Any]:
    """The file key (the header read and its MAC checked) and the binary stream at the payload."""
    binary = age.reader(stream)
    header = age.read_header(binary)
    scrypt = any(s.args[0] == "scrypt" for s in header.stanzas)
    passphrase = None
    if scrypt and not identities:
        passphrase = read_passphrase(passphrase_file, False, stdin_is_data)
    elif not scrypt and not identities:
        die("this age file is encrypted to keys; no passphrase can open it", EXIT_DECRYPT,
            "pass the matching identity file with -i (age-keygen and stc keygen files both work)")
    keys = age.as_identities(identities)
    secret = passphrase.encode("utf-8") if isinstance(passphrase, str) else passphrase
    return open_header(header, keys, secret, max_work_factor), binary


def decrypt(stream: Any, output: str, identities: list[Identity], passphrase_file: str | None, source: str,
            stream_out: bool, quiet: bool, max_work_factor: int, total: int | None) -> None:
    """``stc decrypt`` of an age file at ``stream`` (its start) to ``output``."""
    if output != "-" and not stream_node(output):
        file_key, binary = _file_key(stream, identities, passphrase_file, source == "-", max_work_factor)
        with atomic_output(output) as sink, progress_bar(not quiet, total, "decrypted") as progress:
            decrypt_payload(binary, sink, file_key, progress)
        return
    with contextlib.ExitStack() as stack:
        sink = sys.stdout.buffer if output == "-" else stack.enter_context(open(output, "wb", buffering=0))
        bar = not quiet and not (output == "-" and same_terminal_as_stderr())
        if stream_out:
            file_key, binary = _file_key(stream, identities, passphrase_file, source == "-", max_work_factor)
            with progress_bar(bar, total, "decrypted") as progress:
                decrypt_payload(binary, sink, file_key, progress)
        else:
            src = stream if stream.seekable() else spool(stream)
            start = src.tell()
            file_key, binary = _file_key(src, identities, passphrase_file, source == "-", max_work_factor)
            with progress_bar(bar, total, "authenticated") as progress:
                decrypt_payload(binary, _Discard(), file_key, progress)
            src.seek(start)
            binary = age.reader(src)
            age.read_header(binary)
            with progress_bar(bar, total, "decrypted") as progress:
                decrypt_payload(binary, sink, file_key, progress)
        sink.flush()


def inspect(stream: Any) -> dict[str, Any]:
    """What ``stc inspect`` shows of an age file."""
    return age.inspect(stream)
