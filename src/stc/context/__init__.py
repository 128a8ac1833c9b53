"""The context layer: :class:`STCContext`, the manual's main object, joining the keys layer
(passphrases, recipients, sessions) to the files layer (chunk loops, file objects).

:mod:`.core` holds the context itself (seed, cost, epochs, hashing, entropy health, saved
state); :mod:`.messages` its message methods and :mod:`.streams` its file methods, as mixins.
"""

from .core import STCContext, decrypting_context
from .messages import as_asked

__all__ = ["STCContext", "as_asked", "decrypting_context"]
