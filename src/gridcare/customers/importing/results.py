"""What an import reports back: counts, and every problem with its row and column."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .cells import Invalid, text
from .reading import Column, Row

# Values in the report are cut to this length so one runaway cell doesn't flood it.
REPORT_VALUE_LENGTH = 60


@dataclass(frozen=True)
class RowError:
    """One problem: ``row`` 0 means the file as a whole (unreadable, missing columns)."""

    row: int
    column: str
    value: str
    message: str

    def __str__(self) -> str:
        where = f"第 {self.row} 行" if self.row else "文件"
        column = f" [{self.column}]" if self.column else ""
        value = f" “{self.value}”" if self.value else ""
        return f"{where}{column}{value}：{self.message}"


@dataclass
class ImportResult:
    """The outcome of one file. ``written`` is true only when the rows are in the database."""

    kind: str  # "topology" or "customers"
    filename: str
    dry_run: bool = False
    rows: int = 0
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)
    ignored_headers: list[str] = field(default_factory=list)
    written: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def rows_with_errors(self) -> int:
        return len({e.row for e in self.errors})

    def error_csv(self) -> str:
        """The report as CSV (UTF-8 with BOM, so Excel opens it in Chinese)."""
        out = io.StringIO()
        out.write("\ufeff")
        writer = csv.writer(out)
        writer.writerow(["行号", "列", "值", "问题"])
        for e in self.errors:
            writer.writerow([e.row or "", e.column, e.value, e.message])
        return out.getvalue()


def shown(value: Any) -> str:
    result = text(value)
    return result if len(result) <= REPORT_VALUE_LENGTH else result[: REPORT_VALUE_LENGTH - 1] + "…"


class RowChecker:
    """Collects errors while one row's cells are read; ``read`` never raises."""

    def __init__(self, row: Row, columns: dict[str, Column], errors: list[RowError]) -> None:
        self.row = row
        self.columns = columns
        self.errors = errors
        self.failed = False

    def read(self, key: str, parse: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return parse(self.row[key], *args, **kwargs)
        except Invalid as exc:
            self.error(key, str(exc))
            return None

    def error(self, key: str, message: str, value: Any = ...) -> None:
        self.failed = True
        column = self.columns[key].header if key in self.columns else key
        self.errors.append(
            RowError(self.row.number, column, shown(self.row[key] if value is ... else value), message)
        )


COUNT_LABELS = {
    "substation": ("变电站", "座"),
    "feeder": ("线路", "条"),
    "area": ("台区", "个"),
    "customer_station": ("随台区变更供电所的客户", "户"),
    "customers": ("客户", "户"),
    "phones": ("联系电话", "条"),
    "addresses": ("地址", "条"),
    "meters": ("电能表", "块"),
    "contracts": ("供用电合同", "份"),
}


def describe_counts(counts: dict[str, int]) -> str:
    parts = []
    for key, n in counts.items():
        if not n:
            continue
        label, measure = COUNT_LABELS.get(key, (key, ""))
        parts.append(f"{label} {n} {measure}".rstrip())
    return "，".join(parts)


def summary(result: ImportResult) -> list[str]:
    """The report a clerk reads: the outcome first, then each problem on its own line."""
    lines = []
    name = result.filename or "文件"
    if result.ignored_headers:
        lines.append(f"提示：以下列名无法识别，已忽略：{'、'.join(result.ignored_headers)}")
    if result.errors and all(e.row == 0 for e in result.errors):
        lines.append(f"{name} 无法导入，数据库没有任何改动。")
        lines.extend(str(e) for e in result.errors)
    elif result.errors:
        rows = result.rows_with_errors - (1 if any(e.row == 0 for e in result.errors) else 0)
        lines.append(
            f"{name} 未通过校验：共 {result.rows} 行数据，{rows} 行有错误，"
            f"共 {len(result.errors)} 处问题。整个文件未导入，数据库没有任何改动。"
        )
        lines.extend(str(e) for e in result.errors)
    elif result.dry_run:
        lines.append(f"{name} 校验通过：共 {result.rows} 行数据。试运行（--dry-run），未写入数据库。")
    else:
        lines.append(f"{name} 导入完成：共 {result.rows} 行数据。")
        if any(result.created.values()):
            lines.append(f"新增：{describe_counts(result.created)}")
        if any(result.updated.values()):
            lines.append(f"更新：{describe_counts(result.updated)}")
    return lines
