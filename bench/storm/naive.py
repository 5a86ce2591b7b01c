"""Scoring against the truth, and the two naive groupers GridCare is compared with (pure functions).

Both groupers see what GridCare's analysis sees at the end of the storm: every call placed on the
topology as GridCare placed it (customer, transformer area, feeder, caller key — from the call's
trouble call), and how many customers each area and how many areas each feeder has. They group
all calls of the storm at once (no time), so they are judged on the final grouping only.

- **N1** "an event per transformer with ≥ 2 calls, then the feeder when ≥ 3 of its areas call":
  an area with ≥ 2 distinct callers is an area event; a feeder with ≥ 3 such areas is a feeder
  event and takes all calls under it.
- **N2** "round-1 thresholds": an area is suspect at max(3, ⌈15 % of its customers⌉) distinct
  callers; a feeder when max(3, ⌈25 % of its areas⌉) of its areas are suspect.

In both, a call placed on no area or feeder event is a customer event of its customer (a lone
fault); a call placed on a feeder only, with no feeder event, stays unplaced.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

Device = tuple[str, int]
Predicted = tuple[str, int | None] | None  # None: on no event


class PlacedCall(NamedTuple):
    caller: str  # who calls (the caller key: customer or phone)
    customer: int | None
    area: int | None
    feeder: int | None


@dataclass(frozen=True)
class Topology:
    area_customers: dict[int, int]  # area id → customers it supplies
    feeder_areas: dict[int, int]  # feeder id → areas on it


@dataclass
class Grouping:
    """Where each call ended (same order as the calls) and the area/feeder events made."""

    devices: list[Predicted]
    device_events: list[Device]


def group(
    calls: Sequence[PlacedCall],
    topology: Topology,
    area_rule: Callable[[int, int], bool],
    feeder_rule: Callable[[int, int], bool],
) -> Grouping:
    callers: dict[int, set[str]] = defaultdict(set)
    feeder_of: dict[int, int] = {}
    for call in calls:
        if call.area is not None:
            callers[call.area].add(call.caller)
            if call.feeder is not None:
                feeder_of[call.area] = call.feeder
    areas = {a for a, keys in callers.items() if area_rule(len(keys), topology.area_customers.get(a, 0))}
    suspects: dict[int, int] = defaultdict(int)
    for a in areas:
        if a in feeder_of:
            suspects[feeder_of[a]] += 1
    feeders = {f for f, n in suspects.items() if feeder_rule(n, topology.feeder_areas.get(f, 0))}
    out: list[Predicted] = []
    for call in calls:
        if call.feeder is not None and call.feeder in feeders:
            out.append(("feeder", call.feeder))
        elif call.area is not None and call.area in areas:
            out.append(("area", call.area))
        elif call.area is not None:
            out.append(("customer", call.customer))
        else:
            out.append(None)
    events: list[Device] = [("feeder", f) for f in sorted(feeders)]
    events += [("area", a) for a in sorted(areas) if feeder_of.get(a) not in feeders]
    return Grouping(out, events)


def n1(calls: Sequence[PlacedCall], topology: Topology) -> Grouping:
    return group(calls, topology, lambda callers, _size: callers >= 2, lambda areas, _n: areas >= 3)


def n2(calls: Sequence[PlacedCall], topology: Topology) -> Grouping:
    return group(
        calls,
        topology,
        lambda callers, size: callers >= max(3, math.ceil(0.15 * size)),
        lambda areas, n: areas >= max(3, math.ceil(0.25 * n)),
    )


# --- scoring ---------------------------------------------------------------------------------------


@dataclass
class Score:
    calls: int
    right: int
    devices: int  # faulted devices with evidence (≥ 2 distinct callers)
    found: int
    device_events: int
    spurious: int
    missed: list[Device] = field(default_factory=list)

    @property
    def right_share(self) -> float:
        return self.right / self.calls if self.calls else math.nan

    @property
    def found_share(self) -> float:
        return self.found / self.devices if self.devices else math.nan

    @property
    def spurious_share(self) -> float:
        return self.spurious / self.device_events if self.device_events else 0.0


def evident_devices(truths: Iterable[Device], callers: Iterable[int]) -> set[Device]:
    """The faulted devices with at least two distinct callers: the ones a grouper can be asked to
    find (one call about a device cannot be told from a lone fault)."""
    seen: dict[Device, set[int]] = defaultdict(set)
    for truth, caller in zip(truths, callers, strict=True):
        if truth[0] != "customer":
            seen[truth].add(caller)
    return {d for d, who in seen.items() if len(who) >= 2}


def score(
    truths: Sequence[Device],
    predicted: Sequence[Predicted],
    device_events: Sequence[Device],
    faulted: set[Device],
    evident: set[Device],
) -> Score:
    """Calls right (a call's final event is on its true device; a lone fault's on a customer event
    of that customer), evident faulted devices with an event, and device events (area/feeder) on a
    device that is not faulted."""
    right = sum(1 for t, p in zip(truths, predicted, strict=True) if p is not None and p == t)
    found_devices = set(device_events)
    return Score(
        calls=len(truths),
        right=right,
        devices=len(evident),
        found=len(evident & found_devices),
        device_events=len(device_events),
        spurious=sum(1 for d in device_events if d not in faulted),
        missed=sorted(evident - found_devices),
    )
