"""The sweeps: functions of `now` that find due work and queue its emails.

Every sweep selects by indexed columns (a range on a stored moment), so one
with nothing due reads nothing. Emails are queued with insert-or-ignore on a
key (tracker.notices.mailings), so running a sweep twice, or on two runners at once,
queues each email once. A sweep that moves a stored moment on (the undertaking
ladder, a copy's chase, a breach's escalation) does it with a conditional
update in the same transaction as the enqueue: the runner whose update
matched the old moment is the one that sends.
"""

from __future__ import annotations

import datetime as dt
import time

from flask import current_app
from peewee import Cast, Tuple, Value, fn

from tracker import rules, settings
from tracker.clock import as_utc, to_london, utcnow
from tracker.db import database
from tracker.models import Agreement, Breach, Notification, Recipient, Review, Team, User
from tracker.notices import mailings, notify, undeliverable
from tracker.prepared import Prepared
from tracker.records import fields


def parse_moment(text: str | None) -> dt.datetime:
    """A moment for `jobs tick --at`, as naive UTC. Without an offset it is London time."""
    if text is None or not text.strip():
        return utcnow()
    return as_utc(dt.datetime.fromisoformat(text.strip()))


# What the sweeps and their emails read of a record: every column but the
# form's own wording and notes, which no email shows (tests/jobs/test_jobs_sweeps.py
# checks that none of them is in an email template). Read whole, a record was 64
# columns of conversions for each due item, a fifth of a due sweep's time.
NOT_IN_EMAILS = fields.NOT_IN_EMAILS | {"endorsement_override", "end_notes", "returned_comments", "copy_language",
                                        "translation_given", "issue_reason", "imported_at"}
RECORD = tuple(f for f in Agreement._meta.sorted_fields if f.name not in NOT_IN_EMAILS)


def _due(column, now: dt.datetime) -> list[Review]:
    """Scheduled reviews whose `column` moment has come, by index.

    Reviews of records not yet active are claimed too, and their moment moved
    on without a notice, so they are not read again every minute; endorsement
    plans a record's notices afresh (tracker.records.lifecycle.endorse).
    """
    # Only the moment is in the WHERE clause, so the planner has one index to
    # use: given "status = 'scheduled'" as well, SQLite preferred the status
    # index and read every scheduled review. Held and cancelled reviews have
    # their moments cleared, so none is picked up here.
    return _read_due(Review.select(Review, *RECORD).join(Agreement).where(column <= now), column)


DUE_PAGE = 500


def _read_due(query, column) -> list:
    """Every row of `query` (those whose `column` moment has come), in the moment's order,
    read DUE_PAGE rows a statement.

    Issue 24: the LIMIT keeps the planner on the moment's index whatever its statistics
    say. Between two ANALYZEs the statistics still count the moments a sweep has since
    moved on, so `column <= now` looked like hundreds of rows and PostgreSQL read the
    whole review table (a parallel seq scan, 14 ms of a 1x idle sweep's 28) to find
    none. Pages follow the moment then the id (keyset), so each row is read once and
    the sweep still sees, in one pass, everything due when it began.
    """
    key = column.model.id
    found, last = [], None
    while True:
        page = query if last is None else query.where(Tuple(column, key) > Tuple(*last))
        rows = list(page.order_by(column, key).limit(DUE_PAGE))
        found += rows
        if len(rows) < DUE_PAGE:
            return found
        last = (getattr(rows[-1], column.name), rows[-1].id)


def _active(review: Review) -> bool:
    return review.status == "scheduled" and review.agreement.status == "active"


# Issue 24: 10 items to a transaction and 50 ms between batches, outside any
# transaction. On SQLite a batch holds the database's one write lock, and every
# record view writes an audit event, so a page (and, under sync workers, every
# request queued behind it) waited for the runner's batch; the runner also took a
# core for the whole sweep. With the pause the runner gives the lock and the CPU back
# between batches: p95 at 16 clients under the runner went from up to 2.8x idle to
# 0.9-1.7x, about what a runner burning a core without the database costs
# (bench/README.md), and the sweep of 660 due items from about 1.3 to 3.5 s.
# Smaller batches alone, or a lower CPU priority, did not help.
BATCH = 10
PAUSE = 0.05


def _in_batches(items: list, agreement_of, work) -> int:
    """Do `work(item)` for every item, BATCH items to a transaction, PAUSE seconds between them.

    Each item keeps its own conditional claim inside `work`; the emails the
    batch queues are written at its end, in the same transaction, by one key
    look-up and one insert (notify.collecting). A runner
    killed mid-batch loses the whole uncommitted batch, claims and emails
    together, so nothing is left half-claimed: the next sweep finds those items
    due again. People, children's initials and the service settings (office
    hours, the front door's contacts) are looked up once per sweep
    (mailings.people_once, notify.initials_once, settings.held).
    """
    if not items:
        return 0
    count = 0
    with mailings.people_once(), notify.initials_once(agreement_of(item) for item in items), settings.held():
        for start in range(0, len(items), BATCH):
            if start and PAUSE:
                time.sleep(PAUSE)
            with database.atomic(), notify.collecting() as outbox:
                for item in items[start:start + BATCH]:
                    work(item)
                count += outbox.flush()
    return count


def _review_claim(p, name: str, clear: bool):
    column = getattr(Review, name)
    return Review.update({column: None if clear else p.value}).where((Review.id == p.id) & (column == p.current))


# Claims are the one statement a sweep runs per item: their SQL is made once (tracker.prepared).
_REVIEW_CLAIM = Prepared(_review_claim)
_CHASE_CLAIM = Prepared(lambda p: Recipient.update(chase_at=None, chased_at=p.now).where(
    (Recipient.id == p.id) & (Recipient.chase_at == p.current)))
# `last`: a closure undertaking's one escalation clears the moment (a prepared value is never None).
_RUNG_CLAIM = Prepared(lambda p, last: Agreement.update(
    next_escalation_at=None if last else p.next_at, escalation_level=p.level).where(
    (Agreement.id == p.id) & (Agreement.next_escalation_at == p.current)))
_ENDORSEMENT_CLAIM = Prepared(lambda p: Agreement.update(endorsement_escalate_at=None).where(
    (Agreement.id == p.id) & (Agreement.endorsement_escalate_at == p.current)))
_BREACH_CLAIM = Prepared(lambda p: Breach.update(escalate_at=None, escalated_at=p.now).where(
    (Breach.id == p.id) & (Breach.escalate_at == p.current)))


def _claim(review: Review, column, value) -> bool:
    """Move a review's notice moment on; True for the one runner whose update matched."""
    current = getattr(review, column.name)
    if current is None:
        return Review.update({column: value}).where((Review.id == review.id) & column.is_null()).execute() == 1
    values = {"id": review.id, "current": current} if value is None else {"id": review.id, "current": current,
                                                                          "value": value}
    return _REVIEW_CLAIM.rowcount((column.name, value is None), **values) == 1


# --- reviews (R2, R3) -----------------------------------------------------------

def review_reminders(now: dt.datetime) -> int:
    """Remind the worker and managers 7 and 1 days (by default) before each review.

    Only the latest reminder whose moment has passed goes: a runner that was
    down across both moments sends one reminder, not two at once. A reminder
    so late that the next one is due within a day gives way to it, so a late
    7-day reminder and the 1-day one do not arrive hours apart.
    """
    offsets = settings.get("review_reminder_days")

    def remind(review: Review) -> None:
        next_at = rules.next_reminder_at(review.scheduled_at, offsets, now)
        if not _claim(review, Review.reminder_at, next_at):
            return
        if next_at is not None and next_at - now < dt.timedelta(days=1):
            return
        if review.scheduled_at > now and _active(review):
            days = min(d for d in offsets if review.scheduled_at - dt.timedelta(days=d) <= now)
            mailings.review_reminder(review, review.agreement, days, now)

    return _in_batches(_due(Review.reminder_at, now), _review_agreement, remind)


def _review_agreement(review: Review) -> int:
    return review.agreement_id


def overdue_reviews(now: dt.datetime) -> int:
    """The day after a review that nobody has recorded, say it is overdue (R2)."""
    def overdue(review: Review) -> None:
        if _claim(review, Review.overdue_at, None) and _active(review):
            mailings.review_overdue(review, review.agreement, now)

    return _in_batches(_due(Review.overdue_at, now), _review_agreement, overdue)


def report_requests(now: dt.datetime) -> int:
    """When a review's window opens, ask every agency on the list for its report (R3).

    Past the due moment the prompt below asks instead.
    """
    def request(review: Review) -> None:
        if _claim(review, Review.request_at, None) and now < review.reports_due_at and _active(review):
            mailings.report_requests(review, review.agreement, now)

    return _in_batches(_due(Review.request_at, now), _review_agreement, request)


def report_prompts(now: dt.datetime) -> int:
    """At the due moment, prompt the agencies yet to answer and tell the worker who has (R3)."""
    def prompt(review: Review) -> None:
        if _claim(review, Review.prompt_at, None) and now < review.scheduled_at and _active(review):
            mailings.report_prompts(review, review.agreement, now)

    return _in_batches(_due(Review.prompt_at, now), _review_agreement, prompt)


def review_cancellations(now: dt.datetime) -> int:
    """Withdraw the calendar invitation of a cancelled review that had not yet happened."""
    query = (
        Review.select(Review, *RECORD).join(Agreement)
        .where(Review.cancel_notice_at <= now)
    )

    def cancel(review: Review) -> None:
        if _claim(review, Review.cancel_notice_at, None) and review.scheduled_at > now:
            mailings.review_cancelled(review, review.agreement, now)

    return _in_batches(_read_due(query, Review.cancel_notice_at), _review_agreement, cancel)


# --- copies (R9) ----------------------------------------------------------------

def copy_chases(now: dt.datetime) -> int:
    """Chase, once, each copy still unacknowledged after its chase moment (R9)."""
    # By the moment (see _due); ending a record clears its chases. A revoked or
    # removed entry is left out by the query itself: it is sent nothing more (R10).
    query = Recipient.select(Recipient, *RECORD).join(Agreement).where(
        (Recipient.chase_at <= now) & Recipient.link_revoked_at.is_null() & Recipient.removed_at.is_null())

    def chase(recipient: Recipient) -> None:
        # Clearing chase_at is the claim: of two runners, one matches the old value.
        won = _CHASE_CLAIM.rowcount(id=recipient.id, current=recipient.chase_at, now=now) == 1
        wanted = (recipient.acknowledged_at is None and recipient.removed_at is None and recipient.email
                  and recipient.agreement.status == "active")
        if won and wanted:
            mailings.copy_chase(recipient, recipient.agreement, now)

    return _in_batches(_read_due(query, Recipient.chase_at), lambda r: r.agreement_id, chase)


# --- undertakings (R4) ----------------------------------------------------------

def undertaking_ladder(now: dt.datetime) -> int:
    """Warn before an undertaking's end, escalate at it, and climb every few hours after.

    A closure undertaking (R4) is reminded days before its end and escalated
    once after it: its next_escalation_at is cleared at that rung.

    1. Select active undertakings whose next_escalation_at has passed.
    2. Work out the rung for `now`: 0 (the warning) before the end, else
       1 + the whole intervals since the end. A runner that was down sends the
       current rung only, never a burst of missed ones.
    3. Advance next_escalation_at and escalation_level with a conditional
       update; only the runner whose update matched enqueues, in the same
       transaction.

    A decision stops the ladder: ending clears next_escalation_at, and an
    extension (tracker.records.decisions) moves the end and starts it again.
    """
    interval = dt.timedelta(hours=max(1, settings.get("escalation_interval_hours")))
    # By the moment alone (see _due); ending a record clears next_escalation_at.
    query = Agreement.select(*RECORD).where(Agreement.next_escalation_at <= now)

    def climb(agreement: Agreement) -> None:
        ends = agreement.window_ends_at
        if ends is None or agreement.status != "active" or agreement.kind != "undertaking":
            Agreement.update(next_escalation_at=None).where(Agreement.id == agreement.id).execute()
            return
        if now < ends:
            rung, next_at, level = 0, ends, agreement.escalation_level
        elif agreement.is_closure_undertaking:
            # A closure undertaking is escalated once after its end: no ladder.
            rung, next_at, level = 1, None, 1
        else:
            rung = 1 + int((now - ends) // interval)
            next_at, level = ends + rung * interval, rung
        moment = {} if next_at is None else {"next_at": next_at}
        won = _RUNG_CLAIM.rowcount((next_at is None,), id=agreement.id, current=agreement.next_escalation_at,
                                   level=level, **moment) == 1
        if won:
            mailings.undertaking_rung(agreement, rung, now)

    return _in_batches(_read_due(query, Agreement.next_escalation_at), lambda a: a.id, climb)


# --- endorsement (R11) -----------------------------------------------------------

def endorsement_escalations(now: dt.datetime) -> int:
    """An undertaking (or its variation) still waiting for endorsement after the
    service's hours goes to the service managers, once."""
    # By the moment alone (see _due); endorsing, returning or ending clears it.
    query = Agreement.select(*RECORD).where(Agreement.endorsement_escalate_at <= now)

    def escalate(agreement: Agreement) -> None:
        won = _ENDORSEMENT_CLAIM.rowcount(id=agreement.id, current=agreement.endorsement_escalate_at) == 1
        if won and agreement.awaiting_since is not None and agreement.status != "ended":
            mailings.endorsement_escalation(agreement, now)

    return _in_batches(_read_due(query, Agreement.endorsement_escalate_at), lambda a: a.id, escalate)


# --- breaches (R5) --------------------------------------------------------------

def breach_escalations(now: dt.datetime) -> int:
    """Escalate a breach with no recorded response by its escalate_at moment (R5)."""
    def escalate(breach: Breach) -> None:
        won = _BREACH_CLAIM.rowcount(id=breach.id, current=breach.escalate_at, now=now) == 1
        # A breach's response is owed even when its agreement has since ended.
        if won and breach.response is None:
            mailings.breach_escalation(breach, breach.agreement, now)

    query = Breach.select(Breach, *RECORD).join(Agreement).where(Breach.escalate_at <= now)
    return _in_batches(_read_due(query, Breach.escalate_at), lambda b: b.agreement_id, escalate)


# --- the managers' daily digest (R2) ----------------------------------------------

def digest_items(team: Team, now: dt.datetime) -> dict[str, list]:
    """What a team manager should act on today, by heading."""
    active = (Agreement.team == team) & (Agreement.status == "active")
    overdue = list(
        Agreement.select().where(active & (Agreement.kind == "partnership") & (Agreement.next_review_at < now))
        .order_by(Agreement.next_review_at)
    )
    past_end = list(
        Agreement.select().where(active & (Agreement.kind == "undertaking") & (Agreement.window_ends_at < now))
        .order_by(Agreement.window_ends_at)
    )
    unacknowledged = list(
        Breach.select(Breach, Agreement).join(Agreement)
        .where((Agreement.team == team) & Breach.acknowledged_at.is_null())
        .order_by(Breach.created_at)
    )
    missing = []
    upcoming = (
        Review.select(Review, Agreement).join(Agreement)
        .where((Review.status == "scheduled") & (Agreement.status == "active") & (Agreement.team == team)
               & (Review.reports_due_at <= now) & (Review.scheduled_at > now))
        .order_by(Review.scheduled_at)
    )
    for review in upcoming:
        answered = mailings.reported(review)
        absent = [r for r in mailings.agency_recipients(review.agreement) if r.id not in answered]
        if absent:
            missing.append({"review": review, "agreement": review.agreement, "agencies": absent})
    # Issue 20 (R18): an email about the team's record that could not be delivered.
    undelivered = [
        {"agreement": n.agreement, "words": undeliverable.words(n.to_label, n.kind, n.last_error)}
        for n in Notification.select(Notification, Agreement).join(Agreement)
        .where((Notification.status == "failed") & active).order_by(Notification.created_at)
    ]
    return {"overdue_reviews": overdue, "undertakings_past_end": past_end,
            "breaches_unacknowledged": unacknowledged, "missing_reports": missing, "undeliverable": undelivered}


def digests(now: dt.datetime) -> int:
    """Each morning from DIGEST_AT (London), one digest per team manager, when there is anything in it.

    It runs with every sweep rather than once at a fixed time, so a runner that
    was down at half past seven still sends the day's digest when it starts;
    the key (team, London date, manager) makes it once a day.
    """
    local = to_london(now)
    hour, minute = (int(part) for part in current_app.config.get("DIGEST_AT", "07:30").split(":"))
    if (local.hour, local.minute) < (hour, minute):
        return 0
    day = local.date()
    # One statement whatever the number of teams (issue 24): the teams with a manager
    # whose digest key for today is not yet queued, each key looked up in
    # Notification's unique index. No manager's row is loaded; once the day's
    # digests are queued the answer is empty.
    key = (Value("digest/").concat(Cast(User.team, "TEXT")).concat(f"/{day.isoformat()}/").concat(User.email))
    queued = Notification.select(Notification.id).where(Notification.key == key)
    waiting = (User.select(User.team).distinct()
               .where((User.role == "team_manager") & (User.active == True)  # noqa: E712
                      & User.team.is_null(False) & ~fn.EXISTS(queued))
               .tuples())
    count = 0
    for team_id in sorted(team for (team,) in waiting):
        with database.atomic():
            count += mailings.digest(Team.get_by_id(team_id), digest_items(Team.get_by_id(team_id), now), day, now)
    return count


def family_unread(now: dt.datetime) -> int:
    """Tell the social worker which family party has not read their copy a set number of days on (R20)."""
    from tracker.family import links as family_links

    with database.atomic():
        return family_links.unread_sweep(now)


SWEEPS = (
    ("review reminders", review_reminders),
    ("overdue reviews", overdue_reviews),
    ("agency report requests", report_requests),
    ("agency report prompts", report_prompts),
    ("review cancellations", review_cancellations),
    ("copy chases", copy_chases),
    ("undertaking ladder", undertaking_ladder),
    ("breach escalations", breach_escalations),
    ("endorsement escalations", endorsement_escalations),
    ("team digests", digests),
    ("family copies unread", family_unread),
)


def run_sweeps(now: dt.datetime) -> dict[str, int]:
    """Every sweep as of `now`; how many emails each queued."""
    return {name: sweep(now) for name, sweep in SWEEPS}


def run_all(now: dt.datetime) -> list[str]:
    """Every sweep and one delivery pass, as lines for `jobs tick` to print."""
    from jobs.delivery import deliver_pending

    lines = [f"As of {to_london(now):%Y-%m-%d %H:%M} London time ({now:%Y-%m-%dT%H:%M}Z):"]
    for name, count in run_sweeps(now).items():
        lines.append(f"  {name}: {count} queued")
    from jobs.imports import run_imports

    lines.append(f"  imports: {run_imports(now)} run")
    from tracker.records import sign_store

    lines.append(f"  warning signs: {sign_store.refresh_stored(now)} records worked out again")
    report = deliver_pending(now)
    lines.append(f"  delivery: {report.summary()}")
    from jobs.texting import text_pass

    lines.append(f"  texts: {text_pass(now).summary()}")
    return lines
