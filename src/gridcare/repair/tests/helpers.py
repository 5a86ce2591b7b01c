"""Small helpers of the repair tests."""

from __future__ import annotations


def call(w, customer, content="家里停电了", actor=None, **extra):
    from gridcare.repair.services import report_fault_call

    return report_fault_call(actor=actor or w.agent, content=content, customer=customer, **extra)
