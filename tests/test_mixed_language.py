"""UI and service messages are Chinese through gettext, with English in the catalogue: never
"中文 (english)." in one string. Walks every template and every string literal of the sources
(docstrings, migrations and tests excepted) for Chinese text followed by a parenthesised English
gloss of two or more words (units such as "(kVA)", file types and placeholders are not glosses).

``PENDING`` holds the strings of the areas other branches of issue #16 were rewriting when this
check came in; ``scripts/unmix_messages.py --write`` converts them (phase 2), and the count per
file may only go down.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src" / "gridcare"

CJK = "\u4e00-\u9fff"
# Chinese, then "(english words)" with at least one space inside, not a %(name)s placeholder.
GLOSS = re.compile(rf"[{CJK}][^()（）\n]*(?<!%)[(（]\s*[A-Za-z][^()（）{CJK}]* [^()（）{CJK}]*[)）]")

PENDING: dict[str, int] = {}


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def _english_outside(text: str, match: re.Match[str]) -> bool:
    """An English sentence with a Chinese term glossed (``"for each 抢修班 (a team)"``) is English
    text, not a mixed Chinese message: English words of 3+ letters outside the gloss."""
    rest = text[: match.start()] + text[match.end() :]
    rest = re.sub(r"%\(\w+\)s|\{[^}]*\}", "", rest)
    return re.search(r"[A-Za-z]{3,}", rest) is not None


def mixed_in_python(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _docstrings(tree)
    skip |= {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            text = node.value
        elif isinstance(node, ast.JoinedStr):
            text = "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
        else:
            continue
        match = GLOSS.search(text)
        if match and not _english_outside(text, match):
            found.append((node.lineno, text))
    return found


def mixed_in_template(path: Path) -> list[tuple[int, str]]:
    found = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        text = re.sub(r"\{[{%#].*?[%}#]\}", "", line)  # template tags are not text
        text = re.sub(r"<[^>]*>", " ", text)
        match = GLOSS.search(text)
        if match and not _english_outside(text, match):
            found.append((number, line.strip()))
    return found


def _sources() -> dict[str, list[tuple[int, str]]]:
    found: dict[str, list[tuple[int, str]]] = {}
    for path in sorted(SRC.rglob("*")):
        if "migrations" in path.parts or "tests" in path.parts or "static" in path.parts:
            continue
        if path.suffix == ".py":
            hits = mixed_in_python(path)
        elif path.suffix == ".html":
            hits = mixed_in_template(path)
        else:
            continue
        if hits:
            found[path.relative_to(SRC).as_posix()] = hits
    return found


def test_the_detector():
    for text in [
        "请选择队伍 (crew code required).",
        "“{}”须填写说明 (a note is required).",
        "已归档（the order is closed）",
    ]:
        match = GLOSS.search(text)
        assert match and not _english_outside(text, match), text
    for text in [
        "合同容量(kVA)",
        "请 %(minutes)s 分钟后再试",
        "只接受 Word/Excel（docx/xlsx/pptx）",
        "国务院办公厅放假安排（chinese_calendar）",
        "Create the network: for each 抢修班 (a team of the station) one crew",
        "请选择队伍。",
    ]:
        match = GLOSS.search(text)
        assert not (match and not _english_outside(text, match)), text


def test_no_mixed_language_strings():
    found = _sources()
    new = {f: hits for f, hits in found.items() if len(hits) > PENDING.get(f, 0)}
    assert not new, (
        "Chinese through gettext, English in the catalogue; never both in one string:\n"
        + "\n".join(f"  {f}:{n}: {t!r}" for f, hits in new.items() for n, t in hits)
    )


def test_pending_only_goes_down():
    found = _sources()
    stale = {f: n for f, n in PENDING.items() if len(found.get(f, [])) < n}
    assert not stale, (
        f"fewer mixed strings now: lower PENDING to { ({f: len(found.get(f, [])) for f in stale}) }"
    )
