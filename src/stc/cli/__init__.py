"""The ``stc`` command line: a thin layer over the public API (no crypto here).

Exit codes: 0 success; 1 the input could not be decrypted or authenticated
(wrong passphrase or identity, wrong context, tampering, truncation, not STC data);
2 usage or I/O error.  Nothing partial is left at the output path on failure.
"""

from __future__ import annotations

import click

from .. import __version__
from .crypt import decrypt, encrypt, inspect
from .keys import keygen, rekey
from .tools import bench, demo, stream_demo_cmd


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="stc")
def main() -> None:
    """STC: authenticated encryption for messages, files of any size and live P2P frames.

    Built only from vetted primitives (AES-256-GCM or ChaCha20-Poly1305, Argon2id,
    HKDF-SHA256, X25519, ML-KEM-768) through pyca/cryptography.  Exit codes: 0 ok,
    1 decryption or authentication failure, 2 usage or I/O error.
    """


for command in (encrypt, decrypt, inspect, keygen, rekey, demo, stream_demo_cmd, bench):
    main.add_command(command)

__all__ = ["main"]
