"""Who may act on the knowledge base, and the guards and effects of its workflow table
(``transitions.py``), one small function per rule.

Who may act on an article depends on its region: an editor or reviewer acts on articles whose
region lies in the subtree of a unit where they hold the role; nationwide articles (no region)
belong to the province or city level (the center that runs the 95598 line).
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _

from gridcare.core.workflow import Step
from gridcare.org.models import Role, Unit
from gridcare.org.scoping import assignments_of
from gridcare.org.types import Actor

from . import markup
from .models import CONTENT_FIELDS, Article, Category, Revision, Status
from .search import index

EDITORS = frozenset({Role.KNOWLEDGE_EDITOR, Role.ADMIN})
REVIEWERS = frozenset({Role.SHIFT_LEADER, Role.MANAGER, Role.ADMIN})
CENTER_KINDS = frozenset({Unit.Kind.PROVINCE, Unit.Kind.CITY})

RevisionStep = Step[Revision]
ArticleStep = Step[Article]


def holds(user: Actor, roles: frozenset[str], region: Unit | None) -> bool:
    """``user`` holds one of ``roles`` at a unit whose subtree contains ``region`` (nationwide:
    at the province or city level)."""
    if getattr(user, "is_superuser", False):
        return True
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    for a in assignments_of(user):
        if a.role not in roles:
            continue
        if region is None:
            if a.unit.parent_id is None or a.unit.kind in CENTER_KINDS:
                return True
        elif region.is_within(a.unit):
            return True
    return False


# --- Publishing (the approve effect and the bulk import share it) ---------------------------


def reindex(article: Article) -> None:
    """Segment the served content into the index fields and the FTS table / tsvector."""
    category = Category.objects.select_related("parent").get(pk=article.category_id)
    doc = index.document_for(
        title=article.title,
        phrasings=article.phrasings,
        keywords=article.keywords,
        answer_text=markup.plain_text(article.answer),
        category=str(category),
    )
    article.index_title, article.index_body = doc.head, doc.body
    Article.objects.filter(pk=article.pk).update(index_title=doc.head, index_body=doc.body)
    if article.status == Status.PUBLISHED:
        index.write(article.pk, doc)
    else:
        index.remove(article.pk)


def publish(article: Article, revision: Revision, now: dt.datetime) -> None:
    """``revision`` becomes the article's next published version, served and indexed."""
    revision.version_no = article.version + 1
    revision.published_at = now
    for name in CONTENT_FIELDS:
        setattr(article, name, getattr(revision, name))
    article.version = revision.version_no
    article.status = Status.PUBLISHED
    article.published_at = now
    reindex(article)


# --- Guards ---------------------------------------------------------------------------------


def not_own_revision(step: RevisionStep) -> None:
    """Nobody approves their own revision."""
    if step.obj.author_id == step.actor.pk:
        raise PermissionDenied(_("不能审核自己编写的修订稿"))


def reason_given(step: RevisionStep) -> None:
    if not step.note.strip():
        raise ValidationError(_("退回修改需要写明原因"))


# --- Effects --------------------------------------------------------------------------------


def stamp_submitted(step: RevisionStep) -> None:
    step.obj.submitted_at = step.now


def record_reviewer(step: RevisionStep) -> None:
    step.obj.reviewer = step.actor


def publish_revision(step: RevisionStep) -> None:
    assert step.now is not None
    publish(step.obj.article, step.obj, step.now)


def unpublished_article_follows(step: RevisionStep) -> None:
    """An article never published shows its only draft's state (作废 retires it)."""
    article = step.obj.article
    if article.version == 0:
        follows: dict[str, str] = {
            Revision.State.DRAFT: Status.DRAFT,
            Revision.State.REVIEW: Status.REVIEW,
            Revision.State.DISCARDED: Status.RETIRED,
        }
        article.status = follows[step.target]


# --- Follow-ups -----------------------------------------------------------------------------


def drop_from_search(step: ArticleStep) -> None:
    """A retired article disappears from search at once."""
    index.remove(step.obj.pk)
