"""The knowledge-base workflow as two readable tables (``rules.py`` holds the guards and effects).

A revision: an editor (知识库维护员) writes it and submits it; a reviewer (值班长 / 管理人员 /
系统管理员) approves it — it becomes the next published version and what agents are served — or
sends it back with a reason. Nobody approves their own revision. An article: a reviewer retires
it (it disappears from search, pages and the API at once). Who holds a role is decided per
region (``rules.holds``).

Print them: ``gridcare workflow_table knowledge``.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from gridcare.core.workflow import Action, Transition, Workflow
from gridcare.org.types import Actor

from .models import Article, ArticleEvent, Revision, Status
from .rules import (
    EDITORS,
    REVIEWERS,
    drop_from_search,
    holds,
    not_own_revision,
    publish_revision,
    reason_given,
    record_reviewer,
    stamp_submitted,
    unpublished_article_follows,
)


class RevisionAction(Action):
    SUBMIT = "submit"
    WITHDRAW = "withdraw"
    APPROVE = "approve"
    REJECT = "reject"
    DISCARD = "discard"


class ArticleAction(Action):
    RETIRE = "retire"


R = RevisionAction
DRAFT, REVIEW = frozenset({Revision.State.DRAFT}), frozenset({Revision.State.REVIEW})

REVISION_TRANSITIONS = (
    Transition(
        R.SUBMIT, gettext_lazy("提交审核"), DRAFT, Revision.State.REVIEW, EDITORS,
        effects=(stamp_submitted, unpublished_article_follows),
    ),
    Transition(
        R.WITHDRAW, gettext_lazy("撤回"), REVIEW, Revision.State.DRAFT, EDITORS,
        effects=(unpublished_article_follows,),
    ),
    Transition(
        R.APPROVE, gettext_lazy("审核通过并发布"), REVIEW, Revision.State.PUBLISHED, REVIEWERS,
        guards=(not_own_revision,),
        effects=(record_reviewer, publish_revision),
    ),
    Transition(
        R.REJECT, gettext_lazy("退回修改"), REVIEW, Revision.State.DRAFT, REVIEWERS,
        guards=(reason_given,),
        effects=(record_reviewer, unpublished_article_follows),
    ),
    Transition(
        R.DISCARD, gettext_lazy("作废修订稿"), DRAFT, Revision.State.DISCARDED, EDITORS,
        effects=(unpublished_article_follows,),
        records_as=ArticleEvent.Action.EDIT,
    ),
)  # fmt: skip

ARTICLE_TRANSITIONS = (
    Transition(
        ArticleAction.RETIRE, gettext_lazy("下线"), frozenset({Status.PUBLISHED}), Status.RETIRED, REVIEWERS,
        then=(drop_from_search,),
    ),
)  # fmt: skip


def illegal_for_revision(revision: Revision, action: str) -> ValidationError:
    return ValidationError(
        _("“%(state)s”状态的修订稿不能执行“%(action)s”")
        % {"state": revision.get_state_display(), "action": action}
    )


def _holds_revision(user: Actor, transition: Transition, revision: Revision) -> bool:
    return holds(user, transition.roles, revision.region or revision.article.region)


def _holds_article(user: Actor, transition: Transition, article: Article) -> bool:
    return holds(user, transition.roles, article.region)


REFUSALS = (PermissionDenied, ValidationError)

REVISIONS: Workflow[Revision] = Workflow(
    name="knowledge revisions",
    actions=RevisionAction,
    transitions=REVISION_TRANSITIONS,
    state_of=lambda revision: revision.state,
    holds=_holds_revision,
    refuse_state=lambda transition, revision: illegal_for_revision(revision, transition.action),
    refuse_role=lambda transition, revision: PermissionDenied(_("您的岗位不能执行该操作")),
    refuse_unknown=lambda action: ValidationError(f"unknown action {action!r}"),
    refusals=REFUSALS,
    state_labels=dict(Revision.State.choices),
)
ARTICLES: Workflow[Article] = Workflow(
    name="knowledge articles",
    actions=ArticleAction,
    transitions=ARTICLE_TRANSITIONS,
    state_of=lambda article: article.status,
    holds=_holds_article,
    refuse_state=lambda transition, article: ValidationError(_("只有已发布的条目可以下线")),
    refuse_role=lambda transition, article: PermissionDenied(_("您的岗位不能下线该条目")),
    refuse_unknown=lambda action: ValidationError(f"unknown action {action!r}"),
    refusals=REFUSALS,
    state_labels=dict(Status.choices),
)
WORKFLOWS = (REVISIONS, ARTICLES)
