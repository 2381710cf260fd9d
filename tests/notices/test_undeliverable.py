"""A message that cannot be delivered becomes a task for the person responsible (R18)."""

from __future__ import annotations

import datetime as dt

from jobs import delivery, sweeps
from jobs.delivery import deliver_pending
from tests.conftest import NOW
from tracker.models import Notification, Recipient
from tracker.records import drafting

REVIEW = dt.datetime(2027, 1, 15, 10, 0)
DAY = dt.timedelta(days=1)
WORDS = ("Jo Bloggs at Riverside Primary School did not receive the report request: "
         "the mail server refused the address")


def test_a_refused_report_request_shows_on_the_worker_dashboard_record_digest_and_outbox(
        smtp, client, people, login, make_agreement):
    agreement = make_agreement(status="active")
    smtp.refuse.add("dsl@school.example")
    opened = REVIEW - 10 * DAY
    sweeps.report_requests(opened)
    deliver_pending(opened)
    request = Notification.get(Notification.kind == "report_request")
    assert request.status == "failed" and request.attempts == 1

    login(people.worker)
    dashboard = client.get("/").get_data(as_text=True)
    assert WORDS in dashboard and "correct the address and send again" in dashboard
    record = client.get(f"/agreements/{agreement.id}").get_data(as_text=True)
    assert 'id="undeliverable"' in record and WORDS in record

    sweeps.digests(opened + DAY)
    deliver_pending(opened + DAY)
    [digest] = smtp.to(people.manager.email)
    text = digest.get_body(("plain",)).get_content()
    assert WORDS in text and "correct the address and send again" in text

    login(people.admin)
    outbox = client.get("/admin/outbox").get_data(as_text=True)
    assert 'id="cause-refused"' in outbox and "The mail server refused the address (" in outbox

    # Correcting the address sends it again, to the new address.
    login(people.worker)
    data = drafting.form_data(agreement)
    data["recipients"][0]["email"] = "office@school.example"
    drafting.save(agreement, "partnership", data, people.worker, opened + DAY)
    deliver_pending(opened + DAY)
    assert Notification.get_by_id(request.id).status == "sent"
    assert any("Please send your report" in m["Subject"] for m in smtp.to("office@school.example"))
    assert WORDS not in client.get("/").get_data(as_text=True)


def test_retries_exhausted_is_undeliverable_too(smtp, client, people, login, make_agreement):
    make_agreement(status="active")
    smtp.temporary_failure = True
    row = Notification.get()
    Notification.update(attempts=delivery.MAX_ATTEMPTS - 1).where(Notification.id == row.id).execute()
    deliver_pending(NOW)
    assert Notification.get_by_id(row.id).status == "failed"
    login(people.worker)
    assert ("Jo Bloggs at Riverside Primary School did not receive the copy: "
            "the mail server did not accept it after repeated tries") in client.get("/").get_data(as_text=True)
    assert Recipient.get().email == "dsl@school.example"
