"""Versions (R11) and the optimistic check (R12).

The Agreement row and its live rows are the version in force. Each time a
version comes into force (the first endorsement included) its whole content is
kept as an `AgreementVersion` snapshot. Changing what the family agreed to on
an active record makes a `Variation`: a draft of the next version, held as the
form's data, that changes nothing in force until a manager endorses it.

Working details (`WORKING`) change an active record at once: the distribution
list, the review's date, time and venue, the social worker, signature dates,
communication needs and the case flags. Everything else is family-agreed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json

from tracker import audit, models, rules, settings
from tracker.clock import to_london
from tracker.db import database
from tracker.models import (
    VARIATION_OPEN,
    Agreement,
    AgreementVersion,
    AuditEvent,
    Party,
    Recipient,
    User,
    Variation,
    claim,
    forget,
    in_progress,
)
from tracker.notices import mailings
from tracker.records import drafting
from tracker.records.drafting import form_data
from tracker.records.quality import failing_checks
from tracker.rules import RuleBroken

FAMILY_SCALARS = (
    "completed_on", "purpose", "child_views", "family_views", "plan_type", "if_things_go_wrong",
    "contingency", "duration", "window_starts_at", "window_ends_at", "window_reason",
)
FAMILY_ROWS = {
    "children": ("name", "date_of_birth"),
    "actions": ("what", "who", "side", "timescale", "due_on"),
    "parties": ("name", "role"),
}
DATES = {"completed_on", "date_of_birth", "due_on", "signed_on"}
MOMENTS = {"window_starts_at", "window_ends_at", "review_at"}

LABELS = {
    "completed_on": "Date completed", "purpose": "Purpose", "child_views": "The child's views",
    "family_views": "The parents' or carers' views", "plan_type": "The plan it rests on",
    "if_things_go_wrong": "If things go wrong", "contingency": "Contingency plan", "duration": "How long it lasts",
    "window_starts_at": "Undertaking starts", "window_ends_at": "Undertaking must end by",
    "window_reason": "Manager's reason for a longer undertaking", "review_at": "Next review",
    "review_venue": "Review venue", "first_language": "First language", "interpreter": "Interpreter or translation",
    "advocacy": "Advocacy", "literacy": "Literacy or learning needs", "issued_on": "Date the family received it",
    "legal_advice_taken": "Legal advice taken", "legal_advice_notes": "Legal advice notes",
    "case_closing": "The service is closing", "domestic_abuse_concern": "Domestic abuse concern",
    "victim_asked_to_exclude_abuser": "Person at risk asked to keep the abuser away",
    "social_worker": "Social worker", "status": "Status", "end_reason": "Why it ended", "end_notes": "Notes",
    "window_ends": "Undertaking must end by", "reason": "Reason", "response": "Response",
    "response_notes": "Notes on the response", "held_on": "Review held on", "outcome": "Outcome",
    "endorsed_by": "Endorsed by", "override_reason": "Reason for endorsing anyway", "comments": "Comments",
}
ROW_NAMES = {"children": "Child", "actions": "Action", "parties": "Party", "recipients": "Distribution entry"}
ROW_MAIN = {"children": "name", "actions": "what", "parties": "name", "recipients": "name"}


# --- data ---------------------------------------------------------------------------

def to_json(data: dict) -> str:
    return json.dumps(data, default=lambda v: v.isoformat() if hasattr(v, "isoformat") else str(v), sort_keys=True)


def revive(data: dict) -> dict:
    """JSON data back to what the form gives: dates and datetimes as objects."""

    def value(name, v):
        if not isinstance(v, str) or not v:
            return v
        try:
            if name in DATES:
                return dt.date.fromisoformat(v[:10])
            if name in MOMENTS:
                return dt.datetime.fromisoformat(v)
        except ValueError:
            return None
        return v

    out = {k: value(k, v) for k, v in data.items() if not isinstance(v, list)}
    for k, v in data.items():
        if isinstance(v, list):
            out[k] = [{n: value(n, x) for n, x in row.items()} for row in v if isinstance(row, dict)]
    return out


def _norm(v):
    if isinstance(v, str):
        return v.strip()
    if isinstance(v, dt.datetime | dt.date):
        return v.isoformat()
    return v


def family_part(data: dict) -> dict:
    """What the family agreed to, normalised, so two versions can be compared."""
    part = {name: _norm(data.get(name)) or None for name in FAMILY_SCALARS}
    for name, fields in FAMILY_ROWS.items():
        part[name] = [{f: _norm(row.get(f)) or None for f in fields} for row in data.get(name) or []]
    return part


def merge(current: dict, proposed: dict) -> dict:
    """The current record's working details with the proposed family-agreed content."""
    merged = dict(current)
    for name in FAMILY_SCALARS:
        merged[name] = proposed.get(name)
    for name in FAMILY_ROWS:
        merged[name] = proposed.get(name) or []
    return merged


def keep_family(current: dict, typed: dict) -> dict:
    """What was typed, with the family-agreed content put back as it is in force.

    Signature dates are working details: a party row that is still in force
    keeps the date typed for it.
    """
    kept = dict(typed)
    for name in FAMILY_SCALARS:
        kept[name] = current.get(name)
    kept["children"] = current.get("children") or []
    kept["actions"] = current.get("actions") or []
    signed = {str(row.get("id")): row.get("signed_on") for row in typed.get("parties") or [] if row.get("id")}
    kept["parties"] = [{**row, "signed_on": signed.get(str(row["id"]), row.get("signed_on"))}
                       for row in current.get("parties") or []]
    return kept


def snapshot(agreement: Agreement) -> dict:
    """The whole record as it is now, with its endorsement: what a version keeps."""
    data = form_data(agreement)
    data["legal_advice_taken"] = agreement.legal_advice_taken
    data["version"] = agreement.version
    data["status"] = agreement.status
    data["endorsed_by"] = agreement.endorsed_by.name if agreement.endorsed_by_id else None
    data["endorsed_at"] = agreement.endorsed_at
    data["endorsement_override"] = agreement.endorsement_override
    data["social_worker"] = agreement.social_worker.name if agreement.social_worker_id else None
    return json.loads(to_json(data))


def write_version(agreement: Agreement, user: User, now: dt.datetime, override: str = "") -> AgreementVersion:
    agreement = Agreement.get_by_id(agreement.id)
    return AgreementVersion.create(
        agreement=agreement, number=agreement.version, snapshot=to_json(snapshot(agreement)), endorsed_by=user,
        endorsed_at=now, override_reason=override, created_at=now,
    )


# --- plain words ------------------------------------------------------------------------

def _show(v) -> str:
    if v in (None, "", []):
        return "(blank)"
    if isinstance(v, bool):
        return "yes" if v else "no"
    text = str(v)
    if len(text) == 19 and text[10] == "T":  # an ISO moment: London time, to the minute
        try:
            moment = to_london(dt.datetime.fromisoformat(text))
            text = f"{moment:%-d %B %Y at %H:%M}"
        except ValueError:
            pass
    return f"'{text if len(text) <= 200 else text[:197] + '...'}'"


def _rows(name: str, before: list, after: list) -> list[str]:
    label, main = ROW_NAMES.get(name, name), ROW_MAIN.get(name, "name")
    lines: list[str] = []
    before = [r for r in before or [] if isinstance(r, dict)]
    after = [r for r in after or [] if isinstance(r, dict)]
    by_id = {str(r["id"]): r for r in before if r.get("id")}
    matched: set[int] = set()
    for position, row in enumerate(after, 1):
        old = by_id.get(str(row.get("id"))) if row.get("id") else None
        if old is None and not row.get("id") and position <= len(before) and not before[position - 1].get("id"):
            old = before[position - 1]
        if old is None:
            lines.append(f"{label} {position} added: {_show(row.get(main))}")
            continue
        matched.add(id(old))
        for field in row:
            if field in ("id", "position"):
                continue
            if _norm(old.get(field)) != _norm(row.get(field)) and (old.get(field) or row.get(field)):
                if field == main:
                    lines.append(f"{label} {position}: {_show(old.get(field))} → {_show(row.get(field))}")
                else:
                    lines.append(f"{label} {position} ({_show(row.get(main))[1:-1]}), {field.replace('_', ' ')}: "
                                 f"{_show(old.get(field))} → {_show(row.get(field))}")
    for row in before:
        if id(row) not in matched and (not row.get("id") or str(row["id"]) not in {str(r.get("id")) for r in after}):
            if row.get("id") or len(after) < len(before):
                lines.append(f"{label} removed: {_show(row.get(main))}")
    return lines


def describe(before: dict, after: dict, keys=None) -> list[str]:
    """The differences between two versions' data, in plain words."""
    lines: list[str] = []
    for key in keys or list(dict.fromkeys([*LABELS, *ROW_NAMES])):
        old, new = before.get(key), after.get(key)
        if key in ROW_NAMES:
            if (old or new) and to_json({"r": old or []}) != to_json({"r": new or []}):
                lines += _rows(key, old or [], new or [])
        elif key in before or key in after:
            if _norm(old) != _norm(new) and (old or new):
                lines.append(f"{LABELS.get(key, key)}: {_show(old)} → {_show(new)}")
    return lines


def describe_event(event: AuditEvent) -> list[str]:
    """An audit event's changes in plain words."""
    lines = []
    for field, old, new in event.change_list():
        if field in ROW_NAMES:
            try:
                old_rows = json.loads(old) if isinstance(old, str) else (old or [])
                new_rows = json.loads(new) if isinstance(new, str) else (new or [])
            except ValueError:
                old_rows, new_rows = [], []
            lines += _rows(field, old_rows, new_rows)
        elif _norm(old) != _norm(new):
            lines.append(f"{LABELS.get(field, field.replace('_', ' ').capitalize())}: {_show(old)} → {_show(new)}")
    return lines


QUIET = ("viewed", "printed", "viewed_history", "agency_link_opened", "exported")


def changes_since(agreement_id: int, opened_at: str | None, user: User | None = None) -> list[dict]:
    """What was changed on a record after a page was opened: who, when, what, in plain words."""
    try:
        since = dt.datetime.fromisoformat(opened_at) if opened_at else None
    except ValueError:
        since = None
    query = AuditEvent.select().where((AuditEvent.agreement == agreement_id) & AuditEvent.action.not_in(QUIET))
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    events = list(query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(20))
    return [{"at": e.at, "who": e.user.name if e.user_id else e.actor, "what": e.action.replace("_", " ").capitalize(),
             "lines": describe_event(e)} for e in events]


def history(agreement: Agreement) -> list[dict]:
    """Each version in force, newest first, with its differences from the one before in plain words."""
    rows = models.versions_of(agreement)
    out = []
    previous = None
    for row in rows:
        data = row.data()
        out.append({"version": row, "data": data,
                    "changes": describe(previous, data) if previous is not None else []})
        previous = data
    return list(reversed(out))


# --- variations --------------------------------------------------------------------------


def proposed(agreement: Agreement, variation: Variation) -> dict:
    """The whole record as it would be if the variation came into force."""
    return merge(form_data(agreement), revive(json.loads(variation.data)))


def _set_state(agreement: Agreement, status: str, **extra) -> None:
    Agreement.update(variation_status=status if status in VARIATION_OPEN else "", **extra).where(
        Agreement.id == agreement.id).execute()


def save_variation(agreement: Agreement, data: dict, user: User, now: dt.datetime, reason: str = "",
                   revision=None) -> Variation:
    """Keep the family-agreed content typed for an active record as a draft of its next version."""
    forget(agreement)
    if agreement.status != "active":
        raise RuleBroken({"purpose": "Only an active record is varied"})
    with database.atomic():
        claim(agreement.id, revision)
        variation = in_progress(agreement)
        stored = to_json({k: data.get(k) for k in (*FAMILY_SCALARS, *FAMILY_ROWS)})
        if variation is None:
            variation = Variation.create(agreement=agreement, number=agreement.version + 1, status="draft", data=stored,
                                         reason=reason, created_by=user, created_at=now, updated_at=now)
            action = "variation_started"
            changes = {"variation": [None, f"version {variation.number}"], "reason": [None, reason or None]}
        else:
            status = "draft" if variation.status == "awaiting_endorsement" else variation.status
            Variation.update(data=stored, status=status, updated_at=now).where(Variation.id == variation.id).execute()
            action = "variation_changed"
            changes = {}
            if variation.status == "awaiting_endorsement":
                changes["status"] = ["Awaiting endorsement", "Draft"]
        lines = describe(family_part(proposed(agreement, variation)), family_part(revive(json.loads(stored))))
        if lines or action == "variation_started":
            changes["what"] = [None, "; ".join(lines) or "no change yet"]
        variation = Variation.get_by_id(variation.id)
        extra = {}
        if variation.status == "draft":
            extra = {"awaiting_since": None, "endorsement_escalate_at": None}
        _set_state(agreement, variation.status, updated_at=now, **extra)
        audit.record(action, user=user, agreement=agreement, entity="variation", entity_id=variation.id,
                     changes=changes, at=now)
    return variation


@contextlib.contextmanager
def preview(agreement: Agreement, variation: Variation, user: User, now: dt.datetime):
    """The record as the variation would make it, inside a transaction that is rolled back.

    The quality checks and warning signs then read the proposed version with
    the same code that reads the one in force.
    """
    with database.atomic() as transaction:
        try:
            drafting.save(agreement, agreement.kind, proposed(agreement, variation), user, now, variation=True)
            yield Agreement.get_by_id(agreement.id)
        finally:
            transaction.rollback()


def submit_variation(agreement: Agreement, user: User, now: dt.datetime, revision=None) -> None:
    variation = in_progress(agreement)
    if variation is None or variation.status not in ("draft", "returned"):
        raise RuleBroken({"status": "There is no draft variation to send for endorsement"})
    data = proposed(agreement, variation)
    problems = {}
    if not data.get("children"):
        problems["children"] = "Add the child"
    if not data.get("actions"):
        problems["actions"] = "Add at least one action"
    if agreement.kind == "undertaking" and not data.get("window_ends_at"):
        problems["window_ends_at"] = "Set when the undertaking must end by"
    if problems:
        raise RuleBroken(problems)
    with database.atomic():
        claim(agreement.id, revision)
        if Variation.update(status="awaiting_endorsement", submitted_at=now, updated_at=now).where(
                (Variation.id == variation.id) & Variation.status.in_(("draft", "returned"))).execute() != 1:
            raise RuleBroken({"status": "There is no draft variation to send for endorsement"})
        _set_state(agreement, "awaiting_endorsement", awaiting_since=now, updated_at=now,
                   endorsement_escalate_at=escalate_at(agreement, now))
        audit.record("variation_submitted", user=user, agreement=agreement, entity="variation",
                     entity_id=variation.id, changes={"status": ["Draft", "Awaiting endorsement"]}, at=now)
        mailings.endorsement_requested(Agreement.get_by_id(agreement.id), user, variation.number, now)


def submission(variation: Variation) -> str:
    """What a manager is asked to endorse, as a digest: the variation's content as it was sent.

    The endorse page carries it; a variation pulled back to draft, changed, or
    sent again after the page (or the email's link) was opened no longer matches.
    """
    sent = variation.submitted_at.isoformat() if variation.submitted_at else ""
    return hashlib.sha256(f"{variation.id}|{variation.status}|{sent}|{variation.data}".encode()).hexdigest()[:32]


def authors(variation: Variation) -> set[int]:
    """Everyone who wrote or changed the variation: none of them endorses it (R16)."""
    changed = AuditEvent.select(AuditEvent.user).where(
        (AuditEvent.entity == "variation") & (AuditEvent.entity_id == variation.id)
        & AuditEvent.action.in_(("variation_started", "variation_changed")) & AuditEvent.user.is_null(False))
    return {variation.created_by_id, *(e.user_id for e in changed)}


def escalate_at(agreement: Agreement, now: dt.datetime) -> dt.datetime | None:
    """When an undertaking still waiting for endorsement goes to the service managers."""
    if agreement.kind != "undertaking":
        return None
    return now + dt.timedelta(hours=settings.get("endorsement_escalation_hours"))


def endorse_variation(agreement: Agreement, user: User, now: dt.datetime, override: str = "", revision=None,
                      submitted: str | None = None) -> None:
    """The variation comes into force: the record takes its content, the version number rises,
    the agencies are sent the new version to acknowledge and the family's copy is to be re-issued.

    Only a variation sent for endorsement, exactly as it was sent (`submitted`,
    from `submission`, when the page carries it), and never by one of its authors.
    The new version starts with every party unsigned: the signatures were given
    to the version before (R16)."""
    models.forget(agreement)

    variation = in_progress(agreement)
    if variation is None or variation.status != "awaiting_endorsement":
        raise rules.RuleBroken({"status": "This variation has not been sent for endorsement"})
    if submitted is not None and submitted != submission(variation):
        raise rules.RuleBroken({"status": "This variation has changed since it was sent for endorsement"})
    if user.id in authors(variation):
        raise rules.RuleBroken({"override": "You wrote or changed this variation: another manager endorses it"})
    with preview(agreement, variation, user, now) as previewed:
        failing = [c.title for c in failing_checks(previewed, now)]
    if failing and not override.strip():
        raise rules.RuleBroken({"override": "Some quality checks fail: fix them, or give your reason for endorsing anyway"})
    before = snapshot(agreement)
    with database.atomic():
        claim(agreement.id, revision)
        if Variation.update(status="endorsed", endorsed_by=user, endorsed_at=now, override_reason=override.strip(),
                            updated_at=now).where(
                (Variation.id == variation.id) & (Variation.status == "awaiting_endorsement")
                & (Variation.data == variation.data)).execute() != 1:
            raise rules.RuleBroken({"status": "This variation has changed since it was sent for endorsement"})
        old_end = agreement.window_ends_at
        drafting.save(agreement, agreement.kind, proposed(agreement, variation), user, now, variation=True)
        # Nobody has signed the new version yet; version 1's dates stay in its snapshot.
        Party.update(signed_on=None).where((Party.agreement == agreement) & Party.removed_at.is_null()).execute()
        Agreement.update(
            version=Agreement.version + 1, endorsed_by=user, endorsed_at=now, endorsement_override=override.strip(),
            variation_status="", awaiting_since=None, endorsement_escalate_at=None, issued_at=None, issued_on=None,
            copy_language="", translation_given=False, issue_reason="", updated_at=now,
        ).where(Agreement.id == agreement.id).execute()
        agreement = Agreement.get_by_id(agreement.id)
        if agreement.kind == "undertaking" and agreement.window_ends_at != old_end:
            drafting.plan_undertaking(agreement)
        # Every agency on the list acknowledges the new version, and is chased if it does not.
        chase_at = now + dt.timedelta(days=settings.get("ack_chase_days"))
        Recipient.update(acknowledged_at=None, copy_sent_at=now, chase_at=chase_at, chased_at=None).where(
            (Recipient.agreement == agreement) & Recipient.removed_at.is_null()).execute()
        version = write_version(agreement, user, now, override.strip())
        changes = {"version": [agreement.version - 1, agreement.version], "endorsed_by": [None, user.name],
                   "what": [None, "; ".join(describe(before, version.data())) or "no change"]}
        if failing:
            changes["endorsed_despite"] = [None, ", ".join(failing)]
            changes["override_reason"] = [None, override.strip()]
        audit.record("variation_endorsed", user=user, agreement=agreement, entity="variation", entity_id=variation.id,
                     changes=changes, at=now)
        mailings.copies_issued(agreement, now)


def return_to_worker(agreement: Agreement, user: User, now: dt.datetime, comments: str, revision=None) -> None:
    """A manager sends a record, or its variation, back to the social worker with comments."""
    comments = (comments or "").strip()
    if not comments:
        raise RuleBroken({"comments": "Write what the social worker needs to change"})
    variation = in_progress(agreement) if agreement.status == "active" else None
    with database.atomic():
        claim(agreement.id, revision)
        if variation is not None:
            if Variation.update(status="returned", returned_by=user, returned_at=now, returned_comments=comments,
                                updated_at=now).where((Variation.id == variation.id)
                                                      & (Variation.status == "awaiting_endorsement")).execute() != 1:
                raise RuleBroken({"comments": "This variation is not waiting for endorsement"})
            _set_state(agreement, "returned", awaiting_since=None, endorsement_escalate_at=None, updated_at=now)
            number, entity, entity_id = variation.number, "variation", variation.id
        else:
            if Agreement.update(status="returned", returned_by=user, returned_at=now, returned_comments=comments,
                                awaiting_since=None, endorsement_escalate_at=None, updated_at=now).where(
                    (Agreement.id == agreement.id) & (Agreement.status == "awaiting_endorsement")).execute() != 1:
                raise RuleBroken({"comments": "This record is not waiting for endorsement"})
            number, entity, entity_id = 1, "agreement", agreement.id
        audit.record("returned_to_worker", user=user, agreement=agreement, entity=entity, entity_id=entity_id,
                     changes={"status": ["Awaiting endorsement", "Returned to the social worker"],
                              "comments": [None, comments]}, at=now)
        mailings.returned_to_worker(agreement, user, comments, number, now)


WORKING_SCALARS = ("first_language", "interpreter", "advocacy", "literacy", "case_closing", "domestic_abuse_concern",
                   "victim_asked_to_exclude_abuser", "legal_advice_taken", "legal_advice_notes", "social_worker",
                   "review_at", "review_venue")
RECIPIENT_FIELDS = ("id", "name", "agency_name", "agency_kind", "role", "email", "breach_contact")


def working_part(data: dict) -> str:
    """The details a worker may change on an active record without re-endorsement, normalised."""
    part = {name: _norm(data.get(name)) or None for name in WORKING_SCALARS}
    part["social_worker"] = str(data.get("social_worker") or "") or None
    part["recipients"] = [{f: str(_norm(row.get(f)) or "") for f in RECIPIENT_FIELDS} for row in data.get("recipients") or []]
    part["signed"] = [str(_norm(row.get("signed_on")) or "") for row in data.get("parties") or []]
    return to_json(part)


def working_changed(current: dict, typed: dict) -> bool:
    return working_part(current) != working_part(typed)
