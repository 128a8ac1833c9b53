"""Both cores for regular files: two workers seal (or open) alternate chunks at fixed offsets.

Chunk ``i`` of a file with chunk size ``S`` is plaintext ``[i*S, (i+1)*S)`` and ciphertext at
``header + i*(S+16)``, so once the input's size is known every chunk can be processed on its
own with ``pread``/``pwrite``; AES-GCM, ``pread`` and ``pwrite`` release the GIL.  The bytes
written are exactly those of the sequential loop in :mod:`stc.files.stream` (tested), and a
failure names the lowest failing chunk, as the sequential loop would.  Pipes, and outputs
that are not regular files, keep the sequential loop.
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Callable
from typing import Any

from cryptography.exceptions import InvalidTag

from ..crypto.payload import chunk_nonce
from ..crypto.suite import AEAD, TAG_SIZE
from ..errors import IntegrityError, TruncatedError

WORKERS = 2
#: Below this many chunks the threads cost more than they save.
MIN_CHUNKS = 4

Progress = Callable[[int, "int | None"], Any]
Fail = Callable[[AEAD, int, memoryview, bool, int], IntegrityError]


def regular_files(fin: Any, fout: Any) -> bool:
    """True if both are regular files with descriptors (so offsets can be read and written)."""
    try:
        return stat.S_ISREG(os.fstat(fin.fileno()).st_mode) and stat.S_ISREG(os.fstat(fout.fileno()).st_mode)
    except (AttributeError, OSError, ValueError):
        return False


def _pread_full(fd: int, view: memoryview, offset: int) -> int:
    got = 0
    while got < len(view):
        n = os.preadv(fd, [view[got:]], offset + got)
        if n == 0:
            break
        got += n
    return got


def _pwrite_full(fd: int, view: memoryview, offset: int) -> None:
    while view:
        n = os.pwrite(fd, view, offset)
        view, offset = view[n:], offset + n


def _run(count: int, buffer_sizes: tuple[int, int], job: Callable[[int, memoryview, memoryview], int],
         progress: Progress | None, total: int | None) -> None:
    """Run ``job(i, in_buf, out_buf) -> plaintext bytes`` for every chunk on WORKERS threads."""
    lock = threading.Lock()
    state = {"next": 0, "done": 0}
    errors: dict[int, BaseException] = {}

    def worker() -> None:
        bin_, bout = memoryview(bytearray(buffer_sizes[0])), memoryview(bytearray(buffer_sizes[1]))
        while True:
            with lock:
                i = state["next"]
                if i >= count or errors:
                    return
                state["next"] = i + 1
            try:
                n = job(i, bin_, bout)
            except BaseException as exc:  # reported by the caller, lowest chunk first
                with lock:
                    errors[i] = exc
                return
            if progress is not None and n:
                with lock:
                    state["done"] += n
                    progress(state["done"], total)

    threads = [threading.Thread(target=worker, name=f"stc-chunks-{k}", daemon=True) for k in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[min(errors)]


def seal(aead: AEAD, fin: Any, fout: Any, chunk_size: int, size: int, progress: Progress | None) -> int:
    """Encrypt ``size`` bytes from ``fin``'s position to ``fout``'s position; return ``size``."""
    in_fd, out_fd = fin.fileno(), fout.fileno()
    in_start, out_start = fin.tell(), fout.tell()
    count = max(1, -(-size // chunk_size))

    def job(i: int, bin_: memoryview, bout: memoryview) -> int:
        n = min(chunk_size, size - i * chunk_size)
        if _pread_full(in_fd, bin_[:n], in_start + i * chunk_size) != n:
            raise OSError("the input shrank while it was being encrypted")
        aead.encrypt_into(chunk_nonce(i, i == count - 1), bin_[:n], None, bout[: n + TAG_SIZE])
        _pwrite_full(out_fd, bout[: n + TAG_SIZE], out_start + i * (chunk_size + TAG_SIZE))
        return n

    _run(count, (chunk_size, chunk_size + TAG_SIZE), job, progress, size)
    if os.pread(in_fd, 1, in_start + size):
        raise OSError("the input grew while it was being encrypted; encrypt it again once it is complete")
    fout.seek(out_start + size + count * TAG_SIZE)
    return size


def open_chunks(aead: AEAD, fin: Any, fout: Any, chunk_size: int, body: int, progress: Progress | None,
                fail: Fail) -> tuple[int, int]:
    """Decrypt a body of ``body`` bytes at ``fin``'s position; return (chunks, plaintext bytes)."""
    enc = chunk_size + TAG_SIZE
    in_fd, out_fd = fin.fileno(), fout.fileno()
    in_start, out_start = fin.tell(), fout.tell()
    if body == 0:
        raise TruncatedError("the file holds a header but no chunk")
    count = -(-body // enc)
    last_len = body - (count - 1) * enc
    if last_len < TAG_SIZE:
        raise TruncatedError(f"the file is truncated inside chunk {count - 1}")
    plain = body - count * TAG_SIZE

    def job(i: int, bin_: memoryview, bout: memoryview) -> int:
        n = enc if i < count - 1 else last_len
        if _pread_full(in_fd, bin_[:n], in_start + i * enc) != n:
            raise TruncatedError(f"the file shrank while it was read (chunk {i})")
        last = i == count - 1
        try:
            aead.decrypt_into(chunk_nonce(i, last), bin_[:n], None, bout[: n - TAG_SIZE])
        except InvalidTag:
            raise fail(aead, i, bin_[:n], last, enc) from None
        if last and i > 0 and n == TAG_SIZE:
            raise IntegrityError("an empty final chunk follows a full one (not produced by STC)")
        _pwrite_full(out_fd, bout[: n - TAG_SIZE], out_start + i * chunk_size)
        return n - TAG_SIZE

    _run(count, (enc, chunk_size), job, progress, plain)
    fout.seek(out_start + plain)
    return count, plain
