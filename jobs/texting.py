"""Texting: send queued text messages through GOV.UK Notify, and read their statuses back.

The outbox's text rows (`channel = "text"`, tracker.notices.texts) are sent here,
never by jobs.delivery, with the same guarantees as emails: each row is claimed
by a conditional update with a lease, so any number of runners may send at once;
it is checked against the record just before sending (the emails' own
`still_wanted`); a temporary failure (Notify's 429 or 5xx, a connection that
fails) goes back to pending with the same exponential backoff; a refusal (400 or
403: a number Notify will not send to, a key that is wrong) fails it at once.

Notify accepting a text is not its delivery: a second pass asks Notify for the
status of each accepted text until it is final (delivered, permanent-failure,
temporary-failure, technical-failure), as Notify's documentation lists them. A
text that was not delivered is marked failed with Notify's words, which makes
it a task on the record for the person responsible (tracker.notices.undeliverable),
as an undeliverable email is.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

from flask import current_app
from notifications_python_client.errors import APIError
from notifications_python_client.notifications import NotificationsAPIClient

from jobs.delivery import FIRST_RETRY, LEASE, MAX_ATTEMPTS, DeliveryReport, backoff, finish, retry_or_give_up
from tracker import settings
from tracker.models import Notification
from tracker.notices import texts
from tracker.notices.mailings import still_wanted

# Notify keeps a message's status for 7 days; after that there is nothing to ask.
STATUS_KEPT = dt.timedelta(days=7)
FINAL_DELIVERED = ("delivered", "sent")  # "sent": an international number, whose network says no more
NOT_DELIVERED = {
    "permanent-failure": "the number does not exist or cannot take text messages",
    "temporary-failure": "the phone did not accept it for 72 hours (it may be off, or its memory full)",
}
SEND_AGAIN = ("technical-failure",)  # a fault between Notify and the network: Notify says send it again


def client() -> NotificationsAPIClient:
    """Notify's official client, with the key from the environment and the address from the settings."""
    return NotificationsAPIClient(texts.api_key(), base_url=settings.get("notify_base_url"),
                                  timeout=float(current_app.config.get("NOTIFY_TIMEOUT") or 20))


def _ready(now: dt.datetime):
    return (((Notification.status == "pending") & (Notification.next_attempt_at <= now))
            | ((Notification.status == "sending") & (Notification.claimed_until < now))) & (
        Notification.channel == "text")


def claim(row_id: int, now: dt.datetime) -> bool:
    """Take one text for this runner; False means another runner has it or it is not due."""
    return (
        Notification.update(status="sending", claimed_until=now + LEASE, attempts=Notification.attempts + 1)
        .where((Notification.id == row_id) & _ready(now))
        .execute()
        == 1
    )


def _answer(exc: APIError) -> str:
    """Notify's answer in one line: "400 Can't send to this recipient using a team-only API key"."""
    message = exc.message
    if isinstance(message, list):
        message = "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in message)
    return f"{exc.status_code} {message}"


def _unreachable(exc: APIError) -> bool:
    """No answer at all (refused, timed out, a name that does not resolve): the client then has no response."""
    return getattr(exc, "response", None) is None


def send_pending(now: dt.datetime, limit: int = 200, should_stop: Callable[[], bool] | None = None) -> DeliveryReport:
    """One pass over queued texts.

    1. Read up to `limit` due text ids, urgent breach alerts first.
    2. For each, stop if asked to (SIGTERM), else claim it; skip it if another runner won.
    3. Cancel it if its reason has gone (tracker.notices.mailings.still_wanted), as an email would be.
    4. Send it with its kind's template; record Notify's id and when to ask for the status.
       When Notify cannot be reached, put the row back uncounted and end the pass.
    """
    report = DeliveryReport()
    ready = _ready(now)
    urgent = [r.id for r in Notification.select(Notification.id).where(ready & (Notification.kind == "breach_alert"))
              .order_by(Notification.next_attempt_at, Notification.id).limit(limit)]
    rest = Notification.select(Notification.id).where(ready).order_by(Notification.next_attempt_at, Notification.id)
    if urgent:
        rest = rest.where(Notification.id.not_in(urgent))
    ids = urgent + [r.id for r in rest.limit(max(0, limit - len(urgent)))]
    if not ids:
        return report
    notify = client() if texts.api_key() else None
    started = time.monotonic()
    for row_id in ids:
        if should_stop is not None and should_stop():
            break
        if time.monotonic() - started > LEASE.total_seconds() / 2:
            break  # claims are leased from `now`: stop before one could lapse mid-send (R10)
        if not claim(row_id, now):
            continue
        row = Notification.get_by_id(row_id)
        reason = still_wanted(row)
        if reason:
            finish(row, status="cancelled", last_error=reason)
            report.cancelled += 1
            continue
        template = texts.template_id(row.kind) if row.kind in texts.KINDS else ""
        if notify is None or not template:
            # Set up when it was queued, not now: a person must see it rather than it wait for ever.
            error = "Not sent: text messages are not set up (NOTIFY_API_KEY or the kind's Notify template id is missing)"
            finish(row, status="failed", last_error=error)
            report.failed += 1
            report.errors.append(error)
            continue
        try:
            # Tried before (a lease that lapsed mid-send, a 5xx or a timed-out answer after Notify had
            # taken it): ask Notify whether it already has this text, by the row's reference, rather
            # than send it twice (R10). A first try asks nothing.
            answer = _already_taken(notify, row) if row.attempts > 1 or row.last_error else None
            # The reference is the outbox row's, which names nobody (Notify asks that it carry nothing personal).
            answer = answer or notify.send_sms_notification(phone_number=row.to_address, template_id=template,
                                                  personalisation=texts.values_of(row), reference=f"outbox-{row.id}")
        except APIError as exc:
            error = f"Text message: {_answer(exc)}"
            if _unreachable(exc):
                # Says nothing about this text: not counted, and the rest of the pass would wait the same.
                finish(row, status="pending", attempts=row.attempts - 1, next_attempt_at=now + FIRST_RETRY,
                        last_error=f"Text message: could not reach GOV.UK Notify ({exc.__cause__ or exc})"[:2000])
                report.retry += 1
                report.errors.append(error)
                break
            if exc.status_code in (400, 403):
                finish(row, status="failed", last_error=f"Text message refused: {_answer(exc)}"[:2000])
                report.failed += 1
                report.errors.append(error)
            else:
                retry_or_give_up(row, error, now, report)
        except Exception as exc:
            current_app.logger.exception("Sending text %s failed", row.id)
            retry_or_give_up(row, f"Text message: unexpected error: {type(exc).__name__}: {exc}", now, report)
        else:
            finish(row, status="sent", sent_at=now, last_error="", notify_id=str(answer.get("id") or "")[:64] or None,
                    notify_status="created", status_check_at=now + FIRST_RETRY)
            report.sent += 1
    return report


def _already_taken(notify: NotificationsAPIClient, row: Notification) -> dict | None:
    """The text Notify already holds under this row's reference, if any (its list of the last 7 days).

    Not one already judged: the text whose technical failure is why this row is being sent again."""
    found = notify.get_all_notifications(template_type="sms", reference=f"outbox-{row.id}")
    return next((n for n in found.get("notifications") or []
                 if n.get("id") != row.notify_id and n.get("status") not in (*NOT_DELIVERED, *SEND_AGAIN)), None)


def _next_check(row: Notification, now: dt.datetime) -> dt.datetime | None:
    """Soon after sending, then less often; never past the 7 days Notify keeps a status."""
    age = now - (row.sent_at or now)
    if age >= STATUS_KEPT:
        return None
    step = dt.timedelta(minutes=1) if age < dt.timedelta(minutes=15) else (
        dt.timedelta(minutes=15) if age < dt.timedelta(hours=6) else dt.timedelta(hours=2))
    return now + step


def read_statuses(now: dt.datetime, limit: int = 200, should_stop: Callable[[], bool] | None = None) -> int:
    """Ask Notify for the status of each accepted text not yet final; returns how many became final.

    1. Read up to `limit` sent texts whose `status_check_at` is due (an indexed column).
    2. Claim each by moving `status_check_at` on, conditionally: two runners never ask twice.
    3. Delivered: done. Permanent or temporary failure: failed, a task on the record.
       Technical failure: queued again, as Notify says. Still on its way: asked again later.
    """
    due = list(Notification.select(Notification.id, Notification.status_check_at)
               .where((Notification.status_check_at <= now) & (Notification.channel == "text")
                      & (Notification.status == "sent") & Notification.notify_id.is_null(False))
               .order_by(Notification.status_check_at, Notification.id).limit(limit).tuples())
    if not due or not texts.api_key():
        return 0
    notify = client()
    final = 0
    for row_id, check_at in due:
        if should_stop is not None and should_stop():
            break
        taken = Notification.update(status_check_at=now + LEASE).where(
            (Notification.id == row_id) & (Notification.status_check_at == check_at)).execute()
        if taken != 1:
            continue
        row = Notification.get_by_id(row_id)
        try:
            status = str(notify.get_notification_by_id(row.notify_id).get("status") or "")
        except APIError as exc:
            if _unreachable(exc):
                Notification.update(status_check_at=now + FIRST_RETRY).where(Notification.id == row.id).execute()
                break
            if exc.status_code in (400, 404):
                Notification.update(status_check_at=None, last_error=f"Notify has no status for it: {_answer(exc)}"[
                    :2000]).where(Notification.id == row.id).execute()
            else:
                Notification.update(status_check_at=_next_check(row, now)).where(Notification.id == row.id).execute()
            continue
        final += _record_status(row, status, now)
    return final


def _record_status(row: Notification, status: str, now: dt.datetime) -> int:
    mine = (Notification.id == row.id) & (Notification.status == "sent")
    if status in FINAL_DELIVERED:
        Notification.update(notify_status=status, status_check_at=None).where(mine).execute()
        return 1
    if status in NOT_DELIVERED:
        Notification.update(status="failed", notify_status=status, status_check_at=None,
                            last_error=f"Text message not delivered ({status}): {NOT_DELIVERED[status]}").where(
            mine).execute()
        return 1
    if status in SEND_AGAIN:
        again = row.attempts < MAX_ATTEMPTS
        Notification.update(
            status="pending" if again else "failed", notify_status=status, status_check_at=None,
            next_attempt_at=now + backoff(row.attempts),
            last_error=f"Text message not delivered ({status}): a fault between Notify and the network"
                       + ("; sending it again" if again else f"; gave up after {row.attempts} attempts"),
        ).where(mine).execute()
        return 1
    following = _next_check(row, now)
    Notification.update(notify_status=status[:32], status_check_at=following,
                        last_error="" if following else "No final status from Notify within 7 days").where(
        mine).execute()
    return 0


def text_pass(now: dt.datetime, limit: int = 200, should_stop: Callable[[], bool] | None = None) -> DeliveryReport:
    """What the scheduler's delivery job runs after the emails: send what is due, then read statuses back."""
    report = send_pending(now, limit=limit, should_stop=should_stop)
    read_statuses(now, limit=limit, should_stop=should_stop)
    return report
