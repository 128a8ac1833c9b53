"""Noise handshake patterns (rev 34 §7) and the ``psk`` modifiers (§9), as token lists.

A pattern is its pre-messages (keys known in advance, §7.1) and its messages; each message is
a tuple of tokens, the first written by the initiator.  ``parse_protocol_name`` reads a full
name such as ``Noise_XXpsk3_25519_ChaChaPoly_BLAKE2s``.  Fallback patterns (§10.2) are not
here: nothing in STC sends them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ...errors import ParameterError

# name: (initiator pre-message, responder pre-message, messages), in the specification's notation.
_TABLE = {
    # one-way (§7.4)
    "N": ("", "s", ["e, es"]),
    "K": ("s", "s", ["e, es, ss"]),
    "X": ("", "s", ["e, es, s, ss"]),
    # interactive, fundamental (§7.5)
    "NN": ("", "", ["e", "e, ee"]),
    "NK": ("", "s", ["e, es", "e, ee"]),
    "NX": ("", "", ["e", "e, ee, s, es"]),
    "XN": ("", "", ["e", "e, ee", "s, se"]),
    "XK": ("", "s", ["e, es", "e, ee", "s, se"]),
    "XX": ("", "", ["e", "e, ee, s, es", "s, se"]),
    "KN": ("s", "", ["e", "e, ee, se"]),
    "KK": ("s", "s", ["e, es, ss", "e, ee, se"]),
    "KX": ("s", "", ["e", "e, ee, se, s, es"]),
    "IN": ("", "", ["e, s", "e, ee, se"]),
    "IK": ("", "s", ["e, es, s, ss", "e, ee, se"]),
    "IX": ("", "", ["e, s", "e, ee, se, s, es"]),
    # interactive, deferred (§7.6)
    "NK1": ("", "s", ["e", "e, ee, es"]),
    "NX1": ("", "", ["e", "e, ee, s", "es"]),
    "X1N": ("", "", ["e", "e, ee", "s", "se"]),
    "X1K": ("", "s", ["e, es", "e, ee", "s", "se"]),
    "XK1": ("", "s", ["e", "e, ee, es", "s, se"]),
    "X1K1": ("", "s", ["e", "e, ee, es", "s", "se"]),
    "X1X": ("", "", ["e", "e, ee, s, es", "s", "se"]),
    "XX1": ("", "", ["e", "e, ee, s", "es, s, se"]),
    "X1X1": ("", "", ["e", "e, ee, s", "es, s", "se"]),
    "K1N": ("s", "", ["e", "e, ee", "se"]),
    "K1K": ("s", "s", ["e, es", "e, ee", "se"]),
    "KK1": ("s", "s", ["e", "e, ee, se, es"]),
    "K1K1": ("s", "s", ["e", "e, ee, es", "se"]),
    "K1X": ("s", "", ["e", "e, ee, s, es", "se"]),
    "KX1": ("s", "", ["e", "e, ee, se, s", "es"]),
    "K1X1": ("s", "", ["e", "e, ee, s", "se, es"]),
    "I1N": ("", "", ["e, s", "e, ee", "se"]),
    "I1K": ("", "s", ["e, es, s", "e, ee", "se"]),
    "IK1": ("", "s", ["e, s", "e, ee, se, es"]),
    "I1K1": ("", "s", ["e, s", "e, ee, es", "se"]),
    "I1X": ("", "", ["e, s", "e, ee, s, es", "se"]),
    "IX1": ("", "", ["e, s", "e, ee, se, s", "es"]),
    "I1X1": ("", "", ["e, s", "e, ee, s", "se, es"]),
}
_NAME = re.compile(r"Noise_([A-Z0-9]+?)((?:psk[0-9]+)(?:\+psk[0-9]+)*)?_([A-Za-z0-9]+)_([A-Za-z0-9]+)_([A-Za-z0-9]+)")


def _tokens(text: str) -> tuple[str, ...]:
    return tuple(t.strip() for t in text.split(",") if t.strip())


@dataclass(frozen=True)
class Pattern:
    """One handshake pattern with its modifiers applied."""

    name: str
    initiator_pre: tuple[str, ...]
    responder_pre: tuple[str, ...]
    messages: tuple[tuple[str, ...], ...]
    psks: int  # how many "psk" tokens

    @property
    def one_way(self) -> bool:
        """One-way patterns (N, K, X) have one message; the responder never sends."""
        return len(self.messages) == 1


@dataclass(frozen=True)
class Protocol:
    """A parsed protocol name: the pattern and the names of its DH, cipher and hash."""

    name: str
    pattern: Pattern
    dh: str
    cipher: str
    hash: str


def pattern(base: str, modifiers: str = "") -> Pattern:
    """The pattern ``base`` with ``psk`` modifiers such as ``"psk0+psk2"`` applied (§9.2)."""
    if base not in _TABLE:
        raise ParameterError(f"unknown Noise handshake pattern {base!r} (fallback patterns are not supported)")
    pre_i, pre_r, texts = _TABLE[base]
    messages = [list(_tokens(m)) for m in texts]
    psks = 0
    seen: set[int] = set()
    for modifier in [m for m in modifiers.split("+") if m]:
        match = re.fullmatch(r"psk([0-9]+)", modifier)
        if not match or int(match[1]) > len(messages) or int(match[1]) in seen:
            raise ParameterError(f"Noise modifier {modifier!r} does not fit pattern {base!r}")
        index = int(match[1])
        seen.add(index)
        if index == 0:
            messages[0].insert(0, "psk")
        else:
            messages[index - 1].append("psk")
        psks += 1
    return Pattern(base + modifiers, _tokens(pre_i), _tokens(pre_r), tuple(tuple(m) for m in messages), psks)


def parse_protocol_name(name: str) -> Protocol:
    """``Noise_<pattern><modifiers>_<dh>_<cipher>_<hash>``; ParameterError if any part is unknown."""
    from .primitives import CIPHERS, DHS, HASHES

    match = _NAME.fullmatch(name) if isinstance(name, str) else None
    if match is None:
        raise ParameterError(f"not a Noise protocol name: {name!r} (e.g. Noise_XX_25519_ChaChaPoly_BLAKE2s)")
    base, modifiers, dh, cipher, hash_name = match.groups()
    for value, known, what in ((dh, DHS, "DH"), (cipher, CIPHERS, "cipher"), (hash_name, HASHES, "hash")):
        if value not in known:
            raise ParameterError(f"unknown Noise {what} {value!r}; known: {', '.join(known)}")
    return Protocol(name, pattern(base, modifiers or ""), dh, cipher, hash_name)
