"""The staffing page (/quality/staffing/) and GET /api/v1/statistics/staffing: who may see them,
the table they answer, scope, and bad input."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from gridcare.core import clock
from gridcare.org.services import issue_token

from .staffing_history import add_planners, calls

pytestmark = pytest.mark.django_db

D = dt.date
URL = "/api/v1/statistics/staffing"
PAGE = "/quality/staffing/"
NOW = dt.datetime(2025, 6, 15, 10, 0)  # a Sunday


@pytest.fixture
def history(world):
    """100 calls of 180 s between 09:00 and 09:30 on the last Monday at 城东 (the reference
    example's traffic: 10 Erlang in that half hour), and 5 at 城西."""
    w = add_planners(world)
    calls(w.east, D(2025, 6, 9), 9, 5, 100, talk=180)
    calls(w.west, D(2025, 6, 9), 9, 5, 5)
    return w


def api(client, user, **params):
    token = issue_token(user=user)
    with clock.frozen(NOW):
        return client.get(URL, {"date": "2025-06-16", **params}, HTTP_AUTHORIZATION=f"Bearer {token}")


def test_the_api_answers_the_reference_example_in_its_half_hour(client, history):
    answer = api(client, history.manager, unit=history.east.pk, weeks=1, shrinkage=0.3)
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["unit_name"] == "城东供电所" and body["history_days"] == ["2025-06-09"]
    assert (body["aht_seconds"], body["aht_source"], body["answered_calls"]) == (180, "history", 100)
    assert len(body["intervals"]) == 48
    nine = body["intervals"][18]
    assert (nine["start"], nine["end"], nine["calls"], nine["erlangs"]) == ("09:00", "09:30", 100, 10)
    assert (nine["agents"], nine["positions"]) == (14, 20)
    assert (nine["wait_probability"], round(nine["service_level"], 3)) == (0.1741, 0.888)
    assert (nine["asa_seconds"], round(nine["occupancy"], 3)) == (7.84, 0.714)
    assert body["intervals"][47]["end"] == "24:00"
    totals = body["totals"]
    assert (totals["calls"], totals["peak_agents"], totals["peak_positions"]) == (100, 14, 20)
    assert (totals["agent_hours"], totals["position_hours"]) == (7, 10)


def test_the_api_storm_scales_the_calls(client, history):
    body = api(client, history.manager, unit=history.east.pk, weeks=1, storm=12).json()
    nine = body["intervals"][18]
    assert nine["calls"] == 1200 and nine["erlangs"] == 120 and nine["agents"] > 120


def test_agents_are_refused(client, history):
    answer = api(client, history.agent)
    assert answer.status_code == 403 and answer.json()["code"] == "forbidden_role"


def test_a_unit_outside_the_scope_is_not_found(client, history):
    answer = api(client, history.leader_west, unit=history.east.pk)
    assert answer.status_code == 404 and answer.json()["code"] == "not_found"
    assert api(client, history.manager, unit=999999).status_code == 404
    # Without a unit: only what the viewer's scope holds (城西's 5 calls).
    body = api(client, history.leader_west, weeks=1).json()
    assert body["totals"]["calls"] == 5


@pytest.mark.parametrize(
    "params",
    [
        {"date": ""},
        {"date": "2025-13-01"},
        {"date": "1999-01-01"},
        {"service_level": 1},
        {"service_level": 0},
        {"service_level": "nan"},
        {"target_seconds": -1},
        {"shrinkage": 1},
        {"storm": 0.5},
        {"storm": 21},
        {"weeks": 0},
        {"weeks": 13},
        {"max_occupancy": 0},
        {"max_asa": 0},
        {"unit": "east"},
    ],
)
def test_the_api_refuses_bad_input_with_422(client, history, params):
    answer = api(client, history.manager, **params)
    assert answer.status_code == 422, (params, answer.content)
    body = answer.json()
    assert set(body) >= {"code", "message"} and body["code"] == "invalid_input"


def test_the_api_needs_a_date(client, history):
    token = issue_token(user=history.manager)
    answer = client.get(URL, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert answer.status_code == 422 and answer.json()["code"] == "invalid_input"


def test_the_page_renders_the_table_for_a_manager(client, history):
    client.force_login(history.manager)
    with clock.frozen(NOW):
        page = client.get(
            PAGE,
            {
                "date": "2025-06-16",
                "unit": history.east.pk,
                "service_level": 80,
                "target_seconds": 20,
                "shrinkage": 30,
                "storm": 1,
                "weeks": 1,
            },
        )
    assert page.status_code == 200
    html = page.content.decode()
    assert "排班测算" in html and 'id="staffing-table"' in html
    row = html.split("09:00–09:30")[1].split("</tr>")[0]
    assert "<strong>14</strong>" in row and "<td>20</td>" in row and "88.8%" in row and "7.8" in row
    assert "71.4%" in row
    chart = json.loads(page.context["chart"])
    assert chart["agents"][18] == 14 and chart["positions"][18] == 20
    assert "vendor/echarts.min.js" in html and "quality/staffing.js" in html
    assert "按最近 1 个相同星期的非节假日来电预测" in html
    assert "2025-06-09" in html


def test_the_page_defaults_to_tomorrow_and_answers_htmx_with_the_result(client, history):
    client.force_login(history.manager)
    with clock.frozen(NOW):
        page = client.get(PAGE)
        assert page.status_code == 200
        assert page.context["plan"].forecast.date == D(2025, 6, 16)
        partial = client.get(
            PAGE,
            {
                "date": "2025-06-16",
                "service_level": 80,
                "target_seconds": 20,
                "shrinkage": 30,
                "storm": 3,
                "weeks": 4,
            },
            HTTP_HX_REQUEST="true",
        )
    assert partial.status_code == 200
    html = partial.content.decode()
    assert "<html" not in html and 'id="staffing-table"' in html and 'id="staffing-storm"' in html


def test_the_page_says_when_a_holiday_is_forecast_from_holidays(client, history):
    client.force_login(history.manager)
    with clock.frozen(dt.datetime(2025, 9, 30, 10, 0)):
        page = client.get(
            PAGE,
            {
                "date": "2025-10-01",
                "service_level": 80,
                "target_seconds": 20,
                "shrinkage": 30,
                "storm": 1,
                "weeks": 4,
            },
        )
    assert "个历史节假日的来电预测，不与普通日混算" in page.content.decode()


def test_the_page_says_when_the_holidays_of_the_year_are_unknown(client, history):
    client.force_login(history.manager)
    page = client.get(
        PAGE,
        {
            "date": "2090-03-06",
            "service_level": 80,
            "target_seconds": 20,
            "shrinkage": 30,
            "storm": 1,
            "weeks": 4,
        },
    )
    assert 'id="staffing-holidays-unknown"' in page.content.decode()


def test_the_page_is_refused_to_an_agent_and_hidden_from_their_menu(client, history):
    client.force_login(history.agent)
    assert client.get(PAGE).status_code == 403
    assert PAGE not in client.get("/").content.decode()
    client.force_login(history.manager)
    assert PAGE in client.get("/").content.decode()


def test_the_page_answers_404_for_a_unit_outside_the_scope(client, history):
    client.force_login(history.leader_west)
    with clock.frozen(NOW):
        page = client.get(
            PAGE,
            {
                "date": "2025-06-16",
                "unit": history.east.pk,
                "service_level": 80,
                "target_seconds": 20,
                "shrinkage": 30,
                "storm": 1,
                "weeks": 4,
            },
        )
    assert page.status_code == 404


def test_the_page_shows_bad_input_instead_of_failing(client, history):
    client.force_login(history.manager)
    page = client.get(
        PAGE,
        {
            "date": "2025-06-16",
            "service_level": 100,
            "target_seconds": 20,
            "shrinkage": 30,
            "storm": 1,
            "weeks": 4,
        },
    )
    assert page.status_code == 200
    assert page.context["plan"] is None and page.context["form"].errors["service_level"]
    assert "服务水平目标" in page.content.decode()
