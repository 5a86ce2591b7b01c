"""Callers don't speak like articles: synonyms, colloquial words and typos still find the answer."""

import pytest

from gridcare.knowledge import queries
from gridcare.knowledge.search import text

from .conftest import publish


@pytest.fixture
def more(kb):
    kb.meter = publish(
        kb,
        title="怀疑电能表计量不准怎么办？",
        answer="可申请电能表校验，5个工作日内答复结果。",
        category=kb.cat_outage,
    )
    kb.bill = publish(kb, title="电费账单怎么查询？", answer="网上国网可查近三年账单。")
    return kb


def _top(user, q):
    hits = queries.search_articles(user, q).hits
    return hits[0].article if hits else None


def test_segmentation_applies_the_power_dictionary_and_synonyms():
    assert "阶梯电价" in text.tokens("阶梯电价怎么算")
    assert "停电" in text.tokens("我家没电了") and "停电" in text.tokens("断电了")
    assert text.tokens("电钱") == text.tokens("电费")
    assert "电能表" in text.tokens("表走得快") and "电能表" in text.tokens("电表坏了")
    assert "我" not in text.tokens("我想问一下")  # spoken filler is dropped


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("我家电表是不是走快了", "meter"),  # 电表 → 电能表
        ("电钱在哪里查", "bill"),  # 电钱 → 电费, 查 → 查询
        ("没电了交完钱多长时间给送电", "reconnect"),  # 没电 → 停电, 送电 → 复电
        ("接梯电价咋算的", "tiered"),  # typo 接梯 → caught by the bigram fallback
        ("山沟里断电了修理工多久到", "mountain_rule"),
    ],
)
def test_colloquial_questions_find_the_answer(more, question, expected):
    assert _top(more.agent, question) == getattr(more, expected)


def test_title_hits_rank_above_body_hits(more):
    # "校验" is in the meter article's answer only; "账单" is in the bill article's title
    hits = queries.search_articles(more.agent, "账单 校验").hits
    assert hits[0].article == more.bill


def test_search_page_and_api(more, client):
    from gridcare.org.services import issue_token

    client.force_login(more.agent)
    page = client.get("/knowledge/", {"q": "阶梯电价怎么算"}, HTTP_HX_REQUEST="true").content.decode()
    assert more.tiered.title in page and "<html" not in page
    auth = {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user=more.agent)}"}
    body = client.get("/api/v1/knowledge/search", {"q": "阶梯电价怎么算"}, **auth).json()
    assert body["results"][0]["number"] == more.tiered.number and body["confident"] is True
    assert client.get("/api/v1/knowledge/search", **auth).json()["code"] == "query_required"
    article = client.get(f"/api/v1/knowledge/articles/{more.tiered.number}", **auth).json()
    assert "0.538" in article["answer_text"] and "<table" in article["answer_html"]
