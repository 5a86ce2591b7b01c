"""Background work of billing (run by ``gridcare worker``; intervals in
``settings.GRIDCARE_PERIODIC_TASKS``). Each is an idempotent sweep."""

from __future__ import annotations

from django_tasks import task

from . import arrears, prepaid


@task()
def send_arrears_reminders() -> int:
    """催费: an SMS for each open bill overdue by the reminder days (once per bill)."""
    return arrears.send_reminders()


@task()
def raise_reconnection_warnings() -> int:
    """复电时限预警: the warning levels of reconnections due within the promised hours."""
    return arrears.raise_reconnection_warnings()


@task()
def run_533_control() -> int:
    """ "533" 督办: the run of the current slot inside the window (once per day and slot)."""
    return 1 if arrears.run_533() is not None else 0


@task()
def check_prepaid_accounts() -> int:
    """费控: low-balance SMS, below-zero warnings, cuts after the grace, restores."""
    return prepaid.check_prepaid()
