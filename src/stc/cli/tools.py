"""``stc demo``, ``stc stream-demo`` and ``stc bench``."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import click

from ._common import (
    EXIT_USAGE,
    die,
)
from .terminal import progress_bar


@click.command()
@click.option("--frames", default=60, show_default=True, help="Frames in the P2P part.")
def demo(frames: int) -> None:
    """Run the main job: a message with context data, a file, and a live P2P stream."""
    from .demo import file_demo, folder_demo, message_demo, stream_demo

    click.echo("STC demo: everything runs locally in a temporary folder.\n")
    m = message_demo()
    click.echo("1. Message bound to context data {'user': 'alice', 'purpose': 'backup'}")
    click.echo(f"   decrypted correctly: {m['plaintext_ok']}; metadata {m['metadata_bytes']} bytes, "
               f"ciphertext {m['ciphertext_bytes']} bytes")
    click.echo(f"   first encrypt {m['first_encrypt_ms']:.1f} ms (Argon2id), reused context "
               f"{m['reused_encrypt_ms'] * 1000:.0f} us")
    for line in m["refused"]:
        click.echo(f"   refused, as it should be: {line}")
    import asyncio

    with tempfile.TemporaryDirectory(prefix="stc-demo-") as tmp:
        with progress_bar(True, 8 << 20, "encrypted") as progress:
            f = file_demo(Path(tmp), progress=progress)
        d = folder_demo(Path(tmp))
    click.echo("\n2. File of 8 MiB, streamed in 1 MiB chunks")
    click.echo(f"   round trip identical: {f['roundtrip_ok']}; encrypt {f['encrypt_mb_s']:.0f} MB/s "
               f"(incl. Argon2id), decrypt {f['decrypt_mb_s']:.0f} MB/s")
    click.echo(f"   random access to 16 bytes in the middle: {f['middle_range_ok']}")
    click.echo(f"   a copy with one flipped bit: refused ({f['tampered_copy']}); "
               f"partial output left: {f['tampered_output_left']}")
    click.echo(f"\n3. Folder of {d['entries']} entries (nested, unicode, empty ones, a symlink) in one file")
    click.echo(f"   extracted identically: {d['roundtrip_ok']}; an archive member escaping the folder: refused "
               f"({d['escape_refused']}); nothing left: {d['escape_left_nothing']}")
    s = asyncio.run(stream_demo(frames=frames))
    click.echo(f"\n4. P2P session over loopback UDP: Noise IK between two new identities "
               f"({s['handshake_ms']:.1f} ms), {frames} frames of 5 KB at 30 fps,")
    click.echo("   with simulated duplication and reordering and an attacker replaying frames")
    click.echo(f"   peers authenticated: {s['peer_authenticated']}; received {s['frames_received']}/{s['frames_sent']} "
               f"frames at {s['fps']:.1f} fps; latency p50 {s['latency_ms_p50']:.2f} ms, "
               f"p95 {s['latency_ms_p95']:.2f} ms, p99 {s['latency_ms_p99']:.2f} ms (delayed frames included)")
    click.echo(f"   refused: {s['frames_rejected'] or 'none'}; overhead {s['overhead_bytes_per_frame']} bytes a frame "
               "(frame header, tag, kind, datagram header)")
    ok = m["plaintext_ok"] and f["roundtrip_ok"] and not f["tampered_output_left"] and \
        d["roundtrip_ok"] and d["escape_left_nothing"] and s["frames_received"] >= 0.9 * s["frames_sent"] \
        and s["peer_authenticated"]
    click.echo("\nAll checks passed." if ok else "\nSOME CHECKS FAILED.")
    sys.exit(0 if ok else 1)


@click.command("stream-demo")
@click.option("--frames", default=90, show_default=True, help="Frames to send.")
@click.option("--fps", default=30.0, show_default=True, help="Frames a second.")
@click.option("--size", default=5000, show_default=True, help="Frame size in bytes (at most 65,000).")
@click.option("--chaos/--no-chaos", default=True, show_default=True,
              help="Simulate duplication, reordering and replays.")
@click.option("--sframe", "sframe_suite", is_flag=False, flag_value="AES_128_GCM_SHA256_128", default=None,
              metavar="[SUITE]", help="Send real VP8 video through RFC 9605 SFrame instead (needs PyAV: "
              "pip install 'stc-authenc[video]'); SUITE defaults to AES_128_GCM_SHA256_128.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def stream_demo_cmd(frames: int, fps: float, size: int, chaos: bool, sframe_suite: str | None,
                    as_json: bool) -> None:
    """Run a sender and a receiver over loopback UDP and report fps, latency and rejections."""
    import asyncio

    from .demo import stream_demo

    if not 8 <= size <= 65000 or frames < 1 or not 0 < fps <= 10000:
        die("--size must be 8..65000, --frames >= 1, --fps in (0, 10000]", EXIT_USAGE)
    if sframe_suite is not None:
        import importlib.util

        from ..errors import ParameterError
        from ..p2p.sframe import get_suite

        try:
            suite = get_suite(int(sframe_suite) if sframe_suite.isdigit() else sframe_suite).name
        except ParameterError as exc:
            die(str(exc), EXIT_USAGE)
        if importlib.util.find_spec("av") is None:
            die("--sframe encodes video with PyAV: pip install 'stc-authenc[video]'", EXIT_USAGE)
        from .sframe_demo import sframe_demo

        report = asyncio.run(sframe_demo(frames=frames, fps=fps, suite=suite))
    else:
        report = asyncio.run(stream_demo(frames=frames, fps=fps, frame_size=size, chaos=chaos))
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    for key, value in report.items():
        click.echo(f"{key.replace('_', ' '):>24}: {value:.3f}" if isinstance(value, float)
                   else f"{key.replace('_', ' '):>24}: {value}")


@click.command()
@click.option("--quick", is_flag=True, help="Small sizes and few repetitions (about a minute).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Also write the results here.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False),
              help="Write a bar chart (PNG; needs matplotlib: pip install '.[plot]' from the clone).")
@click.option("--dir", "workdir", type=click.Path(file_okay=False), default=None,
              help="Where benchmark files go (default /dev/shm when present, so disk is not measured).")
def bench(quick: bool, json_path: str | None, plot_path: str | None, workdir: str | None) -> None:
    """Benchmark messages, files and frames against the bare AEAD and installed peers."""
    from .bench import plot, run_all

    if plot_path:
        import importlib.util

        if importlib.util.find_spec("matplotlib") is None:  # say so before minutes of benchmarking
            die("--plot needs matplotlib: pip install '.[plot]' from the clone", EXIT_USAGE)
    results = run_all(quick=quick, workdir=workdir, echo=click.echo)
    if json_path:
        Path(json_path).write_text(json.dumps(results, indent=2) + "\n")
        click.echo(f"wrote {json_path}")
    if plot_path:
        try:
            plot(results, plot_path)
        except ImportError:
            die("--plot needs matplotlib: pip install '.[plot]' from the clone", EXIT_USAGE)
        click.echo(f"wrote {plot_path}")
