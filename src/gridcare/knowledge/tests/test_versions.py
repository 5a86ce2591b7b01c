"""Every published version is kept; agents keep the old one until the new one is approved."""

from gridcare.knowledge import queries, services


def test_revision_is_served_only_after_approval_and_versions_diff(kb, client):
    article = kb.reconnect
    revision = services.start_revision(user=kb.editor, article=article, change_note="补充远程费控说明")
    services.update_revision(
        user=kb.editor,
        revision=revision,
        answer="缴清欠费及违约金后，**24小时内**恢复供电；远程费控用户一般几分钟内自动复电。",
    )
    services.act_on_revision(user=kb.editor, revision=revision, action="submit")
    served = queries.get_served_article(kb.agent, article.number)
    assert "远程费控" not in served.answer  # still version 1 on the line

    services.act_on_revision(user=kb.reviewer, revision=revision, action="approve")
    served = queries.get_served_article(kb.agent, article.number)
    assert served.version == 2 and "远程费控" in served.answer
    assert [v.version_no for v in queries.versions(article)] == [2, 1]
    # the new wording is searchable at once
    assert queries.search_articles(kb.agent, "费控复电").hits[0].article == article

    v2, v1 = queries.versions(article)
    table = services.diff_html(v1, v2)
    assert "远程费控" in table and "diff_" in table

    client.force_login(kb.editor)
    page = client.get(f"/knowledge/manage/{article.number}/diff/", {"a": 1, "b": 2}).content.decode()
    assert "远程费控" in page and "v1" in page and "v2" in page


def test_diff_escapes_markup(kb):
    revision = services.start_revision(user=kb.editor, article=kb.tiered)
    services.update_revision(user=kb.editor, revision=revision, answer="<script>alert(1)</script>")
    services.act_on_revision(user=kb.editor, revision=revision, action="submit")
    services.act_on_revision(user=kb.reviewer, revision=revision, action="approve")
    v2, v1 = queries.versions(kb.tiered)
    assert "<script>" not in services.diff_html(v1, v2)


def test_answers_render_tables_and_escape_html(kb, client):
    client.force_login(kb.agent)
    page = client.get(f"/knowledge/a/{kb.tiered.number}/").content.decode()
    assert "<table" in page and "<td>0.538</td>" in page
    revision = services.start_revision(user=kb.editor, article=kb.tiered)
    services.update_revision(
        user=kb.editor, revision=revision, answer="<img src=x onerror=alert(1)> **注意**"
    )
    services.act_on_revision(user=kb.editor, revision=revision, action="submit")
    services.act_on_revision(user=kb.reviewer, revision=revision, action="approve")
    page = client.get(f"/knowledge/a/{kb.tiered.number}/").content.decode()
    assert "<img src=x" not in page and "&lt;img" in page and "<strong>注意</strong>" in page
