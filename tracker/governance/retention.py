"""Retention review (issue 14, item 4): ended records past their keeping date.

An ended record is kept until its youngest child's 25th birthday (the
`retention_until_age` setting). A monthly job stamps each ended record with
that date (`Agreement.retention_due_on`, indexed) and lists those past it; a
manager then decides, record by record: destroy (a real delete of the
personal data, leaving a tombstone with the reference and the decision) or
keep with a reason (asked again a year later). Nothing is destroyed without
that decision.

Drafts of records never created (`FormDraft` with no record: typing kept by
"Save and come back later", autosave or a session that ended) have no record to
be kept by. The same monthly review clears those untouched for `draft_keep_days`
(30), with one audit event saying how many and whose; nothing else deletes a draft.
"""

from __future__ import annotations

import datetime as dt
import json
import re

import peewee as pw

from tracker import audit, clock, rules, settings
from tracker.db import database
from tracker.models import (
    ALL_MODELS,
    Agreement,
    AgreementChild,
    AuditEvent,
    Child,
    FormDraft,
    RetentionDecision,
    Team,
    Tombstone,
    User,
)
from tracker.records import search

KEEP_MONTHS = 12


def due_on(agreement: Agreement, children: list[Child], until_age: int) -> dt.date:
    """When an ended record falls due for a decision: the youngest child's birthday at `until_age`."""
    if children:
        youngest = max(child.date_of_birth for child in children)
        try:
            return youngest.replace(year=youngest.year + until_age)
        except ValueError:  # born on 29 February
            return dt.date(youngest.year + until_age, 3, 1)
    ended = clock.london_date(agreement.ended_at) if agreement.ended_at else agreement.completed_on or dt.date.today()
    return ended


def stamp(now: dt.datetime) -> int:
    """Give every ended record without one its retention date; returns how many were stamped."""
    until_age = settings.get("retention_until_age")
    query = Agreement.select().where((Agreement.status == "ended") & Agreement.retention_due_on.is_null())
    count = 0
    for agreement in query:
        children = list(Child.select().join(AgreementChild).where(AgreementChild.agreement == agreement))
        Agreement.update(retention_due_on=due_on(agreement, children, until_age)).where(
            Agreement.id == agreement.id).execute()
        count += 1
    return count


def redate(now: dt.datetime) -> int:
    """After `retention_until_age` changes: every ended record's date worked out again with the new age.

    A record a manager decided to keep holds to the later of its kept date and the new one.
    """
    until_age = settings.get("retention_until_age")
    kept = {a for (a,) in RetentionDecision.select(RetentionDecision.agreement)
            .where(RetentionDecision.decision == "keep").tuples()}
    count = 0
    with database.atomic():
        for agreement in Agreement.select().where(Agreement.status == "ended"):
            children = list(Child.select().join(AgreementChild).where(AgreementChild.agreement == agreement))
            due = due_on(agreement, children, until_age)
            if agreement.id in kept and agreement.retention_due_on:
                due = max(due, agreement.retention_due_on)
            if due != agreement.retention_due_on:
                Agreement.update(retention_due_on=due).where(Agreement.id == agreement.id).execute()
                count += 1
    return count


def _forget_children_in_audit(children: list[Child]) -> int:
    """Every audit row that named a destroyed child (a subject access search, a view) keeps the event, not the name."""
    count = 0
    for child in children:
        if len(child.name.strip()) < 2:
            continue
        marks = [json.dumps(child.name)[1:-1], f"{child.date_of_birth:%d %B %Y}", child.date_of_birth.isoformat()]
        for event in AuditEvent.select().where(AuditEvent.changes.contains(json.dumps(child.name)[1:-1])):
            text = event.changes
            for mark in marks:
                text = re.sub(re.escape(mark), "[destroyed]", text, flags=re.IGNORECASE)
            AuditEvent.update(changes=text).where(AuditEvent.id == event.id).execute()
            count += 1
    return count


def past_due(user: User | None, now: dt.datetime):
    """Ended records past their retention date and not yet decided, for `user` (all when None)."""
    from tracker.people.access import retention_scope

    today = clock.london_date(now)
    query = (Agreement.select(Agreement, Team).join(Team)
             .where((Agreement.retention_due_on <= today) & (Agreement.status == "ended"))
             .order_by(Agreement.retention_due_on, Agreement.reference))
    return query.where(retention_scope(user)) if user is not None else query


def abandoned_drafts(now: dt.datetime):
    """Drafts of records never created, untouched for `draft_keep_days`: the retention review clears them."""
    before = now - dt.timedelta(days=settings.get("draft_keep_days"))
    return FormDraft.select().where(FormDraft.agreement.is_null() & (FormDraft.saved_at < before))


def clear_abandoned_drafts(now: dt.datetime) -> int:
    """Delete the abandoned drafts, in one audited step; how many went. The event names no typing."""
    with database.atomic():
        drafts = list(abandoned_drafts(now).select(FormDraft.id, FormDraft.user, FormDraft.state, FormDraft.used_how)
                      .order_by(FormDraft.id).tuples())
        if not drafts:
            return 0
        FormDraft.delete().where(FormDraft.id.in_([d for d, _, _, _ in drafts])).execute()
        audit.record("drafts_cleared", actor="retention review", entity="form_draft", changes={
            "drafts": [len(drafts), 0],
            "ids": [[d for d, _, _, _ in drafts], None],
            "users": [sorted({u for _, u, _, _ in drafts}), None],
            "never_saved": [sum(1 for _, _, _, how in drafts if not how), None],
            "draft_keep_days": [None, settings.get("draft_keep_days")],
        }, at=now)
    return len(drafts)


def monthly_review(now: dt.datetime) -> list[str]:
    """The monthly job: stamp new ended records, send each manager the list of theirs past due,
    and clear the drafts of records never created that nobody has touched for `draft_keep_days`.

    Service managers get every team's; team managers their own team's. One
    email a month each (the key names the month); returns lines for the log.
    """
    from tracker.notices.mailings import enqueue

    month = clock.london_date(now).strftime("%Y-%m")
    cleared = clear_abandoned_drafts(now)
    with database.atomic():
        stamp(now)
        due = list(past_due(None, now))
        managers = User.select().where((User.active == True) & User.role.in_(("service_manager", "team_manager")))  # noqa: E712
        for manager in managers:
            records = [a for a in due if manager.role == "service_manager" or a.team_id == manager.team_id]
            if records:
                enqueue(f"retention/{month}/{manager.email}", "retention_review", manager.email,
                        to_label=f"{manager.name}, {settings.role_label(manager).lower()}",
                        context={"manager": manager, "records": records}, now=now)
    return [f"{a.reference} ({a.team.name}): retention date {a.retention_due_on:%d %B %Y}" for a in due] + (
        [f"{cleared} draft(s) of records never created cleared"] if cleared else [])


def keep(agreement: Agreement, user: User, reason: str, now: dt.datetime) -> None:
    reason = reason.strip()
    if not reason:
        raise ValueError("Give the reason for keeping the record")
    until = rules.add_months(clock.london_date(now), KEEP_MONTHS)
    with database.atomic():
        RetentionDecision.create(agreement=agreement, reference=agreement.reference, decision="keep", reason=reason,
                                 decided_by=user, decided_at=now)
        Agreement.update(retention_due_on=until).where(Agreement.id == agreement.id).execute()
        audit.record("retention_kept", user=user, agreement=agreement, entity="agreement", entity_id=agreement.id,
                     changes={"retention_due_on": [agreement.retention_due_on, until], "reason": [None, reason]}, at=now)


def _dependents(model) -> list[tuple[type, pw.ForeignKeyField]]:
    return [(m, f) for m in ALL_MODELS for f in m._meta.refs if f.rel_model is model and m is not RetentionDecision]


def _delete(model, ids: list[int]) -> int:
    """Delete rows of `model` and, first, every row that points at them (any table, present or future)."""
    if not ids:
        return 0
    count = 0
    for dependent, fk in _dependents(model):
        if dependent is model:
            continue
        child_ids = [r for (r,) in dependent.select(dependent._meta.primary_key).where(fk.in_(ids)).tuples()]
        count += _delete(dependent, child_ids)
    return count + model.delete().where(model._meta.primary_key.in_(ids)).execute()


def destroy(agreement: Agreement, user: User, reason: str, now: dt.datetime) -> Tombstone:
    """Delete the record's personal data for good, leaving a tombstone with the reference and the decision."""
    agreement = Agreement.get_by_id(agreement.id)
    if agreement.status != "ended":
        raise ValueError("Only an ended record can be destroyed")
    if agreement.retention_due_on is None or agreement.retention_due_on > clock.london_date(now):
        raise ValueError("This record is not yet past its retention date")
    with database.atomic():
        child_ids = [c for (c,) in AgreementChild.select(AgreementChild.child).where(
            AgreementChild.agreement == agreement).tuples()]
        tombstone = Tombstone.create(
            reference=agreement.reference, kind=agreement.kind, team_name=agreement.team.name,
            ended_on=clock.london_date(agreement.ended_at) if agreement.ended_at else None,
            retention_due_on=agreement.retention_due_on, reason=reason.strip(), destroyed_by=user, destroyed_at=now,
        )
        RetentionDecision.create(agreement=None, reference=agreement.reference, decision="destroy",
                                 reason=reason.strip(), decided_by=user, decided_at=now)
        RetentionDecision.update(agreement=None).where(RetentionDecision.agreement == agreement).execute()
        _delete(Agreement, [agreement.id])
        # A child named on no other record goes too.
        still = {c for (c,) in AgreementChild.select(AgreementChild.child).where(AgreementChild.child.in_(child_ids)).tuples()} if child_ids else set()
        gone = [c for c in child_ids if c not in still]
        if gone:
            _forget_children_in_audit(list(Child.select().where(Child.id.in_(gone))))
            Child.delete().where(Child.id.in_(gone)).execute()
            search.forget_deleted()  # the search index keeps no trace of a destroyed child's name
        audit.record("record_destroyed", user=user, entity="tombstone", entity_id=tombstone.id,
                     changes={"reference": [agreement.reference, None], "decision": [None, "destroy"],
                              "reason": [None, reason.strip()]}, at=now)
    return tombstone
