"""Breaches: logged in under a minute, alerted at once, acknowledged by a manager (R5).

A breach is append-only. A correction is an amendment kept beside the
original; the response is recorded once, by a manager, and stops the
escalation (after 24 hours, or 1 for an urgent breach: both settings).

An urgent breach (someone at immediate risk) is never refused for a missing
detail: it is saved with whatever was typed, the missing details are listed
in `Breach.not_given` and shown as "not given", and its alert is queued in
the same transaction, before anything else can fail.
"""

from __future__ import annotations

import datetime as dt

from peewee import JOIN

from tracker import audit, settings
from tracker.db import database
from tracker.ids import parse_id
from tracker.models import Action, Agreement, Breach, BreachAmendment, Recipient, User
from tracker.notices import mailings
from tracker.prepared import Prepared
from tracker.rules import RuleBroken

RESPONSES = {
    "consequence": "The consequence stated in the agreement was applied",
    "strategy": "A strategy discussion",
    "legal": "Legal advice",
    "new_plan": "A new plan",
    "other": "Another action",
}


def log(
    agreement: Agreement,
    data: dict,
    now: dt.datetime,
    *,
    user: User | None = None,
    recipient: Recipient | None = None,
) -> Breach:
    """Record a breach and queue its alert in the same transaction.

    `data`: occurred_at, description, action (an Action id, or 0 for
    "something else"), term, reported_by, immediate_risk.
    """
    urgent = bool(data.get("immediate_risk"))
    if agreement.status != "active":
        contacts = settings.contacts()
        raise RuleBroken({"description": f"This record has ended. Call the {contacts['front_door_term'].lower()} on "
                                         f"{contacts['front_door_phone']} to report a concern."})
    occurred = data.get("occurred_at")
    if occurred is not None and occurred > now + dt.timedelta(minutes=5):
        if not urgent:
            raise RuleBroken({"occurred_at": "When it happened must be now or in the past"})
        occurred = None  # an impossible time is not a reason to lose an urgent breach
    description = (data.get("description") or "").strip()
    reported_by = (data.get("reported_by") or "").strip()
    if not urgent and not description:
        raise RuleBroken({"description": "Describe what happened"})
    if recipient is not None and not reported_by:
        reported_by = f"{recipient.name}, {recipient.agency_name}"  # the link says who it is
    not_given = [name for name, value in (("description", description), ("reported_by", reported_by),
                                          ("occurred_at", occurred)) if not value]
    action = None
    if parse_id(data.get("action")) is not None:
        action = Action.get_or_none((Action.id == parse_id(data["action"])) & (Action.agreement == agreement))
    hours = settings.get("urgent_breach_escalation_hours" if urgent else "breach_escalation_hours")
    with database.atomic():
        breach = Breach.create(
            agreement=agreement,
            action=action,
            term=(data.get("term") or "").strip(),
            occurred_at=occurred or now,
            description=description,
            reported_by=reported_by,
            immediate_risk=urgent,
            recipient=recipient,
            created_by=user,
            created_at=now,
            escalate_at=now + dt.timedelta(hours=hours),
            not_given=",".join(not_given),
        )
        # The alert first, in this transaction: it commits with the breach or not at all.
        mailings.breach_alert(breach, now)
        actor = agency_actor(recipient) if recipient is not None else ""
        audit.record("breach_logged", user=user, actor=actor, agreement=agreement, entity="breach",
                     entity_id=breach.id, changes={"description": [None, breach.description],
                                                    "immediate_risk": [None, breach.immediate_risk],
                                                    "not_given": [None, breach.not_given or None]}, at=now)
    return breach


def agency_actor(recipient: Recipient) -> str:
    return f"Agency link: {recipient.name}, {recipient.agency_name} (distribution entry {recipient.id})"


class AmendedSince(RuleBroken):
    """The breach was corrected after the manager's page was opened: the response was made to an older account."""

    def __init__(self, amendments: list[BreachAmendment]):
        super().__init__({"response": "The breach was corrected after you opened this page: read the correction, "
                                      "then record the response again"})
        self.amendments = amendments


def latest_amendment(breach: Breach) -> int:
    """The newest correction's id (0 for none): what the acknowledgement page was opened on."""
    newest = BreachAmendment.select(BreachAmendment.id).where(BreachAmendment.breach == breach.id).order_by(
        BreachAmendment.id.desc()).first()
    return newest.id if newest is not None else 0


def acknowledge(breach: Breach, user: User, response: str, notes: str, now: dt.datetime,
                seen: int | None = None) -> None:
    """A manager records the response to a breach as it stood when the page was opened (`seen`:
    its newest correction then); a correction added since refuses it (R12)."""
    if seen is not None:
        newer = list(BreachAmendment.select().where((BreachAmendment.breach == breach.id) & (BreachAmendment.id > seen))
                     .order_by(BreachAmendment.id))
        if newer:
            raise AmendedSince(newer)
    if breach.acknowledged_at is not None:
        raise RuleBroken({"response": "This breach has already been acknowledged"})
    if response not in RESPONSES:
        raise RuleBroken({"response": "Select the response"})
    with database.atomic():
        changed = Breach.update(
            acknowledged_at=now, acknowledged_by=user, response=response, response_notes=notes.strip(), escalate_at=None
        ).where((Breach.id == breach.id) & Breach.acknowledged_at.is_null()).execute()
        if changed != 1:
            raise RuleBroken({"response": "This breach has already been acknowledged"})
        audit.record("breach_acknowledged", user=user, agreement=breach.agreement, entity="breach", entity_id=breach.id,
                     changes={"response": [None, RESPONSES[response]], "response_notes": [None, notes.strip()]}, at=now)


def amend(breach: Breach, text: str, user: User, now: dt.datetime) -> BreachAmendment:
    with database.atomic():
        amendment = BreachAmendment.create(breach=breach, text=text.strip(), created_by=user, created_at=now)
        audit.record("breach_amended", user=user, agreement=breach.agreement, entity="breach", entity_id=breach.id,
                     changes={"amendment": [None, text.strip()]}, at=now)
    return amendment


def _breaches(p):
    acknowledger = User.alias()
    return (Breach.select(Breach, Action, acknowledger)
            .join_from(Breach, Action, JOIN.LEFT_OUTER, on=(Breach.action == Action.id), attr="action")
            .join_from(Breach, acknowledger, JOIN.LEFT_OUTER, on=(Breach.acknowledged_by == acknowledger.id),
                       attr="acknowledged_by")
            .where(Breach.agreement == p.agreement)
            .order_by(Breach.occurred_at.desc(), Breach.id.desc()))


_BREACHES = Prepared(_breaches)  # the record page's breach history, its SQL built once


def timeline(agreement: Agreement) -> list[Breach]:
    """The record's breaches, newest first, with what the record page shows of each
    (the term broken, who acknowledged it, its corrections and their authors) read
    in two statements, not two or three a breach."""
    breaches = _BREACHES.execute(agreement=agreement.id)
    if not breaches:
        return breaches
    amendments: dict[int, list[BreachAmendment]] = {b.id: [] for b in breaches}
    for amendment in (BreachAmendment.select(BreachAmendment, User)
                      .join(User, JOIN.LEFT_OUTER, on=(BreachAmendment.created_by == User.id), attr="created_by")
                      .where(BreachAmendment.breach.in_(list(amendments)))
                      .order_by(BreachAmendment.id)):
        amendments[amendment.breach_id].append(amendment)
    for breach in breaches:
        breach.agreement = agreement
        breach.__dict__["amendments"] = amendments[breach.id]
    return breaches
