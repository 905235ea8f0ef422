"""The operator's modules import each other without cycles, type-checking imports included.

Why: a cycle (`status` ↔ `totals` once) makes the import order matter and hides which module is the base; a reader
should find each module's dependencies below it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import metrics_operator

pytestmark = pytest.mark.unit
PACKAGE = Path(metrics_operator.__file__).parent


def _imports(path: Path) -> set[str]:
    """The sibling modules `path` imports, wherever the import statement is (`if TYPE_CHECKING:` too)."""
    modules = {p.stem for p in PACKAGE.glob('*.py')}
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module == 'metrics_operator':
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or '').startswith('metrics_operator.'):
            found.add(node.module.split('.')[1])
        elif isinstance(node, ast.Import):
            found |= {a.name.split('.')[1] for a in node.names if a.name.startswith('metrics_operator.')}
    return found & modules


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each import cycle once, as the path of modules that closes it."""
    cycles, done = [], set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            cycles.append([*path[path.index(module) :], module])
            return
        if module in done:
            return
        for target in sorted(graph.get(module, ())):
            visit(target, [*path, module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])
    return cycles


def test_operator_modules_import_without_cycles():
    graph = {path.stem: _imports(path) for path in PACKAGE.glob('*.py')}
    assert graph['handlers'] >= {'status', 'reconcile'}  # the parser sees imports
    assert _cycles(graph) == []


def test_a_cycle_is_found():
    assert _cycles({'status': {'totals'}, 'totals': {'status'}, 'names': set()}) == [['status', 'totals', 'status']]
