"""Full-text search over roles, skills and lessons.

SQLite (embedded mode): an FTS5 table mirrors ``SearchDocument`` and is
rebuilt after each import; results are ranked by bm25 with titles weighted
up. PostgreSQL: ``to_tsvector('english', title || body)`` with a GIN index,
ranked by ``ts_rank``. Both stem English words, so "churn" finds "churning".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import connection
from django.db.models import Q

from upskill.catalog.models import SearchDocument

MAX_QUERY_TERMS = 12
# The FTS5 table is created by migration catalog.0002; user input only ever
# travels as a bound parameter.
REBUILD_SQL = "INSERT INTO catalog_search_fts(catalog_search_fts) VALUES ('rebuild')"
SQLITE_SEARCH_SQL = (
    "SELECT d.kind, d.object_id, d.title, "
    "snippet(catalog_search_fts, 1, '', '', ' … ', 16) "
    "FROM catalog_search_fts JOIN catalog_searchdocument d ON d.id = catalog_search_fts.rowid "
    "WHERE catalog_search_fts MATCH %s ORDER BY bm25(catalog_search_fts, 8.0, 1.0) LIMIT %s"
)


@dataclass(frozen=True)
class Hit:
    kind: str
    object_id: int
    title: str
    snippet: str


def _terms(query: str) -> list[str]:
    return re.findall(r"\w+", query.lower())[:MAX_QUERY_TERMS]


def rebuild_index() -> None:
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute(REBUILD_SQL)


def search(query: str, *, limit: int = 30) -> list[Hit]:
    """Documents matching every word of ``query``, best first. Empty query, no hits."""
    terms = _terms(query)
    if not terms:
        return []
    if connection.vendor == "sqlite":
        return _search_sqlite(terms, limit)
    if connection.vendor == "postgresql":
        return _search_postgres(terms, limit)
    return _search_plain(terms, limit)


def _search_sqlite(terms: list[str], limit: int) -> list[Hit]:
    # Each term is quoted (no FTS syntax from users) and prefix-matched.
    match = " AND ".join('"' + term.replace('"', "") + '"*' for term in terms)
    with connection.cursor() as cursor:
        cursor.execute(SQLITE_SEARCH_SQL, [match, limit])
        return [Hit(*row) for row in cursor.fetchall()]


def _search_postgres(terms: list[str], limit: int) -> list[Hit]:
    tsquery = " & ".join(f"{term}:*" for term in terms)
    sql = (
        "SELECT kind, object_id, title, "
        "ts_headline('english', body, q, 'MaxWords=24, MinWords=10, StartSel=\"\", "
        "StopSel=\"\"') "
        "FROM catalog_searchdocument, to_tsquery('english', %s) q "
        "WHERE to_tsvector('english', title || ' ' || body) @@ q "
        "ORDER BY ts_rank(setweight(to_tsvector('english', title), 'A') || "
        "to_tsvector('english', body), q) DESC LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [tsquery, limit])
        return [Hit(*row) for row in cursor.fetchall()]


def _search_plain(terms: list[str], limit: int) -> list[Hit]:
    matches_all = Q()
    for term in terms:
        matches_all &= Q(title__icontains=term) | Q(body__icontains=term)
    documents = SearchDocument.objects.filter(matches_all)
    return [Hit(d.kind, d.object_id, d.title, d.body[:160]) for d in documents[:limit]]
