"""The quick breach form, the alert in the breach's transaction, acknowledgement and amendment."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from tests.conftest import NOW
from tracker import db
from tracker.models import AuditEvent, Breach, BreachAmendment, Notification
from tracker.records import breaches


def breach_form(**overrides):
    fields = {
        "immediate_risk": "no",
        "description": "Mr Murphy was at the house at 9pm; the neighbour saw him.",
        "occurred_at-day": "23", "occurred_at-month": "11", "occurred_at-year": "2026", "occurred_at-time": "08:30",
        "action": "0",
        "term": "Contact arrangements",
        "reported_by": "Neighbour, by phone",
    }
    fields.update(overrides)
    return {k: v for k, v in fields.items() if v is not None}


def test_worker_finds_the_record_and_logs_a_breach(client, people, login, make_agreement):
    agreement = make_agreement(status="active")
    login(people.worker)
    with time_machine.travel(NOW + dt.timedelta(hours=1), tick=False):
        page = client.get("/breaches/new?q=ella").get_data(as_text=True)
        assert agreement.reference in page
        fragment = client.get("/breaches/new?q=ella", headers={"HX-Request": "true", "HX-Target": "breach-results"})
        # Only the inside of the live region: htmx swaps its innerHTML, so the region stays and is announced.
        inside = fragment.get_data(as_text=True)
        assert agreement.reference in inside and 'id="breach-results"' not in inside and "<html" not in inside
        form = client.get(f"/agreements/{agreement.id}/breaches/new").get_data(as_text=True)
        assert "Is anyone at immediate risk of harm?" in form
        assert "Ms Murphy will take Ella to nursery every weekday." in form  # the record's own actions
        response = client.post(f"/agreements/{agreement.id}/breaches/new", data=breach_form())
    assert response.status_code == 302
    breach = Breach.get()
    assert breach.reported_by == "Neighbour, by phone" and not breach.immediate_risk
    assert breach.escalate_at == NOW + dt.timedelta(hours=25)
    alerted = {n.to_address for n in Notification.select().where(Notification.kind == "breach_alert")}
    assert alerted == {people.worker.email, people.manager.email}
    assert AuditEvent.select().where(AuditEvent.action == "breach_logged").count() == 1


def test_immediate_risk_says_call_999_first_and_marks_it_urgent(client, people, login, make_agreement):
    agreement = make_agreement(status="active")
    login(people.worker)
    with time_machine.travel(NOW + dt.timedelta(hours=1), tick=False):
        response = client.post(f"/agreements/{agreement.id}/breaches/new", data=breach_form(immediate_risk="yes"),
                               follow_redirects=True)
    page = response.get_data(as_text=True)
    main = page[page.index('id="main-content"'):]
    assert main.index("Call 999 now") < main.index("Breach logged")
    assert Breach.get().immediate_risk is True
    assert "URGENT" in Notification.get(Notification.kind == "breach_alert").subject


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"description": ""}, "Describe what happened"),
        ({"immediate_risk": None}, "Select yes if anyone is at immediate risk of harm"),
        ({"reported_by": ""}, "Enter who reported it"),
        ({"occurred_at-year": "2030"}, "When it happened must be now or in the past"),
        ({"occurred_at-day": "32"}, "must be a real date"),
        ({"description": "x" * 20_000}, "10,000 characters or fewer"),
        ({"description": "<script>alert(1)</script>"}, "must not contain HTML tags"),
    ],
)
def test_bad_breach_input_is_refused_beside_the_field(client, people, login, make_agreement, overrides, message):
    agreement = make_agreement(status="active")
    login(people.worker)
    with time_machine.travel(NOW + dt.timedelta(hours=1), tick=False):
        response = client.post(f"/agreements/{agreement.id}/breaches/new", data=breach_form(**overrides))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in page and "There is a problem" in page
    assert Breach.select().count() == 0


def test_a_breach_cannot_be_logged_on_an_ended_record(client, people, login, make_agreement):
    agreement = make_agreement(status="ended")
    login(people.worker)
    response = client.post(f"/agreements/{agreement.id}/breaches/new", data=breach_form())
    assert response.status_code == 302
    assert Breach.select().count() == 0


def test_a_failure_after_the_insert_leaves_neither_breach_nor_alert(app, people, make_agreement, monkeypatch):
    agreement = make_agreement(status="active")

    def broken_alert(breach, now):
        raise RuntimeError("the mail templates are missing")

    monkeypatch.setattr("tracker.notices.mailings.breach_alert", broken_alert)
    with pytest.raises(RuntimeError):
        breaches.log(agreement, {"description": "x", "reported_by": "School"}, NOW, user=people.worker)
    assert Breach.select().count() == 0
    assert Notification.select().where(Notification.kind == "breach_alert").count() == 0
    assert db.database.obj.in_transaction() is False


def test_manager_acknowledges_with_a_response_and_the_escalation_stops(client, people, login, make_agreement):
    agreement = make_agreement(status="active")
    breach = breaches.log(agreement, {"description": "Missed nursery", "reported_by": "Nursery"}, NOW, user=people.worker)
    login(people.worker)
    assert client.get(f"/breaches/{breach.id}/acknowledge").status_code == 403
    login(people.manager)
    response = client.post(f"/breaches/{breach.id}/acknowledge", data={})
    assert response.status_code == 400 and "Select the response" in response.get_data(as_text=True)
    response = client.post(f"/breaches/{breach.id}/acknowledge",
                           data={"response": "strategy", "response_notes": "Strategy discussion on Tuesday."})
    assert response.status_code == 302
    breach = Breach.get_by_id(breach.id)
    assert breach.acknowledged_by_id == people.manager.id and breach.escalate_at is None
    page = client.get(f"/agreements/{agreement.id}").get_data(as_text=True)
    assert "A strategy discussion" in page and "Strategy discussion on Tuesday." in page


def test_an_amendment_keeps_the_original_beside_it(client, people, login, make_agreement):
    agreement = make_agreement(status="active")
    breach = breaches.log(agreement, {"description": "Dad seen at 9pm", "reported_by": "Neighbour"}, NOW, user=people.worker)
    login(people.worker)
    response = client.post(f"/breaches/{breach.id}/amend", data={"text": "It was 8pm, not 9pm."})
    assert response.status_code == 302
    assert Breach.get_by_id(breach.id).description == "Dad seen at 9pm"
    assert BreachAmendment.get().text == "It was 8pm, not 9pm."
    page = client.get(f"/agreements/{agreement.id}").get_data(as_text=True)
    assert "Dad seen at 9pm" in page and "It was 8pm, not 9pm." in page


def test_breach_escalates_after_24_hours_without_a_response(app, people, make_agreement):
    from jobs.sweeps import breach_escalations

    agreement = make_agreement(status="active")
    breaches.log(agreement, {"description": "Missed contact", "reported_by": "School"}, NOW, user=people.worker)
    assert breach_escalations(NOW + dt.timedelta(hours=23, minutes=59)) == 0
    assert breach_escalations(NOW + dt.timedelta(hours=24)) >= 2
    escalated = {n.to_address for n in Notification.select().where(Notification.kind == "breach_escalation")}
    assert {people.manager.email, people.head.email} <= escalated
    assert breach_escalations(NOW + dt.timedelta(hours=25)) == 0  # once


def test_breach_alert_reaches_worker_and_manager_over_smtp_after_one_tick(app, people, make_agreement, smtp):
    from jobs.sweeps import run_all

    agreement = make_agreement(status="active")
    breaches.log(agreement, {"description": "Missed contact", "reported_by": "School", "immediate_risk": True},
                 NOW, user=people.worker)
    run_all(NOW + dt.timedelta(seconds=30))
    for address in (people.worker.email, people.manager.email):
        received = smtp.to(address)
        assert received, address
        assert agreement.reference in received[0]["Subject"]
        assert "Ella Murphy" not in received[0].get_body(("plain",)).get_content()


def test_breach_alerts_are_delivered_before_a_backlog_of_reminders(app, people, make_agreement, smtp):
    from jobs.delivery import deliver_pending
    from tracker.models import Notification

    agreement = make_agreement(status="active")
    for n in range(5):
        Notification.create(key=f"backlog/{n}", kind="review_reminder", to_address=f"backlog{n}@council.example",
                            subject="Reminder", body_text="Reminder", next_attempt_at=NOW - dt.timedelta(hours=1))
    breaches.log(agreement, {"description": "Dad at the house", "reported_by": "School"}, NOW, user=people.worker)
    pending_before = Notification.select().where(Notification.status == "pending").count()
    report = deliver_pending(NOW, limit=2)
    assert report.sent == 2
    sent = Notification.select().where(Notification.status == "sent")
    assert {n.kind for n in sent} == {"breach_alert"}
    assert Notification.select().where(Notification.status == "pending").count() == pending_before - 2
