"""The workflow runner on a toy lifecycle: the order of checks, guards and effects, and the table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from gridcare.core.workflow import Action, Step, Transition, Workflow


class Refused(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class Lamp:
    state: str = "off"
    watts: int = 0


class LampAction(Action):
    SWITCH_ON = "switch_on"
    DIM = "dim"


def watts_given(step: Step[Lamp]) -> None:
    if not step.payload.get("watts"):
        raise Refused("watts_required")


def not_an_intern(step: Step[Lamp]) -> None:
    if step.actor == "intern":
        raise Refused("intern")


def set_watts(step: Step[Lamp]) -> None:
    step.changes["watts"] = step.payload["watts"]


def off_when_zero(step: Step[Lamp]) -> None:
    if step.payload.get("watts") == 0:
        step.target = "off"


LAMP = Workflow(
    name="lamp",
    actions=LampAction,
    transitions=(
        Transition(
            LampAction.SWITCH_ON, "开灯", frozenset({"off"}), "on", frozenset({"electrician"}),
            guards=(not_an_intern, watts_given), effects=(set_watts,),
        ),
        Transition(
            LampAction.DIM, "调光", frozenset({"on"}), None, frozenset(),
            effects=(set_watts, off_when_zero), or_to=("off",),
        ),
    ),
    state_of=lambda lamp: lamp.state,
    holds=lambda actor, t, lamp: not t.roles or actor in t.roles or actor == "intern",
    refuse_state=lambda t, lamp: Refused("illegal_transition"),
    refuse_role=lambda t, lamp: Refused("forbidden_role"),
    refuse_unknown=lambda action: Refused("unknown_action"),
    refusals=(Refused,),
)  # fmt: skip


def code_of(call: Any) -> str:
    with pytest.raises(Refused) as err:
        call()
    return err.value.code


def test_the_runner_checks_state_then_roles_then_guards_in_order():
    assert code_of(lambda: LAMP.run("blink", Lamp(), "electrician")) == "unknown_action"
    assert code_of(lambda: LAMP.run("switch_on", Lamp(state="on"), "electrician")) == "illegal_transition"
    assert code_of(lambda: LAMP.run("switch_on", Lamp(), "visitor")) == "forbidden_role"
    assert code_of(lambda: LAMP.run("switch_on", Lamp(), "intern")) == "intern"  # the first guard
    assert code_of(lambda: LAMP.run("switch_on", Lamp(), "electrician")) == "watts_required"


def test_effects_write_changes_and_may_pick_the_target():
    step = LAMP.run("switch_on", Lamp(), "electrician", payload={"watts": 40})
    assert (step.before, step.target, step.changes) == ("off", "on", {"watts": 40})
    assert LAMP.run("dim", Lamp(state="on"), "anyone", payload={"watts": 10}).target == "on"  # None keeps it
    assert LAMP.run("dim", Lamp(state="on"), "anyone", payload={"watts": 0}).target == "off"


def test_available_screens_by_state_roles_and_the_guards_asked_for():
    assert [t.action for t in LAMP.available(Lamp(), "electrician")] == ["switch_on"]
    assert LAMP.available(Lamp(), "visitor") == []
    assert [t.action for t in LAMP.available(Lamp(), "intern")] == ["switch_on"]
    assert LAMP.available(Lamp(), "intern", screen=(not_an_intern,)) == []


def test_a_table_must_cover_every_action_once():
    with pytest.raises(ValueError, match="no transition"):
        Workflow(
            name="half",
            actions=LampAction,
            transitions=LAMP.transitions[:1],
            state_of=LAMP.state_of,
            holds=LAMP.holds,
            refuse_state=LAMP.refuse_state,
            refuse_role=LAMP.refuse_role,
            refuse_unknown=LAMP.refuse_unknown,
        )


def test_the_rendered_table_names_every_rule():
    text = LAMP.render()
    for needle in ("switch_on — 开灯", "not_an_intern, watts_given", "set_watts, off_when_zero", "off (as"):
        assert needle in text
