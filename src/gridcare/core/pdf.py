"""PDF documents (reportlab): A4 pages in Chinese with a title, the lines under it, sections of
tables whose header row repeats on every page, "第 N 页 / 共 M 页" and the time the document was
made — for what is still printed and signed: the 督办通报 today, the 业扩 forms and bills next.

Chinese text is set in ``STSong-Light``, one of the CID fonts every PDF reader carries (Adobe's
Asian font packs, pdf.js, pdfium, poppler with its CJK data): nothing is installed, embedded or
fetched, the file stays small, and its text can be searched and copied (docs/decisions/0012).
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.http import HttpResponse
from django.utils.translation import gettext as _

from gridcare.core import clock
from gridcare.core.exports import audited_attachment

FONT = "STSong-Light"
_registered = False


def _font() -> str:
    global _registered
    if not _registered:
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.cidfonts import UnicodeCIDFont

        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
        _registered = True
    return FONT


@dataclass(frozen=True)
class Section:
    """A heading and a table under it (``empty`` is printed when there are no rows)."""

    heading: str
    headers: Sequence[str]
    rows: Sequence[Sequence[Any]]
    empty: str = ""
    widths: Sequence[float] | None = None  # relative column widths (default: equal)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return f"{clock.local(value):%Y-%m-%d %H:%M}" if value.tzinfo else f"{value:%Y-%m-%d %H:%M}"
    return str(value)


def render(
    *, title: str, lines: Sequence[str], sections: Sequence[Section], landscape: bool = False
) -> bytes:
    """The document as PDF bytes."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.pagesizes import landscape as turned
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfgen.canvas import Canvas
    from reportlab.platypus import LongTable, Paragraph, SimpleDocTemplate, Spacer

    font = _font()
    size = turned(A4) if landscape else A4
    made = _("生成时间：%(at)s") % {"at": f"{clock.local_now():%Y-%m-%d %H:%M}"}

    class Numbered(Canvas):
        """Draws "第 N 页 / 共 M 页" once the number of pages is known."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict] = []

        def showPage(self) -> None:  # noqa: N802 - reportlab's name
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for number, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                self.setFont(font, 8)
                self.drawString(15 * mm, 10 * mm, made)
                self.drawRightString(
                    size[0] - 15 * mm, 10 * mm, _("第 %(n)s 页 / 共 %(m)s 页") % {"n": number, "m": total}
                )
                super().showPage()
            super().save()

    title_style = ParagraphStyle("title", fontName=font, fontSize=16, leading=22, spaceAfter=4)
    line_style = ParagraphStyle("line", fontName=font, fontSize=10, leading=14)
    heading_style = ParagraphStyle(
        "heading", fontName=font, fontSize=12, leading=18, spaceBefore=8, spaceAfter=4
    )
    cell_style = ParagraphStyle("cell", fontName=font, fontSize=8.5, leading=11)
    story: list[Any] = [Paragraph(_escape(title), title_style)]
    story += [Paragraph(_escape(line), line_style) for line in lines]
    width = size[0] - 30 * mm
    for section in sections:
        story.append(Paragraph(_escape(section.heading), heading_style))
        if not section.rows:
            story.append(Paragraph(_escape(section.empty or _("无")), line_style))
            continue
        weights = list(section.widths or [1] * len(section.headers))
        widths = [width * w / sum(weights) for w in weights]
        data = [[Paragraph(_escape(h), cell_style) for h in section.headers]]
        data += [[Paragraph(_escape(_text(v)), cell_style) for v in row] for row in section.rows]
        table = LongTable(data, colWidths=widths, repeatRows=1)
        table.setStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.9, 0.93, 0.92)),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
        story += [table, Spacer(1, 4 * mm)]
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=size,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=18 * mm,
        title=title,
        author="GridCare",
    )
    doc.build(story, canvasmaker=Numbered)
    return buffer.getvalue()


def _escape(text: str) -> str:
    """Reportlab paragraphs read a little markup: text is text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def document_response(
    *,
    title: str,
    lines: Sequence[str],
    sections: Sequence[Section],
    filename: str,
    user: Any,
    request: Any,
    object_type: str,
    landscape: bool = False,
) -> HttpResponse:
    """The document as a download, its export audited like an Excel sheet's."""
    content = render(title=title, lines=lines, sections=sections, landscape=landscape)
    return audited_attachment(
        content,
        content_type="application/pdf",
        extension="pdf",
        filename=filename,
        title=title,
        subtitle=" ".join(lines[:1]),
        rows=sum(len(s.rows) for s in sections),
        user=user,
        request=request,
        object_type=object_type,
    )
