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

import contextvars
import datetime as dt
from contextlib import contextmanager

from flask import current_app

from tracker import models, settings
from tracker.agencies import tokens
from tracker.clock import moment_words, time_words, to_london
from tracker.db import database
from tracker.models import AgencyReport, Agreement, Breach, Notification, Recipient, Review, Team, User
from tracker.notices import ics, texts
from tracker.notices.notify import enqueue, initials, render

# --- who ----------------------------------------------------------------------

class People:
    """The people a sweep writes to, read in one statement per sweep: users by id,
    active team managers by team, active service managers. See `people_once`."""

    def __init__(self):
        self._users: dict[int, User] | None = None
        self.managers: dict[int, list[User]] = {}
        self.service: list[User] = []

    @property
    def users(self) -> dict[int, User]:
        if self._users is None:
            everyone = list(User.select(User.id, User.name, User.email, User.role, User.team, User.active)
                            .order_by(User.id))
            self._users = {u.id: u for u in everyone}
            for user in everyone:
                if user.active and user.role == "team_manager" and user.team_id is not None:
                    self.managers.setdefault(user.team_id, []).append(user)
                if user.active and user.role == "service_manager":
                    self.service.append(user)
        return self._users

    def user(self, user_id: int | None) -> User | None:
        return self.users.get(user_id) if user_id is not None else None

    def team_managers(self, team_id: int) -> list[User]:
        self.users  # noqa: B018 - read everyone once, which files the managers
        return self.managers.get(team_id, [])

    def service_managers(self) -> list[User]:
        self.users  # noqa: B018 - as above
        return self.service


_people: contextvars.ContextVar[People | None] = contextvars.ContextVar("people", default=None)


@contextmanager
def people_once():
    """For the length of a sweep, look each person up once (nested uses share one cache)."""
    if _people.get() is not None:
        yield _people.get()
        return
    token = _people.set(People())
    try:
        yield _people.get()
    finally:
        _people.reset(token)


def _active_users(query) -> list[User]:
    return list(query.where(User.active == True).order_by(User.id))


def team_managers(team_id: int) -> list[User]:
    people = _people.get()
    if people is not None:
        return people.team_managers(team_id)
    return _active_users(User.select().where((User.team == team_id) & (User.role == "team_manager")))


def service_managers() -> list[User]:
    people = _people.get()
    if people is not None:
        return people.service_managers()
    return _active_users(User.select().where(User.role == "service_manager"))


def _user(user_id: int | None) -> User | None:
    people = _people.get()
    if people is not None:
        return people.user(user_id)
    return User.get_or_none(User.id == user_id) if user_id is not None else None


def staff(
    agreement: Agreement, *, front_door: bool = True, service: bool = False
) -> list[tuple[str, str]]:
    """(address, label) of the social worker and team managers, without repeats.

    With `front_door`, the front door's email (a service setting) stands in
    for a record with no (active) social worker, as for an undertaking left in
    place at case closure.
    """
    people: list[tuple[str, str]] = []
    worker = _user(agreement.social_worker_id)
    if worker is not None and worker.active:
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
    """The entries the agency emails go to: on the list, with an address, and not
    revoked. A revoked entry is sent nothing more until its link is re-issued
    (R10); the query leaves it out, so no sweep has to remember to."""
    return list(agreement.recipients.where(
        Recipient.removed_at.is_null() & Recipient.link_revoked_at.is_null() & (Recipient.email != "")
    ).order_by(Recipient.position))


def _worker_name(agreement: Agreement) -> str:
    worker = _user(agreement.social_worker_id)
    return worker.name if worker else f"the {settings.contacts()['front_door_term'].lower()}"


# --- keys ---------------------------------------------------------------------

def stamp(moment: dt.datetime) -> str:
    return f"{moment:%Y%m%dT%H%M}"


def review_key(review: Review, what: str, who: str) -> str:
    return f"review/{review.id}/{stamp(review.scheduled_at)}/{what}/{who}"


def still_wanted(notification: Notification) -> str | None:
    """None when the message should go; otherwise why it no longer should.

    Reads the key written by the functions below, then, for every kind, the
    record's state: nothing goes about an ended record but the kinds in
    STILL_WANTED_AFTER_END. A digest is about a team, and always wanted.
    """
    parts = notification.key.split("/")
    family = parts[0]
    if family == "review" and len(parts) >= 4 and parts[2] != "cancel":
        review = _known_row(Review, "reviews", int(parts[1]))
        if review is None or review.status != "scheduled":
            return f"Not sent: the review was {review.status if review else 'removed'} before this went out"
        if stamp(review.scheduled_at) != parts[2]:
            return "Not sent: the review moved before this went out"
        if _known_row(Agreement, "agreements", review.agreement_id).status != "active":
            return "Not sent: the agreement ended before this went out"
    elif family == "undertaking" and len(parts) >= 3:
        agreement = _known_row(Agreement, "agreements", int(parts[1]))
        if agreement is None or agreement.status != "active":
            return "Not sent: the undertaking ended before this went out"
        if agreement.window_ends_at is None or agreement.window_ends_at.isoformat() != parts[2]:
            return "Not sent: the undertaking's end changed before this went out"
        if len(parts) >= 5 and parts[3].startswith("rung-"):
            rung, address = int(parts[3][5:]), "/".join(parts[4:])
            later = [f"undertaking/{parts[1]}/{parts[2]}/rung-{n}/{address}"
                     for n in range(rung + 1, max(rung, agreement.escalation_level) + 1)]
            if _queued_or_sent(later):
                return "Not sent: superseded by a later escalation about this undertaking, which went instead"
    elif family == "breach" and len(parts) >= 4 and parts[2] == "alert":
        # After an outage, the reader gets the escalation, which says it all, not both.
        if _queued_or_sent([f"breach/{parts[1]}/escalation/{'/'.join(parts[3:])}"]):
            return "Not sent: superseded by the breach's escalation, which went instead"
    elif family in ("copy", "chase") and len(parts) >= 3:
        recipient = _known_row(Recipient, "recipients", int(parts[1]))
        if recipient is None or recipient.removed_at is not None:
            return "Not sent: the agency was taken off the list"
        if family == "chase" and recipient.acknowledged_at is not None:
            return "Not sent: the copy was acknowledged"
        # The link it carries is checked by check_agency_link, next.
        if _known_row(Agreement, "agreements", recipient.agreement_id).status != "active":
            return "Not sent: the agreement ended before this went out"
    elif family == "breach" and len(parts) >= 3 and parts[2] == "escalation":
        breach = _known_row(Breach, "breaches", int(parts[1]))
        if breach is None or breach.response is not None:
            return "Not sent: a manager recorded the response first"
    elif family == "family-link" and len(parts) >= 4:
        from tracker.family import links as family_links

        return family_links.still_wanted(parts)
    elif family in ("endorse", "endorse-escalation") and len(parts) >= 2:
        # "Please endorse or return ..." went to managers for records ended two
        # days earlier: the request is wanted only while the record (or its
        # variation) still waits, which `awaiting_since` says.
        agreement = _known_row(Agreement, "agreements", int(parts[1]))
        if agreement is None or agreement.status == "ended":
            return "Not sent: the record ended before this went out"
        if agreement.awaiting_since is None:
            return "Not sent: the record was endorsed or returned before this went out"
    # Whatever the kind, nothing goes about a record that has ended (ended,
    # replaced, escalated) except the calendar cancellation its ending sent.
    if notification.agreement_id is not None and notification.kind not in STILL_WANTED_AFTER_END:
        if _agreement_status(notification.agreement_id) == "ended":
            return "Not sent: the record ended before this went out"
    return None


# Kinds that are about a record's ending, so sent after it.
STILL_WANTED_AFTER_END = ("review_cancelled", "retention_review")


def _queued_or_sent(keys: list[str]) -> bool:
    """Whether any of these outbox keys is queued, being sent or sent (by the unique key index)."""
    if not keys:
        return False
    known = _known.get()
    if known is not None and known.keys_read.issuperset(keys):
        return not known.live_keys.isdisjoint(keys)
    return Notification.select(Notification.id).where(
        Notification.key.in_(keys) & (Notification.status != "cancelled")).exists()


# --- a delivery batch's records, read together ------------------------------------

class Known:
    """The records a batch of queued emails is about, read in one statement a table.

    `still_wanted` and `check_agency_link` look a record up here first; an id
    read and not found is None (gone), an id never read is looked up as before.
    """

    def __init__(self):
        self.reviews: dict[int, Review | None] = {}
        self.agreements: dict[int, Agreement | None] = {}
        self.recipients: dict[int, Recipient | None] = {}
        self.breaches: dict[int, Breach | None] = {}
        self.keys_read: set[str] = set()  # outbox keys whose state was read ...
        self.live_keys: set[str] = set()  # ... and those queued, being sent or sent


_known: contextvars.ContextVar[Known | None] = contextvars.ContextVar("known", default=None)


def _known_row(model, table: str, row_id: int | None):
    known = _known.get()
    if known is not None and row_id in getattr(known, table):
        return getattr(known, table)[row_id]
    return model.get_or_none(model.id == row_id) if row_id is not None else None


def _agreement_status(agreement_id: int) -> str | None:
    known = _known.get()
    if known is not None and agreement_id in known.agreements:
        agreement = known.agreements[agreement_id]
        return agreement.status if agreement is not None else None
    return Agreement.select(Agreement.status).where(Agreement.id == agreement_id).scalar()


def _read(model, ids: set[int]) -> dict:
    found: dict = dict.fromkeys(ids)
    ordered = sorted(ids)
    for start in range(0, len(ordered), 500):
        found.update({row.id: row for row in model.select().where(model.id.in_(ordered[start:start + 500]))})
    return found


def _number(text: str) -> int | None:
    return int(text) if text.isdigit() else None


@contextmanager
def checking(rows: list[Notification]):
    """For a delivery batch: what `still_wanted` and `check_agency_link` read,
    read set-based up front (reviews, distribution entries, breaches, then the
    records they belong to, then the outbox keys that would supersede one),
    at most five statements whatever the batch's size, instead of two to four
    a message. Inside, both functions answer from these reads."""
    reviews, recipients, breaches, agreements = set(), set(), set(), set()
    for row in rows:
        parts = row.key.split("/")
        family, number = parts[0], _number(parts[1]) if len(parts) > 1 else None
        if family == "review" and len(parts) >= 4 and parts[2] != "cancel" and number is not None:
            reviews.add(number)
        elif family in ("undertaking", "endorse", "endorse-escalation") and number is not None:
            agreements.add(number)
        elif family in ("copy", "chase") and len(parts) >= 3 and number is not None:
            recipients.add(number)
        elif family == "breach" and len(parts) >= 3 and parts[2] == "escalation" and number is not None:
            breaches.add(number)
        if row.agreement_id is not None:
            agreements.add(row.agreement_id)
        if row.recipient_id is not None:
            recipients.add(row.recipient_id)
    known = Known()
    if reviews:
        known.reviews = _read(Review, reviews)
        agreements |= {r.agreement_id for r in known.reviews.values() if r is not None}
    if recipients:
        known.recipients = _read(Recipient, recipients)
        agreements |= {r.agreement_id for r in known.recipients.values() if r is not None}
    if breaches:
        known.breaches = _read(Breach, breaches)
    if agreements:
        known.agreements = _read(Agreement, agreements)
    # The keys that would supersede a message: a later rung, the breach's escalation.
    keys: set[str] = set()
    for row in rows:
        parts = row.key.split("/")
        if parts[0] == "undertaking" and len(parts) >= 5 and parts[3].startswith("rung-") and parts[1].isdigit():
            agreement = known.agreements.get(int(parts[1]))
            if agreement is not None and parts[3][5:].isdigit():
                rung, address = int(parts[3][5:]), "/".join(parts[4:])
                keys.update(f"undertaking/{parts[1]}/{parts[2]}/rung-{n}/{address}"
                            for n in range(rung + 1, max(rung, agreement.escalation_level) + 1))
        elif parts[0] == "breach" and len(parts) >= 4 and parts[2] == "alert":
            keys.add(f"breach/{parts[1]}/escalation/{'/'.join(parts[3:])}")
    if keys:
        ordered = sorted(keys)
        for start in range(0, len(ordered), 500):
            chunk = ordered[start:start + 500]
            known.live_keys.update(k for (k,) in Notification.select(Notification.key).where(
                Notification.key.in_(chunk) & (Notification.status != "cancelled")).tuples())
        known.keys_read = keys
    token = _known.set(known)
    try:
        yield known
    finally:
        _known.reset(token)


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


def how_soon(moment: dt.datetime, now: dt.datetime) -> str:
    """When a moment is, as the email says it, by London calendar days.

    "today at 11am" for a review 73 minutes away, "tomorrow at 10:30am", else
    "in 7 days, on 15 January 2027 at 10am". The reminder's offset (7 or 1)
    names its key, not its wording: one sent late says the real time.
    """
    local = to_london(moment)
    word = day_word(moment, now)
    return f"{word} at {time_words(local)}" if word in ("today", "tomorrow") else f"{word}, on {moment_words(moment)}"


def day_word(moment: dt.datetime, now: dt.datetime) -> str:
    """"today", "tomorrow" or "in N days", by London calendar days."""
    days = (to_london(moment).date() - to_london(now).date()).days
    return "today" if days <= 0 else ("tomorrow" if days == 1 else f"in {days} days")


def review_reminder(review: Review, agreement: Agreement, days: int, now: dt.datetime) -> int:
    """Remind the social worker and team managers of a review `days` ahead (R2)."""
    count = 0
    for address, label in staff(agreement, front_door=False):
        count += enqueue(
            review_key(review, f"reminder-{days}d", address), "review_reminder", address,
            agreement=agreement, to_label=label,
            context={"review": review, "how_soon": how_soon(review.scheduled_at, now),
                     "day_word": day_word(review.scheduled_at, now)},
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
        key = review_key(review, what, str(recipient.id))
        if Notification.select(Notification.id).where(Notification.key == key).exists():
            continue  # queued already: spare renewing its link and rendering it again
        context, invitation = _agency_message(kind, recipient, agreement, now, review)
        count += enqueue(key, kind, recipient.email, agreement=agreement, to_label=_agency_label(recipient),
                         context=context, ics=invitation, now=now, link_for=recipient)
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
    # A revoked entry is sent nothing more, not even a calendar cancellation (R10).
    invitees = Recipient.select().where(Recipient.id.in_(recipient_ids) & Recipient.link_revoked_at.is_null())
    for recipient in invitees if recipient_ids else []:
        if not recipient.email:
            continue
        count += enqueue(
            f"review/{review.id}/cancel/{recipient.id}", "review_cancelled", recipient.email,
            agreement=agreement, to_label=f"{recipient.name}, {recipient.agency_name}",
            context={"review": review, "recipient": recipient, "worker_name": _worker_name(agreement),
                     "worker_phone": models.worker_telephone(agreement)},
            ics=_invitation(review, agreement, recipient.email, now, method="CANCEL"), now=now,
        )
    return count


# --- copies (R9) ----------------------------------------------------------------

def _version_part(agreement: Agreement) -> str:
    """Each version after the first is a new copy to send, acknowledge and chase (R11)."""
    return f"/version-{agreement.version}" if agreement.version > 1 else ""


def copies_issued(agreement: Agreement, now: dt.datetime, only: Recipient | None = None,
                  changed: list[str] | None = None) -> int:
    """Tell each agency on the distribution list that its copy is ready (R9).

    With `only`, just that entry: its link was re-issued, and the key's link
    version makes the new email distinct from the first. `changed`: for a new
    version, the labels of what changed from the one before (the field
    registry's words), so the email says it ("the actions and the plan for
    when things go wrong changed") and asks for the new version to be acknowledged.
    """
    count = 0
    for recipient in [only] if only is not None else agency_recipients(agreement):
        if not recipient.email or recipient.link_revoked_at is not None:
            continue
        context, _ = _agency_message("copy_issued", recipient, agreement, now)
        context["changed"] = _in_words(changed or [])
        count += enqueue(f"copy/{recipient.id}/v{recipient.link_version}{_version_part(agreement)}", "copy_issued", recipient.email,
                         agreement=agreement, to_label=_agency_label(recipient), context=context, now=now,
                         link_for=recipient)
    return count


def _in_words(labels: list[str]) -> str:
    """Labels as one phrase: ["Actions", "Children"] as "the actions and the children"."""
    words = [label if label[:2].isupper() else label[0].lower() + label[1:] for label in labels]
    words = [w if w.lower().startswith("the ") else f"the {w}" for w in words]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1] if words else ""


def copy_chase(recipient: Recipient, agreement: Agreement, now: dt.datetime) -> int:
    """Ask once more for acknowledgement of a copy sent days ago (R9)."""
    context, _ = _agency_message("copy_chase", recipient, agreement, now)
    return enqueue(f"chase/{recipient.id}/v{recipient.link_version}{_version_part(agreement)}", "copy_chase", recipient.email,
                   agreement=agreement, to_label=_agency_label(recipient), context=context, now=now,
                   link_for=recipient)


def new_link(recipient: Recipient, agreement: Agreement, now: dt.datetime) -> int:
    """A new link, asked for from a stopped one, to the address on the list.

    Once an hour at most per entry and link: the key names the hour.
    """
    context, _ = _agency_message("agency_link", recipient, agreement, now)
    return enqueue(f"new-link/{recipient.id}/v{recipient.link_version}/{now:%Y%m%dT%H}", "agency_link",
                   recipient.email, agreement=agreement, to_label=_agency_label(recipient), context=context,
                   now=now, link_for=recipient)


# --- the agency's link, written and checked again before sending (R10) --------------

AGENCY_LINK_KINDS = ("copy_issued", "copy_chase", "agency_link", "report_request", "report_prompt")
# These exist only to carry the link: one the link no longer matches was
# superseded by the email that the change sent itself.
LINK_ONLY_KINDS = ("copy_issued", "copy_chase", "agency_link")


def _agency_label(recipient: Recipient) -> str:
    return f"{recipient.name}, {recipient.agency_name}"


def _agency_message(kind: str, recipient: Recipient, agreement: Agreement, now: dt.datetime,
                    review: Review | None = None) -> tuple[dict, str]:
    """The context and calendar invitation of an email carrying the entry's link.

    An expired link is renewed first, so no email is written with a link that
    has already stopped.
    """
    tokens.renew_if_expired(recipient, agreement, now)
    context = {"recipient": recipient, "worker_name": _worker_name(agreement),
               "worker_phone": models.worker_telephone(agreement), "agency_url": tokens.agency_url(recipient),
               "link_expires_at": tokens.expires_at(recipient, agreement)}
    invitation = ""
    if review is not None:
        context["review"] = review
        invitation = _invitation(review, agreement, recipient.email, now)
    return context, invitation


def check_agency_link(row: Notification, now: dt.datetime) -> str | None:
    """Just before sending: does the agency link this email carries still work?

    None when it may go, perhaps after being re-rendered here with the entry's
    current link and address (the row and `row` are updated); otherwise the
    reason it must not go, for the row's status. Called by the delivery pass
    after `still_wanted`.

    1. Only emails that name a distribution entry carry a link.
    2. Removed, ended and revoked: cancelled. A revoked entry is sent nothing
       until it is re-issued, and the re-issue sends its own copy.
    3. A copy, chase or new-link email whose link was replaced (re-issued, or
       the address or agency changed) is cancelled: that change sent its own.
    4. A request or prompt is still wanted: it is re-rendered with the current
       link (renewed first if it has expired) and sent to the current address.
    """
    if row.recipient_id is None:
        return None
    recipient = _known_row(Recipient, "recipients", row.recipient_id)
    if recipient is None or recipient.removed_at is not None:
        return "Not sent: the agency was taken off the distribution list before this went out"
    agreement = _known_row(Agreement, "agreements", recipient.agreement_id)
    if agreement.status != "active":
        return "Not sent: the agreement ended before this went out"
    if recipient.link_revoked_at is not None:
        return "Not sent: the agency's link was revoked before this went out; nothing goes to it until a new link is sent"
    if not recipient.email:
        return "Not sent: the agency no longer has an email address on the list"
    readdressed = row.to_address.strip().lower() != recipient.email.strip().lower()
    replaced = row.link_version != recipient.link_version or readdressed
    if row.kind in LINK_ONLY_KINDS and replaced:
        return ("Not sent: the agency's email address changed before this went out; the new address was sent its copy"
                if readdressed else
                "Not sent: the agency's link was re-issued before this went out; the new link was sent on its own")
    with database.atomic():
        renewed = tokens.renew_if_expired(recipient, agreement, now)
        if replaced or renewed:
            _rewrite(row, recipient, agreement, now)
    return None


def _rewrite(row: Notification, recipient: Recipient, agreement: Agreement, now: dt.datetime) -> None:
    """Render a queued agency email again with the entry's current link and address."""
    review = None
    if row.kind in ("report_request", "report_prompt"):
        review = Review.get_by_id(int(row.key.split("/")[1]))
    context, invitation = _agency_message(row.kind, recipient, agreement, now, review)
    subject, body_text, body_html = render(row.kind, context, agreement)
    values = dict(subject=subject, body_text=body_text, body_html=body_html, ics=invitation or row.ics,
                  to_address=recipient.email, to_label=_agency_label(recipient), link_version=recipient.link_version)
    Notification.update(**values).where(Notification.id == row.id).execute()
    for name, value in values.items():
        setattr(row, name, value)


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
                context={"breach": breach, "escalation_hours": hours, "out_of_hours": bool(ooh),
                         "respond_by": breach.escalate_at or breach.created_at + dt.timedelta(hours=hours)}, now=now,
            )
        count += out_of_hours_text(breach, agreement, now)
    return count


def out_of_hours_text(breach: Breach, agreement: Agreement, now: dt.datetime) -> int:
    """An urgent breach out of hours also texts the out-of-hours team's mobile, where the service
    setting gives one and Notify is set up (R5). The text has the record's reference and a link
    to it, behind sign-in: no name, no initials, nothing of what happened."""
    mobile = settings.get("out_of_hours_mobile")
    if not (breach.immediate_risk and mobile and out_of_hours(now) and texts.available("breach_alert")):
        return 0
    return int(texts.queue_text(
        f"breach/{breach.id}/alert/text/{mobile}", "breach_alert", mobile, agreement=agreement,
        to_label="Out-of-hours team", now=now,
        personalisation={"reference": agreement.reference,
                         "link": f"{current_app.config['BASE_URL']}/agreements/{agreement.id}"}))


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


# --- endorsement (R11) ------------------------------------------------------------

def _endorse_url(agreement: Agreement) -> str:
    return f"{current_app.config['BASE_URL']}/agreements/{agreement.id}/endorse"


def endorsement_requested(agreement: Agreement, submitted_by: User, number: int, now: dt.datetime) -> int:
    """Tell the team's managers a record (or its variation) waits for their endorsement.

    Undertakings say URGENT in the subject. A team with no manager, or whose
    only manager wrote it, goes to the service managers.
    """
    people = [(m.email, f"{m.name}, team manager") for m in team_managers(agreement.team_id) if m.id != submitted_by.id]
    if not people:
        people = [(m.email, f"{m.name}, service manager") for m in service_managers() if m.id != submitted_by.id]
    count = 0
    for address, label in people:
        count += enqueue(
            f"endorse/{agreement.id}/v{number}/{stamp(now)}/{address}", "endorsement_requested", address,
            agreement=agreement, to_label=label,
            context={"submitted_by": submitted_by.name, "number": number, "endorse_url": _endorse_url(agreement)},
            now=now,
        )
    return count


def endorsement_escalation(agreement: Agreement, now: dt.datetime) -> int:
    """An undertaking still waiting for endorsement: tell the service managers."""
    hours = max(0, int((now - agreement.awaiting_since).total_seconds() // 3600)) if agreement.awaiting_since else 0
    count = 0
    for manager in service_managers():
        count += enqueue(
            f"endorse-escalation/{agreement.id}/{stamp(agreement.awaiting_since or now)}/{manager.email}",
            "endorsement_escalation", manager.email, agreement=agreement,
            to_label=f"{manager.name}, service manager",
            context={"hours": hours, "endorse_url": _endorse_url(agreement)}, now=now,
        )
    return count


def returned_to_worker(agreement: Agreement, manager: User, comments: str, number: int, now: dt.datetime) -> int:
    """The manager's comments, to the social worker (the author when none is named)."""
    worker = User.get_or_none((User.id == (agreement.social_worker_id or agreement.created_by_id)) & (User.active == True))
    if worker is None:
        return 0
    return enqueue(
        f"returned/{agreement.id}/v{number}/{stamp(now)}/{worker.email}", "returned_to_worker", worker.email,
        agreement=agreement, to_label=f"{worker.name}, social worker",
        context={"manager_name": manager.name, "comments": comments, "number": number}, now=now,
    )
