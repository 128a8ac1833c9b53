"""The package layout is the architecture (docs/design.md, "Architecture"): layers point one way.

Every import between STC's modules is read from the source (``ast``; nothing is imported) and
checked against the layer table below: a module may import its own package, the packages of
lower layers and :mod:`stc.errors`, never a higher one.  The only exceptions are the lazy
imports listed in ``LAZY``, each with its reason.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "stc"

#: Layer of each package (or top-level module); a module may import only layers <= its own
#: (same-layer packages only where ``SIDEWAYS`` says so).
LAYERS = {
    "errors": 0,
    "crypto": 1,
    "formats": 2,
    "files": 3, "keys": 3, "p2p": 3,
    "context": 4,
    "api": 5, "age": 5, "fs": 5, "folders": 5, "identities": 5, "streaming": 5,
    "__init__": 6,  # re-exports the front doors, each loaded on first use
    "cli": 7,
    "__main__": 8,
}
#: Same-layer imports that are allowed: (importer package, imported package).
SIDEWAYS: set[tuple[str, str]] = {
    # Noise sessions are authenticated by the identities that open files (keys never imports p2p).
    ("p2p", "keys"),
    # A protected identity file may be an age file (age -p), read by the age front door.
    ("identities", "age"),
}
#: What p2p may use: frames need primitives and formats; sessions need the identities of ``keys``.
P2P_USES = {"errors", "crypto", "formats", "p2p", "keys"}
#: Lazy imports (inside a function) that point up, each for start-up time or to break a cycle.
LAZY = {
    # ``Secret`` is a crypto-layer value; its token needs the context-data encoding, loaded on use.
    ("crypto.secret", "crypto.encoding"),
}


def _package(module: str) -> str:
    return module.split(".")[0]


def _modules() -> dict[str, Path]:
    out = {}
    for path in SRC.rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports(module: str, path: Path) -> list[tuple[str, bool]]:
    """(imported module within stc, lazy?) for every import of ``module``."""
    tree = ast.parse(path.read_text())
    is_pkg = path.name == "__init__.py"
    base = module.split(".") if module != "__init__" else []
    if not is_pkg:
        base = base[:-1]
    found = []
    top_level = set(map(id, tree.body))

    def lazy(node: ast.AST) -> bool:
        return id(node) not in top_level and not _in_type_checking(tree, node)

    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                target = ".".join([*anchor, *([node.module] if node.module else [])])
            elif node.module and (node.module == "stc" or node.module.startswith("stc.")):
                target = node.module[4:]
            else:
                continue
            names = [f"{target}.{a.name}" if target else a.name for a in node.names]
            for name in names:
                found.append((name if name.split(".")[0] in LAYERS or not target else target, lazy(node)))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("stc."):
                    found.append((alias.name[4:], lazy(node)))
    return found


def _in_type_checking(tree: ast.Module, node: ast.AST) -> bool:
    return any(isinstance(stmt, ast.If) and isinstance(stmt.test, ast.Name) and stmt.test.id == "TYPE_CHECKING"
               and any(node is child for child in ast.walk(stmt)) for stmt in tree.body)


def _layer(name: str) -> int:
    return LAYERS[_package(name)] if _package(name) in LAYERS else LAYERS["__init__"]


MODULES = _modules()


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down(module: str) -> None:
    mine = _package(module)
    for target, is_lazy in _imports(module, MODULES[module]):
        theirs = _package(target)
        if target in ("", "__version__") or theirs == mine:  # the version string is a leaf constant
            continue
        if is_lazy and (module, target) in LAZY:
            continue
        if mine == "p2p":
            assert theirs in P2P_USES, f"{module} (p2p) imports {target}"
        up = _layer(target) > _layer(module) or (
            _layer(target) == _layer(module) and (mine, theirs) not in SIDEWAYS and theirs != mine)
        assert not up, f"{module} (layer {_layer(module)}) imports {target} (layer {_layer(target)})"


def test_every_package_has_a_layer() -> None:
    assert {_package(m) for m in MODULES} <= set(LAYERS)


def test_the_checker_catches_an_upward_import(tmp_path: Path) -> None:
    """A test that cannot fail is a defect: an import from formats to files is found."""
    bad = tmp_path / "v9.py"
    bad.write_text("from ..files.stream import encrypt_file\n")
    assert _imports("formats.v9", bad) == [("files.stream.encrypt_file", False)]
    assert _layer("files.stream") > _layer("formats.v9")


def _edges(module: str, path: Path) -> set[str]:
    """The modules ``module`` imports (any depth of laziness, but not under TYPE_CHECKING): a
    ``from . import x`` counts the package too, since Python runs its ``__init__`` first."""
    tree = ast.parse(path.read_text())
    base = module.split(".") if module != "__init__" else []
    if path.name != "__init__.py":
        base = base[:-1]
    out: set[str] = set()

    def as_module(name: str) -> str:
        parts = name.split(".")
        while parts and ".".join(parts) not in MODULES:
            parts.pop()
        return ".".join(parts) or "__init__"

    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom) or _in_type_checking(tree, node):
            continue
        if node.level:
            anchor = base[: len(base) - (node.level - 1)] if node.level > 1 else base
            target = ".".join([*anchor, *([node.module] if node.module else [])])
        elif node.module and node.module.startswith("stc."):
            target = node.module[4:]
        else:
            continue
        if node.module is None or (node.level == 0 and node.module == "stc"):
            out.add(as_module(target))
        out.update(as_module(f"{target}.{a.name}" if target else a.name) for a in node.names)
    out.discard(module)
    return out


def test_no_import_cycles() -> None:
    graph = {m: _edges(m, p) for m, p in MODULES.items()}
    state: dict[str, int] = {}

    def visit(m: str, trail: list[str]) -> None:
        state[m] = 1
        for n in sorted(graph.get(m, ())):
            if state.get(n) == 1:
                raise AssertionError(" -> ".join([*trail[trail.index(n):], n]) if n in trail else f"{m} -> {n}")
            if n not in state:
                visit(n, [*trail, n])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
