"""Which emails a change causes. Each enqueues inside the caller's transaction."""

from __future__ import annotations

import datetime as dt

from tracker.models import Agreement
from tracker.notify import enqueue
from tracker.records import live_recipients


def copies_issued(agreement: Agreement, now: dt.datetime) -> int:
    """Tell each agency on the distribution list that its copy is ready (R9)."""
    count = 0
    for recipient in live_recipients(agreement):
        if not recipient.email:
            continue
        count += enqueue(
            f"copy/{recipient.id}/v{recipient.link_version}",
            "copy_issued",
            recipient.email,
            agreement=agreement,
            to_label=f"{recipient.name}, {recipient.agency_name}",
            context={"recipient": recipient},
            now=now,
        )
    return count
