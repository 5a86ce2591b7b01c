"""The answer's light markup, rendered to safe HTML (everything is escaped first; no raw HTML).

空行分段
- 无序列表            1. 有序列表
| 表头 | 表头 |        一行以 | 开头的连续行是表格，第二行可以是 |---|---| 分隔行
**加粗**              ## 小标题
"""

from __future__ import annotations

import re

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

_BOLD = re.compile(r"\*\*(.+?)\*\*")
_SEPARATOR = re.compile(r"^\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?$")
_ORDERED = re.compile(r"^\d+[.、]\s*")


def _inline(text: str) -> str:
    return _BOLD.sub(r"<strong>\1</strong>", escape(text))


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _blocks(source: str) -> list[list[str]]:
    blocks: list[list[str]] = []
    current: list[str] = []
    for raw in source.replace("\r\n", "\n").split("\n"):
        line = raw.rstrip()
        if not line.strip():
            if current:
                blocks.append(current)
                current = []
            continue
        current.append(line)
    if current:
        blocks.append(current)
    return blocks


def _render_block(lines: list[str]) -> str:
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        if line.startswith("|"):
            rows = []
            while i < len(lines) and lines[i].strip().startswith("|"):
                rows.append(lines[i].strip())
                i += 1
            out.append(_table(rows))
        elif line.startswith(("- ", "* ")):
            items = []
            while i < len(lines) and lines[i].strip().startswith(("- ", "* ")):
                items.append(f"<li>{_inline(lines[i].strip()[2:])}</li>")
                i += 1
            out.append("<ul>" + "".join(items) + "</ul>")
        elif _ORDERED.match(line):
            items = []
            while i < len(lines) and _ORDERED.match(lines[i].strip()):
                items.append(f"<li>{_inline(_ORDERED.sub('', lines[i].strip(), count=1))}</li>")
                i += 1
            out.append("<ol>" + "".join(items) + "</ol>")
        elif line.startswith("#"):
            out.append(f"<h6 class='mt-2'>{_inline(line.lstrip('#').strip())}</h6>")
            i += 1
        else:
            para = []
            while i < len(lines):
                candidate = lines[i].strip()
                if candidate.startswith(("|", "- ", "* ", "#")) or _ORDERED.match(candidate):
                    break
                para.append(_inline(candidate))
                i += 1
            out.append("<p>" + "<br>".join(para) + "</p>")
    return "".join(out)


def _table(rows: list[str]) -> str:
    head: list[str] | None = None
    body_rows = rows
    if len(rows) >= 2 and _SEPARATOR.match(rows[1]):
        head, body_rows = _cells(rows[0]), rows[2:]
    html = ["<table class='table table-sm table-bordered gc-answer-table'>"]
    if head:
        html.append("<thead><tr>" + "".join(f"<th>{_inline(c)}</th>" for c in head) + "</tr></thead>")
    html.append("<tbody>")
    for row in body_rows:
        html.append("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in _cells(row)) + "</tr>")
    html.append("</tbody></table>")
    return "".join(html)


def render(source: str) -> SafeString:
    """The answer as HTML; every character of the source is escaped before markup is applied."""
    return mark_safe("".join(_render_block(block) for block in _blocks(source)))  # noqa: S308 - escaped above


def plain_text(source: str) -> str:
    """The answer without markup (for the index, snippets and the API)."""
    lines = []
    for raw in source.splitlines():
        line = raw.strip()
        if _SEPARATOR.match(line) and "-" in line:
            continue
        line = line.strip("|").replace("|", " ").replace("**", "")
        line = line.lstrip("#").strip()
        if line.startswith(("- ", "* ")):
            line = line[2:]
        lines.append(line)
    return "\n".join(line for line in lines if line)
