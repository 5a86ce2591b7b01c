"""The repair-event table: every rule it names is a function of ``rules``, and the printed table
lists every action with its guards, effects and follow-ups."""

from __future__ import annotations

from io import StringIO

from django.core.management import call_command

from gridcare.repair import actions, rules
from gridcare.repair.models import FaultEvent
from gridcare.repair.transitions import EVENTS, TABLE, FaultEventAction


def test_every_action_has_one_row_and_every_rule_resolves():
    assert set(TABLE) == set(FaultEventAction)
    states = set(FaultEvent.State.values)
    for t in EVENTS:
        assert t.sources <= states and (t.target is None or t.target in states)
        assert set(t.or_to) <= states
        for rule in (*t.guards, *t.effects, *t.then):
            assert getattr(rules, rule.__name__) is rule, f"{t.action}: {rule.__name__} is not in rules"


def test_actions_keep_their_stored_names_and_labels():
    # /api/v1/repair/events/{number}/actions/{action}, the pages and the history rows use these.
    assert [str(a) for a in FaultEventAction] == [
        "confirm", "reassign", "split", "merge", "dispatch", "reinforce",
        "arrive", "progress", "eta", "support", "restore", "cancel",
    ]  # fmt: skip
    assert [str(a) for a in FaultEventAction] == [t.action for t in EVENTS]
    assert actions.ACTIONS["confirm"] == "确认研判" and actions.ACTIONS["cancel"] == "撤销事件"
    assert list(actions.ACTIONS) == [t.action for t in EVENTS]
    assert TABLE["support"].history_action == "support_request"


def test_only_open_events_are_acted_on():
    assert all(t.sources == set(FaultEvent.OPEN_STATES) for t in EVENTS)


def test_the_printed_table_lists_every_action_and_rule():
    out = StringIO()
    call_command("workflow_table", "repair", stdout=out)
    text = out.getvalue()
    for t in EVENTS:
        assert f"{t.action} — {t.label}" in text
        for name in (*t.guard_names, *t.effect_names, *t.then_names):
            assert name in text


def test_the_docs_print_the_table_as_it_reads():
    from pathlib import Path

    out = StringIO()
    call_command("workflow_table", "repair", stdout=out)
    doc = (Path(__file__).resolve().parents[4] / "docs" / "repair.md").read_text(encoding="utf-8")
    assert out.getvalue().strip() in doc, "docs/repair.md: paste the output of gridcare workflow_table repair"
