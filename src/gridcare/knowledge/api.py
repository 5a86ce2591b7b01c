"""Knowledge API: search and read what the token's user may be served; feedback."""

from __future__ import annotations

from django.utils.translation import gettext
from ninja import Field, Query, Router, Schema

from gridcare.core.api_errors import ApiError
from gridcare.core.validation import CleanLine, Int32, limit_param

from . import queries, services
from .models import SearchGap
from .schemas import ArticleHitOut, ArticleOut, FeedbackIn, FeedbackOut, SearchOut

router = Router(tags=["knowledge"])


class SearchParams(Schema):
    q: CleanLine = Field("", max_length=200)
    unit: Int32 | None = None
    customer_class: CleanLine = Field("", max_length=40)
    limit: int = limit_param(10, 20)


@router.get("/search", response=SearchOut, summary="Search the knowledge base (scoped to the user's region)")
def search(request, params: Query[SearchParams]):
    """Published, in-force articles applicable to the user's region, best first.

    ``unit`` (a unit id in the user's scope, e.g. the caller's supply station) narrows to the
    rules that apply there; ``customer_class`` (residential, non_residential, large_industry,
    agriculture, public) to those for that class. A query with no good answer is logged as a gap.
    """
    q = params.q.strip()
    if not q:
        raise ApiError("query_required", "Give q, the caller's question.", status=400)
    unit = None
    if params.unit is not None:
        unit = queries.caller_unit(request.auth, params.unit)
        if unit is None:
            raise ApiError("not_found", gettext("您的管辖范围内没有该单位"), status=404)
    result = queries.search_articles(
        request.auth, q, unit=unit, customer_class=params.customer_class, limit=params.limit
    )
    if not result.confident:
        reason = SearchGap.Reason.WEAK_MATCH if result.hits else SearchGap.Reason.NO_RESULT
        services.record_gap(user=request.auth, query=q, reason=reason, region=unit)
    return SearchOut(
        query=q,
        tokens=result.tokens,
        confident=result.confident,
        results=[ArticleHitOut.from_hit(h.article, h.score) for h in result.hits],
    )


@router.get("/articles/{number}", response=ArticleOut, summary="One served article with its answer")
def article(request, number: str):
    return ArticleOut.from_article(queries.get_served_article(request.auth, number))


@router.post(
    "/articles/{number}/feedback", response=FeedbackOut, summary="This answer solved the call (or not)"
)
def feedback(request, number: str, body: FeedbackIn):
    obj = queries.get_served_article(request.auth, number)
    services.record_feedback(
        user=request.auth, article=obj, helpful=body.helpful, query=body.query, call_ref=body.call_ref
    )
    obj.refresh_from_db(fields=["helpful_count", "unhelpful_count"])
    return FeedbackOut(
        number=obj.number,
        helpful_count=obj.helpful_count,
        unhelpful_count=obj.unhelpful_count,
        helpfulness=round(obj.helpfulness, 3),
    )
