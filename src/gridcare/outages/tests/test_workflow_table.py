"""The outage table: every rule it names is a function of ``rules``, and the printed table lists
every action with its guards, effects and follow-ups."""

from __future__ import annotations

from io import StringIO

from django.core.management import call_command

from gridcare.outages import rules
from gridcare.outages.models import OutageEvent, OutageState
from gridcare.outages.transitions import OUTAGES, TABLE, OutageAction


def test_every_action_has_one_row_and_every_rule_resolves():
    assert set(TABLE) == set(OutageAction)
    states = set(OutageState.values)
    for t in OUTAGES:
        assert t.sources <= states and (t.target is None or t.target in states)
        for rule in (*t.guards, *t.effects, *t.then):
            assert getattr(rules, rule.__name__) is rule, f"{t.action}: {rule.__name__} is not in rules"


def test_actions_keep_their_stored_names():
    # The pages' /outages/{number}/{action} and the history rows use these strings.
    assert [str(a) for a in OutageAction] == [t.action for t in OUTAGES]
    assert TABLE["merge"].history_action == "merged"
    assert TABLE["key_call"].history_action == "key_customer_called"
    for t in OUTAGES:
        if t.action != "merge":
            assert t.history_action in OutageEvent.ACTION_LABELS


def test_nothing_leaves_a_closed_outage():
    for t in OUTAGES:
        assert not t.sources & {OutageState.CANCELLED, OutageState.MERGED}


def test_the_printed_table_lists_every_action_and_rule():
    out = StringIO()
    call_command("workflow_table", "outages", stdout=out)
    text = out.getvalue()
    for t in OUTAGES:
        assert f"{t.action} — {t.label}" in text
        for name in (*t.guard_names, *t.effect_names, *t.then_names):
            assert name in text


def test_the_docs_print_the_table_as_it_reads():
    from pathlib import Path

    out = StringIO()
    call_command("workflow_table", "outages", stdout=out)
    doc = (Path(__file__).resolve().parents[4] / "docs" / "outages.md").read_text(encoding="utf-8")
    assert out.getvalue().strip() in doc, (
        "docs/outages.md: paste the output of gridcare workflow_table outages"
    )
