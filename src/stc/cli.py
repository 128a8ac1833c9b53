"""The ``stc`` command line: a thin layer over the public API (no crypto here).

Exit codes: 0 success; 1 the input could not be decrypted or authenticated
(wrong passphrase, wrong context, tampering, truncation, not STC data);
2 usage or I/O error.  Nothing partial is left at the output path on failure.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import click

from . import DEFAULT_SEED, __version__
from .context import STCContext, decrypting_context
from .errors import DecryptionError, STCError
from .filestream import Progress
from .metadata import MAX_SIZE, Metadata

PRESETS = {"fast": (64, 4), "balanced": (128, 6), "paranoid": (256, 8)}
EXIT_DECRYPT, EXIT_USAGE = 1, 2


def _die(message: str, code: int) -> NoReturn:
    click.echo(f"stc: error: {message}", err=True)
    sys.exit(code)


@contextlib.contextmanager
def _errors() -> Iterator[None]:
    """Map library and OS errors to one line on stderr and the documented exit code."""
    try:
        yield
    except DecryptionError as exc:
        _die(str(exc), EXIT_DECRYPT)
    except STCError as exc:
        _die(str(exc), EXIT_USAGE)
    except OSError as exc:
        _die(f"{exc.strerror}: {exc.filename}" if exc.filename else str(exc), EXIT_USAGE)
    except KeyboardInterrupt:
        _die("interrupted", 130)


def _parse_size(text: str) -> int:
    match = re.fullmatch(r"\s*(\d+)\s*([kmg]?)(i?b)?\s*", text, re.IGNORECASE)
    if not match:
        raise click.BadParameter(f"{text!r} is not a size like 1048576, 512K or 4M")
    return int(match.group(1)) * {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[match.group(2).lower()]


def _parse_context(pairs: tuple[str, ...]) -> "dict[str, str] | None":
    if not pairs:
        return None
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--context")
        out[key] = value
    return out


def _read_passphrase(passphrase_file: "str | None", confirm: bool) -> str:
    """From --passphrase-file (first line), else a no-echo prompt on the terminal."""
    if passphrase_file is not None:
        with open(passphrase_file, encoding="utf-8") as f:
            line = f.readline().rstrip("\r\n")
        if not line:
            _die(f"the passphrase file {passphrase_file} is empty", EXIT_USAGE)
        return line
    try:  # the terminal, not stdin: stdin may be the data (``tar c dir | stc encrypt -``)
        os.close(os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY))
    except OSError:
        _die("no terminal to ask for the passphrase; use --passphrase-file", EXIT_USAGE)
    first = getpass.getpass("Passphrase: ")  # reads and writes /dev/tty, without echo
    if not first:
        _die("empty passphrase", EXIT_USAGE)
    if confirm and getpass.getpass("Confirm passphrase: ") != first:
        _die("the passphrases do not match", EXIT_USAGE)
    return first


@contextlib.contextmanager
def _progress(enabled: bool, total: "int | None", label: str) -> Iterator["Progress | None"]:
    """A progress callback drawing a tqdm bar on stderr when stderr is a terminal; else None."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from tqdm import tqdm

    with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=label, file=sys.stderr,
              leave=False, dynamic_ncols=True) as bar:
        yield lambda done, _total: bar.update(done - bar.n)


def _check_output(path: str, force: bool) -> None:
    if path != "-" and os.path.exists(path) and not force:
        _die(f"{path} exists; use --force to overwrite it", EXIT_USAGE)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="stc")
def main() -> None:
    """STC: authenticated encryption for messages, files of any size and live P2P frames.

    Built only from vetted primitives (AES-256-GCM or ChaCha20-Poly1305, Argon2id,
    HKDF-SHA256) through pyca/cryptography.  Exit codes: 0 ok, 1 decryption or
    authentication failure, 2 usage or I/O error.
    """


_seed_option = click.option(
    "--seed", envvar="STC_SEED", default=DEFAULT_SEED, show_default="public default, or $STC_SEED",
    help="Application secret mixed into every key; decrypting needs the same seed. Prefer $STC_SEED "
         "to keep it out of the process list.",
)
_context_option = click.option("--context", "context", multiple=True, metavar="KEY=VALUE",
                               help="Context data bound to the file (repeatable); decrypt needs the same.")
_passfile_option = click.option("--passphrase-file", type=click.Path(dir_okay=False),
                                help="Read the passphrase from the first line of this file instead of prompting.")
_force_option = click.option("--force", "-f", is_flag=True, help="Overwrite an existing output file.")
_quiet_option = click.option("--quiet", "-q", is_flag=True, help="No progress bar.")


@main.command()
@click.argument("input", type=click.Path(allow_dash=True, dir_okay=False))
@click.option("-o", "--output", type=click.Path(allow_dash=True, dir_okay=False),
              help="Output file ('-' = stdout). Default: INPUT.stc, or stdout when INPUT is '-'.")
@click.option("--fast", "preset", flag_value="fast", help="Argon2id 16 MiB, 2 passes (lattice 64, depth 4).")
@click.option("--balanced", "preset", flag_value="balanced", default=True,
              help="Argon2id 64 MiB, 3 passes (lattice 128, depth 6; the default).")
@click.option("--paranoid", "preset", flag_value="paranoid", help="Argon2id 256 MiB, 4 passes (lattice 256, depth 8).")
@click.option("--chunk-size", default="1M", show_default=True, help="Chunk size: 1K to 64M (e.g. 512K, 4M).")
@click.option("--no-decoys", is_flag=True, help="Write one key slot instead of four.")
@click.option("--suite", type=click.Choice(["aes-256-gcm", "chacha20-poly1305"]), default="aes-256-gcm",
              show_default=True, help="Data cipher.")
@_context_option
@_seed_option
@_passfile_option
@_force_option
@_quiet_option
def encrypt(input: str, output: "str | None", preset: str, chunk_size: str, no_decoys: bool, suite: str,
            context: tuple[str, ...], seed: str, passphrase_file: "str | None", force: bool, quiet: bool) -> None:
    """Encrypt INPUT ('-' = stdin) with a passphrase."""
    out = output or ("-" if input == "-" else input + ".stc")
    if out == "-" and sys.stdout.isatty():
        _die("refusing to write binary ciphertext to a terminal; use -o FILE or redirect stdout", EXIT_USAGE)
    _check_output(out, force)
    size = _parse_size(chunk_size)
    context_data = _parse_context(context)
    with _errors():
        lattice, depth = PRESETS[preset]
        ctx = STCContext(seed, lattice_size=lattice, depth=depth, suite=suite)
        password = _read_passphrase(passphrase_file, confirm=True)
        src: Any = sys.stdin.buffer if input == "-" else input
        dst: Any = sys.stdout.buffer if out == "-" else out
        with _progress(not quiet, None if input == "-" else os.path.getsize(input), "encrypt") as progress:
            ctx.encrypt_stream(src, dst, password, chunk_size=size, progress_callback=progress,
                               context_data=context_data, use_decoys=not no_decoys)
        if out == "-":
            sys.stdout.buffer.flush()


@main.command()
@click.argument("input", type=click.Path(allow_dash=True, dir_okay=False))
@click.option("-o", "--output", type=click.Path(allow_dash=True, dir_okay=False),
              help="Output file ('-' = stdout). Default: INPUT without .stc, or stdout when INPUT is '-'.")
@click.option("--range", "byte_range", metavar="OFFSET:LENGTH",
              help="Decrypt only these plaintext bytes (random access; INPUT must be a file).")
@_context_option
@_seed_option
@_passfile_option
@_force_option
@_quiet_option
def decrypt(input: str, output: "str | None", byte_range: "str | None", context: tuple[str, ...], seed: str,
            passphrase_file: "str | None", force: bool, quiet: bool) -> None:
    """Decrypt INPUT ('-' = stdin). Output appears only after every chunk authenticated."""
    if output is None:
        if input == "-" or byte_range:
            output = "-"
        elif input.endswith(".stc"):
            output = input[: -len(".stc")]
        else:
            _die("cannot guess the output name (INPUT does not end in .stc); use -o", EXIT_USAGE)
    _check_output(output, force)
    context_data = _parse_context(context)
    with _errors():
        ctx = decrypting_context(seed)
        if byte_range:
            _decrypt_range(ctx, input, output, byte_range, context_data, passphrase_file)
            return
        password = _read_passphrase(passphrase_file, confirm=False)
        src: Any = sys.stdin.buffer if input == "-" else input
        with _progress(not quiet, None if input == "-" else os.path.getsize(input), "decrypt") as progress:
            if output == "-":
                _decrypt_to_stdout(ctx, src, password, context_data, progress)
            else:
                ctx.decrypt_stream(src, output_path=output, password=password, progress_callback=progress,
                                   context_data=context_data)


def _decrypt_to_stdout(ctx: STCContext, src: Any, password: str, context_data: Any,
                       progress: "Progress | None") -> None:
    """Spool to a private temporary file; copy to stdout only once everything authenticated."""
    with tempfile.TemporaryFile(prefix="stc-") as spool:
        ctx.decrypt_stream(src, output_path=spool, password=password, progress_callback=progress,
                           context_data=context_data)
        spool.seek(0)
        shutil.copyfileobj(spool, sys.stdout.buffer, 1 << 20)
        sys.stdout.buffer.flush()


def _decrypt_range(ctx: STCContext, input: str, output: str, spec: str, context_data: Any,
                   passphrase_file: "str | None") -> None:
    match = re.fullmatch(r"(\d+):(\d+)", spec)
    if not match:
        _die(f"--range takes OFFSET:LENGTH in bytes, not {spec!r}", EXIT_USAGE)
    if input == "-":
        _die("--range needs a seekable file, not stdin", EXIT_USAGE)
    password = _read_passphrase(passphrase_file, confirm=False)
    data = ctx.decrypt_range(input, int(match.group(1)), int(match.group(2)), password, context_data=context_data)
    if output == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        Path(output).write_bytes(data)


@main.command()
@click.argument("file", type=click.Path(allow_dash=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def inspect(file: str, as_json: bool) -> None:
    """Show the header of an encrypted FILE (no passphrase needed, no secrets shown)."""
    with _errors():
        if file == "-":
            data = sys.stdin.buffer.read(MAX_SIZE)
        else:
            with open(file, "rb") as f:
                data = f.read(MAX_SIZE)
        meta, _ = Metadata.parse_prefix(data)
        info = meta.describe()
        if meta.is_file and file != "-":
            body = os.path.getsize(file) - meta.size
            chunks = -(-body // (meta.chunk_size + 16)) if body > 0 else 0
            info.update({"file_bytes": body + meta.size, "chunks": chunks,
                         "plaintext_bytes": max(0, body - 16 * chunks)})
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    kdf = info.pop("kdf")
    info["kdf"] = f"argon2id, {kdf['memory_kib'] // 1024} MiB, {kdf['passes']} passes, {kdf['lanes']} lanes"
    for key, value in info.items():
        click.echo(f"{key.replace('_', ' '):>16}: {value}")


@main.command()
@click.option("--frames", default=60, show_default=True, help="Frames in the P2P part.")
def demo(frames: int) -> None:
    """Run the main job: a message with context data, a file, and a live P2P stream."""
    from .demo import file_demo, message_demo, stream_demo

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

    with tempfile.TemporaryDirectory(prefix="stc-demo-") as tmp, \
            _progress(True, 8 << 20, "encrypt 8 MiB") as progress:
        f = file_demo(Path(tmp), progress=progress)
    click.echo("\n2. File of 8 MiB, streamed in 1 MiB chunks")
    click.echo(f"   round trip identical: {f['roundtrip_ok']}; encrypt {f['encrypt_mb_s']:.0f} MB/s "
               f"(incl. Argon2id), decrypt {f['decrypt_mb_s']:.0f} MB/s")
    click.echo(f"   random access to 16 bytes in the middle: {f['middle_range_ok']}")
    click.echo(f"   a copy with one flipped bit: refused ({f['tampered_copy']}); "
               f"partial output left: {f['tampered_output_left']}")
    s = asyncio.run(stream_demo(frames=frames))
    click.echo(f"\n3. P2P stream over loopback UDP: X25519 key agreement, {frames} frames of 5 KB at 30 fps,")
    click.echo("   with simulated duplication and reordering and an attacker replaying frames")
    click.echo(f"   received {s['frames_received']}/{s['frames_sent']} frames at {s['fps']:.1f} fps; "
               f"latency p50 {s['latency_ms_p50']:.2f} ms, p95 {s['latency_ms_p95']:.2f} ms, "
               f"p99 {s['latency_ms_p99']:.2f} ms (delayed frames included)")
    click.echo(f"   rejected: {s['frames_rejected'] or 'none'}; decrypt {s['avg_decrypt_ms'] * 1000:.0f} us a frame; "
               f"overhead {s['overhead_bytes_per_frame']} bytes a frame")
    ok = m["plaintext_ok"] and f["roundtrip_ok"] and not f["tampered_output_left"] and \
        s["frames_received"] >= 0.9 * s["frames_sent"]
    click.echo("\nAll checks passed." if ok else "\nSOME CHECKS FAILED.")
    sys.exit(0 if ok else 1)


@main.command("stream-demo")
@click.option("--frames", default=90, show_default=True, help="Frames to send.")
@click.option("--fps", default=30.0, show_default=True, help="Frames a second.")
@click.option("--size", default=5000, show_default=True, help="Frame size in bytes (at most 65,000).")
@click.option("--chaos/--no-chaos", default=True, show_default=True,
              help="Simulate duplication, reordering and replays.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def stream_demo_cmd(frames: int, fps: float, size: int, chaos: bool, as_json: bool) -> None:
    """Run a sender and a receiver over loopback UDP and report fps, latency and rejections."""
    import asyncio

    from .demo import stream_demo

    if not 8 <= size <= 65000 or frames < 1 or not 0 < fps <= 10000:
        _die("--size must be 8..65000, --frames >= 1, --fps in (0, 10000]", EXIT_USAGE)
    report = asyncio.run(stream_demo(frames=frames, fps=fps, frame_size=size, chaos=chaos))
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    for key, value in report.items():
        click.echo(f"{key.replace('_', ' '):>24}: {value:.3f}" if isinstance(value, float)
                   else f"{key.replace('_', ' '):>24}: {value}")


@main.command()
@click.option("--quick", is_flag=True, help="Small sizes and few repetitions (about a minute).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Also write the results here.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False),
              help="Write a bar chart (PNG; needs matplotlib: pip install 'stc-authenc[plot]').")
@click.option("--dir", "workdir", type=click.Path(file_okay=False), default=None,
              help="Where benchmark files go (default /dev/shm when present, so disk is not measured).")
def bench(quick: bool, json_path: "str | None", plot_path: "str | None", workdir: "str | None") -> None:
    """Benchmark messages, files and frames against the bare AEAD and installed peers."""
    from .bench import plot, run_all

    results = run_all(quick=quick, workdir=workdir, echo=click.echo)
    if json_path:
        Path(json_path).write_text(json.dumps(results, indent=2) + "\n")
        click.echo(f"wrote {json_path}")
    if plot_path:
        try:
            plot(results, plot_path)
        except ImportError:
            _die("--plot needs matplotlib: pip install 'stc-authenc[plot]'", EXIT_USAGE)
        click.echo(f"wrote {plot_path}")


if __name__ == "__main__":  # pragma: no cover
    main()
