"""Issue 24: delivery in batches. A batch is claimed in one statement and its records
checked set-based, so a message costs at most 1.5 statements; one SMTP connection is
kept across passes while there is work; a message no longer wanted is cancelled
and the rest of its batch still goes."""

from __future__ import annotations

import datetime as dt
import socket
from collections import Counter
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller

from jobs import delivery
from jobs.delivery import deliver_pending
from tests.conftest import NOW, Inbox, free_port
from tracker.models import Agreement, Notification, Review
from tracker.notices import mailings

DAY = dt.timedelta(days=1)


class Counting(Inbox):
    """A real SMTP server that counts the connections it is opened with."""

    def __init__(self):
        super().__init__()
        self.connections = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.connections += 1  # smtplib greets once a connection
        session.host_name = hostname
        return responses


def _queue_reminders(make_agreement, agreements: int) -> list[Agreement]:
    """Real reminders through the real enqueue path: each record's social worker and
    team manager, with the review's calendar invitation; the copies its endorsement queued too."""
    made = []
    for _ in range(agreements):
        agreement = make_agreement(status="active")
        review = Review.get((Review.agreement == agreement.id) & (Review.status == "scheduled"))
        mailings.review_reminder(review, agreement, 7, NOW)
        made.append(agreement)
    return made


def test_a_batch_of_fifty_costs_at_most_one_and_a_half_statements_a_message(smtp, make_agreement, statements):
    _queue_reminders(make_agreement, 17)
    due = Notification.select().where(Notification.status == "pending").count()
    assert due >= 50, due
    kinds = Counter(n.kind for n in Notification.select())
    assert kinds["review_reminder"] and kinds["copy_issued"], kinds  # records' reminders and agencies' links

    with statements() as seen:
        report = deliver_pending(NOW, limit=due)
    assert report.sent == due and report.cancelled == 0, report.summary()
    assert len(smtp.messages) == due
    assert len(seen.sql) / due <= 1.5, (len(seen.sql), due, Counter(sql[:80] for sql in seen.sql))
    # One claim a batch, not a claim and a read a message.
    claims = [sql for sql in seen.sql if sql.startswith("UPDATE") and "RETURNING" in sql]
    assert len(claims) == -(-due // delivery.BATCH)


def test_one_smtp_connection_is_kept_across_passes_while_there_is_work(app, make_agreement):
    counting = Counting()
    port = free_port()
    controller = Controller(counting, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_USE_TLS=False)
    try:
        _queue_reminders(make_agreement, 3)
        due = Notification.select().where(Notification.status == "pending").count()
        assert due >= 6
        first = deliver_pending(NOW, limit=due // 2)  # a full pass: more is waiting
        assert first.sent == due // 2 and counting.connections == 1
        second = deliver_pending(NOW, limit=due // 2)  # the same connection
        assert second.sent == due // 2 and counting.connections == 1
        rest = deliver_pending(NOW, limit=due)  # the last of it: the outbox is empty, the connection closed
        assert first.sent + second.sent + rest.sent == due and counting.connections == 1
        assert delivery.outgoing(app.config).connection.host is None

        # Work again later: a new connection, for as long as there is work.
        _queue_reminders(make_agreement, 1)
        assert deliver_pending(NOW).sent >= 2 and counting.connections == 2
        assert len(counting.messages) == Notification.select().where(Notification.status == "sent").count()
    finally:
        delivery.close_kept()
        controller.stop()


def test_a_kept_connection_the_server_dropped_is_opened_again_and_nothing_is_lost(smtp, app, make_agreement):
    _queue_reminders(make_agreement, 2)
    due = Notification.select().where(Notification.status == "pending").count()
    assert deliver_pending(NOW, limit=2).sent == 2  # full: the connection is kept
    kept = delivery.outgoing(app.config).connection.host
    assert kept is not None
    kept.sock.shutdown(socket.SHUT_RDWR)  # the server (or a firewall) dropped it while idle
    report = deliver_pending(NOW, limit=due)
    assert report.sent == due - 2 and report.retry == 0, report.summary()
    assert Counter(n.status for n in Notification.select()) == {"sent": due}
    assert sorted(r for rcpts, _ in smtp.messages for r in rcpts) == sorted(n.to_address for n in Notification.select())


def test_a_message_no_longer_wanted_in_a_batch_is_cancelled_and_the_others_sent(smtp, make_agreement):
    moved, kept = _queue_reminders(make_agreement, 2)
    review = Review.get((Review.agreement == moved.id) & (Review.status == "scheduled"))
    Review.update(scheduled_at=review.scheduled_at + DAY).where(Review.id == review.id).execute()
    reminders = Notification.select().where(Notification.kind == "review_reminder")
    gone = {n.id for n in reminders if n.agreement_id == moved.id}
    assert gone and len(gone) < reminders.count()

    report = deliver_pending(NOW)
    rows = {n.id: n for n in Notification.select()}
    assert report.cancelled == len(gone)
    assert all(rows[i].status == "cancelled" and "moved" in rows[i].last_error for i in gone)
    assert all(n.status == "sent" for i, n in rows.items() if i not in gone)
    assert report.sent == len(rows) - len(gone) == len(smtp.messages)


def test_the_quick_message_reads_as_flask_mails_own(smtp, every_kind_at_length, people, make_agreement):
    """QuickMessage writes the bytes itself; a reader's mail program must find in
    them what FittingMessage (Flask-Mail's message and the email package) writes."""
    rows = every_kind_at_length(people, make_agreement)
    who = delivery.identity({})
    for row in rows:
        message = delivery.build_message(row, who)
        quick = message.as_bytes()
        assert max(len(line) for line in quick.split(b"\r\n")) <= 78
        assert b"\n" not in quick.replace(b"\r\n", b"")
        ours, theirs = (message_from_bytes(raw, policy=policy.default)
                        for raw in (quick, delivery.FittingMessage.as_bytes(message)))
        assert sorted((k, str(v)) for k, v in ours.items() if k != "Content-Type") == \
            sorted((k, str(v)) for k, v in theirs.items() if k != "Content-Type"), row.kind
        pairs = list(zip(ours.walk(), theirs.walk(), strict=True))
        for mine, flask_mail in pairs:
            assert mine.get_content_type() == flask_mail.get_content_type(), row.kind
            assert mine.get_params() == flask_mail.get_params() or mine.is_multipart(), row.kind
            if not mine.is_multipart():
                assert mine.get_content() == flask_mail.get_content(), row.kind
                assert mine.get_filename() == flask_mail.get_filename()


def test_the_invitations_method_is_read_as_the_calendar_says_it(smtp, every_kind, make_agreement):
    """delivery reads METHOD with ics.method, not a whole parse: the same answer for every invitation queued."""
    from tracker.notices import ics

    calendars = [row.ics for row in every_kind(make_agreement) if row.ics]
    calendars.append(ics.review_invitation(
        review_id=1, scheduled_at=NOW + DAY, sequence=1, summary="Review of PA-00001 (AK)", venue="School",
        description="Review meeting.", organizer="agreement-tracker@localhost", attendee="dsl@school.example",
        base_url="http://127.0.0.1:5000", now=NOW, method="CANCEL"))
    assert {ics.method(text) for text in calendars} == {"REQUEST", "CANCEL"}
    assert all(ics.method(text) == ics.parse(text).get("METHOD", "REQUEST") for text in calendars)
