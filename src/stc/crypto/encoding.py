"""Canonical, injective byte encodings for seeds, passwords and context data.

Keys are derived from these bytes, so two different inputs must never encode
alike, and the same input must always encode alike (sorted dict keys, strict
types).  The grammar is specified in docs/format.md, section "Context data".
"""

from __future__ import annotations

import math
import struct
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Union

from ..errors import ParameterError

ContextData = Union[None, bool, int, float, str, bytes, Sequence["ContextData"], Mapping[str, "ContextData"]]
Seed = Union[str, bytes, int]
Password = Union[str, bytes]

MAX_CONTEXT_DEPTH = 32

#: Seed of the module-level helpers, core.streaming and the CLI when none is given.  It is
#: public: with it, the password alone protects the data.
DEFAULT_SEED = "stc-default-seed-v1"

_U32 = struct.Struct(">I")


def utf8(text: str, what: str) -> bytes:
    """UTF-8 of ``text``; ParameterError (naming ``what``, never the text) if it holds a lone surrogate."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ParameterError(
            f"{what} is not valid text: it holds an unpaired surrogate at position {exc.start}"
        ) from None


def encode_seed(seed: Seed) -> bytes:
    """Tag the seed with its type so that ``'1'``, ``b'1'`` and ``1`` differ."""
    if isinstance(seed, bool):
        raise ParameterError("seed must be str, bytes or int, not bool")
    if isinstance(seed, str):
        return b"s" + utf8(seed, "the seed")
    if isinstance(seed, (bytes, bytearray, memoryview)):
        return b"b" + bytes(seed)
    if isinstance(seed, int):
        return b"i" + seed.to_bytes(seed.bit_length() // 8 + 1, "big", signed=True)
    raise ParameterError(f"seed must be str, bytes or int, not {type(seed).__name__}")


def encode_password(password: Password) -> bytes:
    """UTF-8 of the NFC form (so the same typed text always derives the same key)."""
    if isinstance(password, str):
        out = utf8(unicodedata.normalize("NFC", password), "the password")
    elif isinstance(password, (bytes, bytearray, memoryview)):
        out = bytes(password)
    else:
        raise ParameterError(f"password must be str or bytes, not {type(password).__name__}")
    if not out:
        raise ParameterError("password must not be empty")
    return out


def encode_context(value: ContextData) -> bytes:
    """Encode context data canonically; ``None`` (no context) encodes as ``b''``."""
    if value is None:
        return b""
    out = bytearray()
    _encode_value(value, out, 0)
    return bytes(out)


def _lv(tag: bytes, body: bytes, out: bytearray) -> None:
    out += tag
    out += _U32.pack(len(body))
    out += body


def _encode_value(value: object, out: bytearray, depth: int) -> None:
    if depth > MAX_CONTEXT_DEPTH:
        raise ParameterError(f"context data nested deeper than {MAX_CONTEXT_DEPTH} levels")
    if value is None:
        out += b"N"
    elif value is True:
        out += b"T"
    elif value is False:
        out += b"F"
    elif isinstance(value, int):
        _lv(b"I", value.to_bytes(value.bit_length() // 8 + 1, "big", signed=True), out)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ParameterError("context data may not contain NaN or infinity")
        out += b"R" + struct.pack(">d", value)
    elif isinstance(value, str):
        _lv(b"S", utf8(value, "a context data string"), out)
    elif isinstance(value, (bytes, bytearray, memoryview)):
        _lv(b"B", bytes(value), out)
    elif isinstance(value, Mapping):
        items = []
        for key, item in value.items():
            if not isinstance(key, str):
                raise ParameterError(f"context data keys must be str, not {type(key).__name__}")
            items.append((utf8(key, "a context data key"), item))
        items.sort(key=lambda pair: pair[0])
        out += b"D" + _U32.pack(len(items))
        for key_bytes, item in items:
            _lv(b"S", key_bytes, out)
            _encode_value(item, out, depth + 1)
    elif isinstance(value, (list, tuple)):
        out += b"L" + _U32.pack(len(value))
        for item in value:
            _encode_value(item, out, depth + 1)
    else:
        raise ParameterError(
            f"context data may hold None, bool, int, float, str, bytes, list, tuple and dict "
            f"with str keys; got {type(value).__name__}"
        )
