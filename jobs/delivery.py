"""Delivery: claim queued emails with a lease and send them over SMTP.

Only the job runner sends; a web request only queues. Any number of runners
may deliver at once (on PostgreSQL): each row is claimed by a conditional
update whose row count says who won, and a claim whose lease has lapsed (its
runner died mid-send) can be claimed again. A temporary failure puts the row
back to pending with an exponential backoff; a permanent one marks it failed
at once, with the server's answer kept for the outbox page. A server that
cannot be reached is not the message's fault: the row waits, uncounted, for as
long as the outage lasts. Nothing is dropped.
"""

from __future__ import annotations

import datetime as dt
import smtplib
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path

from flask import current_app

from jobs import ics as ics_format
from tracker.mailings import check_agency_link, still_wanted
from tracker.models import Notification

LEASE = dt.timedelta(minutes=5)
FIRST_RETRY = dt.timedelta(minutes=1)
LONGEST_RETRY = dt.timedelta(hours=6)
MAX_ATTEMPTS = 12  # about 20 hours of refusals by the server before a person has to look


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    retry: int = 0
    cancelled: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return f"{self.sent} sent, {self.failed} failed, {self.retry} to retry, {self.cancelled} no longer needed"


class TemporaryFailure(Exception):
    """Try again later: the server was down, slow, or said 4xx."""


class PermanentFailure(Exception):
    """Do not try again: the server said 5xx or refused the recipient."""


class ConnectionDown(TemporaryFailure):
    """The server cannot be reached; the rest of this pass would fail the same way."""


def backoff(attempts: int) -> dt.timedelta:
    """1, 2, 4, 8 … minutes, at most six hours, after the `attempts`-th failure."""
    return min(FIRST_RETRY * (2 ** max(0, attempts - 1)), LONGEST_RETRY)


def _address(text: str):
    """`Name <a@b>` or `a@b` as a header value the library builds."""
    name, addr = parseaddr(text)
    return Address(display_name=" ".join(name.split()), addr_spec=addr) if addr else text


def build_message(row: Notification, sender: str) -> EmailMessage:
    """The message, its headers set only through the email library's header API
    (`EmailMessage` with the default policy folds and encodes them, and refuses
    CR/LF): addresses as `Address` objects, the subject as one line."""
    message = EmailMessage()
    message["From"] = _address(sender)
    message["To"] = Address(addr_spec=row.to_address)
    message["Subject"] = " ".join(row.subject.split())
    message["Date"] = format_datetime(row.created_at.replace(tzinfo=dt.UTC))
    domain = sender.rpartition("@")[2] or "localhost"
    message["Message-ID"] = make_msgid(idstring=f"n{row.id}", domain=domain)
    message.set_content(row.body_text)
    if row.body_html:
        message.add_alternative(row.body_html, subtype="html")
    if row.ics:
        method = ics_format.parse(row.ics).get("METHOD", "REQUEST")
        message.add_attachment(
            row.ics, subtype="calendar", filename="review.ics", params={"method": method}
        )
    return message


class Outgoing:
    """One SMTP connection, opened on first use and reused for the whole pass."""

    def __init__(self, config):
        self.config = config
        self.smtp: smtplib.SMTP | None = None

    def _open(self) -> smtplib.SMTP:
        config = self.config
        try:
            # The timeout bounds every socket operation: a hung server cannot hang the runner.
            smtp = smtplib.SMTP(config["MAIL_SERVER"], int(config.get("MAIL_PORT") or 25),
                                timeout=float(config.get("MAIL_TIMEOUT") or 20))
            if config.get("MAIL_USE_TLS"):
                smtp.starttls()
            if config.get("MAIL_USERNAME"):
                smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
        except (OSError, smtplib.SMTPException) as exc:
            raise ConnectionDown(f"Could not connect to {config['MAIL_SERVER']}: {_describe(exc)}") from exc
        return smtp

    def send(self, message: EmailMessage, sender: str, to_address: str) -> None:
        if self.smtp is None:
            self.smtp = self._open()
        try:
            refused = self.smtp.send_message(message, from_addr=sender, to_addrs=[to_address])
        except smtplib.SMTPRecipientsRefused as exc:
            code, answer = exc.recipients.get(to_address, (550, b"refused"))
            raise _by_code(code, f"{to_address} refused: {code} {_text(answer)}") from exc
        except smtplib.SMTPResponseException as exc:
            self.reset()
            raise _by_code(exc.smtp_code, f"{exc.smtp_code} {_text(exc.smtp_error)}") from exc
        except (OSError, smtplib.SMTPServerDisconnected) as exc:
            self.close()
            raise ConnectionDown(f"Lost the connection to the mail server: {_describe(exc)}") from exc
        if refused:  # one row is one address, so this is only belt and braces
            code, answer = refused[to_address]
            raise _by_code(code, f"{to_address} refused: {code} {_text(answer)}")

    def reset(self) -> None:
        try:
            if self.smtp is not None:
                self.smtp.rset()
        except (OSError, smtplib.SMTPException):
            self.close()

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (OSError, smtplib.SMTPException):
                self.smtp.close()
            self.smtp = None


def _text(answer) -> str:
    return answer.decode("utf-8", "replace") if isinstance(answer, bytes) else str(answer)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, socket.timeout):
        return "timed out"
    return f"{type(exc).__name__}: {exc}"


def _by_code(code: int, text: str) -> Exception:
    return PermanentFailure(text) if 500 <= code < 600 else TemporaryFailure(text)


def _write_eml(row: Notification, message: EmailMessage) -> Path:
    folder = Path(current_app.instance_path) / "mail"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{row.id}-{row.kind}.eml"
    path.write_bytes(bytes(message))
    return path


def claim(row_id: int, now: dt.datetime) -> bool:
    """Take one row for this runner; False means another runner has it or it is not due."""
    return (
        Notification.update(
            status="sending", claimed_until=now + LEASE, attempts=Notification.attempts + 1
        )
        .where(
            (Notification.id == row_id)
            & (
                ((Notification.status == "pending") & (Notification.next_attempt_at <= now))
                | ((Notification.status == "sending") & (Notification.claimed_until < now))
            )
        )
        .execute()
        == 1
    )


def _finish(row: Notification, **values) -> None:
    Notification.update(claimed_until=None, **values).where(
        (Notification.id == row.id) & (Notification.status == "sending")
    ).execute()


def _retry_or_give_up(row: Notification, error: str, now: dt.datetime, report: DeliveryReport) -> None:
    report.errors.append(error)
    if row.attempts >= MAX_ATTEMPTS:
        _finish(row, status="failed", last_error=f"Gave up after {row.attempts} attempts: {error}"[:2000])
        report.failed += 1
    else:
        _finish(row, status="pending", next_attempt_at=now + backoff(row.attempts), last_error=error[:2000])
        report.retry += 1


def deliver_pending(
    now: dt.datetime, limit: int = 200, should_stop: Callable[[], bool] | None = None
) -> DeliveryReport:
    """One delivery pass.

    1. Read up to `limit` ids that are due: pending and past next_attempt_at, or
       claimed by a runner whose lease has lapsed.
    2. For each, stop if asked to (SIGTERM), else claim it; skip it if another
       runner won.
    3. Cancel it if its reason has gone (tracker.mailings.still_wanted) or
       the agency link it carries has stopped; re-render it if that link was
       replaced or expired (tracker.mailings.check_agency_link).
    4. Send it, as a .eml file when no MAIL_SERVER is set; record the outcome.
       When the server cannot be reached, put the row back and end the pass:
       every other row would wait for the same timeout.
    """
    config = current_app.config
    sender = config.get("MAIL_DEFAULT_SENDER") or "agreement-tracker@localhost"
    report = DeliveryReport()
    ready = ((Notification.status == "pending") & (Notification.next_attempt_at <= now)) | (
        (Notification.status == "sending") & (Notification.claimed_until < now)
    )
    # Breach alerts go first: a backlog of reminders must not hold one up (R5).
    urgent = [
        row.id for row in Notification.select(Notification.id)
        .where(ready & (Notification.kind == "breach_alert"))
        .order_by(Notification.next_attempt_at, Notification.id).limit(limit)
    ]
    rest = Notification.select(Notification.id).where(ready).order_by(Notification.next_attempt_at, Notification.id)
    if urgent:
        rest = rest.where(Notification.id.not_in(urgent))
    ids = urgent + [row.id for row in rest.limit(limit - len(urgent))] if len(urgent) < limit else urgent
    outgoing = Outgoing(config) if config.get("MAIL_SERVER") else None
    started = time.monotonic()
    try:
        for row_id in ids:
            if should_stop is not None and should_stop():
                break
            if time.monotonic() - started > LEASE.total_seconds() / 2:
                # Claims below are leased from `now`, the start of the pass: on a
                # slow mail server, stop before a lease could lapse mid-send and
                # let another runner send the same message (R10).
                break
            if not claim(row_id, now):
                continue
            row = Notification.get_by_id(row_id)
            # Its reason may have gone; an agency link it carries may have
            # stopped (cancel) or moved on (re-rendered here with the current one).
            reason = still_wanted(row) or check_agency_link(row, now)
            if reason:
                _finish(row, status="cancelled", last_error=reason)
                report.cancelled += 1
                continue
            try:
                message = build_message(row, sender)
                if outgoing is None:
                    _write_eml(row, message)
                else:
                    outgoing.send(message, sender, row.to_address)
            except PermanentFailure as exc:
                _finish(row, status="failed", last_error=str(exc)[:2000])
                report.failed += 1
                report.errors.append(str(exc))
            except ConnectionDown as exc:
                # An unreachable server says nothing about this message, so it is
                # not counted as an attempt: an outage of any length (a weekend)
                # must not use up MAX_ATTEMPTS and fail the whole queue, nor leave
                # it hours of backoff behind when the server returns. Ending the
                # pass here keeps an outage to one connection attempt per pass.
                _finish(row, status="pending", attempts=row.attempts - 1, next_attempt_at=now + FIRST_RETRY,
                        last_error=str(exc)[:2000])
                report.retry += 1
                report.errors.append(str(exc))
                break
            except TemporaryFailure as exc:
                _retry_or_give_up(row, str(exc), now, report)
            except Exception as exc:
                current_app.logger.exception("Delivering notification %s failed", row.id)
                _retry_or_give_up(row, f"Unexpected error: {type(exc).__name__}: {exc}", now, report)
            else:
                _finish(row, status="sent", sent_at=now, last_error="")
                report.sent += 1
    finally:
        if outgoing is not None:
            outgoing.close()
    return report
