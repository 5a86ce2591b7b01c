"""The full-text index of served articles, on SQLite FTS5 or PostgreSQL tsvector + GIN.

Both hold the same three fields, made of pre-segmented canonical tokens (``text.tokens``):

- ``head``: the standard question, its common phrasings and keywords (ranked highest);
- ``body``: the answer text and the category names;
- ``grams``: Chinese character bigrams of the head (the typo fallback).

SQLite: the FTS5 table ``knowledge_article_fts(head, body, grams)`` keyed by the article id
(rowid). PostgreSQL: ``knowledge_article.search_vector`` (head weight A, body weight C, 'simple'
configuration over the space-separated tokens) and ``gram_vector``, each with a GIN index.
Only published articles are in the index; expiry dates and regions are filtered at query time.
"""

# ruff: noqa: S608  -- only module constants are interpolated; every value is a bound parameter

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import connection

from gridcare.core.memo import Memo

from . import text

FTS_TABLE = "knowledge_article_fts"

# bm25 column weights (head, body, grams) on SQLite; ts_rank weights {D, C, B, A} on PostgreSQL.
SQLITE_WEIGHTS = (5.0, 1.0, 0.0)
PG_WEIGHTS = "{0.05, 0.25, 0.5, 1.0}"


@dataclass
class Document:
    head: str
    body: str
    grams: str


def document_for(*, title: str, phrasings: str, keywords: str, answer_text: str, category: str) -> Document:
    head_source = "\n".join([title, phrasings, keywords])
    return Document(
        head=" ".join(text.tokens(head_source)),
        body=" ".join(text.tokens(answer_text + "\n" + category)),
        grams=" ".join(dict.fromkeys(text.bigrams(title + "\n" + phrasings))),
    )


def write(article_id: int, doc: Document) -> None:
    """Put (or replace) one article in the index."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "UPDATE knowledge_article SET "
                "search_vector = setweight(to_tsvector('simple', %s), 'A') || setweight(to_tsvector('simple', %s), 'C'), "
                "gram_vector = to_tsvector('simple', %s) WHERE id = %s",
                [doc.head, doc.body, doc.grams, article_id],
            )
        else:
            cursor.execute(f"DELETE FROM {FTS_TABLE} WHERE rowid = %s", [article_id])
            cursor.execute(
                f"INSERT INTO {FTS_TABLE} (rowid, head, body, grams) VALUES (%s, %s, %s, %s)",
                [article_id, doc.head, doc.body, doc.grams],
            )


def remove(article_id: int) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "UPDATE knowledge_article SET search_vector = NULL, gram_vector = NULL WHERE id = %s",
                [article_id],
            )
        else:
            cursor.execute(f"DELETE FROM {FTS_TABLE} WHERE rowid = %s", [article_id])


@dataclass
class Filters:
    """Which served articles a query may return (computed by ``queries`` from the user's scope)."""

    today: dt.date
    # None = every region; otherwise region IS NULL or in these ids or under these unit paths
    region_ids: list[int] | None = None
    region_paths: list[str] = field(default_factory=list)
    customer_class: str = ""


@dataclass
class Candidate:
    article_id: int
    rank: float
    index_title: str
    index_body: str
    # for re-ranking (fetched with the match, to save a query)
    effective_from: dt.date | str | None = None
    published_at: dt.datetime | str | None = None
    helpful: int = 0
    unhelpful: int = 0
    region_id: int | None = None


def _where(filters: Filters, alias: str = "a") -> tuple[str, list]:
    sql = [
        f"{alias}.status = 'published'",
        f"{alias}.effective_from <= %s",
        f"({alias}.expires_on IS NULL OR {alias}.expires_on > %s)",
    ]
    params: list = [filters.today, filters.today]
    if filters.region_ids is not None:
        region = [f"{alias}.region_id IS NULL"]
        if filters.region_ids:
            region.append(f"{alias}.region_id IN ({', '.join(['%s'] * len(filters.region_ids))})")
            params.extend(filters.region_ids)
        if filters.region_paths:
            likes = " OR ".join(["u.path LIKE %s"] * len(filters.region_paths))
            region.append(f"{alias}.region_id IN (SELECT u.id FROM org_unit u WHERE {likes})")
            params.extend(p + "%" for p in filters.region_paths)
        sql.append("(" + " OR ".join(region) + ")")
    if filters.customer_class:
        sql.append(f"({alias}.customer_classes = '' OR {alias}.customer_classes LIKE %s)")
        params.append(f"%,{filters.customer_class},%")
    return " AND ".join(sql), params


def _fts5_phrase(token: str) -> str:
    return '"' + token.replace('"', "") + '"'


def match_expression(tokens: list[str], *, grams: bool = False) -> str:
    """The MATCH / tsquery text for an OR over ``tokens`` (exposed for the benchmark's control)."""
    if connection.vendor == "postgresql":
        return " | ".join("'" + t.replace("'", "") + "'" for t in tokens)
    columns = "grams" if grams else "{head body}"
    return f"{columns} : (" + " OR ".join(_fts5_phrase(t) for t in tokens) + ")"


_EXTRA = "a.effective_from, a.published_at, a.helpful_count, a.unhelpful_count, a.region_id"


def build_query(
    tokens: list[str], filters: Filters, *, grams: bool = False, limit: int = 60
) -> tuple[str, list]:
    """The SQL and parameters of one index query (the benchmark's control issues it as is)."""
    where, params = _where(filters)
    expression = match_expression(tokens, grams=grams)
    if connection.vendor == "postgresql":
        column = "gram_vector" if grams else "search_vector"
        sql = (
            f"SELECT a.id, ts_rank('{PG_WEIGHTS}', a.{column}, q, 1) AS rank, a.index_title, a.index_body, {_EXTRA} "
            f"FROM knowledge_article a, to_tsquery('simple', %s) q "
            f"WHERE a.{column} @@ q AND {where} ORDER BY rank DESC, a.id LIMIT %s"
        )
    else:
        weights = ", ".join(str(w) for w in ((0.0, 0.0, 1.0) if grams else SQLITE_WEIGHTS))
        sql = (
            f"SELECT a.id, -bm25({FTS_TABLE}, {weights}) AS rank, a.index_title, a.index_body, {_EXTRA} "
            f"FROM {FTS_TABLE} JOIN knowledge_article a ON a.id = {FTS_TABLE}.rowid "
            f"WHERE {FTS_TABLE} MATCH %s AND {where} ORDER BY rank DESC, a.id LIMIT %s"
        )
    return sql, [expression, *params, limit]


def search(tokens: list[str], filters: Filters, *, grams: bool = False, limit: int = 60) -> list[Candidate]:
    """Served articles matching any of ``tokens``, best ranked first (higher rank = better)."""
    if not tokens:
        return []
    sql, args = build_query(tokens, filters, grams=grams, limit=limit)
    with connection.cursor() as cursor:
        cursor.execute(sql, args)
        return [Candidate(row[0], float(row[1]), *row[2:]) for row in cursor.fetchall()]


# Document frequencies, cached per process: a token found in a large share of the index (停电 in
# thousands of local outage notices) says little about which article answers a question, yet
# ranking every row it matches is what makes a query slow. ``df`` counts through the index itself.
_frequencies: Memo[int] = Memo(600, max_size=50_000)


def _db_key() -> str:
    return f"{connection.alias}:{connection.settings_dict.get('NAME', '')}"


def document_frequency(token: str, *, grams: bool = False) -> int:
    return _frequencies.get((_db_key(), ("g:" if grams else "w:") + token), lambda: _count_matching(token))


def _count_matching(token: str) -> int:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT count(*) FROM knowledge_article WHERE search_vector @@ to_tsquery('simple', %s)",
                [match_expression([token])],
            )
        else:
            cursor.execute(
                f"SELECT count(*) FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s", [match_expression([token])]
            )
        return int(cursor.fetchone()[0])


def indexed_count() -> int:
    return _frequencies.get((_db_key(), "\x00count"), _count_indexed)


def _count_indexed() -> int:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT count(*) FROM knowledge_article WHERE search_vector IS NOT NULL")
        else:
            cursor.execute(f"SELECT count(*) FROM {FTS_TABLE}")
        return int(cursor.fetchone()[0])


def forget_frequencies() -> None:
    _frequencies.forget()


def indexed_ids() -> set[int]:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT id FROM knowledge_article WHERE search_vector IS NOT NULL")
        else:
            cursor.execute(f"SELECT rowid FROM {FTS_TABLE}")
        return {row[0] for row in cursor.fetchall()}
