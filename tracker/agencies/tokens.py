"""What an agency's link is: a signed token for one distribution entry, when it
expires, and why a genuine link has stopped. The actions that stop a link and
send a new one are in `links`.

A link names its distribution entry, its record and the entry's link version.
It works while the record is active, the entry is on the list, not revoked,
the version is the current one, and it has not expired (a service setting's
number of days, `agency_link_days`, after the later of its issue and the
record's latest endorsement).
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from tracker import audit, settings
from tracker.models import Agreement, Recipient

SALT = "agency-link/v1"

# Why a genuine link no longer works, in words for the audit log.


STOPPED = {
    "removed": "the entry was taken off the distribution list",
    "ended": "the record is no longer active",
    "revoked": "the social worker revoked it",
    "replaced": "a newer link was sent",
    "expired": "it expired",
}


def _serializer() -> URLSafeSerializer:
    return _serializer_for(current_app.config["SECRET_KEY"])


@functools.lru_cache(maxsize=4)
def _serializer_for(secret_key: str) -> URLSafeSerializer:
    # Made once per key: a sweep writes hundreds of links, and making one
    # cost more than signing with it.
    return URLSafeSerializer(secret_key, salt=SALT)


def token_for(recipient: Recipient) -> str:
    return _serializer().dumps({"r": recipient.id, "a": recipient.agreement_id, "v": recipient.link_version})


def agency_url(recipient: Recipient) -> str:
    return f"{current_app.config['BASE_URL']}/a/{token_for(recipient)}"


def expires_at(recipient: Recipient, agreement: Agreement) -> dt.datetime | None:
    """When the entry's current link stops working by age; None before it was ever issued."""
    moments = [m for m in (recipient.link_issued_at or recipient.copy_sent_at, agreement.endorsed_at) if m]
    if not moments:
        return None
    return max(moments) + dt.timedelta(days=settings.get("agency_link_days"))


def stop_reason(recipient: Recipient, agreement: Agreement, now: dt.datetime, version: int | None = None) -> str:
    """Why the entry's link (of `version`, or the current one) does not work now; "" when it does."""
    if recipient.removed_at is not None:
        return "removed"
    if agreement.status != "active":
        return "ended"
    if recipient.link_revoked_at is not None:
        return "revoked"
    if version is not None and version != recipient.link_version:
        return "replaced"
    ends = expires_at(recipient, agreement)
    if ends is not None and now >= ends:
        return "expired"
    return ""


@dataclass
class Link:
    """What a token turned out to be: nothing (tampered or unknown), or a genuine
    link to an entry that works or has `stopped` for a reason (a key of STOPPED)."""

    recipient: Recipient | None = None
    agreement: Agreement | None = None
    stopped: str = ""

    @property
    def works(self) -> bool:
        return self.recipient is not None and not self.stopped


def check(token: str, now: dt.datetime) -> Link:
    try:
        data = _serializer().loads(token)
    except BadSignature:
        return Link()
    if not isinstance(data, dict) or not all(type(data.get(k)) is int for k in ("r", "a", "v")):
        return Link()
    recipient = Recipient.get_or_none(Recipient.id == data["r"])
    if recipient is None or recipient.agreement_id != data["a"]:
        return Link()
    agreement = Agreement.get_by_id(recipient.agreement_id)
    return Link(recipient, agreement, stop_reason(recipient, agreement, now, data["v"]))


def recipient_for(token: str, now: dt.datetime) -> Recipient | None:
    """The distribution entry a link is for, or None when the link must not work."""
    link = check(token, now)
    return link.recipient if link.works else None


# --- the link's life ------------------------------------------------------------
# Each function runs inside the caller's transaction.


def bump(recipient: Recipient, now: dt.datetime, **values) -> None:
    """Issue the entry's next link version: every earlier link stops."""
    Recipient.update(link_version=Recipient.link_version + 1, link_issued_at=now, **values).where(
        Recipient.id == recipient.id).execute()
    fresh = Recipient.get_by_id(recipient.id)
    recipient.link_version, recipient.link_issued_at = fresh.link_version, fresh.link_issued_at
    for name in values:
        setattr(recipient, name, getattr(fresh, name))


def renew_if_expired(recipient: Recipient, agreement: Agreement, now: dt.datetime) -> bool:
    """Before an email carries the link: an expired one is replaced by a fresh one.

    Only an otherwise working link is renewed; a revoked, removed or ended one
    is never brought back this way. The old link had already stopped, so a
    new version costs the agency nothing.
    """
    if stop_reason(recipient, agreement, now) != "expired":
        return False
    old = recipient.link_version
    bump(recipient, now)
    audit.record("agency_link_renewed", actor="Agreement tracker", agreement=agreement, entity="recipient",
                 entity_id=recipient.id, changes={"agency_link": [f"version {old} (expired)", f"version {old + 1}"]},
                 at=now)
    return True
