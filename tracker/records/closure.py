"""Closing a child's case (R4): a decision on every active record for the child.

Each active record is either ended with a reason, or replaced by a *closure
undertaking*: a written undertaking for an agreed number of weeks (at most the
`closure_undertaking_max_weeks` setting), with no social worker, handed to the
front door as its contact. It is a draft of its own, sent for endorsement at
once: another manager reads it and endorses it like any record (R16), and only
then is it in force and copied to the agencies. A partnership agreement cannot stay active on a
closed case, so nothing is left undecided. Everything happens in one
transaction with its audit events and emails; `now` is a parameter.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tracker import audit, clock, models, settings
from tracker.db import database
from tracker.ids import parse_number
from tracker.models import END_REASONS, Action, Agreement, AgreementChild, Child, Party, Recipient, User
from tracker.notices import mailings
from tracker.records import lifecycle, versions
from tracker.rules import RuleBroken

# "Replaced" is the other decision: a closure undertaking.
CLOSE_REASONS = {key: label for key, label in END_REASONS.items() if key != "replaced"}


@dataclass
class Decision:
    """What to do with one active record when the case closes."""

    choice: str = ""  # "end" or "closure"
    reason: str = ""  # for "end": a key of CLOSE_REASONS
    notes: str = ""
    weeks: str = ""  # for "closure": whole weeks, as typed


def active_records(child: Child) -> list[Agreement]:
    """Every active record for the child, oldest first."""
    linked = AgreementChild.select(AgreementChild.agreement).where(
        (AgreementChild.child == child) & AgreementChild.removed_at.is_null())
    return list(Agreement.select().where(Agreement.id.in_(linked) & (Agreement.status == "active"))
                .order_by(Agreement.id))


def problems(agreements: list[Agreement], decisions: dict[int, Decision]) -> dict[str, str]:
    """What is missing or wrong in the decisions, keyed by the field's id on the page."""
    most = settings.get("closure_undertaking_max_weeks")
    errors: dict[str, str] = {}
    for agreement in agreements:
        decision = decisions.get(agreement.id) or Decision()
        if decision.choice not in ("end", "closure"):
            errors[f"decision-{agreement.id}"] = f"Choose what happens to {agreement.reference}"
        elif decision.choice == "end" and decision.reason not in CLOSE_REASONS:
            errors[f"reason-{agreement.id}"] = f"Select why {agreement.reference} is ending"
        elif decision.choice == "closure":
            text = decision.weeks.strip()
            if parse_number(text, 1, most) is None:
                errors[f"weeks-{agreement.id}"] = (
                    f"Enter how many weeks the closure undertaking lasts, a whole number from 1 to {most}")
    return errors


def close_case(child: Child, decisions: dict[int, Decision], user: User, now: dt.datetime,
               notes: str = "") -> list[Agreement]:
    """Close the child's case: apply each decision; returns the closure undertakings made.

    Raises RuleBroken when a record has no valid decision, or when the list of
    active records changed since the page was opened (a record no decision
    names is never left active).
    """
    agreements = active_records(child)
    unknown = set(decisions) - {a.id for a in agreements}
    if unknown:
        raise RuleBroken({"records": "The child's records changed since the page was opened. Check the list again."})
    errors = problems(agreements, decisions)
    if errors:
        raise RuleBroken(errors)
    made = []
    with database.atomic():
        for agreement in agreements:
            decision = decisions[agreement.id]
            if decision.choice == "end":
                lifecycle.end(agreement, user, now, decision.reason, decision.notes)
                continue
            undertaking = _closure_undertaking(agreement, int(decision.weeks), user, now, decision.notes)
            lifecycle.end(agreement, user, now, "replaced",
                        f"Replaced at case closure by closure undertaking {undertaking.reference}. {decision.notes}".strip())
            made.append(undertaking)
        Child.update(case_closed_at=now).where(Child.id == child.id).execute()
        for agreement in agreements:
            audit.record("case_closed", user=user, agreement=agreement, entity="child", entity_id=child.id,
                         changes={"case_closed_at": [None, now], "notes": [None, notes.strip() or None]}, at=now)
    return made


def _closure_undertaking(old: Agreement, weeks: int, user: User, now: dt.datetime, notes: str) -> Agreement:
    """A closure undertaking carrying the old record's children, actions, parties and
    distribution list, with the front door as its contact, sent for endorsement.

    The manager closing the case made it, so she is its author: another manager
    endorses it (tracker.people.access.may_endorse), and the copies go out then."""
    contacts = settings.contacts()
    term = contacts["front_door_term"]
    contact = (f"Contact the {term.lower()} on {contacts['front_door_phone']} ({contacts['front_door_email']}). "
               f"Out of hours, contact the out-of-hours team on {contacts['out_of_hours_phone']}. "
               "If anyone is at immediate risk of harm, call 999.")
    consequence = old.if_things_go_wrong.strip()
    new = Agreement.create(
        reference=f"tmp-{old.id}-{now:%H%M%S%f}"[:20], kind="undertaking", status="awaiting_endorsement",
        team=old.team_id,
        social_worker=None, created_by=user, created_at=now, updated_at=now,
        completed_on=clock.london_date(now), issued_on=None,
        purpose=old.purpose or f"Left in place when the case closed, replacing {old.reference}.",
        child_views=old.child_views, family_views=old.family_views, plan_type="none",
        if_things_go_wrong=f"{consequence}\n{contact}".strip() if consequence else contact,
        contingency=old.contingency, duration=f"{weeks} week{'s' if weeks != 1 else ''}",
        first_language=old.first_language, interpreter=old.interpreter, advocacy=old.advocacy,
        literacy=old.literacy, case_closing=True, domestic_abuse_concern=old.domestic_abuse_concern,
        victim_asked_to_exclude_abuser=old.victim_asked_to_exclude_abuser,
        undertaking_kind="closure", closure_weeks=weeks,
        window_starts_at=now, window_ends_at=now + dt.timedelta(weeks=weeks),
        window_reason="", legal_advice_taken=old.legal_advice_taken, legal_advice_notes=old.legal_advice_notes,
        legal_advice=old.legal_advice, submitted_at=now, awaiting_since=now, version=0,
    )
    new.reference = f"WU-{new.id:05d}"
    Agreement.update(reference=new.reference).where(Agreement.id == new.id).execute()
    for link in AgreementChild.select().where((AgreementChild.agreement == old) & AgreementChild.removed_at.is_null()):
        AgreementChild.create(agreement=new, child=link.child_id, position=link.position)
    for action in models.live_actions(old):
        Action.create(agreement=new, position=action.position, what=action.what, who=action.who, side=action.side,
                      timescale=action.timescale, due_on=action.due_on)
    for party in models.live_parties(old):
        Party.create(agreement=new, position=party.position, name=party.name, role=party.role, side=party.side)
    for r in models.live_recipients(old):
        Recipient.create(agreement=new, agency=r.agency_id, position=r.position, name=r.name,
                         agency_name=r.agency_name, agency_kind=r.agency_kind, role=r.role, email=r.email,
                         breach_contact=r.breach_contact)
    new = Agreement.get_by_id(new.id)
    Agreement.update(endorsement_escalate_at=versions.escalate_at(new, now)).where(Agreement.id == new.id).execute()
    audit.record("created", user=user, agreement=new, entity="agreement", entity_id=new.id,
                 changes={"replaces": [None, old.reference], "undertaking_kind": [None, "closure"],
                          "closure_weeks": [None, weeks], "notes": [None, notes.strip() or None]}, at=now)
    audit.record("submitted", user=user, agreement=new, entity="agreement", entity_id=new.id,
                 changes={"status": ["draft", "awaiting_endorsement"]}, at=now)
    mailings.endorsement_requested(new, user, 1, now)
    return Agreement.get_by_id(new.id)
