"""The work-order table: every rule it names is a function of ``rules``, and the printed table
lists every action with its guards, effects and follow-ups."""

from __future__ import annotations

from io import StringIO

from django.core.management import call_command

from gridcare.workorders import rules
from gridcare.workorders.models import State
from gridcare.workorders.transitions import TABLE, WORK_ORDERS, OrderAction


def test_every_action_has_one_row_and_every_rule_resolves():
    assert set(TABLE) == set(OrderAction)
    for t in WORK_ORDERS:
        assert t.sources <= set(State.values) and (t.target is None or t.target in State.values)
        for rule in (*t.guards, *t.effects, *t.then):
            assert getattr(rules, rule.__name__) is rule, f"{t.action}: {rule.__name__} is not in rules"


def test_actions_keep_their_stored_names():
    # URLs, the API's /actions/{action}, history rows and templates use these strings.
    assert TABLE["dispatch"].action == OrderAction.DISPATCH == "dispatch"
    assert [str(a) for a in OrderAction] == [t.action for t in WORK_ORDERS]


def test_the_printed_table_lists_every_action_and_rule():
    out = StringIO()
    call_command("workflow_table", "workorders", stdout=out)
    text = out.getvalue()
    for t in WORK_ORDERS:
        assert f"{t.action} — {t.label}" in text
        for name in (*t.guard_names, *t.effect_names, *t.then_names):
            assert name in text
