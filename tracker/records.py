"""Agreements and undertakings: create, change, submit, endorse, end.

Each function runs inside one transaction: the model changes, the audit event
and any notifications commit together or not at all. `now` is a parameter;
nothing here reads the clock.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid

from tracker import audit, rules, settings
from tracker.db import database
from tracker.models import (
    Action,
    Agency,
    Agreement,
    AgreementChild,
    Child,
    Party,
    Recipient,
    Review,
    User,
)

SCALAR_FIELDS = (
    "completed_on",
    "purpose",
    "child_views",
    "family_views",
    "plan_type",
    "if_things_go_wrong",
    "contingency",
    "duration",
    "first_language",
    "interpreter",
    "advocacy",
    "literacy",
    "issued_on",
    "case_closing",
    "domestic_abuse_concern",
    "victim_asked_to_exclude_abuser",
    "window_starts_at",
    "window_ends_at",
    "window_reason",
    "legal_advice_notes",
)


class RuleBroken(Exception):
    """A change the rules do not allow; `errors` maps field names to messages."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def children_of(agreement: Agreement) -> list[Child]:
    return list(
        Child.select()
        .join(AgreementChild)
        .where((AgreementChild.agreement == agreement) & AgreementChild.removed_at.is_null())
        .order_by(AgreementChild.position)
    )


def live_actions(agreement: Agreement) -> list[Action]:
    return list(agreement.actions.where(Action.removed_at.is_null()).order_by(Action.position))


def live_parties(agreement: Agreement) -> list[Party]:
    return list(agreement.parties.where(Party.removed_at.is_null()).order_by(Party.position))


def live_recipients(agreement: Agreement) -> list[Recipient]:
    return list(agreement.recipients.where(Recipient.removed_at.is_null()).order_by(Recipient.position))


def next_review(agreement: Agreement) -> Review | None:
    return (
        agreement.reviews.where(Review.status == "scheduled").order_by(Review.scheduled_at).first()
    )


def form_data(agreement: Agreement) -> dict:
    """The agreement as the edit form's data."""
    data = {name: getattr(agreement, name) for name in SCALAR_FIELDS}
    data["legal_advice_taken"] = "yes" if agreement.legal_advice_taken else "no"
    data["social_worker"] = agreement.social_worker_id or 0
    data["children"] = [{"name": c.name, "date_of_birth": c.date_of_birth} for c in children_of(agreement)]
    data["actions"] = [
        {"id": a.id, "what": a.what, "who": a.who, "side": a.side, "timescale": a.timescale, "due_on": a.due_on}
        for a in live_actions(agreement)
    ]
    data["parties"] = [{"id": p.id, "name": p.name, "role": p.role, "signed_on": p.signed_on}
                       for p in live_parties(agreement)]
    data["recipients"] = [
        {
            "id": r.id,
            "name": r.name,
            "agency_name": r.agency_name,
            "agency_kind": r.agency_kind,
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
    value = str(row.get("id") or "")
    return int(value) if value.isdigit() and len(value) < 12 else None


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
        # The same child on several records is one Child row, found by name and
        # date of birth, so repeated agreements for a child can be counted (R8).
        child = Child.get_or_none(
            (Child.name == row["name"].strip()) & (Child.date_of_birth == row["date_of_birth"])
        ) or Child.create(name=row["name"].strip(), date_of_birth=row["date_of_birth"], created_at=now)
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
        schedule_review(agreement, at, venue, user, now)
        return
    request_days = settings.get("report_request_days")
    due_days = settings.get("report_due_days")
    opens, due = rules.review_moments(at, request_days=request_days, due_days=due_days)
    if review.scheduled_at != at or review.venue != (venue or ""):
        previous = json.loads(review.previous_dates or "[]")
        if review.scheduled_at != at:
            previous.append(review.scheduled_at.isoformat())
        Review.update(
            scheduled_at=at,
            venue=venue or "",
            requests_open_at=opens,
            reports_due_at=due,
            sequence=Review.sequence + (1 if review.scheduled_at != at else 0),
            previous_dates=json.dumps(previous),
        ).where(Review.id == review.id).execute()
        plan_review_notices(review.id)
        audit.record("review_moved", user=user, agreement=agreement, entity="review", entity_id=review.id,
                     changes={"scheduled_at": [review.scheduled_at, at], "venue": [review.venue, venue]}, at=now)
    Agreement.update(next_review_at=at).where(Agreement.id == agreement.id).execute()


def schedule_review(agreement: Agreement, at: dt.datetime, venue: str, user: User, now: dt.datetime) -> Review:
    """Make the next review of a record, with every notice moment set (R1, R2, R3):
    the one way a scheduled review comes to exist, from the form or from a
    review that continues the agreement. Call inside the caller's transaction."""
    opens, due = rules.review_moments(at, request_days=settings.get("report_request_days"),
                                      due_days=settings.get("report_due_days"))
    review = Review.create(agreement=agreement, scheduled_at=at, venue=(venue or "").strip(),
                           requests_open_at=opens, reports_due_at=due, created_at=now)
    plan_review_notices(review.id)
    Agreement.update(next_review_at=at).where(Agreement.id == agreement.id).execute()
    audit.record("review_scheduled", user=user, agreement=agreement, entity="review", entity_id=review.id,
                 changes={"scheduled_at": [None, at], "venue": [None, (venue or "").strip()]}, at=now)
    return Review.get_by_id(review.id)


def plan_review_notices(review_id: int) -> None:
    """Set a scheduled review's notice moments from its date (R2, R3); call after it is made or moved."""
    review = Review.get_by_id(review_id)
    moments = rules.review_notice_moments(
        review.scheduled_at,
        reminder_days=settings.get("review_reminder_days"),
        request_days=settings.get("report_request_days"),
        due_days=settings.get("report_due_days"),
        overdue_hours=settings.get("overdue_notice_hours"),
    )
    Review.update(**moments).where(Review.id == review_id).execute()


def window_errors_for(data: dict, user: User) -> dict[str, str]:
    return rules.window_errors(
        data.get("window_starts_at"),
        data.get("window_ends_at"),
        ceiling_hours=settings.get("undertaking_ceiling_hours"),
        by_manager=user.is_manager,
        reason=data.get("window_reason") or "",
    )


def save(agreement: Agreement | None, kind: str, data: dict, user: User, now: dt.datetime) -> Agreement:
    """Create or change a record from the form's data, with its audit event."""
    errors = window_errors_for(data, user) if kind == "undertaking" else {}
    if errors:
        raise RuleBroken(errors)
    if kind == "partnership" and agreement is not None and agreement.status == "active" and data.get("review_at") is None:
        raise RuleBroken({"review_at": "An active agreement must always have its next review date"})
    if kind == "undertaking" and agreement is not None and agreement.status == "active" and (
        data.get("window_starts_at") != agreement.window_starts_at
        or data.get("window_ends_at") != agreement.window_ends_at
    ):
        # Otherwise a new window typed here would restart the escalation
        # ladder with no manager's decision (R4). Extending is that decision.
        raise RuleBroken({"window_ends_at": "An active undertaking's window can only be changed by a manager, "
                                            "with a reason, on its Extend page"})
    with database.atomic():
        values = {name: data.get(name) for name in SCALAR_FIELDS}
        for name, value in values.items():
            if isinstance(value, str):
                values[name] = value.strip()
            if value is None and name not in ("completed_on", "issued_on", "window_starts_at", "window_ends_at"):
                values[name] = "" if name not in ("case_closing", "domestic_abuse_concern", "victim_asked_to_exclude_abuser") else False
        values["legal_advice_taken"] = data.get("legal_advice_taken") == "yes"
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
            before["legal_advice_taken"] = agreement.legal_advice_taken
            before["social_worker"] = agreement.social_worker_id
            Agreement.update(updated_at=now, **values).where(Agreement.id == agreement.id).execute()
            action = "changed"
        _sync_children(agreement, data.get("children") or [], now)
        _sync_rows(Action, agreement, live_actions(agreement), data.get("actions") or [],
                   ("what", "who", "side", "timescale", "due_on"), now)
        _sync_rows(Party, agreement, live_parties(agreement), data.get("parties") or [],
                   ("name", "role", "signed_on"), now)
        added = _sync_recipients(agreement, data.get("recipients") or [], now)
        if agreement.status == "active" and added:
            # Someone added to the list of a record already in force gets their
            # copy now, and is chased if they do not acknowledge it (R9).
            _issue_copies(agreement, added, now)
        if kind == "partnership":
            _schedule_review(agreement, data.get("review_at"), data.get("review_venue") or "", user, now)
        agreement = Agreement.get_by_id(agreement.id)
        after = form_data(agreement)
        after["legal_advice_taken"] = agreement.legal_advice_taken
        after["social_worker"] = agreement.social_worker_id
        changes = {}
        for key in after:
            old, new = before.get(key), after[key]
            if isinstance(new, list):
                if _snapshot(old or []) != _snapshot(new):
                    changes[key] = [_snapshot(old or []) if old else None, _snapshot(new)]
            elif old != new:
                changes[key] = [old, new]
        audit.record(action, user=user, agreement=agreement, entity="agreement", entity_id=agreement.id,
                     changes=changes, at=now)
    return agreement


def _sync_recipients(agreement: Agreement, rows: list[dict], now) -> list[Recipient]:
    directory = {a.name.lower(): a for a in Agency.select().where(Agency.active == True)}  # noqa: E712
    for row in rows:
        row["agency"] = directory.get((row.get("agency_name") or "").strip().lower())
        row["email"] = (row.get("email") or "").strip() or (row["agency"].email if row["agency"] and row["agency"].email else "")
        row["breach_contact"] = bool(row.get("breach_contact"))
    return _sync_rows(Recipient, agreement, live_recipients(agreement), rows,
                      ("name", "agency_name", "agency_kind", "role", "email", "breach_contact", "agency"), now)


def _plan_undertaking(agreement: Agreement) -> None:
    """Keep the undertaking ladder's next moment in step with its end (R4)."""
    if agreement.window_ends_at is None:
        return
    first = rules.first_escalation_at(agreement.window_ends_at, warning_hours=settings.get("undertaking_warning_hours"))
    Agreement.update(next_escalation_at=first, escalation_level=0).where(Agreement.id == agreement.id).execute()


def _issue_copies(agreement: Agreement, recipients: list[Recipient], now: dt.datetime) -> None:
    from tracker import mailings

    chase_at = now + dt.timedelta(days=settings.get("ack_chase_days"))
    for recipient in recipients:
        Recipient.update(copy_sent_at=now, chase_at=chase_at).where(
            (Recipient.id == recipient.id) & Recipient.acknowledged_at.is_null()).execute()
        mailings.copies_issued(agreement, now, only=Recipient.get_by_id(recipient.id))


def submit(agreement: Agreement, user: User, now: dt.datetime) -> None:
    """Send a draft to the team manager for endorsement."""
    if agreement.status != "draft":
        raise RuleBroken({"status": "Only a draft can be sent for endorsement"})
    problems = completeness(agreement)
    if problems:
        raise RuleBroken(problems)
    with database.atomic():
        if Agreement.update(status="awaiting_endorsement", submitted_at=now, updated_at=now).where(
            (Agreement.id == agreement.id) & (Agreement.status == "draft")
        ).execute() != 1:
            raise RuleBroken({"status": "Only a draft can be sent for endorsement"})
        audit.record("submitted", user=user, agreement=agreement, entity="agreement", entity_id=agreement.id,
                     changes={"status": ["draft", "awaiting_endorsement"]}, at=now)


def completeness(agreement: Agreement) -> dict[str, str]:
    """What a record must have before a manager can endorse it."""
    problems = {}
    if not children_of(agreement):
        problems["children"] = "Add the child"
    if not live_actions(agreement):
        problems["actions"] = "Add at least one action"
    if agreement.kind == "partnership" and next_review(agreement) is None:
        problems["review_at"] = "Set the date and time of the review"
    if agreement.kind == "undertaking" and agreement.window_ends_at is None:
        problems["window_ends_at"] = "Set when the undertaking must end by"
    return problems


def endorse(agreement: Agreement, user: User, now: dt.datetime, override: str = "") -> None:
    """A manager endorses: the record becomes active and its schedule starts."""
    agreement = Agreement.get_by_id(agreement.id)  # its status now, not when the caller loaded it
    if agreement.status not in ("awaiting_endorsement", "draft"):
        raise RuleBroken({"status": "This record is not waiting for endorsement"})
    problems = completeness(agreement)
    if problems:
        raise RuleBroken(problems)
    from tracker.quality import failing_checks

    previous_status = agreement.status
    failing = failing_checks(agreement, now)
    if failing and not override.strip():
        raise RuleBroken({"override": "Some quality checks fail: fix them, or give your reason for endorsing anyway"})
    with database.atomic():
        if Agreement.update(
            status="active", endorsed_by=user, endorsed_at=now, endorsement_override=override.strip(), updated_at=now
        ).where((Agreement.id == agreement.id) & (Agreement.status == agreement.status)).execute() != 1:
            raise RuleBroken({"status": "This record has changed since the page was opened"})
        chase_at = now + dt.timedelta(days=settings.get("ack_chase_days"))
        Recipient.update(copy_sent_at=now, chase_at=chase_at).where(
            (Recipient.agreement == agreement) & Recipient.removed_at.is_null() & Recipient.acknowledged_at.is_null()
        ).execute()
        agreement = Agreement.get_by_id(agreement.id)
        if agreement.kind == "undertaking":
            _plan_undertaking(agreement)
        review = next_review(agreement)
        if review is not None:
            # Notices that fell due while it was a draft were passed over; plan them now.
            plan_review_notices(review.id)
        changes = {"status": [previous_status, "active"], "endorsed_by": [None, user.name]}
        if failing:
            changes["endorsed_despite"] = [None, ", ".join(c.title for c in failing)]
            changes["override_reason"] = [None, override.strip()]
        audit.record("endorsed", user=user, agreement=agreement, entity="agreement", entity_id=agreement.id,
                     changes=changes, at=now)
        from tracker import mailings

        mailings.copies_issued(agreement, now)


def end(agreement: Agreement, user: User, now: dt.datetime, reason: str, notes: str = "") -> None:
    """End a record: it stays in the register; its reminders stop."""
    if agreement.status == "ended":
        raise RuleBroken({"reason": "This record has already ended"})
    with database.atomic():
        if Agreement.update(
            status="ended", ended_at=now, ended_by=user, end_reason=reason, end_notes=notes.strip(),
            next_review_at=None, next_escalation_at=None, updated_at=now,
        ).where((Agreement.id == agreement.id) & (Agreement.status != "ended")).execute() != 1:
            raise RuleBroken({"reason": "This record has already ended"})
        # A cancelled review's calendar invitation is withdrawn by the next sweep.
        Review.update(status="cancelled", reminder_at=None, request_at=None, prompt_at=None, overdue_at=None,
                      cancel_notice_at=now).where(
            (Review.agreement == agreement) & (Review.status == "scheduled")).execute()
        Recipient.update(chase_at=None).where(Recipient.agreement == agreement).execute()
        audit.record("ended", user=user, agreement=agreement, entity="agreement", entity_id=agreement.id,
                     changes={"status": [agreement.status, "ended"], "end_reason": [None, reason], "end_notes": [None, notes]},
                     at=now)
