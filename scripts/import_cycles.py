"""Import cycles among the modules inside each GridCare app (issue #16).

    .venv/bin/python scripts/import_cycles.py          # prints each app's cycles; exit 1 if any

Every import counts, including one inside a function: a function-local import hides a cycle from
the reader, not from the design. Tests are left out (they sit on top of everything they test).
A cycle is reported as one strongly connected group of an app's modules (sub-packages folded into
their first level: ``repair.services.intake`` counts as ``repair.services``).
"""

from __future__ import annotations

import sys

import grimp

ROOT = "gridcare"


def _inner(module: str, app: str) -> str | None:
    """The first-level module of ``app`` that ``module`` is or lies in; None outside the app
    and for tests."""
    prefix = f"{app}."
    if not module.startswith(prefix):
        return None
    first = module[len(prefix) :].split(".")[0]
    if first in ("tests", "conftest", "migrations"):
        return None
    return f"{app}.{first}"


def _groups(nodes: set[str], edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.append(top)
                if top == node:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for node in sorted(nodes):
        if node not in index:
            visit(node)
    return out


def app_cycles() -> dict[str, list[list[str]]]:
    graph = grimp.build_graph(ROOT)
    apps = sorted(m for m in graph.find_children(ROOT) if graph.find_children(m))
    found: dict[str, list[list[str]]] = {}
    for app in apps:
        nodes: set[str] = set()
        edges: dict[str, set[str]] = {}
        for module in graph.find_descendants(app):
            here = _inner(module, app)
            if here is None:
                continue
            nodes.add(here)
            for imported in graph.find_modules_directly_imported_by(module):
                there = _inner(imported, app)
                if there is not None and there != here:
                    edges.setdefault(here, set()).add(there)
        cycles = _groups(nodes, edges)
        if cycles:
            found[app] = cycles
    return found


def main() -> int:
    found = app_cycles()
    total = 0
    for app, cycles in found.items():
        for group in cycles:
            total += 1
            print(f"{app}: " + " <-> ".join(m.removeprefix(app + ".") for m in group))
    print(f"{total} cycle(s)")
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
