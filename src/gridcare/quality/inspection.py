"""质检 (issue 17, item 6): each week the calls to inspect are drawn per agent — every must-check
call (complaint, 12398, an escalated order, trigger words such as 投诉/媒体/起诉 in the order) and a
sample stratified by business type (new agents more than others, ``InspectionPlan``); an inspector
scores a call on the versioned form (deductions from 100 per weighted section, fatal items); the
agent may appeal within the plan's days; a leader or another inspector reviews the appeal. Scores
feed the agent evaluation (``inspection_score`` in the scheme).

Calibration sessions (质检校准, below ``form_items``): several inspectors score one inspected call
blind, then the session shows the spread per section and each inspector's deviation from the
median score."""

from __future__ import annotations

import datetime as dt
import hashlib
import statistics
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext

from gridcare.core.api_errors import ApiError
from gridcare.core.clock import LOCAL_TZ
from gridcare.core.clock import now as clock_now
from gridcare.hotline.models import Call
from gridcare.org import scoping
from gridcare.org.models import Role, RoleAssignment, Unit, User
from gridcare.org.types import Actor, Viewer
from gridcare.workorders.models import OrderType

from .models import CalibrationScore, CalibrationSession, Inspection, InspectionForm, InspectionPlan

# Who inspects calls and reviews appeals (never their own calls, never an appeal of their own score).
INSPECTORS = (Role.INSPECTOR, Role.SHIFT_LEADER, Role.MANAGER)


def is_inspector(viewer: Viewer) -> bool:
    return bool(getattr(viewer, "is_superuser", False)) or scoping.has_role(viewer, *INSPECTORS)


def visible(viewer: Actor, active_unit: Unit | None = None) -> QuerySet[Inspection]:
    """The inspections a person reads: an inspector those of their scope, an agent their own."""
    qs = Inspection.objects.select_related("agent", "call", "unit")
    if is_inspector(viewer):
        return scoping.restrict(qs, viewer, "unit", active_unit)
    return qs.filter(agent=viewer)


def visible_one(viewer: Actor, pk: int) -> Inspection:
    """One inspection the person may read (their own, or one in an inspector's scope); else 404."""
    found = (
        Inspection.objects.select_related("agent", "call", "unit", "form", "inspector", "reviewed_by")
        .filter(pk=pk)
        .first()
    )
    if found is None or not (
        found.agent_id == viewer.pk or (is_inspector(viewer) and scoping.in_scope(found, viewer, "unit_id"))
    ):
        raise Http404
    return found


def allowed(viewer: Actor, found: Inspection) -> dict[str, bool]:
    """What ``viewer`` may do to ``found`` now — the same rules ``score``, ``appeal`` and ``review``
    enforce, for a page to offer only those."""
    own = found.agent_id == viewer.pk
    return {
        "score": is_inspector(viewer)
        and not own
        and found.state in (Inspection.State.PENDING, Inspection.State.SCORED),
        "appeal": own and found.state == Inspection.State.SCORED,
        "review": is_inspector(viewer)
        and not own
        and viewer.pk != found.inspector_id
        and found.state == Inspection.State.APPEALED,
    }


def monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _must_check(call: Call, words: list[str]) -> str:
    """Why ``call`` must be inspected ("" when it need not)."""
    for order in call.work_orders.all():
        if order.channel == "regulator_12398":
            return "必检：12398"
        if order.order_type == OrderType.COMPLAINT:
            return "必检：投诉"
        if order.escalation_tier > 0:
            return "必检：升级"
        hit = next((w for w in words if w in order.content), "")
        if hit:
            return f"必检：关键词“{hit}”"
    return ""


def _business(call: Call) -> str:
    types = [o.order_type for o in call.work_orders.all()]
    return types[0] if types else ""


def _draw(call_id: str, week: dt.date) -> str:
    """A stable pseudo-random key: the same week draws the same calls however often it is run."""
    return hashlib.sha256(f"{week.isoformat()}:{call_id}".encode()).hexdigest()


def sample_week(week: dt.date, now: dt.datetime | None = None, *, must_only: bool = False) -> int:
    """Draw the inspections of the week starting on Monday ``week`` (idempotent: a call is drawn
    once, an agent's sample is filled up to the quota and no further). ``must_only``: the
    must-check calls only (the week still running). Returns how many were added."""
    now = now or clock_now()
    plan = InspectionPlan.current()
    words = plan.words()
    start = dt.datetime.combine(week, dt.time(), tzinfo=LOCAL_TZ)
    calls = (
        Call.objects.filter(
            outcome=Call.Outcome.ANSWERED,
            answered_by__isnull=False,
            arrived_at__gte=start,
            arrived_at__lt=start + dt.timedelta(days=7),
        )
        .select_related("answered_by", "unit")
        .prefetch_related("work_orders")
    )
    taken = set(Inspection.objects.filter(week=week).values_list("call_id", flat=True))
    by_agent: dict[int, list[Call]] = defaultdict(list)
    for c in calls:
        by_agent[c.answered_by_id].append(c)  # type: ignore[index]
    new_rows: list[Inspection] = []
    for calls_of in by_agent.values():
        agent = calls_of[0].answered_by
        assert agent is not None
        new = (now - agent.date_joined).days < plan.new_agent_days
        quota = plan.new_agent_per_week if new else plan.agent_per_week
        chosen: dict[int, tuple[Call, str]] = {}
        for c in calls_of:
            reason = _must_check(c, words)
            if reason:
                chosen[c.pk] = (c, reason)
        # Stratified by business type: take in turn from each type's calls (each type's in draw
        # order) until the quota is met, so the sample follows the mix of what the agent handled.
        strata: dict[str, list[Call]] = defaultdict(list)
        for c in sorted(calls_of, key=lambda c: _draw(c.call_id, week)):
            if c.pk not in chosen:
                strata[_business(c)].append(c)
        sampled = 0
        already = Inspection.objects.filter(week=week, agent=agent, reason="抽检").count()
        want = 0 if must_only else max(0, quota - already)
        while sampled < want and any(strata.values()):
            for key in sorted(strata, key=lambda k: -len(strata[k])):
                if strata[key] and sampled < want:
                    c = strata[key].pop(0)
                    chosen[c.pk] = (c, "抽检")
                    sampled += 1
        for c, reason in chosen.values():
            if c.pk in taken or c.unit is None:
                continue
            new_rows.append(
                Inspection(
                    call=c,
                    agent=agent,
                    unit=c.unit,
                    week=week,
                    reason=reason,
                    business=_business(c),
                    created_at=now,
                )
            )
    Inspection.objects.bulk_create(new_rows, ignore_conflicts=True)
    return len(new_rows)


def form_in_force() -> InspectionForm | None:
    return InspectionForm.objects.filter(is_active=True).order_by("-version").first()


def current_form() -> InspectionForm:
    form = form_in_force()
    if form is None:
        raise ApiError("no_scheme", gettext("没有启用的质检评分表"), status=409)
    return form


def score_of(form: InspectionForm, deductions: list[str]) -> tuple[Decimal, bool]:
    """The call's score on ``form`` with the items ``deductions`` (codes), and whether a fatal
    item was among them."""
    known = {item["code"] for section in form.sections for item in section["items"]}
    unknown = set(deductions) - known
    if unknown:
        raise ApiError(
            "invalid_input", gettext("评分表中没有这些扣分项：%s") % "、".join(sorted(unknown)), status=422
        )
    total = Decimal(0)
    fatal = False
    for section in form.sections:
        lost = Decimal(0)
        for item in section["items"]:
            if item["code"] in deductions:
                lost += Decimal(str(item.get("deduct", 0)))
                fatal = fatal or bool(item.get("fatal"))
        total += max(Decimal(0), Decimal(100) - lost) * Decimal(str(section["weight"])) / Decimal(100)
    if fatal:
        return Decimal(0), True
    return total.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP), False


def _locked(pk: int, actor: Actor) -> Inspection:
    found = Inspection.objects.select_for_update().filter(pk=pk).first()
    if found is None or not scoping.in_scope(found, actor, "unit_id"):
        raise ApiError("not_found", gettext("您的管辖范围内没有该质检任务"), status=404)
    return found


def score(*, actor: Actor, pk: int, deductions: list[str], notes: str) -> Inspection:
    """An inspector scores a pending call (or scores it again before the agent appeals)."""
    if not is_inspector(actor):
        raise ApiError("forbidden_role", gettext("您的岗位不能质检评分"), status=403)
    with transaction.atomic():
        found = _locked(pk, actor)
        if found.agent_id == actor.pk:
            raise ApiError("forbidden_role", gettext("不能为自己的通话评分"), status=403)
        if found.state not in (Inspection.State.PENDING, Inspection.State.SCORED):
            raise ApiError("illegal_transition", gettext("已申诉或已复核的质检不能重新评分"), status=409)
        form = current_form() if found.form_id is None else found.form
        assert form is not None
        found.score, found.fatal = score_of(form, deductions)
        found.form, found.deductions, found.notes = form, sorted(set(deductions)), notes.strip()
        found.inspector, found.scored_at, found.state = actor, clock_now(), Inspection.State.SCORED
        found.save()
    return found


def appeal(*, actor: Actor, pk: int, text: str) -> Inspection:
    """The agent appeals their score within the plan's days."""
    with transaction.atomic():
        found = Inspection.objects.select_for_update().filter(pk=pk, agent=actor).first()
        if found is None:
            raise ApiError("not_found", gettext("没有该质检记录"), status=404)
        if found.state != Inspection.State.SCORED or found.scored_at is None:
            raise ApiError("illegal_transition", gettext("只有已评分的质检可以申诉"), status=409)
        if clock_now() > found.scored_at + dt.timedelta(days=InspectionPlan.current().appeal_days):
            raise ApiError("appeal_too_late", gettext("已超过申诉期限"), status=409)
        if not text.strip():
            raise ApiError("invalid_input", gettext("请写明申诉理由"), status=422)
        found.appeal, found.appealed_at, found.state = text.strip(), clock_now(), Inspection.State.APPEALED
        found.save()
    return found


def review(*, actor: Actor, pk: int, deductions: list[str], note: str) -> Inspection:
    """A leader or another inspector decides the appeal: the deductions that stand (the score is
    computed again) and why."""
    if not is_inspector(actor):
        raise ApiError("forbidden_role", gettext("您的岗位不能复核质检申诉"), status=403)
    with transaction.atomic():
        found = _locked(pk, actor)
        if found.state != Inspection.State.APPEALED:
            raise ApiError("illegal_transition", gettext("该质检没有待复核的申诉"), status=409)
        if actor.pk in (found.inspector_id, found.agent_id):
            raise ApiError("forbidden_role", gettext("申诉须由评分人以外的人复核"), status=403)
        if not note.strip():
            raise ApiError("invalid_input", gettext("请写明复核意见"), status=422)
        assert found.form is not None
        found.score, found.fatal = score_of(found.form, deductions)
        found.deductions, found.review = sorted(set(deductions)), note.strip()
        found.reviewed_by, found.reviewed_at, found.state = actor, clock_now(), Inspection.State.REVIEWED
        found.save()
    return found


def form_items(form: InspectionForm, chosen: list[str]) -> list[dict[str, Any]]:
    """The form's sections for a page, each item marked when deducted."""
    return [
        {
            "name": s["name"],
            "weight": s["weight"],
            "items": [{**item, "checked": item["code"] in chosen} for item in s["items"]],
        }
        for s in form.sections
    ]


# --- Calibration sessions (质检校准) ----------------------------------------------------------------

# Who reads every session of their scope and may close any of it; an inspector (质检员) who opens a
# session leads it (主持) and may close it, and reads the sessions they opened or score in.
CALIBRATION_LEADERS = (Role.SHIFT_LEADER, Role.MANAGER)
ONE_DECIMAL = Decimal("0.1")


def _may_calibrate(viewer: Viewer) -> None:
    """Calibration is the inspectors' and their leaders' (``INSPECTORS``): others — agents — 403."""
    if not is_inspector(viewer):
        raise ApiError("forbidden_role", gettext("您的岗位不能参加质检校准"), status=403)


def _leads_all(viewer: Viewer) -> bool:
    return bool(getattr(viewer, "is_superuser", False)) or scoping.has_role(viewer, *CALIBRATION_LEADERS)


def calibrations(viewer: Actor, active_unit: Unit | None = None) -> QuerySet[CalibrationSession]:
    """The sessions ``viewer`` may read: in their scope (the inspection's unit), and — unless they
    are a leader — only those they opened or score in. Agents are refused (403)."""
    _may_calibrate(viewer)
    qs = scoping.restrict(
        CalibrationSession.objects.select_related(
            "inspection__agent", "inspection__call", "unit", "opened_by"
        ),
        viewer,
        "unit",
        active_unit,
    )
    if _leads_all(viewer):
        return qs
    mine = CalibrationScore.objects.filter(inspector=viewer).values("session_id")
    return qs.filter(Q(opened_by=viewer) | Q(pk__in=mine))


def calibration(viewer: Actor, pk: int, active_unit: Unit | None = None) -> CalibrationSession:
    """One session ``viewer`` may read (see ``calibrations``); else 404 (403 for an agent)."""
    found = calibrations(viewer, active_unit).select_related("form", "closed_by").filter(pk=pk).first()
    if found is None:
        raise Http404
    return found


def calibration_candidates(found: Inspection) -> QuerySet[User]:
    """Who may score ``found``'s call in a session: active staff holding an inspecting role
    (``INSPECTORS``) at its unit or above — the people who see it — but not the call's agent."""
    holders = RoleAssignment.objects.filter(role__in=INSPECTORS, unit__in=found.unit.ancestors())
    return (
        User.objects.filter(pk__in=holders.values("user_id"), is_active=True)
        .exclude(pk=found.agent_id)
        .order_by("full_name", "username")
    )


def may_open_calibration(viewer: Viewer, found: Inspection) -> bool:
    return is_inspector(viewer) and scoping.in_scope(found, viewer, "unit_id")


def open_calibration(
    *, actor: Actor, inspection_pk: int, inspectors: list[int], note: str = ""
) -> CalibrationSession:
    """A leader or an inspector (who then leads it) opens a session on an inspection's call in
    their scope for at least two of its ``calibration_candidates``; everyone scores on the same
    form (the inspection's, else the one in force)."""
    _may_calibrate(actor)
    found = Inspection.objects.select_related("unit", "form").filter(pk=inspection_pk).first()
    if found is None or not scoping.in_scope(found, actor, "unit_id"):
        raise ApiError("not_found", gettext("您的管辖范围内没有该质检任务"), status=404)
    if found.agent_id == actor.pk:
        raise ApiError("forbidden_role", gettext("不能为自己的通话发起校准"), status=403)
    chosen = set(inspectors)
    if len(chosen) < 2:
        raise ApiError("invalid_input", gettext("质检校准至少需要两名质检员"), status=422)
    allowed_ids = set(calibration_candidates(found).filter(pk__in=chosen).values_list("pk", flat=True))
    if chosen - allowed_ids:
        raise ApiError(
            "invalid_input", gettext("所选人员须为能看到该通话的质检人员，且不能是被质检的座席"), status=422
        )
    form = found.form or current_form()
    with transaction.atomic():
        session = CalibrationSession.objects.create(
            inspection=found,
            unit=found.unit,
            form=form,
            note=note.strip(),
            opened_by=actor,
            opened_at=clock_now(),
        )
        CalibrationScore.objects.bulk_create(
            [CalibrationScore(session=session, inspector_id=pk) for pk in sorted(chosen)]
        )
    return session


def _locked_session(actor: Actor, pk: int) -> CalibrationSession:
    try:
        calibration(actor, pk)  # 403 / 404 as for reading it
    except Http404 as exc:
        raise ApiError("not_found", gettext("您的管辖范围内没有该质检校准"), status=404) from exc
    return CalibrationSession.objects.select_for_update().select_related("form").get(pk=pk)


def score_calibration(*, actor: Actor, pk: int, deductions: list[str], notes: str = "") -> CalibrationScore:
    """A participant scores the session's call (again, as often as they like, until it closes)."""
    with transaction.atomic():
        session = _locked_session(actor, pk)
        mine = CalibrationScore.objects.filter(session=session, inspector=actor).first()
        if mine is None:
            raise ApiError("forbidden_role", gettext("您不是本次校准的评分人"), status=403)
        if session.state != CalibrationSession.State.OPEN:
            raise ApiError("illegal_transition", gettext("校准已结束，不能再评分"), status=409)
        mine.score, mine.fatal = score_of(session.form, deductions)
        mine.deductions, mine.notes, mine.scored_at = sorted(set(deductions)), notes.strip(), clock_now()
        mine.save()
    return mine


def may_close_calibration(viewer: Viewer, session: CalibrationSession) -> bool:
    return session.state == CalibrationSession.State.OPEN and (
        session.opened_by_id == getattr(viewer, "pk", None) or _leads_all(viewer)
    )


def close_calibration(*, actor: Actor, pk: int) -> CalibrationSession:
    """The session's opener or a leader closes it once at least two participants have scored:
    the scores and the results become visible to everyone who reads the session."""
    with transaction.atomic():
        session = _locked_session(actor, pk)
        if session.state != CalibrationSession.State.OPEN:
            raise ApiError("illegal_transition", gettext("校准已结束"), status=409)
        if not may_close_calibration(actor, session):
            raise ApiError("forbidden_role", gettext("只有发起人或值班长、管理人员可以结束校准"), status=403)
        if session.scores.filter(score__isnull=False).count() < 2:
            raise ApiError("calibration_incomplete", gettext("至少两名质检员评分后才能结束校准"), status=409)
        session.state, session.closed_by, session.closed_at = (
            CalibrationSession.State.CLOSED,
            actor,
            clock_now(),
        )
        session.save(update_fields=["state", "closed_by", "closed_at"])
    return session


@dataclass(frozen=True)
class Participant:
    """A participant's row as a reader may see it."""

    inspector: User
    scored: bool
    own: bool
    score: Decimal | None  # None while hidden (blind) or not scored
    fatal: bool
    deductions: list[str]
    notes: str


def participants(viewer: Viewer, session: CalibrationSession) -> list[Participant]:
    """The participants as ``viewer`` may see them: every score once the session is closed;
    before, who has scored and the viewer's own score only — the session is blind."""
    me = getattr(viewer, "pk", None)
    shown = []
    for row in session.scores.select_related("inspector").order_by("pk"):
        visible = session.state == CalibrationSession.State.CLOSED or row.inspector_id == me
        shown.append(
            Participant(
                inspector=row.inspector,
                scored=row.score is not None,
                own=row.inspector_id == me,
                score=row.score if visible else None,
                fatal=row.fatal if visible else False,
                deductions=list(row.deductions) if visible else [],
                notes=row.notes if visible else "",
            )
        )
    return shown


@dataclass(frozen=True)
class SectionSpread:
    name: str
    weight: Decimal
    scores: list[Decimal]  # each participant's section score (100 less their deductions), by row
    low: Decimal
    high: Decimal
    median: Decimal

    @property
    def spread(self) -> Decimal:
        return self.high - self.low


@dataclass(frozen=True)
class InspectorResult:
    row: CalibrationScore
    score: Decimal
    deviation: Decimal  # score − the session's reference
    sections: list[Decimal]  # by section, as in ``CalibrationResults.sections``


@dataclass(frozen=True)
class ItemAgreement:
    code: str
    text: str
    fatal: bool
    deducted_by: int  # how many participants deducted it

    def split(self, of: int) -> bool:
        return 0 < self.deducted_by < of


@dataclass(frozen=True)
class CalibrationResults:
    reference: Decimal  # the median of the participants' scores
    spread: Decimal  # highest − lowest score
    mean_abs_deviation: Decimal  # how far, on average, an inspector is from the reference
    sections: list[SectionSpread]
    inspectors: list[InspectorResult]
    items: list[ItemAgreement]  # the items someone deducted, most disputed first


def _median(values: list[Decimal]) -> Decimal:
    return Decimal(statistics.median(values)).quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)


def section_score(section: dict[str, Any], deductions: list[str]) -> Decimal:
    """A section's score: 100 less the deductions ticked in it, not below 0 (``score_of``'s rule)."""
    lost = sum(
        (Decimal(str(i.get("deduct", 0))) for i in section["items"] if i["code"] in deductions), Decimal(0)
    )
    return max(Decimal(0), Decimal(100) - lost)


def calibration_results(session: CalibrationSession) -> CalibrationResults | None:
    """What a closed session shows (None while it is open, or with fewer than two scores).

    The **reference** is the median of the participants' scores (GridCare's choice: it needs no
    "right" inspector, and one outlier does not move it). Per weighted section (服务红线 has no
    weight and is shown among the items): each participant's section score, lowest, highest,
    spread and median. Per participant: score and deviation from the reference. Per item: how many
    deducted it (a split item is where the inspectors disagree)."""
    if session.state != CalibrationSession.State.CLOSED:
        return None
    rows = [r for r in session.scores.select_related("inspector").order_by("pk") if r.score is not None]
    if len(rows) < 2:
        return None
    scores = [r.score for r in rows if r.score is not None]
    reference = _median(scores)
    weighted = [s for s in session.form.sections if Decimal(str(s["weight"])) > 0]
    sections = []
    for section in weighted:
        values = [section_score(section, r.deductions) for r in rows]
        sections.append(
            SectionSpread(
                name=section["name"],
                weight=Decimal(str(section["weight"])),
                scores=values,
                low=min(values),
                high=max(values),
                median=_median(values),
            )
        )
    inspectors = [
        InspectorResult(
            row=r,
            score=score,
            deviation=score - reference,
            sections=[s.scores[i] for s in sections],
        )
        for i, (r, score) in enumerate(zip(rows, scores, strict=True))
    ]
    deviations = [abs(x.deviation) for x in inspectors]
    items = [
        ItemAgreement(
            code=item["code"],
            text=item["text"],
            fatal=bool(item.get("fatal")),
            deducted_by=sum(1 for r in rows if item["code"] in r.deductions),
        )
        for section in session.form.sections
        for item in section["items"]
    ]
    disputed = sorted(
        (i for i in items if i.deducted_by), key=lambda i: (abs(2 * i.deducted_by - len(rows)), i.code)
    )
    return CalibrationResults(
        reference=reference,
        spread=max(scores) - min(scores),
        mean_abs_deviation=(sum(deviations, Decimal(0)) / len(deviations)).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_UP
        ),
        sections=sections,
        inspectors=inspectors,
        items=disputed,
    )


def blind_to(viewer: Viewer, found: Inspection) -> bool:
    """Whether ``viewer`` scores ``found``'s call in a session still open (and did not score the
    inspection itself): the inspection's score and deductions are then kept from them."""
    if found.inspector_id == getattr(viewer, "pk", None):
        return False
    return CalibrationScore.objects.filter(
        inspector_id=getattr(viewer, "pk", None),
        session__inspection=found,
        session__state=CalibrationSession.State.OPEN,
    ).exists()
