"""Draft -> awaiting endorsement -> active -> ended, with quality checks and audit."""

from __future__ import annotations

import datetime as dt

from tests.conftest import NOW
from tracker import rules
from tracker.models import Agreement, AuditEvent, Notification, Recipient
from tracker.records import drafting, lifecycle
from tracker.records.quality import checks


def _status(agreement):
    return Agreement.get_by_id(agreement.id).status


def test_worker_submits_and_manager_endorses(client, people, login, make_agreement):
    agreement = make_agreement()
    login(people.worker)
    response = client.post(f"/agreements/{agreement.id}/submit")
    assert response.status_code == 303
    assert _status(agreement) == "awaiting_endorsement"
    assert "sent to the team manager for endorsement" in client.get(response.location).get_data(as_text=True)

    login(people.manager)
    page = client.get(f"/agreements/{agreement.id}/endorse").get_data(as_text=True)
    assert "Every quality check passes" in page
    response = client.post(f"/agreements/{agreement.id}/endorse", data={})
    assert response.status_code == 302
    endorsed = Agreement.get_by_id(agreement.id)
    assert endorsed.status == "active" and endorsed.endorsed_by_id == people.manager.id
    # The distribution list is sent its copy, and chased later if it does not acknowledge (R9).
    recipient = Recipient.get(Recipient.agreement == agreement)
    assert recipient.copy_sent_at is not None and recipient.chase_at is not None
    copy = Notification.get((Notification.agreement == agreement) & (Notification.kind == "copy_issued"))
    assert copy.to_address == "dsl@school.example"
    assert "EM" in copy.subject and "Ella Murphy" not in copy.body_text  # initials, never the full name


def test_an_action_without_a_timescale_blocks_endorsement(client, people, login, make_agreement):
    actions = [
        {"what": "Ms Murphy will take Ella to nursery.", "who": "Ms Murphy", "side": "family", "timescale": "", "due_on": None},
        {"what": "The social worker will visit.", "who": "Social worker", "side": "professional", "timescale": "Fortnightly", "due_on": None},
    ]
    agreement = make_agreement(status="awaiting_endorsement", actions=actions)
    login(people.manager)
    page = client.get(f"/agreements/{agreement.id}/endorse").get_data(as_text=True)
    assert "Action 1 needs who is responsible and a timescale" in page
    response = client.post(f"/agreements/{agreement.id}/endorse", data={})
    assert response.status_code == 400
    assert "give your reason for endorsing anyway" in response.get_data(as_text=True)
    assert _status(agreement) == "awaiting_endorsement"

    response = client.post(f"/agreements/{agreement.id}/endorse", data={"override": "Agreed at the meeting; timescale is daily."})
    assert response.status_code == 302
    assert _status(agreement) == "active"
    event = AuditEvent.get((AuditEvent.action == "endorsed") & (AuditEvent.agreement == agreement))
    changes = {field: new for field, _, new in event.change_list()}
    assert changes["override_reason"] == "Agreed at the meeting; timescale is daily."
    assert "Every action says who and by when" in changes["endorsed_despite"]


def test_quality_checks_each_fail_and_pass(app, people, make_agreement):
    good = make_agreement()
    assert [c.key for c in checks(good, NOW) if not c.passed] == []

    bad = make_agreement(
        purpose="Concerns raised at the ICPC and by MASH.",
        contingency="",
        child_views="",
        review_at=dt.datetime(2027, 6, 1, 10, 0),
        actions=[{"what": "Mum will stop drinking.", "who": "Mum", "side": "family", "timescale": "Now", "due_on": None}],
        children=[{"name": "Baby Murphy", "date_of_birth": dt.date(2025, 1, 1)}],
        issued_on=dt.date(2026, 11, 1),
    )
    failing = {c.key: c for c in checks(bad, NOW) if not c.passed}
    assert set(failing) == {"written", "review_in_policy", "balanced", "child_views", "health_visiting",
                            "plain_language", "endorsed_before_issue"}
    assert "ICPC" in failing["plain_language"].detail and "MASH" in failing["plain_language"].detail
    assert "contingency plan" in failing["written"].detail


def test_record_page_shows_the_checklist_in_the_guidance_words(client, people, login, make_agreement):
    agreement = make_agreement(child_views="")
    login(people.worker)
    page = client.get(f"/agreements/{agreement.id}").get_data(as_text=True)
    assert "The child&#39;s views are recorded" in page
    assert "always include the parents/carers and child&#39;s views" in page


def test_ending_keeps_the_record_and_stops_its_schedule(client, people, login, make_agreement):
    agreement = make_agreement(status="active")
    login(people.manager)
    response = client.post(f"/agreements/{agreement.id}/end", data={"reason": "reviewed_closed", "notes": "Goals met."})
    assert response.status_code == 302
    ended = Agreement.get_by_id(agreement.id)
    assert ended.status == "ended" and ended.next_review_at is None
    assert ended.end_reason == "reviewed_closed"
    page = client.get(f"/agreements/{agreement.id}").get_data(as_text=True)
    assert "Reviewed and closed" in page and "Goals met." in page
    # An ended record cannot be changed.
    response = client.get(f"/agreements/{agreement.id}/edit")
    assert response.status_code == 302
    response = client.post(f"/agreements/{agreement.id}/end", data={"reason": "expired"})
    assert response.status_code == 400


def test_end_needs_a_reason(client, people, login, make_agreement):
    agreement = make_agreement(status="active")
    login(people.manager)
    response = client.post(f"/agreements/{agreement.id}/end", data={})
    assert response.status_code == 400
    assert "Select why it is ending" in response.get_data(as_text=True)


def test_an_active_agreement_cannot_lose_its_next_review(app, people, make_agreement):
    agreement = make_agreement(status="active")
    data = drafting.form_data(agreement)
    data["review_at"] = None
    try:
        drafting.save(agreement, "partnership", data, people.worker, NOW)
    except rules.RuleBroken as broken:
        assert "must always have its next review" in broken.errors["review_at"]
    else:
        raise AssertionError("an active agreement was left without a review")


def test_history_page_shows_the_audit_trail_to_managers(client, people, login, make_agreement):
    agreement = make_agreement(status="awaiting_endorsement")
    lifecycle.endorse(agreement, people.manager, NOW)
    login(people.worker)
    client.get(f"/agreements/{agreement.id}")
    login(people.manager)
    page = client.get(f"/agreements/{agreement.id}/history").get_data(as_text=True)
    for what in ("Created", "Sent for endorsement", "Endorsed", "Opened the record"):
        assert what in page
    assert "Sam Worker" in page and "Maria Manager" in page


def test_printable_copy_reads_like_the_model_form(client, people, login, make_agreement):
    agreement = make_agreement(status="active")
    login(people.worker)
    response = client.get(f"/agreements/{agreement.id}/print")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    for words in ("Purpose of this partnership agreement", "Action agreed", "If things go wrong",
                  "Contingency plan", "Name of party to the agreement", "Signed:",
                  "A copy of this agreement will be given to", "Riverside Primary School", "15 January 2027 at 10am"):
        assert words in page, words
    assert "govuk-service-navigation" not in page  # no navigation chrome
    assert AuditEvent.select().where((AuditEvent.action == "printed") & (AuditEvent.agreement == agreement)).count() == 1
