"""The module paths of earlier releases that pickles name, served by today's modules.

Headers pickle as ``(Class.from_bytes, (wire bytes,))``; a pickle names the class by the module
it lived in.  Release 0.4.1 and before kept headers in ``stc.metadata``, ``stc.format_v2`` and
``stc.format_v3`` (the manual saves them to ``.meta`` files), and ``Secret`` in ``stc.secret``.
Importing one of those names gives today's module, only when something asks for it.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import sys
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the protocol, for the type checker only (importing importlib.abc is slow)
    from importlib.abc import Loader as _Loader
else:
    _Loader = object

#: Old module name -> the module that holds its pickled classes now.
ALIASES = {
    "stc.metadata": "stc.formats.v1",
    "stc.format_v2": "stc.formats.v2",
    "stc.format_v3": "stc.formats.v3",
    "stc.secret": "stc.crypto.secret",
}


class _Alias(_Loader):
    """Finds the old names, and loads each as the module it became (one module object, two names).
    A meta-path finder and loader by protocol: ``importlib.abc`` would cost ``stc --help`` 30 ms."""

    def find_spec(self, fullname: str, path: object = None,
                  target: object = None) -> importlib.machinery.ModuleSpec | None:
        if fullname not in ALIASES:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return importlib.import_module(ALIASES[spec.name])

    def exec_module(self, module: ModuleType) -> None:
        return  # already executed under its own name


def install() -> None:
    """Serve the old names (once per process)."""
    if not any(isinstance(finder, _Alias) for finder in sys.meta_path):
        sys.meta_path.append(_Alias())
