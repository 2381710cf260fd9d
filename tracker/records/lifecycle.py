"""A record's life after drafting: submitted, endorsed, issued, ended.

Each function runs inside one transaction: the model changes, the audit event
and any notifications commit together or not at all. `now` is a parameter;
nothing here reads the clock. Drafting and changing what a record says is in
`drafting`; variations of an endorsed record in `versions`.
"""

from __future__ import annotations

import datetime as dt

from tracker import audit, clock, settings
from tracker.db import database
from tracker.models import (
    VARIATION_OPEN,
    Agreement,
    Child,
    Recipient,
    Review,
    User,
    Variation,
    children_of,
    claim,
    forget,
    live_actions,
    live_parties,
    next_review,
)
from tracker.notices import mailings
from tracker.people import access
from tracker.records import versions
from tracker.records.drafting import plan_review_notices, plan_undertaking
from tracker.records.quality import failing_checks
from tracker.rules import RuleBroken


def submit(agreement: Agreement, user: User, now: dt.datetime, revision=None) -> None:
    """Send a draft (or a record returned with comments) to the team's managers for endorsement.

    An active record sends its variation instead. The managers are emailed;
    an undertaking still waiting after the service's hours goes to the
    service managers (jobs.sweeps.endorsement_escalations).
    """
    if agreement.status == "active":
        return versions.submit_variation(agreement, user, now, revision=revision)
    if agreement.status not in ("draft", "returned"):
        raise RuleBroken({"status": "Only a draft can be sent for endorsement"})
    problems = completeness(agreement)
    if problems:
        raise RuleBroken(problems)
    with database.atomic():
        claim(agreement.id, revision)
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


def endorse(agreement: Agreement, user: User, now: dt.datetime, override: str = "", revision=None,
            submitted: str | None = None) -> None:
    """A manager endorses: the record becomes active (version 1) and its schedule starts.

    An active record's variation is endorsed by `versions.endorse_variation`.
    A manager does not endorse a record they wrote or hold (tracker.people.access).
    """
    forget(agreement)

    agreement = Agreement.get_by_id(agreement.id)  # its status now, not when the caller loaded it
    if not access.may_endorse(user, agreement):
        raise RuleBroken({"override": "You wrote this record or hold it as its social worker: "
                                      "another manager or a service manager endorses it"})
    if agreement.status == "active":
        return versions.endorse_variation(agreement, user, now, override, revision=revision, submitted=submitted)
    if agreement.status not in ("awaiting_endorsement", "draft"):
        raise RuleBroken({"status": "This record is not waiting for endorsement"})
    problems = completeness(agreement)
    if problems:
        raise RuleBroken(problems)
    previous_status = agreement.status
    failing = failing_checks(agreement, now)
    if failing and not override.strip():
        raise RuleBroken({"override": "Some quality checks fail: fix them, or give your reason for endorsing anyway"})
    with database.atomic():
        claim(agreement.id, revision)
        if Agreement.update(
            status="active", endorsed_by=user, endorsed_at=now, endorsement_override=override.strip(), updated_at=now,
            returned_comments="", version=1, awaiting_since=None, endorsement_escalate_at=None,
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
    if agreement.status == "ended":
        raise RuleBroken({"reason": "This record has already ended"})
    with database.atomic():
        claim(agreement.id, revision)
        Variation.update(status="withdrawn", updated_at=now).where(
            (Variation.agreement == agreement) & Variation.status.in_(VARIATION_OPEN)).execute()
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
        claim(agreement.id, revision)
        Agreement.update(issued_at=issued_at, issued_on=clock.london_date(issued_at), copy_language=language.strip(),
                         translation_given=bool(translation_given), issue_reason=(reason or "").strip(),
                         updated_at=now).where(Agreement.id == agreement.id).execute()
        audit.record("copy_issued_to_family", user=user, agreement=agreement, entity="agreement",
                     entity_id=agreement.id,
                     changes={"issued_at": [agreement.issued_at, issued_at], "copy_language": [None, language.strip()],
                              "translation_given": [None, bool(translation_given)],
                              "unsigned": [None, ", ".join(unsigned) or None],
                              "reason": [None, (reason or "").strip() or None]}, at=now)
