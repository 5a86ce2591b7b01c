"""The application tables: every rule they name is a function of ``rules``, every action has one
row, and docs/applications.md prints them as they read now."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

from django.core.management import call_command

from gridcare.applications import rules
from gridcare.applications.models import ApplicationAction, ApplicationState, NodeAction, NodeState
from gridcare.applications.transitions import APPLICATIONS, NODES


def test_every_action_has_one_row_and_every_rule_resolves():
    assert set(NODES.by_action) == set(NodeAction) and set(APPLICATIONS.by_action) == set(ApplicationAction)
    for table, states in ((NODES, set(NodeState.values)), (APPLICATIONS, set(ApplicationState.values))):
        for t in table:
            assert t.sources <= states and (t.target is None or t.target in states)
            assert set(t.or_to) <= states
            for rule in (*t.guards, *t.effects, *t.then):
                assert getattr(rules, rule.__name__) is rule, f"{t.action}: {rule.__name__} is not in rules"


def test_the_actions_keep_their_public_names():
    # /api/v1/applications/{number}/nodes/{node}/actions/{action} and the history rows use these.
    assert [str(a) for a in NodeAction] == ["start", "finish", "wait", "resume"]
    assert [str(a) for a in ApplicationAction] == ["cancel"]


def test_the_docs_print_the_tables_as_they_read():
    out = StringIO()
    call_command("workflow_table", "applications", stdout=out)
    text = out.getvalue()
    for table in (NODES, APPLICATIONS):
        for t in table:
            assert f"{t.action} — {t.label}" in text
    doc = (Path(__file__).resolve().parents[4] / "docs" / "applications.md").read_text(encoding="utf-8")
    assert text.strip() in doc, (
        "docs/applications.md: paste the output of gridcare workflow_table applications"
    )
