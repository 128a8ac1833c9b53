"""AWS KMS as a recipient, against moto's KMS in server mode (a real HTTP endpoint on 127.0.0.1).

moto 5.2 lets a disabled key encrypt and decrypt; this test's server refuses, as AWS does
(``DisabledException``), so the refusal path is tested for real and the test can fail.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import stc
from stc import errors
from stc.formats.headers import parse_header
from stc.formats.stanza import KMS, Stanza
from stc.keys.recipients import AwsKmsIdentity, AwsKmsRecipient, X25519Identity, as_age, parse_identity
from stc.keys.recipients.kms import parse_body

boto3 = pytest.importorskip("boto3")
moto_server = pytest.importorskip("moto.server")
FAST = {"lattice_size": 64, "depth": 4}


@pytest.fixture(scope="module")
def kms() -> Iterator[dict[str, Any]]:
    """moto's KMS on 127.0.0.1 (refusing disabled keys), boto3 pointed at it through the environment."""
    from moto.core.exceptions import JsonRESTError
    from moto.kms import models

    class DisabledException(JsonRESTError):
        code = 400

        def __init__(self, arn: str) -> None:
            super().__init__("DisabledException", f"{arn} is disabled.")

    real_encrypt, real_decrypt = models.KmsBackend.encrypt, models.KmsBackend.decrypt

    def encrypt(self: Any, key_id: str, plaintext: bytes, encryption_context: dict[str, str]) -> Any:
        key = self.keys[self.any_id_to_key_id(key_id)]
        if not key.enabled:
            raise DisabledException(key.arn)
        return real_encrypt(self, key_id, plaintext, encryption_context)

    def decrypt(self: Any, ciphertext_blob: bytes, encryption_context: dict[str, str], key_id: str | None = None
                ) -> Any:
        plaintext, arn = real_decrypt(self, ciphertext_blob, encryption_context, key_id)
        if not self.keys[self.any_id_to_key_id(arn)].enabled:
            raise DisabledException(arn)
        return plaintext, arn

    patch = pytest.MonkeyPatch()
    patch.setattr(models.KmsBackend, "encrypt", encrypt)
    patch.setattr(models.KmsBackend, "decrypt", decrypt)
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    env = {"AWS_ENDPOINT_URL_KMS": f"http://{host}:{port}", "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}
    for name, value in env.items():
        patch.setenv(name, value)
    patch.delenv("AWS_PROFILE", raising=False)

    def new_key(region: str = "us-east-1") -> str:
        client = boto3.client("kms", region_name=region)
        return str(client.create_key(Description="stc test")["KeyMetadata"]["Arn"])

    try:
        yield {"env": env, "new_key": new_key}
    finally:
        server.stop()
        patch.undo()


def _ctx() -> stc.STCContext:
    return stc.STCContext("kms-test", **FAST)


def encrypt(data: bytes, **keys: Any) -> bytes:
    out = io.BytesIO()
    _ctx().encrypt_stream(io.BytesIO(data), out, keys.pop("password", None), **keys)
    return out.getvalue()


def decrypt(blob: bytes, **keys: Any) -> bytes:
    out = io.BytesIO()
    _ctx().decrypt_stream(io.BytesIO(blob), output_path=out, password=keys.pop("password", None), **keys)
    return out.getvalue()


def test_good_round_trip_and_what_the_stanza_holds(kms: dict[str, Any]) -> None:
    arn = kms["new_key"]()
    recipient = stc.parse_recipient(f"awskms:{arn}")
    assert isinstance(recipient, AwsKmsRecipient) and recipient.to_string() == f"awskms:{arn}"
    blob = encrypt(b"secret data", recipients=[recipient])
    assert decrypt(blob, identities=[parse_identity(f"awskms:{arn}")]) == b"secret data"
    meta, _ = parse_header(blob)
    kms_stanzas = [s for s in meta.stanzas if s.kind == KMS]
    assert len(kms_stanzas) == 1 and meta.describe()["slots_by_kind"] == {"awskms": 1}  # no decoys of this kind
    found_arn, ciphertext = parse_body(kms_stanzas[0].body)
    assert found_arn == arn and 0 < len(ciphertext) < 1000


def test_good_the_arns_region_is_used(kms: dict[str, Any]) -> None:
    arn = kms["new_key"]("eu-west-1")
    assert ":eu-west-1:" in arn
    blob = encrypt(b"abroad", recipients=[f"awskms:{arn}"])
    assert decrypt(blob, identities=[f"awskms:{arn}"]) == b"abroad"
    us = boto3.client("kms", region_name="us-east-1")
    with pytest.raises(Exception, match=r"NotFound|does not exist"):
        us.describe_key(KeyId=arn.split("/")[-1])  # the key lives only in the ARN's region


def test_fail_a_disabled_key_is_a_named_refusal(kms: dict[str, Any]) -> None:
    arn = kms["new_key"]()
    blob = encrypt(b"x", recipients=[f"awskms:{arn}"])
    client = boto3.client("kms", region_name="us-east-1")
    client.disable_key(KeyId=arn.split("/")[-1])  # moto wants the id here
    try:
        refused = re.escape(f"AWS KMS refused to decrypt with {arn}: DisabledException")
        with pytest.raises(errors.DecryptionError, match=refused):
            decrypt(blob, identities=[f"awskms:{arn}"])
        with pytest.raises(errors.ParameterError, match=r"AWS KMS refused to encrypt with .*DisabledException"):
            encrypt(b"x", recipients=[f"awskms:{arn}"])
    finally:
        client.enable_key(KeyId=arn.split("/")[-1])
    assert decrypt(blob, identities=[f"awskms:{arn}"]) == b"x"


def test_fail_a_stanza_moved_to_another_header(kms: dict[str, Any]) -> None:
    """The encryption context names the header: KMS refuses the stanza under another header's label."""
    arn = kms["new_key"]()
    recipient, identity = AwsKmsRecipient(arn), AwsKmsIdentity(arn)
    stanza = recipient.wrap(bytes(range(32)), b"L" * 32)
    assert identity.unwrap(stanza, b"L" * 32) == bytes(range(32))
    with pytest.raises(errors.DecryptionError, match="InvalidCiphertextException"):
        identity.unwrap(stanza, b"M" * 32)
    other = AwsKmsIdentity(kms["new_key"]())
    assert other.unwrap(stanza, b"L" * 32) is None  # another key's stanza: KMS is not even asked
    assert identity.unwrap(Stanza(2, bytes(80)), b"L" * 32) is None


def test_good_mixed_header_opens_with_each_alone(kms: dict[str, Any]) -> None:
    arn = kms["new_key"]()
    stc_key, age_key = X25519Identity.generate(), as_age(X25519Identity.generate())
    blob = encrypt(b"mixed", password="pw", recipients=[stc_key.recipient, age_key.recipient, f"awskms:{arn}"])
    assert decrypt(blob, identities=[stc_key]) == b"mixed"
    assert decrypt(blob, identities=[age_key]) == b"mixed"  # type: ignore[list-item]
    assert decrypt(blob, identities=[f"awskms:{arn}"]) == b"mixed"
    assert decrypt(blob, password="pw") == b"mixed"


@pytest.mark.parametrize(("text", "message"), [
    ("awskms:arn:aws:kms:us-east-1:123:key/abc", "malformed AWS KMS key"),
    ("awskms:" + "x" * 400, "malformed AWS KMS key"),
    ("awskms:arn:aws:s3:::bucket", "malformed AWS KMS key"),
])
def test_fail_malformed_kms_keys(text: str, message: str) -> None:
    with pytest.raises(errors.ParameterError, match=message):
        stc.parse_recipient(text)


@pytest.mark.parametrize(("body", "message"), [
    (bytes(1024), "ARN length"),
    ((5).to_bytes(2, "big") + b"\xff" * 5 + bytes(1017), "not ASCII"),
    ((3).to_bytes(2, "big") + b"arn" + bytes(1019), "ciphertext length or padding"),
    ((3).to_bytes(2, "big") + b"arn" + (1).to_bytes(2, "big") + b"c" + b"\x01" + bytes(1014),
     "ciphertext length or padding"),
    ((3).to_bytes(2, "big") + b"arn" + (2000).to_bytes(2, "big") + bytes(1017), "ciphertext length or padding"),
])
def test_fail_malformed_kms_stanzas(body: bytes, message: str) -> None:
    with pytest.raises(errors.FormatError, match=message):
        parse_body(body)


def test_fail_no_decoy_passes_for_a_kms_stanza() -> None:
    with pytest.raises(errors.ParameterError, match="no decoy"):
        AwsKmsRecipient.decoy()


def test_good_rekey_adds_and_removes_kms_recipients(kms: dict[str, Any], tmp_path: Path) -> None:
    arn, key = kms["new_key"](), X25519Identity.generate()
    path = tmp_path / "f.stc"
    path.write_bytes(encrypt(b"rekeyed", recipients=[key.recipient]))
    _ctx().rekey(str(path), identities=[key], add=[f"awskms:{arn}"])
    assert decrypt(path.read_bytes(), identities=[f"awskms:{arn}"]) == b"rekeyed"
    _ctx().rekey(str(path), identities=[key], remove=[f"awskms:{arn}"])
    with pytest.raises(errors.NoMatchingIdentityError):
        decrypt(path.read_bytes(), identities=[f"awskms:{arn}"])
    assert decrypt(path.read_bytes(), identities=[key]) == b"rekeyed"


def test_cli_kms_recipient_and_refusal(kms: dict[str, Any], tmp_path: Path) -> None:
    arn = kms["new_key"]()
    env = {**os.environ, **kms["env"], "STC_SEED": "kms-cli"}
    data, enc, out = tmp_path / "d", tmp_path / "d.stc", tmp_path / "out"
    data.write_bytes(b"through kms")

    def run(*args: str | Path) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([sys.executable, "-m", "stc", *map(str, args)], capture_output=True, env=env,
                              timeout=120)

    assert run("encrypt", "-r", f"awskms:{arn}", data, "-o", enc).returncode == 0
    p = run("decrypt", "-i", f"awskms:{arn}", enc, "-o", out)
    assert p.returncode == 0 and out.read_bytes() == b"through kms", p.stderr
    out.unlink()
    boto3.client("kms", region_name="us-east-1").disable_key(KeyId=arn.split("/")[-1])
    p = run("decrypt", "-i", f"awskms:{arn}", enc, "-o", out)
    assert p.returncode == 1 and b"DisabledException" in p.stderr and not out.exists()


def test_the_encryption_context_is_the_documented_one() -> None:
    from stc.keys.recipients.kms import _context

    assert _context(b"L" * 32) == {"stc:purpose": "file key",
                                   "stc:header": "TExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTEw="}


def test_kms_errors_are_named_from_the_response() -> None:
    from botocore.exceptions import ClientError

    from stc.keys.recipients.kms import _kms_error

    assert _kms_error(ClientError({"Error": {"Code": "DisabledException", "Message": "it is off"}}, "Decrypt")) == \
        ("DisabledException", "it is off")
    assert _kms_error(ClientError({"Error": {}}, "Decrypt")) == ("ClientError", "")
    assert _kms_error(ClientError({}, "Decrypt")) == ("ClientError", "")
    assert _kms_error(ConnectionError("no route")) == ("ConnectionError", "no route")


def test_kms_without_boto3(monkeypatch: pytest.MonkeyPatch) -> None:
    from stc.keys.recipients import kms

    monkeypatch.setitem(sys.modules, "boto3", None)
    with pytest.raises(errors.ParameterError, match=r"^AWS KMS keys need boto3: pip install 'stc-authenc\[kms\]'$"):
        kms._client("arn:aws:kms:us-east-1:111122223333:key/x")


def test_kms_body_bounds() -> None:
    from stc.keys.recipients.kms import MAX_ARN, _body

    arn = "a" * MAX_ARN
    full = _body(arn, b"c" * (1024 - 4 - MAX_ARN))  # fills the body exactly
    assert len(full) == 1024 and parse_body(full) == (arn, b"c" * (1024 - 4 - MAX_ARN))
    with pytest.raises(errors.ParameterError, match=r"^the KMS ciphertext \(721 bytes\) does not fit a 1024-byte "
                                                    r"stanza$"):
        _body(arn, b"c" * (1024 - 4 - MAX_ARN + 1))
    assert parse_body(_body("a", b"c")) == ("a", b"c")
    assert parse_body(b"\x00\x01a\x00\x01c") == ("a", b"c")  # a body that ends right after its blob
    with pytest.raises(errors.FormatError, match=r"^a KMS stanza's key ARN length is out of range$"):
        parse_body((MAX_ARN + 1).to_bytes(2, "big") + bytes(1022))
    with pytest.raises(errors.FormatError, match=r"^a KMS stanza's key ARN length is out of range$"):
        parse_body(b"\x00\x05abc")  # the ARN runs past the body
    with pytest.raises(errors.FormatError, match=r"^a KMS stanza's ciphertext length or padding is malformed$"):
        parse_body(b"\x00\x01a\x00\x02c")  # the blob runs past the body
    with pytest.raises(errors.FormatError, match=r"^a KMS stanza's key ARN is not ASCII$"):
        parse_body(b"\x00\x01\xff\x00\x01c")
    with pytest.raises(errors.ParameterError, match=r"^malformed AWS KMS key: expected "
                                                    r"awskms:arn:aws:kms:REGION:ACCOUNT:key/ID$"):
        AwsKmsRecipient("garbage")
    prefix = "arn:aws:kms:us-east-1:111122223333:alias/"
    assert stc.parse_recipient("awskms:" + prefix + "a" * (MAX_ARN - len(prefix)))  # 300 characters: the longest
    with pytest.raises(errors.ParameterError, match="malformed AWS KMS key"):
        stc.parse_recipient("awskms:" + prefix + "a" * (MAX_ARN + 1 - len(prefix)))


def test_the_given_client_is_used_and_key_sizes_are_checked(kms: dict[str, Any]) -> None:
    arn = kms["new_key"]("eu-west-1")
    wrong_region = boto3.client("kms", region_name="us-east-1")
    with pytest.raises(errors.ParameterError, match="AWS KMS refused to encrypt"):
        AwsKmsRecipient(arn, client=wrong_region).wrap(bytes(32), b"L" * 32)
    stanza = AwsKmsRecipient(arn).wrap(bytes(32), b"L" * 32)
    with pytest.raises(errors.DecryptionError, match="AWS KMS refused to decrypt"):
        AwsKmsIdentity(arn, client=wrong_region).unwrap(stanza, b"L" * 32)
    assert AwsKmsIdentity(arn).unwrap(stanza, b"L" * 32) == bytes(32)
    from stc.keys.recipients.kms import _body, _context

    client = boto3.client("kms", region_name="eu-west-1")
    short = client.encrypt(KeyId=arn, Plaintext=bytes(16), EncryptionContext=_context(b"L" * 32))["CiphertextBlob"]
    assert AwsKmsIdentity(arn).unwrap(Stanza(KMS, _body(arn, short)), b"L" * 32) is None  # not a 32-byte file key
    assert AwsKmsIdentity(arn).to_string() == f"awskms:{arn}"
    import pickle

    assert pickle.loads(pickle.dumps(AwsKmsIdentity(arn))).to_string() == f"awskms:{arn}"  # names a key only
