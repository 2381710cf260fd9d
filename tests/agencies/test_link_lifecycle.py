"""Agency links that end, and no email that carries a stopped one (issue 9, item 6; R10).

The first two tests reproduce the defects the issue reports with the job
runner: requests queued in a mail outage went out after a revoke and a
re-issue carrying links that answer 404, and a revoked agency went on being
asked for reports. The rest cover each way a link stops, its expiry and
renewal, and "Email me a new link".
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine

from jobs import sweeps
from jobs.delivery import deliver_pending
from tests.conftest import NOW, free_port
from tracker import settings
from tracker.agencies import tokens
from tracker.models import Agreement, AuditEvent, Notification, Recipient
from tracker.records import lifecycle
from tracker.web import ratelimit

REVIEW_AT = dt.datetime(2027, 1, 15, 10, 0)  # the test agreement's review (UTC = London in January)
WINDOW_OPENS = REVIEW_AT - dt.timedelta(days=10)  # the first request (R3)
REPORTS_DUE = REVIEW_AT - dt.timedelta(days=3)  # the prompt (R3)
SCHOOL = {"name": "Jo Bloggs", "agency_name": "Riverside Primary School", "agency_kind": "school",
          "role": "Designated safeguarding lead", "email": "dsl@school.example", "breach_contact": False}
# The defects and the address change run on both databases; the rest, on SQLite for speed.
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
GP = {"name": "Dr Patel", "agency_name": "Market Street Surgery", "agency_kind": "gp", "role": "GP",
      "email": "gp@surgery.example", "breach_contact": False}


@pytest.fixture(autouse=True)
def _fresh_limits():
    ratelimit.reset()
    yield
    ratelimit.reset()


@pytest.fixture
def two_agencies(make_agreement):
    agreement = make_agreement(status="active", recipients=[dict(SCHOOL), dict(GP)])
    school, gp = Recipient.select().where(Recipient.agreement == agreement).order_by(Recipient.position)
    return agreement, school, gp


def _links_in(text: str) -> list[str]:
    return re.findall(r"http://tracker\.test(/a/[A-Za-z0-9_.-]+)", text)


def _asked(kind: str, address: str) -> list[Notification]:
    return list(Notification.select().where((Notification.kind == kind) & (Notification.to_address == address)))


def _as_worker(client, login, people, agreement, recipient, what: str) -> None:
    login(people.worker)
    response = client.post(f"/agreements/{agreement.id}/recipients/{recipient.id}/link", data={"what": what})
    assert response.status_code == 303
    client.post("/logout")


# --- the defects, reproduced ----------------------------------------------------

def test_requests_queued_in_an_outage_never_go_out_with_a_dead_link(app, client, people, login, smtp, two_agencies):
    agreement, school, gp = two_agencies
    deliver_pending(NOW)  # the copies go while the server is up
    up_port = app.config["MAIL_PORT"]
    app.config["MAIL_PORT"] = free_port()  # the mail server goes down
    at = WINDOW_OPENS + dt.timedelta(minutes=1)
    with time_machine.travel(at, tick=False):
        assert sweeps.report_requests(at) == 2
        report = deliver_pending(at)
        assert report.sent == 0 and report.retry == 1  # nothing goes in the outage
        _as_worker(client, login, people, agreement, school, "revoke")
        _as_worker(client, login, people, agreement, gp, "reissue")

        app.config["MAIL_PORT"] = up_port  # the server is back
        later = at + dt.timedelta(minutes=5)
        deliver_pending(later)

        # The revoked school is sent nothing; the row says why, on the record page too.
        assert not [m for m in smtp.to(SCHOOL["email"]) if "Please send your report" in m["Subject"]]
        request = _asked("report_request", SCHOOL["email"])[0]
        assert request.status == "cancelled" and "link was revoked" in request.last_error
        # The GP's request went, re-rendered with its new link, which works.
        sent = [m for m in smtp.to(GP["email"]) if "Please send your report" in m["Subject"]]
        assert len(sent) == 1
        body = sent[0].get_body(("plain",)).get_content()
        gp_link = _links_in(body)[0]
        assert client.get(gp_link).status_code == 200
        assert gp_link == "/a/" + tokens.token_for(Recipient.get_by_id(gp.id))  # the request's link adds /report
        assert sent[0].get_body(("html",)).get_content().count(gp_link) == 1

        login(people.worker)
        page = client.get(f"/agreements/{agreement.id}").get_data(as_text=True)
        assert "link was revoked before this went out" in page


def test_a_revoked_agency_is_sent_no_requests_prompts_or_chases(client, people, login, two_agencies):
    agreement, school, gp = two_agencies
    _as_worker(client, login, people, agreement, school, "revoke")
    assert Recipient.get_by_id(school.id).chase_at is None
    for moment in (NOW + dt.timedelta(days=6), WINDOW_OPENS, REPORTS_DUE):
        sweeps.run_sweeps(moment + dt.timedelta(minutes=1))
    to_school = {n.kind for n in Notification.select().where(Notification.to_address == SCHOOL["email"])}
    assert to_school == {"copy_issued"}  # only the copy sent before the revoke
    assert {"copy_chase", "report_request", "report_prompt"} <= {n.kind for n in _asked_all(GP["email"])}
    summary = Notification.get(Notification.kind == "report_summary")
    assert "Market Street Surgery" in summary.body_text and "Riverside Primary School" not in summary.body_text

    # Re-issued, it is asked again at the next moment that is due.
    _as_worker(client, login, people, agreement, school, "reissue")
    assert len(_asked("copy_issued", SCHOOL["email"])) == 2


def _asked_all(address: str) -> list[Notification]:
    return list(Notification.select().where(Notification.to_address == address))


@sqlite_only
def test_a_revoked_agency_is_not_sent_the_calendar_cancellation(client, people, login, two_agencies):
    agreement, school, gp = two_agencies
    sweeps.report_requests(WINDOW_OPENS + dt.timedelta(minutes=1))
    deliver_pending(WINDOW_OPENS + dt.timedelta(minutes=1))
    _as_worker(client, login, people, agreement, school, "revoke")
    lifecycle.end(Agreement.get_by_id(agreement.id), people.manager, WINDOW_OPENS + dt.timedelta(hours=1), "reviewed_closed")
    sweeps.review_cancellations(WINDOW_OPENS + dt.timedelta(hours=2))
    assert {n.to_address for n in Notification.select().where(Notification.kind == "review_cancelled")} == {GP["email"]}


# --- when a link stops -------------------------------------------------------------

def _edit_school(client, login, people, agreement, school, good_partnership, **changes):
    login(people.worker)
    fields = {"recipients-0-id": str(school.id), **{f"recipients-0-{k}": v for k, v in changes.items()}}
    form = good_partnership(social_worker=str(people.worker.id), **fields)
    response = client.post(f"/agreements/{agreement.id}/edit", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    client.post("/logout")


def test_correcting_an_address_stops_the_old_link_and_sends_the_copy_to_the_new_one(client, people, login,
                                                                                        make_agreement, smtp, good_partnership):
    agreement = make_agreement(status="active")
    school = Recipient.get(Recipient.agreement == agreement)
    old_link = "/a/" + tokens.token_for(school)
    client.post(old_link + "/acknowledge")
    assert client.get(old_link).status_code == 200

    _edit_school(client, login, people, agreement, school, good_partnership, email="safeguarding@school.example")

    assert client.get(old_link).status_code == 410
    school = Recipient.get_by_id(school.id)
    assert school.email == "safeguarding@school.example" and school.acknowledged_at is None
    copy = _asked("copy_issued", "safeguarding@school.example")
    assert len(copy) == 1  # queued in the same transaction as the change
    new_link = _links_in(copy[0].body_text)[0]
    assert new_link == "/a/" + tokens.token_for(school) and client.get(new_link).status_code == 200
    event = AuditEvent.get(AuditEvent.action == "agency_link_readdressed")
    assert "dsl@school.example" in event.changes and "copy sent" in event.changes

    deliver_pending(NOW + dt.timedelta(hours=2))
    assert len(smtp.to("safeguarding@school.example")) == 1
    # The first copy, still queued for the old address, is not sent there.
    assert smtp.to("dsl@school.example") == []
    first = Notification.get((Notification.kind == "copy_issued") & (Notification.to_address == "dsl@school.example"))
    assert first.status == "cancelled" and "email address changed" in first.last_error


@sqlite_only
def test_changing_the_agency_stops_the_link_but_other_edits_do_not(client, people, login, make_agreement, good_partnership):
    agreement = make_agreement(status="active")
    school = Recipient.get(Recipient.agreement == agreement)
    link = "/a/" + tokens.token_for(school)
    _edit_school(client, login, people, agreement, school, good_partnership, role="Deputy safeguarding lead")
    assert client.get(link).status_code == 200  # a role is not whom the link is for
    _edit_school(client, login, people, agreement, school, good_partnership, agency_name="Hillside Academy")
    assert client.get(link).status_code == 410
    assert len(_asked("copy_issued", SCHOOL["email"])) == 2


@sqlite_only
def test_a_queued_chase_for_the_old_address_is_cancelled_and_a_request_follows_the_new_one(
        client, people, login, make_agreement, good_partnership):
    agreement = make_agreement(status="active")
    school = Recipient.get(Recipient.agreement == agreement)
    at = WINDOW_OPENS + dt.timedelta(minutes=1)
    sweeps.copy_chases(NOW + dt.timedelta(days=6))  # queued, not yet sent
    sweeps.report_requests(at)
    with time_machine.travel(at, tick=False):
        _edit_school(client, login, people, agreement, school, good_partnership, email="safeguarding@school.example")
    deliver_pending(at + dt.timedelta(minutes=1))
    chase = Notification.get(Notification.kind == "copy_chase")
    assert chase.status == "cancelled" and "email address changed" in chase.last_error
    request = Notification.get(Notification.kind == "report_request")
    assert request.status == "sent" and request.to_address == "safeguarding@school.example"
    assert _links_in(request.body_text)[0].startswith("/a/" + tokens.token_for(Recipient.get_by_id(school.id)))


@sqlite_only
def test_a_removed_entry_and_an_ended_record_stop_links_and_queued_email(client, people, login, two_agencies, good_partnership):
    agreement, school, gp = two_agencies
    at = WINDOW_OPENS + dt.timedelta(minutes=1)
    sweeps.copy_chases(NOW + dt.timedelta(days=6))
    sweeps.report_requests(at)
    school_link, gp_link = "/a/" + tokens.token_for(school), "/a/" + tokens.token_for(gp)
    login(people.worker)
    form = good_partnership(social_worker=str(people.worker.id), **{
        "recipients-0-id": str(gp.id), **{f"recipients-0-{k}": v for k, v in GP.items() if k != "breach_contact"}})
    assert client.post(f"/agreements/{agreement.id}/edit", data=form).status_code == 302
    client.post("/logout")
    assert client.get(school_link).status_code == 410 and client.get(gp_link).status_code == 200
    deliver_pending(at)
    to_school = Notification.select().where(Notification.to_address == SCHOOL["email"])
    assert {(n.kind, n.status) for n in to_school} == {("copy_issued", "cancelled"), ("copy_chase", "cancelled"),
                                                       ("report_request", "cancelled")}
    assert "taken off the distribution list" in Notification.get(Notification.kind == "report_request",
                                                                 Notification.to_address == SCHOOL["email"]).last_error

    Notification.update(status="pending").where(Notification.to_address == GP["email"]).execute()  # as if queued
    lifecycle.end(Agreement.get_by_id(agreement.id), people.manager, at, "reviewed_closed")
    assert client.get(gp_link).status_code == 410
    deliver_pending(at + dt.timedelta(minutes=1))
    to_gp = Notification.select().where(Notification.to_address == GP["email"])
    assert {n.status for n in to_gp} == {"cancelled"}
    assert all("ended" in n.last_error or "cancelled" in n.last_error for n in to_gp)


# --- expiry and renewal ------------------------------------------------------------

@sqlite_only
def test_a_link_expires_after_the_setting_and_a_new_version_renews_it(client, make_agreement):
    agreement = make_agreement(status="active")
    school = Recipient.get(Recipient.agreement == agreement)
    link = "/a/" + tokens.token_for(school)
    with time_machine.travel(NOW + dt.timedelta(days=90) - dt.timedelta(minutes=1), tick=False):
        assert client.get(link).status_code == 200
    with time_machine.travel(NOW + dt.timedelta(days=90), tick=False):
        assert client.get(link).status_code == 410
    # A newly endorsed version (the versions helper sets endorsed_at) renews every link.
    Agreement.update(endorsed_at=NOW + dt.timedelta(days=60)).where(Agreement.id == agreement.id).execute()
    with time_machine.travel(NOW + dt.timedelta(days=149), tick=False):
        assert client.get(link).status_code == 200
    settings.put("agency_link_days", "30")
    with time_machine.travel(NOW + dt.timedelta(days=91), tick=False):
        assert client.get(link).status_code == 410


@sqlite_only
def test_an_email_is_never_written_or_sent_with_an_expired_link(client, make_agreement, smtp):
    agreement = make_agreement(status="active")
    school = Recipient.get(Recipient.agreement == agreement)
    old_link = "/a/" + tokens.token_for(school)
    settings.put("agency_link_days", "40")  # expires before the review's window opens
    at = WINDOW_OPENS + dt.timedelta(minutes=1)
    sweeps.report_requests(at)
    request = Notification.get(Notification.kind == "report_request")
    fresh = _links_in(request.body_text)[0]
    assert not fresh.startswith(old_link)  # renewed as it was written
    with time_machine.travel(at, tick=False):
        assert client.get(fresh).status_code == 200 and client.get(old_link).status_code == 410
    # Queued, then not sent until after that link expired too: renewed again just before sending.
    much_later = at + dt.timedelta(days=41)
    deliver_pending(much_later)
    sent = smtp.to(SCHOOL["email"])[-1].get_body(("plain",)).get_content()
    with time_machine.travel(much_later, tick=False):
        assert client.get(_links_in(sent)[0]).status_code == 200
    assert AuditEvent.select().where(AuditEvent.action == "agency_link_renewed").count() == 2


# --- Email me a new link -----------------------------------------------------------

@sqlite_only
def test_an_expired_link_emails_a_new_one_to_the_address_on_the_list(client, make_agreement):
    agreement = make_agreement(status="active")
    school = Recipient.get(Recipient.agreement == agreement)
    link = "/a/" + tokens.token_for(school)
    with time_machine.travel(NOW + dt.timedelta(days=100), tick=False):
        page = client.get(link).get_data(as_text=True)
        assert "Email me a new link" in page and "Jo Bloggs" not in page
        response = client.post(link + "/new-link", follow_redirects=True)
        assert response.status_code == 200 and "Check your email" in response.get_data(as_text=True)
        email = Notification.get(Notification.kind == "agency_link")
        assert email.to_address == SCHOOL["email"] and "Ella Murphy" not in email.body_text
        assert client.get(_links_in(email.body_text)[0]).status_code == 200
        # Asking again within the hour sends nothing more, and says the same.
        again = client.post(link + "/new-link", follow_redirects=True).get_data(as_text=True)
        assert "Check your email" in again
        assert Notification.select().where(Notification.kind == "agency_link").count() == 1


@sqlite_only
def test_a_replaced_link_resends_the_current_one_without_stopping_it(client, people, login, make_agreement):
    agreement = make_agreement(status="active")
    school = Recipient.get(Recipient.agreement == agreement)
    old = "/a/" + tokens.token_for(school)
    _as_worker(client, login, people, agreement, school, "reissue")
    current = "/a/" + tokens.token_for(Recipient.get_by_id(school.id))
    client.post(old + "/new-link")
    email = Notification.get(Notification.kind == "agency_link")
    assert _links_in(email.body_text)[0] == current and client.get(current).status_code == 200


@sqlite_only
def test_a_revoked_or_removed_entry_gets_nothing_but_the_same_answer(client, people, login, make_agreement):
    agreement = make_agreement(status="active")
    school = Recipient.get(Recipient.agreement == agreement)
    link = "/a/" + tokens.token_for(school)
    _as_worker(client, login, people, agreement, school, "revoke")
    answer = client.post(link + "/new-link", follow_redirects=True)
    assert answer.status_code == 200 and "Check your email" in answer.get_data(as_text=True)
    assert not Notification.select().where(Notification.kind == "agency_link").exists()
    event = AuditEvent.get(AuditEvent.action == "agency_new_link_requested")
    assert "not sent" in event.changes


@sqlite_only
def test_a_tampered_link_offers_nothing(client, make_agreement):
    agreement = make_agreement(status="active")
    link = "/a/" + tokens.token_for(Recipient.get(Recipient.agreement == agreement))
    for response in (client.get(link[:-3] + "abc"), client.post(link[:-3] + "abc/new-link")):
        page = response.get_data(as_text=True)
        assert response.status_code == 404 and "This link does not work" in page
        assert "Email me a new link" not in page
    assert not Notification.select().where(Notification.kind == "agency_link").exists()


@sqlite_only
def test_asking_for_new_links_is_rate_limited(client, make_agreement):
    agreement = make_agreement(status="active")
    link = "/a/" + tokens.token_for(Recipient.get(Recipient.agreement == agreement))
    with time_machine.travel(NOW + dt.timedelta(days=100), tick=False):
        codes = [client.post(link + "/new-link").status_code for _ in range(7)]
    assert codes == [302] * 5 + [429, 429]
