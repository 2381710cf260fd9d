"""The register's search: records whose reference, or one of whose children's names,
contains what was typed, found through an index (issue 24), never by reading
every child and every record.

SQLite: the FTS5 trigram tables of migration 0022 (child_search, agreement_search),
asked for the typed text as a phrase, which the trigram tokenizer answers as a
substring match, case-insensitively. Three characters are the fewest a trigram
can find; shorter text (typed, or once normalised: '__a' is 'a') is matched by LIKE on the records' and children's columns
(a scan, but of two characters no index could narrow much anyway).
PostgreSQL: ILIKE '%q%' (LIKE on the normalised column), which the pg_trgm GIN indexes of 0022 answer.

Inside one team (a team manager's or worker's register): the team's own links, whose
copies of their child's names (migration 0028) sit under an index by team, read by
LIKE from that index alone; references as above.

`agreement_ids(q)` is a subquery of the matching records' ids; the register
narrows its visible records by it (or by `narrow`'s team look-up), so scope
(tracker.people.access) still decides what is shown.
"""

from __future__ import annotations

import operator
from functools import reduce

import peewee
from peewee import SQL, NodeList

from tracker.db import database
from tracker.models import Agreement, AgreementChild, Child
from tracker.records.identity import normalise_name

TRIGRAM = 3


def _phrase(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _fts(table: str, column: str, text: str) -> peewee.Select:
    """rowids of an FTS5 trigram table whose column contains `text` (as a phrase)."""
    return (peewee.Table(table).select(SQL("rowid"))
            .where(NodeList((SQL(f"{table} MATCH"), f"{column} : {_phrase(text)}"))))


def _by_children(child_ids) -> peewee.Select:
    return (AgreementChild.select(AgreementChild.agreement)
            .where(AgreementChild.child.in_(child_ids) & AgreementChild.removed_at.is_null()))


def _like(column, text: str, normalised: bool):
    """`column` contains `text`. A normalised column is compared with a normalised text
    (lower case, letters, digits and single spaces, so no LIKE wildcard): a plain LIKE,
    not ILIKE. The column is lower case already, and on PostgreSQL ILIKE costs 4.5x LIKE
    per row (40 against 9 ms over 60,000 children); pg_trgm's index answers either."""
    return NodeList((column, SQL("LIKE"), f"%{text}%")) if normalised else column.contains(text)


def _child_texts(q: str, normalised: str) -> list[tuple[str, str]]:
    """Which of a child's columns to look in, and for what text: (column, text) pairs, any
    of which matching is a match. Plain letters, digits and single spaces: a name holding
    them holds them once normalised too, so the normalised column alone answers."""
    if q.isascii() and normalised == q.lower():
        return [("normalised_name", normalised)]
    return [("name", q)] + ([("normalised_name", normalised)] if normalised else [])


# A link's copies of its record's team and its child's name and normalised name
# (migration 0028, kept by triggers; the model does not name them).
TEAM_COPY = peewee.Table("agreement_child", ("agreement_id", "team_id", "child_name", "child_normalised_name",
                                             "removed_at"))


def _holds(column: str, text: str, copy: bool = False):
    """A child's `column` contains `text`: the child row's own, or (`copy`) a link's copy of it."""
    node = getattr(TEAM_COPY, f"child_{column}") if copy else getattr(Child, column)
    return _like(node, text, column == "normalised_name")


def _trigrams(q: str, normalised: str) -> bool:
    """SQLite's trigram index can find `q` (and its normalised form, where it has one)."""
    return isinstance(database.obj, peewee.SqliteDatabase) and len(q) >= TRIGRAM and (
        not normalised or len(normalised) >= TRIGRAM)


def _references(q: str, normalised: str) -> peewee.Select:
    """The ids of records whose reference contains `q`, from the trigram index where it
    can answer (FTS5 on SQLite; pg_trgm's on PostgreSQL answers the LIKE)."""
    if _trigrams(q, normalised):
        return _fts("agreement_search", "reference", q)
    return Agreement.select(Agreement.id).where(Agreement.reference.contains(q))


def agreement_ids(q: str) -> peewee.Select:
    """A subquery: the ids of records whose reference or a live child's name contains `q`."""
    normalised = normalise_name(q)
    texts = _child_texts(q, normalised)
    if _trigrams(q, normalised):
        children = reduce(operator.or_, (_fts("child_search", column, text) for column, text in texts))
    else:
        # UNIONs of indexed look-ups: an OR across columns and tables would read every row.
        children = reduce(operator.or_, (Child.select(Child.id).where(_holds(column, text)) for column, text in texts))
    return _by_children(children) | _references(q, normalised)


def _within_team(team_id: int, q: str) -> peewee.Expression:
    """Records of one team whose reference or a live child's name holds `q`, read from
    the team's own links alone (their copies of the child's name, under an index by team):
    as many index entries as the team's caseload, never the service's matches (a common
    surname matched 1 child in 40 in the whole service, 15,000 at 10x, to find the team's
    few dozen) and never a child row."""
    normalised = normalise_name(q)
    matches = reduce(operator.or_, (_holds(column, text, copy=True) for column, text in _child_texts(q, normalised)))
    links = (TEAM_COPY.select(TEAM_COPY.agreement_id)
             .where((TEAM_COPY.team_id == team_id) & TEAM_COPY.removed_at.is_null() & matches))
    # One IN of a UNION: `OR reference LIKE` beside it read every record of the team
    # (16 ms of a 23 ms page at 10x); the union is 0.8 ms, its few ids read by key.
    return Agreement.id.in_(links | _references(q, normalised))


def narrow(query: peewee.Select, q: str, team_id: int | None = None) -> peewee.Select:
    """`query` (of records) narrowed to those whose reference or a child's name holds `q`.

    `team_id`: the reader sees one team's records (access.scope_is_a_team), whose links
    are read from their index by team (`_within_team`). Across the service, the trigram
    index look-up (`agreement_ids`).
    """
    if team_id is not None:
        return query.where(_within_team(team_id, q))  # `query` holds the scope rule's team already
    return query.where(Agreement.id.in_(agreement_ids(q)))


def forget_deleted() -> None:
    """SQLite: merge the child search index's segments after children are deleted.

    FTS5 records a deletion as a marker in a new segment; the deleted name's
    trigrams stay in the older one until a merge. 'optimize' merges every segment
    into one, so the trigrams go, and the database's secure_delete overwrites the
    freed pages: a destroyed record is not readable from a copy of the file.
    PostgreSQL's GIN index drops dead entries at VACUUM, which autovacuum runs.
    """
    if isinstance(database.obj, peewee.SqliteDatabase):
        database.execute_sql("INSERT INTO child_search(child_search) VALUES ('optimize')")
