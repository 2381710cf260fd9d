"""The audit log: every change and every view of a child's record."""

from __future__ import annotations

import datetime as dt
import json

from tracker.clock import utcnow
from tracker.models import AuditEvent


def _plain(value):
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if hasattr(value, "id") and hasattr(value, "_meta"):
        return value.id
    return value


def diff(before: dict, after: dict) -> dict:
    """Fields whose value changed, as {field: [old, new]}."""
    return {
        key: [_plain(before.get(key)), _plain(after.get(key))]
        for key in after
        if _plain(before.get(key)) != _plain(after.get(key))
    }


def viewed(agreement, what: str = "viewed", *, user=None, actor: str = "", ip: str = "", changes: dict | None = None):
    """A view of a child's record: the page, the printable copy, a download."""
    return record(what, user=user, actor=actor, agreement=agreement, entity="agreement",
                  entity_id=agreement.id if agreement is not None else None, ip=ip, changes=changes)


def record(
    action: str,
    *,
    user=None,
    actor: str = "",
    agreement=None,
    entity: str = "",
    entity_id: int | None = None,
    changes: dict | None = None,
    ip: str = "",
    at: dt.datetime | None = None,
) -> AuditEvent:
    """Append one audit event. Call inside the transaction of the change."""
    return AuditEvent.create(
        at=at or utcnow(),
        user=user,
        actor=actor or (user.name if user is not None else ""),
        action=action,
        agreement=agreement,
        entity=entity,
        entity_id=entity_id,
        changes=json.dumps({k: [_plain(v[0]), _plain(v[1])] for k, v in (changes or {}).items()}),
        ip=ip,
    )
