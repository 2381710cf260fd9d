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
from tracker.clock import moment_words
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
from tracker.records import drafting, fields
from tracker.records import history as history_words
from tracker.records.drafting import form_data
from tracker.records.quality import failing_checks
from tracker.rules import RuleBroken

# What the family agreed to, and the working details, are the registry's (tracker.records.fields).
FAMILY_SCALARS = fields.AGREED
FAMILY_ROWS = {name: columns for name, columns in fields.AGREED_COLUMNS.items() if columns}
DATES = fields.DATES
MOMENTS = fields.MOMENTS | {"review_at"}


class _Labels(dict):
    """The registry's labels, looked up as the old LABELS mapping was."""

    def get(self, key, default=None):
        return fields.label(key) if fields.known(key) else default

    def __iter__(self):
        return iter([f.name for f in fields.SCALARS])


LABELS = _Labels()
ROW_NAMES = {f.name: f.noun for f in fields.ROW_LISTS}
ROW_MAIN = {f.name: f.main for f in fields.ROW_LISTS}


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


def _match(rows: list, section: str) -> dict:
    """Rows by identity: their id, or for children (who have none) their place."""
    if section == "children":
        return {f"#{i}": row for i, row in enumerate(rows)}
    return {str(row.get("id")): row for row in rows if row.get("id")}


def _key(row: dict, index: int, section: str) -> str:
    return f"#{index}" if section == "children" else str(row.get("id") or "")


def _overlay(rows: list, source: list, section: str) -> list:
    """`rows` with the working columns (signature dates, IDs...) of the same rows in `source`."""
    columns = fields.WORKING_COLUMNS.get(section) or ()
    by_key = _match(source, section)
    out = []
    for index, row in enumerate(rows):
        same = by_key.get(_key(row, index, section))
        out.append({**row, **{c: same.get(c) for c in columns if c in same}} if same is not None else dict(row))
    return out


def family_part(data: dict) -> dict:
    """What the family agreed to, normalised, so two versions can be compared."""
    part = {name: _norm(data.get(name)) or None for name in FAMILY_SCALARS}
    for name, columns in FAMILY_ROWS.items():
        part[name] = [{f: _norm(row.get(f)) or None for f in columns} for row in data.get(name) or []]
    return part


def merge(current: dict, proposed: dict) -> dict:
    """The current record's working details with the proposed family-agreed content.

    A row the variation keeps takes its working columns (a signature date, a
    child's NHS number) from the record as it is now, so a working detail
    changed while the variation waited is not undone when it comes into force.
    """
    merged = dict(current)
    for name in FAMILY_SCALARS:
        if name in proposed:
            merged[name] = proposed.get(name)
    for name in FAMILY_ROWS:
        merged[name] = _overlay(proposed.get(name) or [], current.get(name) or [], name)
    return merged


def keep_family(current: dict, typed: dict) -> dict:
    """What was typed, with the family-agreed content put back as it is in force.

    The working columns of a row still in force (a party's signature date, a
    child's council ID) keep what was typed for it.
    """
    kept = dict(typed)
    for name in FAMILY_SCALARS:
        kept[name] = current.get(name)
    for name in FAMILY_ROWS:
        kept[name] = _overlay(current.get(name) or [], typed.get(name) or [], name)
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
            text = moment_words(dt.datetime.fromisoformat(text))
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


def _same(one, other) -> bool:
    if isinstance(one, list) or isinstance(other, list):
        return to_json({"r": [{k: _norm(v) or None for k, v in r.items() if k != "side"} for r in one or []]}) == (
            to_json({"r": [{k: _norm(v) or None for k, v in r.items() if k != "side"} for r in other or []]}))
    return (_norm(one) or None) == (_norm(other) or None)


def _form_names(data: dict) -> list[str]:
    return [f.name for f in fields.RECORD if f.on_form and f.name in data]


def rebase(opened: dict, now: dict, typed: dict) -> dict:
    """What a conflict page's form holds: the record now, with only this person's
    own changes (what they typed that differs from what their page showed) on top,
    so saving it never undoes another person's change (R15)."""
    merged = dict(now)
    for name in _form_names(typed):
        if not _same(typed.get(name), opened.get(name)):
            merged[name] = typed.get(name)
    return merged


def changes_since(agreement_id: int, opened_at: str | None, opened: dict | None = None,
                  now: dict | None = None, typed: dict | None = None) -> list[dict]:
    """What was changed on a record after a page was opened: each field in the
    registry's plain words, with who changed it and when (never a page view or a
    stored value)."""
    try:
        since = dt.datetime.fromisoformat(opened_at) if opened_at else None
    except ValueError:
        since = None
    query = AuditEvent.select().where((AuditEvent.agreement == agreement_id) & AuditEvent.action.not_in(QUIET)
                                      & ~AuditEvent.action.startswith("viewed")
                                      & ~AuditEvent.action.startswith("agency_"))
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    events = [e for e in query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(50)
              if json.loads(e.changes or "{}")]
    if opened is not None:
        changed = [name for name in _form_names(now) if not _same(opened.get(name), now.get(name))]
    else:
        changed = list(dict.fromkeys(k for e in events for k in json.loads(e.changes or "{}") if fields.known(k)
                                     and k in {f.name for f in fields.RECORD}))
    out = []
    if opened is None:
        # A decision page (endorse, return, end, issue) refused as stale: say who decided
        # and what, for the events that changed no field of the record.
        record = {f.name for f in fields.RECORD}
        out = [{"what": history_words.event_label(e.action), "field": None, "lines": [], "at": e.at,
                "who": e.user.name if e.user_id else e.actor}
               for e in events if not record & set(json.loads(e.changes or "{}"))]
    for name in changed:
        label = fields.label(name)
        lines = []
        mine = typed is not None and now is not None and (
            not _same(typed.get(name), opened.get(name)) if opened is not None else not _same(typed.get(name), now.get(name)))
        if mine and fields.field(name).kind in (fields.TEXT, fields.LINE):
            # Both changed it: the form keeps this person's words, so show the other's beside them.
            lines = [f"It now says: {now.get(name) or '(nothing)'}"]
        by = next((e for e in events if name in json.loads(e.changes or "{}")
                   or label in str(json.loads(e.changes or "{}").get("what", [None, ""])[-1])), None)
        by = by or (events[0] if events else None)
        out.append({"what": f"{label} changed", "field": name, "lines": lines,
                    "at": by.at if by else None,
                    "who": (by.user.name if by.user_id else by.actor) if by else None})
    return out


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


def save_active(agreement: Agreement, typed: dict, user: User, now: dt.datetime, revision=None):
    """Save what was typed on an active record's form in one transaction (R11, R15):
    the working details at once, the family-agreed content as the variation.

    Each field is one or the other by the registry, so nothing typed falls
    between the two. Returns the labels of the working details changed, whether
    the family-agreed content changed, and the variation in progress.
    """
    current = form_data(agreement)
    with database.atomic():
        claim(agreement.id, revision)
        variation = in_progress(agreement)
        # The page showed the variation's content when one was open: compare with that.
        shown = proposed(agreement, variation) if variation is not None else current
        family_changed = family_part(typed) != family_part(shown)
        working = working_changes(current, typed)
        if working:
            drafting.save(agreement, agreement.kind, keep_family(current, typed), user, now)
        if family_changed:
            variation = save_variation(agreement, typed, user, now)
    return working, family_changed, variation


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
        mailings.copies_issued(agreement, now, changed=changed_labels(before, version.data()))
        # Each family party with a link is sent the new version, saying what changed (R16, R20).
        from tracker.family import links as family_links

        family_links.new_version(agreement, now, changed_labels(before, version.data()))


def changed_labels(before: dict, after: dict) -> list[str]:
    """The registry's labels of the family-agreed fields that differ between two versions."""
    one, other = family_part(revive(before)), family_part(revive(after))
    return [f.label for f in fields.RECORD if f.name in one and one.get(f.name) != other.get(f.name)]


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


WORKING_SCALARS = fields.WORKING


def working_part(data: dict) -> str:
    """The details a worker may change on an active record without re-endorsement, normalised."""
    part = {name: _norm(data.get(name)) or None for name in WORKING_SCALARS}
    part["social_worker"] = str(data.get("social_worker") or "") or None
    part["recipients"] = [{f: str(_norm(row.get(f)) or "") for f in ("id", *fields.WORKING_COLUMNS["recipients"])}
                          for row in data.get("recipients") or []]
    for name in FAMILY_ROWS:
        columns = fields.WORKING_COLUMNS.get(name) or ()
        if columns:
            part[name] = {_key(row, i, name): [str(_norm(row.get(c)) or "") for c in columns]
                          for i, row in enumerate(data.get(name) or [])}
    return to_json(part)


def working_changed(current: dict, typed: dict) -> bool:
    return working_part(current) != working_part(typed)


def working_changes(current: dict, typed: dict) -> list[str]:
    """The labels of the working details that differ, in the registry's words."""
    changed = [fields.label(n) for n in WORKING_SCALARS if n != "social_worker"
               and (_norm(current.get(n)) or None) != (_norm(typed.get(n)) or None)]
    if str(current.get("social_worker") or "") != str(typed.get("social_worker") or ""):
        changed.insert(0, fields.label("social_worker"))
    for name in ("recipients", *FAMILY_ROWS):
        one = json.loads(working_part({name: current.get(name) or []}))
        other = json.loads(working_part({name: typed.get(name) or []}))
        if one.get(name) != other.get(name) and name in one:
            changed.append(fields.label(name))
    return changed
