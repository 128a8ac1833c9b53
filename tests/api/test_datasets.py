"""Encrypted data sets: the ``stc`` fsspec filesystem with pandas, pyarrow, S3 (moto's real
server on localhost) and Dask (a real LocalCluster with worker processes)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

fsspec = pytest.importorskip("fsspec")
pd = pytest.importorskip("pandas")
pq = pytest.importorskip("pyarrow.parquet")

import stc  # noqa: E402
from stc.crypto.secret import Secret  # noqa: E402
from stc.errors import IntegrityError, WrongPasswordError  # noqa: E402

FAST = {"password": "pw", "lattice_size": 64, "depth": 4}
PASSWORD = "correct horse battery staple"


def _frame(n: int = 2000, offset: int = 0) -> Any:
    return pd.DataFrame({"a": range(offset, offset + n), "b": [f"row {i}" for i in range(n)]})


def test_the_protocol_is_registered_by_the_entry_point() -> None:
    out = subprocess.run([sys.executable, "-c", "import sys, fsspec; c = fsspec.get_filesystem_class('stc'); "
                          "print(c.__module__, 'stc.fs' in sys.modules)"], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["stc.fs", "True"]


def test_pandas_csv_round_trip_and_plaintext_sizes(shm_dir: Path) -> None:
    url = f"stc::file://{shm_dir}/a.csv.stc"
    df = _frame()
    df.to_csv(url, index=False, storage_options={"stc": FAST})
    assert pd.read_csv(url, storage_options={"stc": {"password": "pw"}}).equals(df)
    plain = df.to_csv(index=False).encode()
    fs = fsspec.filesystem("stc", target_protocol="file", password="pw")
    info = fs.info(f"{shm_dir}/a.csv.stc")
    assert info["size"] == len(plain)
    assert info["ciphertext_size"] == os.path.getsize(shm_dir / "a.csv.stc") > len(plain)
    [entry] = fs.ls(str(shm_dir))
    assert entry["size"] == len(plain)
    assert fs.cat_file(f"{shm_dir}/a.csv.stc", start=100, end=200) == plain[100:200]
    assert b"row 1" not in (shm_dir / "a.csv.stc").read_bytes()


def test_fsspec_open_with_the_options_the_fsspec_way(shm_dir: Path) -> None:
    with fsspec.open(f"stc::file://{shm_dir}/x.stc", "wb", stc=FAST) as f:
        f.write(b"hello data set")
    with fsspec.open(f"stc::file://{shm_dir}/x.stc", "rb", stc={"password": "pw"}) as f:
        assert f.read() == b"hello data set"
    with fsspec.open(f"stc::file://{shm_dir}/x.stc", "rt", stc={"password": "pw"}) as f:
        assert f.read() == "hello data set"
    with pytest.raises(WrongPasswordError), fsspec.open(f"stc::file://{shm_dir}/x.stc", "rb",
                                                        stc={"password": "no"}) as f:
        f.read()


def test_memory_target_and_a_file_that_is_not_ours() -> None:
    fs = fsspec.filesystem("stc", target_protocol="memory", **FAST)
    fs.pipe_file("/ds/one.stc", b"1" * 5000)
    fsspec.filesystem("memory").pipe_file("/ds/plain.txt", b"not encrypted")
    sizes = {e["name"].rsplit("/", 1)[-1]: e["size"] for e in fs.ls("/ds")}
    assert sizes == {"one.stc": 5000, "plain.txt": None}
    assert fs.cat_file("/ds/one.stc") == b"1" * 5000
    with pytest.raises(stc.FormatError):
        fs.cat_file("/ds/plain.txt")
    fs.rm("/ds/one.stc")
    assert not fs.exists("/ds/one.stc")


def test_an_error_while_writing_leaves_no_object(shm_dir: Path) -> None:
    fs = fsspec.filesystem("stc", target_protocol="file", **FAST)
    with pytest.raises(RuntimeError), fs.open(f"{shm_dir}/x.stc", "wb") as f:
        f.write(b"x" * 3_000_000)
        raise RuntimeError("stop")
    assert os.listdir(shm_dir) == []


def test_a_tampered_parquet_file_raises(shm_dir: Path) -> None:
    url = f"stc::file://{shm_dir}/t.parquet.stc"
    _frame(20000).to_parquet(url, storage_options={"stc": {**FAST}})
    path = shm_dir / "t.parquet.stc"
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 4
    path.write_bytes(bytes(data))
    with pytest.raises(IntegrityError):
        pd.read_parquet(url, storage_options={"stc": {"password": "pw"}})


def test_pyarrow_reads_the_footer_first_with_random_access(shm_dir: Path) -> None:
    fs = fsspec.filesystem("stc", target_protocol="file", password="pw", chunk_size=64 * 1024,
                           lattice_size=64, depth=4)
    df = _frame(50000)
    with fs.open(f"{shm_dir}/p.parquet.stc", "wb") as f:
        df.to_parquet(f)
    table = pq.read_table(f"{shm_dir}/p.parquet.stc", filesystem=fs, columns=["a"])
    assert table.column("a").to_pylist() == list(range(50000))
    opened = fs.open(f"{shm_dir}/p.parquet.stc", "rb")
    pq.ParquetFile(opened).metadata  # noqa: B018 - the footer read
    assert len(opened._cache) <= 2  # the footer needed the last chunk(s), not the whole file


def test_the_filesystem_repr_and_token_hide_the_key_material() -> None:
    fs = fsspec.filesystem("stc", target_protocol="memory", password=PASSWORD, seed="app-seed",
                           context_data={"tenant": 7}, lattice_size=64, depth=4)
    shown = repr(fs) + str(fs.storage_options) + fs._fs_token + repr(fs.__reduce__())
    for secret in (PASSWORD, "app-seed", "tenant"):
        assert secret not in shown
    again = fsspec.filesystem("stc", target_protocol="memory", password=PASSWORD, seed="app-seed",
                              context_data={"tenant": 7}, lattice_size=64, depth=4)
    other = fsspec.filesystem("stc", target_protocol="memory", password="other", seed="app-seed",
                              context_data={"tenant": 7}, lattice_size=64, depth=4)
    assert again is fs and other is not fs  # the instance cache tells secrets apart, without showing them


def test_secret_tokens_are_keyed_per_process() -> None:
    code = "from stc.crypto.secret import Secret; print(Secret('pw').token)"
    tokens = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
              for _ in range(2)}
    assert len(tokens) == 2
    assert Secret("pw") == Secret("pw") and Secret("pw") != Secret("pw2")
    assert "pw" not in repr(Secret("pw"))


def test_recipients_write_and_identities_read_through_the_filesystem() -> None:
    identity = stc.generate_identity("mlkem768x25519")
    writer = fsspec.filesystem("stc", target_protocol="memory", recipients=[identity.recipient.to_string()])
    writer.pipe_file("/keys/a.stc", b"to a key")
    reader = fsspec.filesystem("stc", target_protocol="memory", identities=[identity.to_string()])
    assert reader.cat_file("/keys/a.stc") == b"to a key"
    assert identity.to_string() not in repr(reader.storage_options)
    with pytest.raises(stc.NoMatchingIdentityError):
        fsspec.filesystem("stc", target_protocol="memory",
                          identities=[stc.generate_identity("mlkem768x25519").to_string()]).cat_file("/keys/a.stc")


def test_context_data_through_the_filesystem() -> None:
    fs = fsspec.filesystem("stc", target_protocol="memory", context_data={"tenant": 7}, **FAST)
    fs.pipe_file("/ctx/a.stc", b"bound")
    assert fs.cat_file("/ctx/a.stc") == b"bound"
    wrong = fsspec.filesystem("stc", target_protocol="memory", context_data={"tenant": 8}, password="pw")
    with pytest.raises(IntegrityError):
        wrong.cat_file("/ctx/a.stc")


# ---- S3: moto's server on localhost -------------------------------------------------------------

# the s3 fixture (moto's server on 127.0.0.1) is in conftest.py


@pytest.mark.slow
def test_s3_pandas_and_pyarrow(s3: dict[str, Any]) -> None:
    options = {"stc": FAST, "s3": s3}
    df = _frame(30000)
    df.to_parquet("stc::s3://bucket/sales.parquet.stc", storage_options=options)
    df.to_csv("stc::s3://bucket/sales.csv.stc", index=False, storage_options=options)
    assert pd.read_parquet("stc::s3://bucket/sales.parquet.stc", storage_options=options).equals(df)
    assert pd.read_csv("stc::s3://bucket/sales.csv.stc", storage_options=options).equals(df)
    raw = fsspec.filesystem("s3", **s3).cat_file("bucket/sales.csv.stc")
    assert raw[:4] == b"STCF" and b"row 1" not in raw
    fs = fsspec.filesystem("stc", target_protocol="s3", target_options=s3, password="pw")
    assert fs.info("bucket/sales.csv.stc")["size"] == len(df.to_csv(index=False).encode())


@pytest.mark.slow
def test_s3_an_aborted_upload_leaves_no_object(s3: dict[str, Any]) -> None:
    fs = fsspec.filesystem("stc", target_protocol="s3", target_options=s3, **FAST)
    with pytest.raises(RuntimeError), fs.open("bucket/aborted.stc", "wb") as f:
        f.write(os.urandom(6 << 20))
        raise RuntimeError("stop")
    assert not fsspec.filesystem("s3", **s3).exists("bucket/aborted.stc")


@pytest.mark.slow
def test_cli_reads_and_writes_s3_urls_and_every_writer_is_one_format(s3: dict[str, Any], shm_dir: Path) -> None:
    env = {**os.environ, "AWS_ENDPOINT_URL": s3["endpoint_url"], "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing"}
    data = os.urandom(3 << 20)
    (shm_dir / "data.bin").write_bytes(data)
    (shm_dir / "pass").write_text("pw\n")
    stc_cmd = [sys.executable, "-m", "stc"]
    common = ["--passphrase-file", str(shm_dir / "pass"), "-q"]
    # CLI -> S3 -> the filesystem and the CLI
    subprocess.run([*stc_cmd, "encrypt", str(shm_dir / "data.bin"), "-o", "s3://bucket/cli.stc", "--fast",
                    *common], env=env, check=True)
    fs = fsspec.filesystem("stc", target_protocol="s3", target_options=s3, password="pw")
    assert fs.cat_file("bucket/cli.stc") == data
    subprocess.run([*stc_cmd, "decrypt", "s3://bucket/cli.stc", "-o", str(shm_dir / "back.bin"), *common],
                   env=env, check=True)
    assert (shm_dir / "back.bin").read_bytes() == data
    # the filesystem -> the CLI, and stc.open / decrypt_stream on the downloaded file
    fs_w = fsspec.filesystem("stc", target_protocol="s3", target_options=s3, **FAST)
    fs_w.pipe_file("bucket/fs.stc", data)
    subprocess.run([*stc_cmd, "decrypt", "s3://bucket/fs.stc", "-o", str(shm_dir / "fs.bin"), *common],
                   env=env, check=True)
    assert (shm_dir / "fs.bin").read_bytes() == data
    fsspec.filesystem("s3", **s3).get_file("bucket/fs.stc", str(shm_dir / "fs.stc"))
    with stc.open(shm_dir / "fs.stc", password="pw") as f:
        assert f.read() == data
    stc.decrypting_context(stc.DEFAULT_SEED).decrypt_stream(shm_dir / "fs.stc", output_path=shm_dir / "ds.bin",
                                                      password="pw")
    assert (shm_dir / "ds.bin").read_bytes() == data
    # a wrong passphrase: exit 1, no object written
    (shm_dir / "bad").write_text("nope\n")
    bad = subprocess.run([*stc_cmd, "decrypt", "s3://bucket/cli.stc", "-o", "s3://bucket/out.bin",
                          "--passphrase-file", str(shm_dir / "bad"), "-q"], env=env, capture_output=True, text=True)
    assert bad.returncode == 1 and "wrong" in bad.stderr.lower()
    assert not fsspec.filesystem("s3", **s3).exists("bucket/out.bin")


# ---- Dask: a real LocalCluster with two worker processes ------------------------------------------

@pytest.fixture(scope="module")
def dask_client() -> Iterator[Any]:
    distributed = pytest.importorskip("distributed")
    pytest.importorskip("dask.dataframe")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


@pytest.mark.slow
@pytest.mark.parametrize("target", ["local", "s3"])
def test_dask_reads_a_folder_of_encrypted_files(dask_client: Any, s3: dict[str, Any], shm_dir: Path,
                                                target: str) -> None:
    import dask.dataframe as dd

    key = {"password": Secret(PASSWORD), "lattice_size": 64, "depth": 4}
    if target == "local":
        base, options = f"stc::file://{shm_dir}", {"stc": key}
    else:
        base, options = "stc::s3://bucket/dask", {"stc": key, "s3": s3}
    for i in range(4):
        _frame(5000, offset=i * 5000).to_parquet(f"{base}/part{i}.parquet.stc", storage_options=options)
        _frame(100, offset=i * 100).to_csv(f"{base}/part{i}.csv.stc", index=False, storage_options=options)
    frame = dd.read_parquet(f"{base}/*.parquet.stc", storage_options=options)
    assert int(frame.a.sum().compute()) == sum(range(20000))
    csv = dd.read_csv(f"{base}/*.csv.stc", storage_options=options, blocksize=None)
    assert int(csv.a.sum().compute()) == sum(range(400))
    workers = dask_client.run(lambda: os.getpid())
    assert len(set(workers.values())) == 2 and os.getpid() not in workers.values()
    names = " ".join(str(k) for k in frame.__dask_graph__()) + " ".join(str(k) for k in csv.__dask_graph__())
    logs = str(dask_client.get_worker_logs()) + str(dask_client.get_scheduler_logs())
    assert PASSWORD not in names and PASSWORD not in logs
    from dask.base import tokenize

    assert tokenize(options) != tokenize({"stc": {**key, "password": PASSWORD}})


@pytest.mark.slow
def test_dask_writes_encrypted_parquet(dask_client: Any, shm_dir: Path) -> None:
    import dask.dataframe as dd

    options = {"stc": {"password": Secret(PASSWORD), "lattice_size": 64, "depth": 4}}
    frame = dd.from_pandas(_frame(4000), npartitions=2)
    frame.to_parquet(f"stc::file://{shm_dir}/out", storage_options=options, write_metadata_file=False,
                     name_function=lambda i: f"part{i}.parquet.stc")
    written = sorted(os.listdir(shm_dir / "out"))
    assert written == ["part0.parquet.stc", "part1.parquet.stc"]
    for name in written:
        assert (shm_dir / "out" / name).read_bytes()[:4] == b"STCF"
    back = dd.read_parquet(f"stc::file://{shm_dir}/out/*.parquet.stc", storage_options=options).compute()
    back = back.sort_values("a")
    assert back["a"].tolist() == list(range(4000)) and back["b"].tolist() == _frame(4000)["b"].tolist()


def test_stc_open_over_an_fsspec_file() -> None:
    mem = fsspec.filesystem("memory")
    with stc.open(mem.open("/raw/a.stc", "wb"), "wb", password="pw", lattice_size=64, depth=4,
                  close_file=True) as f:
        f.write(b"z" * 100)
    with stc.open(mem.open("/raw/a.stc", "rb"), password="pw", close_file=True) as f:
        assert f.read() == b"z" * 100


def test_filesystem_arguments_modes_and_a_target_without_deferred_writes() -> None:
    from fsspec.implementations.memory import MemoryFileSystem

    from stc.fs import STCFileSystem

    with pytest.raises(stc.ParameterError, match="give target_protocol"):
        STCFileSystem(password=Secret("pw"))
    assert STCFileSystem._strip_protocol(["stc://a/b", "c"]) == ["a/b", "c"]
    fs = fsspec.filesystem("stc", target_protocol="memory", **FAST)
    with pytest.raises(stc.ParameterError, match="mode must be 'rb' or 'wb'"):
        fs.open("/m/x.stc", "ab")
    fs.pipe_file("/m/x.stc", b"data")
    wrong = fsspec.filesystem("stc", target_protocol="memory", password="other", lattice_size=64, depth=4)
    with pytest.raises(WrongPasswordError):
        wrong.open("/m/x.stc", "rb")

    class NoDeferral(MemoryFileSystem):  # type: ignore[misc]
        """Refuses autocommit=False, as some filesystems do."""

        protocol = "nodeferral"

        def open(self, path: str, mode: str = "rb", **kwargs: Any) -> Any:
            if kwargs.pop("autocommit", True) is False:
                raise NotImplementedError("no deferred writes here")
            return super().open(path, mode, **kwargs)

    target = NoDeferral()
    plain = fsspec.filesystem("stc", fs=target, **FAST)
    plain.pipe_file("/n/ok.stc", b"kept")
    assert plain.cat_file("/n/ok.stc") == b"kept"
    with pytest.raises(RuntimeError, match="stop"), plain.open("/n/cut.stc", "wb") as f:
        f.write(b"x" * 5000)
        raise RuntimeError("stop")
    assert not target.exists("/n/cut.stc")  # written at once, so removed on abort
