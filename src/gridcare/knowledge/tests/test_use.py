"""Feedback feeds the helpfulness score; queries without a good answer become gaps."""

from django.core.management import call_command

from gridcare.knowledge.models import Article, Feedback, SearchGap
from gridcare.org.services import issue_token


def test_this_answered_the_call_feeds_helpfulness(kb, client):
    client.force_login(kb.agent)
    number = kb.reconnect.number
    page = client.post(
        f"/knowledge/a/{number}/feedback/", {"helpful": "1", "q": "交完钱多久来电", "call_ref": "GD2025001"}
    )
    assert "解决了来电" in page.content.decode()
    client.post(f"/knowledge/a/{number}/feedback/", {"helpful": "1"})
    client.post(f"/knowledge/a/{number}/feedback/", {"helpful": "0"})
    article = Article.objects.get(number=number)
    assert (article.helpful_count, article.unhelpful_count) == (2, 1)
    assert article.helpfulness == 0.6  # (2 + 1) / (3 + 2)
    fb = Feedback.objects.filter(article=article, call_ref="GD2025001").get()
    assert fb.user == kb.agent and fb.query == "交完钱多久来电"

    auth = {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user=kb.agent)}"}
    body = client.post(
        f"/api/v1/knowledge/articles/{number}/feedback",
        {"helpful": True},
        content_type="application/json",
        **auth,
    ).json()
    assert body["helpful_count"] == 3
    # out-of-scope articles cannot be voted on
    client.force_login(kb.clerk_east)
    assert (
        client.post(f"/knowledge/a/{kb.mountain_rule.number}/feedback/", {"helpful": "1"}).status_code == 404
    )


def test_questions_without_a_good_answer_are_logged_as_gaps(kb, client):
    client.force_login(kb.agent)
    client.get("/knowledge/", {"q": "火星移民签证怎么办"})
    client.get("/knowledge/panel/", {"q": "火星移民签证怎么办？"})
    auth = {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user=kb.agent)}"}
    client.get("/api/v1/knowledge/search", {"q": "火星 移民 签证"}, **auth)
    gap = SearchGap.objects.get()
    assert gap.count == 3 and gap.reason == SearchGap.Reason.NO_RESULT
    assert gap.region == kb.agent.assignments.get().unit  # for that region's maintainers
    # a good answer is not a gap
    client.get("/knowledge/", {"q": "阶梯电价怎么算"})
    assert SearchGap.objects.count() == 1
    # the agent may report that none of the results fit
    client.post("/knowledge/gaps/report/", {"q": "阶梯电价外地户口怎么算"})
    reported = SearchGap.objects.get(reason=SearchGap.Reason.REPORTED)
    assert reported.last_user == kb.agent

    # maintainers see the gaps, agents don't
    assert client.get("/knowledge/gaps/").status_code == 403
    # a county's editor looks after the gaps of that county only
    client.force_login(kb.editor_mountain)
    page = client.get("/knowledge/gaps/").content.decode()
    assert "火星 移民 签证" not in page and "阶梯电价外地户口怎么算" not in page
    assert client.post(f"/knowledge/gaps/{gap.pk}/resolve/", {"article": kb.tiered.number}).status_code == 404
    client.force_login(kb.editor)
    page = client.get("/knowledge/gaps/").content.decode()
    assert "火星 移民 签证" in page and "阶梯电价外地户口怎么算" in page  # the latest wording is shown
    client.post(f"/knowledge/gaps/{gap.pk}/resolve/", {"article": kb.tiered.number})
    gap.refresh_from_db()
    assert gap.resolved and gap.resolved_article == kb.tiered


def test_seed_content_loads_idempotently(db, world):
    call_command("seed_knowledge")
    count = Article.objects.filter(status="published").count()
    assert count >= 150
    versions = sum(a.version for a in Article.objects.all())
    call_command("seed_knowledge")
    assert Article.objects.filter(status="published").count() == count
    assert sum(a.version for a in Article.objects.all()) == versions  # nothing re-published


def test_a_gap_is_counted_per_region_for_that_regions_maintainers(kb, client):
    from gridcare.knowledge import services
    from gridcare.org.models import Role
    from gridcare.org.services import create_staff

    # two roles at one station: still that station's gap
    both = create_staff(
        username="agent_m",
        password=kb.password,
        full_name="山区座席",
        roles=[(Role.AGENT, kb.mountain), (Role.BUSINESS_CLERK, kb.mountain)],
    )
    for user in (kb.agent, kb.mountain_clerk, both):
        services.record_gap(user=user, query="火星移民签证怎么办", reason=SearchGap.Reason.NO_RESULT)
    mountain = SearchGap.objects.get(region=kb.mountain)
    elsewhere = SearchGap.objects.exclude(pk=mountain.pk).get()
    assert (mountain.count, elsewhere.count) == (2, 1)

    client.force_login(kb.editor_mountain)
    page = client.get("/knowledge/gaps/").content.decode()
    assert "火星移民签证怎么办" in page
    assert client.post(f"/knowledge/gaps/{elsewhere.pk}/resolve/").status_code == 404
    # a mistyped article number resolves nothing and says so
    page = client.post(f"/knowledge/gaps/{mountain.pk}/resolve/", {"article": "KB-NOPE"}, follow=True)
    assert "未找到条目 KB-NOPE" in page.content.decode()
    mountain.refresh_from_db()
    assert not mountain.resolved
    client.post(f"/knowledge/gaps/{mountain.pk}/resolve/", {"article": kb.tiered.number})  # nationwide
    mountain.refresh_from_db()
    assert mountain.resolved_article == kb.tiered
    elsewhere.refresh_from_db()
    assert mountain.resolved and not elsewhere.resolved
