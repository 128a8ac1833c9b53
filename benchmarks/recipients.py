"""Recipients and re-keying, side by side: ``python benchmarks/recipients.py [--size-mib N] [--json FILE]``.

- Re-keying a file next to what it replaces, a full decrypt and re-encrypt of the same file,
  on /dev/shm, all opening with the same X25519 identity (so no password KDF in any figure):
  in place (the header keeps its size: journal, overwrite, fsyncs) and by copy (the header
  grew: new header + kernel copy of the body + fsync + rename).
- Wrapping and unwrapping one file key per recipient kind (median microseconds).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import stc
from stc.keys import envelope
from stc.keys.recipients import X25519Identity, XWingIdentity

ROOT = Path(__file__).resolve().parents[1]


def _median_ms(fn: Any, repeat: int) -> tuple[float, list[float]]:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - start) * 1e3)
    return statistics.median(runs), runs


def rekey_vs_reencrypt(size_mib: int, repeat: int, workdir: str) -> dict[str, Any]:
    ctx = stc.STCContext("bench-seed")
    alice, bob = stc.generate_identity(), stc.generate_identity()
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        plain, enc, bare = Path(tmp) / "plain", Path(tmp) / "file.stc", Path(tmp) / "nodecoys.stc"
        with open(plain, "wb") as f:
            block = os.urandom(1 << 20)
            for _ in range(size_mib):
                f.write(block)
        ctx.encrypt_stream(plain, enc, recipients=[alice.recipient])
        ctx.encrypt_stream(plain, bare, recipients=[alice.recipient], use_decoys=False)
        plain.unlink()

        def toggler(path: Path, decoys: bool) -> Any:
            added = [False]

            def rekey() -> None:  # alternately add and remove bob: each run rewrites the header once
                change = {"remove" if added[0] else "add": [bob.recipient]}
                ctx.rekey(path, identities=[alice], use_decoys=decoys, **change)
                added[0] = not added[0]

            return rekey

        def reencrypt() -> None:
            out, again = Path(tmp) / "out", Path(tmp) / "again.stc"
            ctx.decrypt_stream(enc, output_path=out, identities=[alice])
            ctx.encrypt_stream(out, again, recipients=[alice.recipient, bob.recipient])
            out.unlink()
            again.unlink()

        rows = {}
        for name, fn in (("rekey_in_place", toggler(enc, True)), ("rekey_by_copy", toggler(bare, False)),
                         ("decrypt_and_reencrypt", reencrypt)):
            rows[name] = _median_ms(fn, repeat)
        header_ms = _median_ms(lambda: envelope.rekey(  # the header work alone, without any file I/O
            *_opened(ctx, enc, alice), add=[stc.generate_identity().recipient]), repeat * 4)
    base = rows["decrypt_and_reencrypt"][0]
    return {"size_mib": size_mib, "header_only_ms": header_ms[0], "reencrypt_ms": base,
            "rekey_in_place_ms": rows["rekey_in_place"][0], "rekey_by_copy_ms": rows["rekey_by_copy"][0],
            "speedup_in_place": base / rows["rekey_in_place"][0], "speedup_by_copy": base / rows["rekey_by_copy"][0],
            "runs": {k: v[1] for k, v in rows.items()}}


def _opened(ctx: stc.STCContext, path: Path, identity: Any) -> tuple[Any, bytes]:
    with open(path, "rb") as f:
        header = stc.HeaderV2.parse_prefix(f.read(1 << 16))[0]
    return header, ctx._file_key(header, None, [identity])[0]


def wrap_unwrap(repeat: int) -> dict[str, dict[str, float]]:
    out = {}
    label, file_key = os.urandom(32), os.urandom(32)
    for name, identity in (("x25519", X25519Identity.generate()), ("mlkem768x25519", XWingIdentity.generate())):
        stanza = identity.recipient.wrap(file_key, label)
        wrap = _median_ms(lambda r=identity.recipient: r.wrap(file_key, label), repeat)[0] * 1e3
        unwrap = _median_ms(lambda i=identity, s=stanza: i.unwrap(s, label), repeat)[0] * 1e3
        out[name] = {"wrap_us": wrap, "unwrap_us": unwrap, "stanza_bytes": 1 + len(stanza.body)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--dir", default="/dev/shm" if os.path.isdir("/dev/shm") else None)
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "recipients.json"))
    args = parser.parse_args()
    kinds = wrap_unwrap(200)
    print(f"{'recipient kind':<16}{'wrap us':>10}{'unwrap us':>11}{'slot bytes':>12}")
    for name, row in kinds.items():
        print(f"{name:<16}{row['wrap_us']:>10.0f}{row['unwrap_us']:>11.0f}{row['stanza_bytes']:>12}")
    files = rekey_vs_reencrypt(args.size_mib, args.repeat, args.dir)
    print(f"\n{files['size_mib']} MiB file on {args.dir} (medians of {args.repeat})")
    print(f"{'operation':<34}{'ms':>10}{'x faster':>10}")
    print(f"{'decrypt + re-encrypt':<34}{files['reencrypt_ms']:>10.1f}{1.0:>10.1f}")
    print(f"{'re-key, header in place (journal)':<34}{files['rekey_in_place_ms']:>10.1f}"
          f"{files['speedup_in_place']:>10.0f}")
    print(f"{'re-key, new file (header grew)':<34}{files['rekey_by_copy_ms']:>10.1f}{files['speedup_by_copy']:>10.1f}")
    print(f"{'header work alone (no file I/O)':<34}{files['header_only_ms']:>10.2f}")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps({"recipients": kinds, "rekey": files}, indent=2) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
