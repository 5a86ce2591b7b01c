"""Every change to the knowledge base: one function per business action, one transaction each,
a history row (``ArticleEvent``) written by the same function, the search index kept in step.

Workflow: the tables in ``transitions.py`` (revisions: submit, withdraw, approve, reject, discard;
articles: retire), their guards and effects in ``rules.py``, who may act per region in
``rules.holds``. ``act_on_revision`` and ``retire_article`` lock the rows, run the table's row and
write the history.
"""

from __future__ import annotations

import difflib
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from gridcare.core import clock, numbering
from gridcare.org import scoping
from gridcare.org.models import Unit
from gridcare.org.scoping import assignments_of
from gridcare.org.types import Actor

from . import attachments, queries
from .models import (
    CONTENT_FIELDS,
    Article,
    ArticleEvent,
    Attachment,
    CustomerClass,
    Feedback,
    Revision,
    SearchGap,
    Status,
)
from .rules import EDITORS, REVIEWERS, holds, not_own_revision, publish
from .rules import reindex as reindex  # re-exported: rebuild_index, seed and tests use services.reindex
from .search import index, text
from .transitions import ARTICLES, REVISIONS, ArticleAction, RevisionAction, illegal_for_revision

# ---------------------------------------------------------------- permissions


def can_edit(user: Actor, region: Unit | None = None) -> bool:
    return holds(user, EDITORS, region)


def can_review(user: Actor, region: Unit | None = None) -> bool:
    return holds(user, REVIEWERS, region)


def is_maintainer(user: Actor) -> bool:
    """May open the maintenance pages at all (some region of theirs)."""
    roles = EDITORS | REVIEWERS
    return getattr(user, "is_superuser", False) or any(a.role in roles for a in assignments_of(user))


def is_editor(user: Actor) -> bool:
    return getattr(user, "is_superuser", False) or any(a.role in EDITORS for a in assignments_of(user))


def allowed_actions(user: Actor, article: Article, revision: Revision | None) -> list[str]:
    """The actions to offer ``user``: the state and their roles in the region allow them, and the
    guards about who (not their own revision to approve) pass."""
    actions: list[str] = []
    if revision is not None:
        actions += [t.action for t in REVISIONS.available(revision, user, screen=(not_own_revision,))]
    actions += [t.action for t in ARTICLES.available(article, user)]
    return actions


# ---------------------------------------------------------------- content


def _clean_content(content: dict[str, Any]) -> dict[str, Any]:
    data = dict(content)
    if "category" in data:
        data["category_id"] = data.pop("category").pk
    if "region" in data:
        region = data.pop("region")
        data["region_id"] = region.pk if region else None
    classes = data.get("customer_classes", "")
    if isinstance(classes, list | tuple | set):
        classes = ",".join(classes)
    codes = [c.strip() for c in str(classes).split(",") if c.strip()]
    unknown = set(codes) - set(CustomerClass.values)
    if unknown:
        raise ValidationError(_("未知的客户类别：%s") % "、".join(sorted(unknown)))
    data["customer_classes"] = f",{','.join(codes)}," if codes else ""
    data["title"] = (data.get("title") or "").strip()
    if not data["title"] or not (data.get("answer") or "").strip():
        raise ValidationError(_("标准问题和标准答复都必须填写"))
    phrasings = data.get("phrasings", "")
    if isinstance(phrasings, list | tuple):
        phrasings = "\n".join(phrasings)
    data["phrasings"] = "\n".join(line.strip() for line in str(phrasings).splitlines() if line.strip())
    expires, effective = data.get("expires_on"), data.get("effective_from")
    if expires and effective and expires <= effective:
        raise ValidationError(_("失效日期必须晚于生效日期"))
    unknown_fields = set(data) - set(CONTENT_FIELDS)
    if unknown_fields:
        raise ValidationError(f"unknown fields: {sorted(unknown_fields)}")
    return data


def _region_of(data: dict[str, Any], fallback: Unit | None) -> Unit | None:
    if "region_id" not in data:
        return fallback
    return Unit.objects.get(pk=data["region_id"]) if data["region_id"] else None


def _next_number() -> str:
    while True:
        number = numbering.next_number("KB", "", width=5)
        if not Article.objects.filter(number=number).exists():
            return number


def _event(
    article: Article,
    action: str,
    actor: Actor,
    *,
    revision: Revision | None = None,
    old: str = "",
    new: str = "",
    note: str = "",
) -> ArticleEvent:
    return ArticleEvent.objects.create(
        article=article,
        revision=revision,
        action=action,
        from_state=old,
        to_state=new,
        actor=actor if getattr(actor, "pk", None) else None,
        note=note[:300],
        at=clock.now(),
    )


@transaction.atomic
def create_article(*, user: Actor, change_note: str = "", **content: Any) -> Revision:
    """新建知识条目: a draft article with its first revision, owned by the editor."""
    data = _clean_content(content)
    if not can_edit(user, _region_of(data, None)):
        raise PermissionDenied(_("只有该区域的知识库维护员可以新建条目"))
    now = clock.now()
    data.setdefault("effective_from", clock.today())
    article = Article.objects.create(
        number=_next_number(), status=Status.DRAFT, owner=user, created_at=now, updated_at=now, **data
    )
    revision = Revision.objects.create(
        article=article, author=user, created_at=now, change_note=change_note or _("新建"), **data
    )
    _event(article, ArticleEvent.Action.CREATE, user, revision=revision, new=Status.DRAFT)
    return revision


@transaction.atomic
def start_revision(*, user: Actor, article: Article, change_note: str = "") -> Revision:
    """修订: a new draft copied from the served content (one open revision per article)."""
    article = Article.objects.select_for_update().get(pk=article.pk)
    if not can_edit(user, article.region):
        raise PermissionDenied(_("只有该区域的知识库维护员可以修订条目"))
    if article.pending_revision() is not None:
        raise ValidationError(_("该条目已有未完成的修订稿"))
    content = {f: getattr(article, f) for f in CONTENT_FIELDS}
    try:
        with transaction.atomic():
            revision = Revision.objects.create(
                article=article, author=user, created_at=clock.now(), change_note=change_note, **content
            )
    except IntegrityError as exc:
        raise ValidationError(_("该条目已有未完成的修订稿")) from exc
    _event(article, ArticleEvent.Action.EDIT, user, revision=revision, note=_("开始修订"))
    return revision


@transaction.atomic
def update_revision(
    *, user: Actor, revision: Revision, change_note: str | None = None, **content: Any
) -> Revision:
    """Save the editor's changes to a draft revision."""
    revision = Revision.objects.select_for_update().select_related("article").get(pk=revision.pk)
    if revision.state != Revision.State.DRAFT:
        raise ValidationError(_("只能修改草稿状态的修订稿"))
    data = _clean_content({f: getattr(revision, f) for f in CONTENT_FIELDS} | content)
    new_region = _region_of(data, None)
    if not (can_edit(user, revision.article.region) and can_edit(user, new_region)):
        raise PermissionDenied(_("只有该区域的知识库维护员可以修改条目"))
    for name, value in data.items():
        setattr(revision, name, value)
    if change_note is not None:
        revision.change_note = change_note
    revision.save()
    article = revision.article
    if article.version == 0:  # never published: the article row mirrors its only draft
        for name, value in data.items():
            setattr(article, name, value)
        article.updated_at = clock.now()
        article.save()
    _event(article, ArticleEvent.Action.EDIT, user, revision=revision)
    return revision


@transaction.atomic
def act_on_revision(*, user: Actor, revision: Revision, action: str, note: str = "") -> Revision:
    """submit / withdraw / approve / reject / discard, per ``transitions.REVISIONS``."""
    revision = Revision.objects.select_for_update().get(pk=revision.pk)
    article = Article.objects.select_for_update().get(pk=revision.article_id)
    revision.article = article
    transition = REVISIONS.get(action)
    if transition is None:
        raise illegal_for_revision(revision, action)
    old_article_status = article.status
    now = clock.now()
    step = REVISIONS.run(transition, revision, user, note=note, now=now)
    revision.state = step.target
    revision.save()
    article.updated_at = now
    article.save()
    _event(
        article,
        transition.history_action,
        user,
        revision=revision,
        old=old_article_status,
        new=article.status,
        note=note or revision.change_note if action == RevisionAction.APPROVE else note,
    )
    REVISIONS.follow_up(step)
    return revision


@transaction.atomic
def retire_article(*, user: Actor, article: Article, note: str = "") -> Article:
    """下线: the article is no longer served anywhere (search, pages, panel, API)."""
    article = Article.objects.select_for_update().get(pk=article.pk)
    now = clock.now()
    step = ARTICLES.run(ArticleAction.RETIRE, article, user, note=note, now=now)
    old = step.before
    article.status = step.target
    article.updated_at = now
    article.save(update_fields=["status", "updated_at"])
    ARTICLES.follow_up(step)
    _event(article, step.transition.history_action, user, old=old, new=article.status, note=note)
    return article


def rebuild_index() -> int:
    """Re-segment every served article (after the dictionaries change). Returns the count."""
    count = 0
    for article in Article.objects.filter(status=Status.PUBLISHED).iterator():
        reindex(article)
        count += 1
    for article_id in index.indexed_ids() - set(
        Article.objects.filter(status=Status.PUBLISHED).values_list("id", flat=True)
    ):
        index.remove(article_id)
    return count


@transaction.atomic
def import_article(*, user: Actor, number: str, source: str = "", **content: Any) -> tuple[Article, bool]:
    """导入发布: load a vetted article (seed content, a bulk import) straight as a published version.

    Idempotent by ``number``: an unchanged article is left alone; a changed one gets a new
    version. Returns (article, changed).
    """
    data = _clean_content(content)
    now = clock.now()
    article = Article.objects.select_for_update().filter(number=number).first()
    if article is not None and all(getattr(article, f) == v for f, v in data.items()):
        return article, False
    if article is None:
        article = Article.objects.create(
            number=number, status=Status.DRAFT, owner=user, created_at=now, updated_at=now, **data
        )
    # Published at once: an editor's open draft of the article is left as it is (one open revision).
    revision = Revision.objects.create(
        article=article,
        state=Revision.State.PUBLISHED,
        author=user,
        reviewer=user,
        created_at=now,
        submitted_at=now,
        change_note=source,
        **data,
    )
    old = article.status
    publish(article, revision, now)
    revision.save()
    article.updated_at = now
    article.save()
    _event(
        article, ArticleEvent.Action.IMPORT, user, revision=revision, old=old, new=article.status, note=source
    )
    return article, True


def add_attachment(*, user: Actor, article: Article, file: Any, title: str = "") -> Attachment:
    """Store an allowed file (type by content, size capped) under a random name and record it.

    Nothing is left behind on failure: a refused file is never written, and a stored file whose
    row cannot be written is deleted again.
    """
    if not can_edit(user, article.region):
        raise PermissionDenied(_("只有该区域的知识库维护员可以上传附件"))
    kind = attachments.check(file)
    original = attachments.display_name(getattr(file, "name", ""), kind)
    title = (title or "").strip()
    if len(title) > 120:
        raise ValidationError(_("附件名称不能超过 120 个字符"))
    title = title or original
    size = file.size
    stored = default_storage.save(attachments.stored_name(article.number, kind), file)
    try:
        with transaction.atomic():
            attachment = Attachment.objects.create(
                article=article,
                file=stored,
                title=title,
                original_name=original,
                content_type=kind.content_type,
                size=size,
                uploaded_by=user,
                uploaded_at=clock.now(),
            )
            _event(article, ArticleEvent.Action.EDIT, user, note=_("上传附件：%s") % attachment.title)
    except BaseException:
        default_storage.delete(stored)
        raise
    return attachment


# ---------------------------------------------------------------- versions and diff


def version_text(revision: Revision) -> list[str]:
    """A version as lines for the diff (every content field, labelled)."""
    lines = [f"标准问题：{revision.title}", "常见问法："]
    lines += [f"  {p}" for p in revision.phrasing_list()]
    lines += [
        f"分类：{revision.category}",
        f"适用区域：{revision.region or '全网'}",
        f"适用客户：{'、'.join(revision.class_labels()) or '全部'}",
        f"生效日期：{revision.effective_from}",
        f"失效日期：{revision.expires_on or '长期'}",
        f"关键词：{revision.keywords}",
        "标准答复：",
    ]
    lines += revision.answer.splitlines()
    return lines


def diff_html(old: Revision, new: Revision) -> str:
    """Side-by-side HTML diff of two versions (difflib escapes the text)."""
    differ = difflib.HtmlDiff(tabsize=2, wrapcolumn=48)
    return differ.make_table(
        version_text(old),
        version_text(new),
        fromdesc=f"v{old.version_no or '草稿'}",
        todesc=f"v{new.version_no or '草稿'}",
        context=False,
    )


# ---------------------------------------------------------------- use: feedback and gaps


@transaction.atomic
def record_feedback(
    *, user: Actor, article: Article, helpful: bool, query: str = "", call_ref: str = ""
) -> Feedback:
    """“这条答复解决了来电” (or not): one row, and the article's counters move."""
    feedback = Feedback.objects.create(
        article=article, user=user, helpful=helpful, query=query[:200], call_ref=call_ref[:40], at=clock.now()
    )
    field = "helpful_count" if helpful else "unhelpful_count"
    Article.objects.filter(pk=article.pk).update(**{field: F(field) + 1})
    return feedback


def record_gap(*, user: Actor, query: str, reason: str, region: Unit | None = None) -> SearchGap | None:
    """Count a query that found no good answer (one row per normalized query and region). ``region``: the
    unit the search was for (the caller's station, the unit chosen in the switcher), else the
    searcher's own unit when they hold roles at one only, so the gap reaches that region's
    maintainers."""
    query = (query or "").strip()[:200]
    if not query:
        return None
    if region is None and getattr(user, "pk", None):
        units = {unit.pk: unit for unit in scoping.root_units(user)}  # a unit once, whatever its roles
        region = next(iter(units.values())) if len(units) == 1 else None
    key = text.normalized_query(query)
    now = clock.now()
    with transaction.atomic():
        gap = SearchGap.objects.select_for_update().filter(normalized=key, region=region).first()
        if gap is None:
            try:
                with transaction.atomic():
                    return SearchGap.objects.create(
                        normalized=key,
                        query=query,
                        reason=reason,
                        region=region,
                        first_seen=now,
                        last_seen=now,
                        last_user=user if getattr(user, "pk", None) else None,
                    )
            except IntegrityError:
                gap = SearchGap.objects.select_for_update().get(normalized=key, region=region)
        gap.count = F("count") + 1
        gap.query, gap.last_seen = query, now
        gap.last_user = user if getattr(user, "pk", None) else None
        if reason == SearchGap.Reason.REPORTED:
            gap.reason = reason
        gap.resolved = False
        gap.save()
        gap.refresh_from_db()
        return gap


@transaction.atomic
def resolve_gap(*, user: Actor, gap: SearchGap, article_number: str = "") -> SearchGap:
    """Mark a gap handled, linked to the article that now answers it (if a number is given): one
    the user maintains, or one served to their agents (a nationwide answer, say). An unknown or
    out-of-scope number raises ValidationError and leaves the gap open."""
    if not is_maintainer(user):
        raise PermissionDenied(_("只有知识库维护人员可以处理缺口"))
    article = None
    if article_number:
        article = (
            queries.maintained_articles(user).filter(number=article_number).first()
            or queries.served_articles(user).filter(number=article_number).first()
        )
        if article is None:
            raise ValidationError(
                _("未找到条目 %(number)s（或不在您的范围内），缺口未标记") % {"number": article_number}
            )
    gap.resolved = True
    gap.resolved_article = article
    gap.save(update_fields=["resolved", "resolved_article"])
    return gap
