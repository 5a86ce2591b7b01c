"""保电 verbs: a clerk records one for a customer in scope, a unit-wide one is a manager's; ending
one early moves its end to now and says who; what each user sees."""

from __future__ import annotations

import pytest

from gridcare.billing import guarantees
from gridcare.billing.models import SupplyGuarantee
from gridcare.core import clock
from gridcare.core.api_errors import ApiError

from .test_arrears import at, w  # noqa: F401  (the arrears world: clerk, head and county manager)

WEATHER = SupplyGuarantee.Reason.WEATHER


def test_a_clerk_records_a_customers_guarantee_and_it_blocks_from_its_start(w):  # noqa: F811
    with clock.frozen(at("2026-03-02 09:00")):
        made = guarantees.add_guarantee(
            actor=w.billing,
            customer=w.customer_east,
            reason=SupplyGuarantee.Reason.MEDICAL,
            note="家用呼吸机",
            starts_at=at("2026-03-02 09:00"),
            ends_at=at("2026-04-02 09:00"),
        )
    assert made.created_by == w.billing and made.unit is None
    assert guarantees.in_force(w.customer_east, at("2026-03-10 00:00")) == [made]
    assert guarantees.in_force(w.customer_east, at("2026-04-02 09:00")) == []


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"customer": None}, "invalid_input"),  # neither a customer nor a unit
        ({"reason": "party"}, "invalid_input"),
        ({"reason": SupplyGuarantee.Reason.OTHER, "note": " "}, "invalid_input"),  # "other" needs a note
        ({"ends_at": at("2026-03-02 08:00")}, "invalid_times"),  # ends before it starts
        ({"starts_at": at("2026-02-01 00:00"), "ends_at": at("2026-02-02 00:00")}, "invalid_times"),  # over
    ],
)
def test_a_guarantee_that_does_not_add_up_is_refused(w, change, code):  # noqa: F811
    given = {
        "actor": w.billing,
        "customer": w.customer_east,
        "reason": WEATHER,
        "note": "",
        "starts_at": at("2026-03-02 09:00"),
        "ends_at": at("2026-03-03 09:00"),
    } | change
    with clock.frozen(at("2026-03-02 09:00")), pytest.raises(ApiError) as refused:
        guarantees.add_guarantee(**given)
    assert refused.value.code == code
    assert not SupplyGuarantee.objects.exists()


def test_a_unit_guarantee_is_a_managers_and_scope_is_checked(w):  # noqa: F811
    window = {"reason": WEATHER, "starts_at": at("2026-03-02 09:00"), "ends_at": at("2026-03-05 00:00")}
    with clock.frozen(at("2026-03-02 09:00")):
        with pytest.raises(ApiError) as refused:
            guarantees.add_guarantee(actor=w.billing, unit=w.east, **window)
        assert refused.value.code == "forbidden_role"
        with pytest.raises(ApiError) as refused:  # the west station is not the east head's
            guarantees.add_guarantee(actor=w.head, unit=w.west, **window)
        assert refused.value.code == "not_found"
        with pytest.raises(ApiError) as refused:  # nor its customer
            guarantees.add_guarantee(actor=w.billing, customer=w.customer_west, **window)
        assert refused.value.code == "not_found"
        with pytest.raises(ApiError) as refused:  # an agent records none
            guarantees.add_guarantee(actor=w.agent, customer=w.customer_east, **window)
        assert refused.value.code == "forbidden_role"
        county = guarantees.add_guarantee(actor=w.county_manager, unit=w.county, note="寒潮", **window)
    # The county's guarantee covers the east station's customers; its clerk sees it (read only).
    assert guarantees.in_force(w.customer_east, at("2026-03-03 00:00")) == [county]
    assert list(guarantees.visible_guarantees(w.billing)) == [county]
    assert not guarantees.may_end(w.billing, county) and guarantees.may_end(w.county_manager, county)
    assert list(guarantees.visible_guarantees(w.outsider)) == []


def test_ending_early_moves_the_end_to_now_and_says_who(w):  # noqa: F811
    with clock.frozen(at("2026-03-02 09:00")):
        made = guarantees.add_guarantee(
            actor=w.billing,
            customer=w.customer_east,
            reason=SupplyGuarantee.Reason.EVENT,
            note="中考",
            starts_at=at("2026-03-02 09:00"),
            ends_at=at("2026-03-09 09:00"),
        )
    with clock.frozen(at("2026-03-04 15:30")):
        with pytest.raises(ApiError) as no_reason:
            guarantees.end_guarantee(made, actor=w.head, why="  ")
        ended = guarantees.end_guarantee(made, actor=w.head, why="考试提前结束")
        with pytest.raises(ApiError) as again:
            guarantees.end_guarantee(ended, actor=w.head, why="再次结束")
    assert no_reason.value.code == "reason_required"
    assert again.value.code == "illegal_transition"
    ended.refresh_from_db()
    assert ended.ends_at == ended.ended_early_at == at("2026-03-04 15:30")
    assert (ended.ended_by, ended.end_reason, ended.note) == (w.head, "考试提前结束", "中考")
    assert guarantees.in_force(w.customer_east, at("2026-03-05 00:00")) == []
