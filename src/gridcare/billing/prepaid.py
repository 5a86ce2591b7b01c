"""Prepaid (费控): the balance a customer buys ahead (``on_purchase``, called by ``payments``) and
usage draws down (``draw_down``), what the customer hears, and the cut and the restore.

The states of a ``PrepaidAccount`` follow its balance, re-read by every change and by the sweep
``check_prepaid``:

- at or above the threshold (the account's ``low_threshold``, else
  ``BillingSetting.low_balance_yuan``, 30 yuan): normal — a low-balance episode ends;
- below it: low — one SMS per episode (``low_told_at``; a new one only after the balance rose to
  the threshold again);
- below zero: negative — a warning SMS at once, and the cut ``prepaid_grace_minutes`` (30) later:
  a local meter trips itself (recorded, no command), a remote one gets GridCare's trip command.
  Under 保电 (``guarantees.in_force``) nothing is cut: a ``PrepaidCommand`` row with result
  ``blocked`` records why, once per episode;
- cut: restored as soon as a purchase brings the balance above zero — a close command for a
  remote meter (a local one closes itself when the purchase is loaded), state normal, an SMS.

``estimated_days_left``: the balance over the average kWh of the last ``USAGE_DAYS`` days of
daily usage (``DailyUsage``, the days present) priced at the first-band price of the customer's
tariff version in force that day (``TariffRules.tier_prices[0]``: an estimate, not a bill —
tiers, time-of-use and surcharges are left out).
"""

from __future__ import annotations

import datetime as dt
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, DecimalField, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from gridcare.core import clock
from gridcare.core.api_errors import ApiError, ErrorCode
from gridcare.customers.models import Customer

from . import contact, guarantees
from .models import (
    BillingAccount,
    BillingSetting,
    DailyUsage,
    DisconnectionCase,
    PrepaidAccount,
    PrepaidCommand,
    TariffVersion,
)
from .tariffs import TariffRules, money

State = PrepaidAccount.State
ABOUT = "billing.prepaidaccount"
USAGE_DAYS = 7
BLOCKED = "blocked"


def threshold(account: PrepaidAccount, setting: BillingSetting) -> Decimal:
    return account.low_threshold if account.low_threshold is not None else setting.low_balance_yuan


def _text(account: PrepaidAccount, body: str, what: str) -> None:
    contact.text_customer(
        account.customer, body, dedup=f"billing:prepaid:{account.pk}:{what}", about=(ABOUT, str(account.pk))
    )


def _stamp(at: dt.datetime | None) -> str:
    return f"{clock.local(at):%Y%m%d%H%M%S}" if at is not None else ""


def _set_customer_cut(account: PrepaidAccount, cut: bool) -> None:
    if cut:
        Customer.objects.filter(pk=account.customer_id).update(status=Customer.Status.DISCONNECTED)
        return
    cases_cut = DisconnectionCase.objects.filter(
        customer_id=account.customer_id,
        state__in=(DisconnectionCase.State.DISCONNECTED, DisconnectionCase.State.RECONNECTING),
    ).exists()
    if not cases_cut:
        Customer.objects.filter(pk=account.customer_id, status=Customer.Status.DISCONNECTED).update(
            status=Customer.Status.ACTIVE
        )


def _cut(account: PrepaidAccount, now: dt.datetime) -> None:
    covering = guarantees.in_force(account.customer, now)
    if covering:
        since = account.negative_since or now
        if not account.commands.filter(
            kind=PrepaidCommand.Kind.TRIP, result=BLOCKED, sent_at__gte=since
        ).exists():
            first = covering[0]
            PrepaidCommand.objects.create(
                account=account,
                kind=PrepaidCommand.Kind.TRIP,
                reason=(
                    _("保电期间不停电：%(reason)s（至%(end)s）")
                    % {
                        "reason": first.get_reason_display(),
                        "end": f"{clock.local(first.ends_at):%Y-%m-%d %H:%M}",
                    }
                )[:120],
                sent_at=now,
                result=BLOCKED,
            )
        return
    if account.mode == PrepaidAccount.Mode.REMOTE:
        PrepaidCommand.objects.create(
            account=account, kind=PrepaidCommand.Kind.TRIP, reason=_("费控余额不足停电"), sent_at=now
        )
    account.state, account.cut_at = State.CUT, now
    _set_customer_cut(account, True)
    _text(
        account,
        _("【国网】您的户号%(account)s费控余额已不足（%(balance)s元），已停止供电。购电后将自动恢复供电。")
        % {"account": account.customer.account_no, "balance": account.balance},
        f"cut:{_stamp(now)}",
    )


def _restore(account: PrepaidAccount, now: dt.datetime) -> None:
    if account.mode == PrepaidAccount.Mode.REMOTE:
        PrepaidCommand.objects.create(
            account=account, kind=PrepaidCommand.Kind.CLOSE, reason=_("购电后自动复电"), sent_at=now
        )
    account.state, account.restored_at, account.negative_since = State.NORMAL, now, None
    _set_customer_cut(account, False)
    _text(
        account,
        _("【国网】您的户号%(account)s购电成功，余额%(balance)s元，已为您恢复供电。")
        % {"account": account.customer.account_no, "balance": account.balance},
        f"restored:{_stamp(now)}",
    )


def _evaluate(account: PrepaidAccount, now: dt.datetime) -> None:
    """Move a locked account to the state its balance calls for (see the module's docstring); the
    caller saves it."""
    setting = BillingSetting.current(clock.local(now).date())
    balance, low = account.balance, threshold(account, setting)
    if account.state == State.CUT:
        if balance > 0:
            _restore(account, now)
        else:
            return
    if balance < 0:
        if account.state != State.NEGATIVE or account.negative_since is None:
            account.state, account.negative_since = State.NEGATIVE, now
            _text(
                account,
                _(
                    "【国网】您的户号%(account)s费控余额已欠费%(owed)s元，将于%(minutes)s分钟后停电，请尽快购电。"
                )
                % {
                    "account": account.customer.account_no,
                    "owed": -balance,
                    "minutes": setting.prepaid_grace_minutes,
                },
                f"negative:{_stamp(now)}",
            )
        if now >= account.negative_since + dt.timedelta(minutes=setting.prepaid_grace_minutes):
            _cut(account, now)
        return
    account.negative_since = None
    if balance < low:
        account.state = State.LOW
        if account.low_told_at is None:
            account.low_told_at = now
            _text(
                account,
                _("【国网】您的户号%(account)s费控余额为%(balance)s元，已低于%(low)s元，请及时购电。")
                % {"account": account.customer.account_no, "balance": balance, "low": low},
                f"low:{_stamp(now)}",
            )
        return
    account.state, account.low_told_at = State.NORMAL, None


_FIELDS = ["balance", "state", "negative_since", "low_told_at", "cut_at", "restored_at", "updated_at"]


def _account(customer_id: int) -> PrepaidAccount:
    found = (
        PrepaidAccount.objects.select_for_update()
        .select_related("customer")
        .filter(customer_id=customer_id)
        .first()
    )
    if found is None:
        raise ApiError(ErrorCode.NOT_FOUND, _("该客户没有费控账户"), status=404)
    return found


def _amount(amount: Decimal) -> Decimal:
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount < 0:
        raise ApiError(ErrorCode.INVALID_INPUT, _("金额必须为非负数"), status=422)
    return money(amount)


def draw_down(customer_id: int, amount: Decimal, at: datetime) -> Decimal:
    """Usage charged against the balance (e.g. a day's usage); returns the new balance."""
    amount = _amount(amount)
    with transaction.atomic():
        account = _account(customer_id)
        account.balance -= amount
        account.updated_at = at
        _evaluate(account, at)
        account.save(update_fields=_FIELDS)
    return account.balance


def on_purchase(customer_id: int, amount: Decimal, at: datetime) -> None:
    """购电 (called by ``payments`` after a prepaid payment commits): the balance grows; a cut
    account with a positive balance is restored at once."""
    amount = _amount(amount)
    with transaction.atomic():
        account = _account(customer_id)
        account.balance += amount
        account.updated_at = at
        _evaluate(account, at)
        account.save(update_fields=_FIELDS)


def check_prepaid(now: datetime | None = None) -> int:
    """The sweep: every account whose balance calls for a change (low, below zero, the grace
    run out, cut with money again) moved; returns how many changed. Idempotent."""
    now = now or clock.now()
    setting = BillingSetting.current(clock.local(now).date())
    limit = Coalesce(
        "low_threshold",
        Value(setting.low_balance_yuan),
        output_field=DecimalField(max_digits=14, decimal_places=2),
    )
    attention = (
        Q(state=State.NEGATIVE)
        | (Q(balance__lt=0) & ~Q(state=State.CUT))
        | Q(state=State.NORMAL, balance__lt=limit)
        | Q(state=State.LOW, balance__gte=limit)
        | Q(state=State.CUT, balance__gt=0)
    )
    changed = 0
    for pk in PrepaidAccount.objects.filter(attention).order_by("id").values_list("customer_id", flat=True):
        with transaction.atomic():
            account = _account(pk)
            before = [getattr(account, f) for f in _FIELDS]
            _evaluate(account, now)
            if [getattr(account, f) for f in _FIELDS] != before:
                account.save(update_fields=_FIELDS)
                changed += 1
    return changed


def estimated_days_left(customer_id: int, on: dt.date) -> int | None:
    """Whole days the balance lasts at the recent daily spend (see the module's docstring); None
    without usage, a tariff, or any spend; 0 when nothing is left."""
    return estimated_days_left_many([customer_id], on).get(customer_id)


def estimated_days_left_many(customer_ids: list[int], on: dt.date) -> dict[int, int | None]:
    """``estimated_days_left`` of many accounts (a page of a list) in four reads."""
    balances = dict(
        PrepaidAccount.objects.filter(customer_id__in=customer_ids).values_list("customer_id", "balance")
    )
    schedules = dict(
        BillingAccount.objects.filter(customer_id__in=customer_ids).values_list("customer_id", "schedule_id")
    )
    used = {
        row["customer_id"]: (row["kwh"], row["days"])
        for row in DailyUsage.objects.filter(
            customer_id__in=customer_ids, day__lt=on, day__gte=on - dt.timedelta(days=USAGE_DAYS)
        )
        .order_by()
        .values("customer_id")
        .annotate(kwh=Sum("kwh"), days=Count("id"))
    }
    prices: dict[int, Decimal] = {}
    versions = TariffVersion.objects.filter(schedule_id__in=set(schedules.values()), effective_from__lte=on)
    for version in versions.order_by("schedule_id", "-effective_from"):
        if version.schedule_id not in prices:
            prices[version.schedule_id] = TariffRules.model_validate(version.rules).tier_prices[0]
    found: dict[int, int | None] = {}
    for customer_id in customer_ids:
        balance, schedule = balances.get(customer_id), schedules.get(customer_id)
        if balance is None or schedule is None:
            found[customer_id] = None
            continue
        if balance <= 0:
            found[customer_id] = 0
            continue
        kwh, days = used.get(customer_id, (None, 0))
        price = prices.get(schedule)
        if not days or price is None:
            found[customer_id] = None
            continue
        per_day = Decimal(kwh or 0) / Decimal(days) * price
        found[customer_id] = int(balance // per_day) if per_day > 0 else None
    return found
