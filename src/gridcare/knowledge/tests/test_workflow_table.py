"""The knowledge tables: every rule they name is a function of ``rules``; both print."""

from __future__ import annotations

from io import StringIO

from django.core.management import call_command

from gridcare.knowledge import rules
from gridcare.knowledge.models import ArticleEvent
from gridcare.knowledge.transitions import WORKFLOWS


def test_every_rule_resolves_and_history_actions_are_known():
    for workflow in WORKFLOWS:
        for t in workflow:
            assert t.history_action in ArticleEvent.Action.values
            for rule in (*t.guards, *t.effects, *t.then):
                assert getattr(rules, rule.__name__) is rule


def test_the_printed_tables_list_every_action():
    out = StringIO()
    call_command("workflow_table", "knowledge", stdout=out)
    for workflow in WORKFLOWS:
        for t in workflow:
            assert f"{t.action} — {t.label}" in out.getvalue()
