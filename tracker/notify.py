"""The outbox: enqueue (idempotent on a key), render, and deliver by the job runner.

A notification is written in the same transaction as the change that causes
it, one row per recipient address, so a partly refused list is recorded per
recipient. Delivery lives in `jobs.delivery`; web requests never send mail.
"""

from __future__ import annotations

import datetime as dt

from flask import current_app, render_template

from tracker.models import Agreement, Notification, Recipient, utcnow
from tracker.settings import contacts


def initials(agreement: Agreement) -> str:
    """The children's initials, for emails: never a full name with a date of birth."""
    from tracker.records import children_of

    return ", ".join(child.initials() for child in children_of(agreement)) or "-"


def render(kind: str, context: dict | None, agreement: Agreement | None) -> tuple[str, str, str]:
    """An email's subject, text and HTML bodies from its three templates."""
    context = dict(context or {})
    context.setdefault("agreement", agreement)
    context.setdefault("base_url", current_app.config["BASE_URL"])
    # Whom to call, with the numbers: every email that says to contact the
    # front door or the out-of-hours team gives them.
    context.setdefault("contacts", contacts())
    # Emails are signed by the council's service (Administration -> Service settings).
    context.setdefault("service", context["contacts"])
    if agreement is not None:
        context.setdefault("initials", initials(agreement))
        context.setdefault("record_url", f"{current_app.config['BASE_URL']}/agreements/{agreement.id}")
    # A subject is one line: a name with a line break in it (from before names
    # were checked) must not make the message unsendable.
    subject = " ".join(render_template(f"email/{kind}.subject.txt", **context).split())
    return subject[:300], render_template(f"email/{kind}.txt", **context), render_template(f"email/{kind}.html", **context)


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
    link_for: Recipient | None = None,
) -> bool:
    """Queue one email; returns False when a message with this key already exists.

    Insert-or-ignore on the unique key is what makes every sweep safe to run
    twice, or on two runners at once: the second insert does nothing. An email
    that carries an agency's link names its entry (`link_for`), so the link is
    checked again just before sending.
    """
    now = now or utcnow()
    key = key[:255]
    # The sweeps offer the same due work every minute until its moment passes;
    # looking the key up first (an indexed read) spares rendering three
    # templates each time. The insert below still decides, so two runners
    # racing past this check still make one row.
    if Notification.select(Notification.id).where(Notification.key == key).exists():
        return False
    subject, body_text, body_html = render(kind, context, agreement)
    inserted = (
        Notification.insert(
            key=key,
            kind=kind,
            agreement=agreement,
            to_address=to_address,
            to_label=to_label,
            subject=subject,
            body_text=body_text,
            body_html=body_html,
            ics=ics,
            status="pending",
            next_attempt_at=now,
            created_at=now,
            recipient=link_for.id if link_for is not None else None,
            link_version=link_for.link_version if link_for is not None else None,
        )
        .on_conflict_ignore()
        .as_rowcount()
        .execute()
    )
    return bool(inserted)
