"""``stc stream-demo --sframe``: real VP8 video (PyAV) through SFrame over loopback UDP, as a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


def stc(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "stc", *args], capture_output=True, text=True, timeout=120,
                          check=False)


@pytest.mark.parametrize("suite", ["", "1", "AES_256_CTR_HMAC_SHA512_32"])
def test_every_encoded_frame_arrives_decodes_and_replays_are_refused(suite: str) -> None:
    pytest.importorskip("av", reason="the video extra (PyAV) is not installed")
    r = stc("stream-demo", "--frames", "45", "--fps", "90", "--json", *(["--sframe", suite] if suite else ["--sframe"]))
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["frames_encoded"] >= 45
    assert report["frames_decoded"] == 45  # every encoded frame came back as a picture
    assert report["replays_refused"] == report["receiver_stats"]["replays"] >= 1
    assert report["receiver_stats"]["unprotected"] == report["frames_encoded"]
    assert report["receiver_stats"]["forged"] == report["receiver_stats"]["malformed"] == 0
    tag = {"": 16, "1": 10, "AES_256_CTR_HMAC_SHA512_32": 4}[suite]
    # header: config byte + 8-byte random session KID + CTR (0 to 1 bytes here) + the tag
    assert 1 + 8 + tag <= report["sframe_overhead_bytes_per_frame"] <= 1 + 8 + 1 + tag


def test_unknown_suite_is_a_usage_error() -> None:
    r = stc("stream-demo", "--sframe", "AES_512", "--frames", "2")
    assert r.returncode == 2 and "unknown SFrame cipher suite" in r.stderr
