"""File benchmarks of ``stc bench``: each run in a child process, next to a plain copy and,
when installed, age (pyrage), Tink and PyNaCl secretstream; peak RSS and its growth per run.

See :mod:`.bench` for how the figures are taken (medians, /dev/shm, the RSS mark reset after
set-up).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

Echo = Callable[[str], Any]
MiB = 1 << 20
PASSWORD = "benchmark password"
SEED = "bench-seed"


# ---- files (each run in a child process) -----------------------------------------------------
def _status(field: str) -> int | None:
    """A ``/proc/self/status`` size field in bytes (None where there is no /proc)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _rss() -> int:
    """This process's peak RSS in bytes since start or the last :func:`_reset_peak`.  VmHWM is
    reset by exec; ru_maxrss is not (on Linux a child inherits its parent's peak), so it is
    only the fallback."""
    peak = _status("VmHWM")
    return peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _reset_peak() -> bool:
    """Set the peak RSS mark to the current RSS (Linux ``clear_refs`` 5); False if unsupported."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


def _copy_loop(src: str, dst: str, transform: Callable[[memoryview, int], memoryview] | None = None,
               chunk: int = MiB, mode: str = "wb") -> None:
    """readinto/write loop with one fixed buffer; ``transform`` seals or opens each chunk."""
    buf = bytearray(chunk)
    view = memoryview(buf)
    index = 0
    with open(src, "rb", buffering=0) as f, open(dst, mode, buffering=0) as g:
        while True:
            n = f.readinto(buf)
            if not n:
                break
            g.write(transform(view[:n], index) if transform else view[:n])
            index += 1


def child(kind: str, src: str, dst: str, aux: str, mode: str = "new") -> dict[str, Any]:
    """One measured operation (runs in a fresh interpreter); ``mode`` "overwrite" writes into the
    existing output in place wherever the API takes a file object."""
    out_mode = "r+b" if mode == "overwrite" else "wb"
    if kind == "copy":
        def run() -> None:
            _copy_loop(src, dst, mode=out_mode)
    elif kind in ("aead-enc", "aead-dec"):
        aead = AESGCM(bytes(32))
        chunk = MiB if kind == "aead-enc" else MiB + 16
        view = memoryview(bytearray(MiB + 16))

        def seal(part: memoryview, index: int) -> memoryview:
            nonce = struct.pack(">QI", index, 0)
            if kind == "aead-enc":
                aead.encrypt_into(nonce, part, None, view[: len(part) + 16])
                return view[: len(part) + 16]
            aead.decrypt_into(nonce, part, None, view[: len(part) - 16])
            return view[: len(part) - 16]

        def run() -> None:
            _copy_loop(src, dst, seal, chunk=chunk, mode=out_mode)
    elif kind in ("stc-enc", "stc-dec"):
        from ..context import STCContext
        from ..streaming import validate_chunk_fast

        ctx = STCContext(SEED, lattice_size=64, depth=4)
        if kind == "stc-enc":
            ctx.encrypt(b"x", PASSWORD)  # Argon2id once (same context salt); cached

            def run() -> None:
                if mode == "overwrite":
                    with open(dst, "r+b") as g:
                        ctx.encrypt_stream(src, g, PASSWORD)
                else:
                    ctx.encrypt_stream(src, dst, PASSWORD)
        else:
            with open(src, "rb") as f:
                validate_chunk_fast(f.read(4096), None, PASSWORD, ctx=ctx)  # Argon2id once; then cached

            def run() -> None:
                if mode == "overwrite":
                    with open(dst, "r+b") as g:
                        ctx.decrypt_stream(src, output_path=g, password=PASSWORD)
                else:
                    ctx.decrypt_stream(src, output_path=dst, password=PASSWORD)
    elif kind in ("age-enc", "age-dec"):
        import pyrage

        identity = pyrage.x25519.Identity.from_str(aux)

        def run() -> None:
            if kind == "age-enc":
                pyrage.encrypt_file(src, dst, [identity.to_public()])
            else:
                pyrage.decrypt_file(src, dst, [identity])
    elif kind in ("age-pass-enc", "age-pass-dec"):
        import pyrage

        def run() -> None:  # pyrage's passphrase API works on whole bytes objects (scrypt included)
            data = Path(src).read_bytes()
            if kind == "age-pass-enc":
                Path(dst).write_bytes(pyrage.passphrase.encrypt(data, PASSWORD))
            else:
                Path(dst).write_bytes(pyrage.passphrase.decrypt(data, PASSWORD))
    elif kind in ("tink-enc", "tink-dec"):
        import tink
        from tink import secret_key_access, streaming_aead

        streaming_aead.register()
        handle = tink.json_proto_keyset_format.parse(Path(aux).read_text(), secret_key_access.TOKEN)
        primitive = handle.primitive(streaming_aead.StreamingAead)

        def run() -> None:
            with open(src, "rb") as f, open(dst, out_mode) as g:
                if kind == "tink-enc":
                    with primitive.new_encrypting_stream(g, b"") as enc:
                        shutil.copyfileobj(f, enc, MiB)
                else:
                    with primitive.new_decrypting_stream(f, b"") as dec:
                        shutil.copyfileobj(dec, g, MiB)
    elif kind in ("nacl-enc", "nacl-dec"):
        from nacl import bindings as b

        key = bytes(32)

        def run() -> None:
            with open(src, "rb") as f, open(dst, out_mode) as g:
                if kind == "nacl-enc":
                    state = b.crypto_secretstream_xchacha20poly1305_state()
                    g.write(b.crypto_secretstream_xchacha20poly1305_init_push(state, key))
                    chunk = f.read(MiB)
                    while True:
                        following = f.read(MiB)
                        tag = (b.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE if following
                               else b.crypto_secretstream_xchacha20poly1305_TAG_FINAL)
                        g.write(b.crypto_secretstream_xchacha20poly1305_push(state, chunk, None, tag))
                        if not following:
                            break
                        chunk = following
                else:
                    state = b.crypto_secretstream_xchacha20poly1305_state()
                    b.crypto_secretstream_xchacha20poly1305_init_pull(state, f.read(24), key)
                    while True:
                        part = f.read(MiB + 17)
                        msg, tag = b.crypto_secretstream_xchacha20poly1305_pull(state, part, None)
                        g.write(msg)
                        if tag == b.crypto_secretstream_xchacha20poly1305_TAG_FINAL:
                            break
    else:
        raise SystemExit(f"unknown kind {kind}")
    setup_peak = _rss()  # imports and the password KDF
    reset = _reset_peak()
    base = _status("VmRSS") if reset else setup_peak
    started = time.perf_counter()
    run()
    elapsed = time.perf_counter() - started
    return {"seconds": elapsed, "rss_peak": _rss(), "rss_before": base, "setup_peak": setup_peak,
            "peak_reset": reset}


def _run_child(kind: str, src: Path, dst: Path, aux: str = "", mode: str = "new") -> dict[str, Any]:
    code = "import json,sys; from stc.cli.bench_files import child; print(json.dumps(child(*sys.argv[1:])))"
    proc = subprocess.run([sys.executable, "-c", code, kind, str(src), str(dst), aux, mode],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} failed: {proc.stderr.strip()[-400:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _file_row(size: int, kind: str, mode: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    secs = statistics.median(r["seconds"] for r in runs)
    return {"size_mib": size // MiB, "kind": kind, "mode": mode, "mb_per_s": size / 1e6 / secs,
            "seconds_median": secs, "rss_peak_mib": max(r["rss_peak"] for r in runs) / MiB,
            "rss_growth_mib": max(r["rss_peak"] - r["rss_before"] for r in runs) / MiB,
            "setup_peak_mib": max(r.get("setup_peak", 0) for r in runs) / MiB,
            "peak_reset": all(r.get("peak_reset", False) for r in runs)}


def _file_line(r: dict[str, Any]) -> str:
    return (f"  {r['size_mib']:>5} MiB  {r['mode']:<9} {r['kind']:<13} {r['mb_per_s']:>8.0f} MB/s  "
            f"peak RSS {r['rss_peak_mib']:6.1f} MiB (+{r['rss_growth_mib']:.1f} while streaming; "
            f"set-up peak {r['setup_peak_mib']:.1f})")


#: Peers whose API takes paths or whole byte strings: they always write a new file.
IN_PLACE_UNSUPPORTED = ("age", "age-pass")


def bench_files(quick: bool, workdir: str | None, echo: Echo, sizes: tuple[int, ...] | None = None,
                repeat: int | None = None, modes: tuple[str, ...] = ("new", "overwrite")) -> list[dict[str, Any]]:
    """Encrypt/decrypt files of several sizes in both modes: MB/s and RSS, with ratios to a plain
    copy in the same mode."""
    base = Path(workdir or ("/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir()))
    folder = Path(tempfile.mkdtemp(prefix="stc-bench-", dir=base))
    sizes = sizes or ((16 * MiB, 64 * MiB) if quick else (16 * MiB, 256 * MiB, 1024 * MiB))
    repeat = repeat or (3 if quick else 5)
    aux: dict[str, str] = {}
    pairs = [("copy", None), ("aead-enc", "aead-dec"), ("stc-enc", "stc-dec")]
    if _installed("pyrage"):
        import pyrage

        aux["age"] = str(pyrage.x25519.Identity.generate())
        pairs.append(("age-enc", "age-dec"))
        pairs.append(("age-pass-enc", "age-pass-dec"))
    if _installed("tink"):
        import tink
        from tink import secret_key_access, streaming_aead

        streaming_aead.register()
        handle = tink.new_keyset_handle(streaming_aead.streaming_aead_key_templates.AES256_GCM_HKDF_1MB)
        keyset = folder / "tink.json"
        keyset.write_text(tink.json_proto_keyset_format.serialize(handle, secret_key_access.TOKEN))
        aux["tink"] = str(keyset)
        pairs.append(("tink-enc", "tink-dec"))
    if _installed("nacl"):
        pairs.append(("nacl-enc", "nacl-dec"))
    rows: list[dict[str, Any]] = []
    try:
        for size in sizes:
            plain = folder / "plain.bin"
            with open(plain, "wb") as f:
                block = os.urandom(MiB)
                for _ in range(size // MiB):
                    f.write(block)
            for enc_kind, dec_kind in pairs:
                family = enc_kind.split("-")[0] if enc_kind != "age-pass-enc" else "age-pass"
                if family == "age-pass" and size > 256 * MiB:
                    continue  # pyrage's passphrase API holds the whole file in memory
                extra = aux.get(family.split("-")[0], "")
                for mode in modes:
                    for kind, src, dst in ((enc_kind, plain, folder / "enc.bin"),
                                           (dec_kind, folder / "enc.bin", folder / "dec.bin")):
                        if kind is None:
                            continue
                        runs = []
                        for _ in range(repeat):
                            if mode == "new" or family in IN_PLACE_UNSUPPORTED:
                                dst.unlink(missing_ok=True)  # a new file each run, as a fresh run makes
                            elif not dst.exists():
                                _run_child(kind, src, dst, extra)  # the file to overwrite (not timed)
                            runs.append(_run_child(kind, src, dst, extra, mode))
                        rows.append(_file_row(size, kind, mode, runs))
                        echo(_file_line(rows[-1]))
                    if dec_kind is not None and not _same(plain, folder / "dec.bin"):
                        raise RuntimeError(f"{dec_kind} did not restore the plaintext ({mode})")
                for name in ("enc.bin", "dec.bin"):
                    (folder / name).unlink(missing_ok=True)
        copy_rate = {(r["size_mib"], r["mode"]): r["mb_per_s"] for r in rows if r["kind"] == "copy"}
        by_key = {(r["size_mib"], r["mode"], r["kind"]): r["mb_per_s"] for r in rows}
        for r in rows:
            r["ratio_to_copy"] = r["mb_per_s"] / copy_rate[(r["size_mib"], r["mode"])]
            peer = r["kind"].replace("stc", "age")
            if r["kind"].startswith("stc") and (r["size_mib"], r["mode"], peer) in by_key:
                r["ratio_to_age"] = r["mb_per_s"] / by_key[(r["size_mib"], r["mode"], peer)]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    for note in FILE_NOTES:
        echo(f"  note: {note}")
    return rows


#: What each file row includes, so unlike things are not read as like (printed under the table).
FILE_NOTES = (
    "stc-enc/stc-dec: the password key is derived before timing (a reused context), as a long-lived "
    "process does; Argon2id is timed apart in the messages table",
    "age-enc/age-dec (pyrage x25519) and tink/nacl: no password KDF on either side; keys given",
    "age-pass-*: includes scrypt and holds the whole file in memory (pyrage's API); not run above 256 MiB",
    "stc on regular files uses two workers (both cores); copy and aead-* are single-threaded references, "
    "so stc above them means the second core, not a cheaper copy",
    "new: every run writes a new file (tmpfs allocates its pages, which swings a lot here); overwrite: the "
    "output exists and is written in place (age and age-pass take paths, so they write a new file in both)",
    "growth: peak RSS during the run over the RSS before it (the peak mark is reset after set-up, so the "
    "Argon2id peak does not hide it); set-up peak: imports and the password KDF",
)


def _same(a: Path, b: Path) -> bool:
    if a.stat().st_size != b.stat().st_size:
        return False
    with open(a, "rb") as f, open(b, "rb") as g:
        while True:
            x, y = f.read(MiB), g.read(MiB)
            if x != y:
                return False
            if not x:
                return True
