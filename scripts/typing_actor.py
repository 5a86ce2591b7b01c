#!/usr/bin/env python3
"""Phase 2 of issue #16 item 5: replace ``actor: Any`` / ``user: Any`` with the one ``Actor`` type.

    python3 scripts/typing_actor.py            # count and list the occurrences (dry run)
    python3 scripts/typing_actor.py --write    # rewrite them and add the import

``gridcare.org.types`` defines ``Actor`` (the signed-in ``org.User`` a service acts for) and
``Viewer`` (``Actor`` or ``AnonymousUser``: whatever ``request.user`` is). The rewrite, per file
under ``src/gridcare`` (tests and migrations excepted):

- ``actor: Any`` -> ``actor: Actor``; ``actor: Any = None`` -> ``actor: Actor | None = None``;
- ``user: Any`` -> ``user: Viewer`` in ``queries.py``/``scope.py``/``search_form.py`` (they are called
  with ``request.user``) and ``user: Actor`` elsewhere;
- ``from gridcare.org.types import Actor[, Viewer]`` is added after the last ``from gridcare``
  import (``from .types import ...`` inside ``org``). ``core`` is below ``org`` in the import layers
  and keeps its own Django base types (``core.audit``).

Then: ``ruff check --fix . && ruff format .`` (import order), ``mypy`` (each error is a place
where a caller passed something that is not a signed-in user, or a function read an attribute the
model does not have: fix it, do not silence it), and enable the commented
``gridcare.workorders.*`` strict section in pyproject.toml.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "gridcare"
PATTERN = re.compile(r"\b(actor|user): Any\b( = None)?")
VIEWER_FILES = {"queries.py", "scope.py", "search_form.py"}


def targets(exclude: list[str] = []) -> list[Path]:  # noqa: B006 (read only)
    return [
        p
        for p in sorted(SRC.rglob("*.py"))
        if "tests" not in p.parts
        and "migrations" not in p.parts
        and p.parts[-2:] != ("org", "types.py")
        and p.relative_to(SRC).parts[0] not in exclude
    ]


def replace(path: Path, text: str) -> tuple[str, set[str]]:
    used: set[str] = set()

    def one(m: re.Match[str]) -> str:
        name, default = m[1], m[2]
        kind = "Viewer" if name == "user" and path.name in VIEWER_FILES else "Actor"
        used.add(kind)
        return f"{name}: {kind} | None = None" if default else f"{name}: {kind}"

    return PATTERN.sub(one, text), used


def add_import(path: Path, text: str, used: set[str]) -> str:
    names = ", ".join(sorted(used))
    inside_org = path.parent == SRC / "org"
    line = f"from .types import {names}\n" if inside_org else f"from gridcare.org.types import {names}\n"
    tree = ast.parse(text)
    imports = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]  # module level
    lines = text.splitlines(keepends=True)
    at = imports[-1].end_lineno if imports else 0
    assert at is not None
    return "".join(lines[:at]) + line + "".join(lines[at:])


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--write", action="store_true")
    parser.add_argument(
        "--exclude", action="append", default=[], metavar="AREA", help="skip src/gridcare/AREA (repeatable)"
    )
    args = parser.parse_args()
    totals = {"actor": 0, "user": 0}
    for path in targets(args.exclude):
        text = path.read_text()
        hits = PATTERN.findall(text)
        if not hits:
            continue
        for name, _default in hits:
            totals[name] += 1
        print(f"{path.relative_to(ROOT)}: {len(hits)}")
        if args.write:
            new, used = replace(path, text)
            path.write_text(add_import(path, new, used))
    print(f"actor: Any {totals['actor']}, user: Any {totals['user']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
