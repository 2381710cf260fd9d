"""The overdue dashboard: what needs acting on, for a team or a caseload.

Each table is one named query function on indexed due columns
(next_review_at, window_ends_at, Review.scheduled_at, and partial indexes on
unacknowledged breaches and copies; migration 0008), joined to the worker.
The page runs one statement for every table's count (`counts`), one per
table for its page of rows, and one for the children's names: never a query
per row.

Adding a table: write one query function taking `(p, visible)` (the
parameters and the scope condition) that selects its own columns followed by
`SHOWN`, and register it with `@dashboard_table(key, title, row=...)`. It
joins the grouped count and the page by itself. Values that change from one
request to the next (now, a bound, a team id) come from `p`, never from
Python arithmetic inside the function, so the SQL is generated once per kind
of query (tracker.prepared).
"""

from __future__ import annotations

import datetime as dt
from collections import namedtuple
from dataclasses import dataclass, field
from typing import Callable

import peewee
from peewee import JOIN, SQL, Case, Select, Value, fn

from tracker import settings
from tracker.db import database, planned_once
from tracker.models import (
    AgencyReport,
    Agreement,
    AgreementChild,
    Breach,
    Child,
    Notification,
    Recipient,
    Review,
    Team,
    User,
)
from tracker.notices import undeliverable as not_delivered
from tracker.people.access import scope_is_a_team, visibility
from tracker.prepared import Prepared

PAGE_SIZE = 20


@dataclass
class Filters:
    team: int | None = None
    worker: int | None = None
    kind: str | None = None

    def args(self) -> dict:
        return {k: v for k, v in {"team": self.team, "worker": self.worker, "kind": self.kind}.items() if v}


@dataclass
class Table:
    key: str
    title: str
    count: int
    rows: list
    page: int
    pages: int
    columns: list[str] = field(default_factory=list)


# --- rows: tuples shaped as the templates read them --------------------------------

Worker = namedtuple("Worker", "id name")
AgreementRow = namedtuple("AgreementRow", "id reference kind next_review_at window_ends_at social_worker_id social_worker")
ReviewRef = namedtuple("ReviewRef", "id scheduled_at")
Named = namedtuple("Named", "id name")

_worker = User.alias("worker")
# Only the columns the tables show: loading whole rows (41 columns, and the
# worker's password hash) was most of the page's time.
SHOWN = (Agreement.id, Agreement.reference, Agreement.kind, Agreement.next_review_at, Agreement.window_ends_at,
         Agreement.social_worker, _worker.name)


def _agreement(values: tuple) -> AgreementRow:
    *columns, worker_name = values
    worker_id = columns[5]
    return AgreementRow(*columns, Worker(worker_id, worker_name) if worker_id is not None else None)


def _row_type(name: str, fields: str, extra: dict | None = None):
    """A tuple of a table's own columns, then `agreement` (and any properties in `extra`)."""
    return type(name, (namedtuple(name + "Tuple", fields + " agreement"),), {"__slots__": (), **(extra or {})})


@dataclass
class Kind:
    key: str
    title: str
    query: Callable  # (p, visible) -> peewee query selecting the row's columns, then SHOWN
    row: type | None  # None: the row is the agreement itself
    any_status: bool = False  # visible whatever the record's status (drafts, awaiting), not only active
    team_copy: object = None  # a copy of the record's team on the table's own rows, tested beside the record's

    def read(self, p, shape: tuple):
        """The table's query for the rows the shape's user may see (its page and its count)."""
        return self.query(p, _visible(p, *shape, any_status=self.any_status, team_copy=self.team_copy))

    def make(self, values: tuple):
        if self.row is None:
            return _agreement(values)
        own = len(self.row._fields) - 1
        return self.row(*values[:own], _agreement(values[own:]))


KINDS: dict[str, Kind] = {}


def dashboard_table(key: str, title: str, row: type | None = None, any_status: bool = False, team_copy=None):
    def register(function):
        KINDS[key] = Kind(key, title, function, row, any_status, team_copy)
        return function

    return register


def _agreements(p, visible):
    return (Agreement.select(*SHOWN)
            .join(_worker, JOIN.LEFT_OUTER, on=(Agreement.social_worker == _worker.id))
            .where(visible))


# --- the tables, one query function each ----------------------------------------------

def _delegated(*names: str) -> dict:
    """Properties reading the agreement's columns, so a template reads `a.reference` on the row itself."""
    return {name: property(lambda self, name=name: getattr(self.agreement, name)) for name in names}


# The endorsement tables' rows: the record's progress columns, then SHOWN; the
# templates read every column on the row itself (`a.version`, `a.reference`).
ProgressRow = _row_type("ProgressRow", "status awaiting_since variation_status returned_at endorsed_at version updated_at",
                        _delegated(*AgreementRow._fields))
PROGRESS = (Agreement.status, Agreement.awaiting_since, Agreement.variation_status, Agreement.returned_at,
            Agreement.endorsed_at, Agreement.version, Agreement.updated_at)


def _progress(p, visible):
    return (Agreement.select(*PROGRESS, *SHOWN)
            .join(_worker, JOIN.LEFT_OUTER, on=(Agreement.social_worker == _worker.id))
            .where(visible))


@dashboard_table("endorsement_queue", "Waiting for your endorsement", row=ProgressRow, any_status=True)
def endorsement_queue(p, visible):
    """Records and variations waiting for endorsement: undertakings first, by the end of their window."""
    undertakings_first = Case(None, [(Agreement.kind == "undertaking", 0)], 1)
    return (_progress(p, visible)
            .where(Agreement.awaiting_since.is_null(False))
            .order_by(undertakings_first, Agreement.window_ends_at, Agreement.awaiting_since, Agreement.id))


@dashboard_table("my_drafts", "Your drafts, records awaiting endorsement and records returned to you",
                 row=ProgressRow, any_status=True)
def my_drafts(p, visible):
    """A worker's drafts, what waits for endorsement and what was returned, records and variations alike."""
    own = (Agreement.social_worker == p.user_id) | (
        Agreement.social_worker.is_null() & (Agreement.created_by == p.user_id))
    waiting = Agreement.status.in_(("draft", "awaiting_endorsement", "returned")) | (
        (Agreement.status == "active") & (Agreement.variation_status != ""))
    returned_first = Case(None, [((Agreement.status == "returned") | (Agreement.variation_status == "returned"), 0)], 1)
    return (_progress(p, visible)
            .where(own & waiting)
            .order_by(returned_first, Agreement.updated_at.desc(), Agreement.id))


@dashboard_table("overdue_reviews", "Overdue reviews")
def overdue_reviews(p, visible):
    return (_agreements(p, visible)
            .where((Agreement.kind == "partnership") & (Agreement.next_review_at < p.now))
            .order_by(Agreement.next_review_at, Agreement.id))


@dashboard_table("reviews_soon", "Reviews in the next 14 days")
def reviews_soon(p, visible):
    return (_agreements(p, visible)
            .where((Agreement.kind == "partnership") & (Agreement.next_review_at >= p.now)
                   & (Agreement.next_review_at < p.fortnight))
            .order_by(Agreement.next_review_at, Agreement.id))


@dashboard_table("undertakings", "Undertakings past their end or ending within 24 hours")
def undertakings(p, visible):
    return (_agreements(p, visible)
            .where((Agreement.kind == "undertaking") & (Agreement.window_ends_at < p.day_ahead))
            .order_by(Agreement.window_ends_at, Agreement.id))


# A review's and a breach's copy of its record's team (migration 0031, kept by triggers; the
# models do not name it): a team's reviews of the week and its unacknowledged breaches are
# read from their own indexes, where every such row of the service was read and then its
# record's team tested.
REVIEW_TEAM = peewee.IntegerField(column_name="team_id", null=True)
REVIEW_TEAM.bind(Review, "team_copy", set_attribute=False)
BREACH_TEAM = peewee.IntegerField(column_name="team_id", null=True)
BREACH_TEAM.bind(Breach, "team_copy", set_attribute=False)


@dashboard_table("breaches", "Breaches awaiting acknowledgement",
                 row=_row_type("BreachRow", "id created_at immediate_risk description"), team_copy=BREACH_TEAM)
def breaches(p, visible):
    return (Breach.select(Breach.id, Breach.created_at, Breach.immediate_risk, Breach.description, *SHOWN)
            .join(Agreement)
            .join(_worker, JOIN.LEFT_OUTER, on=(Agreement.social_worker == _worker.id))
            .where(Breach.acknowledged_at.is_null() & visible)
            .order_by(Breach.created_at, Breach.id))


@dashboard_table("missing_reports", "Agency reports missing for reviews in the next 7 days",
                 row=_row_type("MissingReportRow", "id name agency_name review_id scheduled_at", {
                     "review": property(lambda self: ReviewRef(self.review_id, self.scheduled_at))}),
                 team_copy=REVIEW_TEAM)
def missing_reports(p, visible):
    answered = AgencyReport.select(AgencyReport.id).where(
        (AgencyReport.review == Review.id) & (AgencyReport.recipient == Recipient.id))
    return (Recipient.select(Recipient.id, Recipient.name, Recipient.agency_name, Review.id, Review.scheduled_at,
                             *SHOWN)
            .join_from(Recipient, Review, on=(Review.agreement == Recipient.agreement))
            .join_from(Recipient, Agreement, on=(Recipient.agreement == Agreement.id))
            .join_from(Agreement, _worker, JOIN.LEFT_OUTER, on=(Agreement.social_worker == _worker.id))
            .where(visible & (Review.status == "scheduled") & (Review.scheduled_at >= p.now)
                   & (Review.scheduled_at < p.week_ahead) & Recipient.removed_at.is_null()
                   & ~fn.EXISTS(answered))
            .order_by(Review.scheduled_at, Recipient.id))


@dashboard_table("unacknowledged", "Copies not acknowledged",
                 row=_row_type("CopyRow", "id name agency_name copy_sent_at"))
def unacknowledged(p, visible):
    return (Recipient.select(Recipient.id, Recipient.name, Recipient.agency_name, Recipient.copy_sent_at, *SHOWN)
            .join(Agreement, on=(Recipient.agreement == Agreement.id))
            .join(_worker, JOIN.LEFT_OUTER, on=(Agreement.social_worker == _worker.id))
            .where(visible & Recipient.copy_sent_at.is_null(False)
                   & Recipient.acknowledged_at.is_null() & Recipient.removed_at.is_null())
            .order_by(Recipient.copy_sent_at, Recipient.id))


@dashboard_table("not_issued", "Endorsed but the family's copy not yet issued", row=ProgressRow)
def not_issued(p, visible):
    """Active records endorsed more than the service's days ago whose family copy is not recorded as issued."""
    return (_progress(p, visible)
            .where(Agreement.issued_at.is_null() & (Agreement.endorsed_at <= p.issue_by))
            .order_by(Agreement.endorsed_at, Agreement.id))


@dashboard_table("undeliverable", "Emails and text messages that could not be delivered",
                 row=_row_type("UndeliverableRow", "id kind to_label last_error created_at", {
                     "words": property(lambda self: not_delivered.words(self.to_label, self.kind, self.last_error))}))
def undeliverable_mail(p, visible):
    """Issue 20 (R18): a refused or given-up email about a record is a task for its worker and managers."""
    return (Notification.select(Notification.id, Notification.kind, Notification.to_label, Notification.last_error,
                                Notification.created_at, *SHOWN)
            .join(Agreement, on=(Notification.agreement == Agreement.id))
            .join(_worker, JOIN.LEFT_OUTER, on=(Agreement.social_worker == _worker.id))
            # A literal, not a parameter, so that a generic plan matches the partial index on
            # the failed messages too (migration 0030: SQLite read every message of the service).
            .where((Notification.status == SQL("'failed'")) & visible)
            .order_by(Notification.created_at, Notification.id))


TABLES = {key: kind.title for key, kind in KINDS.items()}
# Tables with their own partial, dashboard/_<key>.html.
OWN_PARTIALS = ("endorsement_queue", "my_drafts", "not_issued")

# The two columns after Record, Child and Social worker, as each table heads them
# on the screen; the CSV export uses the same names.
COLUMNS = {
    "overdue_reviews": ("Review", "When"),
    "reviews_soon": ("Review", "When"),
    "undertakings": ("Must end by", "When"),
    "breaches": ("Reported", "What happened"),
    "missing_reports": ("Review", "Agency"),
    "unacknowledged": ("Copy sent", "Agency"),
    "endorsement_queue": ("Waiting since", "What"),
    "my_drafts": ("Since", "Where it is"),
    "not_issued": ("Endorsed", "Version"),
    "undeliverable": ("Queued", "What went wrong"),
}


def _keys_for_role(role: str) -> list[str]:
    if role == "front_door":
        # Reads and acts on breaches and escalations; endorsing and issuing are not its work.
        return [k for k in KINDS if k not in ("endorsement_queue", "my_drafts", "not_issued")]
    if role == "social_worker":
        return [k for k in KINDS if k != "endorsement_queue"]
    return [k for k in KINDS if k != "my_drafts"]


def keys_for(user: User) -> list[str]:
    """The tables a person sees: a manager's endorsement queue first, a worker's own drafts first."""
    return _keys_for_role(user.role)


# --- scope, parameters and the prepared queries ---------------------------------------

@dataclass
class _Viewer:
    """A stand-in user for `visibility`: the role decides the shape, the ids are parameters."""

    role: str
    team_id: object
    id: object


def _shape(user: User, filters: Filters) -> tuple:
    return (user.role, user.team_id is None, bool(filters.team), bool(filters.worker), filters.kind)


def _values(user: User, filters: Filters, now: dt.datetime) -> dict:
    values = {"now": now, "fortnight": now + dt.timedelta(days=14), "day_ahead": now + dt.timedelta(hours=24),
              "week_ahead": now + dt.timedelta(days=7), "user_id": user.id,
              "issue_by": now - dt.timedelta(days=settings.get("issue_within_days"))}
    if user.team_id is not None:
        values["user_team"] = user.team_id
    if filters.team:
        values["team"] = filters.team
    if filters.worker:
        values["worker"] = filters.worker
    return values


def _visible(p, role: str, no_team: bool, team: bool, worker: bool, kind: str | None, any_status: bool = False,
             team_copy=None):
    """The condition for active records the user may see, narrowed by the filters.

    `any_status`: what the user may see whatever its status (the endorsement
    tables), narrowed by the filters; a worker's own are chosen by the table.
    `team_copy`: the table's copy of the record's team, which must then hold the
    same team as the record's (the scope's or the filter's), so that the planner
    can start from the team's own rows.
    """
    viewer = _Viewer(role, None if no_team else p.user_team, p.user_id)
    condition = visibility(viewer)
    if team_copy is not None and scope_is_a_team(viewer):
        condition &= team_copy == p.user_team
    if not any_status:
        condition &= Agreement.status == "active"
        if role == "social_worker":
            condition &= Agreement.social_worker == p.user_id
        if role == "front_door":
            # Its own work: records with no social worker, in every team.
            condition &= Agreement.social_worker.is_null()
    if team:
        condition &= Agreement.team == p.team
        if team_copy is not None:
            condition &= team_copy == p.team
    if worker:
        condition &= Agreement.social_worker == p.worker
    if kind in ("partnership", "undertaking"):
        condition &= Agreement.kind == kind
    return condition


def _page(key: str, everything: bool):
    def build(p, *shape):
        kind = KINDS[key]
        query = kind.read(p, shape).tuples()
        return query if everything else query.limit(p.limit).offset(p.offset)
    return Prepared(build)


_PAGES = {(key, everything): _page(key, everything) for key in KINDS for everything in (False, True)}


def _count_all(p, *shape):
    """Every table the role sees, counted in one statement: SELECT (SELECT COUNT(*) ...), (...)."""
    kinds = [KINDS[key] for key in _keys_for_role(shape[0])]
    return Select(columns=[
        kind.read(p, shape).order_by().select(fn.COUNT(SQL("*")))
        .alias(kind.key) for kind in kinds]).bind(database).tuples()


_COUNTS = Prepared(_count_all)


def counts(user: User, filters: Filters, now: dt.datetime) -> dict[str, int]:
    """How many rows each table has, in one statement."""
    (row,) = _COUNTS.execute(_shape(user, filters), **_values(user, filters, now))
    return dict(zip(keys_for(user), row, strict=True))


def rows(user: User, filters: Filters, key: str, now: dt.datetime, page: int = 1, everything: bool = False,
         empty: bool = False) -> list:
    """A table's page of rows (`empty`: the count said none, so LIMIT 0, read nothing)."""
    values = _values(user, filters, now)
    if not everything:
        values.update(limit=0 if empty else PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    kind = KINDS[key]
    return [kind.make(r) for r in _PAGES[key, everything].execute(_shape(user, filters), **values)]


def page_sql(user: User, filters: Filters, key: str, now: dt.datetime, page: int = 1) -> tuple[str, list]:
    """The SQL of one table's page and its values (for EXPLAIN in the tests)."""
    values = {**_values(user, filters, now), "limit": PAGE_SIZE, "offset": (page - 1) * PAGE_SIZE}
    return _PAGES[key, False].sql(_shape(user, filters), **values)


def count_sql(user: User, filters: Filters, now: dt.datetime) -> tuple[str, list]:
    return _COUNTS.sql(_shape(user, filters), **_values(user, filters, now))


def _pages(count: int, page: int) -> tuple[int, int]:
    pages = max(1, -(-count // PAGE_SIZE))
    return min(max(1, page), pages), pages


def table(user: User, filters: Filters, key: str, now: dt.datetime, page: int = 1, everything: bool = False) -> Table:
    found = rows(user, filters, key, now, everything=True) if everything else None
    count = len(found) if everything else counts(user, filters, now).get(key)
    if count is None:  # a table the user's page does not show (a CSV asked for by address)
        found = rows(user, filters, key, now, everything=True)
        count = len(found)
        found = found[(_pages(count, page)[0] - 1) * PAGE_SIZE:][:PAGE_SIZE]
    page, pages = _pages(count, page)
    if found is None:
        found = rows(user, filters, key, now, page) if count else []
    return Table(key, TABLES[key], count, found, page, pages)


# Tables whose rows have the same columns (AgreementRow) and are each in order of
# a moment and then the record's id: their pages are read in one statement.
TOGETHER = ("overdue_reviews", "reviews_soon", "undertakings")
# Whose dashboards run on generic plans (tracker.db.planned_once): nobody's. Measured on
# PostgreSQL 15, generic against per-request plans: at 1x the team manager's 21.9 / 27.2 ms
# (make bench) and the front door's 11.2 / 14.2, but the service manager's 173.6 / 45.0; at
# 10x the team manager's 131.2 / 38.6 ms (make bench, 2026-12-04). Generic plans cost
# `team_id = $n` and `moment < $n` for any value, which at 10x read far more than the team's rows.
# `make bench` still measures the team dashboard both ways (bench/run.py, with_plans).
GENERIC_PLANS_FOR: tuple[str, ...] = ()
# Whose grouped count alone runs on a generic plan. Once the team's reviews and breaches were
# read by their copies of the team (migration 0031), the count's plan no longer depended on
# the values, and planning it afresh each request (2 ms at 10x) cost more than its generic
# plan ran: PostgreSQL 15, the team manager's dashboard against the floor, 1x / 10x, per-request
# 2.47 / 2.47, the count generic 2.29 / 2.20, everything generic 1.84 / 4.57 (2026-12-07, kept
# seeds, 30 interleaved rounds). Measured the same way, the front door's is better generic
# too (1.56 / 2.01 against 2.00 / 2.46) but grows more (1.29 against 1.23), and the service
# manager's much worse (7.2 / 46 against 4.8 / 27): both stay per request.
GENERIC_COUNTS_FOR: tuple[str, ...] = ("team_manager",)


def _together(p, keys: tuple[str, ...], *shape):
    """Each table's page (its own query, order, limit and offset), tagged with its
    place in `keys`, joined by UNION ALL and read back in each table's own order."""
    pages = None
    for i, key in enumerate(keys):
        kind = KINDS[key]
        query = kind.read(p, shape)
        moment = query._order_by[0]  # the table's moment; its order ends with the record's id
        page = (query.select_extend(Value(i).alias("place"), moment.alias("moment"))
                .limit(getattr(p, f"limit{i}")).offset(getattr(p, f"offset{i}")))
        page = Select([page.alias(f"page{i}")], [SQL("*")])
        pages = page if pages is None else pages + page
    return pages.order_by(SQL('"place"'), SQL('"moment"'), SQL('"id"')).bind(database).tuples()


_TOGETHER = Prepared(_together)
# Read through a subquery, the columns come back without peewee's conversions
# (SQLite gives moments as text): each is converted as its field would.
_CONVERT = [getattr(column, "python_value", None) for column in SHOWN]


def rows_together(user: User, filters: Filters, pages: dict[str, int], now: dt.datetime,
                  empty: frozenset[str] = frozenset()) -> dict[str, list]:
    """The pages of several TOGETHER tables ({key: page}) in one statement (those in
    `empty`, whose count said none, with LIMIT 0)."""
    keys = tuple(pages)
    values = _values(user, filters, now)
    for i, key in enumerate(keys):
        values.update({f"limit{i}": 0 if key in empty else PAGE_SIZE, f"offset{i}": (pages[key] - 1) * PAGE_SIZE})
    found: dict[str, list] = {key: [] for key in keys}
    for *columns, place, _moment in _TOGETHER.execute((keys, *_shape(user, filters)), **values):
        converted = tuple(value if value is None or convert is None else convert(value)
                          for convert, value in zip(_CONVERT, columns, strict=True))
        found[keys[place]].append(_agreement(converted))
    return found


def tables(user: User, filters: Filters, now: dt.datetime, pages: dict[str, int] | None = None) -> list[Table]:
    """Every table: one statement for the counts, one for the TOGETHER tables' pages,
    then one per other table. Each table's page is asked for even when its count is
    nought, so the page runs the same statements whatever the service holds (issue 24:
    skipping empty tables made the count differ with the data, 1 or 2 a dashboard),
    but with LIMIT 0: an empty table's ordered query, with no row to stop it early,
    read every candidate (the front door's overdue reviews 1 -> 11.7 ms at 10x)."""
    pages = pages or {}
    out = []
    generic = user.role in GENERIC_PLANS_FOR
    with planned_once(generic=generic):  # see GENERIC_PLANS_FOR
        with planned_once(generic=not generic and user.role in GENERIC_COUNTS_FOR):
            counted = counts(user, filters, now)
        placed = {key: _pages(count, pages.get(key, 1)) for key, count in counted.items()}
        together = {key: placed[key][0] for key in TOGETHER if key in counted}
        empty = frozenset(key for key, count in counted.items() if not count)
        found = rows_together(user, filters, together, now, empty) if len(together) > 1 else {}
        for key, count in counted.items():
            page, last = placed[key]
            shown = found[key] if key in found else rows(user, filters, key, now, page, empty=not count)
            out.append(Table(key, TABLES[key], count, shown, page, last))
    return out


def agreement_of(row):
    """The agreement a dashboard row is about, whatever the table."""
    return row if isinstance(row, (Agreement, AgreementRow, ProgressRow)) else row.agreement


def _children(p, size: int):
    return (AgreementChild.select(AgreementChild.agreement, Child.name)
            .join(Child)
            .where(AgreementChild.agreement.in_([getattr(p, f"a{i}") for i in range(size)])
                   & AgreementChild.removed_at.is_null())
            .order_by(AgreementChild.position)
            .tuples())


_CHILDREN = Prepared(_children)


def children_names(agreement_ids: list[int], always: bool = False) -> dict[int, str]:
    """Children's names for many records in one query (`always`: even for no records,
    so a dashboard's statements do not depend on whether its tables have rows)."""
    if not agreement_ids and not always:
        return {}
    ids = list(dict.fromkeys(agreement_ids))
    names: dict[int, list[str]] = {}
    for agreement_id, name in _CHILDREN.execute((len(ids),), **{f"a{i}": v for i, v in enumerate(ids)}):
        names.setdefault(agreement_id, []).append(name)
    return {k: ", ".join(v) for k, v in names.items()}


def _workers(p, whole_service: bool):
    query = User.select(User.id, User.name).where(User.role.in_(("social_worker", "team_manager"))
                                                  & (User.active == True))  # noqa: E712
    if not whole_service:
        query = query.where(User.team == p.team)
    return query.order_by(User.name).tuples()


_WORKERS = Prepared(_workers)
_TEAMS = Prepared(lambda p: Team.select(Team.id, Team.name).order_by(Team.name).tuples())


def workers(user: User) -> list[Named]:
    """The social worker filter's choices: the user's team, or everyone for a service manager."""
    if user.role == "service_manager":
        return [Named(*r) for r in _WORKERS.execute((True,))]
    if user.team_id is None:
        return [Named(*r) for r in _WORKERS.execute((False,), team=-1)]
    return [Named(*r) for r in _WORKERS.execute((False,), team=user.team_id)]


def teams() -> list[Named]:
    return [Named(*r) for r in _TEAMS.execute()]


def time_left(moment: dt.datetime | None, now: dt.datetime) -> str:
    """"5 hours left", "2 days left", "past its end": how long an undertaking's window has."""
    if moment is None:
        return ""
    seconds = (moment - now).total_seconds()
    if seconds <= 0:
        return "past its end"
    hours = int(seconds // 3600)
    if hours < 72:
        return f"{hours} hour{'s' if hours != 1 else ''} left" if hours else "less than an hour left"
    return f"{hours // 24} days left"


def overdue_by(moment: dt.datetime | None, now: dt.datetime) -> str:
    """"3 days overdue", "due in 2 days", "due today", in whole London-agnostic days."""
    if moment is None:
        return ""
    delta = moment - now
    if delta.total_seconds() < 0:
        days = (-delta).days
        if days == 0:
            hours = int((-delta).total_seconds() // 3600)
            return f"{hours} hour{'s' if hours != 1 else ''} overdue" if hours else "overdue"
        return f"{days} day{'s' if days != 1 else ''} overdue"
    days = delta.days
    if days == 0:
        hours = int(delta.total_seconds() // 3600)
        return f"due in {hours} hour{'s' if hours != 1 else ''}" if hours else "due now"
    return f"due in {days} day{'s' if days != 1 else ''}"
