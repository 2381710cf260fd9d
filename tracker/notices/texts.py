"""Text messages through GOV.UK Notify: a second channel of the one outbox (R10, R18, R20).

A text is a `Notification` row with `channel = "text"`, written in its cause's
transaction under a unique key (insert or ignore), exactly as an email is; the
job runner sends it (jobs.texting), checked against the record just before, with
retries, and reads Notify's delivery status back. Notify holds the words, in a
template the council writes there; the row holds only the template's values
(`personalisation`), and each kind declares which values it has (`KINDS`), so
nothing personal can be added to a text by accident: no name, no initials.

Notify is offered only when it is set up: the API key in the environment
(NOTIFY_API_KEY, never in the database) and the kind's template id in the
service settings (`available`).
"""

from __future__ import annotations

import datetime as dt
import json

from flask import current_app

from tracker import settings
from tracker.clock import utcnow
from tracker.models import Agreement, Notification
from tracker.rules import TextRefused, mobile_number

__all__ = ["KINDS", "TextRefused", "available", "mobile_number", "queue_text", "template_id", "values_of"]

# Each kind of text, the values its Notify template has (and nothing else), and what it is in words.
KINDS = {
    # `changed`: "" when the link is first sent; when a new version comes into force, in the family's language,
    # what changed in the registry's words ("What changed: the contingency plan."), never what was typed.
    "family_link": {"values": ("link", "changed"), "what": "Text message: a family party's link to their own copy"},
    "breach_alert": {"values": ("reference", "link"), "what": "Text message: an urgent breach, out of hours"},
}
def api_key() -> str | None:
    """The council's Notify API key, from the environment only (tracker.config)."""
    return current_app.config.get("NOTIFY_API_KEY") or None


def template_id(kind: str) -> str:
    """The kind's Notify template id from the service settings; "" when none is set."""
    if kind not in KINDS:
        raise KeyError(f"No text message kind {kind!r}")
    return settings.get(f"notify_template_{kind}")


def available(kind: str) -> bool:
    """Whether texts of this kind can be sent: an API key in the environment and the kind's template id."""
    return bool(api_key()) and bool(template_id(kind))


def what(kind: str) -> str:
    return KINDS[kind]["what"] if kind in KINDS else "Text message"


def queue_text(
    key: str,
    kind: str,
    mobile: str,
    *,
    personalisation: dict[str, str],
    agreement: Agreement | None = None,
    to_label: str = "",
    now: dt.datetime | None = None,
) -> bool:
    """Queue one text; returns False when a message with this key already exists.

    Insert-or-ignore on the outbox's unique key, as `notify.enqueue` does for an
    email, so a cause offered twice (or by two runners at once) queues one text.
    `personalisation` must have exactly the kind's declared values: a text never
    carries more than its template says.
    """
    if kind not in KINDS:
        raise KeyError(f"No text message kind {kind!r}")
    declared = KINDS[kind]["values"]
    if set(personalisation) != set(declared):
        raise ValueError(f"A {kind} text has exactly {', '.join(declared)}, not {', '.join(sorted(personalisation))}")
    values = {name: str(personalisation[name]) for name in declared}
    now = now or utcnow()
    key = key[:255]
    inserted = (
        Notification.insert(
            key=key, kind=kind, channel="text", agreement=agreement, to_address=mobile_number(mobile),
            to_label=to_label, subject=what(kind),
            # What the outbox page shows: the values only, as Notify puts them in its template.
            body_text="\n".join(f"(({name})): {values[name]}" for name in declared),
            personalisation=json.dumps(values), status="pending", next_attempt_at=now, created_at=now,
        )
        .on_conflict_ignore()
        .as_rowcount()
        .execute()
    )
    return bool(inserted)


def values_of(row: Notification) -> dict[str, str]:
    """A queued text's template values."""
    data = json.loads(row.personalisation or "{}")
    return data if isinstance(data, dict) else {}
