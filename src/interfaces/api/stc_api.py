"""Manual import path for the main API: a thin re-export of :mod:`stc`."""

from stc import *  # noqa: F403
from stc import STCContext, decrypt, encrypt  # noqa: F401
