"""Recording a review: held on, who came, which reports were read, the outcome.

Reviews are append-only: the scheduled review becomes "held" with its
outcome, and the next review is a new row, so the history shows every review
and every date a review moved from. An active agreement always leaves with
its next review scheduled (R1).
"""

from __future__ import annotations

import datetime as dt
import json

from tracker import audit, models, rules
from tracker.db import database
from tracker.ids import parse_id
from tracker.models import AgencyReport, Agreement, Review, User
from tracker.records import drafting, lifecycle, versions

CONTINUING = ("continue", "vary")
ENDING = {"end": "reviewed_closed", "fold": "replaced", "escalate": "escalated"}


def reports_for(review: Review | None) -> list[AgencyReport]:
    if review is None:
        return []
    return list(review.reports.order_by(AgencyReport.submitted_at))


def record(agreement: Agreement, data: dict, user: User, now: dt.datetime) -> Review:
    """Record the review held for `agreement` and schedule the next one.

    `data`: held_on, attendees, reports (ids), outcome, notes, next_review_at, next_venue.
    """
    errors: dict[str, str] = {}
    if agreement.status != "active" or agreement.kind != "partnership":
        errors["outcome"] = "Only an active partnership agreement is reviewed"
    outcome = data.get("outcome")
    if outcome in CONTINUING and data.get("next_review_at") is None:
        errors["next_review_at"] = "Set the date and time of the next review: an active agreement always has one"
    if outcome in CONTINUING and data.get("next_review_at") and data["next_review_at"] <= now:
        errors["next_review_at"] = "The next review must be in the future"
    if errors:
        raise rules.RuleBroken(errors)
    with database.atomic():
        models.claim(agreement.id, data.get("revision"))
        review = models.next_review(agreement)
        expected = data.get("review_id")
        if review is not None and expected not in (None, "", str(review.id)):
            # The form was for a review that has since been recorded (a second
            # click, or a colleague first): never record the next one by mistake.
            raise rules.RuleBroken({"outcome": "This review has already been recorded"})
        if review is None:
            review = Review.create(agreement=agreement, scheduled_at=now, status="scheduled", created_at=now)
        valid_reports = {r.id for r in reports_for(review)}
        considered = [parse_id(r) for r in data.get("reports") or [] if parse_id(r) in valid_reports]
        recorded = Review.update(
            status="held", reminder_at=None, request_at=None, prompt_at=None, overdue_at=None,
            held_on=data["held_on"], attendees=(data.get("attendees") or "").strip(),
            outcome=outcome, notes=(data.get("notes") or "").strip(), reports_considered=json.dumps(considered),
            recorded_by=user, recorded_at=now,
        ).where((Review.id == review.id) & (Review.status == "scheduled")).execute()
        if recorded != 1:
            raise rules.RuleBroken({"outcome": "This review has already been recorded"})
        audit.record("review_recorded", user=user, agreement=agreement, entity="review", entity_id=review.id,
                     changes={"held_on": [None, data["held_on"]], "outcome": [None, outcome],
                              "reports_considered": [None, len(considered)]}, at=now)
        if outcome in CONTINUING:
            drafting.schedule_review(agreement, data["next_review_at"], data.get("next_venue") or "", now, user=user)
            Agreement.update(updated_at=now).where(Agreement.id == agreement.id).execute()
            if outcome == "vary" and models.in_progress(agreement) is None:
                # The review agreed changes: they are a draft of the next
                # version, endorsed before they replace the one in force (R11).
                versions.save_variation(Agreement.get_by_id(agreement.id), drafting.form_data(agreement), user, now,
                                        reason=f"Review held on {data['held_on']:%-d %B %Y}: vary")
        else:
            notes = {"fold": "Folded into the child protection or child in need plan at review.",
                     "escalate": "Escalated to child protection or legal planning at review.",
                     "end": "Ended at review."}[outcome]
            lifecycle.end(Agreement.get_by_id(agreement.id), user, now, ENDING[outcome], notes)
    return Review.get_by_id(review.id)
