"""Free-text search over everything in the catalog.

Each searchable thing has one row in ``search_entries`` (kind, ref, project, name,
description, tags text), written in the same transaction as the change it mirrors. On SQLite
an FTS5 table follows that row through triggers; on other databases a LIKE query stands in.
User input is always a *term*: it is split into words and every word is quoted, so FTS5
syntax (quotes, ``-``, ``*``, ``NEAR``, ``AND``...) is matched literally, never interpreted.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import column, delete, func, or_, select, table
from sqlalchemy.orm import Session

from eolab.access import Caller, find_project, membership, visible_project_ids
from eolab.catalog.models import Project, SearchEntry
from eolab.errors import InvalidInput

SCOPES: dict[str, tuple[str, ...]] = {
    "everything": (),
    "projects": ("project",),
    "datasets": ("dataset", "file"),
    "featurestore": ("featuregroup", "feature", "trainingdataset", "expectation"),
    "experiments": ("experiment",),
    "models": ("model",),
}
FIELDS = ("name", "description", "tags")
MAX_LIMIT = 500
_WORD = re.compile(r"\w+", re.UNICODE)
# How FTS5's unicode61 tokenizer cuts words: '_' separates, accents are folded.
_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
# The FTS5 mirror of search_entries (created by catalog.migrations on SQLite).
_FTS = table("search_fts", column("rowid"), column("rank"), column("search_fts"))


@dataclass(frozen=True)
class Highlight:
    """Where the term matched in one field: the field's text and [start, end) spans."""

    field: str
    text: str
    spans: list[tuple[int, int]]


@dataclass(frozen=True)
class SearchHit:
    kind: str
    ref: str
    project: str | None
    name: str
    description: str
    highlights: list[Highlight] = field(default_factory=list)


@dataclass(frozen=True)
class SearchResult:
    term: str
    scope: str
    total: int
    hits: list[SearchHit]

    def __str__(self) -> str:
        lines = [f"{self.total} hit(s) for {self.term!r} in {self.scope}"]
        lines += [f"  {h.kind:<16} {h.project or '':<20} {h.name}" for h in self.hits]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        from html import escape

        rows = "".join(
            f"<tr><td>{escape(h.kind)}</td><td>{escape(h.project or '')}</td>"
            f"<td>{escape(h.name)}</td><td>{escape(h.description[:80])}</td></tr>"
            for h in self.hits
        )
        return (
            f"<p>{self.total} hit(s) for <b>{escape(self.term)}</b> in {escape(self.scope)}</p>"
            f"<table><tr><th>kind</th><th>project</th><th>name</th><th>description</th></tr>"
            f"{rows}</table>"
        )


# ---- index maintenance (called inside the transaction of the change) -----------------------


def index(
    session: Session,
    kind: str,
    ref: str,
    project_id: int | None,
    name: str,
    description: str = "",
) -> None:
    """Add or refresh the entry of one searchable thing."""
    entry = session.scalar(
        select(SearchEntry).where(SearchEntry.kind == kind, SearchEntry.ref == ref)
    )
    if entry is None:
        session.add(
            SearchEntry(
                kind=kind, ref=ref, project_id=project_id, name=name, description=description
            )
        )
    else:
        entry.name, entry.description, entry.project_id = name, description, project_id
    session.flush()


def set_tags_text(session: Session, kind: str, ref: str, tags_text: str) -> None:
    entry = session.scalar(
        select(SearchEntry).where(SearchEntry.kind == kind, SearchEntry.ref == ref)
    )
    if entry is not None:
        entry.tags = tags_text
        session.flush()


def unindex(session: Session, kind: str, ref: str, prefix: bool = False) -> None:
    """Remove one entry, or (``prefix``) every entry whose ref starts with ``ref``."""
    cond = SearchEntry.ref.startswith(ref, autoescape=True) if prefix else SearchEntry.ref == ref
    session.execute(delete(SearchEntry).where(SearchEntry.kind == kind, cond))


def rename_ref(session: Session, kind: str, old: str, new: str, name: str) -> None:
    entry = session.scalar(
        select(SearchEntry).where(SearchEntry.kind == kind, SearchEntry.ref == old)
    )
    if entry is not None:
        entry.ref, entry.name = new, name
        session.flush()


# ---- queries -------------------------------------------------------------------------------


def words(term: str) -> list[str]:
    return _WORD.findall(term)


def fts_query(term: str) -> str:
    """An FTS5 MATCH expression that means 'all these words, as prefixes', nothing more."""
    return " ".join('"' + w.replace('"', '""') + '"*' for w in words(term))


def fold(word: str) -> str:
    """Lower-case without accents, as the index compares words."""
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _spans(text_: str, terms: list[str]) -> list[tuple[int, int]]:
    spans = []
    for match in _TOKEN.finditer(text_):
        token = fold(match.group())
        if any(token.startswith(t) for t in terms):
            spans.append((match.start(), match.end()))
    return spans


def _highlights(entry: SearchEntry, terms: list[str]) -> list[Highlight]:
    result = []
    for name in FIELDS:
        value = getattr(entry, name) or ""
        spans = _spans(value, terms)
        if spans:
            result.append(Highlight(name, value, spans))
    return result


def search(
    session: Session,
    caller: Caller,
    term: str,
    scope: str = "everything",
    project: str | None = None,
    limit: int = 20,
    offset: int = 0,
) -> SearchResult:
    """Hits for ``term`` that the caller may see, best first."""
    if not isinstance(term, str):
        raise InvalidInput(f"search term must be a string, got {type(term).__name__}")
    if scope not in SCOPES:
        raise InvalidInput(f"scope must be one of {list(SCOPES)}, got {scope!r}")
    if not (1 <= int(limit) <= MAX_LIMIT) or int(offset) < 0:
        raise InvalidInput(f"limit must be 1..{MAX_LIMIT} and offset >= 0, got {limit}, {offset}")
    visible = visible_project_ids(session, caller)
    if project is not None:
        proj = find_project(session, project)
        membership(session, caller, proj)
        visible = [proj.id]
    terms = [fold(t) for t in _TOKEN.findall(term)]
    if not terms or not visible:
        return SearchResult(term, scope, 0, [])
    filters = [SearchEntry.project_id.in_(visible)]
    if SCOPES[scope]:
        filters.append(SearchEntry.kind.in_(SCOPES[scope]))
    base = select(SearchEntry, Project.name).join(
        Project, Project.id == SearchEntry.project_id, isouter=True
    )
    if session.get_bind().dialect.name == "sqlite":
        matched = _FTS.c.search_fts.op("MATCH")(fts_query(term))
        base = base.join(_FTS, _FTS.c.rowid == SearchEntry.id).where(matched, *filters)
        counted = (
            select(func.count())
            .select_from(_FTS)
            .join(SearchEntry, _FTS.c.rowid == SearchEntry.id)
            .where(matched, *filters)
        )
        order: list[Any] = [_FTS.c.rank, SearchEntry.id]
    else:
        per_word = [
            or_(*(getattr(SearchEntry, f).ilike(f"%{w}%", escape="\\") for f in FIELDS))
            for w in (re.sub(r"([%_\\])", r"\\\1", t.lower()) for t in words(term))
        ]
        base = base.where(*per_word, *filters)
        counted = select(func.count()).select_from(SearchEntry).where(*per_word, *filters)
        order = [SearchEntry.kind, SearchEntry.name]
    total = session.scalar(counted) or 0
    rows = session.execute(base.order_by(*order).limit(int(limit)).offset(int(offset))).all()
    hits = [
        SearchHit(e.kind, e.ref, pname, e.name, e.description, _highlights(e, terms))
        for e, pname in rows
    ]
    return SearchResult(term, scope, total, hits)
