"""Files from the channels and from a marketing system of record, all-or-nothing: every row is
checked first; one bad row rejects the whole file with a report naming each bad row (row number,
account, what is wrong, in Chinese), and nothing is posted. The same file (by its SHA-256) is
never imported twice.

Kinds (``PaymentFile.Kind``), CSV (UTF-8, with or without BOM) or XLSX, the first row the header:

- ``withholding`` — the bank's withholding result (代扣回盘): 户号, 金额, 银行流水号, 扣款日期,
  扣款结果. Successful rows become payments (channel ``withholding``, the bank's serial as the
  reference); failed ones are listed, not posted. The result is read by ``withholding_result``:
  成功/失败 (also 扣款成功/扣款失败), success/succeeded/ok and fail/failed/failure (any case, full-width
  too), S/F, and a bank's response code of two or four digits (00/0000 success, any other code a
  failure, the code kept in the report). A bare 1 or 0 is refused as ambiguous: flag files use
  1 = success, return-code files 0 = success, and Excel turns the code 00 into 0.
- ``agent`` — an agent's collection list (代收, e.g. the post office): 户号, 金额, 流水号, 缴费日期.
- ``payments`` — payments from the system of record: 户号, 金额, 流水号, 缴费日期 (channel
  ``imported``).
- ``bills`` — bills from the system of record: 账单编号, 户号, 电费年月 (YYYY-MM), 电量, 金额,
  缴费截止日 (kind ``imported``, open, the arrears raised).
- ``balances`` — money paid ahead (预存) from the system of record: 户号, 预存余额 (posted as an
  opening payment, so it pays open bills first and the rest waits as credit).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from gridcare.core import clock
from gridcare.core.api_errors import ApiError, ErrorCode
from gridcare.customers.models import Customer
from gridcare.org import scoping

from . import payments
from .models import BILLING_ROLES, Bill, BillingAccount, BillState, Channel, Payment, PaymentFile

MAX_ROWS = 50_000
MAX_BYTES = 10 * 1024 * 1024
CENT = Decimal("0.01")

COLUMNS: dict[str, tuple[str, ...]] = {
    PaymentFile.Kind.WITHHOLDING: ("户号", "金额", "银行流水号", "扣款日期", "扣款结果"),
    PaymentFile.Kind.AGENT: ("户号", "金额", "流水号", "缴费日期"),
    PaymentFile.Kind.PAYMENTS: ("户号", "金额", "流水号", "缴费日期"),
    PaymentFile.Kind.BILLS: ("账单编号", "户号", "电费年月", "电量", "金额", "缴费截止日"),
    PaymentFile.Kind.BALANCES: ("户号", "预存余额"),
}
CHANNEL_OF: dict[str, str] = {
    PaymentFile.Kind.WITHHOLDING: Channel.WITHHOLDING,
    PaymentFile.Kind.AGENT: Channel.AGENT,
    PaymentFile.Kind.PAYMENTS: Channel.IMPORTED,
}


@dataclass
class Checked:
    """A file read and checked: the good rows (as values) and the report of every row."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    report: list[dict[str, Any]] = field(default_factory=list)
    bad: int = 0

    def refuse(self, line: int, account: str, message: str) -> None:
        self.bad += 1
        self.report.append({"row": line, "account_no": account, "ok": False, "message": message})

    def note(self, line: int, account: str, message: str) -> None:
        self.report.append({"row": line, "account_no": account, "ok": True, "message": message})


def read_table(name: str, content: bytes) -> list[list[str]]:
    """The rows of a CSV or XLSX file as text cells (the header first)."""
    if name.lower().endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            sheet = load_workbook(io.BytesIO(content), read_only=True, data_only=True).active
        except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
            raise ApiError(ErrorCode.BAD_FILE, _("无法读取Excel文件"), status=422) from exc
        out = []
        for values in sheet.iter_rows(values_only=True):
            out.append(
                [
                    "" if v is None else (v.strftime("%Y-%m-%d") if isinstance(v, dt.date) else str(v))
                    for v in values
                ]
            )
        return out
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ApiError(ErrorCode.BAD_FILE, _("文件须为UTF-8编码的CSV或Excel（.xlsx）"), status=422) from exc
    return list(csv.reader(io.StringIO(text)))


def _money(value: str) -> Decimal | None:
    try:
        amount = Decimal(value.strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        return None
    if not amount.is_finite() or amount != amount.quantize(CENT):
        return None
    return amount


def _day(value: str) -> dt.date | None:
    value = value.strip().replace("/", "-")
    for fmt in ("%Y-%m-%d", "%Y%m%d"):
        try:
            return dt.datetime.strptime(value[:10], fmt).date()  # noqa: DTZ007 - a calendar date
        except ValueError:
            continue
    return None


SUCCESS_WORDS = frozenset({"成功", "扣款成功", "SUCCESS", "SUCCEEDED", "SUCCESSFUL", "OK", "S"})
FAILURE_WORDS = frozenset({"失败", "扣款失败", "FAIL", "FAILED", "FAILURE", "F"})
_RESPONSE_CODE = re.compile(r"\d{2}|\d{4}")


def withholding_result(value: str) -> tuple[bool, str] | None:
    """A bank file's 扣款结果 as (succeeded, the bank's code or ""), or None when it cannot be
    read (see the module's docstring for the values taken)."""
    text = unicodedata.normalize("NFKC", value).strip().upper()
    if text in SUCCESS_WORDS:
        return True, ""
    if text in FAILURE_WORDS:
        return False, ""
    if _RESPONSE_CODE.fullmatch(text):
        return set(text) == {"0"}, text
    return None


def check(kind: str, name: str, content: bytes, actor) -> Checked:
    """Every row of the file checked (no writes)."""
    if len(content) > MAX_BYTES:
        raise ApiError(ErrorCode.BAD_FILE, _("文件过大（上限10MB）"), status=422)
    table = read_table(name, content)
    wanted = COLUMNS[kind]
    if not table:
        raise ApiError(ErrorCode.BAD_FILE, _("文件为空"), status=422)
    header = [cell.strip() for cell in table[0]]
    missing = [c for c in wanted if c not in header]
    if missing:
        raise ApiError(
            ErrorCode.BAD_FILE, _("缺少列：%(columns)s") % {"columns": "、".join(missing)}, status=422
        )
    body = [row for row in table[1:] if any(cell.strip() for cell in row)]
    if len(body) > MAX_ROWS:
        raise ApiError(ErrorCode.BAD_FILE, _("行数超过上限%(max)s") % {"max": MAX_ROWS}, status=422)
    index = {c: header.index(c) for c in wanted}
    accounts = {
        c.account_no: c
        for c in Customer.objects.filter(
            account_no__in={(row[index["户号"]] if len(row) > index["户号"] else "").strip() for row in body}
        ).select_related("billing")
    }
    checked = Checked()
    seen: set[str] = set()
    today = clock.local(clock.now()).date()
    reference_col = "银行流水号" if kind == PaymentFile.Kind.WITHHOLDING else "流水号"
    taken: set[str] = set()
    if kind in CHANNEL_OF:
        refs = {
            (row[index[reference_col]] if len(row) > index[reference_col] else "").strip() for row in body
        }
        taken = set(
            Payment.objects.filter(channel=CHANNEL_OF[kind], reference__in=refs).values_list(
                "reference", flat=True
            )
        )
    bill_numbers: set[str] = set()
    if kind == PaymentFile.Kind.BILLS:
        numbers = {(row[index["账单编号"]] if len(row) > index["账单编号"] else "").strip() for row in body}
        bill_numbers = set(Bill.objects.filter(number__in=numbers).values_list("number", flat=True))
    for n, row in enumerate(body, start=2):
        cells = {c: (row[i].strip() if i < len(row) else "") for c, i in index.items()}
        account_no = cells["户号"]
        customer = accounts.get(account_no)
        if customer is None or not scoping.in_scope(customer, actor, "station_id"):
            checked.refuse(n, account_no, _("户号不存在或不在您的管辖范围"))
            continue
        if not hasattr(customer, "billing"):
            checked.refuse(n, account_no, _("该户没有计费档案"))
            continue
        value: dict[str, Any] = {"line": n, "customer": customer}
        if kind in CHANNEL_OF:
            amount = _money(cells["金额"])
            reference = cells[reference_col]
            day = _day(cells["扣款日期" if kind == PaymentFile.Kind.WITHHOLDING else "缴费日期"])
            if amount is None or amount <= 0:
                checked.refuse(n, account_no, _("金额不正确：%(value)s") % {"value": cells["金额"]})
                continue
            if not reference or len(reference) > 64:
                checked.refuse(n, account_no, _("缺少流水号"))
                continue
            if reference in seen:
                checked.refuse(n, account_no, _("流水号在文件中重复：%(ref)s") % {"ref": reference})
                continue
            seen.add(reference)
            if reference in taken:
                checked.refuse(n, account_no, _("流水号已入账：%(ref)s") % {"ref": reference})
                continue
            if day is None or day > today:
                checked.refuse(
                    n,
                    account_no,
                    _("日期不正确：%(value)s") % {"value": cells.get("扣款日期") or cells.get("缴费日期")},
                )
                continue
            if kind == PaymentFile.Kind.WITHHOLDING:
                result = withholding_result(cells["扣款结果"])
                if result is None:
                    checked.refuse(
                        n,
                        account_no,
                        _("扣款结果无法识别：%(value)s（可填成功/失败、success/failed、S/F或银行应答码00）")
                        % {"value": cells["扣款结果"]},
                    )
                    continue
                succeeded, code = result
                if not succeeded:
                    checked.note(
                        n,
                        account_no,
                        _("扣款失败（应答码%(code)s），未入账") % {"code": code}
                        if code
                        else _("扣款失败，未入账"),
                    )
                    continue
            value.update(amount=amount, reference=reference, day=day)
        elif kind == PaymentFile.Kind.BILLS:
            number = cells["账单编号"]
            amount = _money(cells["金额"])
            kwh = _money(cells["电量"]) if cells["电量"] else Decimal("0")
            due = _day(cells["缴费截止日"])
            period = _day(cells["电费年月"] + "-01") if len(cells["电费年月"]) == 7 else None
            if not number or len(number) > 24 or number in bill_numbers or number in seen:
                checked.refuse(n, account_no, _("账单编号为空、过长或重复：%(value)s") % {"value": number})
                continue
            seen.add(number)
            if amount is None or amount < 0 or kwh is None or kwh < 0:
                checked.refuse(n, account_no, _("电量或金额不正确"))
                continue
            if period is None or due is None:
                checked.refuse(n, account_no, _("电费年月须为YYYY-MM，缴费截止日须为日期"))
                continue
            value.update(number=number, amount=amount, kwh=kwh, period=period, due=due)
        else:
            credit = _money(cells["预存余额"])
            if credit is None or credit < 0:
                checked.refuse(n, account_no, _("预存余额不正确：%(value)s") % {"value": cells["预存余额"]})
                continue
            if account_no in seen:
                checked.refuse(n, account_no, _("户号在文件中重复"))
                continue
            seen.add(account_no)
            value.update(credit=credit)
        checked.rows.append(value)
        checked.note(n, account_no, _("通过"))
    checked.report.sort(key=lambda r: r["row"])
    return checked


def import_file(*, kind: str, name: str, content: bytes, actor, unit=None) -> PaymentFile:
    """Check and import a file, all or nothing; a rejected file is recorded with its report and
    answered 422 ``bad_file`` (the report in ``rows``). ``unit``: the unit the file is imported
    for (who else sees it: the staff over that unit), by default the uploader's billing unit."""
    if kind not in COLUMNS:
        raise ApiError(ErrorCode.INVALID_INPUT, _("未知的文件类别"), status=422)
    if not scoping.has_role(actor, *BILLING_ROLES):
        raise ApiError(ErrorCode.FORBIDDEN_ROLE, _("只有电费核算员或管理人员可以导入"), status=403)
    digest = hashlib.sha256(content).hexdigest()
    if PaymentFile.objects.filter(sha256=digest, kind=kind, state=PaymentFile.State.ACCEPTED).exists():
        raise ApiError(ErrorCode.FILE_ALREADY_IMPORTED, _("该文件已导入过"), status=409)
    checked = check(kind, name, content, actor)
    total = sum((r.get("amount") or r.get("credit") or Decimal("0") for r in checked.rows), Decimal("0"))
    record = PaymentFile(
        kind=kind,
        name=name[:200],
        sha256=digest,
        rows=len(checked.report),
        total=total,
        report=checked.report,
        unit=unit or payments.acting_unit(actor),
        uploaded_by=actor,
    )
    if checked.bad:
        record.state = PaymentFile.State.REJECTED
        record.save()
        bad = [r for r in checked.report if not r["ok"]]
        raise ApiError(
            ErrorCode.BAD_FILE,
            _("文件有%(count)s行不正确，整个文件未导入：第%(first)s行 %(message)s")
            % {"count": len(bad), "first": bad[0]["row"], "message": bad[0]["message"]},
            status=422,
            rows=bad[:200],
            file_id=record.pk,
        )
    with transaction.atomic():
        record.state = PaymentFile.State.ACCEPTED
        record.save()
        _post(kind, checked.rows, actor, digest)
    return record


def _post(kind: str, rows: list[dict[str, Any]], actor, digest: str) -> None:
    if kind in CHANNEL_OF:
        for row in rows:
            paid_at = dt.datetime.combine(row["day"], dt.time(12, 0), tzinfo=clock.LOCAL_TZ)
            payments.post_payment(
                customer=row["customer"],
                channel=CHANNEL_OF[kind],
                reference=row["reference"],
                amount=row["amount"],
                paid_at=min(paid_at, clock.now()),
                operator=actor,
                note=_("文件导入"),
            )
        return
    if kind == PaymentFile.Kind.BILLS:
        for row in rows:
            Bill.objects.create(
                number=row["number"],
                customer=row["customer"],
                period=row["period"],
                kind=Bill.Kind.IMPORTED,
                state=BillState.OPEN if row["amount"] > 0 else BillState.PAID,
                period_start=row["period"],
                period_end=row["period"],
                kwh=row["kwh"],
                amount=row["amount"],
                issued_on=clock.local(clock.now()).date(),
                due_on=row["due"],
                note=_("营销系统导入"),
            )
            if row["amount"] > 0:
                BillingAccount.objects.filter(customer=row["customer"]).update(
                    arrears=F("arrears") + row["amount"]
                )
        payments.apply_credit([row["customer"].pk for row in rows])
        return
    # Balances: money the system of record holds for the customer, posted as one opening payment
    # each (so the allocations add up and the money pays open bills first).
    for row in rows:
        if row["credit"] > 0:
            payments.post_payment(
                customer=row["customer"],
                channel=Channel.IMPORTED,
                reference=f"余额导入:{digest[:16]}:{row['customer'].account_no}",
                amount=row["credit"],
                paid_at=clock.now(),
                operator=actor,
                note=_("营销系统预存余额导入"),
            )
