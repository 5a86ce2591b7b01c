"""Background work of fault repair command (Django Tasks API).

The top of the app: these tasks import the verbs they run; the verbs never import this module
(they schedule a task by its dotted path through ``core.scheduling``).
"""

from __future__ import annotations

from django_tasks import task

from .services import raise_long_outage_warnings, run_analysis


@task()
def roll_up_fault_calls() -> int:
    """研判: process the queued fault calls (来电登记), then roll new fault calls up into outage
    events (scheduled a few seconds after a call; a run that leaves calls queued schedules the next)."""
    report = run_analysis()
    return len(report.created)


@task()
def check_long_outage(event_id: int | None = None) -> int:
    """The 12-hour service warning: scheduled for an event when it forms (``event_id``), and run
    periodically without one as the sweep that catches a lost check. Either way every open event
    past 12 hours is warned about once."""
    return raise_long_outage_warnings()
