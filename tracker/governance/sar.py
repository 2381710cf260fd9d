"""Subject access export (issue 14, item 3): everything held about one child or one adult party.

`collect` gathers every record naming the person: every version of each
record, its reviews and agency reports, breaches with their amendments, the
family's own links to their copy (when each went, by which channel, which
versions they said they read, each call back they asked for), the emails sent
about it, and its audit trail (who changed and who viewed it).
`redact` blanks the contact details of third parties the manager ticked.
`pdf` and `zip_of_json` turn the result into the two files handed over.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile

from peewee import fn

from tracker.models import (
    Agreement,
    AgreementChild,
    AgreementVersion,
    AuditEvent,
    Breach,
    Child,
    FamilyAccess,
    FamilyDevice,
    FamilyRead,
    Notification,
    Party,
    Recipient,
    Review,
    User,
    children_of,
    live_parties,
)
from tracker.records import fields as registry
from tracker.records import history as history_words
from tracker.records.drafting import form_data

REDACTED = "[redacted]"

# The words a reader of the export sees for each field of a version: the field registry's
# labels, for the fields and row columns it shows in a subject access export (else None).
LABELS: dict[str, str | None] = {f.name: (f.label if f.shown_on("sar") else None) for f in registry.RECORD}
for _rows in registry.ROW_LISTS:
    for _column in _rows.columns:
        LABELS.setdefault(_column.name, _column.label.capitalize() if _column.shown_on("sar") else None)


def label(key: str) -> str | None:
    """A field's label in plain words; None for what the export does not show (ids, internal keys)."""
    if key in LABELS:
        return LABELS[key]
    if key == "id" or key.endswith("_id") or key in ("position", "directory", "revision", "opened_at"):
        return None
    return key.replace("_", " ").capitalize()


def plain_value(value, name: str = "") -> str:
    """A value as a person reads it, as the record's history says it (choices as their labels,
    London times, Yes/No); nothing for empty."""
    if value is None or value == "" or value == []:
        return ""
    return history_words.plain(name, value)


def _plain(value):
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return value


def versions_of(agreement: Agreement) -> list[dict]:
    """Every version of a record, oldest first: each endorsed version's snapshot
    (R11), then the record as it stands when it was never endorsed (a draft)."""
    rows = list(AgreementVersion.select().where(AgreementVersion.agreement == agreement)
                .order_by(AgreementVersion.number))
    versions = [{
        "number": row.number,
        "snapshot": row.data(),
        "endorsed_by": row.endorsed_by.name if row.endorsed_by_id else None,
        "endorsed_at": _plain(row.endorsed_at),
        "note": row.override_reason or "",
    } for row in rows]
    if not versions:
        versions.append({
            "number": agreement.version or 0,
            "snapshot": json.loads(json.dumps(form_data(agreement), default=_plain)),
            "endorsed_by": agreement.endorsed_by.name if agreement.endorsed_by_id else None,
            "endorsed_at": _plain(agreement.endorsed_at),
            "note": agreement.endorsement_override or "",
        })
    from tracker.models import in_progress
    from tracker.records.versions import proposed

    variation = in_progress(agreement) if agreement.status == "active" else None
    if variation is not None:
        # A variation not yet endorsed is held about the family too: it is disclosed, marked as not in force.
        versions.append({
            "number": variation.number,
            "snapshot": json.loads(json.dumps(proposed(agreement, variation), default=_plain)),
            "endorsed_by": None, "endorsed_at": None,
            "note": f"A proposed variation, not in force ({variation.status_label.lower()})",
        })
    return versions


def find_people(name: str, born: dt.date | None) -> tuple[list[tuple[Child, int]], list[tuple[str, int]]]:
    """Children, and adult parties, matching `name` *and* a child's date of birth (R17).

    A name alone is never enough: three families may each name a mother
    "Ms Murphy". A child is found by its name and date of birth (and then by its
    linked identity); a parent by their name on a record that names a child born
    that day. With each, how many records it would open.
    """
    text = (name or "").strip().lower()
    if len(text) < 2 or born is None:
        return [], []
    pattern = f"%{text}%"
    children = list(
        Child.select(Child, fn.COUNT(AgreementChild.id).alias("records"))
        .join(AgreementChild).where((fn.LOWER(Child.name) ** pattern) & (Child.date_of_birth == born))
        .group_by(Child.id).order_by(Child.name).limit(50)
    )
    parties = list(
        Party.select(Party.name, fn.COUNT(fn.DISTINCT(Party.agreement)).alias("records"))
        .where((fn.LOWER(Party.name) ** pattern) & Party.agreement.in_(_records_with_child_born(born)))
        .group_by(Party.name).order_by(Party.name).limit(50).tuples()
    )
    return [(c, c.records) for c in children], parties


def _records_with_child_born(born: dt.date):
    return (AgreementChild.select(AgreementChild.agreement).join(Child)
            .where((Child.date_of_birth == born) & AgreementChild.removed_at.is_null()))


def records_of_child(child: Child) -> list[Agreement]:
    """Every record naming the child or a row linked to it (R13: one child, one identity)."""
    group = Child.select(Child.id).where(Child.identity == child.identity) if child.identity else None
    condition = (AgreementChild.child.in_(group) | (AgreementChild.child == child)) if group is not None \
        else AgreementChild.child == child
    return list(Agreement.select().join(AgreementChild).where(condition).distinct().order_by(Agreement.id))


def records_of_party(name: str, born: dt.date | None) -> list[Agreement]:
    """The records naming `name` as a party *and* a child born on `born`: one family's, never a namesake's."""
    if born is None:
        return []
    return list(Agreement.select().join(Party)
                .where((fn.LOWER(Party.name) == name.strip().lower()) & Agreement.id.in_(_records_with_child_born(born)))
                .distinct().order_by(Agreement.id))


def third_parties(agreements: list[Agreement]) -> list[Recipient]:
    """People at agencies whose contact details appear in the records: the ones a manager may redact."""
    ids = [a.id for a in agreements]
    return list(Recipient.select().where(Recipient.agreement.in_(ids)).order_by(Recipient.agreement, Recipient.position)) if ids else []


def others_named(agreements: list[Agreement], subject: str) -> list[str]:
    """Everyone else the records know, for the reviewer to redact (all offered ticked): each
    distribution entry, each breach's reporter, every other child and every other party."""
    ids = [a.id for a in agreements]
    if not ids:
        return []
    mine = (subject or "").strip().lower()
    names = [r.name for r in Recipient.select(Recipient.name).where(Recipient.agreement.in_(ids))]
    names += [b.reported_by for b in Breach.select(Breach.reported_by).where(Breach.agreement.in_(ids))]
    names += [c.name for c in Child.select(Child.name).join(AgreementChild).where(AgreementChild.agreement.in_(ids))]
    names += [p.name for p in Party.select(Party.name).where(Party.agreement.in_(ids))]
    # A family party's email address or mobile number, unless it is the subject's own link.
    names += [address for address, party in FamilyAccess.select(FamilyAccess.address, Party.name).join(Party)
              .where(FamilyAccess.agreement.in_(ids)).tuples() if party.strip().lower() != mine]
    seen: dict[str, str] = {}
    for name in names:
        name = (name or "").strip()
        if len(name) > 2 and name.lower() != mine:
            seen.setdefault(name.lower(), name)
    return sorted(seen.values(), key=str.lower)


def release_key(subject: str, record_ids: list[int], recipients: list[int], names: list[str], phrases: list[str]) -> str:
    """One value for what is to be released: the approval names it, so a changed export needs approving again."""
    import hashlib

    canonical = json.dumps([subject, sorted(record_ids), sorted(recipients), sorted(names), sorted(phrases)])
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def _user(user_id) -> str | None:
    if user_id is None:
        return None
    user = User.get_or_none(User.id == user_id)
    return user.name if user else None


# The words a reader of the export sees for each detail of a family party's own link (R20).
FAMILY_LABELS = {
    "party": "Family party", "role": "Role", "channel": "How the link was sent", "sent_to": "Sent to",
    "link_sent_at": "Link last sent", "sent_by": "Sent by", "version_sent": "Version sent",
    "stopped_at": "Link stopped", "stop_reason": "Why it stopped",
    "not_sent_reason": "Reason for not sending a link", "not_sent_by": "Decided by", "not_sent_at": "Decided on",
    "harms_reason": "Manager's reason to send a link to the person who harms", "harms_reason_by": "Given by",
    "devices": "Phones or computers that entered the code", "read_confirmations": "Said they had read",
    "call_backs_asked": "Asked for a call back",
}


def family_data(agreement: Agreement) -> list[dict]:
    """Each family party's own link on the record: how and when it went, what they read, each call back asked.

    The call back's message itself went only in the social worker's email, which is under the emails sent."""
    from tracker.family.links import CHANNELS

    accesses = list(FamilyAccess.select(FamilyAccess, Party).join(Party)
                    .where(FamilyAccess.agreement == agreement.id).order_by(Party.position, FamilyAccess.id))
    call_backs: dict[int, list[str]] = {}
    for event in (AuditEvent.select(AuditEvent.entity_id, AuditEvent.at)
                  .where((AuditEvent.agreement == agreement.id) & (AuditEvent.action == "family_call_back_asked"))
                  .order_by(AuditEvent.at)):
        call_backs.setdefault(event.entity_id, []).append(_plain(event.at))
    rows = []
    for access in accesses:
        rows.append({
            "party": access.party.name, "role": access.party.role,
            "channel": CHANNELS.get(access.channel, access.channel) if access.channel else "",
            "sent_to": access.address, "link_sent_at": _plain(access.issued_at), "sent_by": _user(access.issued_by_id),
            "version_sent": access.sent_version or None,
            "stopped_at": _plain(access.stopped_at), "stop_reason": access.stop_reason,
            "not_sent_reason": access.do_not_send, "not_sent_by": _user(access.do_not_send_by_id),
            "not_sent_at": _plain(access.do_not_send_at),
            "harms_reason": access.harms_reason, "harms_reason_by": _user(access.harms_reason_by_id),
            "devices": [{"first_used": _plain(d.created_at), "last_used": _plain(d.last_seen_at),
                         "exit_pressed": _plain(d.ended_at)}
                        for d in FamilyDevice.select().where(FamilyDevice.access == access.id).order_by(FamilyDevice.id)],
            "read_confirmations": [{"version": r.version, "at": _plain(r.at)}
                                   for r in FamilyRead.select().where(FamilyRead.access == access.id).order_by(FamilyRead.at)],
            "call_backs_asked": call_backs.get(access.party_id, []),
        })
    return rows


def record_data(agreement: Agreement) -> dict:
    reviews = []
    for review in agreement.reviews.order_by(Review.scheduled_at):
        reviews.append({
            "scheduled_at": _plain(review.scheduled_at), "venue": review.venue, "status": review.status,
            "held_on": _plain(review.held_on), "attendees": review.attendees, "outcome": review.outcome,
            "notes": review.notes, "recorded_by": _user(review.recorded_by_id),
            "agency_reports": [{
                "recipient_id": report.recipient_id, "from": report.recipient.name, "agency": report.recipient.agency_name,
                "nothing_to_share": report.nothing_to_share, "report": report.body,
                "submitted_at": _plain(report.submitted_at),
            } for report in review.reports],
        })
    breaches = []
    for breach in agreement.breaches.order_by(Breach.occurred_at):
        breaches.append({
            "occurred_at": _plain(breach.occurred_at), "term": breach.term,
            "action": breach.action.what if breach.action_id else None, "description": breach.description,
            "reported_by": breach.reported_by, "recipient_id": breach.recipient_id,
            "immediate_risk": breach.immediate_risk, "logged_at": _plain(breach.created_at),
            "response": breach.response, "response_notes": breach.response_notes,
            "acknowledged_by": _user(breach.acknowledged_by_id), "acknowledged_at": _plain(breach.acknowledged_at),
            "amendments": [{"text": a.text, "by": _user(a.created_by_id), "at": _plain(a.created_at)}
                           for a in breach.amendments],
        })
    emails = [{
        "to": n.to_address, "to_label": n.to_label, "subject": n.subject, "status": n.status,
        "sent_at": _plain(n.sent_at), "queued_at": _plain(n.created_at), "body": n.body_text,
    } for n in agreement.notifications.order_by(Notification.created_at, Notification.id)]
    trail = [{
        "at": _plain(e.at), "who": e.actor or _user(e.user_id), "action": e.action, "entity": e.entity,
        "changes": json.loads(e.changes or "{}"),
    } for e in agreement.audit_events.order_by(AuditEvent.at, AuditEvent.id)]
    return {
        "reference": agreement.reference, "kind": agreement.kind_label, "status": agreement.status_label,
        "team": agreement.team.name, "social_worker": _user(agreement.social_worker_id),
        "children": [{"name": c.name, "date_of_birth": _plain(c.date_of_birth)} for c in children_of(agreement)],
        "family_members": [{"name": p.name, "role": p.role} for p in live_parties(agreement)],
        "distribution": [{"recipient_id": r.id, "name": r.name, "agency": r.agency_name, "role": r.role,
                          "email": r.email, "removed": r.removed_at is not None}
                         for r in agreement.recipients.order_by(Recipient.position)],
        "versions": versions_of(agreement),
        "reviews": reviews, "breaches": breaches, "family_copies": family_data(agreement),
        "emails_sent": emails, "audit_trail": trail,
        "ended_at": _plain(agreement.ended_at), "end_reason": agreement.end_reason, "end_notes": agreement.end_notes,
    }


def collect(subject: str, agreements: list[Agreement], now: dt.datetime) -> dict:
    return {"subject": subject, "produced_at": _plain(now), "records": [record_data(a) for a in agreements]}


def redact(data: dict, recipients: list[Recipient], phrases: list[str] = ()) -> dict:
    """Blank every trace of the ticked third parties' names and contact details, and every
    phrase the reviewer chose (other people's names, addresses, numbers in free text)."""
    ids = {r.id for r in recipients}
    for record in data["records"]:
        for entry in record["distribution"]:
            if entry["recipient_id"] in ids:
                entry["name"] = entry["email"] = entry["role"] = REDACTED
    redacted = json.dumps(data)
    secrets = sorted({value for r in recipients for value in (r.email, r.name) if value and len(value) > 2}
                     | {p.strip() for p in phrases if len(p.strip()) > 2}, key=len, reverse=True)
    for value in secrets:
        # Inside JSON strings: the value as JSON would write it, without its quotes.
        encoded = json.dumps(value)[1:-1]
        redacted = redacted.replace(encoded, REDACTED)
    return json.loads(redacted)


def zip_of_json(data: dict) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", (
            f"Subject access export for {data['subject']}, produced {data['produced_at']} (UTC).\n"
            "subject.json holds everything; records/ holds one file per record.\n"
            "Times are UTC in ISO 8601. '[redacted]' marks a third party's details withheld.\n"))
        archive.writestr("subject.json", json.dumps(data, indent=2, ensure_ascii=False))
        for record in data["records"]:
            archive.writestr(f"records/{record['reference']}.json", json.dumps(record, indent=2, ensure_ascii=False))
    return out.getvalue()


def pdf(data: dict, html: str) -> bytes:
    from weasyprint import HTML

    def refuse(url: str, *args, **kwargs):
        raise ValueError(f"no external resources in an export: {url[:80]}")

    # Everything is inline: the export never fetches anything, from anywhere.
    return HTML(string=html, url_fetcher=refuse).write_pdf()
