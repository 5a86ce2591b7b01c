"""Chinese search over served articles: segmentation → index query → re-ranking → fallback.

1. The question is segmented into canonical tokens (``text.tokens``: jieba + power dictionary +
   synonyms − filler words).
2. An OR query over those tokens runs against the index (``index.search``: FTS5 bm25 on SQLite,
   ts_rank over a GIN-indexed tsvector on PostgreSQL), already filtered to what the user may be
   served (published, in force today, applicable region and customer class); the best 60 come back.
3. They are re-ranked in Python the same way on both databases: the index's own score, the share
   of the question found in the article's *question and phrasings* (title hits weigh most), the
   share found anywhere in it, a small bonus for fresh articles and one for articles agents marked
   as helpful.
4. When the words find too little (fewer than 3 hits, or the best hit covers less than half of the
   question) the character-bigram index is asked as well, which catches typos (接梯电价) and
   words jieba splits oddly.

``confident`` is False when nothing covers at least half of the question: such queries are
logged as knowledge gaps by the page and the API.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from . import index, text
from .index import Filters

CANDIDATES = 60
# A token in more than this share of the index (and of at least COMMON_FLOOR articles) is left out
# of the index query when rarer tokens remain; it still counts in the re-ranking.
COMMON_SHARE = 0.05
COMMON_FLOOR = 500
MIN_HITS = 3
GOOD_COVERAGE = 0.5


@dataclass
class ScoredHit:
    article_id: int
    score: float
    coverage: float  # share of the question's weight found in the article
    title_coverage: float
    via: str  # "words" or "bigrams"
    meta: Meta | None = None


@dataclass
class Meta:
    effective_from: dt.date
    published_at: dt.date | None
    helpfulness: float
    regional: bool


def _as_date(value) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value.date() if isinstance(value, dt.datetime) else value
    return dt.date.fromisoformat(str(value)[:10])  # SQLite hands raw dates back as text


def _meta(c: index.Candidate) -> Meta:
    return Meta(
        effective_from=_as_date(c.effective_from) or dt.date.min,
        published_at=_as_date(c.published_at),
        helpfulness=(c.helpful + 1) / (c.helpful + c.unhelpful + 2),
        regional=c.region_id is not None,
    )


def _weight(token: str) -> float:
    # one-character tokens (交, 修, 表) say little on their own; longer power terms say most
    return 0.35 if len(token) == 1 else (1.0 if len(token) == 2 else 1.3)


def _coverage(tokens: list[str], found: set[str]) -> float:
    total = sum(_weight(t) for t in tokens)
    if not total:
        return 0.0
    return sum(_weight(t) for t in tokens if t in found) / total


def _freshness(meta: Meta | None, today: dt.date) -> float:
    if meta is None:
        return 1.0
    start = meta.published_at or meta.effective_from
    age_days = max(0, (today - start).days)
    return 1.0 + 0.08 * math.exp(-age_days / 365)


def _score_words(tokens: list[str], found: list[index.Candidate]) -> list[ScoredHit]:
    if not found:
        return []
    top = max(c.rank for c in found) or 1.0
    hits = []
    for c in found:
        head = set(c.index_title.split())
        everything = head | set(c.index_body.split())
        title_cov = _coverage(tokens, head)
        cov = _coverage(tokens, everything)
        score = 0.4 * (c.rank / top) + 0.4 * title_cov + 0.2 * cov
        hits.append(ScoredHit(c.article_id, score, cov, title_cov, "words", _meta(c)))
    return hits


def _score_grams(grams: list[str], found: list[index.Candidate]) -> list[ScoredHit]:
    if not found:
        return []
    top = max(c.rank for c in found) or 1.0
    hits = []
    for c in found:
        article_grams = set(text.bigrams(c.index_title.replace(" ", "")))
        share = len([g for g in grams if g in article_grams]) / max(1, len(grams))
        score = 0.75 * (0.5 * (c.rank / top) + 0.5 * share)
        hits.append(ScoredHit(c.article_id, score, share, share, "bigrams", _meta(c)))
    return hits


def retrieval_tokens(tokens: list[str], *, grams: bool = False) -> list[str]:
    """The tokens worth asking the index for: without the very common ones, unless nothing is left."""
    if len(tokens) <= 1:
        return tokens
    limit = max(COMMON_FLOOR, COMMON_SHARE * index.indexed_count())
    frequencies = {t: index.document_frequency(t, grams=grams) for t in tokens}
    rare = [t for t in tokens if frequencies[t] <= limit]
    if rare:
        return rare
    # only common words: keep the two rarest that occur at all
    return [t for _, t in sorted((f, t) for t, f in frequencies.items())[:2]]


def run(
    question: str,
    filters: Filters,
    *,
    limit: int = 10,
) -> tuple[list[ScoredHit], bool, list[str]]:
    """Best articles for ``question``: (hits, confident, tokens)."""
    tokens = text.unique_tokens(question)
    asked = retrieval_tokens(tokens)
    hits = _score_words(tokens, index.search(asked, filters, limit=CANDIDATES)) if asked else []
    best_cov = max((h.coverage for h in hits), default=0.0)
    if len(hits) < MIN_HITS or best_cov < GOOD_COVERAGE:
        grams = text.query_bigrams(question)
        asked_grams = retrieval_tokens(grams, grams=True)
        gram_hits = _score_grams(grams, index.search(asked_grams, filters, grams=True, limit=CANDIDATES))
        known = {h.article_id: h for h in hits}
        for g in gram_hits:
            word = known.get(g.article_id)
            if word is None:
                known[g.article_id] = g
            else:  # found both ways: the bigrams confirm a word hit whose words were mistyped
                word.score += 0.5 * g.score
                word.coverage = max(word.coverage, g.coverage)
        hits = list(known.values())
    if not hits:
        return [], False, tokens
    for h in hits:
        meta = h.meta
        h.score *= _freshness(meta, filters.today)
        if meta is not None:
            h.score *= 0.94 + 0.12 * meta.helpfulness
            if meta.regional:
                h.score *= 1.04
    hits.sort(key=lambda h: (-h.score, h.article_id))
    confident = hits[0].coverage >= GOOD_COVERAGE
    return hits[:limit], confident, tokens


__all__ = ["Filters", "Meta", "ScoredHit", "index", "run", "text"]
