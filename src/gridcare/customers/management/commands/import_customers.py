"""gridcare import-customers FILE: the customer archive from CSV/XLSX, all or nothing."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from gridcare.customers.importing import import_customers
from gridcare.customers.importing.commands import actor_of, add_import_arguments, report


class Command(BaseCommand):
    help = "导入客户档案（CSV 或 XLSX）。逐行校验，任何一行有错则整个文件不导入。格式见 docs/customers.md。"

    def add_arguments(self, parser):
        add_import_arguments(parser, "客户档案")

    def handle(self, *args, **options):
        result = import_customers(
            options["file"],
            update=options["update"],
            dry_run=options["dry_run"],
            actor=actor_of(options),
        )
        if not report(self, result, options):
            raise CommandError("客户档案未导入。")
