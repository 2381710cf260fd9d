"""Delivery to a real SMTP server on 127.0.0.1: invitations, failures, retries, leases and races."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

from jobs import sweeps
from jobs.delivery import LEASE, deliver_pending
from tests.conftest import NOW, free_port
from tracker.db import database
from tracker.models import Notification, Review
from tracker.notices import ics
from tracker.notices.notify import enqueue
from tracker.records import drafting, lifecycle

REVIEW = dt.datetime(2027, 1, 15, 10, 0)
DAY = dt.timedelta(days=1)
MINUTE = dt.timedelta(minutes=1)


def calendar_of(message) -> tuple[dict, str]:
    for part in message.walk():
        if part.get_content_type() == "text/calendar":
            return ics.parse(part.get_content()), part.get_param("method")
    raise AssertionError("no text/calendar part")


def test_review_invitation_arrives_with_a_stable_uid_and_raised_sequence(smtp, make_agreement, people):
    agreement = make_agreement(status="active")
    sweeps.report_requests(REVIEW - 10 * DAY)
    report = deliver_pending(REVIEW - 10 * DAY)
    assert report.sent == 2  # the copy from endorsement and the request
    [first] = smtp.to("dsl@school.example")[1:]
    assert "Please send your report" in first["Subject"]
    event, method = calendar_of(first)
    assert method == "REQUEST" and event["METHOD"] == "REQUEST" and event["SEQUENCE"] == "0"
    assert event["DTSTART"] == "20270115T100000Z"

    moved = REVIEW + DAY
    data = drafting.form_data(agreement)  # the record as its edit page shows it, rows and all
    data["review_at"] = moved
    drafting.save(agreement, "partnership", data, people.worker, REVIEW - 9 * DAY)
    sweeps.report_requests(REVIEW - 9 * DAY)
    deliver_pending(REVIEW - 9 * DAY)
    second = smtp.to("dsl@school.example")[-1]
    updated, _ = calendar_of(second)
    assert updated["UID"] == event["UID"]
    assert int(updated["SEQUENCE"]) > int(event["SEQUENCE"])
    assert updated["DTSTART"] == "20270116T100000Z"

    lifecycle.end(agreement, people.manager, REVIEW - 8 * DAY, "reviewed_closed")
    assert Review.get(Review.agreement == agreement).status == "cancelled"
    assert sweeps.review_cancellations(REVIEW - 8 * DAY) == 1
    deliver_pending(REVIEW - 8 * DAY)
    cancel, method = calendar_of(smtp.to("dsl@school.example")[-1])
    assert method == "CANCEL" and cancel["METHOD"] == "CANCEL" and cancel["UID"] == event["UID"]
    assert int(cancel["SEQUENCE"]) > int(updated["SEQUENCE"])
    assert sweeps.review_cancellations(REVIEW - 7 * DAY) == 0


def test_temporary_failure_goes_back_to_pending_with_backoff_then_is_delivered(smtp, make_agreement):
    make_agreement(status="active")  # queues the copy for the school
    smtp.temporary_failure = True
    report = deliver_pending(NOW)
    row = Notification.get()
    assert report.retry == 1 and row.status == "pending" and row.attempts == 1
    assert "451" in row.last_error and row.next_attempt_at == NOW + MINUTE
    smtp.temporary_failure = False
    assert deliver_pending(NOW + dt.timedelta(seconds=30)).sent == 0  # not due yet
    smtp.temporary_failure = True
    deliver_pending(NOW + MINUTE)
    assert Notification.get().next_attempt_at == NOW + 3 * MINUTE  # the wait doubles
    smtp.temporary_failure = False
    assert deliver_pending(NOW + 3 * MINUTE).sent == 1
    assert Notification.get().status == "sent" and len(smtp.to("dsl@school.example")) == 1


def test_permanent_refusal_is_failed_at_once_with_the_error_kept(smtp, make_agreement):
    make_agreement(status="active")
    smtp.refuse.add("dsl@school.example")
    report = deliver_pending(NOW)
    row = Notification.get()
    assert report.failed == 1 and row.status == "failed"
    assert "550" in row.last_error and "dsl@school.example" in row.last_error
    assert deliver_pending(NOW + DAY).sent == 0  # not retried by itself


def test_a_refused_recipient_does_not_stop_the_others(smtp, make_agreement):
    make_agreement(kind="undertaking", status="active")
    smtp.refuse.add("manager@council.example")
    sweeps.undertaking_ladder(NOW + dt.timedelta(hours=48))
    deliver_pending(NOW + dt.timedelta(hours=48))
    status = {n.to_address: n.status for n in Notification.select().where(Notification.kind == "undertaking_escalation")}
    assert status == {"worker@council.example": "sent", "manager@council.example": "failed"}


def test_an_unreachable_server_leaves_mail_pending(app, make_agreement):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_TIMEOUT=2)
    make_agreement(status="active")
    report = deliver_pending(NOW)
    row = Notification.get()
    assert report.retry == 1 and row.status == "pending" and "Could not connect" in row.last_error


def test_a_stale_claim_is_reclaimed_and_a_live_one_is_left(smtp, make_agreement):
    make_agreement(status="active")
    Notification.update(status="sending", claimed_until=NOW - MINUTE, attempts=1).execute()
    assert deliver_pending(NOW).sent == 1
    assert Notification.get().attempts == 2

    enqueue("test/live-claim", "copy_issued", "other@school.example", agreement=Notification.get().agreement,
            context={"recipient": {"name": "Other"}}, now=NOW)
    Notification.update(status="sending", claimed_until=NOW + LEASE).where(Notification.key == "test/live-claim").execute()
    assert deliver_pending(NOW + MINUTE).sent == 0
    assert Notification.get(Notification.key == "test/live-claim").status == "sending"


def test_two_runners_racing_send_each_message_once(smtp, app, make_agreement):
    agreement = make_agreement(status="active")
    for n in range(12):
        enqueue(f"test/race/{n}", "copy_issued", f"agency{n}@example.org", agreement=agreement,
                context={"recipient": {"name": f"Agency {n}"}}, now=NOW)
    reports = []

    def runner() -> None:
        with app.app_context():
            database.connect(reuse_if_open=True)
            try:
                reports.append(deliver_pending(NOW))
            finally:
                database.close()

    threads = [threading.Thread(target=runner) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sum(r.sent for r in reports) == 13
    assert sorted(len(rcpts) for rcpts, _ in smtp.messages) == [1] * 13
    assert len({m["To"] for _, m in smtp.messages}) == 13  # nobody got two
    assert Notification.select().where(Notification.status == "sent").count() == 13


def test_without_a_mail_server_mail_is_written_as_eml_files(app, make_agreement):
    make_agreement(status="active")
    assert deliver_pending(NOW).sent == 1
    row = Notification.get()
    path = Path(app.instance_path) / "mail" / f"{row.id}-copy_issued.eml"
    assert row.status == "sent" and path.exists()
    assert b"dsl@school.example" in path.read_bytes()
