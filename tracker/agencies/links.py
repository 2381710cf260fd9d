"""Signed links for partner agencies: no account, one link per distribution entry.
This module changes links and sends them; `tokens` says what a link is and whether it works.

A link names its distribution entry, its record and the entry's link version.
It works while the record is active, the entry is on the list, not revoked,
the version is the current one, and it has not expired. It stops:

- when the entry's email address or agency changes (`readdressed`: the new
  address is sent its copy with a fresh link at once);
- when the entry is removed, or the record ends;
- when the social worker revokes it (`revoke`) or sends a new one (`reissue`);
- a service setting's number of days (`agency_link_days`, default 90) after
  the later of its issue and the record's latest endorsement, so a newly
  endorsed version renews every link without anything else changing.

A link that fails its signature, or names an entry that does not exist or
belongs to another record, reads only "This link does not work". A genuine
link that has stopped offers to email a new one to the address on the list
(`send_new_link`), which says the same whether or not it sent anything.
"""

from __future__ import annotations

import datetime as dt

from tracker import audit, settings
from tracker.agencies.tokens import STOPPED, bump, renew_if_expired, stop_reason
from tracker.models import Agreement, Notification, Recipient, User
from tracker.notices import mailings


def _send_copy(recipient: Recipient, agreement: Agreement, now: dt.datetime) -> None:
    """Send the entry its copy with the current link; chased if not acknowledged (R9)."""
    if not recipient.email:
        return
    chase_at = now + dt.timedelta(days=settings.get("ack_chase_days"))
    Recipient.update(copy_sent_at=now, chase_at=chase_at).where(
        (Recipient.id == recipient.id) & Recipient.acknowledged_at.is_null()).execute()
    mailings.copies_issued(agreement, now, only=Recipient.get_by_id(recipient.id))


def revoke(recipient: Recipient, agreement: Agreement, user: User, now: dt.datetime) -> None:
    """Stop the link; nothing more is sent to the entry until a new link is issued (R10)."""
    Recipient.update(link_revoked_at=now, chase_at=None).where(Recipient.id == recipient.id).execute()
    audit.record("agency_link_revoked", user=user, agreement=agreement, entity="recipient", entity_id=recipient.id,
                 changes={"agency_link": ["working", "revoked"]}, at=now)


def reissue(recipient: Recipient, agreement: Agreement, user: User, now: dt.datetime) -> None:
    """Stop every earlier link and, on an active record, email the copy with the new one."""
    old = recipient.link_version
    bump(recipient, now, link_revoked_at=None)
    if agreement.status == "active":
        _send_copy(recipient, agreement, now)
    audit.record("agency_link_reissued", user=user, agreement=agreement, entity="recipient", entity_id=recipient.id,
                 changes={"agency_link": [f"version {old}", f"version {old + 1}"]}, at=now)


def readdressed(recipient: Recipient, agreement: Agreement, before: dict, user: User | None,
                now: dt.datetime) -> None:
    """The entry's email address or agency changed: the old link stops, and the new
    address is sent the copy with a fresh link at once, to acknowledge afresh.

    A revoked entry stays revoked (nothing is sent until the worker issues a
    new link); a record not yet active sends copies when it is endorsed.
    """
    old = recipient.link_version
    bump(recipient, now, acknowledged_at=None, chased_at=None, chase_at=None)
    sent = agreement.status == "active" and recipient.link_revoked_at is None and bool(recipient.email)
    if sent:
        _send_copy(recipient, agreement, now)
        # Issue 20: correcting the address is how an undeliverable request is
        # sent again; delivery re-renders it for the new address and link.
        Notification.update(status="pending", next_attempt_at=now, attempts=0, last_error="").where(
            (Notification.recipient == recipient.id) & (Notification.status == "failed")
            & Notification.kind.in_(("report_request", "report_prompt"))).execute()
    changes = {key: [value, getattr(recipient, key)] for key, value in before.items()}
    changes["agency_link"] = [f"version {old}", f"version {old + 1}" + (", copy sent" if sent else "")]
    audit.record("agency_link_readdressed", user=user, actor="" if user else "Agreement tracker", agreement=agreement,
                 entity="recipient", entity_id=recipient.id, changes=changes, at=now)


def send_new_link(recipient: Recipient, agreement: Agreement, now: dt.datetime, ip: str = "") -> bool:
    """Someone holding a stopped link asked for a new one: email it to the address
    on the list, never to anyone else. True when an email was queued; the page
    says the same either way, so the answer is only for the audit log and tests.

    A current link that still works is sent again as it is (asking cannot be
    used to stop the agency's link); an expired one is renewed first.
    """
    reason = stop_reason(recipient, agreement, now)
    sendable = reason in ("", "expired") and bool(recipient.email)
    if sendable:
        renew_if_expired(recipient, agreement, now)
        sendable = mailings.new_link(recipient, agreement, now) > 0
    audit.record("agency_new_link_requested", actor=f"Someone with an old link for distribution entry {recipient.id}",
                 agreement=agreement, entity="recipient", entity_id=recipient.id,
                 changes={"new_link": [None, "emailed to the address on the list" if sendable
                                       else f"not sent ({STOPPED.get(reason, 'already sent this hour')})"]},
                 ip=ip, at=now)
    return sendable
