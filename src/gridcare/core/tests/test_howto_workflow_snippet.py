"""The two-state example of docs/how-to-add-a-capability.md §2, kept runnable (keep them in step)."""

from types import SimpleNamespace

import pytest

from gridcare.core.workflow import Action, Step, Transition, Workflow


class Refused(Exception):
    pass


class ApplicationAction(Action):
    ACCEPT = "accept"


def documents_complete(step: Step) -> None:  # a guard: raises when its rule is not met
    if not step.obj.documents:
        raise Refused("documents_missing")


def stamp_accepted(step: Step) -> None:  # an effect: records a change for the verb to write
    step.changes["accepted_note"] = step.note


APPLICATION_FLOW: Workflow = Workflow(
    name="application",
    actions=ApplicationAction,
    transitions=(
        Transition(
            ApplicationAction.ACCEPT,
            label="受理",
            sources=frozenset({"submitted"}),
            target="accepted",
            roles=frozenset({"clerk"}),
            guards=(documents_complete,),
            effects=(stamp_accepted,),
        ),
    ),
    state_of=lambda app: app.status,
    holds=lambda actor, transition, app: not transition.roles or actor.role in transition.roles,
    refuse_state=lambda transition, app: Refused("bad_state"),
    refuse_role=lambda transition, app: Refused("forbidden"),
    refuse_unknown=lambda action: Refused("unknown_action"),
    refusals=(Refused,),
)


def test_snippet_runs() -> None:
    clerk = SimpleNamespace(role="clerk")
    app = SimpleNamespace(status="submitted", documents=["id card"])
    step = APPLICATION_FLOW.run("accept", app, clerk, note="ok")
    assert (step.before, step.target, step.changes) == ("submitted", "accepted", {"accepted_note": "ok"})
    with pytest.raises(Refused, match="documents_missing"):
        APPLICATION_FLOW.run("accept", SimpleNamespace(status="submitted", documents=[]), clerk)
    with pytest.raises(Refused, match="bad_state"):
        APPLICATION_FLOW.run("accept", SimpleNamespace(status="accepted", documents=["x"]), clerk)
