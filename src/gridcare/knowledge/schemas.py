from __future__ import annotations

import datetime as dt

from ninja import Field, Schema

from gridcare.core.validation import CleanLine, CleanText, Flag

from . import markup
from .models import Article


class ArticleHitOut(Schema):
    number: str
    title: str
    phrasings: list[str]
    category: str
    region: str | None
    customer_classes: list[str]
    version: int
    effective_from: dt.date
    expires_on: dt.date | None
    score: float
    helpfulness: float
    url: str

    @classmethod
    def from_hit(cls, article: Article, score: float) -> ArticleHitOut:
        return cls(
            number=article.number,
            title=article.title,
            phrasings=article.phrasing_list(),
            category=str(article.category),
            region=article.region.name if article.region is not None else None,
            customer_classes=article.class_codes(),
            version=article.version,
            effective_from=article.effective_from,
            expires_on=article.expires_on,
            score=round(score, 4),
            helpfulness=round(article.helpfulness, 3),
            url=f"/knowledge/a/{article.number}/",
        )


class SearchOut(Schema):
    query: str
    tokens: list[str]
    confident: bool
    results: list[ArticleHitOut]


class ArticleOut(ArticleHitOut):
    answer_text: str
    answer_html: str

    @classmethod
    def from_article(cls, article: Article) -> ArticleOut:
        base = ArticleHitOut.from_hit(article, 0.0).dict()
        return cls(
            **base,
            answer_text=markup.plain_text(article.answer),
            answer_html=str(markup.render(article.answer)),
        )


class FeedbackIn(Schema):
    helpful: Flag
    query: CleanText = Field("", max_length=200)
    call_ref: CleanLine = Field("", max_length=64)


class FeedbackOut(Schema):
    number: str
    helpful_count: int
    unhelpful_count: int
    helpfulness: float
