"""One scoping door (issue #16, item 3): scope is computed in ``org/`` only.

Outside ``gridcare.org`` code asks ``scoping.restrict`` / ``get_for_user`` (querysets),
``scoping.unit_in_scope`` / ``require_unit_in_scope`` (one unit) or ``Unit.subtree`` /
``Unit.is_within`` (the tree). This test walks the source and fails on a side door: a use of
``visible_unit_ids``, a ``path__startswith`` lookup or a ``.path.startswith(...)`` comparison.
"""

from __future__ import annotations

import ast
from pathlib import Path

import gridcare

SRC = Path(gridcare.__file__).resolve().parent

# Where a unit-path prefix is not a scope check, with the reason (function-level, not file-level).
ALLOWED = {
    # Articles of a region apply to the region's whole subtree: the paths come from
    # ``served_filters``, which took them from ``scoping.root_units`` (the index cache keeps paths).
    ("knowledge/queries.py", "_served_queryset"),
}

BANNED_NAMES = {"visible_unit_ids"}


def side_doors(source: str, relpath: str) -> list[str]:
    """The scope side doors in ``source`` (a module at ``relpath`` under ``gridcare/``)."""
    tree = ast.parse(source)
    found: list[str] = []

    def visit(node: ast.AST, function: str) -> None:
        for child in ast.iter_child_nodes(node):
            name = function
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                name = child.name
            if (relpath, name) not in ALLOWED:
                problem = _problem(child)
                if problem:
                    found.append(f"{relpath}:{getattr(child, 'lineno', '?')} {problem}")
            visit(child, name)

    visit(tree, "")
    return found


def _problem(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name) and node.id in BANNED_NAMES:
        return f"uses {node.id} (ask org.scoping.unit_in_scope / restrict)"
    if isinstance(node, ast.Attribute) and node.attr in BANNED_NAMES:
        return f"uses {node.attr} (ask org.scoping.unit_in_scope / restrict)"
    if isinstance(node, ast.alias) and node.name.split(".")[-1] in BANNED_NAMES:
        return f"imports {node.name}"
    if isinstance(node, ast.keyword) and node.arg and node.arg.endswith("path__startswith"):
        return "filters by a unit path prefix (use Unit.subtree or scoping.restrict)"
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and "path__startswith" in node.value:
        return "filters by a unit path prefix (use Unit.subtree or scoping.restrict)"
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "startswith"
        and isinstance(node.func.value, ast.Attribute)
        and node.func.value.attr == "path"
        and not (isinstance(node.func.value.value, ast.Name) and node.func.value.value.id == "request")
    ):
        return "compares unit paths (use Unit.is_within or scoping.unit_in_scope)"
    return None


def _modules():
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        parts = rel.split("/")
        if parts[0] == "org" or "tests" in parts or "migrations" in parts or parts[-1] == "conftest.py":
            continue
        yield rel, path.read_text(encoding="utf-8")


def test_scope_is_computed_in_org_only():
    found = [problem for rel, source in _modules() for problem in side_doors(source, rel)]
    assert found == [], "scope computed outside gridcare.org:\n" + "\n".join(found)


def test_the_check_catches_planted_side_doors():
    planted = """
from gridcare.org import scoping
from gridcare.org.scoping import visible_unit_ids

def act(actor, crew, unit, station):
    if actor.is_superuser or crew.station_id in scoping.visible_unit_ids(actor):
        pass
    Unit.objects.filter(path__startswith=station.path)
    return unit.path.startswith(station.path)
"""
    found = side_doors(planted, "repair/planted.py")
    assert any("imports visible_unit_ids" in f for f in found)
    assert any(f.startswith("repair/planted.py:6 uses visible_unit_ids") for f in found)
    assert any(f.startswith("repair/planted.py:8 filters by a unit path prefix") for f in found)
    assert any(f.startswith("repair/planted.py:9 compares unit paths") for f in found)
    # The same code in an allowed function of an allowed module is let through; a request path is no unit.
    assert (
        side_doors("def _served_queryset(f):\n    Q(region__path__startswith=f)\n", "knowledge/queries.py")
        == []
    )
    assert side_doors("def f(request):\n    return request.path.startswith('/api/')\n", "core/x.py") == []


def test_every_module_is_walked():
    walked = {rel for rel, _ in _modules()}
    assert "workorders/services.py" in walked and "repair/actions.py" in walked
    assert not any(rel.startswith("org/") for rel in walked)
