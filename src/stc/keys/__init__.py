"""Who can open what: the version-2 file-key envelope (recipient and passphrase stanzas, the
sealed directory, the header MAC), key slots of a context (cached Argon2id keys, version-1
slots), version-3 message sessions, and the recipients and identities themselves (one module
per kind under :mod:`stc.keys.recipients`).

It imports :mod:`stc.crypto`, :mod:`stc.formats` and, for the opener type of files,
:mod:`stc.files.stream`.
"""
