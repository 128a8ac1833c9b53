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
    """In a child: 5 KB round trips/s through StreamingContext and through bare AES-GCM."""
    import struct

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from stc import StreamingContext

    seed = b"\x07" * 32
    tx, rx = StreamingContext(seed), StreamingContext(seed)
    frame = os.urandom(5000)

    def ours() -> None:
        h, e = tx.encrypt_chunk(frame)
        rx.decrypt_chunk(h, e)

    aead, aad, counter = AESGCM(os.urandom(32)), os.urandom(16), iter(range(1 << 40))
    pack = struct.Struct(">QI").pack

    def bare() -> None:
        nonce = pack(next(counter), 0)
        aead.decrypt(nonce, aead.encrypt(nonce, frame, aad), aad)

    return {"stc_us": _median_us(ours, number), "bare_us": _median_us(bare, number)}


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

    def forged(version: int, epoch: int, sender: "bytes | None") -> None:
        try:
            rx.decrypt_chunk(ChunkHeader(0, sender or os.urandom(8), epoch, 0, version), body)
        except IntegrityError:
            pass

    out["forged_v2_new_sender_epoch_65535_us"] = _median_us(lambda: forged(2, 0xFFFF, None), number)
    out["forged_v2_known_sender_epoch_65535_us"] = _median_us(lambda: forged(2, 0xFFFF, known), number)
    out["forged_v2_new_sender_epoch_0_us"] = _median_us(lambda: forged(2, 0, None), number)
    out["forged_v1_new_sender_max_jump_us"] = _median_us(lambda: forged(1, p2p.V1_MAX_EPOCH_JUMP, None), number)
    late = StreamingContext(seed, key_rotation_mb=0.001)
    for _ in range(10_000):
        late.encrypt_chunk(b"r" * 1100)  # one epoch per frame
    first = [late.encrypt_chunk(frame) for _ in range(21)]
    assert first[0][0].epoch >= 10_000
    receivers = [StreamingContext(seed) for _ in range(21)]
    times = []
    for receiver, packet in zip(receivers, first):
        start = time.perf_counter()
        receiver.decrypt_chunk(*packet)
        times.append((time.perf_counter() - start) * 1e6)
    out["late_joiner_epoch_10000_first_frame_us"] = statistics.median(times)
    return out


def child_old_forgery(number: int) -> dict[str, float]:
    """In a child running the baseline: what one forged packet at the old jump limit cost."""
    from stc import ChunkHeader, IntegrityError, StreamingContext

    rx = StreamingContext(b"\x07" * 32)
    body = os.urandom(5016)

    def forged() -> None:
        try:
            rx.decrypt_chunk(ChunkHeader(0, os.urandom(8), 1024, 0), body)
        except IntegrityError:
            pass

    return {"forged_epoch_1024_us": _median_us(forged, max(5, number // 100))}


def _child(src: Path, func: str, number: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(src)}
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
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.baseline, "src"], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "x", "-C", tmp], input=archive, check=True)
        before_src, after_src = Path(tmp) / "src", ROOT / "src"
        rows: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
        for _ in range(args.rounds):
            rows["before"].append(_child(before_src, "child_frames", args.number))
            rows["after"].append(_child(after_src, "child_frames", args.number))
        forgery = _child(after_src, "child_forgery", max(200, args.number // 20))
        old_forgery = _child(before_src, "child_old_forgery", args.number)

    def med(side: str, key: str) -> float:
        return statistics.median(r[key] for r in rows[side])

    b_stc, a_stc = med("before", "stc_us"), med("after", "stc_us")
    b_bare, a_bare = med("before", "bare_us"), med("after", "bare_us")
    print("5 KB frame round trip (median of child medians)")
    print(f"{'code':<10}{'stc us':>10}{'bare us':>10}{'bare/stc':>10}{'trips/s':>12}")
    for side, s_us, bare_us in (("before", b_stc, b_bare), ("after", a_stc, a_bare)):
        print(f"{side:<10}{s_us:>10.2f}{bare_us:>10.2f}{bare_us / s_us:>10.2f}{1e6 / s_us:>12,.0f}")
    print(f"after/before time: {a_stc / b_stc:.3f} (normalised by each run's bare loop: "
          f"{(a_stc / a_bare) / (b_stc / b_bare):.3f})\n")
    honest = forgery["honest_5kb_decrypt_us"]
    print(f"{'receiver work per packet':<46}{'us':>10}{'x honest':>10}")
    for key, value in {**forgery, "before: forged_epoch_1024_us": old_forgery["forged_epoch_1024_us"]}.items():
        print(f"{key:<46}{value:>10.1f}{value / honest:>10.1f}")
    result = {"baseline": args.baseline, "frames_5kb": rows, "forgery": forgery, "before_forgery": old_forgery,
              "summary": {"before_stc_us": b_stc, "after_stc_us": a_stc, "before_bare_us": b_bare,
                          "after_bare_us": a_bare, "after_over_before": a_stc / b_stc}}
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
