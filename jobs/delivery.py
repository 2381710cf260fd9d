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

import base64
import binascii
import datetime as dt
import functools
import re
import secrets
import smtplib
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email import charset as email_charset
from email.header import Header
from email.mime.text import MIMEText
from email.policy import SMTP, EmailPolicy
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from pathlib import Path

from flask import current_app
from flask_mail import BadHeaderError, Connection, Mail, Message, sanitize_address

from tracker import settings
from tracker.models import Notification
from tracker.notices import ics as ics_format
from tracker.notices.mailings import check_agency_link, checking, still_wanted
from tracker.prepared import Prepared

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


class QuickMessage(FittingMessage):
    """FittingMessage, written straight to bytes (issue 24).

    Flask-Mail builds a tree of email.mime objects and the email package's
    generator then parses and refolds every header and quoted-printable-encodes
    each body in pure Python: half of a delivery pass went there. The outbox's
    messages have one shape (text, HTML, perhaps an invitation), so this writes
    that shape directly: each header as the FOLDING policy would fold it (short
    plain values as they are, anything else through the policy itself, the
    sender's once a pass), bodies quoted-printable by binascii (C), the
    invitation in base64, and boundaries that cannot occur in either encoding.
    Anything else (copies, blind copies, extra headers or alternatives) goes
    through FittingMessage as before. `_message()` is Flask-Mail's unchanged.
    """

    def as_bytes(self) -> bytes:
        if self.cc or self.bcc or self.extra_headers or set(self.alts) - {"html"} or len(self.recipients) != 1:
            return super().as_bytes()
        to = self.recipients[0]
        if not isinstance(to, str) or not to.isascii():
            return super().as_bytes()  # an internationalised address: Flask-Mail's encoding
        headers = [
            _folded("From", formataddr(self.sender) if isinstance(self.sender, tuple) else self.sender, True),
            _header("To", sanitize_address(to, self.charset or "utf-8")),
        ]
        if self.subject:
            headers.append(_header("Subject", " ".join(str(self.subject).split()), parsed=True))
        headers.append(_header("Date", formatdate(self.date, localtime=True)))
        headers.append(_header("Message-ID", self.msgId))
        if self.reply_to:
            headers.append(_folded("Reply-To", sanitize_address(self.reply_to, self.charset or "utf-8"), False))
        text = _text_part(self.body, "plain")
        if not self.attachments and not self.alts:
            return ("".join(headers) + text).encode("ascii")
        parts = []
        if self.alts:
            inner = _boundary()
            parts.append(f'Content-Type: multipart/alternative; boundary="{inner}"\r\nMIME-Version: 1.0\r\n\r\n'
                         + "".join(f"--{inner}\r\n{part}\r\n" for part in
                                   [text, *(_text_part(body, kind) for kind, body in self.alts.items())])
                         + f"--{inner}--\r\n")
        else:
            parts.append(text)
        for attachment in self.attachments:
            part = _attachment_part(attachment)
            if part is None:
                return super().as_bytes()
            parts.append(part)
        outer = _boundary()
        headers.append(f'Content-Type: multipart/mixed; boundary="{outer}"\r\nMIME-Version: 1.0\r\n\r\n')
        body = "".join(f"--{outer}\r\n{part}\r\n" for part in parts) + f"--{outer}--\r\n"
        return ("".join(headers) + body).encode("ascii")


def _boundary() -> str:
    # "=_" never appears in quoted-printable ("=" is followed by two hex digits
    # or a line break) nor in base64 ("=" only pads the end of a line).
    return f"=_{secrets.token_hex(12)}"


def _header(name: str, value: str, parsed: bool = False) -> str:
    """One header line as the FOLDING policy writes it; a short plain value is written as it is."""
    if len(name) + 2 + len(value) <= 78 and value.isascii() and value.isprintable() and "=?" not in value \
            and value == value.strip() and "  " not in value:
        return f"{name}: {value}\r\n"
    return _folded(name, value, parsed)


@functools.lru_cache(maxsize=256)
def _folded(name: str, value: str, parsed: bool) -> str:
    """Through the policy itself: `parsed` for a header FittingMessage sets after
    switching to the policy (From, Subject), a plain string for the rest."""
    return FOLDING.fold(name, FOLDING.header_store_parse(name, value)[1] if parsed else value)


def _text_part(text: str | None, subtype: str) -> str:
    """A text part in UTF-8, quoted-printable: lines of at most 76 characters whatever the content."""
    body = (text or "").replace("\r\n", "\n").replace("\r", "\n").encode("utf-8")
    encoded = binascii.b2a_qp(body, istext=True).replace(b"\n", b"\r\n").decode("ascii")
    return (f'Content-Type: text/{subtype}; charset="utf-8"\r\nMIME-Version: 1.0\r\n'
            f"Content-Transfer-Encoding: quoted-printable\r\n\r\n{encoded}")


def _attachment_part(attachment) -> str | None:
    """As Flask-Mail writes an attachment (base64, its disposition); None for what it would encode itself."""
    if attachment.headers or not attachment.filename or not attachment.filename.isascii() \
            or not attachment.filename.isprintable() or '"' in attachment.filename or "\\" in attachment.filename:
        return None
    data = attachment.data.encode("utf-8") if isinstance(attachment.data, str) else attachment.data
    encoded = base64.encodebytes(data).replace(b"\n", b"\r\n").decode("ascii")
    return (_header("Content-Type", attachment.content_type) + "MIME-Version: 1.0\r\n"
            "Content-Transfer-Encoding: base64\r\n"
            + _header("Content-Disposition", f'{attachment.disposition}; filename="{attachment.filename}"')
            + f"\r\n{encoded}")


def build_message(row: Notification, who: Identity) -> Message:
    """One Flask-Mail message for one recipient: text, HTML and any invitation."""
    message = QuickMessage(
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
        method = ics_format.method(row.ics)
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
    """One Flask-Mail connection, opened on first use and kept across passes while there is work.

    `outgoing(config)` gives this thread's; a pass that leaves nothing due
    closes it (`close_kept`), as does any error on it. A kept connection the
    server has since dropped (SMTPServerDisconnected, a reset, 421) is opened
    again once, and the message sent on the new one.
    """

    def __init__(self, config):
        # Read at each pass, so the settings in force are the ones used.
        self.state = mail.init_mail(config)
        self.timeout = float(config.get("MAIL_TIMEOUT") or 20)
        self.connection = TimedConnection(self.state, self.timeout)
        self.settings = _settings_of(self.state, self.timeout)

    def _open(self) -> None:
        try:
            self.connection.host = self.connection.configure_host()
        except (OSError, smtplib.SMTPException) as exc:
            self.connection.host = None
            raise ConnectionDown(f"Could not connect to {self.state.server}: {_describe(exc)}") from exc

    def send(self, message: Message, envelope_from: str) -> None:
        kept = self.connection.host is not None
        try:
            self._send(message, envelope_from)
        except _Dropped as exc:
            if not kept:
                raise ConnectionDown(f"Lost the connection to the mail server: {_describe(exc.__cause__)}") from exc
            # The kept connection had gone stale: once more on a new one.
            try:
                self._send(message, envelope_from)
            except _Dropped as again:
                raise ConnectionDown(f"Lost the connection to the mail server: {_describe(again.__cause__)}") from again

    def _send(self, message: Message, envelope_from: str) -> None:
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
            if code == 421:
                self.close()
                raise _Dropped() from exc
            raise _by_code(code, f"{to_address} refused: {code} {_text(answer)}") from exc
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code == 421:  # "closing the connection": about the connection, not the message
                self.close()
                raise _Dropped() from exc
            self.reset()
            raise _by_code(exc.smtp_code, f"{exc.smtp_code} {_text(exc.smtp_error)}") from exc
        except (OSError, smtplib.SMTPServerDisconnected) as exc:
            self.close()
            raise _Dropped() from exc

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


class _Dropped(Exception):
    """The connection went (its cause says how); Outgoing.send decides whether to open it again."""


def _settings_of(state, timeout: float) -> tuple:
    return (state.server, state.port, state.use_tls, state.use_ssl, state.username, state.password, timeout)


# Each runner thread's kept connection (tests and PostgreSQL runners deliver from several threads).
_kept = threading.local()


def outgoing(config) -> Outgoing:
    """This thread's Outgoing, kept from the last pass when the mail settings are the same."""
    kept: Outgoing | None = getattr(_kept, "outgoing", None)
    state = mail.init_mail(config)
    if kept is not None and kept.settings == _settings_of(state, float(config.get("MAIL_TIMEOUT") or 20)):
        kept.state = kept.connection.mail = state
        return kept
    if kept is not None:
        kept.close()
    _kept.outgoing = Outgoing(config)
    return _kept.outgoing


def close_kept() -> None:
    """Close this thread's kept connection, if any: the outbox is empty, or the runner stops."""
    kept: Outgoing | None = getattr(_kept, "outgoing", None)
    if kept is not None:
        kept.close()


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


def due(now: dt.datetime):
    """The rows a pass may take: pending and past next_attempt_at, or claimed by
    a runner whose lease has lapsed. Both the pass's read and its claim use
    this one expression, so a filter on the rows goes here once."""
    ready = ((Notification.status == "pending") & (Notification.next_attempt_at <= now)) | (
        (Notification.status == "sending") & (Notification.claimed_until < now)
    )
    return ready & (Notification.channel == "email")  # text messages are jobs.texting's


def claim_batch(ids: list[int], now: dt.datetime) -> list[Notification]:
    """Take these rows for this runner in one statement: a conditional update
    that returns the rows it took (UPDATE ... RETURNING), in the order of `ids`.
    A row another runner took first, or no longer due, is not among them; on
    PostgreSQL a row being claimed by another is waited for, then re-checked."""
    if not ids:
        return []
    rows = list(
        Notification.update(status="sending", claimed_until=now + LEASE, attempts=Notification.attempts + 1)
        .where(Notification.id.in_(ids) & due(now))
        .returning(Notification)
        .execute()
    )
    place = {row_id: n for n, row_id in enumerate(ids)}
    return sorted(rows, key=lambda row: place[row.id])


def claim(row_id: int, now: dt.datetime) -> bool:
    """Take one row for this runner; False means another runner has it or it is not due."""
    return len(claim_batch([row_id], now)) == 1


def _release(rows: list[Notification]) -> None:
    """Claimed rows this pass will not send (it stops, or the server went): due
    again at once, the claim's attempt taken back (none reached a server)."""
    if rows:
        Notification.update(status="pending", claimed_until=None, attempts=Notification.attempts - 1).where(
            Notification.id.in_([row.id for row in rows]) & (Notification.status == "sending")).execute()


# Recorded as each message goes, so a runner killed mid-batch sends again at
# most the message in flight; its SQL text made once (tracker.prepared).
_SENT = Prepared(lambda p: Notification.update(status="sent", sent_at=p.now, last_error="", claimed_until=None)
                 .where((Notification.id == p.id) & (Notification.status == "sending")))


def _mark_sent(row_id: int, now: dt.datetime) -> None:
    _SENT.rowcount(id=row_id, now=now)


def _cancel(rows: list[tuple[Notification, str]]) -> None:
    """Rows no longer wanted, one statement per distinct reason."""
    by_reason: dict[str, list[int]] = {}
    for row, reason in rows:
        by_reason.setdefault(reason, []).append(row.id)
    for reason, ids in by_reason.items():
        Notification.update(status="cancelled", claimed_until=None, last_error=reason).where(
            Notification.id.in_(ids) & (Notification.status == "sending")).execute()


def finish(row: Notification, **values) -> None:
    Notification.update(claimed_until=None, **values).where(
        (Notification.id == row.id) & (Notification.status == "sending")
    ).execute()


def retry_or_give_up(row: Notification, error: str, now: dt.datetime, report: DeliveryReport) -> None:
    report.errors.append(error)
    if row.attempts >= MAX_ATTEMPTS:
        finish(row, status="failed", last_error=f"Gave up after {row.attempts} attempts: {error}"[:2000])
        report.failed += 1
    else:
        finish(row, status="pending", next_attempt_at=now + backoff(row.attempts), last_error=error[:2000])
        report.retry += 1


BATCH = 50  # rows claimed, checked and recorded together; also the most a crash mid-batch sends twice


def deliver_pending(
    now: dt.datetime, limit: int = 200, should_stop: Callable[[], bool] | None = None
) -> DeliveryReport:
    """One delivery pass.

    1. Read up to `limit` ids that are due (`due`), breach alerts first.
    2. In batches of BATCH: claim the batch in one statement (`claim_batch`);
       rows another runner won are not returned.
    3. Check the batch before sending (tracker.notices.mailings.checking: its
       reviews, records, entries and breaches read set-based): cancel what is
       no longer wanted (`still_wanted`) or whose agency link has stopped;
       re-render one whose link was replaced or expired (`check_agency_link`).
    4. Send each, as a .eml file when no MAIL_SERVER is set, over this thread's
       kept connection (`outgoing`); a failure is recorded on its row at once,
       the batch's sent rows together at the end of the batch. When the server
       cannot be reached, put the row back and end the pass: every other row
       would wait for the same timeout. Rows claimed but not sent (the pass
       stops, the server went) are put back as they were.
    5. A pass that leaves nothing due (fewer than `limit` rows) closes the connection.

    Settings (the link's lifetime, the council's name) are read once a pass.
    """
    with settings.held():
        return _pass(now, limit, should_stop)


def _pass(now: dt.datetime, limit: int, should_stop: Callable[[], bool] | None) -> DeliveryReport:
    config = current_app.config
    who = None  # read on the first message, so a pass with nothing due reads no settings
    report = DeliveryReport()
    ready = due(now)
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
    sender = outgoing(config) if config.get("MAIL_SERVER") else None
    started = time.monotonic()
    finished = False  # every id of the pass was dealt with
    try:
        for first in range(0, len(ids), BATCH):
            if should_stop is not None and should_stop():
                break
            rows = claim_batch(ids[first:first + BATCH], now)
            wanted, cancelled = [], []
            with checking(rows):
                for row in rows:
                    # Its reason may have gone; an agency link it carries may have
                    # stopped (cancel) or moved on (re-rendered here with the current one).
                    reason = still_wanted(row) or check_agency_link(row, now)
                    if reason:
                        cancelled.append((row, reason))
                    else:
                        wanted.append(row)
            _cancel(cancelled)
            report.cancelled += len(cancelled)
            who = who or (identity(config) if wanted else None)
            if not _send_batch(wanted, who, sender, now, started, should_stop, report):
                break
        else:
            finished = True
    finally:
        if sender is not None and not (finished and len(ids) >= limit):
            sender.close()  # nothing more due, or the pass ended early: no connection left idle
    return report


def _send_batch(rows: list[Notification], who: Identity | None, sender: Outgoing | None, now: dt.datetime,
                started: float, should_stop: Callable[[], bool] | None, report: DeliveryReport) -> bool:
    """Send a claimed, checked batch; False when the pass must end here."""
    for index, row in enumerate(rows):
        if (should_stop is not None and should_stop()) or time.monotonic() - started > LEASE.total_seconds() / 2:
            # Claims are leased from `now`, the start of the pass: on a slow
            # mail server, stop before a lease could lapse mid-send and let
            # another runner send the same message (R10).
            _release(rows[index:])
            return False
        try:
            message = build_message(row, who)
            if sender is None:
                _write_eml(row, message)
            else:
                sender.send(message, who.envelope_from)
        except PermanentFailure as exc:
            finish(row, status="failed", last_error=str(exc)[:2000])
            report.failed += 1
            report.errors.append(str(exc))
        except ConnectionDown as exc:
            # An unreachable server says nothing about this message, so it is
            # not counted as an attempt: an outage of any length (a weekend)
            # must not use up MAX_ATTEMPTS and fail the whole queue, nor leave
            # it hours of backoff behind when the server returns. Ending the
            # pass here keeps an outage to one connection attempt per pass.
            finish(row, status="pending", attempts=row.attempts - 1, next_attempt_at=now + FIRST_RETRY,
                    last_error=str(exc)[:2000])
            report.retry += 1
            report.errors.append(str(exc))
            _release(rows[index + 1:])
            return False
        except TemporaryFailure as exc:
            retry_or_give_up(row, str(exc), now, report)
        except Exception as exc:
            current_app.logger.exception("Delivering notification %s failed", row.id)
            retry_or_give_up(row, f"Unexpected error: {type(exc).__name__}: {exc}", now, report)
        else:
            _mark_sent(row.id, now)
            report.sent += 1
    return True
