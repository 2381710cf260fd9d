"""Agreements and undertakings: create, change, submit, endorse, end.

Each function runs inside one transaction: the model changes, the audit event
and any notifications commit together or not at all. `now` is a parameter;
nothing here reads the clock.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid

from peewee import JOIN

from tracker import audit, identity, links, responsibility, rules, settings
from tracker.db import database
from tracker.ids import parse_id
from tracker.models import (
    LEGAL_ADVICE,
    UNDERTAKING_KINDS,
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
    "legal_advice",
    "person_at_risk",
    "person_who_harms",
    "marac_idva",
    "plan_meeting_on",
    "worker_phone",
    "review_attendees",
)


class RuleBroken(Exception):
    """A change the rules do not allow; `errors` maps field names to messages."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def read_once(agreement: Agreement) -> Agreement:
    """Mark an agreement read-only for this request: the functions below read each
    of its lists once and hand back the same list when asked again (the record
    page asks for its children, recipients and next review three times over).
    Only for pages that change nothing of the record; never in a form's POST."""
    agreement._read_once = {}
    return agreement


def forget(agreement: Agreement | None) -> None:
    """A change is coming: read this agreement's lists afresh from now on (read_once no more)."""
    if agreement is not None:
        agreement.__dict__.pop("_read_once", None)


def _once(agreement: Agreement, name: str, load):
    memo = getattr(agreement, "_read_once", None)
    if memo is None:
        return load()
    if name not in memo:
        memo[name] = load()
    return memo[name]


def children_of(agreement: Agreement) -> list[Child]:
    return _once(agreement, "children", lambda: list(
        Child.select()
        .join(AgreementChild)
        .where((AgreementChild.agreement == agreement) & AgreementChild.removed_at.is_null())
        .order_by(AgreementChild.position)
    ))


def live_actions(agreement: Agreement) -> list[Action]:
    return _once(agreement, "actions", lambda: list(
        agreement.actions.where(Action.removed_at.is_null()).order_by(Action.position)))


def live_parties(agreement: Agreement) -> list[Party]:
    return _once(agreement, "parties", lambda: list(
        agreement.parties.where(Party.removed_at.is_null()).order_by(Party.position)))


def live_recipients(agreement: Agreement) -> list[Recipient]:
    # The directory's agency comes in the same statement (the quality check reads its kind).
    return _once(agreement, "recipients", lambda: list(
        Recipient.select(Recipient, Agency).join(Agency, JOIN.LEFT_OUTER, on=(Recipient.agency == Agency.id))
        .where((Recipient.agreement == agreement) & Recipient.removed_at.is_null()).order_by(Recipient.position)))


def all_reviews(agreement: Agreement) -> list[Review]:
    """Every review of the record, latest first."""
    return _once(agreement, "reviews", lambda: list(agreement.reviews.order_by(Review.scheduled_at.desc())))


def next_review(agreement: Agreement) -> Review | None:
    memo = getattr(agreement, "_read_once", None)
    if memo is not None:
        scheduled = [r for r in all_reviews(agreement) if r.status == "scheduled"]
        return min(scheduled, key=lambda r: r.scheduled_at) if scheduled else None
    return (
        agreement.reviews.where(Review.status == "scheduled").order_by(Review.scheduled_at).first()
    )


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


def closure_window(data: dict) -> tuple[int | None, dict[str, str]]:
    """A closure undertaking's agreed weeks, and its end worked out into `data` (R4)."""
    most = settings.get("closure_undertaking_max_weeks")
    text = str(data.get("closure_weeks") or "").strip()
    errors: dict[str, str] = {}
    weeks = int(text) if text.isdigit() and len(text) < 4 else None
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

    With `variation`, an endorsed variation is coming into force (tracker.versions):
    the family-agreed content, an undertaking's window included, may change.
    `revision`: the revision the form was opened on; a newer one raises
    `versions.Stale` and nothing is saved.
    """
    from tracker import versions

    forget(agreement)
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
            versions.claim(agreement.id, revision)
        # The family's copy is recorded as issued on its own page, after
        # endorsement (`issue`); a form without the field leaves it alone.
        values = {name: data.get(name) for name in SCALAR_FIELDS if name != "issued_on" or "issued_on" in data}
        for name, value in values.items():
            if isinstance(value, str):
                values[name] = value.strip()
            if value is None and name not in ("completed_on", "issued_on", "window_starts_at", "window_ends_at",
                                              "plan_meeting_on"):
                values[name] = "" if name not in ("case_closing", "domestic_abuse_concern", "victim_asked_to_exclude_abuser") else False
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
            if isinstance(new, list):
                if _snapshot(old or []) != _snapshot(new):
                    changes[key] = [_snapshot(old or []) if old else None, _snapshot(new)]
            elif old != new:
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
    link stops with it and its chase is dropped (tracker.links).
    """
    directory = {a.name.lower(): a for a in Agency.select().where(Agency.active == True)}  # noqa: E712
    by_id = {str(a.id): a for a in directory.values()}
    for row in rows:
        picked = by_id.get(str(row.get("directory") or ""))
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
    from tracker import mailings

    chase_at = now + dt.timedelta(days=settings.get("ack_chase_days"))
    for recipient in recipients:
        Recipient.update(copy_sent_at=now, chase_at=chase_at).where(
            (Recipient.id == recipient.id) & Recipient.acknowledged_at.is_null()).execute()
        mailings.copies_issued(agreement, now, only=Recipient.get_by_id(recipient.id))


def submit(agreement: Agreement, user: User, now: dt.datetime, revision=None) -> None:
    """Send a draft (or a record returned with comments) to the team's managers for endorsement.

    An active record sends its variation instead. The managers are emailed;
    an undertaking still waiting after the service's hours goes to the
    service managers (jobs.sweeps.endorsement_escalations).
    """
    from tracker import mailings, versions

    if agreement.status == "active":
        return versions.submit_variation(agreement, user, now, revision=revision)
    if agreement.status not in ("draft", "returned"):
        raise RuleBroken({"status": "Only a draft can be sent for endorsement"})
    problems = completeness(agreement)
    if problems:
        raise RuleBroken(problems)
    with database.atomic():
        versions.claim(agreement.id, revision)
        if Agreement.update(status="awaiting_endorsement", submitted_at=now, updated_at=now, awaiting_since=now,
                            endorsement_escalate_at=versions.escalate_at(agreement, now)).where(
            (Agreement.id == agreement.id) & Agreement.status.in_(("draft", "returned"))
        ).execute() != 1:
            raise RuleBroken({"status": "Only a draft can be sent for endorsement"})
        audit.record("submitted", user=user, agreement=agreement, entity="agreement", entity_id=agreement.id,
                     changes={"status": [agreement.status, "awaiting_endorsement"]}, at=now)
        mailings.endorsement_requested(agreement, user, 1, now)


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


def endorse(agreement: Agreement, user: User, now: dt.datetime, override: str = "", revision=None) -> None:
    """A manager endorses: the record becomes active (version 1) and its schedule starts.

    An active record's variation is endorsed by `versions.endorse_variation`.
    A manager does not endorse a record they wrote or hold (tracker.access).
    """
    from tracker import access, versions

    forget(agreement)

    agreement = Agreement.get_by_id(agreement.id)  # its status now, not when the caller loaded it
    if not access.may_endorse(user, agreement):
        raise RuleBroken({"override": "You wrote this record or hold it as its social worker: "
                                      "another manager or a service manager endorses it"})
    if agreement.status == "active":
        return versions.endorse_variation(agreement, user, now, override, revision=revision)
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
        versions.claim(agreement.id, revision)
        if Agreement.update(
            status="active", endorsed_by=user, endorsed_at=now, endorsement_override=override.strip(), updated_at=now,
            version=1, awaiting_since=None, endorsement_escalate_at=None,
        ).where((Agreement.id == agreement.id) & (Agreement.status == agreement.status)).execute() != 1:
            raise RuleBroken({"status": "This record has changed since the page was opened"})
        chase_at = now + dt.timedelta(days=settings.get("ack_chase_days"))
        Recipient.update(copy_sent_at=now, chase_at=chase_at).where(
            (Recipient.agreement == agreement) & Recipient.removed_at.is_null() & Recipient.acknowledged_at.is_null()
        ).execute()
        agreement = Agreement.get_by_id(agreement.id)
        if agreement.kind == "undertaking":
            plan_undertaking(agreement)
        versions.write_version(agreement, user, now, override.strip())
        review = next_review(agreement)
        if review is not None:
            # Notices that fell due while it was a draft were passed over; plan them now.
            plan_review_notices(review.id)
        if agreement.kind == "partnership":
            _reopen_cases(agreement, user, now)
        changes = {"status": [previous_status, "active"], "endorsed_by": [None, user.name]}
        if failing:
            changes["endorsed_despite"] = [None, ", ".join(c.title for c in failing)]
            changes["override_reason"] = [None, override.strip()]
        audit.record("endorsed", user=user, agreement=agreement, entity="agreement", entity_id=agreement.id,
                     changes=changes, at=now)
        from tracker import mailings

        mailings.copies_issued(agreement, now)


def _reopen_cases(agreement: Agreement, user: User, now: dt.datetime) -> None:
    """A partnership agreement cannot be active on a closed case (R4): endorsing one
    for a child whose case was closed reopens it, on the record."""
    for child in children_of(agreement):
        if child.case_closed_at is not None:
            Child.update(case_closed_at=None).where(Child.id == child.id).execute()
            audit.record("case_reopened", user=user, agreement=agreement, entity="child", entity_id=child.id,
                         changes={"case_closed_at": [child.case_closed_at, None]}, at=now)


def end(agreement: Agreement, user: User, now: dt.datetime, reason: str, notes: str = "", revision=None) -> None:
    """End a record: it stays in the register; its reminders stop; a variation in progress is withdrawn."""
    from tracker import versions
    from tracker.models import Variation

    if agreement.status == "ended":
        raise RuleBroken({"reason": "This record has already ended"})
    with database.atomic():
        versions.claim(agreement.id, revision)
        Variation.update(status="withdrawn", updated_at=now).where(
            (Variation.agreement == agreement) & Variation.status.in_(versions.OPEN)).execute()
        if Agreement.update(
            status="ended", ended_at=now, ended_by=user, end_reason=reason, end_notes=notes.strip(),
            next_review_at=None, next_escalation_at=None, updated_at=now,
            awaiting_since=None, endorsement_escalate_at=None, variation_status="",
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


def issue(agreement: Agreement, user: User, now: dt.datetime, *, issued_at: dt.datetime | None, language: str,
          translation_given: bool, reason: str = "", revision=None) -> None:
    """Record the moment the family's copy of the version in force was issued.

    Not before endorsement (R8a), not in the future, and with a party
    unsigned only with a reason.
    """
    from tracker import versions

    errors: dict[str, str] = {}
    if agreement.status != "active" or agreement.endorsed_at is None:
        errors["issued_at"] = "The family's copy can only be issued once a manager has endorsed it"
    elif issued_at is None:
        errors["issued_at"] = "Enter the date and time the family was given their copy"
    elif issued_at > now + dt.timedelta(minutes=5):
        errors["issued_at"] = "The date and time the copy was issued must be now or in the past"
    elif issued_at < agreement.endorsed_at.replace(second=0):
        errors["issued_at"] = "The copy cannot have been issued before it was endorsed"
    if not (language or "").strip():
        errors["copy_language"] = "Enter the language of the family's copy"
    unsigned = [p.name for p in live_parties(agreement) if p.signed_on is None]
    if unsigned and not (reason or "").strip():
        errors["reason"] = f"{', '.join(unsigned)} {'has' if len(unsigned) == 1 else 'have'} not signed: " \
                           "give the reason for issuing it unsigned"
    if errors:
        raise RuleBroken(errors)
    with database.atomic():
        versions.claim(agreement.id, revision)
        Agreement.update(issued_at=issued_at, issued_on=rules.london_date(issued_at), copy_language=language.strip(),
                         translation_given=bool(translation_given), issue_reason=(reason or "").strip(),
                         updated_at=now).where(Agreement.id == agreement.id).execute()
        audit.record("copy_issued_to_family", user=user, agreement=agreement, entity="agreement",
                     entity_id=agreement.id,
                     changes={"issued_at": [agreement.issued_at, issued_at], "copy_language": [None, language.strip()],
                              "translation_given": [None, bool(translation_given)],
                              "unsigned": [None, ", ".join(unsigned) or None],
                              "reason": [None, (reason or "").strip() or None]}, at=now)
