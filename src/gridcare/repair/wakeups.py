"""The debounced wake-up of the roll-up (研判): a call that could not be placed on an open event, or
a call queued over the API, asks for one roll-up a few seconds from now — unless one is due.

Below ``placement`` (whose ``reset_caches`` forgets what this process knows) and the services that
wake it; the roll-up task is named by its path (``core.scheduling``), not imported.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Q

from gridcare.core import clock, scheduling

from .models import AnalysisWakeup

ROLLUP_DELAY_SECONDS = 3
# The task that processes the queued calls and rolls calls up into events.
ROLL_UP = "gridcare.repair.tasks.roll_up_fault_calls"

# A roll-up this process knows to be due (clock time): while it is, a call wakes nothing and
# touches no row, so a storm of calls reads the wakeup row at most once per roll-up and process.
_ROLLUP_DUE: dict[str, dt.datetime | None] = {"at": None}


def forget_wakeups() -> None:
    _ROLLUP_DUE["at"] = None


def wake_analysis() -> dt.datetime:
    """Make sure one roll-up (which processes the queued calls first) runs a few seconds from now,
    unless one is already due (debounced): no database work while this process knows one is due,
    else a read of the one wakeup row and a write only when none is due. Returns when it is due;
    the process remembers it once the caller's transaction has committed."""
    now = clock.now()
    known = _ROLLUP_DUE["at"]
    if known is not None and now < known:
        return known
    when = now + dt.timedelta(seconds=ROLLUP_DELAY_SECONDS)
    wakeup = AnalysisWakeup.objects.order_by("id").first()
    if wakeup is None:
        AnalysisWakeup.objects.create(run_after=when)
    elif (
        not AnalysisWakeup.objects.filter(pk=wakeup.pk)
        .filter(Q(run_after__isnull=True) | Q(run_after__lt=now))
        .update(run_after=when)
    ):
        when = wakeup.run_after or when
        transaction.on_commit(lambda: _ROLLUP_DUE.update(at=when))
        return when
    scheduling.schedule(ROLL_UP, at=when)
    transaction.on_commit(lambda: _ROLLUP_DUE.update(at=when))
    return when
