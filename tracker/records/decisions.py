"""Decisions on an undertaking that stop or restart its escalation ladder (R4).

Ending or replacing an undertaking is `lifecycle.end`. Here: a manager extends
one, with a reason. Like the functions in `records`, each runs in one
transaction with its audit event, and takes `now` as a parameter.
"""

from __future__ import annotations

import datetime as dt

from tracker import audit, models
from tracker.clock import moment_words
from tracker.db import database
from tracker.models import Agreement, User
from tracker.records import drafting
from tracker.rules import RuleBroken


def extend_undertaking(agreement: Agreement, user: User, new_end: dt.datetime | None, reason: str, now: dt.datetime,
                       revision=None) -> Agreement:
    """A manager moves an active undertaking's end later and says why.

    The ladder starts again from the new end (a warning before it, then
    escalation), and messages keyed to the old end are no longer sent.
    """
    errors: dict[str, str] = {}
    if not user.is_manager:
        errors["new_end"] = "Only a team manager or service manager can extend an undertaking"
    elif agreement.kind != "undertaking" or agreement.status != "active":
        errors["new_end"] = "Only an active undertaking can be extended"
    elif new_end is None:
        errors["new_end"] = "Enter the new date and time the undertaking must end by"
    elif new_end <= now:
        errors["new_end"] = "The new end must be in the future"
    elif agreement.window_ends_at is not None and new_end <= agreement.window_ends_at:
        errors["new_end"] = "The new end must be later than the current end"
    if not (reason or "").strip():
        errors["reason"] = "Give the reason the undertaking needs longer"
    if errors:
        raise RuleBroken(errors)
    reason = reason.strip()
    first = drafting.first_notice_at(agreement, new_end)
    with database.atomic():
        models.claim(agreement.id, revision)
        old_end, old_reason = agreement.window_ends_at, agreement.window_reason
        note = f"Extended by {user.name} on {moment_words(now)}: {reason}"
        window_reason = f"{old_reason}\n{note}".strip() if old_reason else note
        Agreement.update(
            window_ends_at=new_end, window_reason=window_reason, next_escalation_at=first,
            escalation_level=0, updated_at=now,
        ).where(Agreement.id == agreement.id).execute()
        audit.record("undertaking_extended", user=user, agreement=agreement, entity="agreement",
                     entity_id=agreement.id, changes={"window_ends_at": [old_end, new_end], "reason": [None, reason]},
                     at=now)
    return Agreement.get_by_id(agreement.id)
