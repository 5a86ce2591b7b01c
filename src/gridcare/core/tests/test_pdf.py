"""Printable documents: A4, Chinese text that reads back out, a table's header on every page it
runs over, "第 N 页 / 共 M 页" and the time it was made."""

from __future__ import annotations

import datetime as dt
import io

from pypdf import PdfReader

from gridcare.core import clock, pdf
from gridcare.core.clock import LOCAL_TZ

A4_POINTS = (595, 842)


def read(content: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(content)).pages]


def test_a_long_table_runs_over_pages_with_its_header_and_page_numbers_on_each():
    rows = [[f"GZ20261116{i:06d}", "城东供电所", i * 1.5] for i in range(150)]
    with clock.frozen(dt.datetime(2026, 11, 16, 9, 5, tzinfo=LOCAL_TZ)):
        content = pdf.render(
            title="督办通报",
            lines=["城东供电所 2026-11-16 08:30"],
            sections=[
                pdf.Table(
                    heading="超期工单（150）", headers=["工单编号", "承办单位", "超期（小时）"], rows=rows
                )
            ],
            reference="DB202611160830-S01",
        )
    pages = read(content)
    assert len(pages) >= 3
    assert all(size == A4_POINTS for size in _sizes(content))
    for number, text in enumerate(pages, start=1):
        assert "工单编号" in text and "超期（小时）" in text  # the header row, repeated
        assert f"第 {number} 页 / 共 {len(pages)} 页" in text
        assert "生成时间：2026-11-16 09:05（北京时间）" in text
        assert "督办通报 DB202611160830-S01" in text
    whole = "\n".join(pages)
    assert pages[0].index("督办通报") < pages[0].index("城东供电所 2026-11-16 08:30")
    assert all(f"GZ20261116{i:06d}" in whole for i in range(150))  # every row, none lost at a break
    assert "223.5" in pages[-1]


def test_cells_show_times_in_beijing_time_and_text_as_written_and_an_empty_table_says_so():
    at = dt.datetime(2026, 11, 16, 0, 30, tzinfo=dt.UTC)  # 08:30 in Asia/Shanghai
    content = pdf.render(
        title="测试单",
        sections=[
            pdf.Table(headers=["时间", "说明"], rows=[[at, "A&B <客户> 说“停电”"], [None, 3]]),
            pdf.Table(heading="临期工单（0）", headers=["工单编号"], rows=[], empty="无"),
            pdf.Text(heading="说明", lines=["第一行", "第二行"]),
        ],
        landscape=True,
    )
    (text,) = read(content)
    assert "2026-11-16 08:30" in text and "A&B <客户> 说“停电”" in text
    assert text.index("临期工单（0）") < text.index("无") < text.index("第一行") < text.index("第二行")
    assert _sizes(content) == [A4_POINTS[::-1]]


def _sizes(content: bytes) -> list[tuple[int, int]]:
    return [
        (round(float(p.mediabox.width)), round(float(p.mediabox.height)))
        for p in PdfReader(io.BytesIO(content)).pages
    ]


def test_latin_text_is_set_in_helvetica_so_a_reader_without_stsong_keeps_its_widths_and_glyphs():
    # Seen in poppler with a substituted Chinese font: an order number set in STSong's widths
    # crowded, and the separator "·" did not show at all.
    assert pdf.markup("编号 DB202611160830-S01 · 统计 <&>") == (
        '编号<font name="Helvetica"> DB202611160830-S01 · </font>统计<font name="Helvetica"> &lt;&amp;&gt;</font>'
    )
