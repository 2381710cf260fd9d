"""Signed links for partner agencies: no account, one link per distribution entry.

A link names its distribution entry, its record and the entry's link version.
It stops working when the record ends, when the entry is removed, and when the
social worker revokes or re-issues it (raising `link_version`). Every check
failing reads the same to the visitor, so a guessed or tampered link learns
nothing.
"""

from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from tracker.models import Agreement, Recipient

SALT = "agency-link/v1"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def token_for(recipient: Recipient) -> str:
    return _serializer().dumps({"r": recipient.id, "a": recipient.agreement_id, "v": recipient.link_version})


def agency_url(recipient: Recipient) -> str:
    return f"{current_app.config['BASE_URL']}/a/{token_for(recipient)}"


def recipient_for(token: str) -> Recipient | None:
    """The distribution entry a link is for, or None when the link must not work."""
    try:
        data = _serializer().loads(token)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not all(isinstance(data.get(k), int) for k in ("r", "a", "v")):
        return None
    recipient = Recipient.get_or_none(Recipient.id == data["r"])
    if (
        recipient is None
        or recipient.agreement_id != data["a"]
        or recipient.link_version != data["v"]
        or recipient.link_revoked_at is not None
        or recipient.removed_at is not None
    ):
        return None
    agreement = Agreement.get_by_id(recipient.agreement_id)
    if agreement.status != "active":
        return None
    return recipient
