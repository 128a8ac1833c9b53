"""Files on disk and in streams: the STREAM chunk loops (one core, or both for regular files),
encrypted file objects, atomic outputs, header-only re-keying on disk and tar extraction that
never follows a link.

It takes a key (an AEAD, or an *opener* that finds one for a header) and header bytes; it knows
nothing of contexts, passwords or recipients.  It imports :mod:`stc.crypto` and
:mod:`stc.formats`.
"""
