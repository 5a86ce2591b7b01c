"""Reading an import file into rows: CSV (UTF-8 with or without BOM, GBK/GB18030, UTF-16) or XLSX.

Row numbers are the ones a clerk sees when the file is opened in Excel: the header row is row 1
(or the row it is found on, if title rows sit above it) and data rows follow.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from .cells import fold, text

Source = str | Path | bytes | IO[bytes]

# Title rows above the header row (an export's "客户档案 2025-01-01" banner) are skipped; the header
# row must appear within this many rows.
HEADER_SEARCH_ROWS = 10


class FileUnreadable(Exception):
    """The file as a whole can't be read (format, encoding, missing columns)."""


@dataclass(frozen=True)
class Column:
    """One column of an import format: its key, its header as printed in reports, and aliases.

    Header matching ignores case, spaces, full-width/half-width differences, a leading ``*``
    (required-field marker in templates) and a bracketed unit: "合同容量（kVA）" = "合同容量".
    """

    key: str
    header: str
    aliases: tuple[str, ...] = ()
    required: bool = False


def header_key(value: Any) -> str:
    folded = fold(text(value)).lstrip("*").rstrip("*")
    return re.sub(r"\(.*?\)|\[.*?\]", "", folded)


@dataclass
class Row:
    number: int
    cells: dict[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.cells.get(key)

    def has(self, *keys: str) -> bool:
        return any(text(self.cells.get(key)) for key in keys)


@dataclass
class Table:
    filename: str
    columns: list[Column]  # the known columns present in the file
    rows: list[Row]
    ignored_headers: list[str] = field(default_factory=list)

    def has_column(self, key: str) -> bool:
        return any(c.key == key for c in self.columns)


def read_table(source: Source, columns: Sequence[Column], filename: str | None = None) -> Table:
    """Read ``source`` (a path, bytes or a binary file object) as rows keyed by column key."""
    name, data = _load(source, filename)
    suffix = Path(name).suffix.lower()
    if suffix == ".xls":
        raise FileUnreadable("不支持旧版 .xls 文件，请在 Excel 中另存为 .xlsx 或 CSV")
    if suffix in (".xlsx", ".xlsm") or data[:4] == b"PK\x03\x04":
        raw_rows = _xlsx_rows(data)
    else:
        raw_rows = _csv_rows(data)
    return _tabulate(name, raw_rows, columns)


def source_name(source: Source, filename: str | None = None) -> str:
    if filename:
        return filename
    if isinstance(source, str | Path):
        return Path(source).name
    if isinstance(source, bytes):
        return ""
    return Path(getattr(source, "name", "") or "").name


def _load(source: Source, filename: str | None) -> tuple[str, bytes]:
    name = source_name(source, filename)
    if isinstance(source, str | Path):
        try:
            return name, Path(source).read_bytes()
        except OSError as exc:
            raise FileUnreadable(f"无法读取文件：{exc.strerror or exc}") from None
    if isinstance(source, bytes):
        return name, source
    return name, source.read()


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise FileUnreadable("无法识别文件编码，请另存为 UTF-8 或 GBK 编码的 CSV")


def _csv_rows(data: bytes) -> Iterator[tuple[int, list[Any]]]:
    content = _decode(data)
    first_line = content.split("\n", 1)[0]
    delimiter = "\t" if first_line.count("\t") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(content, newline=""), delimiter=delimiter)
    try:
        # Record n is row n in Excel even when a quoted cell spans lines.
        yield from enumerate(reader, start=1)
    except csv.Error as exc:
        raise FileUnreadable(f"CSV 格式错误：{exc}") from None


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, list[Any]]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise FileUnreadable(f"无法打开 Excel 文件：{exc}") from None
    try:
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # some exporters write a wrong <dimension>; read every row
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, list(values)
    finally:
        workbook.close()


def _tabulate(name: str, raw_rows: Iterator[tuple[int, list[Any]]], columns: Sequence[Column]) -> Table:
    by_alias: dict[str, Column] = {}
    for column in columns:
        for alias in (column.header, column.key, *column.aliases):
            by_alias[header_key(alias)] = column

    positions: dict[int, Column] = {}
    ignored: list[str] = []
    for number, values in raw_rows:
        if not positions:
            if number > HEADER_SEARCH_ROWS:
                break
            matched = {i: by_alias[header_key(v)] for i, v in enumerate(values) if header_key(v) in by_alias}
            if len(matched) < min(2, len(columns)):
                continue  # a title row, not the header row
            seen: dict[str, str] = {}
            for i, column in matched.items():
                if column.key in seen:
                    raise FileUnreadable(
                        f"第 {number} 行表头中“{text(values[i])}”与“{seen[column.key]}”是同一列，请删去一列"
                    )
                seen[column.key] = text(values[i])
            positions = matched
            ignored = [text(v) for i, v in enumerate(values) if i not in matched and text(v)]
            missing = [c.header for c in columns if c.required and c not in positions.values()]
            if missing:
                raise FileUnreadable(f"缺少必需的列：{'、'.join(missing)}")
            rows: list[Row] = []
            continue
        if not any(text(v) for v in values):
            continue  # blank rows (Excel leaves them at the end of a sheet)
        cells = {column.key: values[i] for i, column in positions.items() if i < len(values)}
        rows.append(Row(number, cells))
    if not positions:
        expected = "、".join(c.header for c in columns if c.required)
        raise FileUnreadable(
            f"找不到表头行（前 {HEADER_SEARCH_ROWS} 行中没有可识别的列名，应包含：{expected}）"
        )
    present = [c for c in columns if c in positions.values()]
    return Table(filename=name, columns=present, rows=rows, ignored_headers=ignored)
