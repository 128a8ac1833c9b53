"""Every wire format's grammar: version-1, -2 and -3 headers, the "any header" dispatch, armor
and saved state, each a frozen description with a bounded parser and an encoder.

Nothing here derives or holds a key (the keys that open a header are in :mod:`stc.keys`); it
imports only :mod:`stc.crypto` (for sizes, suites and KDF costs) and :mod:`stc.errors`.
"""
