"""The outbox: enqueue (idempotent on a key), render, and deliver by the job runner.

A notification is written in the same transaction as the change that causes
it, one row per recipient address, so a partly refused list is recorded per
recipient. Delivery lives in `jobs.delivery`; web requests never send mail.
"""

from __future__ import annotations

import datetime as dt

from flask import current_app, render_template

from tracker.models import Agreement, Notification, utcnow
from tracker.settings import contacts


def initials(agreement: Agreement) -> str:
    """The children's initials, for emails: never a full name with a date of birth."""
    from tracker.records import children_of

    return ", ".join(child.initials() for child in children_of(agreement)) or "-"


def enqueue(
    key: str,
    kind: str,
    to_address: str,
    *,
    agreement: Agreement | None = None,
    to_label: str = "",
    context: dict | None = None,
    ics: str = "",
    now: dt.datetime | None = None,
) -> bool:
    """Queue one email; returns False when a message with this key already exists.

    Insert-or-ignore on the unique key is what makes every sweep safe to run
    twice, or on two runners at once: the second insert does nothing.
    """
    now = now or utcnow()
    key = key[:255]
    # The sweeps offer the same due work every minute until its moment passes;
    # looking the key up first (an indexed read) spares rendering three
    # templates each time. The insert below still decides, so two runners
    # racing past this check still make one row.
    if Notification.select(Notification.id).where(Notification.key == key).exists():
        return False
    context = dict(context or {})
    context.setdefault("agreement", agreement)
    context.setdefault("base_url", current_app.config["BASE_URL"])
    # Emails are signed by the council's service (Administration -> Service settings).
    context.setdefault("service", contacts())
    if agreement is not None:
        context.setdefault("initials", initials(agreement))
        context.setdefault("record_url", f"{current_app.config['BASE_URL']}/agreements/{agreement.id}")
    subject = render_template(f"email/{kind}.subject.txt", **context).strip()
    body_text = render_template(f"email/{kind}.txt", **context)
    body_html = render_template(f"email/{kind}.html", **context)
    inserted = (
        Notification.insert(
            key=key,
            kind=kind,
            agreement=agreement,
            to_address=to_address,
            to_label=to_label,
            subject=subject[:300],
            body_text=body_text,
            body_html=body_html,
            ics=ics,
            status="pending",
            next_attempt_at=now,
            created_at=now,
        )
        .on_conflict_ignore()
        .as_rowcount()
        .execute()
    )
    return bool(inserted)
