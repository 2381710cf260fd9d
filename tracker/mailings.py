"""Which emails exist, who receives them, their keys, and whether one is still wanted.

Each function enqueues inside the caller's transaction and returns how many
rows it added. A key names everything that makes a message distinct (the
review's date, the undertaking's end, the rung, the address), so a moved review
or an extended undertaking gets fresh messages while the old ones are never
sent twice. `still_wanted` reads a key back just before delivery, so a message
whose reason has gone (the review moved, was held or cancelled; the agreement
ended) is cancelled instead of sent.
"""

from __future__ import annotations

import datetime as dt

from flask import current_app

from jobs import ics
from tracker import links, settings
from tracker.db import database
from tracker.models import (
    AgencyReport,
    Agreement,
    Breach,
    Notification,
    Recipient,
    Review,
    Team,
    User,
)
from tracker.notify import enqueue, initials
from tracker.records import live_recipients

# --- who ----------------------------------------------------------------------

def _active_users(query) -> list[User]:
    return list(query.where(User.active == True).order_by(User.id))


def team_managers(team_id: int) -> list[User]:
    return _active_users(User.select().where((User.team == team_id) & (User.role == "team_manager")))


def service_managers() -> list[User]:
    return _active_users(User.select().where(User.role == "service_manager"))


def staff(
    agreement: Agreement, *, front_door: bool = True, service: bool = False
) -> list[tuple[str, str]]:
    """(address, label) of the social worker and team managers, without repeats.

    With `front_door`, the front door's email (a service setting) stands in
    for a record with no (active) social worker, as for an undertaking left in
    place at case closure.
    """
    people: list[tuple[str, str]] = []
    worker = User.get_or_none((User.id == agreement.social_worker_id) & (User.active == True))
    if worker is not None:
        people.append((worker.email, f"{worker.name}, social worker"))
    elif front_door:
        people.append(front_door_address())
    people += [(m.email, f"{m.name}, team manager") for m in team_managers(agreement.team_id)]
    if service:
        people += [(m.email, f"{m.name}, service manager") for m in service_managers()]
    return _unique(people)


def _unique(people: list[tuple[str, str]]) -> list[tuple[str, str]]:
    seen: set[str] = set()
    unique = []
    for address, label in people:
        if address and address.lower() not in seen:
            seen.add(address.lower())
            unique.append((address, label))
    return unique


def front_door_address() -> tuple[str, str]:
    contacts = settings.contacts()
    return contacts["front_door_email"], contacts["front_door_term"]


def out_of_hours(now: dt.datetime) -> list[tuple[str, str]]:
    """The out-of-hours team's address when `now` is outside office hours (R5, R4), else nothing."""
    if settings.in_office_hours(now):
        return []
    address = settings.contacts()["out_of_hours_email"]
    return [(address, "Out-of-hours team")] if address else []


def agency_recipients(agreement: Agreement) -> list[Recipient]:
    return [r for r in live_recipients(agreement) if r.email]


def _worker_name(agreement: Agreement) -> str:
    worker = User.get_or_none(User.id == agreement.social_worker_id)
    return worker.name if worker else f"the {settings.contacts()['front_door_term'].lower()}"


# --- keys ---------------------------------------------------------------------

def stamp(moment: dt.datetime) -> str:
    return f"{moment:%Y%m%dT%H%M}"


def review_key(review: Review, what: str, who: str) -> str:
    return f"review/{review.id}/{stamp(review.scheduled_at)}/{what}/{who}"


def still_wanted(notification: Notification) -> str | None:
    """None when the message should go; otherwise why it no longer should.

    Reads the key written by the functions below. Kinds not listed here (a
    breach alert, a digest, a cancellation) are always wanted.
    """
    parts = notification.key.split("/")
    family = parts[0]
    if family == "review" and len(parts) >= 4 and parts[2] != "cancel":
        review = Review.get_or_none(Review.id == int(parts[1]))
        if review is None or review.status != "scheduled":
            return f"Not sent: the review was {review.status if review else 'removed'} before this went out"
        if stamp(review.scheduled_at) != parts[2]:
            return "Not sent: the review moved before this went out"
        if Agreement.get_by_id(review.agreement_id).status != "active":
            return "Not sent: the agreement ended before this went out"
    elif family == "undertaking" and len(parts) >= 3:
        agreement = Agreement.get_or_none(Agreement.id == int(parts[1]))
        if agreement is None or agreement.status != "active":
            return "Not sent: the undertaking ended before this went out"
        if agreement.window_ends_at is None or agreement.window_ends_at.isoformat() != parts[2]:
            return "Not sent: the undertaking's end changed before this went out"
    elif family in ("copy", "chase") and len(parts) >= 3:
        recipient = Recipient.get_or_none(Recipient.id == int(parts[1]))
        if recipient is None or recipient.removed_at is not None:
            return "Not sent: the agency was taken off the list"
        if family == "chase" and recipient.acknowledged_at is not None:
            return "Not sent: the copy was acknowledged"
        if parts[2] != f"v{recipient.link_version}" or recipient.link_revoked_at is not None:
            # It carries a link that no longer works; a re-issue sends its own.
            return "Not sent: the agency's link was revoked or re-issued before this went out"
        if Agreement.get_by_id(recipient.agreement_id).status != "active":
            return "Not sent: the agreement ended before this went out"
    elif family == "breach" and len(parts) >= 3 and parts[2] == "escalation":
        breach = Breach.get_or_none(Breach.id == int(parts[1]))
        if breach is None or breach.response is not None:
            return "Not sent: a manager recorded the response first"
    return None


# --- reviews (R2, R3) -----------------------------------------------------------

def _invitation(review: Review, agreement: Agreement, attendee: str, now: dt.datetime, method: str = "REQUEST") -> str:
    who = initials(agreement)
    return ics.review_invitation(
        review_id=review.id,
        scheduled_at=review.scheduled_at,
        # A cancellation must outrank the last invitation sent, or calendars ignore it.
        sequence=review.sequence + (1 if method == "CANCEL" else 0),
        summary=f"Review of {agreement.kind_label.lower()} {agreement.reference} ({who})",
        venue=review.venue,
        description=f"Review meeting for {agreement.reference}. Social worker: {_worker_name(agreement)}.",
        organizer=current_app.config["MAIL_DEFAULT_SENDER"],
        attendee=attendee,
        base_url=current_app.config["BASE_URL"],
        now=now,
        method=method,
    )


def _days_until(moment: dt.datetime, now: dt.datetime) -> int:
    """Whole days to go, as the email says them: a review 30 hours away is "tomorrow".

    The reminder's offset (7 or 1) names its key, not its wording: one sent
    late, after a record was endorsed or a runner was down, says the real time.
    """
    return max(1, round((moment - now).total_seconds() / 86400))


def review_reminder(review: Review, agreement: Agreement, days: int, now: dt.datetime) -> int:
    """Remind the social worker and team managers of a review `days` ahead (R2)."""
    count = 0
    for address, label in staff(agreement, front_door=False):
        count += enqueue(
            review_key(review, f"reminder-{days}d", address), "review_reminder", address,
            agreement=agreement, to_label=label,
            context={"review": review, "days": _days_until(review.scheduled_at, now)},
            ics=_invitation(review, agreement, address, now), now=now,
        )
    return count


def review_overdue(review: Review, agreement: Agreement, now: dt.datetime) -> int:
    """Tell the social worker and team managers a review has not been recorded (R2)."""
    count = 0
    for address, label in staff(agreement, front_door=False):
        count += enqueue(
            review_key(review, "overdue", address), "review_overdue", address,
            agreement=agreement, to_label=label, context={"review": review}, now=now,
        )
    return count


def reported(review: Review) -> set[int]:
    """Ids of the recipients who sent a report or "nothing to share" for a review."""
    return {row.recipient_id for row in AgencyReport.select(AgencyReport.recipient).where(AgencyReport.review == review)}


def _ask_agencies(review: Review, agreement: Agreement, agencies: list[Recipient], answered: set[int],
                  what: str, kind: str, now: dt.datetime) -> int:
    """Ask each agency yet to answer for its report, with the meeting invitation."""
    count = 0
    for recipient in agencies:
        if recipient.id in answered:
            continue
        count += enqueue(
            review_key(review, what, str(recipient.id)), kind, recipient.email,
            agreement=agreement, to_label=f"{recipient.name}, {recipient.agency_name}",
            context={"review": review, "recipient": recipient, "worker_name": _worker_name(agreement),
                     "agency_url": links.agency_url(recipient)},
            ics=_invitation(review, agreement, recipient.email, now), now=now,
        )
    return count


def report_requests(review: Review, agreement: Agreement, now: dt.datetime) -> int:
    """Ask each agency on the list for its report when the window opens (R3)."""
    return _ask_agencies(review, agreement, agency_recipients(agreement), reported(review), "request",
                         "report_request", now)


def report_prompts(review: Review, agreement: Agreement, now: dt.datetime) -> int:
    """At the due moment, prompt every agency that has not answered, and tell the
    social worker who has and has not (R3)."""
    answered = reported(review)
    agencies = agency_recipients(agreement)
    count = _ask_agencies(review, agreement, agencies, answered, "prompt", "report_prompt", now)
    if agencies:
        have = [r for r in agencies if r.id in answered]
        have_not = [r for r in agencies if r.id not in answered]
        for address, label in staff(agreement, front_door=True)[:1]:
            count += enqueue(
                review_key(review, "summary", address), "report_summary", address,
                agreement=agreement, to_label=label,
                context={"review": review, "have": have, "have_not": have_not}, now=now,
            )
    return count


def review_cancelled(review: Review, agreement: Agreement, now: dt.datetime) -> int:
    """Withdraw the calendar invitation from every agency that was sent one."""
    invited = Notification.select(Notification.key).where(
        Notification.key.startswith(f"review/{review.id}/")
        & Notification.kind.in_(("report_request", "report_prompt"))
        & (Notification.status == "sent")
    )
    recipient_ids = {int(row.key.rsplit("/", 1)[1]) for row in invited}
    count = 0
    for recipient in Recipient.select().where(Recipient.id.in_(recipient_ids)) if recipient_ids else []:
        if not recipient.email:
            continue
        count += enqueue(
            f"review/{review.id}/cancel/{recipient.id}", "review_cancelled", recipient.email,
            agreement=agreement, to_label=f"{recipient.name}, {recipient.agency_name}",
            context={"review": review, "recipient": recipient, "worker_name": _worker_name(agreement)},
            ics=_invitation(review, agreement, recipient.email, now, method="CANCEL"), now=now,
        )
    return count


# --- copies (R9) ----------------------------------------------------------------

def copies_issued(agreement: Agreement, now: dt.datetime, only: Recipient | None = None) -> int:
    """Tell each agency on the distribution list that its copy is ready (R9).

    With `only`, just that entry: its link was re-issued, and the key's link
    version makes the new email distinct from the first.
    """
    count = 0
    for recipient in [only] if only is not None else live_recipients(agreement):
        if not recipient.email:
            continue
        count += enqueue(
            f"copy/{recipient.id}/v{recipient.link_version}",
            "copy_issued",
            recipient.email,
            agreement=agreement,
            to_label=f"{recipient.name}, {recipient.agency_name}",
            context={"recipient": recipient, "worker_name": _worker_name(agreement),
                     "agency_url": links.agency_url(recipient)},
            now=now,
        )
    return count


def copy_chase(recipient: Recipient, agreement: Agreement, now: dt.datetime) -> int:
    """Ask once more for acknowledgement of a copy sent days ago (R9)."""
    return enqueue(
        f"chase/{recipient.id}/v{recipient.link_version}", "copy_chase", recipient.email,
        agreement=agreement, to_label=f"{recipient.name}, {recipient.agency_name}",
        context={"recipient": recipient, "worker_name": _worker_name(agreement), "agency_url": links.agency_url(recipient)},
        now=now,
    )


# --- undertakings (R4) ----------------------------------------------------------

def undertaking_rung(agreement: Agreement, rung: int, now: dt.datetime) -> int:
    """Rung 0 warns before the end; rung 1 escalates at the end; rung 2 and above
    repeat with the service managers added (R4). A closure undertaking has two
    rungs only: the reminder (0) and one escalation after its end (1).

    Escalations outside office hours also go to the out-of-hours team.
    """
    closure = agreement.is_closure_undertaking
    if closure:
        kind = "closure_reminder" if rung == 0 else "closure_escalation"
    else:
        kind = "undertaking_warning" if rung == 0 else "undertaking_escalation"
    ends = agreement.window_ends_at
    people = staff(agreement, front_door=True, service=rung >= 2)
    if closure:
        # It names the front door as its contact, whoever else is told.
        people = _unique([front_door_address(), *people])
    out_of_hours_now = rung >= 1 and bool(out_of_hours(now))
    if out_of_hours_now:
        people = _unique(people + out_of_hours(now))
    count = 0
    for address, label in people:
        count += enqueue(
            f"undertaking/{agreement.id}/{ends.isoformat()}/rung-{rung}/{address}", kind, address,
            agreement=agreement, to_label=label,
            context={"rung": rung, "ends_at": ends, "hours_past": max(0, int((now - ends).total_seconds() // 3600)),
                     "out_of_hours": out_of_hours_now},
            now=now,
        )
    return count


# --- breaches (R5) --------------------------------------------------------------

def breach_alert(breach: Breach, now: dt.datetime) -> int:
    """Alert the social worker (the front door when none) and team managers to a
    breach at once, and the out-of-hours team outside office hours (R5).

    Call it inside the transaction that records the breach: the savepoint
    nests, so the alert and the breach commit together or not at all.
    """
    agreement = Agreement.get_by_id(breach.agreement_id)
    ooh = out_of_hours(now)
    people = _unique(staff(agreement, front_door=True) + ooh)
    hours = settings.get("urgent_breach_escalation_hours" if breach.immediate_risk else "breach_escalation_hours")
    count = 0
    with database.atomic():
        for address, label in people:
            count += enqueue(
                f"breach/{breach.id}/alert/{address}", "breach_alert", address,
                agreement=agreement, to_label=label,
                context={"breach": breach, "escalation_hours": hours, "out_of_hours": bool(ooh)}, now=now,
            )
    return count


def breach_escalation(breach: Breach, agreement: Agreement, now: dt.datetime) -> int:
    """No manager has recorded a response in time: tell the managers and the service,
    the front door for a record with no social worker, and the out-of-hours team
    outside office hours (R5)."""
    count = 0
    people = [(m.email, f"{m.name}, team manager") for m in team_managers(agreement.team_id)]
    people += [(m.email, f"{m.name}, service manager") for m in service_managers()]
    if agreement.social_worker_id is None:
        people.insert(0, front_door_address())
    ooh = out_of_hours(now)
    for address, label in _unique(people + ooh):
        count += enqueue(
            f"breach/{breach.id}/escalation/{address}", "breach_escalation", address,
            agreement=agreement, to_label=label, context={"breach": breach, "out_of_hours": bool(ooh)}, now=now,
        )
    return count


# --- the managers' digest (R2) --------------------------------------------------

def digest(team: Team, items: dict[str, list], london_date: dt.date, now: dt.datetime) -> int:
    """The day's overdue items for one team, to each of its managers; once a day."""
    if not any(items.values()):
        return 0
    count = 0
    for manager in team_managers(team.id):
        count += enqueue(
            f"digest/{team.id}/{london_date.isoformat()}/{manager.email}", "digest", manager.email,
            to_label=f"{manager.name}, team manager",
            context={"team": team, "items": items, "day": london_date, "manager": manager,
                     "initials_of": initials}, now=now,
        )
    return count
