"""Only published, in-force articles for the user's region are served (page, panel, API)."""

import datetime as dt

from gridcare.core import clock
from gridcare.knowledge import queries
from gridcare.org.services import issue_token

from .conftest import publish


def _numbers(result):
    return [h.article.number for h in result.hits]


def test_county_rules_reach_the_city_center_and_the_county_but_not_other_counties(kb):
    number = kb.mountain_rule.number
    q = "山里停电抢修多久到"
    # the city center's agent answers callers of every county: sees it (labelled with its region)
    assert number in _numbers(queries.search_articles(kb.agent, q))
    # a clerk at a station under 山区县 is bound by it
    assert number in _numbers(queries.search_articles(kb.mountain_clerk, q))
    # a clerk of another county is not
    assert number not in _numbers(queries.search_articles(kb.clerk_east, q))
    # nationwide articles reach everyone with a role
    assert kb.reconnect.number in _numbers(queries.search_articles(kb.clerk_east, "交完欠费多久来电"))
    # someone with no role at all is served nothing
    assert _numbers(queries.search_articles(kb.outsider, "交完欠费多久来电")) == []


def test_panel_narrows_to_the_callers_unit(kb, client):
    client.force_login(kb.agent)
    q = "山里停电抢修多久到"
    at_east = client.get("/knowledge/panel/", {"q": q, "unit": kb.east.pk}).content.decode()
    at_mountain = client.get("/knowledge/panel/", {"q": q, "unit": kb.mountain.pk}).content.decode()
    assert kb.mountain_rule.title not in at_east
    assert kb.mountain_rule.title in at_mountain


def test_article_page_and_api_apply_the_same_scope(kb, client):
    client.force_login(kb.clerk_east)
    assert client.get(f"/knowledge/a/{kb.mountain_rule.number}/").status_code == 404
    auth = {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user=kb.clerk_east)}"}
    found = client.get("/api/v1/knowledge/search", {"q": "山里停电抢修多久到"}, **auth).json()
    assert kb.mountain_rule.number not in [r["number"] for r in found["results"]]
    assert client.get(f"/api/v1/knowledge/articles/{kb.mountain_rule.number}", **auth).status_code == 404
    auth = {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user=kb.mountain_clerk)}"}
    found = client.get("/api/v1/knowledge/search", {"q": "山里停电抢修多久到"}, **auth).json()
    assert found["results"][0]["number"] == kb.mountain_rule.number
    assert found["results"][0]["region"] == "山区县供电公司"


def test_expired_and_not_yet_effective_articles_are_not_served(kb, client):
    today = dt.date(2025, 6, 1)
    clock.set_source(lambda: dt.datetime(2025, 6, 1, 4, 0, tzinfo=dt.UTC))
    old = publish(
        kb,
        title="2025年夏季临时电价优惠怎么执行？",
        answer="夏季临时优惠。",
        expires_on=today,  # its last day was yesterday
    )
    future = publish(
        kb,
        title="2026年新版电价优惠怎么执行？",
        answer="明年执行。",
        effective_from=today + dt.timedelta(days=30),
    )
    q = "电价优惠怎么执行"
    served = _numbers(queries.search_articles(kb.agent, q))
    assert old.number not in served and future.number not in served
    client.force_login(kb.agent)
    for url in ("/knowledge/", "/knowledge/panel/"):
        page = client.get(url, {"q": q}).content.decode()
        assert old.title not in page and future.title not in page
    assert client.get(f"/knowledge/a/{old.number}/").status_code == 404
    auth = {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user=kb.agent)}"}
    found = client.get("/api/v1/knowledge/search", {"q": q}, **auth).json()
    assert {old.number, future.number}.isdisjoint(r["number"] for r in found["results"])
    # a day before it expired it was served
    clock.set_source(lambda: dt.datetime(2025, 5, 31, 4, 0, tzinfo=dt.UTC))
    assert old.number in _numbers(queries.search_articles(kb.agent, q))


def test_customer_class_filter(kb):
    # 阶梯电价 is for residential customers only
    assert kb.tiered.number in _numbers(
        queries.search_articles(kb.agent, "阶梯电价", customer_class="residential")
    )
    assert kb.tiered.number not in _numbers(
        queries.search_articles(kb.agent, "阶梯电价", customer_class="large_industry")
    )


def test_the_unit_switcher_narrows_the_regions_an_editor_may_choose(kb, client):
    """The article form's regions come through the scoping door with the switched unit (they used
    to ignore the switcher and offer every unit of the editor's scope)."""
    client.force_login(kb.editor)
    regions = set(client.get("/knowledge/manage/new/").context["form"].fields["region"].queryset)
    assert {kb.east, kb.west} <= regions
    client.post("/unit/", {"unit": kb.east.pk, "next": "/"})
    regions = set(client.get("/knowledge/manage/new/").context["form"].fields["region"].queryset)
    assert kb.east in regions and kb.west not in regions and kb.city not in regions
