"""Figures per team for service managers: plain functions of `now`, no Flask.

Each figure is one aggregate query grouped by team, so the cost grows with the
number of teams and of rows in the window, never with a loop over the whole
register. Definitions:

- Active agreements and undertakings: records in status "active", by kind.
- Reviews due: reviews whose date falls in the last 3 months (from `now`
  minus 3 calendar months to `now`), other than cancelled ones (a review is
  cancelled when its record ends or moves on).
- Held on time: a due review with status "held" whose `held_on` date is no
  later than the review's date in Europe/London. The share is held on time
  divided by due; blank when nothing was due.
- Overdue now: active partnership agreements whose next review date has passed;
  the median counts whole days overdue. Only the overdue rows are read (by the
  indexed `next_review_at`); the median is taken in Python because SQLite has
  no median aggregate.
- Breaches per active record: breaches logged against the records active now,
  divided by the number of those records (agreements and undertakings).
- Warning signs: `tracker.records.warnings.signs_for` over the active records, counted
  by kind: kept between requests by `tracker.records.sign_store`, which works out only
  what changed, and counted in SQL for the signs that move with the clock.
- On time by month: the same measure for each of the last 6 calendar months in
  London (the current month counts up to `now`), service-wide and per team.
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass, field

from peewee import SQL, Case, Cast, NodeList, PostgresqlDatabase, fn

from tracker import rules
from tracker.clock import from_london, london_naive
from tracker.db import database
from tracker.models import Agreement, Breach, Review, Team
from tracker.records import sign_store, warnings

LONDON_UTC_OFFSET_HOURS = 1  # British Summer Time; Greenwich Mean Time is UTC itself.
ON_TIME_MONTHS = 6
DUE_WINDOW_MONTHS = 3


@dataclass
class Month:
    """Reviews due in one London calendar month, and how many were held on time."""

    start: dt.date
    due: int = 0
    on_time: int = 0

    @property
    def label(self) -> str:
        return f"{self.start:%B %Y}"

    @property
    def short_label(self) -> str:
        return f"{self.start:%b %Y}"

    @property
    def share(self) -> float | None:
        return self.on_time / self.due if self.due else None


@dataclass
class TeamFigures:
    team_id: int | None
    name: str
    active_agreements: int = 0
    active_undertakings: int = 0
    reviews_due: int = 0
    reviews_on_time: int = 0
    overdue_days: list[int] = field(default_factory=list)
    breaches: int = 0
    signs: dict[str, int] = field(default_factory=lambda: dict.fromkeys(warnings.KINDS, 0))
    months: list[Month] = field(default_factory=list)

    @property
    def active(self) -> int:
        return self.active_agreements + self.active_undertakings

    @property
    def on_time_share(self) -> float | None:
        return self.reviews_on_time / self.reviews_due if self.reviews_due else None

    @property
    def overdue(self) -> int:
        return len(self.overdue_days)

    @property
    def median_days_overdue(self) -> float | None:
        return statistics.median(self.overdue_days) if self.overdue_days else None

    @property
    def breaches_per_active(self) -> float | None:
        return self.breaches / self.active if self.active else None

    @property
    def signs_total(self) -> int:
        return sum(self.signs.values())


@dataclass
class Figures:
    now: dt.datetime
    due_from: dt.datetime
    teams: list[TeamFigures]
    total: TeamFigures


def months_back(now: dt.datetime, count: int) -> list[dt.date]:
    """The first days of the last `count` London calendar months, oldest first."""
    today = _london(now).date().replace(day=1)
    return [rules.add_months(today, -offset) for offset in range(count - 1, -1, -1)]


def figures(now: dt.datetime) -> Figures:
    """Every figure on the service view, per team and for the whole service."""
    teams = {t.id: TeamFigures(t.id, t.name) for t in Team.select().order_by(Team.name)}
    month_starts = months_back(now, ON_TIME_MONTHS)
    for team in teams.values():
        team.months = [Month(start) for start in month_starts]

    def of(team_id: int) -> TeamFigures:
        # A team added between two queries still gets a row rather than a KeyError.
        if team_id not in teams:
            teams[team_id] = TeamFigures(team_id, f"Team {team_id}", months=[Month(s) for s in month_starts])
        return teams[team_id]

    # Active records by team and kind.
    active = (
        Agreement.select(Agreement.team, Agreement.kind, fn.COUNT(Agreement.id))
        .where(Agreement.status == "active")
        .group_by(Agreement.team, Agreement.kind)
        .tuples()
    )
    for team_id, kind, count in active:
        if kind == "partnership":
            of(team_id).active_agreements = count
        elif kind == "undertaking":
            of(team_id).active_undertakings = count

    # Reviews due in the last 3 months, and those held on time.
    due_from = _months_before(now, DUE_WINDOW_MONTHS)
    for team_id, due, on_time in _reviews_due(due_from, now, group=()):
        of(team_id).reviews_due, of(team_id).reviews_on_time = due, int(on_time or 0)

    # Reviews overdue now: only the overdue rows, found by the indexed column.
    overdue = (
        Agreement.select(Agreement.team, Agreement.next_review_at)
        .where(
            (Agreement.status == "active")
            & (Agreement.kind == "partnership")
            & (Agreement.next_review_at < now)
        )
        .tuples()
    )
    for team_id, next_review_at in overdue:
        of(team_id).overdue_days.append((now - next_review_at).days)

    # Breaches against the records active now.
    breaches = (
        Breach.select(Agreement.team, fn.COUNT(Breach.id))
        .join(Agreement, on=(Breach.agreement == Agreement.id))
        .where(Agreement.status == "active")
        .group_by(Agreement.team)
        .tuples()
    )
    for team_id, count in breaches:
        of(team_id).breaches = count

    # Warning signs over the active records: those kept by sign_store, brought up to
    # date first, and those that move with the clock counted in SQL (issue 24).
    sign_store.refresh_stored(now)
    for team_id, key, count in sign_store.stored_counts():
        of(team_id).signs[key] = count
    for team_id, *counts in sign_store.timed_counts(now):
        for key, count in zip(sign_store.TIMED, counts, strict=True):
            of(team_id).signs[key] = int(count or 0)

    # Reviews held on time, month by month.
    month_start = _london_midnight(month_starts[0])
    bucket = _month_bucket(Review.scheduled_at, month_starts)
    index = {start.isoformat(): i for i, start in enumerate(month_starts)}
    for team_id, month, due, on_time in _reviews_due(month_start, now, group=(bucket,)):
        if month in index:
            entry = of(team_id).months[index[month]]
            entry.due, entry.on_time = due, int(on_time or 0)

    ordered = sorted(teams.values(), key=lambda t: t.name.lower())
    return Figures(now=now, due_from=due_from, teams=ordered, total=_total(ordered, month_starts))


def _total(teams: list[TeamFigures], month_starts: list[dt.date]) -> TeamFigures:
    total = TeamFigures(None, "All teams", months=[Month(start) for start in month_starts])
    for team in teams:
        total.active_agreements += team.active_agreements
        total.active_undertakings += team.active_undertakings
        total.reviews_due += team.reviews_due
        total.reviews_on_time += team.reviews_on_time
        total.overdue_days.extend(team.overdue_days)
        total.breaches += team.breaches
        for key, count in team.signs.items():
            total.signs[key] += count
        for mine, theirs in zip(total.months, team.months, strict=True):
            mine.due += theirs.due
            mine.on_time += theirs.on_time
    return total


def _reviews_due(start: dt.datetime, end: dt.datetime, group: tuple):
    """(team, *group, due, held on time) for reviews dated in [start, end], grouped in SQL."""
    on_time = Case(
        None,
        [(((Review.status == "held") & (Review.held_on <= _london_date(Review.scheduled_at, start, end))), 1)],
        0,
    )
    return (
        Review.select(Agreement.team, *group, fn.COUNT(Review.id), fn.SUM(on_time))
        .join(Agreement, on=(Review.agreement == Agreement.id))
        .where(
            (Review.scheduled_at >= start)
            & (Review.scheduled_at <= end)
            & (Review.status != "cancelled")
        )
        # By position: PostgreSQL binds parameters on the server, so a grouped
        # expression with parameters would not match its twin in the select list.
        .group_by(*(SQL(str(i + 1)) for i in range(1 + len(group))))
        .tuples()
    )


# --- London time in SQL ---------------------------------------------------------
#
# Times are stored as naive UTC. PostgreSQL converts them with AT TIME ZONE;
# SQLite has no time zones, so the summer-time intervals that overlap the window
# are passed in as parameters and the date is taken an hour later inside them.


def _london(moment: dt.datetime) -> dt.datetime:
    return london_naive(moment)


def _london_midnight(day: dt.date) -> dt.datetime:
    """The UTC moment London's `day` begins."""
    return from_london(day)


def _months_before(now: dt.datetime, months: int) -> dt.datetime:
    return dt.datetime.combine(rules.add_months(now.date(), -months), now.time())


def summer_time(start: dt.datetime, end: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
    """British Summer Time intervals (UTC, half-open) that overlap [start, end].

    Since 1996 BST runs from 01:00 UTC on the last Sunday of March to 01:00 UTC
    on the last Sunday of October.
    """

    def last_sunday(year: int, month: int) -> dt.date:
        day = rules.add_months(dt.date(year, month, 1), 1) - dt.timedelta(days=1)
        return day - dt.timedelta(days=(day.weekday() + 1) % 7)

    intervals = []
    for year in range(start.year, end.year + 1):
        begins = dt.datetime.combine(last_sunday(year, 3), dt.time(1, 0))
        ends = dt.datetime.combine(last_sunday(year, 10), dt.time(1, 0))
        if begins <= end and ends > start:
            intervals.append((begins, ends))
    return intervals


def _is_postgres() -> bool:
    return isinstance(database.obj, PostgresqlDatabase)


def _london_date(column, start: dt.datetime, end: dt.datetime):
    """SQL for the London calendar date of a UTC datetime column, exact for rows in [start, end]."""
    if _is_postgres():
        return Cast(NodeList((column, SQL("AT TIME ZONE 'UTC' AT TIME ZONE 'Europe/London'"))), "date")
    cases = [
        (((column >= begins) & (column < ends)), fn.DATE(column, f"+{LONDON_UTC_OFFSET_HOURS} hour"))
        for begins, ends in summer_time(start, end)
    ]
    return Case(None, cases, fn.DATE(column)) if cases else fn.DATE(column)


def _month_bucket(column, month_starts: list[dt.date]):
    """SQL naming the London month (its first day, ISO) a UTC datetime falls in."""
    bounds = [_london_midnight(start) for start in month_starts]
    bounds.append(_london_midnight(rules.add_months(month_starts[-1], 1)))
    cases = [
        (((column >= bounds[i]) & (column < bounds[i + 1])), start.isoformat())
        for i, start in enumerate(month_starts)
    ]
    return Case(None, cases, None)
