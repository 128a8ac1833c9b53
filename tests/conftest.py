"""Shared fixtures: cheap Argon2 settings where cost is not what a test is about."""

from __future__ import annotations

import io
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "vectors"))

import stc

CHEAP = {"lattice_size": 16, "depth": 2, "insecure_allow_weak_kdf": True}


@pytest.fixture
def ctx() -> stc.STCContext:
    """A context with Argon2id at 1 MiB / 1 pass."""
    return stc.STCContext("test-seed", **CHEAP)


@pytest.fixture
def shm_dir(tmp_path: Path) -> Iterator[Path]:
    """A scratch folder on /dev/shm (so gigabyte tests measure no disk), removed afterwards."""
    work = Path(tempfile.mkdtemp(dir="/dev/shm")) if os.path.isdir("/dev/shm") else tmp_path
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


class FullDisk(io.RawIOBase):
    """A sink that accepts ``room`` bytes, then fails like a full disk (ENOSPC)."""

    def __init__(self, room: int) -> None:
        self.room = room

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        if len(b) > self.room:
            raise OSError(28, "No space left on device")
        self.room -= len(b)
        return len(b)


@pytest.fixture(scope="session")
def s3() -> Iterator[dict[str, Any]]:
    """An S3 bucket ``bucket`` on moto's real server on 127.0.0.1, one for the session (a second
    server may get the first one's port, and fsspec's cached instances would remember its
    listings); yields s3fs options."""
    moto_server = pytest.importorskip("moto.server")
    pytest.importorskip("s3fs")
    import fsspec

    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    options = {"endpoint_url": f"http://{host}:{port}", "key": "testing", "secret": "testing"}
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    fsspec.filesystem("s3", skip_instance_cache=True, **options).mkdir("bucket")
    try:
        yield options
    finally:
        server.stop()

