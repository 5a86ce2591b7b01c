"""Who may do what: editors write and submit, reviewers approve, nobody approves their own work."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from gridcare.knowledge import queries, services
from gridcare.knowledge.models import ArticleEvent, Revision, Status


def _draft(kb, **extra):
    return services.create_article(
        user=kb.editor,
        title="峰谷电价怎么申请？",
        phrasings="我想改成峰谷电",
        answer="通过网上国网或营业厅申请。",
        category=kb.cat_tariff,
        **extra,
    )


def _served_numbers(user, q):
    return [h.article.number for h in queries.search_articles(user, q).hits]


def test_draft_and_review_are_not_served_until_a_reviewer_approves(kb, client):
    revision = _draft(kb)
    article = revision.article
    assert article.status == Status.DRAFT
    assert article.number not in _served_numbers(kb.agent, "峰谷电价申请")

    services.act_on_revision(user=kb.editor, revision=revision, action="submit")
    article.refresh_from_db()
    assert article.status == Status.REVIEW
    assert article.number not in _served_numbers(kb.agent, "峰谷电价申请")
    client.force_login(kb.agent)
    assert client.get(f"/knowledge/a/{article.number}/").status_code == 404

    services.act_on_revision(user=kb.reviewer, revision=revision, action="approve")
    article.refresh_from_db()
    assert (article.status, article.version) == (Status.PUBLISHED, 1)
    assert _served_numbers(kb.agent, "峰谷电价申请")[0] == article.number
    assert client.get(f"/knowledge/a/{article.number}/").status_code == 200

    actions = list(article.events.values_list("action", flat=True))
    assert actions == [ArticleEvent.Action.CREATE, ArticleEvent.Action.SUBMIT, ArticleEvent.Action.APPROVE]


def test_roles_decide_who_may_act(kb):
    with pytest.raises(PermissionDenied):
        services.create_article(
            user=kb.agent, title="x问题", answer="y答复", category=kb.cat_tariff
        )  # agents don't write articles
    revision = _draft(kb)
    with pytest.raises(PermissionDenied):
        services.act_on_revision(user=kb.agent, revision=revision, action="submit")
    services.act_on_revision(user=kb.editor, revision=revision, action="submit")
    with pytest.raises(PermissionDenied):  # an editor is not a reviewer
        services.act_on_revision(user=kb.editor_mountain, revision=revision, action="approve")
    with pytest.raises(PermissionDenied):
        services.retire_article(user=kb.editor, article=kb.tiered)


def test_nobody_approves_their_own_revision(kb):
    kb.editor.assignments.create(role="shift_leader", unit=kb.city)
    kb.editor.__dict__.pop("_gridcare_assignments", None)
    revision = _draft(kb)
    services.act_on_revision(user=kb.editor, revision=revision, action="submit")
    with pytest.raises(PermissionDenied):
        services.act_on_revision(user=kb.editor, revision=revision, action="approve")


def test_reject_needs_a_reason_and_returns_the_draft(kb):
    revision = _draft(kb)
    services.act_on_revision(user=kb.editor, revision=revision, action="submit")
    with pytest.raises(ValidationError):
        services.act_on_revision(user=kb.reviewer, revision=revision, action="reject")
    services.act_on_revision(user=kb.reviewer, revision=revision, action="reject", note="缺少办理渠道说明")
    revision.refresh_from_db()
    assert revision.state == Revision.State.DRAFT
    assert revision.article.events.last().note == "缺少办理渠道说明"
    with pytest.raises(ValidationError):  # approve is not an action on a draft
        services.act_on_revision(user=kb.reviewer, revision=revision, action="approve")


def test_regional_editor_maintains_only_their_region(kb):
    with pytest.raises(PermissionDenied):  # nationwide articles belong to the city center
        services.start_revision(user=kb.editor_mountain, article=kb.tiered)
    revision = services.start_revision(user=kb.editor_mountain, article=kb.mountain_rule)
    with pytest.raises(PermissionDenied):  # and cannot move it out of their region
        services.update_revision(user=kb.editor_mountain, revision=revision, region=kb.county)


def test_workflow_through_the_pages(kb, client):
    client.force_login(kb.editor)
    page = client.post(
        "/knowledge/manage/new/",
        {
            "title": "电费发票怎么开？",
            "phrasings": "交了电费要发票",
            "answer": "网上国网申请电子发票。",
            "category": kb.cat_tariff.pk,
            "effective_from": "2024-01-01",
        },
    )
    assert page.status_code == 302
    number = page["Location"].rstrip("/").split("/")[-1]
    client.post(f"/knowledge/manage/{number}/submit/")
    client.force_login(kb.reviewer)
    assert "审核通过并发布" in client.get(f"/knowledge/manage/{number}/").content.decode()
    client.post(f"/knowledge/manage/{number}/approve/")
    client.force_login(kb.agent)
    assert client.get(f"/knowledge/a/{number}/").status_code == 200
    assert client.get("/knowledge/manage/").status_code == 403  # agents don't maintain


def test_retired_articles_never_appear(kb, client, django_user_model):
    from gridcare.org.services import issue_token

    services.retire_article(user=kb.reviewer, article=kb.reconnect, note="政策调整")
    number = kb.reconnect.number
    assert number not in _served_numbers(kb.agent, "交完欠费多久来电")
    client.force_login(kb.agent)
    assert number not in client.get("/knowledge/", {"q": "交完欠费多久来电"}).content.decode()
    assert number not in client.get("/knowledge/panel/", {"q": "交完欠费多久来电"}).content.decode()
    assert client.get(f"/knowledge/a/{number}/").status_code == 404
    assert number not in client.get("/knowledge/", {"category": "outage"}).content.decode()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user=kb.agent)}"}
    found = client.get("/api/v1/knowledge/search", {"q": "交完欠费多久来电"}, **auth).json()
    assert number not in [r["number"] for r in found["results"]]
    assert client.get(f"/api/v1/knowledge/articles/{number}", **auth).status_code == 404


def test_an_import_publishes_over_an_editors_open_draft_and_leaves_it(kb):
    article, _ = services.import_article(
        user=kb.editor,
        number="KB-SEED-1",
        title="峰谷电价怎么申请？",
        phrasings="我想改成峰谷电",
        answer="通过网上国网或营业厅申请。",
        category=kb.cat_tariff,
        effective_from=dt.date(2026, 1, 1),
    )
    draft = services.start_revision(user=kb.editor, article=article, change_note="补充办理时限")
    again, changed = services.import_article(
        user=kb.editor,
        number="KB-SEED-1",
        title="峰谷电价怎么申请？",
        phrasings="我想改成峰谷电",
        answer="通过网上国网、95598网站或营业厅申请。",
        category=kb.cat_tariff,
        effective_from=dt.date(2026, 1, 1),
    )
    assert changed and again.status == Status.PUBLISHED and "95598网站" in again.answer
    draft.refresh_from_db()
    assert draft.state == Revision.State.DRAFT  # the editor's work is still there
