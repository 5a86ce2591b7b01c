"""Business actions of fault repair command, a module per concept. Pages, the API, commands and
tasks all call these; they never import ``repair.tasks`` (background work is asked for by task
path through ``core.scheduling``).

- ``intake``: ``report_fault_call`` (synchronous: the hotline) and what the caller hears
  (``answer_for``); a hazard call is made urgent at once.
- ``call_queue``: ``queue_fault_call`` (the API: 来电登记, one INSERT), ``process_queued_calls`` (the
  queue through ``report_fault_call``, in arrival order), ``retry_reported_call``.
- ``rollup``: ``run_analysis`` (queue, roll-up, the crew queue, the 12-hour watch).
- from ``repair.crew_queue``: ``dispatch_queue`` (free crews to the waiting events by priority,
  reinforcement from the neighbours), ``queue_view`` (the board's queue and why each event
  waits), ``withdraw_event`` (the analysis withdraws a spurious event and frees its crews).
- ``dispatcher``: ``confirm_event``, ``reassign_device``, ``split_event``, ``merge_events``,
  ``cancel_event``, ``dispatch_to_crew``, ``send_reinforcement``, ``answer_support_request``.
- ``crew``: ``report_arrival``, ``report_progress``, ``report_eta``, ``request_support``,
  ``report_restored`` (``close_linked_orders``), ``set_crew_duty``.
- ``watch``: ``raise_long_outage_warnings``.
- ``common``: what they share (the event's lock and note, telling staff). The actions on an event
  run their row of the lifecycle table (``repair.transitions``, rules in ``repair.rules``).

Customers hear about the outage through the outages app (``repair.outage_link``). The names
below are the package's public face: callers import them from ``gridcare.repair.services``.
"""

from __future__ import annotations

from gridcare.repair.crew_queue import dispatch_queue, queue_view, withdraw_event
from gridcare.repair.rules import crew_of
from gridcare.repair.wakeups import ROLLUP_DELAY_SECONDS, forget_wakeups

from .call_queue import (
    QueuedCall,
    QueueReport,
    process_queued_calls,
    queue_fault_call,
    reported_call_event,
    retry_reported_call,
)
from .common import DISPATCH_ROLES, SELF_CHECK_GUIDE, _require_dispatcher
from .crew import (
    best_crews,
    close_linked_orders,
    report_arrival,
    report_eta,
    report_progress,
    report_restored,
    request_support,
    set_crew_duty,
)
from .dispatcher import (
    answer_support_request,
    cancel_event,
    confirm_event,
    dispatch_to_crew,
    merge_events,
    reassign_device,
    send_reinforcement,
    split_event,
)
from .intake import SAFETY_ADVICE, CallResult, answer_for, report_fault_call
from .rollup import PROCESS_SECONDS, run_analysis
from .watch import raise_long_outage_warnings

__all__ = [
    "DISPATCH_ROLES",
    "PROCESS_SECONDS",
    "ROLLUP_DELAY_SECONDS",
    "SAFETY_ADVICE",
    "SELF_CHECK_GUIDE",
    "CallResult",
    "QueueReport",
    "QueuedCall",
    "_require_dispatcher",
    "answer_for",
    "answer_support_request",
    "best_crews",
    "cancel_event",
    "close_linked_orders",
    "confirm_event",
    "crew_of",
    "dispatch_queue",
    "dispatch_to_crew",
    "forget_wakeups",
    "merge_events",
    "process_queued_calls",
    "queue_view",
    "queue_fault_call",
    "raise_long_outage_warnings",
    "reassign_device",
    "report_arrival",
    "report_eta",
    "report_fault_call",
    "report_progress",
    "report_restored",
    "reported_call_event",
    "request_support",
    "retry_reported_call",
    "run_analysis",
    "send_reinforcement",
    "set_crew_duty",
    "split_event",
    "withdraw_event",
]
