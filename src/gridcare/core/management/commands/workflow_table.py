"""Print an app's workflow table(s): ``gridcare workflow_table workorders`` (or ``knowledge``).

Each app that has a lifecycle keeps its table in ``<app>/transitions.py`` and lists its
``Workflow`` objects in ``WORKFLOWS``; the app is found by name, so core imports no business app.
"""

from __future__ import annotations

import importlib
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from gridcare.core.workflow import Workflow


def workflows_of(app: str) -> tuple[Workflow[Any], ...]:
    try:
        module = importlib.import_module(f"gridcare.{app}.transitions")
    except ModuleNotFoundError as exc:
        raise CommandError(f"no workflow table in gridcare.{app}") from exc
    return tuple(getattr(module, "WORKFLOWS", ()))


class Command(BaseCommand):
    help = "Print an app's workflow table: per action, from → to, who, guards, effects, follow-ups."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("app", help="the app's name, e.g. workorders or knowledge")

    def handle(self, *args: Any, app: str, **options: Any) -> None:
        for workflow in workflows_of(app):
            self.stdout.write(workflow.render())
