"""The C2SP CCTV age test vectors (tests/vectors/age/SOURCE.md): every file gives its expected outcome.

Outcomes map to STC's errors: ``no match`` is a WrongPasswordError (NoMatchingIdentityError for
keys), ``HMAC failure`` an IntegrityError about the header MAC, ``header failure`` a FormatError
of the header or its stanzas, ``armor failure`` a FormatError of the armor, ``payload failure``
an IntegrityError of the payload.  Where decryption fails midway, what was released before the
error is checked against the vector's payload hash, as the suite asks.
"""

from __future__ import annotations

import hashlib
import io
import zlib
from collections import Counter
from pathlib import Path

import pytest

from stc import age
from stc.errors import FormatError, IntegrityError, NoMatchingIdentityError, WrongPasswordError

CCTV = Path(__file__).resolve().parents[1] / "vectors" / "age" / "cctv"
NAMES = sorted(p.name for p in CCTV.iterdir())
MAX_INFLATED = 64 << 20
#: Vectors of features STC does not implement, by name, with the reason (none today).
SKIPPED: dict[str, str] = {}


def load(name: str) -> tuple[dict[str, list[str]], bytes]:
    raw = (CCTV / name).read_bytes()
    text, _, body = raw.partition(b"\n\n")
    fields: dict[str, list[str]] = {}
    for line in text.decode().splitlines():
        key, _, value = line.partition(": ")
        fields.setdefault(key, []).append(value)
    if fields.get("compressed") == ["zlib"]:
        inflater = zlib.decompressobj()
        body = inflater.decompress(body, MAX_INFLATED)
        assert not inflater.unconsumed_tail, "a vector inflates beyond the test's bound"
    return fields, body


def outcome(name: str) -> tuple[str, bytes]:
    """What STC does with vector ``name``: (outcome in the suite's words, the plaintext released)."""
    fields, body = load(name)
    out = io.BytesIO()
    passphrase = fields.get("passphrase", [None])[0]
    try:
        age.decrypt(io.BytesIO(body), out, identities=fields.get("identity", []), passphrase=passphrase,
                    armored=fields.get("armored") == ["yes"] or None)
    except WrongPasswordError:  # NoMatchingIdentityError too
        return "no match", out.getvalue()
    except FormatError as exc:
        return ("armor failure" if str(exc).startswith("armor:") else "header failure"), out.getvalue()
    except IntegrityError as exc:
        return ("HMAC failure" if "header MAC" in str(exc) else "payload failure"), out.getvalue()
    return "success", out.getvalue()


@pytest.mark.parametrize("name", NAMES)
def test_cctv_vector(name: str) -> None:
    if name in SKIPPED:
        pytest.skip(SKIPPED[name])
    fields, _ = load(name)
    got, released = outcome(name)
    assert got == fields["expect"][0]
    if "payload" in fields:
        assert hashlib.sha256(released).hexdigest() == fields["payload"][0]
    else:
        assert released == b""


def test_cctv_count(capsys: pytest.CaptureFixture[str]) -> None:
    """Prints passed / skipped / failed over the whole suite (issue 26 asks for the count)."""
    tally: Counter[str] = Counter()
    for name in NAMES:
        if name in SKIPPED:
            tally["skipped"] += 1
            continue
        fields, _ = load(name)
        got, released = outcome(name)
        ok = got == fields["expect"][0] and (
            hashlib.sha256(released).hexdigest() == fields["payload"][0] if "payload" in fields else released == b"")
        tally["passed" if ok else "failed"] += 1
    with capsys.disabled():
        print(f"\nCCTV age vectors: {tally['passed']} passed, {tally['skipped']} skipped, {tally['failed']} failed "
              f"of {len(NAMES)}")
    assert len(NAMES) == 143
    assert tally["failed"] == 0


def test_outcomes_are_distinct_errors() -> None:
    """A test that cannot fail is a defect: the mapping above tells the outcomes apart."""
    assert issubclass(NoMatchingIdentityError, WrongPasswordError)
    assert outcome("x25519_no_match")[0] == "no match"
    assert outcome("hmac_bad")[0] == "HMAC failure"
    assert outcome("stream_bad_tag")[0] == "payload failure"
    assert outcome("armor_garbage_leading")[0] == "armor failure"
    assert outcome("header_crlf")[0] == "header failure"
