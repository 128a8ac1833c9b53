"""What a strict user of the library meets (issue 22, item 7): checked by ``mypy --strict`` in
CI (the README's test command lists this file) and run by pytest, so each type claim is true
at run time too."""

from __future__ import annotations

import inspect
import pydoc
import sys
from pathlib import Path

import pytest

import stc
from stc import errors

if sys.version_info >= (3, 11):
    from typing import assert_type
else:  # pragma: no cover - 3.10
    from typing_extensions import assert_type

LATTICE, DEPTH = 64, 4  # the least cost a writer accepts: 16 MiB, 2 passes


def test_good_decrypt_blob_gives_the_type_asked_for() -> None:
    blob = stc.encrypt_blob(b"data", "pw", lattice_size=LATTICE, depth=DEPTH)
    as_bytes = stc.decrypt_blob(blob, "pw", text=False)
    assert_type(as_bytes, bytes)
    assert as_bytes.decode() == "data"  # the call the strict user could not type-check
    either = stc.decrypt_blob(blob, "pw")
    assert_type(either, "str | bytes")
    assert either == b"data"
    text_blob = stc.encrypt_blob("naïve", "pw", lattice_size=LATTICE, depth=DEPTH)
    as_text = stc.decrypt_blob(text_blob, "pw", text=True)
    assert_type(as_text, str)
    assert as_text.upper() == "NAÏVE"
    assert stc.decrypt_blob(text_blob, "pw") == "naïve"
    assert stc.decrypt_blob(text_blob, "pw", text=False) == "naïve".encode()  # the UTF-8 that was encrypted
    assert stc.decrypt_blob(blob, "pw", text=True) == "data"  # binary that is UTF-8 decodes


def test_fail_text_true_on_binary_that_is_not_utf8() -> None:
    blob = stc.encrypt_blob(b"\xff\xfe", "pw", lattice_size=LATTICE, depth=DEPTH)
    with pytest.raises(stc.ParameterError, match="binary data, not UTF-8 text"):
        stc.decrypt_blob(blob, "pw", text=True)
    ctx = stc.STCContext("typed", lattice_size=LATTICE, depth=DEPTH)
    ciphertext, meta = ctx.encrypt(b"\xff\xfe", "pw")
    with pytest.raises(stc.ParameterError, match="binary data"):
        ctx.decrypt(ciphertext, meta, "pw", text=True)
    with pytest.raises(stc.ParameterError, match="binary data"):
        stc.decrypt(ciphertext, meta, "pw", seed="typed", text=True)


def test_good_context_and_module_decrypt_follow_text_too() -> None:
    ctx = stc.STCContext("typed", lattice_size=LATTICE, depth=DEPTH)
    ciphertext, meta = ctx.encrypt("text", "pw")
    assert_type(ctx.decrypt(ciphertext, meta, "pw", text=False), bytes)
    assert ctx.decrypt(ciphertext, meta, "pw", text=False) == b"text"
    assert_type(ctx.decrypt(ciphertext, meta, "pw", text=True), str)
    assert_type(ctx.decrypt_blob(meta.to_bytes() + ciphertext, "pw", text=False), bytes)
    assert ctx.decrypt_blob(meta.to_bytes() + ciphertext, "pw", text=False) == b"text"
    assert_type(stc.decrypt(ciphertext, meta, "pw", seed="typed", text=False), bytes)
    assert stc.decrypt(ciphertext, meta, "pw", seed="typed") == "text"


def test_good_open_is_typed_by_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "typed.stc"
    with stc.open(path, "wb", password="pw", lattice_size=LATTICE, depth=DEPTH) as out:
        assert_type(out, stc.EncryptingWriter)
        out.write(b"hello")
    with stc.open(path, password="pw") as back:
        assert_type(back, stc.DecryptingReader)
        assert back.read() == b"hello"
    with stc.open(path, "rb", password="pw") as again:
        assert_type(again, stc.DecryptingReader)
        assert again.seek(1) == 1 and again.read(2) == b"el"


def test_good_every_error_class_is_exported_from_stc() -> None:
    classes = {name for name, obj in vars(errors).items()
               if inspect.isclass(obj) and issubclass(obj, Warning | Exception) and obj.__module__ == errors.__name__}
    assert {"HandshakeError", "JournalWarning", "NoMatchingIdentityError"} <= classes
    for name in classes:
        assert getattr(stc, name) is getattr(errors, name) and name in stc.__all__


@pytest.mark.parametrize("name", ["decrypt_blob", "decrypt", "encrypt", "open", "rekey", "encrypt_file"])
def test_good_help_shows_annotations_quoted_once(name: str) -> None:
    text = pydoc.render_doc(getattr(stc, name), renderer=pydoc.plaintext)  # type: ignore[attr-defined]
    assert "\"'" not in text and "'\"" not in text, text
    assert "str | bytes" in text or "PathLike" in text or "Any" in text
