#!/usr/bin/env python3
"""Phase 2 of issue #16 item 5: turn "中文 (english)." message literals into gettext calls.

    python3 scripts/unmix_messages.py            # list what would change (dry run)
    python3 scripts/unmix_messages.py --write    # rewrite the sources and fill the English catalogue

A plain string literal whose text is Chinese followed by a parenthesised English gloss, e.g.
``"请选择队伍 (crew code required)."``, becomes ``gettext("请选择队伍")`` (``from
django.utils.translation import gettext`` is added where missing; ``gettext``, not the lazy one, as
``ApiError`` messages go into JSON), and the gloss, in sentence case with a full stop, becomes its
``msgstr`` in ``src/gridcare/locale/en/LC_MESSAGES/django.po`` once ``makemessages`` has added the
msgid. f-strings are only listed: they need ``%(name)s`` placeholders, written by hand.

Afterwards, from ``src/gridcare/`` (docs/testing.md, "Translations"): makemessages -l en
--no-obsolete --add-location file; run this script with ``--po-only`` to fill the new msgids;
msgattrib --clear-fuzzy ...; compilemessages. ``tests/test_mixed_language.py`` then lists nothing
(empty its ``PENDING``). Run ``ruff check --fix`` for the import order.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "gridcare"
PO = SRC / "locale" / "en" / "LC_MESSAGES" / "django.po"
GLOSSED = re.compile(
    r"^(?P<zh>.*[\u4e00-\u9fff][^()（）]*?)\s*[(（](?P<en>[A-Za-z][^()（）\u4e00-\u9fff]*)[)）]\s*[.。]?$"
)
SEEN = ROOT / ".venv" / "unmix_messages.json"


def find(path: Path) -> list[tuple[ast.Constant | ast.JoinedStr, str, str]]:
    found = []
    tree = ast.parse(path.read_text())
    parts = {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
    for n in ast.walk(tree):  # docstrings are for developers, in English with Chinese terms
        kinds = ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef
        first = n.body[0] if isinstance(n, kinds) and n.body else None
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
            parts.add(id(first.value))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in parts:
            m = GLOSSED.match(node.value)
            if m and " " in m["en"].strip() and not re.search(r"[A-Za-z]{3,}", m["zh"]):
                found.append((node, m["zh"].strip(), m["en"].strip()))
        elif isinstance(node, ast.JoinedStr):
            text = "".join(v.value if isinstance(v, ast.Constant) else "{…}" for v in node.values)
            m = GLOSSED.match(text)
            if m and " " in m["en"].strip() and not re.search(r"[A-Za-z]{3,}", m["zh"].replace("{…}", "")):
                found.append((node, m["zh"].strip(), m["en"].strip()))
    return found


def english(gloss: str) -> str:
    gloss = gloss.strip().rstrip(".")
    return gloss[:1].upper() + gloss[1:] + "."


def rewrite(path: Path, hits: list[tuple[ast.Constant | ast.JoinedStr, str, str]]) -> int:
    lines = path.read_text().splitlines(keepends=True)
    done = 0
    for node, zh, _en in sorted(hits, key=lambda h: (h[0].lineno, h[0].col_offset), reverse=True):
        if isinstance(node, ast.JoinedStr) or node.lineno != node.end_lineno:
            continue  # by hand
        line = lines[node.lineno - 1]
        start, end = node.col_offset, node.end_col_offset
        # col offsets are in UTF-8 bytes
        raw = line.encode()
        lines[node.lineno - 1] = (raw[:start] + f"gettext({zh!r})".encode() + raw[end:]).decode()
        done += 1
    text = "".join(lines).replace("gettext('", 'gettext("')
    text = re.sub(r'gettext\("([^"]*)\'\)', r'gettext("\1")', text)
    if done and not re.search(r"^from django\.utils\.translation import .*\bgettext\b(?! as)", text, re.M):
        text = re.sub(
            r"^(from __future__ import annotations\n\n)",
            r"\1from django.utils.translation import gettext\n",
            text,
            count=1,
            flags=re.M,
        )
        if "from django.utils.translation import gettext\n" not in text:
            text = "from django.utils.translation import gettext\n" + text
    path.write_text(text)
    return done


def fill_po(mapping: dict[str, str]) -> int:
    text = PO.read_text()
    filled = 0
    for zh, en in mapping.items():
        entry = f'msgid "{zh}"\nmsgstr ""\n'
        if entry in text:
            text = text.replace(entry, f'msgid "{zh}"\nmsgstr "{en}"\n')
            filled += 1
    PO.write_text(text)
    return filled


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--write", action="store_true", help="rewrite sources and fill the catalogue")
    parser.add_argument(
        "--po-only", action="store_true", help="only fill the catalogue from the last --write"
    )
    parser.add_argument(
        "--exclude", action="append", default=[], metavar="AREA", help="skip src/gridcare/AREA (repeatable)"
    )
    args = parser.parse_args()
    if args.po_only:
        print(f"filled {fill_po(json.loads(SEEN.read_text()))} msgstr")
        return 0
    mapping: dict[str, str] = {}
    total = by_hand = 0
    for path in sorted(SRC.rglob("*.py")):
        if (
            "migrations" in path.parts
            or "tests" in path.parts
            or path.relative_to(SRC).parts[0] in args.exclude
        ):
            continue
        hits = find(path)
        for node, zh, en in hits:
            total += 1
            manual = isinstance(node, ast.JoinedStr) or node.lineno != node.end_lineno
            by_hand += manual
            print(
                f"{path.relative_to(ROOT)}:{node.lineno}: {zh} -> {english(en)}{'  [by hand]' if manual else ''}"
            )
            if not manual:
                mapping[zh] = english(en)
        if args.write and hits:
            rewrite(path, hits)
    print(f"{total} mixed strings, {by_hand} to do by hand")
    if args.write:
        SEEN.parent.mkdir(exist_ok=True)
        SEEN.write_text(json.dumps(mapping, ensure_ascii=False, indent=1))
        print(f"filled {fill_po(mapping)} msgstr already in the catalogue; after makemessages run --po-only")
    return 0


if __name__ == "__main__":
    sys.exit(main())
