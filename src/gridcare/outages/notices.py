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
from gridcare.notify.models import Channel, Message, Priority
from gridcare.notify.services import Outgoing, enqueue_many

from . import wording
from .models import Outage, OutageCustomer, OutageKind, OutageState

ABOUT_TYPE = "outages.outage"
# The task that queues the rest of a big outage's notices after the publishing transaction.
QUEUE_NOTICES = "gridcare.outages.tasks.queue_outage_notices"


class Purpose:
    """What an outage message says; part of its dedup key, so each is queued once per customer.

    The corrections of a fault outage's scope change (``queue_scope_change``) are queued once per
    customer *and change*: their dedup key holds the change's number (``corrected:3``)."""

    NOTICE = "notice"
    RESTORED = "restored"
    CANCELLED = "cancelled"
    CORRECTED = "corrected"  # still (or again) in the scope: what is now known
    WITHDRAWN = "withdrawn"  # told of the outage, no longer in its scope

    LABELS = {NOTICE: "停电通知", RESTORED: "恢复送电通知", CANCELLED: "停电取消通知"}
    CORRECTION_LABELS = {CORRECTED: "停电信息更正", WITHDRAWN: "停电通知撤回"}
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


def queue_or_defer(outage: Outage, purpose: str, *, managers: bool = True) -> int:
    """Queue ``purpose`` now for a small outage; for a big one queue the key customers now (they
    come first) and everyone else in ``tasks.queue_outage_notices`` after this transaction
    commits, so publishing or restoring 100,000 customers does not hold the request."""
    if outage.customer_count <= inline_limit():
        return queue_notices(outage, purpose, managers=managers)
    queued = queue_notices(outage, purpose, key_only=True, managers=managers)
    scheduling.schedule(QUEUE_NOTICES, outage.pk, purpose)
    return queued


def queue_notices(outage: Outage, purpose: str, *, key_only: bool = False, managers: bool = True) -> int:
    """Queue ``purpose`` (notice / restored / cancelled) by SMS to the primary mobile of every
    affected customer not yet sent it, key customers first, plus an e-mail to the account manager
    of each affected key customer (unless ``managers`` is False: a scope change writes them its
    own). Idempotent: dedup keys and the per-customer ``*_queued_at`` mark make a second call queue
    nothing. Returns how many messages were written."""
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
    if managers:
        queued += _queue_manager_emails(outage, purpose, key_ids, label)
    return queued


# --- a fault outage's scope changed --------------------------------------------------------------


def told_customers(outage: Outage, area_ids: set[int]) -> list[tuple[int, bool]]:
    """(customer id, is key) of the customers of ``area_ids`` who were sent the outage's notice:
    read before their rows leave the scope, so they can be told it does not concern them."""
    if not area_ids:
        return []
    rows = OutageCustomer.objects.filter(
        outage=outage, transformer_area_id__in=area_ids, notice_queued_at__isnull=False
    )
    return list(rows.values_list("customer_id", "is_key"))


def queue_scope_change(outage: Outage, change: int, left: list[tuple[int, bool]]) -> dict[str, int]:
    """The customers' messages of a fault outage's scope change number ``change`` (its scope now
    saved): one message per customer at most —

    - told of the outage and still in it (or back in it): the correction (``Purpose.CORRECTED``,
      ``wording.correction_notice``: what is now known, the estimate if there is one);
    - told of the outage and no longer in it (``left``, read before the change): the withdrawal
      (``Purpose.WITHDRAWN``, ``wording.withdrawal_notice``);
    - in it and never told: the ordinary notice (``queue_or_defer``);
    - the account manager of each key customer among them: one e-mail listing them.

    Customers without a mobile get nothing (as for every outage SMS). Returns the counts by kind."""
    company = wording.company_of(outage.unit)
    now = clock.now()
    key_ids = {cid for cid, is_key in left if is_key}
    body = wording.withdrawal_notice(outage, company)
    withdrawn = enqueue_many(
        _sms(outage, f"{Purpose.WITHDRAWN}:{change}", [c for c, _ in left], key_ids, body)
    )
    # Customers back in the scope after they left it (and were told so) hear the correction too.
    told_before = set(
        Message.objects.filter(
            about_type=ABOUT_TYPE,
            about_id=outage.number,
            dedup_key__startswith=f"outage:{outage.number}:{Purpose.NOTICE}:sms:",
        ).values_list("recipient_id", flat=True)
    )
    rows = OutageCustomer.objects.filter(outage=outage)
    staying = list(rows.filter(notice_queued_at__isnull=False).values_list("customer_id", "is_key"))
    untold = rows.filter(notice_queued_at__isnull=True)
    back = [
        (cid, is_key)
        for cid, is_key in untold.values_list("customer_id", "is_key")
        if str(cid) in told_before
    ]
    for start in range(0, len(back), 5000):  # told now: not sent the notice below
        chunk = [cid for cid, _ in back[start : start + 5000]]
        untold.filter(customer_id__in=chunk).update(notice_queued_at=now)
    corrected_ids = [cid for cid, _ in staying] + [cid for cid, _ in back]
    corrected_keys = {cid for cid, is_key in [*staying, *back] if is_key}
    body = wording.correction_notice(outage, company)
    corrected = enqueue_many(
        _sms(outage, f"{Purpose.CORRECTED}:{change}", corrected_ids, corrected_keys, body)
    )
    new_keys = set(untold.filter(is_key=True).values_list("customer_id", flat=True))
    notified = queue_or_defer(outage, Purpose.NOTICE, managers=False)
    managers = _queue_scope_change_emails(
        outage, change, {"still": corrected_keys, "joined": new_keys, "left": key_ids}
    )
    return {"corrected": corrected, "withdrawn": withdrawn, "notified": notified, "managers": managers}


def _sms(
    outage: Outage, purpose: str, customer_ids: list[int], key_ids: set[int], body: str
) -> Iterator[Outgoing]:
    """One SMS of ``body`` to the primary mobile of each of ``customer_ids``, key customers first."""
    label = Purpose.CORRECTION_LABELS[purpose.partition(":")[0]]
    mobiles: dict[int, tuple[str, str]] = {}
    for start in range(0, len(customer_ids), 5000):
        mobiles.update(_primary_mobiles_of(customer_ids[start : start + 5000]))
    for customer_id in sorted(mobiles, key=lambda pk: (pk not in key_ids, pk)):
        number, name = mobiles[customer_id]
        yield Outgoing(
            channel=Channel.SMS,
            to=number,
            to_name=name,
            subject=label,
            body=body,
            priority=Priority.KEY_CUSTOMER if customer_id in key_ids else Priority.NORMAL,
            dedup_key=dedup_key(outage, purpose, "sms", customer_id),
            recipient=("customers.customer", str(customer_id)),
            about=(ABOUT_TYPE, outage.number),
        )


def _manager_email(outage: Outage, manager, *, label: str, body: str, purpose: str) -> Outgoing:
    """The e-mail to an account manager about their key customers in ``outage`` (once per
    outage, ``purpose`` and manager)."""
    return Outgoing(
        channel=Channel.EMAIL,
        to=manager.email,
        to_name=manager.display_name,
        subject=f"【{label}】重要客户停电告知 {outage.number}",
        body=body,
        priority=Priority.KEY_CUSTOMER,
        dedup_key=dedup_key(outage, purpose, "manager", manager.pk),
        recipient=("org.user", str(manager.pk)),
        about=(ABOUT_TYPE, outage.number),
    )


def _key_customers_by_manager(ids) -> dict[int, list[Customer]]:
    """The key customers among ``ids`` that have an account manager with an e-mail, by manager."""
    customers = (
        Customer.objects.filter(pk__in=ids, account_manager__isnull=False)
        .exclude(account_manager__email="")
        .select_related("account_manager")
        .order_by("account_no")
    )
    by_manager: dict[int, list[Customer]] = {}
    for customer in customers:
        by_manager.setdefault(customer.account_manager_id, []).append(customer)
    return by_manager


def _queue_scope_change_emails(outage: Outage, change: int, key_ids: dict[str, set[int]]) -> int:
    """One e-mail per account manager whose key customers the change concerns, listing them by
    what they were told (still in the scope / newly in it / no longer in it)."""
    every = set().union(*key_ids.values())
    if not every:
        return 0
    by_manager = _key_customers_by_manager(every)
    headings = {"still": "仍在停电范围内", "joined": "新纳入停电范围", "left": "经核实不在停电范围内"}
    items = []
    for theirs in by_manager.values():
        manager = theirs[0].account_manager
        sections = []
        for kind, heading in headings.items():
            listed = [c for c in theirs if c.pk in key_ids[kind]]
            if listed:
                sections.append(f"{heading}：\n" + "\n".join(f"  {c.account_no} {c.name}" for c in listed))
        body = (
            f"{manager.display_name}您好：\n\n"
            f"停电信息 {outage.number}（{outage.get_kind_display()}，{outage.reason}）的停电范围已调整，"
            f"{wording.status_line(outage)}。\n您负责的重要客户：\n" + "\n".join(sections) + "\n\n"
            f"停电范围：{wording.scope_text(outage)}\n{wording.company_of(outage.unit)}"
        )
        items.append(
            _manager_email(
                outage,
                manager,
                label=Purpose.CORRECTION_LABELS[Purpose.CORRECTED],
                body=body,
                purpose=f"scope:{change}",
            )
        )
    return enqueue_many(items)


def _mobile_owner_ids():
    return CustomerPhone.objects.filter(kind=CustomerPhone.Kind.MOBILE).values("customer_id")


def _primary_mobiles(rows) -> dict[int, tuple[str, str]]:
    """customer id → (primary mobile, customer name) for the customers of ``rows``."""
    return _primary_mobiles_of(rows.values("customer_id"))


def _primary_mobiles_of(customer_ids) -> dict[int, tuple[str, str]]:
    """customer id → (primary mobile, customer name) for ``customer_ids`` (ids or a subquery)."""
    found: dict[int, tuple[str, str]] = {}
    phones = (
        CustomerPhone.objects.filter(kind=CustomerPhone.Kind.MOBILE, customer_id__in=customer_ids)
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
    by_manager = _key_customers_by_manager(key_ids)
    items = []
    for theirs in by_manager.values():
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
        items.append(_manager_email(outage, manager, label=label, body=body, purpose=purpose))
    return enqueue_many(items)
