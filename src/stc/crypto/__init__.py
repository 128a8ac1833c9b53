"""The primitives layer: suites (AEADs), key derivation (Argon2id, HKDF), canonical encodings
of seeds, passwords and context data, payload keys and STREAM nonces, the CEL epoch keys, the
PHE keyed hash, entropy health, ``Secret`` and fork safety.

It knows no wire format and imports nothing of STC but :mod:`stc.errors`; every cryptographic
operation comes from pyca/cryptography (or hashlib's BLAKE2b).
"""
