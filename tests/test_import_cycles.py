"""No import cycles in ``realsr_cli``: between its packages (every import, deferred ones too: the packages form
layers) and between its modules (imports run at import time). Imports under ``if TYPE_CHECKING:`` do not count, nor
do the root package's deferred imports (``realsr_cli/__init__.py``: the version and the lazy API facade above every
layer)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "realsr_cli"
Graph = dict[str, set[str]]


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    rel = Path(*name.split("."))
    return (ROOT.parent / rel).with_suffix(".py").is_file() or (ROOT.parent / rel / "__init__.py").is_file()


def _targets(node: ast.Import | ast.ImportFrom, package: str) -> Iterator[str]:
    """The ``realsr_cli`` modules an import statement loads (``from pkg import mod`` names ``pkg.mod``)."""
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    base = node.module or ""
    if node.level:
        anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
        base = ".".join(anchor + ([node.module] if node.module else []))
    for alias in node.names:
        yield f"{base}.{alias.name}" if _is_module(f"{base}.{alias.name}") else base


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, deferred: bool) -> Iterator[ast.Import | ast.ImportFrom]:
    """Import statements run at import time (and, with ``deferred``, those inside functions too)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            for other in node.orelse:
                yield from _imports(ast.Module(body=[other], type_ignores=[]), deferred)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif deferred or not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            yield from _imports(node, deferred)


def import_graph(deferred: bool, unit: int | None) -> Graph:
    """``realsr_cli`` import edges, names cut to their first ``unit`` parts (None: whole module names)."""
    graph: Graph = {}
    for path in sorted(ROOT.rglob("*.py")):
        name = _module_name(path)
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        source = ".".join(name.split(".")[:unit])
        facade = deferred and name == "realsr_cli"
        for node in _imports(ast.parse(path.read_text(encoding="utf-8")), deferred and not facade):
            for target in _targets(node, package):
                if target == "realsr_cli" or target.startswith("realsr_cli."):
                    dest = ".".join(target.split(".")[:unit])
                    if dest != source:
                        graph.setdefault(source, set()).add(dest)
    return graph


def find_cycle(graph: Graph) -> list[str] | None:
    """One cycle of ``graph`` as a path ``[a, b, ..., a]``, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_find_cycle_reports_a_path() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}}) is None


def test_packages_are_layered() -> None:
    graph = import_graph(deferred=True, unit=2)
    assert "realsr_cli.degradations" in graph and "realsr_cli.learn" in graph  # the checker sees the packages
    cycle = find_cycle(graph)
    assert cycle is None, "package import cycle: " + " -> ".join(cycle or [])


def test_modules_import_without_cycles() -> None:
    cycle = find_cycle(import_graph(deferred=False, unit=None))
    assert cycle is None, "module import cycle: " + " -> ".join(cycle or [])
