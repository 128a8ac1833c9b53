"""P2P security costs, side by side: ``python benchmarks/p2p_security.py [--baseline REV] [--json FILE]``.

Rows (medians of alternating child-process runs, so both codes see the same machine):
- 5 KB frame round trips (encrypt_chunk + decrypt_chunk, header object passed) in the code
  at ``--baseline`` (default: the commit before issue 9) and in the working tree, with a bare
  AES-GCM loop (counter nonce, 16-byte AAD) in the same child as the yardstick;
- the receiver-side cost of one forged packet at the worst epoch, next to one honest 5 KB
  frame decrypted at a known epoch;
- a receiver that joins when the sender is at epoch 10,000: time to open its first frame.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BASELINE = "eece98e"  # the landed code the security review attacked


def _median_us(fn: Any, number: int, repeat: int = 7) -> float:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        runs.append((time.perf_counter() - start) / number * 1e6)
    return statistics.median(runs)


def child_frames(number: int) -> dict[str, float]:
    """In a child: 5 KB round trips through the baseline package (imported as ``stc_before``)
    and the working tree's, interleaved in one process, with a bare AES-GCM loop between."""
    import importlib
    import struct

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    seed, frame = b"\x07" * 32, os.urandom(5000)
    def round_trip(package: str) -> Any:
        cls = importlib.import_module(package).StreamingContext
        tx, rx = cls(seed), cls(seed)
        return lambda: rx.decrypt_chunk(*tx.encrypt_chunk(frame))

    loops = {name: round_trip(name) for name in ("stc_before", "stc")}
    aead, aad, counter = AESGCM(os.urandom(32)), os.urandom(16), iter(range(1 << 40))
    pack = struct.Struct(">QI").pack

    def bare() -> None:
        nonce = pack(next(counter), 0)
        aead.decrypt(nonce, aead.encrypt(nonce, frame, aad), aad)

    runs: dict[str, list[float]] = {"before_us": [], "after_us": [], "bare_us": []}
    for _ in range(7):
        runs["before_us"].append(_median_us(loops["stc_before"], number, repeat=1))
        runs["bare_us"].append(_median_us(bare, number, repeat=1))
        runs["after_us"].append(_median_us(loops["stc"], number, repeat=1))
    return {key: statistics.median(values) for key, values in runs.items()}


def child_forgery(number: int) -> dict[str, float]:
    """In a child (working tree only): forged-packet cost and late-joiner catch-up."""
    from stc import ChunkHeader, IntegrityError, StreamingContext, p2p

    seed = b"\x07" * 32
    tx, rx = StreamingContext(seed), StreamingContext(seed)
    frame = os.urandom(5000)
    honest = [tx.encrypt_chunk(frame) for _ in range(number * 7 + 1)]
    rx.decrypt_chunk(*honest[0])
    it = iter(honest[1:])
    out = {"honest_5kb_decrypt_us": _median_us(lambda: rx.decrypt_chunk(*next(it)), number)}
    known = honest[0][0].sender_id
    body = os.urandom(5000 + 16)

    def forged(version: int, epoch: int, sender: bytes | None) -> Any:
        # Headers are built beforehand, as the honest row's are: only the receiver's work is timed.
        headers = iter([ChunkHeader(0, sender or os.urandom(8), epoch, 0, version) for _ in range(number * 7)])

        def one() -> None:
            with contextlib.suppress(IntegrityError):
                rx.decrypt_chunk(next(headers), body)

        return one

    out["forged_v2_new_sender_epoch_65535_us"] = _median_us(forged(2, 0xFFFF, None), number)
    out["forged_v2_known_sender_epoch_65535_us"] = _median_us(forged(2, 0xFFFF, known), number)
    out["forged_v2_new_sender_epoch_0_us"] = _median_us(forged(2, 0, None), number)
    out["forged_v1_new_sender_max_jump_us"] = _median_us(forged(1, p2p.V1_MAX_EPOCH_JUMP, None), number)
    late = StreamingContext(seed, key_rotation_mb=0.001)
    for _ in range(10_000):
        late.encrypt_chunk(b"r" * 1100)  # one epoch per frame
    first = [late.encrypt_chunk(frame) for _ in range(21)]
    assert first[0][0].epoch >= 10_000
    receivers = [StreamingContext(seed) for _ in range(21)]
    times = []
    for receiver, packet in zip(receivers, first, strict=True):
        start = time.perf_counter()
        receiver.decrypt_chunk(*packet)
        times.append((time.perf_counter() - start) * 1e6)
    out["late_joiner_epoch_10000_first_frame_us"] = statistics.median(times)
    return out


def child_old_forgery(number: int) -> dict[str, float]:
    """In a child running the baseline: what one forged packet at the old jump limit cost."""
    from stc_before import ChunkHeader, IntegrityError, StreamingContext

    rx = StreamingContext(b"\x07" * 32)
    body = os.urandom(5016)

    def forged() -> None:
        with contextlib.suppress(IntegrityError):
            rx.decrypt_chunk(ChunkHeader(0, os.urandom(8), 1024, 0), body)

    return {"forged_epoch_1024_us": _median_us(forged, max(5, number // 100))}


def _child(paths: list[Path], func: str, number: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(p) for p in paths)}
    code = f"import json, sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import p2p_security as b; " \
           f"print(json.dumps(b.{func}({number})))"
    done = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", default=BASELINE, help="git revision for the 'before' column")
    parser.add_argument("--rounds", type=int, default=5, help="alternating child runs per side")
    parser.add_argument("--number", type=int, default=20000, help="round trips per timing")
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "p2p-security.json"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.baseline, "src/stc"], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "x", "-C", tmp], input=archive, check=True)
        both = Path(tmp) / "both"
        both.mkdir()
        (Path(tmp) / "src" / "stc").rename(both / "stc_before")
        after_src = ROOT / "src"
        rows = [_child([after_src, both], "child_frames", args.number) for _ in range(args.rounds)]
        forgery = _child([after_src], "child_forgery", max(200, args.number // 20))
        old_forgery = _child([both], "child_old_forgery", args.number)

    def med(key: str) -> float:
        return statistics.median(r[key] for r in rows)

    before, after, bare = med("before_us"), med("after_us"), med("bare_us")
    print("5 KB frame round trip: old and new code interleaved in each child (median of child medians)")
    print(f"{'code':<10}{'us':>10}{'bare/stc':>10}{'trips/s':>12}")
    for side, value in (("before", before), ("after", after), ("bare", bare)):
        print(f"{side:<10}{value:>10.2f}{bare / value:>10.2f}{1e6 / value:>12,.0f}")
    print(f"after/before time: {after / before:.3f}\n")
    honest = forgery["honest_5kb_decrypt_us"]
    print(f"{'receiver work per packet':<46}{'us':>10}{'x honest':>10}")
    for key, value in {**forgery, "before: forged_epoch_1024_us": old_forgery["forged_epoch_1024_us"]}.items():
        print(f"{key:<46}{value:>10.1f}{value / honest:>10.1f}")
    result = {"baseline": args.baseline, "frames_5kb": rows, "forgery": forgery, "before_forgery": old_forgery,
              "summary": {"before_us": before, "after_us": after, "bare_us": bare, "after_over_before": after / before}}
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
