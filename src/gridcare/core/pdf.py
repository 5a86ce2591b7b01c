"""Printable documents (PDF, A4) in Chinese, for the papers that are still printed, signed and
filed: the 督办通报 now; the 业扩 forms and electricity bills later.

One shape for all of them: a title, the lines under it (unit, time, number …), then sections — a
table (its header row repeated on every page it runs over) or a few lines of text — and on every
page a footer with the time the document was made (Asia/Shanghai) and "第 N 页 / 共 M 页".

reportlab with Adobe's CID font ``STSong-Light`` (docs/decisions/0012-pdf-documents.md): nothing to
install but ``pip install reportlab``, no font file, nothing fetched; the text stays text (searchable,
and tests read it back with pypdf). ``document_response`` sends a document as a download and audits
it like every export (core.exports)."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any
from xml.sax.saxutils import escape

from django.http import HttpResponse
from django.utils.translation import gettext

from gridcare.core import clock
from gridcare.core.exports import audited_attachment

FONT = "STSong-Light"  # Adobe-GB1, one of the CID fonts every PDF reader knows; never embedded
LATIN = "Helvetica"  # a standard font: every reader draws it with the right widths
_LATIN_RUN = re.compile(r"[\x20-\x7e\xa0-\xff]+")  # ASCII and Latin-1 (· × °): Helvetica has them
MARGIN_MM = 15
FOOTER_MM = 12


@dataclass(frozen=True)
class Table:
    """Rows under a header row that repeats on each page the table runs over. ``widths``: the
    columns' relative widths (equal when empty); numbers are set right-aligned; ``empty`` is the
    one line shown when there are no rows."""

    headers: Sequence[str]
    rows: Sequence[Sequence[Any]]
    heading: str = ""
    widths: Sequence[float] = ()
    empty: str = ""


@dataclass(frozen=True)
class Text:
    """A heading (optional) and lines of text, each its own paragraph."""

    lines: Sequence[str]
    heading: str = ""


Section = Table | Text


@cache
def _font() -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return FONT


def cell_text(value: Any) -> str:
    """A value as a table shows it: times in Asia/Shanghai to the minute, nothing for None."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return clock.local(value).strftime("%Y-%m-%d %H:%M") if value.tzinfo else f"{value:%Y-%m-%d %H:%M}"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def markup(text: str) -> str:
    """``text`` as paragraph markup: Chinese in the CID font, runs of ASCII and Latin-1 (numbers,
    order numbers, times, the separator ·) in Helvetica. A reader that has no STSong-Light substitutes a Chinese font of
    its own, whose Latin letters are narrower or wider than STSong's: set in STSong, an order
    number then crowds or gapes; Helvetica's widths are the same in every reader."""
    parts: list[str] = []
    last = 0
    for run in _LATIN_RUN.finditer(text):
        parts.append(escape(text[last : run.start()]))
        parts.append(f'<font name="{LATIN}">{escape(run.group())}</font>')
        last = run.end()
    parts.append(escape(text[last:]))
    return "".join(parts).replace("\n", "<br/>")


def _numeric(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def render(
    *,
    title: str,
    lines: Sequence[str] = (),
    sections: Sequence[Section] = (),
    reference: str = "",
    landscape: bool = False,
    author: str = "GridCare",
) -> bytes:
    """The document as PDF bytes: ``title``, the ``lines`` under it, then ``sections``; every
    page's footer names the title and ``reference`` (the document's number), so that a loose page
    is matched to its document."""
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER, TA_RIGHT
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.pagesizes import landscape as turned
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfgen.canvas import Canvas
    from reportlab.platypus import CondPageBreak, Paragraph, SimpleDocTemplate, Spacer
    from reportlab.platypus import Table as GridTable

    font = _font()
    pagesize = turned(A4) if landscape else A4
    made_at = clock.local_now().strftime("%Y-%m-%d %H:%M")
    footer_left = gettext("生成时间：%(at)s（北京时间）") % {"at": made_at}
    footer_centre = f"{title} {reference}".strip()

    class NumberedCanvas(Canvas):  # type: ignore[misc]  # reportlab is untyped
        """Holds each page back until the last, so every footer can say how many there are."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:  # noqa: N802 (reportlab's name)
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for number, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                self._footer(number, total)
                super().showPage()
            super().save()

        def _footer(self, number: int, total: int) -> None:
            width = pagesize[0] - 2 * MARGIN_MM * mm
            y = (FOOTER_MM - 5) * mm
            self.saveState()
            self.setStrokeColor(colors.HexColor("#adb5bd"))
            self.setLineWidth(0.5)
            self.line(MARGIN_MM * mm, y + 12, MARGIN_MM * mm + width, y + 12)
            page_of = gettext("第 %(page)s 页 / 共 %(pages)s 页") % {"page": number, "pages": total}
            parts = {"foot": footer_left, "foot-centre": footer_centre, "foot-right": page_of}
            for style, text in parts.items():
                line = Paragraph(markup(text), styles[style])
                line.wrapOn(self, width, 20)
                line.drawOn(self, MARGIN_MM * mm, y)
            self.restoreState()

    base = ParagraphStyle("gc", fontName=font, fontSize=9, leading=12, wordWrap="CJK")
    small = {"fontSize": 8.5, "leading": 11}
    foot = {"fontSize": 8, "leading": 10, "textColor": colors.HexColor("#495057")}
    styles = {
        "title": ParagraphStyle("gc-title", base, fontSize=16, leading=22, alignment=TA_CENTER, spaceAfter=4),
        "line": ParagraphStyle("gc-line", base, fontSize=10, leading=14, alignment=TA_CENTER),
        "heading": ParagraphStyle("gc-heading", base, fontSize=11, leading=15, spaceBefore=10, spaceAfter=4),
        "text": ParagraphStyle("gc-text", base, fontSize=10, leading=15),
        "cell": ParagraphStyle("gc-cell", base, **small),
        "number": ParagraphStyle("gc-number", base, alignment=TA_RIGHT, **small),
        "head": ParagraphStyle("gc-head", base, **small),
        "empty": ParagraphStyle(
            "gc-empty", base, alignment=TA_CENTER, textColor=colors.HexColor("#6c757d"), **small
        ),
        "foot": ParagraphStyle("gc-foot", base, **foot),
        "foot-centre": ParagraphStyle("gc-foot-c", base, alignment=TA_CENTER, **foot),
        "foot-right": ParagraphStyle("gc-foot-r", base, alignment=TA_RIGHT, **foot),
    }

    def para(text: str, style: str) -> Paragraph:
        return Paragraph(markup(text), styles[style])

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=pagesize,
        leftMargin=MARGIN_MM * mm,
        rightMargin=MARGIN_MM * mm,
        topMargin=MARGIN_MM * mm,
        bottomMargin=(FOOTER_MM + 6) * mm,
        title=title,
        subject=" ".join(lines),
        author=author,
        creator="GridCare",
        lang="zh-CN",
    )
    story: list[Any] = [para(title, "title")]
    story.extend(para(line, "line") for line in lines)
    story.append(Spacer(1, 4 * mm))
    for section in sections:
        if section.heading:
            story.append(CondPageBreak(30 * mm))  # a heading with no room for rows under it: next page
            story.append(para(section.heading, "heading"))
        if isinstance(section, Text):
            story.extend(para(line, "text") for line in section.lines)
            continue
        count = len(section.headers)
        weights = list(section.widths) or [1.0] * count
        widths = [doc.width * w / sum(weights) for w in weights]
        data: list[list[Any]] = [[para(h, "head") for h in section.headers]]
        data.extend(
            [para(cell_text(v), "number" if _numeric(v) else "cell") for v in row][:count]
            + [""] * (count - len(row))
            for row in section.rows
        )
        grid = [
            ("FONTNAME", (0, 0), (-1, -1), font),
            ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#adb5bd")),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e9ecef")),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("LEFTPADDING", (0, 0), (-1, -1), 3),
            ("RIGHTPADDING", (0, 0), (-1, -1), 3),
            ("TOPPADDING", (0, 0), (-1, -1), 2),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ]
        if not section.rows:
            data.append([para(section.empty or "—", "empty")] + [""] * (count - 1))
            grid.append(("SPAN", (0, 1), (-1, 1)))
        story.append(GridTable(data, colWidths=widths, repeatRows=1, style=grid, hAlign="LEFT"))
    doc.build(story, canvasmaker=NumberedCanvas)
    return buffer.getvalue()


def document_response(
    *,
    title: str,
    lines: Sequence[str] = (),
    sections: Sequence[Section] = (),
    filename: str,
    user: Any,
    request: Any,
    object_type: str,
    object_id: str = "",
    reference: str = "",
    landscape: bool = False,
) -> HttpResponse:
    """The document as the download ``FILENAME-<time>.pdf``, audited as an export of
    ``object_type``/``object_id`` (``user``: who exports)."""
    content = render(title=title, lines=lines, sections=sections, reference=reference, landscape=landscape)
    rows = sum(len(s.rows) for s in sections if isinstance(s, Table))
    return audited_attachment(
        content,
        content_type="application/pdf",
        filename=filename,
        extension="pdf",
        title=title,
        user=user,
        request=request,
        object_type=object_type,
        object_id=object_id,
        detail={"rows": rows, "subtitle": " ".join(lines)},
    )
