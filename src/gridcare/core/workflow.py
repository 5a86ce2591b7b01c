"""Workflow tables: every rule of a lifecycle in one table a person reads top to bottom.

An app declares
- its actions as a ``StrEnum`` subclassing ``Action`` (values are the strings URLs, the API, stored
  history rows and templates use);
- one ``Transition`` per action: the states it starts from, the state it leads to (None keeps the
  state, or an effect chooses), who may do it (roles), its **guards** (named functions that refuse
  with the app's error and a stable code) and its **effects** (named functions that change the
  record), then its follow-ups (``then``: clocks, notifications, after the row and its history are
  written);
- a ``Workflow`` over those transitions, with the app's callbacks for what differs between apps:
  how to read the state, whether the actor holds the roles, and the errors to refuse with.

``Workflow.run`` carries out one transition on a record the app has already found, scoped and
locked: the source state, the roles, the guards in order, the effects in order. It returns the
``Step`` (before, target, field changes, what the guards looked up) the app writes and records in
its history; ``Workflow.follow_up`` then runs the ``then`` functions. Guards and effects take the
``Step`` and nothing else, so each is a small function named for its rule.

This module is the bottom layer: it knows no business app (ADR 0007).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, TypeVar

Obj = TypeVar("Obj")


class Action(StrEnum):
    """Base of every app's action enum (``class OrderAction(Action): DISPATCH = "dispatch"``)."""


@dataclass
class Step(Generic[Obj]):
    """One transition under way: what guards read and effects write."""

    transition: Transition
    obj: Obj
    actor: Any
    before: str
    target: str
    note: str = ""
    payload: Mapping[str, Any] = field(default_factory=dict)
    now: dt.datetime | None = None
    changes: dict[str, Any] = field(default_factory=dict)  # field → new value, for the app's write
    found: dict[str, Any] = field(default_factory=dict)  # what a guard looked up, for an effect

    @property
    def action(self) -> str:
        return self.transition.action


Rule = Callable[[Step[Any]], None]
"""A guard (raises the app's error when its rule is not met) or an effect (changes the step)."""


@dataclass(frozen=True)
class Transition:
    action: Action
    label: Any  # a lazy translated string
    sources: frozenset[str]
    target: str | None  # None: the state stays, unless an effect picks one of ``or_to``
    roles: frozenset[str]  # empty: any role (the app's scope still applies)
    guards: tuple[Rule, ...] = ()
    effects: tuple[Rule, ...] = ()
    then: tuple[Rule, ...] = ()
    fields: tuple[str, ...] = ()  # what the action's form / API body asks for
    records_as: str | None = None  # the history row's action, when it is not the action itself
    or_to: tuple[str, ...] = ()  # other states an effect may lead to instead (documents the table)

    @property
    def guard_names(self) -> tuple[str, ...]:
        return tuple(rule.__name__ for rule in self.guards)

    @property
    def effect_names(self) -> tuple[str, ...]:
        return tuple(rule.__name__ for rule in self.effects)

    @property
    def then_names(self) -> tuple[str, ...]:
        return tuple(rule.__name__ for rule in self.then)

    @property
    def history_action(self) -> str:
        return self.records_as or self.action


@dataclass(frozen=True)
class Workflow(Generic[Obj]):
    """One lifecycle's table and the app's callbacks the runner needs."""

    name: str
    actions: type[Action]
    transitions: tuple[Transition, ...]
    state_of: Callable[[Obj], str]
    holds: Callable[[Any, Transition, Obj], bool]  # the actor holds the transition's roles (for obj)
    refuse_state: Callable[[Transition, Obj], Exception]
    refuse_role: Callable[[Transition, Obj], Exception]
    refuse_unknown: Callable[[str], Exception]
    refusals: tuple[type[Exception], ...] = (Exception,)  # what guards raise (``available`` screens)
    state_labels: Mapping[str, Any] = field(default_factory=dict)
    by_action: dict[str, Transition] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        table: dict[str, Transition] = {}
        for transition in self.transitions:
            if transition.action in table:
                raise ValueError(f"{self.name}: {transition.action} listed twice")
            if not isinstance(transition.action, self.actions):
                raise ValueError(f"{self.name}: {transition.action!r} is not a {self.actions.__name__}")
            table[transition.action] = transition
        missing = set(self.actions) - set(table)
        if missing:
            raise ValueError(f"{self.name}: no transition for {sorted(missing)}")
        object.__setattr__(self, "by_action", table)

    def __iter__(self) -> Iterator[Transition]:
        return iter(self.transitions)

    def get(self, action: str) -> Transition | None:
        return self.by_action.get(action)

    def transition(self, action: str) -> Transition:
        """The action's transition; the app's ``refuse_unknown`` error for a name not in the table."""
        found = self.by_action.get(action)
        if found is None:
            raise self.refuse_unknown(action)
        return found

    def from_state(self, state: str) -> list[Transition]:
        return [t for t in self.transitions if state in t.sources]

    def available(self, obj: Obj, actor: Any, *, screen: tuple[Rule, ...] = ()) -> list[Transition]:
        """What ``actor`` may offer to do on ``obj`` now: the state and roles allow it, and each
        guard in ``screen`` that the transition lists (guards about who, not about input) passes."""
        state = self.state_of(obj)
        offered = []
        for t in self.from_state(state):
            if not self.holds(actor, t, obj):
                continue
            step: Step[Obj] = Step(t, obj, actor, before=state, target=t.target or state)
            try:
                for guard in t.guards:
                    if guard in screen:
                        guard(step)
            except self.refusals:
                continue
            offered.append(t)
        return offered

    def run(
        self,
        action: str | Transition,
        obj: Obj,
        actor: Any,
        *,
        note: str = "",
        payload: Mapping[str, Any] | None = None,
        now: dt.datetime | None = None,
    ) -> Step[Obj]:
        """Check and apply one transition to ``obj`` (already locked by the app). Raises the app's
        errors; returns the step for the app to write and record."""
        transition = action if isinstance(action, Transition) else self.transition(action)
        before = self.state_of(obj)
        if before not in transition.sources:
            raise self.refuse_state(transition, obj)
        if not self.holds(actor, transition, obj):
            raise self.refuse_role(transition, obj)
        step: Step[Obj] = Step(
            transition,
            obj,
            actor,
            before=before,
            target=transition.target or before,
            note=note,
            payload=payload or {},
            now=now,
        )
        for guard in transition.guards:
            guard(step)
        for effect in transition.effects:
            effect(step)
        return step

    def follow_up(self, step: Step[Obj]) -> None:
        """The transition's ``then`` functions, after the app wrote the record and its history."""
        for rule in step.transition.then:
            rule(step)

    def render(self) -> str:
        """The table as text: per action, from → to, who, guards, effects, follow-ups, fields."""

        def states(values: frozenset[str] | tuple[str, ...]) -> str:
            order = list(self.state_labels) or sorted(values)
            ranked = sorted(values, key=lambda s: order.index(s) if s in order else len(order))
            return ", ".join(ranked)

        def names(values: tuple[str, ...]) -> str:
            return ", ".join(values) or "—"

        lines = [f"{self.name}: {len(self.transitions)} actions", ""]
        for t in self.transitions:
            if t.or_to:
                picked = ", ".join(t.or_to)
                target = (
                    f"{t.target} (or {picked}, as an effect picks)"
                    if t.target
                    else f"{picked} (as an effect picks)"
                )
            else:
                target = t.target or "(unchanged)"
            lines += [
                f"{t.action} — {t.label}",
                f"  from     {states(t.sources)}",
                f"  to       {target}",
                f"  who      {', '.join(sorted(t.roles)) or 'any role in scope'}",
                f"  guards   {names(t.guard_names)}",
                f"  effects  {names(t.effect_names)}",
                f"  then     {names(t.then_names)}",
            ]
            if t.fields:
                lines.append(f"  fields   {', '.join(t.fields)}")
            if t.records_as:
                lines.append(f"  history  {t.records_as}")
            lines.append("")
        return "\n".join(lines)
