"""Drafting a record: create it and change what it says, its lists and its
review; the printable copy's data (`form_data`). Submitting, endorsing and
ending are in `lifecycle`.

Each function runs inside one transaction: the model changes, the audit event
and any notifications commit together or not at all. `now` is a parameter;
nothing here reads the clock.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid

from tracker import audit, rules, settings
from tracker.agencies import links
from tracker.db import database
from tracker.ids import parse_id, parse_number
from tracker.models import (
    LEGAL_ADVICE,
    UNDERTAKING_KINDS,
    Action,
    Agency,
    Agreement,
    AgreementChild,
    Party,
    Recipient,
    Review,
    User,
    children_of,
    claim,
    forget,
    live_actions,
    live_parties,
    live_recipients,
    next_review,
)
from tracker.notices import mailings
from tracker.records import fields, identity, responsibility
from tracker.rules import RuleBroken

# What only an undertaking has; never part of a partnership agreement's history.
UNDERTAKING_ONLY = ("undertaking_kind", "closure_weeks", "window_starts_at", "window_ends_at", "window_reason")

# The record's own columns, as the registry declares them (tracker.records.fields);
# the undertaking's kind and weeks and the legal advice mirror are worked out in `save`.
SCALAR_FIELDS = tuple(name for name in fields.STORED if name not in ("undertaking_kind", "closure_weeks",
                                                                      "legal_advice_taken"))


def form_data(agreement: Agreement) -> dict:
    """The agreement as the edit form's data."""
    data = {name: getattr(agreement, name) for name in SCALAR_FIELDS}
    data["undertaking_kind"] = agreement.undertaking_kind
    data["closure_weeks"] = str(agreement.closure_weeks) if agreement.closure_weeks else ""
    data["social_worker"] = agreement.social_worker_id or 0
    data["children"] = [{"name": c.name, "date_of_birth": c.date_of_birth, "person_id": c.person_id,
                         "nhs_number": c.nhs_number, "unborn": c.unborn} for c in children_of(agreement)]
    data["actions"] = [
        {"id": a.id, "what": a.what, "who": a.who, "timescale": a.timescale, "due_on": a.due_on}
        for a in live_actions(agreement)
    ]
    data["parties"] = [{"id": p.id, "name": p.name, "role": p.role, "side": p.side, "signed_on": p.signed_on}
                       for p in live_parties(agreement)]
    data["recipients"] = [
        {
            "id": r.id,
            "name": r.name,
            "agency_name": r.agency_name,
            "agency_kind": r.agency_kind,
            "directory": str(r.agency_id) if r.agency_id else "",
            "role": r.role,
            "email": r.email,
            "breach_contact": r.breach_contact,
        }
        for r in live_recipients(agreement)
    ]
    review = next_review(agreement)
    data["review_at"] = review.scheduled_at if review else None
    data["review_venue"] = review.venue if review else ""
    return data


def _snapshot(rows: list[dict]) -> str:
    return json.dumps(rows, default=str, sort_keys=True)


def _row_id(row: dict) -> int | None:
    return parse_id(row.get("id"))


def _differs(row, name: str, value) -> bool:
    if name == "agency":  # a foreign key: compare ids without loading the agency
        return row.agency_id != (value.id if value is not None else None)
    return getattr(row, name) != value


def _sync_rows(model, agreement, existing: list, rows: list[dict], fields: tuple[str, ...], now) -> list:
    """Make the live rows match `rows`, matched by their id; returns the rows created.

    A row keeps its identity: an agency's link, acknowledgement and reports, or
    the breaches logged against an action, stay with the row they belong to
    when rows above it are removed. Rows no longer in the form are retired, not
    deleted. An id that is not one of this record's live rows makes a new row.
    """
    nullable = {"due_on", "signed_on", "agency"}
    by_id = {current.id: current for current in existing}
    kept: set[int] = set()
    created = []
    for position, row in enumerate(rows):
        values = {name: row.get(name) for name in fields}
        for name, value in values.items():
            if value is None and name not in nullable:
                values[name] = ""
            elif isinstance(value, str):
                values[name] = value.strip()
        current = by_id.get(_row_id(row))
        if current is not None and current.id not in kept:
            kept.add(current.id)
            values["position"] = position
            if any(_differs(current, k, v) for k, v in values.items()):
                model.update(**values).where(model.id == current.id).execute()
        else:
            created.append(model.create(agreement=agreement, position=position, **values))
    for surplus in existing:
        if surplus.id not in kept:
            model.update(removed_at=now).where(model.id == surplus.id).execute()
    return created


def _sync_children(agreement: Agreement, rows: list[dict], now) -> None:
    links = list(
        AgreementChild.select()
        .where((AgreementChild.agreement == agreement) & AgreementChild.removed_at.is_null())
        .order_by(AgreementChild.position)
    )
    for position, row in enumerate(rows):
        # The same child on several records is one Child row, found by the
        # normalised name and date of birth (R13); rows typed differently are
        # offered as "possibly the same child" and linked by a worker.
        child = identity.find_or_create(row["name"], row["date_of_birth"], row.get("person_id") or "",
                                        row.get("nhs_number") or "", bool(row.get("unborn")), now)
        if position < len(links):
            if links[position].child_id != child.id:
                AgreementChild.update(child=child).where(AgreementChild.id == links[position].id).execute()
        else:
            AgreementChild.create(agreement=agreement, child=child, position=position)
    for surplus in links[len(rows):]:
        AgreementChild.update(removed_at=now).where(AgreementChild.id == surplus.id).execute()


def _schedule_review(agreement: Agreement, at: dt.datetime | None, venue: str, user: User, now) -> None:
    """Create, move or keep the next review so that it matches the form (R1)."""
    review = next_review(agreement)
    if at is None:
        return
    if review is None:
        schedule_review(agreement, at, venue, now, user=user)
        return
    if review.scheduled_at != at or review.venue != (venue or ""):
        previous = json.loads(review.previous_dates or "[]")
        if review.scheduled_at != at:
            previous.append(review.scheduled_at.isoformat())
        Review.update(
            scheduled_at=at,
            venue=venue or "",
            sequence=Review.sequence + (1 if review.scheduled_at != at else 0),
            previous_dates=json.dumps(previous),
            **review_moments(at),
        ).where(Review.id == review.id).execute()
        audit.record("review_moved", user=user, agreement=agreement, entity="review", entity_id=review.id,
                     changes={"scheduled_at": [review.scheduled_at, at], "venue": [review.venue, venue]}, at=now)
    Agreement.update(next_review_at=at).where(Agreement.id == agreement.id).execute()


def schedule_review(agreement: Agreement, at: dt.datetime, venue: str, now: dt.datetime, *,
                    user: User | None = None, imported: bool = False) -> Review:
    """Make the next review of a record with every notice moment set (R1, R2, R3).

    The one way a scheduled review comes to exist: from the record's form, from
    a review that continues the agreement, or from an imported spreadsheet row
    (`imported`: its moments already past send nothing, except one overdue
    notice for a review date already gone). Audited when a `user` made it; the
    import writes its own audit event. Call inside the caller's transaction.
    """
    venue = (venue or "").strip()[:300]
    review = Review.create(agreement=agreement, scheduled_at=at, venue=venue, created_at=now,
                           **review_moments(at, already=now if imported else None))
    Agreement.update(next_review_at=at).where(Agreement.id == agreement.id).execute()
    if user is not None:
        audit.record("review_scheduled", user=user, agreement=agreement, entity="review", entity_id=review.id,
                     changes={"scheduled_at": [None, at], "venue": [None, venue]}, at=now)
    return review


def review_moments(at: dt.datetime, already: dt.datetime | None = None) -> dict:
    """A review's report window and notice moments from its date and the service settings (R2, R3).

    With `already` (an imported review, known only now): moments before it send
    nothing, but a review date already gone is overdue at once.
    """
    reminder_days = settings.get("review_reminder_days")
    request_days, due_days = settings.get("report_request_days"), settings.get("report_due_days")
    opens, due = rules.review_moments(at, request_days=request_days, due_days=due_days)
    moments = rules.review_notice_moments(at, reminder_days=reminder_days, request_days=request_days,
                                          due_days=due_days, overdue_hours=settings.get("overdue_notice_hours"))
    if already is not None:
        moments["reminder_at"] = rules.next_reminder_at(at, reminder_days, already)
        for name in ("request_at", "prompt_at"):
            if moments[name] <= already:
                moments[name] = None
        if at <= already:
            moments["overdue_at"] = min(moments["overdue_at"], already)
    return {"requests_open_at": opens, "reports_due_at": due, **moments}


def plan_review_notices(review_id: int) -> None:
    """Set a scheduled review's notice moments afresh from its date (R2, R3): when it is endorsed into force."""
    review = Review.get_by_id(review_id)
    Review.update(**review_moments(review.scheduled_at)).where(Review.id == review_id).execute()


def closure_window(data: dict) -> tuple[int | None, dict[str, str]]:
    """A closure undertaking's agreed weeks, and its end worked out into `data` (R4)."""
    most = settings.get("closure_undertaking_max_weeks")
    text = str(data.get("closure_weeks") or "").strip()
    errors: dict[str, str] = {}
    weeks = parse_number(text, 0, 999)
    if not text:
        errors["closure_weeks"] = "Enter how many weeks the closure undertaking lasts"
    elif weeks is None or not 1 <= weeks <= most:
        errors["closure_weeks"] = f"A closure undertaking lasts a whole number of weeks, from 1 to {most}"
    if data.get("window_starts_at") is None:
        errors["window_starts_at"] = "Enter when the undertaking starts"
    if not errors:
        data["window_ends_at"] = data["window_starts_at"] + dt.timedelta(weeks=weeks)
    return weeks, errors


def window_errors_for(data: dict, user: User) -> dict[str, str]:
    if data.get("undertaking_kind") == "closure":
        return closure_window(data)[1]
    return rules.window_errors(
        data.get("window_starts_at"),
        data.get("window_ends_at"),
        ceiling_hours=settings.get("undertaking_ceiling_hours"),
        by_manager=user.is_manager,
        reason=data.get("window_reason") or "",
    )


def save(agreement: Agreement | None, kind: str, data: dict, user: User, now: dt.datetime, *,
         variation: bool = False, revision=None) -> Agreement:
    """Create or change a record from the form's data, with its audit event.

    With `variation`, an endorsed variation is coming into force (tracker.records.versions):
    the family-agreed content, an undertaking's window included, may change.
    `revision`: the revision the form was opened on; a newer one raises
    `models.Stale` and nothing is saved.
    """
    forget(agreement)
    fields.check(data)  # a name the registry does not know is never silently dropped
    data = dict(data)
    if kind == "undertaking" and data.get("undertaking_kind") not in UNDERTAKING_KINDS:
        data["undertaking_kind"] = agreement.undertaking_kind if agreement is not None else "emergency"
    errors = window_errors_for(data, user) if kind == "undertaking" else {}
    if errors:
        raise RuleBroken(errors)
    if kind == "undertaking" and agreement is not None and agreement.status == "active" and (
        data["undertaking_kind"] != agreement.undertaking_kind
    ):
        raise RuleBroken({"undertaking_kind": "An active undertaking's kind cannot change: end it and make a new one"})
    if kind == "partnership" and agreement is not None and agreement.status == "active" and data.get("review_at") is None:
        raise RuleBroken({"review_at": "An active agreement must always have its next review date"})
    if kind == "undertaking" and agreement is not None and agreement.status == "active" and not variation and (
        data.get("window_starts_at") != agreement.window_starts_at
        or data.get("window_ends_at") != agreement.window_ends_at
    ):
        # Otherwise a new window typed here would restart the escalation
        # ladder with no manager's decision (R4). Extending is that decision.
        raise RuleBroken({"window_ends_at": "An active undertaking's window can only be changed by a manager, "
                                            "with a reason, on its Extend page"})
    with database.atomic():
        if agreement is not None:
            claim(agreement.id, revision)
        # A field the caller does not give is left as it is (the family's copy
        # is recorded as issued on its own page, `issue`); a new record takes
        # the blank of each.
        values = {name: data.get(name) for name in SCALAR_FIELDS
                  if agreement is None or name in data or name == "legal_advice"}
        for name, value in values.items():
            if isinstance(value, str):
                values[name] = value.strip()
            if value is None and fields.field(name).kind not in (fields.DATE, fields.MOMENT):
                values[name] = False if fields.field(name).kind == fields.BOOL else ""
        if "legal_advice" not in data and agreement is not None and "legal_advice_taken" not in data:
            values["legal_advice"] = agreement.legal_advice
        if not values["legal_advice"] and data.get("legal_advice_taken") in ("yes", "no"):
            values["legal_advice"] = data["legal_advice_taken"]  # callers of the old yes/no field
        if values["legal_advice"] not in LEGAL_ADVICE:
            values["legal_advice"] = "not_recorded"  # never silently "no" (R4)
        values["legal_advice_taken"] = values["legal_advice"] == "yes"
        closure = kind == "undertaking" and data.get("undertaking_kind") == "closure"
        values["undertaking_kind"] = data.get("undertaking_kind") if kind == "undertaking" else "emergency"
        values["closure_weeks"] = closure_window(data)[0] if closure else None
        values["social_worker"] = data.get("social_worker") or None
        if kind != "undertaking":
            for name in ("window_starts_at", "window_ends_at"):
                values[name] = None
        before: dict = {}
        if agreement is None:
            agreement = Agreement.create(
                reference=uuid.uuid4().hex[:20],
                kind=kind,
                status="draft",
                team=user.team_id,
                created_by=user,
                created_at=now,
                updated_at=now,
                **values,
            )
            prefix = "PA" if kind == "partnership" else "WU"
            agreement.reference = f"{prefix}-{agreement.id:05d}"
            Agreement.update(reference=agreement.reference).where(Agreement.id == agreement.id).execute()
            action = "created"
        else:
            before = form_data(agreement)
            before["social_worker"] = agreement.social_worker_id
            Agreement.update(updated_at=now, **values).where(Agreement.id == agreement.id).execute()
            action = "changed"
        _sync_children(agreement, data.get("children") or [], now)
        _sync_rows(Party, agreement, live_parties(agreement), data.get("parties") or [],
                   ("name", "role", "side", "signed_on"), now)
        added = _sync_recipients(agreement, data.get("recipients") or [], now, user)
        # Whose commitment an action is comes from who is responsible (R7).
        parties, recipients = live_parties(agreement), live_recipients(agreement)
        worker = User.get_or_none(User.id == values["social_worker"]) if values["social_worker"] else None
        actions = data.get("actions") or []
        for row in actions:
            row["side"] = responsibility.side_of(row.get("who") or "", parties, recipients,
                                                 worker.name if worker else "") or ""
        _sync_rows(Action, agreement, live_actions(agreement), actions,
                   ("what", "who", "side", "timescale", "due_on"), now)
        if agreement.status == "active" and added:
            # Someone added to the list of a record already in force gets their
            # copy now, and is chased if they do not acknowledge it (R9).
            issue_copies(agreement, added, now)
        if kind == "partnership":
            _schedule_review(agreement, data.get("review_at"), data.get("review_venue") or "", user, now)
        agreement = Agreement.get_by_id(agreement.id)
        after = form_data(agreement)
        after["social_worker"] = agreement.social_worker_id
        changes = {}
        for key in after:
            old, new = before.get(key), after[key]
            if kind != "undertaking" and key in UNDERTAKING_ONLY:
                continue  # a partnership agreement has no undertaking's kind or window
            if isinstance(new, list):
                if _snapshot(old or []) != _snapshot(new):
                    changes[key] = [_snapshot(old or []) if old else None, _snapshot(new)]
            elif old != new and not (old in (None, "") and new in (None, "")):
                changes[key] = [old, new]
        audit.record(action, user=user, agreement=agreement, entity="agreement", entity_id=agreement.id,
                     changes=changes, at=now)
    return agreement


def _addressed(recipient: Recipient) -> tuple:
    """What a distribution entry's link is for: its address and its agency, as typed.

    Not the directory's agency id: an administrator retiring a directory entry
    must not stop every link that named it.
    """
    return (recipient.email.strip().lower(), recipient.agency_name.strip().lower())


def _sync_recipients(agreement: Agreement, rows: list[dict], now, user: User | None = None) -> list[Recipient]:
    """Make the distribution list match the form; returns the entries added.

    An entry whose email address or agency changed gets a fresh link (the old
    one stops) and, on an active record, its copy at once; a removed entry's
    link stops with it and its chase is dropped (tracker.agencies.links).
    """
    directory = {a.name.lower(): a for a in Agency.select().where(Agency.active == True)}  # noqa: E712
    by_id = {str(a.id): a for a in directory.values()}
    stored = {str(r.id): r for r in live_recipients(agreement)}
    for row in rows:
        picked = by_id.get(str(row.get("directory") or ""))
        typed = (row.get("agency_name") or "").strip()
        before = stored.get(str(row.get("id") or ""))
        if (picked is not None and typed and typed.lower() != picked.name.lower() and before is not None
                and before.agency_id == picked.id and typed != before.agency_name):
            # A new agency typed over an entry picked earlier: what was typed
            # wins, and the entry is no longer the directory's (R15).
            picked = None
        if picked is not None:
            # Picked from the administrators' directory: its name and kind are
            # the directory's, so the health visiting check reads a real kind (R6).
            row["agency_name"], row["agency_kind"] = picked.name, picked.kind
        row["agency"] = picked or directory.get((row.get("agency_name") or "").strip().lower())
        if row["agency"] is not None and picked is None:
            row["agency_kind"] = row["agency"].kind
        row["email"] = (row.get("email") or "").strip() or (row["agency"].email if row["agency"] and row["agency"].email else "")
        row["breach_contact"] = bool(row.get("breach_contact"))
    existing = live_recipients(agreement)
    added = _sync_rows(Recipient, agreement, existing, rows,
                       ("name", "agency_name", "agency_kind", "role", "email", "breach_contact", "agency"), now)
    for before in existing:
        after = Recipient.get_by_id(before.id)
        if after.removed_at is not None:
            Recipient.update(chase_at=None).where(Recipient.id == after.id).execute()
        elif _addressed(after) != _addressed(before):
            links.readdressed(after, agreement, {"email": before.email, "agency_name": before.agency_name}, user, now)
    return added


def first_notice_at(agreement: Agreement, ends_at: dt.datetime) -> dt.datetime:
    """The first notice before an undertaking's end: hours before for an emergency
    one, days before for a closure one (R4), never before it started."""
    if not agreement.is_closure_undertaking:
        return rules.first_escalation_at(ends_at, warning_hours=settings.get("undertaking_warning_hours"))
    reminder = ends_at - dt.timedelta(days=settings.get("closure_reminder_days"))
    starts = agreement.window_starts_at or reminder
    return reminder if reminder > starts else starts + (ends_at - starts) / 2


def plan_undertaking(agreement: Agreement) -> None:
    """Keep the undertaking ladder's next moment in step with its end (R4)."""
    if agreement.window_ends_at is None:
        return
    first = first_notice_at(agreement, agreement.window_ends_at)
    Agreement.update(next_escalation_at=first, escalation_level=0).where(Agreement.id == agreement.id).execute()


def issue_copies(agreement: Agreement, recipients: list[Recipient], now: dt.datetime) -> None:
    """Send each of `recipients` its copy of a record in force, and plan its chase (R9)."""
    chase_at = now + dt.timedelta(days=settings.get("ack_chase_days"))
    for recipient in recipients:
        Recipient.update(copy_sent_at=now, chase_at=chase_at).where(
            (Recipient.id == recipient.id) & Recipient.acknowledged_at.is_null()).execute()
        mailings.copies_issued(agreement, now, only=Recipient.get_by_id(recipient.id))


