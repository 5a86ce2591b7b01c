from typing import Any

from django.core.management.base import BaseCommand

from gridcare.workorders.sweep import raise_due_warnings


class Command(BaseCommand):
    help = "Reconciliation sweep: raise every due deadline warning once (safe to run any time)."

    def handle(self, *args: Any, **options: Any) -> None:
        raised = raise_due_warnings()
        self.stdout.write(f"raised {raised} warning(s)")
