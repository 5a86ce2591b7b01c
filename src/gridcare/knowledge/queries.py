"""Scoped reads of the knowledge base, used by the pages, the side panel and the API alike.

What an agent is served (``served_filters``): published articles in force today (effective
from ≤ today < expires on) whose region applies to the user:

- no region → applies everywhere;
- a region R applies to a user when one of the user's units lies inside R's subtree (a station
  clerk under county R is bound by R's rules), or R lies inside the user's subtree (the city
  center's agents answer callers of every county below them, so they see every county's local
  rules, each labelled with its region).

Narrowing: the unit switcher (``active_unit``) narrows the user's units as everywhere else; the
side panel's ``unit`` parameter (the caller's supply station, passed by the agent workspace) narrows
to the rules that apply *at that unit*: nationwide ones and those of the unit and its ancestors.
A user with no role anywhere is served nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from gridcare.core import clock
from gridcare.org import scoping
from gridcare.org.models import Unit
from gridcare.org.types import Viewer

from . import search
from .models import Article, Attachment, Category, CustomerClass, Revision, SearchGap, Status
from .search import Filters

SEARCH_LIMIT = 10


def _ancestor_ids(units: list[Unit]) -> list[int]:
    ids: set[int] = set()
    for unit in units:
        ids.update(int(part) for part in unit.path.strip("/").split("/") if part)
    return sorted(ids)


def caller_unit(user: Viewer, unit_id: Any, active_unit: Unit | None = None) -> Unit | None:
    """The caller's unit given to the panel, if it is a unit in the user's scope (else None)."""
    try:
        unit_pk = int(unit_id)
    except (TypeError, ValueError):
        return None
    unit = Unit.objects.filter(pk=unit_pk).first()
    if unit is None:
        return None
    return unit if scoping.unit_in_scope(user, unit, active_unit) else None


def served_filters(
    user: Viewer, *, active_unit: Unit | None = None, unit: Unit | None = None, customer_class: str = ""
) -> Filters | None:
    """The index filters for what ``user`` may be served, or None when nothing at all."""
    if customer_class not in CustomerClass.values:
        customer_class = ""
    filters = Filters(today=clock.today(), customer_class=customer_class)
    if unit is not None:
        filters.region_ids = _ancestor_ids([unit])
        return filters
    if getattr(user, "is_superuser", False) and active_unit is None:
        return filters
    roots = scoping.root_units(user, active_unit)
    if not roots:
        return None
    if any(r.parent_id is None for r in roots):
        return filters  # the whole tree
    filters.region_ids = _ancestor_ids(roots)
    filters.region_paths = [r.path for r in roots]
    return filters


def _served_queryset(filters: Filters) -> QuerySet[Article]:
    from django.db.models import Q

    qs = Article.objects.filter(status=Status.PUBLISHED, effective_from__lte=filters.today).filter(
        Q(expires_on__isnull=True) | Q(expires_on__gt=filters.today)
    )
    if filters.region_ids is not None:
        region = Q(region__isnull=True) | Q(region_id__in=filters.region_ids)
        for path in filters.region_paths:
            region |= Q(region__path__startswith=path)
        qs = qs.filter(region)
    if filters.customer_class:
        qs = qs.filter(Q(customer_classes="") | Q(customer_classes__contains=f",{filters.customer_class},"))
    return qs


def served_articles(user: Viewer, *, active_unit: Unit | None = None, **narrow: Any) -> QuerySet[Article]:
    filters = served_filters(user, active_unit=active_unit, **narrow)
    if filters is None:
        return Article.objects.none()
    return _served_queryset(filters)


def get_served_article(user: Viewer, number: str, *, active_unit: Unit | None = None) -> Article:
    """One article as an agent may read it, or 404 (retired, expired, elsewhere, or a draft)."""
    qs = served_articles(user, active_unit=active_unit).select_related("category__parent", "region")
    try:
        return qs.prefetch_related("attachments").get(number=number)
    except Article.DoesNotExist as exc:
        raise Http404("not found") from exc


@dataclass
class Hit:
    article: Article
    score: float
    coverage: float
    via: str


@dataclass
class SearchResult:
    query: str
    hits: list[Hit]
    confident: bool
    tokens: list[str]

    @property
    def found(self) -> bool:
        return bool(self.hits)


def search_articles(
    user: Viewer,
    q: str,
    *,
    active_unit: Unit | None = None,
    unit: Unit | None = None,
    customer_class: str = "",
    limit: int = SEARCH_LIMIT,
) -> SearchResult:
    """The agent's one-query search, scoped to what the user may be served."""
    q = (q or "").strip()[:200]
    filters = served_filters(user, active_unit=active_unit, unit=unit, customer_class=customer_class)
    if not q or filters is None:
        return SearchResult(q, [], False, [])
    scored, confident, tokens = search.run(q, filters, limit=limit)
    articles = Article.objects.select_related("category__parent", "region").in_bulk(
        [h.article_id for h in scored]
    )
    hits = [
        Hit(articles[h.article_id], h.score, h.coverage, h.via) for h in scored if h.article_id in articles
    ]
    return SearchResult(q, hits, confident, tokens)


# ---------------------------------------------------------------- maintenance reads


def maintained_articles(
    user: Viewer, *, status: str = "", q: str = "", category: str = ""
) -> QuerySet[Article]:
    """Articles a maintainer may manage: their regions' and (for the center) nationwide ones."""
    from django.db.models import Q

    qs = _maintained(Article.objects.select_related("category__parent", "region", "owner"), user)
    if status in Status.values:
        qs = qs.filter(status=status)
    if category:
        qs = qs.filter(Q(category__code=category) | Q(category__parent__code=category))
    if q.strip():
        qs = qs.filter(Q(number__icontains=q.strip()) | Q(title__icontains=q.strip()))
    return qs.order_by("-updated_at", "number")


def get_maintained_article(user: Viewer, number: str) -> Article:
    try:
        return maintained_articles(user).get(number=number)
    except Article.DoesNotExist as exc:
        raise Http404("not found") from exc


def get_attachment(user: Viewer, number: str, pk: int, *, active_unit: Unit | None = None) -> Attachment:
    """An attachment of an article the user may read (served to them, or maintained by them), or 404."""
    try:
        article = get_served_article(user, number, active_unit=active_unit)
    except Http404:
        article = get_maintained_article(user, number)
    try:
        return article.attachments.get(pk=pk)
    except Attachment.DoesNotExist as exc:
        raise Http404("not found") from exc


def versions(article: Article) -> list[Revision]:
    return list(
        article.revisions.filter(version_no__isnull=False)
        .select_related("category__parent", "region", "author", "reviewer")
        .order_by("-version_no")
    )


def open_gaps(user: Viewer, *, include_resolved: bool = False) -> QuerySet[SearchGap]:
    """The gaps a maintainer looks after: searches in their regions (those without a region,
    for the center's maintainers), by the rule of ``maintained_articles``."""
    qs = _maintained(SearchGap.objects.select_related("region", "last_user", "resolved_article"), user)
    return qs if include_resolved else qs.filter(resolved=False)


def _maintained(qs: QuerySet, user: Viewer) -> QuerySet:
    """Rows whose ``region`` lies in the user's units' subtrees, and rows without a region when
    the user works at the center (the province or a city); everything for a superuser."""
    from django.db.models import Q

    if getattr(user, "is_superuser", False):
        return qs
    roots = scoping.root_units(user)
    if not roots:
        return qs.none()
    region = scoping.scope_q(user, "region")
    if any(r.parent_id is None or r.kind in (Unit.Kind.PROVINCE, Unit.Kind.CITY) for r in roots):
        region |= Q(region__isnull=True)
    return qs.filter(region)


def category_tree() -> list[tuple[Category, list[Category]]]:
    cats = list(Category.objects.all())
    roots = [c for c in cats if c.parent_id is None]
    return [(r, [c for c in cats if c.parent_id == r.pk]) for r in roots]
