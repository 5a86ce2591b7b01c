"""What ``import-topology`` and ``import-customers`` share on the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from .results import ImportResult, summary


def add_import_arguments(parser: Any, what: str) -> None:
    parser.add_argument("file", help=f"{what}文件：.csv（UTF-8 或 GBK 编码）或 .xlsx")
    parser.add_argument("--dry-run", action="store_true", help="只校验，不写入数据库")
    parser.add_argument(
        "--update", action="store_true", help="系统中已有的编码/户号改为更新该记录，而不是报错"
    )
    parser.add_argument("--user", metavar="USERNAME", help="操作人账号，记入审计日志")
    parser.add_argument(
        "--report", metavar="CSV", help="校验不通过时，把错误清单另存为 CSV 文件（Excel 可直接打开）"
    )


def actor_of(options: dict[str, Any]) -> Any:
    from gridcare.org.models import User

    username = options.get("user")
    if not username:
        return None
    try:
        return User.objects.get(username=username)
    except User.DoesNotExist:
        raise CommandError(f"找不到账号 {username}") from None


def report(command: BaseCommand, result: ImportResult, options: dict[str, Any]) -> bool:
    """Print the outcome; write the error CSV if asked. True when the file was accepted."""
    for line in summary(result):
        command.stdout.write(line)
    if result.errors and options.get("report"):
        Path(options["report"]).write_text(result.error_csv(), encoding="utf-8")
        command.stdout.write(f"错误清单已保存到 {options['report']}")
    return result.ok
