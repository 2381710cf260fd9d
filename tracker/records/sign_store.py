"""Warning signs kept for the service view (issue 24), so that it counts them by team
instead of reading every active record a request (tracker.records.warnings, R8).

- The signs that do not move with the clock are stored, one `RecordSign` row a sign of
  an active record, worked out by `warnings.signs_for`, the same code as the record page.
- The three that do (TIMED) are counted in SQL at `now`, by the same definitions
  (`timed_counts`): active past 6 months, past the plan meeting, never reviewed.
- What changed since is in `SignQueue`, written only by the database's triggers
  (migration 0029). `refresh_stored` works it out: every record the queue names, and
  every record of every child it names or of a child of those records, by any link
  (a removed one too), and of every child the same by identity, NHS number or council
  person ID: one hop, as `warnings._links_of` reads a record's history.
- The service view refreshes before it counts, so its figures are never behind the
  records; the job runner refreshes every minute (jobs.scheduler), so the view rarely
  has much left to do.
- A change to the code that decides the signs (this module's SOURCES) re-queues every
  active record the next time a process refreshes (`SignLogic`'s fingerprint).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

from peewee import SQL, Case, fn

from tracker import clock, rules, settings
from tracker.db import database
from tracker.models import Agreement, AgreementChild, Child, RecordSign, Review, SignLogic, SignQueue
from tracker.records import warnings

TIMED = ("active_past_6_months", "past_plan_meeting", "never_reviewed")
STORED = tuple(key for key in warnings.KINDS if key not in TIMED)
BATCH = 1000  # queue rows a pass; each pass is a fixed number of statements
CHUNK = warnings.CHUNK  # ids in one IN list, inside the database's limit on parameters

_HERE = Path(__file__).parent
SOURCES = (_HERE / "warnings.py", _HERE / "reading.py", _HERE / "responsibility.py", Path(__file__))
_checked = False


def fingerprint() -> str:
    digest = hashlib.sha256()
    for path in SOURCES:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _chunks(ids) -> list[list[int]]:
    ids = sorted(ids)
    return [ids[i:i + CHUNK] for i in range(0, len(ids), CHUNK)]


def _same_logic() -> None:
    """Once a process: queue every active record if the stored signs came from other code."""
    global _checked
    if _checked:
        return
    mine = fingerprint()
    stored = SignLogic.select(SignLogic.fingerprint).scalar()
    if stored != mine:
        with database.atomic():
            SignQueue.insert_from(Agreement.select(Agreement.id).where(Agreement.status == "active"),
                                  [SignQueue.agreement_id]).execute()
            SignLogic.delete().execute()
            SignLogic.create(fingerprint=mine)
    _checked = True


def refresh_stored(now: dt.datetime) -> int:
    """Work out the queue; how many records' signs were stored again."""
    _same_logic()
    done = 0
    while True:
        with database.atomic():
            rows = list(SignQueue.select().order_by(SignQueue.id).limit(BATCH).tuples())
            if not rows:
                return done
            done += _store(_affected(rows), now)
            SignQueue.delete().where(SignQueue.id <= rows[-1][0]).execute()
        if len(rows) < BATCH:
            return done


def _affected(rows) -> set[int]:
    """The records whose signs the queued rows (SignQueue tuples) may have changed."""
    records = {row[1] for row in rows if row[1] is not None}
    children = {row[2] for row in rows if row[2] is not None}
    keys = [{row[i] for row in rows if row[i]} for i in (3, 4, 5)]  # identities, NHS numbers, person IDs
    for chunk in _chunks(records):
        children |= {c for (c,) in AgreementChild.select(AgreementChild.child)
                     .where(AgreementChild.agreement.in_(chunk)).tuples()}
    for chunk in _chunks(children):
        for row in Child.select(Child.identity, Child.nhs_number, Child.person_id).where(Child.id.in_(chunk)).tuples():
            for known, value in zip(keys, row, strict=True):
                if value:
                    known.add(value)
    same = set(children)
    for column, values in zip((Child.identity, Child.nhs_number, Child.person_id), keys, strict=True):
        for chunk in _chunks(values):
            same |= {c for (c,) in Child.select(Child.id).where(column.in_(chunk)).tuples()}
    for chunk in _chunks(same):
        records |= {a for (a,) in AgreementChild.select(AgreementChild.agreement)
                    .where(AgreementChild.child.in_(chunk)).tuples()}
    return records


def _store(records: set[int], now: dt.datetime) -> int:
    active = []
    for chunk in _chunks(records):
        active += list(Agreement.select(*warnings.SIGN_COLUMNS)
                       .where(Agreement.id.in_(chunk) & (Agreement.status == "active")))
    signs = warnings.signs_for(active, now)
    for chunk in _chunks(records):
        RecordSign.delete().where(RecordSign.agreement.in_(chunk)).execute()
    rows = [(agreement_id, sign.key) for agreement_id, found in signs.items() for sign in found
            if sign.key not in TIMED]
    for start in range(0, len(rows), CHUNK):
        (RecordSign.insert_many(rows[start:start + CHUNK], fields=[RecordSign.agreement, RecordSign.key])
         .on_conflict_ignore().execute())
    return len(active)


def stored_counts() -> list[tuple[int, str, int]]:
    """(team, sign, how many active records) of the stored signs."""
    return list(RecordSign.select(Agreement.team, RecordSign.key, fn.COUNT(RecordSign.id))
                .join(Agreement, on=(RecordSign.agreement == Agreement.id))
                .where(Agreement.status == "active")
                .group_by(Agreement.team, RecordSign.key).tuples())


def _last_started_before(today: dt.date, months: int) -> dt.datetime:
    """The moment before which a record's start (a UTC datetime) makes
    `rules.add_months(start.date(), months) < today`, as warnings._signs tests it:
    add_months only moves forward with its day, so the days that pass are a run up to
    the last one, found by stepping back from a month past the first guess."""
    day = rules.add_months(today, -months) + dt.timedelta(days=31)
    while not rules.add_months(day, months) < today:
        day -= dt.timedelta(days=1)
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time())


def timed_counts(now: dt.datetime) -> list[tuple[int, int, int, int]]:
    """(team, active past 6 months, past the plan meeting, never reviewed) over the active
    records, in one statement: warnings._signs's definitions, in SQL."""
    started = fn.COALESCE(Agreement.endorsed_at, Agreement.created_at)
    held = Review.select(Review.id).where((Review.agreement == Agreement.id) & (Review.status == "held"))
    stale = started < _last_started_before(now.date(), settings.get("review_policy_months"))
    # The look-up of a held review last: only the partnerships already old enough or overdue need it.
    never_reviewed = ((Agreement.kind == "partnership")
                      & (stale | (Agreement.next_review_at.is_null(False) & (Agreement.next_review_at < now)))
                      & ~fn.EXISTS(held))
    past_meeting = Agreement.plan_meeting_on.is_null(False) & (Agreement.plan_meeting_on < clock.london_date(now))
    return list(Agreement.select(
        Agreement.team,
        fn.SUM(Case(None, [(started < _last_started_before(now.date(), 6), 1)], 0)),
        fn.SUM(Case(None, [(past_meeting, 1)], 0)),
        fn.SUM(Case(None, [(never_reviewed, 1)], 0)),
    ).where(Agreement.status == "active").group_by(SQL("1")).tuples())
