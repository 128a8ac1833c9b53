"""After ``os.fork()``, give registered objects a chance to renew their state in the child.

A child inherits its parent's memory: a lock another thread held at fork time stays
held forever, and a sender's sequence counter or buffered randomness would be reused.
Objects that care register here and get ``_after_fork_in_child()`` called in the child
before any of its code runs (``os.register_at_fork``).
"""

from __future__ import annotations

import os
import weakref
from typing import Protocol


class ForkAware(Protocol):
    """An object that renews its locks, randomness or sender identity in a forked child."""

    def _after_fork_in_child(self) -> None: ...


_registry: weakref.WeakSet[ForkAware] = weakref.WeakSet()


def register(obj: ForkAware) -> None:
    """Call ``obj._after_fork_in_child()`` in every child forked while ``obj`` is alive."""
    _registry.add(obj)


def _renew_all() -> None:
    for obj in list(_registry):
        obj._after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_renew_all)
