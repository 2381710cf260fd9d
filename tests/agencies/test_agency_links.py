"""Agency links: acknowledge, report, log a breach; tampered, revoked and stale links refused."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.conftest import NOW
from tracker.agencies import tokens
from tracker.models import AgencyReport, AuditEvent, Breach, Notification, Recipient, Review
from tracker.records import lifecycle
from tracker.web import ratelimit


@pytest.fixture(autouse=True)
def _fresh_limits():
    ratelimit.reset()
    yield
    ratelimit.reset()


def _link(agreement):
    recipient = Recipient.get(Recipient.agreement == agreement)
    return recipient, "/a/" + tokens.token_for(recipient)


def test_agency_acknowledges_its_copy(client, make_agreement):
    agreement = make_agreement(status="active")
    recipient, url = _link(agreement)
    page = client.get(url).get_data(as_text=True)
    assert "Your copy, Jo Bloggs" in page and agreement.reference in page
    assert "Ms Murphy will take Ella to nursery every weekday." in page
    assert "Ella Murphy" in page and "4 May 2019" in page  # the full copy sits behind the link (issue 9)
    response = client.post(url + "/acknowledge")
    assert response.status_code == 302
    recipient = Recipient.get_by_id(recipient.id)
    assert recipient.acknowledged_at is not None and recipient.chase_at is None
    event = AuditEvent.get(AuditEvent.action == "copy_acknowledged")
    assert f"distribution entry {recipient.id}" in event.actor


def test_agency_sends_a_report_and_it_shows_on_the_readiness_panel(client, people, login, make_agreement):
    agreement = make_agreement(status="active")
    _, url = _link(agreement)
    response = client.post(url + "/report", data={"kind": "report", "body": ""})
    assert response.status_code == 400 and "Write your report, or select nothing to share" in response.get_data(as_text=True)
    response = client.post(url + "/report", data={"kind": "report", "body": "Ella has been in every day and happy."})
    assert response.status_code == 302
    report = AgencyReport.get()
    assert report.review_id == Review.get(Review.agreement == agreement).id and not report.nothing_to_share
    login(people.worker)
    page = client.get(f"/agreements/{agreement.id}").get_data(as_text=True)
    readiness = page[page.index('id="readiness"'):page.index('id="breaches"')]
    assert "Report sent" in readiness and "Ella has been in every day and happy." in readiness


def test_agency_says_nothing_to_share(client, make_agreement):
    agreement = make_agreement(status="active")
    _, url = _link(agreement)
    assert client.post(url + "/report", data={"kind": "nothing"}).status_code == 302
    assert AgencyReport.get().nothing_to_share is True


def test_agency_logs_a_breach_with_reported_by_filled_in(client, people, make_agreement):
    agreement = make_agreement(status="active")
    recipient, url = _link(agreement)
    form = client.get(url + "/breach").get_data(as_text=True)
    assert 'value="Jo Bloggs, Riverside Primary School"' in form
    response = client.post(url + "/breach", data={"immediate_risk": "no", "description": "Ella said dad stayed over.",
                                                  "reported_by": "Jo Bloggs, Riverside Primary School"})
    # A redirect, so refreshing the page that follows cannot send the breach again.
    assert response.status_code == 302
    assert "Breach reported" in client.get(response.headers["Location"]).get_data(as_text=True)
    breach = Breach.get()
    assert breach.recipient_id == recipient.id and breach.created_by_id is None
    assert {n.to_address for n in Notification.select().where(Notification.kind == "breach_alert")} == {
        people.worker.email, people.manager.email}


def test_an_agency_link_opens_no_staff_page(client, make_agreement):
    agreement = make_agreement(status="active")
    _, url = _link(agreement)
    client.get(url)
    for staff_page in ("/", "/agreements", f"/agreements/{agreement.id}", "/admin/", "/breaches/new"):
        response = client.get(staff_page)
        assert response.status_code == 302 and "/login" in response.location, staff_page
    with client.session_transaction() as session:
        assert "_user_id" not in session


def _refused(response):
    page = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "This link does not work" in page
    assert "Jo Bloggs" not in page and "PA-" not in page


def _stopped(response):
    """A genuine link that has stopped offers a new one, and shows nothing of the record."""
    page = response.get_data(as_text=True)
    assert response.status_code == 410
    assert "This link has stopped working" in page and "Email me a new link" in page
    assert "Jo Bloggs" not in page and "PA-" not in page and "Ella" not in page


def test_tampered_links_are_refused_plainly(client, make_agreement):
    agreement = make_agreement(status="active")
    _, url = _link(agreement)
    _refused(client.get(url[:-3] + "abc"))
    _refused(client.get("/a/not-a-token"))
    _refused(client.post(url[:-2] + "xx/acknowledge"))


def test_a_link_for_another_record_is_refused(client, app, make_agreement):
    first = make_agreement(status="active")
    second = make_agreement(status="active")
    recipient = Recipient.get(Recipient.agreement == first)
    from itsdangerous import URLSafeSerializer

    forged = URLSafeSerializer(app.config["SECRET_KEY"], salt=tokens.SALT).dumps(
        {"r": recipient.id, "a": second.id, "v": recipient.link_version})
    _refused(client.get("/a/" + forged))


def test_revoked_and_reissued_links(client, people, login, make_agreement):
    agreement = make_agreement(status="active")
    recipient, old_url = _link(agreement)
    login(people.worker)
    client.post(f"/agreements/{agreement.id}/recipients/{recipient.id}/link", data={"what": "revoke"})
    client.post("/logout")
    _stopped(client.get(old_url))
    login(people.worker)
    client.post(f"/agreements/{agreement.id}/recipients/{recipient.id}/link", data={"what": "reissue"})
    client.post("/logout")
    _stopped(client.get(old_url))
    recipient, new_url = _link(agreement)
    assert client.get(new_url).status_code == 200
    emails = Notification.select().where((Notification.kind == "copy_issued") & (Notification.to_address == recipient.email))
    assert emails.count() == 2  # the first copy, and the new link
    assert new_url in emails.order_by(Notification.id.desc()).first().body_text
    assert AuditEvent.select().where(AuditEvent.action == "agency_link_revoked").count() == 1


def test_a_link_stops_when_the_record_ends(client, people, make_agreement):

    agreement = make_agreement(status="active")
    _, url = _link(agreement)
    lifecycle.end(agreement, people.manager, NOW + dt.timedelta(days=1), "reviewed_closed")
    _stopped(client.get(url))


def test_agency_pages_are_rate_limited(client, app, make_agreement):
    app.config["AGENCY_RATE_LIMIT"] = 5
    agreement = make_agreement(status="active")
    _, url = _link(agreement)
    codes = [client.get(url).status_code for _ in range(7)]
    assert codes[:5] == [200] * 5 and codes[5:] == [429, 429]


def test_the_copy_email_carries_the_agency_link(app, make_agreement):
    agreement = make_agreement(status="active")
    recipient, url = _link(agreement)
    email = Notification.get((Notification.kind == "copy_issued") & (Notification.to_address == recipient.email))
    assert "http://tracker.test" + url in email.body_text
