"""Identity files, plain or protected by a passphrase: ``stc.load_identities(path, password=…)``.

A protected identity file is the identity file's text encrypted under a passphrase, in either
of two forms: an armored STC message (what ``stc keygen --protect`` writes: Argon2id, the
default seed, no context data, so ``stc decrypt`` opens it by hand too), or an age file with a
scrypt stanza (what ``age-keygen | age -p -a`` writes, and what ``age -d -i`` reads).  Both are
read whole into memory, bounded by :data:`~stc.keys.recipients.text.MAX_IDENTITY_FILE`; the
decrypted text never touches the disk.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable

from . import age
from .context import STCContext
from .crypto.encoding import DEFAULT_SEED, Password
from .errors import ParameterError
from .formats import armor
from .keys.recipients import Identity, parse_identity
from .keys.recipients.text import MAX_IDENTITY_FILE, identity_lines

#: Extra room for the encryption around an identity file's text.
_ENVELOPE = 1 << 16

PasswordSource = Password | Callable[[], Password] | None


def is_protected(data: bytes) -> bool:
    """True if ``data`` (an identity file's first bytes) is encrypted: STC (binary or armored) or age."""
    return data[:4] in (b"STCF", b"STCM") or armor.is_armored(data[: armor.DETECT]) or age.is_age(data[: age.DETECT])


def protect(text: str, password: Password, *, lattice_size: int = 128, depth: int = 6) -> bytes:
    """An identity file's ``text`` encrypted under ``password``: an armored STC message (ASCII)."""
    blob = STCContext(DEFAULT_SEED, lattice_size=lattice_size, depth=depth).encrypt_blob(text.encode("utf-8"), password)
    out = io.BytesIO()
    writer = armor.ArmorWriter(out)
    writer.write(blob)
    writer.close()
    return out.getvalue()


def unprotect(data: bytes, password: Password, source: str = "the identity file") -> bytes:
    """The text of a protected identity file (WrongPasswordError for a wrong passphrase)."""
    if age.is_age(data[: age.DETECT]):
        out = io.BytesIO()
        age.decrypt(io.BytesIO(data), out, passphrase=password)
        return out.getvalue()
    blob = armor.ArmorReader(io.BytesIO(data)).read() if armor.is_armored(data[: armor.DETECT]) else data
    if blob[:4] != b"STCM":
        raise ParameterError(f"{source} is an encrypted STC file, not a protected identity (an STC message)")
    return STCContext(DEFAULT_SEED).decrypt_blob(blob, password, text=False)


def load_identities(path: str | os.PathLike[str], password: PasswordSource = None) -> list[Identity]:
    """Every identity in an identity file, plain or protected.  ``password`` (or a callable that
    returns it, called only if the file is protected) opens a protected one."""
    with open(path, "rb") as f:
        data = f.read(MAX_IDENTITY_FILE + _ENVELOPE + 1)
    source = os.fspath(path)
    if len(data) > MAX_IDENTITY_FILE + _ENVELOPE:
        raise ParameterError(f"{source} is larger than an identity file can be")
    if is_protected(data):
        secret = password() if callable(password) else password
        if secret is None:
            raise ParameterError(f"{source} is protected by a passphrase; give it (password=…, or "
                                 "--identity-passphrase-file)")
        data = unprotect(data, secret, source)
    return [parse_identity(line) for line in identity_lines(data, source)]


__all__ = ["is_protected", "load_identities", "protect", "unprotect"]
