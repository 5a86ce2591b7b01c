"""Notices of an outage to its affected customers through the notify outbox: one SMS per customer
with a mobile (key customers first, each purpose once per customer by its dedup key), an e-mail to
the account manager of each affected key customer, and the background task for big outages.
Called by the verbs of services.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.conf import settings

from gridcare.core import clock, scheduling
from gridcare.customers.models import Customer, CustomerPhone
from gridcare.notify.models import Channel, Priority
from gridcare.notify.services import Outgoing, enqueue_many

from . import wording
from .models import Outage, OutageCustomer, OutageKind, OutageState

ABOUT_TYPE = "outages.outage"
# The task that queues the rest of a big outage's notices after the publishing transaction.
QUEUE_NOTICES = "gridcare.outages.tasks.queue_outage_notices"


class Purpose:
    """What an outage message says; part of its dedup key, so each is queued once per customer."""

    NOTICE = "notice"
    RESTORED = "restored"
    CANCELLED = "cancelled"

    LABELS = {NOTICE: "停电通知", RESTORED: "恢复送电通知", CANCELLED: "停电取消通知"}
    QUEUED_FIELD = {NOTICE: "notice_queued_at", RESTORED: "restore_queued_at", CANCELLED: "cancel_queued_at"}


def dedup_key(outage: Outage, purpose: str, kind: str, ident: Any) -> str:
    return f"outage:{outage.number}:{purpose}:{kind}:{ident}"


DEFAULT_INLINE_NOTICES = 5000


def inline_limit() -> int:
    """Outages with more affected customers than this queue their ordinary customers' notices in
    the background task (``GRIDCARE_OUTAGE_INLINE_NOTICES`` in settings, default 5,000)."""
    return int(getattr(settings, "GRIDCARE_OUTAGE_INLINE_NOTICES", DEFAULT_INLINE_NOTICES))


def purpose_still_due(outage: Outage, purpose: str) -> bool:
    """A deferred notice is not sent once it no longer applies (a notice after the restoration)."""
    if purpose == Purpose.NOTICE:
        return outage.state in (OutageState.PUBLISHED, OutageState.IN_PROGRESS)
    if purpose == Purpose.RESTORED:
        return outage.state == OutageState.RESTORED
    return outage.state == OutageState.CANCELLED


def queue_or_defer(outage: Outage, purpose: str) -> int:
    """Queue ``purpose`` now for a small outage; for a big one queue the key customers now (they
    come first) and everyone else in ``tasks.queue_outage_notices`` after this transaction
    commits, so publishing or restoring 100,000 customers does not hold the request."""
    if outage.customer_count <= inline_limit():
        return queue_notices(outage, purpose)
    queued = queue_notices(outage, purpose, key_only=True)
    scheduling.schedule(QUEUE_NOTICES, outage.pk, purpose)
    return queued


def queue_notices(outage: Outage, purpose: str, *, key_only: bool = False) -> int:
    """Queue ``purpose`` (notice / restored / cancelled) by SMS to the primary mobile of every
    affected customer not yet sent it, key customers first, plus an e-mail to the account manager
    of each affected key customer. Idempotent: dedup keys and the per-customer ``*_queued_at``
    mark make a second call queue nothing. Returns how many messages were written."""
    field = Purpose.QUEUED_FIELD[purpose]
    company = wording.company_of(outage.unit)
    body = {
        Purpose.NOTICE: wording.customer_notice,
        Purpose.RESTORED: wording.restoration_notice,
        Purpose.CANCELLED: wording.cancellation_notice,
    }[purpose](outage, company)
    label = Purpose.LABELS[purpose]
    waiting = OutageCustomer.objects.filter(outage=outage, **{f"{field}__isnull": True})
    if key_only:
        waiting = waiting.filter(is_key=True)
    if purpose == Purpose.CANCELLED:
        waiting = waiting.filter(notice_queued_at__isnull=False)  # only those who were told
    key_ids = set(waiting.filter(is_key=True).values_list("customer_id", flat=True))
    mobiles = _primary_mobiles(waiting)
    ordinary = (
        Priority.BULK if outage.kind != OutageKind.FAULT and purpose == Purpose.NOTICE else Priority.NORMAL
    )
    about = (ABOUT_TYPE, outage.number)

    def messages() -> Iterator[Outgoing]:
        for customer_id in sorted(mobiles, key=lambda pk: (pk not in key_ids, pk)):
            number, name = mobiles[customer_id]
            yield Outgoing(
                channel=Channel.SMS,
                to=number,
                to_name=name,
                subject=label,
                body=body,
                priority=Priority.KEY_CUSTOMER if customer_id in key_ids else ordinary,
                dedup_key=dedup_key(outage, purpose, "sms", customer_id),
                recipient=("customers.customer", str(customer_id)),
                about=about,
            )

    queued = enqueue_many(messages())
    if mobiles:
        waiting.filter(customer_id__in=_mobile_owner_ids()).update(**{field: clock.now()})
    queued += _queue_manager_emails(outage, purpose, key_ids, label)
    return queued


def _mobile_owner_ids():
    return CustomerPhone.objects.filter(kind=CustomerPhone.Kind.MOBILE).values("customer_id")


def _primary_mobiles(rows) -> dict[int, tuple[str, str]]:
    """customer id → (primary mobile, customer name) for the customers of ``rows``."""
    found: dict[int, tuple[str, str]] = {}
    phones = (
        CustomerPhone.objects.filter(
            kind=CustomerPhone.Kind.MOBILE, customer_id__in=rows.values("customer_id")
        )
        .order_by("customer_id", "-is_primary", "id")
        .values_list("customer_id", "number", "customer__name")
    )
    for customer_id, number, name in phones.iterator(chunk_size=5000):
        if customer_id not in found and number.strip():
            found[customer_id] = (number.strip(), name)
    return found


def _queue_manager_emails(outage: Outage, purpose: str, key_ids: set[int], label: str) -> int:
    """The account manager (客户经理) of each affected key customer hears by e-mail, once per
    outage and purpose, with the list of their customers affected."""
    if not key_ids:
        return 0
    customers = (
        Customer.objects.filter(pk__in=key_ids, account_manager__isnull=False)
        .exclude(account_manager__email="")
        .select_related("account_manager")
        .order_by("account_no")
    )
    by_manager: dict[int, list[Customer]] = {}
    for customer in customers:
        by_manager.setdefault(customer.account_manager_id, []).append(customer)
    items = []
    for manager_id, theirs in by_manager.items():
        manager = theirs[0].account_manager
        listing = "\n".join(f"  {c.account_no} {c.name}" for c in theirs)
        body = (
            f"{manager.display_name}您好：\n\n"
            f"停电信息 {outage.number}（{outage.get_kind_display()}，{outage.reason}）"
            f"{wording.status_line(outage)}。\n"
            f"您负责的以下重要客户在影响范围内，请及时联系客户做好安排：\n{listing}\n\n"
            f"停电范围：{wording.scope_text(outage)}\n"
            f"{wording.company_of(outage.unit)}"
        )
        items.append(
            Outgoing(
                channel=Channel.EMAIL,
                to=manager.email,
                to_name=manager.display_name,
                subject=f"【{label}】重要客户停电告知 {outage.number}",
                body=body,
                priority=Priority.KEY_CUSTOMER,
                dedup_key=dedup_key(outage, purpose, "manager", manager_id),
                recipient=("org.user", str(manager_id)),
                about=(ABOUT_TYPE, outage.number),
            )
        )
    return enqueue_many(items)
