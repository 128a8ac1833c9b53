"""``stc inspect``: what a header says (STC or age), without any key."""

from __future__ import annotations

import json
from typing import Any

import click

from ..age import is_age
from ..formats import armor
from ..formats.headers import parse_header
from ..formats.v2 import max_size
from . import age_files
from ._common import reported_errors
from .inputs import checked_input, open_input
from .remote import localize
from .table import EXIT_CODES_HELP


@click.command(epilog=EXIT_CODES_HELP)
@click.argument("file", required=False, type=click.Path(allow_dash=True))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def inspect(file: str | None, as_json: bool) -> None:
    """Show the header of an encrypted FILE (default: stdin): slot kinds (never which is real),
    what its length implies, no secrets.

    \b
    Examples:
      stc inspect backup.stc
      stc inspect backup.stc --json | jq .slots_by_kind
    """
    source = localize(file or "-")
    total = checked_input(source)
    with reported_errors():
        stream, head = open_input(source, age_ok=True)
        if is_age(head):
            _show(age_files.inspect(stream), as_json)
            return
        reader = armor.ArmorReader(stream) if armor.is_armored(head) else stream
        data = reader.read(max_size())
        meta, _ = parse_header(data)
        info = meta.describe()
        if meta.is_file and total is not None and not armor.is_armored(head):
            info.update(_length_report(total - meta.size, meta.chunk_size))
    _show(info, as_json)


def _show(info: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    if "stanzas" in info:  # an age file
        info["stanzas"] = ", ".join(f"{s['type']} ({s['body_bytes']}-byte body)" for s in info["stanzas"])
    kdf = info.pop("kdf", None)
    if kdf is not None:
        info["kdf"] = f"argon2id, {kdf['memory_kib'] // 1024} MiB, {kdf['passes']} passes, {kdf['lanes']} lanes"
    info.pop("slot_kinds", None)
    if "slots_by_kind" in info:
        info["slots_by_kind"] = ", ".join(f"{n} {kind}" for kind, n in info["slots_by_kind"].items())
    width = max(len(key) for key in info)
    for key, value in info.items():
        click.echo(f"{key.replace('_', ' '):>{width}}: {value}")


def _length_report(body: int, chunk: int) -> dict[str, Any]:
    """What the ciphertext length says about a file, without the key."""
    enc = chunk + 16
    full, rest = divmod(body, enc)
    report: dict[str, Any] = {"body_bytes": body, "whole_chunks": full, "final_piece_bytes": rest}
    if body == 0:
        report["length_check"] = "no chunk at all: the file is truncated (an empty file still has one chunk)"
    elif 0 < rest < 16:
        report["length_check"] = f"the final piece is {rest} bytes, shorter than a tag: the file is truncated"
    else:
        chunks = full + (1 if rest else 0)
        report["plaintext_bytes"] = body - 16 * chunks
        report["length_check"] = ("consistent with a complete file; completeness (and integrity) can only be "
                                  "proven with the key, since a file cut at a chunk boundary looks the same")
    return report



__all__ = ["inspect"]
