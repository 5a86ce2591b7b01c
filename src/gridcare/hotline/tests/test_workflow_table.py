"""The call-back list's table: every rule it names is a function of ``rules``, nothing leaves a
closed entry, and docs/hotline.md prints the table as it reads."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

from django.core.management import call_command
from django.utils import translation

from gridcare.hotline import rules
from gridcare.hotline.models import ReturnCall
from gridcare.hotline.transitions import RETURN_CALLS, ReturnCallAction


def test_every_action_has_one_row_and_every_rule_resolves():
    assert {t.action for t in RETURN_CALLS} == set(ReturnCallAction)
    states = set(ReturnCall.State.values)
    for t in RETURN_CALLS:
        assert t.sources <= states and t.target in states
        for rule in (*t.guards, *t.effects, *t.then):
            assert getattr(rules, rule.__name__) is rule, f"{t.action}: {rule.__name__} is not in rules"


def test_nothing_leaves_a_closed_entry():
    for t in RETURN_CALLS:
        assert not t.sources & {ReturnCall.State.DONE, ReturnCall.State.NOT_NEEDED}


def test_the_docs_print_the_table_as_it_reads():
    out = StringIO()
    with translation.override("zh-hans"):  # the labels as staff read them (an earlier test may leave English)
        call_command("workflow_table", "hotline", stdout=out)
    doc = (Path(__file__).resolve().parents[4] / "docs" / "hotline.md").read_text(encoding="utf-8")
    indented = "\n".join(f"  {line}" if line else "" for line in out.getvalue().strip().split("\n"))
    assert indented in doc, "docs/hotline.md: paste the output of gridcare workflow_table hotline"
