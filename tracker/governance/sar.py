"""Subject access export (issue 14, item 3): everything held about one child or one adult party.

`collect` gathers every record naming the person: every version of each
record, its reviews and agency reports, breaches with their amendments, the
emails sent about it, and its audit trail (who changed and who viewed it).
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
    Notification,
    Party,
    Recipient,
    Review,
    User,
    children_of,
    live_parties,
)
from tracker.records.drafting import form_data

REDACTED = "[redacted]"


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
    return versions


def find_people(text: str) -> tuple[list[tuple[Child, int]], list[tuple[str, int]]]:
    """Children and adult parties whose name contains `text`, with how many records name each."""
    text = text.strip().lower()
    if len(text) < 2:
        return [], []
    pattern = f"%{text}%"
    children = list(
        Child.select(Child, fn.COUNT(AgreementChild.id).alias("records"))
        .join(AgreementChild).where(fn.LOWER(Child.name) ** pattern)
        .group_by(Child.id).order_by(Child.name).limit(50)
    )
    parties = list(
        Party.select(Party.name, fn.COUNT(fn.DISTINCT(Party.agreement)).alias("records"))
        .where(fn.LOWER(Party.name) ** pattern).group_by(Party.name).order_by(Party.name).limit(50).tuples()
    )
    return [(c, c.records) for c in children], parties


def records_of_child(child: Child) -> list[Agreement]:
    return list(Agreement.select().join(AgreementChild).where(AgreementChild.child == child)
                .distinct().order_by(Agreement.id))


def records_of_party(name: str) -> list[Agreement]:
    return list(Agreement.select().join(Party).where(fn.LOWER(Party.name) == name.strip().lower())
                .distinct().order_by(Agreement.id))


def third_parties(agreements: list[Agreement]) -> list[Recipient]:
    """People at agencies whose contact details appear in the records: the ones a manager may redact."""
    ids = [a.id for a in agreements]
    return list(Recipient.select().where(Recipient.agreement.in_(ids)).order_by(Recipient.agreement, Recipient.position)) if ids else []


def _user(user_id) -> str | None:
    if user_id is None:
        return None
    user = User.get_or_none(User.id == user_id)
    return user.name if user else None


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
        "reviews": reviews, "breaches": breaches, "emails_sent": emails, "audit_trail": trail,
        "ended_at": _plain(agreement.ended_at), "end_reason": agreement.end_reason, "end_notes": agreement.end_notes,
    }


def collect(subject: str, agreements: list[Agreement], now: dt.datetime) -> dict:
    return {"subject": subject, "produced_at": _plain(now), "records": [record_data(a) for a in agreements]}


def redact(data: dict, recipients: list[Recipient]) -> dict:
    """Blank every trace of the ticked third parties' names and contact details."""
    ids = {r.id for r in recipients}
    for record in data["records"]:
        for entry in record["distribution"]:
            if entry["recipient_id"] in ids:
                entry["name"] = entry["email"] = entry["role"] = REDACTED
    redacted = json.dumps(data)
    secrets = sorted({value for r in recipients for value in (r.email, r.name) if value and len(value) > 2},
                     key=len, reverse=True)
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
