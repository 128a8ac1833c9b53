"""STCContext's small surface pinned exactly: derive_key, get_status, the entropy threshold, pickling."""

from __future__ import annotations

import copy
import io
import pickle
from pathlib import Path

import pytest

import stc
from stc.errors import ParameterError
from stc.formats import v2 as format_v2
from stc.formats import v3 as format_v3
from stc.keys.recipients import X25519Identity
from stc.p2p import frame
from tests.conftest import CHEAP


@pytest.fixture
def vctx() -> stc.STCContext:
    return stc.STCContext("vector-seed", **CHEAP)  # type: ignore[arg-type]


def test_derive_key_known_answers(vctx: stc.STCContext) -> None:
    # Regression vectors: HKDF-SHA256(epoch key, info = "derive " || purpose), this seed, epoch 0.
    default = "2903c4af81096de2bb0ec00b4bdc5fa6cbe0674429efc683409fa0ec30a98fa0"
    assert vctx.derive_key().hex() == default
    assert vctx.derive_key(32, purpose="default").hex() == default
    assert vctx.derive_key(16, purpose="files").hex() == "76b7768e8701b9949354c8418593a83f"


def test_derive_key_refusals(vctx: stc.STCContext) -> None:
    with pytest.raises(ParameterError, match=r"^purpose must be a str$"):
        vctx.derive_key(purpose=b"files")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match=r"^length must be an integer$"):
        vctx.derive_key(True)
    surrogate = r"^purpose is not valid text: it holds an unpaired surrogate at position 1$"
    with pytest.raises(ParameterError, match=surrogate):
        vctx.derive_key(purpose="a\ud800")


def test_get_status_exactly(vctx: stc.STCContext) -> None:
    status = vctx.get_status()
    assert status == {
        "version": stc.__version__,
        "formats_written": {"messages_and_files": 2, "messages_one_password": 3, "frames": 2},
        "suite": "aes-256-gcm",
        "lattice_size": 16,
        "depth": 2,
        "kdf": {"memory_kib": vctx._kdf.memory_kib, "passes": vctx._kdf.passes, "lanes": vctx._kdf.lanes},
        "epoch": 0,
        "epoch_operations": 0,
        "epoch_bytes": 0,
        "epoch_wear": 0.0,
        "hash_count": 0,
        "minimum_entropy_threshold": None,
    }
    vctx.hash("x")
    assert vctx.get_status()["hash_count"] == 1
    vctx.hash(b"y")
    assert vctx.get_status()["hash_count"] == 2


def test_hash_refusals(vctx: stc.STCContext) -> None:
    with pytest.raises(ParameterError, match=r"^data must be str or bytes, not int$"):
        vctx.hash(5)  # type: ignore[arg-type]
    surrogate = r"^the data is not valid text: it holds an unpaired surrogate at position 0$"
    with pytest.raises(ParameterError, match=surrogate):
        vctx.hash("\udc80")


def test_formats_follow_the_format_modules() -> None:
    written = stc.get_status()["formats_written"]
    assert written == {"messages_and_files": format_v2.VERSION, "messages_one_password": format_v3.VERSION,
                       "frames": frame.HEADER_VERSION}
    read = stc.get_status()["formats_read"]
    assert read == {"messages_and_files": [1, 2], "messages_one_password": [3], "frames": list(frame.HEADER_VERSIONS)}


@pytest.mark.parametrize("threshold", [0.0, 0, 1.0, 1, 0.5])
def test_entropy_threshold_accepts_its_closed_range(vctx: stc.STCContext, threshold: float) -> None:
    vctx.set_minimum_entropy_threshold(threshold)
    assert vctx.get_status()["minimum_entropy_threshold"] == float(threshold)


@pytest.mark.parametrize("threshold", [-1e-9, 1.000001, True, "0.5"])
def test_entropy_threshold_refuses_outside(vctx: stc.STCContext, threshold: object) -> None:
    with pytest.raises(ParameterError, match=r"^the threshold must be a number in \[0, 1\] or None; got "):
        vctx.set_minimum_entropy_threshold(threshold)  # type: ignore[arg-type]


def test_a_context_cannot_be_pickled_or_copied(vctx: stc.STCContext) -> None:
    message = (r"^an STCContext holds keys and cannot be pickled or copied; "
               r"pickle save_state\(\) and create STCContext\(seed\) again$")
    with pytest.raises(ParameterError, match=message):
        pickle.dumps(vctx)
    with pytest.raises(ParameterError, match=message):
        copy.copy(vctx)


def test_entropy_health_reports_this_epoch(vctx: stc.STCContext) -> None:
    vctx.encrypt(b"x" * 100, password="pw")
    vctx.cel.update()
    vctx.encrypt(b"y" * 10, password="pw")
    report = vctx.get_entropy_health()
    assert (report["epoch"], report["epoch_operations"], report["epoch_bytes"]) == (
        vctx.cel.epoch, vctx.cel.operations, vctx.cel.bytes_processed)
    assert report["epoch"] == 1 and report["epoch_operations"] >= 1 and report["epoch_bytes"] >= 10


def test_rekey_passes_use_decoys_on(vctx: stc.STCContext, tmp_path: Path) -> None:
    alice = X25519Identity.generate()
    path = tmp_path / "f.stc"
    vctx.encrypt_stream(io.BytesIO(b"data"), path, "pw", use_decoys=False)
    plain = vctx.rekey(path, password="pw", add=[alice.recipient], use_decoys=False)
    assert len(plain.stanzas) == 2  # the passphrase and alice, nothing else
    padded = vctx.rekey(path, password="pw", add=[X25519Identity.generate().recipient])
    assert len(padded.stanzas) == 1 + 4  # the passphrase; two recipients and two decoys


def test_encrypt_and_decrypt_refusals_say_exactly_why(vctx: stc.STCContext, tmp_path: Path) -> None:
    from stc.crypto.payload import chunk_nonce
    from stc.errors import FormatError, IntegrityError

    with pytest.raises(ParameterError, match=r"^data must be str or bytes, not int$"):
        vctx.encrypt(5, password="pw")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match=r"^the data is not valid text: it holds an unpaired surrogate at "
                                             r"position 2$"):
        vctx.encrypt("ab\udc80", password="pw")
    ciphertext, meta = vctx.encrypt(b"body", password="pw", format_version=2)
    with pytest.raises(FormatError, match=r"^ciphertext must be bytes, not str$"):
        vctx.decrypt("text", meta, password="pw")  # type: ignore[arg-type]
    flipped = bytes([ciphertext[0] ^ 1]) + ciphertext[1:]
    with pytest.raises(IntegrityError, match=r"^the key is right but the data did not authenticate: wrong context "
                                             r"data, or the ciphertext or metadata was modified$"):
        vctx.decrypt(flipped, meta, password="pw")
    path = tmp_path / "f.stc"
    file_meta = vctx.encrypt_stream(io.BytesIO(b"file"), path, "pw")
    with pytest.raises(FormatError, match=r"^this is a file header; use decrypt_stream$"):
        vctx.decrypt(path.read_bytes()[file_meta.size :], file_meta, password="pw")
    # text that authenticates but is not UTF-8: only a writer other than STC makes it
    sealed, header = vctx._seal_v3(b"\xff\xfe", "pw", None, True)  # version 3
    with pytest.raises(IntegrityError, match=r"^authenticated text is not valid UTF-8$"):
        vctx.decrypt(sealed, header, password="pw")
    header2, aead, encoded = vctx._new_header(["pw"], [], context_data=None, use_decoys=False, text=True)
    with pytest.raises(IntegrityError, match=r"^authenticated text is not valid UTF-8$"):
        vctx.decrypt(aead.encrypt(chunk_nonce(0, True), b"\xc3", encoded), header2, password="pw")


def test_saved_state_known_answer(vctx: stc.STCContext) -> None:
    # A regression vector: the state of a fresh context of this seed, its MAC keyed from the seed.
    assert vctx.save_state() == {
        "cel_state": {"version": 2, "epoch": 0, "operations": 0, "bytes_processed": 0,
                      "seed_check": "31b84ee53526a30dba720269423fe9b3",
                      "mac": "e8fcf256030175f3bbfc78c7fc1ddf39b101bc6a94eef4a97dfb8882c5490305"},
        "phe_state": {"version": 2, "hash_count": 0},
        "pcf_state": {"version": 2, "suite": "aes-256-gcm", "lattice_size": 16, "depth": 2},
    }


def test_constructor_defaults_and_refusal() -> None:
    status = stc.STCContext("defaults").get_status()
    assert (status["lattice_size"], status["depth"], status["suite"]) == (128, 6, "aes-256-gcm")
    with pytest.raises(ParameterError, match=r"^insecure_allow_weak_kdf must be a bool$"):
        stc.STCContext("s", insecure_allow_weak_kdf=1)  # type: ignore[arg-type]


def test_the_entropy_threshold_is_inclusive_and_its_refusal_says_what_to_do(vctx: stc.STCContext,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vctx, "get_entropy_health", lambda: {"quality_score": 0.5})
    vctx.set_minimum_entropy_threshold(0.5)
    vctx.encrypt(b"at the threshold", password="pw")
    vctx.set_minimum_entropy_threshold(0.6)
    with pytest.raises(ParameterError, match=r"^entropy health 0\.500 is below the minimum of 0\.600 set for this "
                                             r"context: call ctx\.cel\.update\(\) to start a new epoch \(or lower "
                                             r"the threshold\)$"):
        vctx.encrypt(b"below", password="pw")


def test_format_version_3_refuses_what_it_cannot_hold(vctx: stc.STCContext) -> None:
    with pytest.raises(ParameterError, match=r"^format_version=3 holds one password only: no recipients, "
                                             r"additional passwords or decoys$"):
        vctx.encrypt(b"x", password="pw", additional_passwords=["b"], format_version=3)


def test_a_cost_below_the_floor_is_refused_with_the_figures() -> None:
    with pytest.raises(ParameterError, match=r"^lattice_size=32, depth=3 gives Argon2id 4 MiB and 1 pass\(es\), "
                                             r"below the minimum of 16 MiB and 2 passes \(lattice_size >= 64 and "
                                             r"depth >= 4\)$"):
        stc.STCContext("s", lattice_size=32, depth=3)
