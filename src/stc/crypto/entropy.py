"""Entropy health: NIST SP 800-90B continuous health tests plus key wear.

``os.urandom`` is the only randomness source; these tests cannot prove it is
good, but they catch a stuck or badly biased source (SP 800-90B section 4.4),
and the wear figure tells how much of the current epoch's budget is used.
"""

from __future__ import annotations

import itertools
import math
import os
from collections import Counter
from typing import Any

SAMPLE_BYTES = 4096
#: Claimed min-entropy per byte of os.urandom output (full entropy).
CLAIMED_H = 8.0
#: SP 800-90B 4.4.1: C = 1 + ceil(-log2(alpha) / H), alpha = 2**-20.
RCT_CUTOFF = 1 + math.ceil(20 / CLAIMED_H)
#: SP 800-90B 4.4.2: window 512 for non-binary samples; cutoff 13 for H = 8.
APT_WINDOW = 512
APT_CUTOFF = 13


def health_tests(sample: bytes) -> dict[str, Any]:
    """Run the repetition-count and adaptive-proportion tests on ``sample``."""
    longest, run = 1, 1
    for prev, cur in itertools.pairwise(sample):
        run = run + 1 if cur == prev else 1
        longest = max(longest, run)
    apt_max = 0
    for start in range(0, len(sample) - APT_WINDOW + 1, APT_WINDOW):
        window = sample[start : start + APT_WINDOW]
        apt_max = max(apt_max, window.count(window[0]))
    counts = Counter(sample)
    n = len(sample)
    p_hat = max(counts.values()) / n
    p_upper = min(1.0, p_hat + 2.576 * math.sqrt(p_hat * (1 - p_hat) / (n - 1)))
    return {
        "sample_bytes": n,
        "repetition_count_max": longest,
        "repetition_count_cutoff": RCT_CUTOFF,
        "adaptive_proportion_max": apt_max,
        "adaptive_proportion_cutoff": APT_CUTOFF,
        "min_entropy_estimate_bits_per_byte": -math.log2(p_upper),
        "health_tests_passed": longest < RCT_CUTOFF and apt_max < APT_CUTOFF,
    }


def entropy_health(wear: float, operations: int, bytes_processed: int, epoch: int) -> dict[str, Any]:
    """The report of STCContext.get_entropy_health(); see docs/design.md for the score."""
    report = health_tests(os.urandom(SAMPLE_BYTES))
    score = (1.0 - 0.5 * wear) if report["health_tests_passed"] else 0.0
    report.update(
        {
            "quality_score": round(score, 6),
            "epoch": epoch,
            "epoch_operations": operations,
            "epoch_bytes": bytes_processed,
            "epoch_wear": wear,
            "recommendation": "ok" if score >= 0.7 else "call ctx.cel.update() to start a new epoch",
        }
    )
    return report
