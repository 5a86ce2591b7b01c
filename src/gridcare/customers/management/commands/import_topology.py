"""gridcare import-topology FILE: substations, feeders and transformer areas, all or nothing."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from gridcare.customers.importing import import_topology
from gridcare.customers.importing.commands import actor_of, add_import_arguments, report


class Command(BaseCommand):
    help = "导入电网拓扑：变电站、线路、台区（CSV 或 XLSX）。逐行校验，任何一行有错则整个文件不导入。"

    def add_arguments(self, parser):
        add_import_arguments(parser, "电网拓扑")

    def handle(self, *args, **options):
        result = import_topology(
            options["file"],
            update=options["update"],
            dry_run=options["dry_run"],
            actor=actor_of(options),
        )
        if not report(self, result, options):
            raise CommandError("电网拓扑未导入。")
