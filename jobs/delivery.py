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
import re
import smtplib
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email import charset as email_charset
from email.header import Header
from email.mime.text import MIMEText
from email.policy import SMTP, EmailPolicy
from email.utils import formataddr, make_msgid, parseaddr
from pathlib import Path

from flask import current_app
from flask_mail import BadHeaderError, Connection, Mail, Message

from tracker import settings
from tracker.models import Notification
from tracker.notices import ics as ics_format
from tracker.notices.mailings import check_agency_link, still_wanted

LEASE = dt.timedelta(minutes=5)
FIRST_RETRY = dt.timedelta(minutes=1)
LONGEST_RETRY = dt.timedelta(hours=6)
MAX_ATTEMPTS = 12  # about 20 hours of refusals by the server before a person has to look

# Flask-Mail, configured from the MAIL_* settings by create_app; only the job runner sends.
mail = Mail()


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


@dataclass(frozen=True)
class Identity:
    """Who the emails come from: the council's service, read once a pass."""

    sender: tuple[str, str]
    reply_to: str
    envelope_from: str


def identity(config) -> Identity:
    """From "<council> <service>" at MAIL_DEFAULT_SENDER; replies go to
    MAIL_REPLY_TO, else the front door's mailbox (a team reads it; the sender
    address usually has nobody behind it)."""
    contacts = settings.contacts()
    address = parseaddr(config.get("MAIL_DEFAULT_SENDER") or "")[1] or "agreement-tracker@localhost"
    # "Example Council Children's Social Care". Flask-Mail 0.10 encodes the
    # name as an RFC 2047 word that the SMTP policy then refolds without quotes,
    # so a comma or other address punctuation would split the From header into
    # two addresses: those characters become spaces in the header only.
    name = " ".join(re.sub(r'[,;:()<>@\[\]"\\]', " ", f"{contacts['council_name']} {contacts['service_name']}").split())
    reply_to = config.get("MAIL_REPLY_TO") or contacts["front_door_email"] or address
    return Identity(sender=(name, address), reply_to=reply_to, envelope_from=address)


class _Folding(EmailPolicy):
    """email.policy.SMTP, except a header is never written with an empty first line.

    Python 3.11's folder moves a whole value that fits on a continuation line
    there, leaving "Subject:" alone on the first (8 of 115 demo emails); some
    clients then show a subject starting with a space. Such a value is folded
    at its spaces instead, words on the first line (RFC 5322 2.2.3).
    """

    def _fold(self, name, value, *args, **kwargs):
        folded = super()._fold(name, value, *args, **kwargs)
        if not folded.startswith(f"{name}:{self.linesep}"):
            return folded
        text = str(value)
        charset = "us-ascii" if text.isascii() else "utf-8"
        return f"{name}: {Header(text, charset, header_name=name).encode(linesep=self.linesep)}{self.linesep}"


FOLDING = _Folding(**SMTP.__dict__)


class FittingMessage(Message):
    """Flask-Mail's message with every text part quoted-printable.

    Flask-Mail registers utf-8 with no body encoding, so a part goes out with
    its lines as written: the digest's HTML list of eight overdue reviews was
    one line of 1,019 characters, and aiosmtpd (like Exchange and Postfix)
    refused it with "500 Line too long" (RFC 5321 4.5.3.1.6: 1,000 octets with
    the CRLF). Quoted-printable wraps every line at 76 characters with soft
    breaks the reader's mail program joins again, whatever the content.
    """

    def _mimetext(self, text: str | None, subtype: str = "plain") -> MIMEText:
        # A Charset of our own: changing the registry's utf-8 entry would
        # change Flask-Mail's headers too.
        quoted = email_charset.Charset("utf-8")
        quoted.body_encoding = email_charset.QP
        return MIMEText(text or "", _subtype=subtype, _charset=quoted)

    def _message(self):
        message = super()._message()
        message.policy = FOLDING
        # Flask-Mail encodes the sender's name as one RFC 2047 word, which the
        # policy then broke inside a word ("Counc il") for a long council name.
        del message["From"]
        message["From"] = formataddr(self.sender) if isinstance(self.sender, tuple) else self.sender
        if self.subject:
            # Flask-Mail stores the subject already RFC 2047-encoded, which the
            # generator then refolds as opaque words; set after its switch to
            # the current policy (email.policy.SMTP), the subject is folded by
            # RFC 5322 at spaces, words on the first line, encoded only where
            # a character needs it.
            del message["Subject"]
            message["Subject"] = " ".join(str(self.subject).split())
        return message


def build_message(row: Notification, who: Identity) -> Message:
    """One Flask-Mail message for one recipient: text, HTML and any invitation."""
    message = FittingMessage(
        # One line, whatever was stored: a line break in a header would make
        # the message unsendable (or, worse, add a header).
        subject=" ".join(row.subject.split()),
        recipients=[row.to_address],
        body=row.body_text,
        html=row.body_html or None,
        sender=who.sender,
        reply_to=who.reply_to,
        date=row.created_at.replace(tzinfo=dt.UTC).timestamp(),
    )
    # A stable Message-ID per row: a message sent again after a lapsed lease
    # is recognisably the same message to the reader's mail program.
    message.msgId = make_msgid(idstring=f"n{row.id}", domain=who.envelope_from.rpartition("@")[2] or "localhost")
    if row.ics:
        method = ics_format.parse(row.ics).get("METHOD", "REQUEST")
        # Flask-Mail builds the part as MIMEBase(*content_type.split("/")), so
        # the iTIP method rides in the subtype; calendars read it from there.
        message.attach("review.ics", f"text/calendar; method={method}; charset=utf-8", row.ics.encode())
    return message


class TimedConnection(Connection):
    """Flask-Mail's connection with a socket timeout on every operation, so a
    hung mail server cannot hang the runner."""

    def __init__(self, state, timeout: float):
        super().__init__(state)
        self.timeout = timeout

    def configure_host(self) -> smtplib.SMTP:
        state = self.mail
        kind = smtplib.SMTP_SSL if state.use_ssl else smtplib.SMTP
        host = kind(state.server, state.port, timeout=self.timeout)
        if state.use_tls:
            host.starttls()
        if state.username:
            host.login(state.username, state.password or "")
        return host


class Outgoing:
    """One Flask-Mail connection, opened on first use and reused for the whole pass."""

    def __init__(self, config):
        # Read at each pass, so the settings in force are the ones used.
        self.state = mail.init_mail(config)
        self.connection = TimedConnection(self.state, float(config.get("MAIL_TIMEOUT") or 20))

    def _open(self) -> None:
        try:
            self.connection.host = self.connection.configure_host()
        except (OSError, smtplib.SMTPException) as exc:
            self.connection.host = None
            raise ConnectionDown(f"Could not connect to {self.state.server}: {_describe(exc)}") from exc

    def send(self, message: Message, envelope_from: str) -> None:
        if self.connection.host is None:
            self._open()
        to_address = message.recipients[0]
        try:
            self.connection.send(message, envelope_from=envelope_from)
        except BadHeaderError as exc:
            raise PermanentFailure("The subject or an address has a line break in it") from exc
        except smtplib.SMTPRecipientsRefused as exc:
            # One message is one recipient (the outbox's rows), so this is that
            # recipient's own answer.
            code, answer = next(iter(exc.recipients.values()), (550, b"refused"))
            raise _by_code(code, f"{to_address} refused: {code} {_text(answer)}") from exc
        except smtplib.SMTPResponseException as exc:
            self.reset()
            raise _by_code(exc.smtp_code, f"{exc.smtp_code} {_text(exc.smtp_error)}") from exc
        except (OSError, smtplib.SMTPServerDisconnected) as exc:
            self.close()
            raise ConnectionDown(f"Lost the connection to the mail server: {_describe(exc)}") from exc

    def reset(self) -> None:
        try:
            if self.connection.host is not None:
                self.connection.host.rset()
        except (OSError, smtplib.SMTPException):
            self.close()

    def close(self) -> None:
        host, self.connection.host = self.connection.host, None
        if host is not None:
            try:
                host.quit()
            except (OSError, smtplib.SMTPException):
                host.close()


def _text(answer) -> str:
    return answer.decode("utf-8", "replace") if isinstance(answer, bytes) else str(answer)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, socket.timeout):
        return "timed out"
    return f"{type(exc).__name__}: {exc}"


def _by_code(code: int, text: str) -> Exception:
    """5xx is the server's final answer; 4xx (and anything else) may change."""
    return PermanentFailure(text) if 500 <= code < 600 else TemporaryFailure(text)


def _write_eml(row: Notification, message: Message) -> Path:
    folder = Path(current_app.instance_path) / "mail"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{row.id}-{row.kind}.eml"
    path.write_bytes(message.as_bytes())
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
    3. Cancel it if its reason has gone (tracker.notices.mailings.still_wanted) or
       the agency link it carries has stopped; re-render it if that link was
       replaced or expired (tracker.notices.mailings.check_agency_link).
    4. Send it, as a .eml file when no MAIL_SERVER is set; record the outcome.
       When the server cannot be reached, put the row back and end the pass:
       every other row would wait for the same timeout.
    """
    config = current_app.config
    who = None  # read on the first message, so a pass with nothing due reads no settings
    report = DeliveryReport()
    ready = ((Notification.status == "pending") & (Notification.next_attempt_at <= now)) | (
        (Notification.status == "sending") & (Notification.claimed_until < now)
    )
    ready &= Notification.channel == "email"  # text messages are jobs.texting's
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
                who = who or identity(config)
                message = build_message(row, who)
                if outgoing is None:
                    _write_eml(row, message)
                else:
                    outgoing.send(message, who.envelope_from)
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
