"""The outbox for administrators: mail waiting, retrying or failed, with a retry button.

Each record's own page lists every email sent about it; this page is for the
email and text messages that have not gone, across the service. It shows addresses and subjects
(which carry only references and initials), never the children's records.
"""

from __future__ import annotations

from collections import namedtuple

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from tracker import audit
from tracker.clock import utcnow
from tracker.db import database
from tracker.models import Notification
from tracker.notices import undeliverable
from tracker.people.access import require

bp = Blueprint("outbox", __name__, url_prefix="/admin/outbox")
WAITING = ("pending", "sending")


@bp.before_request
@login_required
def _administrators_only() -> None:
    require("admin")


@bp.route("")
def index():
    failed = list(Notification.select().where(Notification.status == "failed")
                  .order_by(Notification.created_at.desc()).limit(200))
    waiting = list(Notification.select().where(Notification.status.in_(WAITING))
                   .order_by(Notification.next_attempt_at).limit(200))
    # Cancelled just before sending (its reason had gone, or the agency link it
    # carried had stopped), newest first, with the reason.
    cancelled = list(Notification.select().where(Notification.status == "cancelled")
                     .order_by(Notification.id.desc()).limit(50))
    by_cause = {key: [] for key, _ in undeliverable.CAUSES}
    for row in failed:
        by_cause[undeliverable.cause(row.last_error)].append(row)
    failed_by_cause = [Cause(key, undeliverable.CAUSE_WORDS[key], rows) for key, rows in by_cause.items() if rows]
    return render_template("admin/outbox.html", failed=failed, failed_by_cause=failed_by_cause, waiting=waiting,
                           cancelled=cancelled, now=utcnow())


Cause = namedtuple("Cause", "key words rows")


@bp.post("/<int:notification_id>/retry")
def retry(notification_id: int):
    """Put a failed (or waiting) message back to pending, to go on the next delivery pass."""
    now = utcnow()
    with database.atomic():
        changed = Notification.update(status="pending", next_attempt_at=now, claimed_until=None).where(
            (Notification.id == notification_id) & Notification.status.in_(("failed", "pending"))
        ).execute()
        if changed:
            audit.record("mail_retried", user=current_user, entity="notification", entity_id=notification_id,
                         changes={"status": ["failed", "pending"]}, at=now)
    row = Notification.get_or_none(Notification.id == notification_id)
    what = "text message" if row and row.channel == "text" else "email"
    if changed:
        flash(f"The {what} will be sent again within a minute", "success")
    else:
        flash(f"That {what} is being sent now, or has been sent", "info")
    return redirect(url_for("outbox.index"))
