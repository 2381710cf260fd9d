"""The sweeps: functions of `now` that find due work and queue its emails.

Every sweep selects by indexed columns (a range on a stored moment), so one
with nothing due reads nothing. Emails are queued with insert-or-ignore on a
key (tracker.mailings), so running a sweep twice, or on two runners at once,
queues each email once. A sweep that moves a stored moment on (the undertaking
ladder, a copy's chase, a breach's escalation) does it with a conditional
update in the same transaction as the enqueue: the runner whose update
matched the old moment is the one that sends.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import current_app

from tracker import mailings, rules, settings
from tracker.db import database
from tracker.models import (
    Agreement,
    Breach,
    Notification,
    Recipient,
    Review,
    Team,
    User,
    utcnow,
)

LONDON = ZoneInfo("Europe/London")


def parse_moment(text: str | None) -> dt.datetime:
    """A moment for `jobs tick --at`, as naive UTC. Without an offset it is London time."""
    if text is None or not text.strip():
        return utcnow()
    moment = dt.datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=LONDON)
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


def london(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=dt.UTC).astimezone(LONDON)


def _due(column, now: dt.datetime):
    """Scheduled reviews whose `column` moment has come, by index.

    Reviews of records not yet active are claimed too, and their moment moved
    on without a notice, so they are not read again every minute; endorsement
    plans a record's notices afresh (tracker.records.endorse).
    """
    # Only the moment is in the WHERE clause, so the planner has one index to
    # use: given "status = 'scheduled'" as well, SQLite preferred the status
    # index and read every scheduled review. Held and cancelled reviews have
    # their moments cleared, so none is picked up here.
    return Review.select(Review, Agreement).join(Agreement).where(column <= now).order_by(column)


def _active(review: Review) -> bool:
    return review.status == "scheduled" and review.agreement.status == "active"


def _claim(review: Review, column, value) -> bool:
    """Move a review's notice moment on; True for the one runner whose update matched."""
    current = getattr(review, column.name)
    return Review.update({column: value}).where((Review.id == review.id) & (column == current)).execute() == 1


# --- reviews (R2, R3) -----------------------------------------------------------

def review_reminders(now: dt.datetime) -> int:
    """Remind the worker and managers 7 and 1 days (by default) before each review.

    Only the latest reminder whose moment has passed goes: a runner that was
    down across both moments sends one reminder, not two at once.
    """
    offsets = settings.get("review_reminder_days")
    count = 0
    for review in _due(Review.reminder_at, now):
        with database.atomic():
            if not _claim(review, Review.reminder_at, rules.next_reminder_at(review.scheduled_at, offsets, now)):
                continue
            if review.scheduled_at > now and _active(review):
                days = min(d for d in offsets if review.scheduled_at - dt.timedelta(days=d) <= now)
                count += mailings.review_reminder(review, review.agreement, days, now)
    return count


def overdue_reviews(now: dt.datetime) -> int:
    """The day after a review that nobody has recorded, say it is overdue (R2)."""
    count = 0
    for review in _due(Review.overdue_at, now):
        with database.atomic():
            if _claim(review, Review.overdue_at, None) and _active(review):
                count += mailings.review_overdue(review, review.agreement, now)
    return count


def report_requests(now: dt.datetime) -> int:
    """When a review's window opens, ask every agency on the list for its report (R3).

    Past the due moment the prompt below asks instead.
    """
    count = 0
    for review in _due(Review.request_at, now):
        with database.atomic():
            if _claim(review, Review.request_at, None) and now < review.reports_due_at and _active(review):
                count += mailings.report_requests(review, review.agreement, now)
    return count


def report_prompts(now: dt.datetime) -> int:
    """At the due moment, prompt the agencies yet to answer and tell the worker who has (R3)."""
    count = 0
    for review in _due(Review.prompt_at, now):
        with database.atomic():
            if _claim(review, Review.prompt_at, None) and now < review.scheduled_at and _active(review):
                count += mailings.report_prompts(review, review.agreement, now)
    return count


def review_cancellations(now: dt.datetime) -> int:
    """Withdraw the calendar invitation of a cancelled review that had not yet happened."""
    count = 0
    query = (
        Review.select(Review, Agreement).join(Agreement)
        .where(Review.cancel_notice_at <= now)
    )
    for review in query:
        with database.atomic():
            if _claim(review, Review.cancel_notice_at, None) and review.scheduled_at > now:
                count += mailings.review_cancelled(review, review.agreement, now)
    return count


# --- copies (R9) ----------------------------------------------------------------

def copy_chases(now: dt.datetime) -> int:
    """Chase, once, each copy still unacknowledged after its chase moment (R9)."""
    count = 0
    # By the moment (see _due); ending a record clears its chases. A revoked or
    # removed entry is left out by the query itself: it is sent nothing more (R10).
    query = Recipient.select(Recipient, Agreement).join(Agreement).where(
        (Recipient.chase_at <= now) & Recipient.link_revoked_at.is_null() & Recipient.removed_at.is_null())
    for recipient in query:
        with database.atomic():
            # Clearing chase_at is the claim: of two runners, one matches the old value.
            won = Recipient.update(chase_at=None, chased_at=now).where(
                (Recipient.id == recipient.id) & (Recipient.chase_at == recipient.chase_at)
            ).execute() == 1
            wanted = (recipient.acknowledged_at is None and recipient.removed_at is None and recipient.email
                      and recipient.agreement.status == "active")
            if won and wanted:
                count += mailings.copy_chase(recipient, recipient.agreement, now)
    return count


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
    extension (tracker.decisions) moves the end and starts it again.
    """
    interval = dt.timedelta(hours=max(1, settings.get("escalation_interval_hours")))
    count = 0
    # By the moment alone (see _due); ending a record clears next_escalation_at.
    query = Agreement.select().where(Agreement.next_escalation_at <= now)
    for agreement in query:
        ends = agreement.window_ends_at
        if ends is None or agreement.status != "active" or agreement.kind != "undertaking":
            Agreement.update(next_escalation_at=None).where(Agreement.id == agreement.id).execute()
            continue
        if now < ends:
            rung, next_at, level = 0, ends, agreement.escalation_level
        elif agreement.is_closure_undertaking:
            # A closure undertaking is escalated once after its end: no ladder.
            rung, next_at, level = 1, None, 1
        else:
            rung = 1 + int((now - ends) // interval)
            next_at, level = ends + rung * interval, rung
        with database.atomic():
            won = Agreement.update(next_escalation_at=next_at, escalation_level=level).where(
                (Agreement.id == agreement.id) & (Agreement.next_escalation_at == agreement.next_escalation_at)
            ).execute() == 1
            if won:
                count += mailings.undertaking_rung(agreement, rung, now)
    return count


# --- endorsement (R11) -----------------------------------------------------------

def endorsement_escalations(now: dt.datetime) -> int:
    """An undertaking (or its variation) still waiting for endorsement after the
    service's hours goes to the service managers, once."""
    count = 0
    # By the moment alone (see _due); endorsing, returning or ending clears it.
    for agreement in Agreement.select().where(Agreement.endorsement_escalate_at <= now):
        with database.atomic():
            won = Agreement.update(endorsement_escalate_at=None).where(
                (Agreement.id == agreement.id)
                & (Agreement.endorsement_escalate_at == agreement.endorsement_escalate_at)
            ).execute() == 1
            if won and agreement.awaiting_since is not None and agreement.status != "ended":
                count += mailings.endorsement_escalation(agreement, now)
    return count


# --- breaches (R5) --------------------------------------------------------------

def breach_escalations(now: dt.datetime) -> int:
    """Escalate a breach with no recorded response by its escalate_at moment (R5)."""
    count = 0
    for breach in Breach.select(Breach, Agreement).join(Agreement).where(Breach.escalate_at <= now):
        with database.atomic():
            won = Breach.update(escalate_at=None, escalated_at=now).where(
                (Breach.id == breach.id) & (Breach.escalate_at == breach.escalate_at)
            ).execute() == 1
            # A breach's response is owed even when its agreement has since ended.
            if won and breach.response is None:
                count += mailings.breach_escalation(breach, breach.agreement, now)
    return count


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
    return {"overdue_reviews": overdue, "undertakings_past_end": past_end,
            "breaches_unacknowledged": unacknowledged, "missing_reports": missing}


def digests(now: dt.datetime) -> int:
    """Each morning from DIGEST_AT (London), one digest per team manager, when there is anything in it.

    It runs with every sweep rather than once at a fixed time, so a runner that
    was down at half past seven still sends the day's digest when it starts;
    the key (team, London date, manager) makes it once a day.
    """
    local = london(now)
    hour, minute = (int(part) for part in current_app.config.get("DIGEST_AT", "07:30").split(":"))
    if (local.hour, local.minute) < (hour, minute):
        return 0
    day = local.date()
    # Two queries whatever the number of teams: every team manager, and which
    # of today's digests are already queued.
    managers = list(User.select().where((User.role == "team_manager") & (User.active == True) & User.team.is_null(False)))
    keys = {m: f"digest/{m.team_id}/{day.isoformat()}/{m.email}" for m in managers}
    sent = {n.key for n in Notification.select(Notification.key).where(Notification.key.in_(list(keys.values())))}
    count = 0
    for team_id in sorted({m.team_id for m, key in keys.items() if key not in sent}):
        with database.atomic():
            count += mailings.digest(Team.get_by_id(team_id), digest_items(Team.get_by_id(team_id), now), day, now)
    return count


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
)


def run_sweeps(now: dt.datetime) -> dict[str, int]:
    """Every sweep as of `now`; how many emails each queued."""
    return {name: sweep(now) for name, sweep in SWEEPS}


def run_all(now: dt.datetime) -> list[str]:
    """Every sweep and one delivery pass, as lines for `jobs tick` to print."""
    from jobs.delivery import deliver_pending

    lines = [f"As of {london(now):%Y-%m-%d %H:%M} London time ({now:%Y-%m-%dT%H:%M}Z):"]
    for name, count in run_sweeps(now).items():
        lines.append(f"  {name}: {count} queued")
    report = deliver_pending(now)
    lines.append(f"  delivery: {report.summary()}")
    return lines
