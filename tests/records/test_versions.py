"""Versions and variations (R11), no lost updates (R12), the endorsement queue,
returning to the worker, and issuing the family's copy."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from jobs import sweeps
from tests.conftest import NOW, PASSWORD
from tracker import models, rules
from tracker.clock import utcnow
from tracker.models import Agreement, AgreementVersion, Breach, Notification, Recipient, Variation
from tracker.people.accounts import create_user
from tracker.records import drafting, lifecycle, versions
from tracker.settings import put

HOUR = dt.timedelta(hours=1)


@pytest.fixture
def database_url(tmp_path):
    """These page tests run on SQLite only; tests/records/test_versions_db.py runs the versions
    table and the optimistic check on both databases."""
    return f"sqlite:///{tmp_path / 'test.db'}"
NEW_ACTION = "Sarah may leave the children with Mark for up to an hour"


def fresh(agreement):
    return Agreement.get_by_id(agreement.id)


def edit_fields(client, agreement) -> dict:
    """The edit form's fields as the browser would post them back, hidden ones included."""
    page = client.get(f"/agreements/{agreement.id}/edit").get_data(as_text=True)
    fields = {}
    for tag in re.findall(r"<input[^>]*>", page):
        name = re.search(r'name="([^"]+)"', tag)
        if not name or 'type="radio"' in tag and "checked" not in tag or 'type="checkbox"' in tag and "checked" not in tag:
            continue
        value = re.search(r'value="([^"]*)"', tag)
        fields[name.group(1)] = value.group(1).replace("&#39;", "'").replace("&amp;", "&") if value else ""
    for name, body in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', page, re.S):
        fields[name] = body.strip().replace("&#39;", "'").replace("&amp;", "&")
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', page, re.S):
        chosen = re.search(r'<option value="([^"]*)"[^>]*selected', body)
        fields[name] = chosen.group(1) if chosen else ""
    fields["save"] = "1"
    return fields


def queued(kind: str, to: str | None = None) -> list[Notification]:
    query = Notification.select().where(Notification.kind == kind)
    if to:
        query = query.where(Notification.to_address == to)
    return list(query.order_by(Notification.id))


# --- versions and variations (R11) -----------------------------------------------------

def test_changing_an_active_record_starts_a_variation_and_the_endorsed_version_stays(client, people, login, make_agreement):
    agreement = make_agreement(status="active")
    login(people.worker)
    fields = edit_fields(client, agreement)
    fields["actions-0-what"] = NEW_ACTION
    response = client.post(f"/agreements/{agreement.id}/edit", data=fields, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "saved as a draft of version 2" in page
    assert "Variation in progress" in page
    assert "Action 1: &#39;Ms Murphy will take Ella to nursery every weekday.&#39; → &#39;Sarah may leave" in page
    # What is in force, and what every page, email and agency link reads, is unchanged.
    record = fresh(agreement)
    assert record.status == "active" and record.version == 1 and record.endorsed_by_id == people.manager.id
    assert models.live_actions(record)[0].what == "Ms Murphy will take Ella to nursery every weekday."
    assert Variation.get(Variation.agreement == agreement).status == "draft"

    # Sent for endorsement: the team's manager is emailed.
    client.post(f"/agreements/{agreement.id}/submit", data={"revision": fresh(agreement).revision})
    assert fresh(agreement).variation_status == "awaiting_endorsement"
    [request] = queued("endorsement_requested", "manager@council.example")[-1:]
    assert "version 2" in request.subject and request.subject.startswith("Please endorse or return")

    # The manager sees what changes, and endorses.
    login(people.manager)
    page = client.get(f"/agreements/{agreement.id}/endorse").get_data(as_text=True)
    assert "What changes from version 1" in page and NEW_ACTION in page
    Recipient.update(acknowledged_at=NOW).where(Recipient.agreement == agreement).execute()
    response = client.post(f"/agreements/{agreement.id}/endorse", data={"decision": "endorse"})
    assert response.status_code == 302
    record = fresh(agreement)
    assert record.version == 2 and models.live_actions(record)[0].what == NEW_ACTION
    assert record.variation_status == "" and record.issued_at is None
    # Each agency acknowledges the new version, and is sent it.
    [recipient] = models.live_recipients(record)
    assert recipient.acknowledged_at is None and recipient.chase_at is not None
    assert [n.key for n in queued("copy_issued")][-1].endswith("/version-2")
    numbers = [v.number for v in AgreementVersion.select().where(AgreementVersion.agreement == agreement)]
    assert numbers == [1, 2]
    page = client.get(f"/agreements/{agreement.id}").get_data(as_text=True)
    assert "Version 2, endorsed by Maria Manager" in page
    assert "version 2 is to be issued to the family again" in page
    printed = client.get(f"/agreements/{agreement.id}/print").get_data(as_text=True)
    assert "version 2, endorsed on" in printed


def test_working_details_change_at_once_without_a_variation(client, people, login, make_agreement):
    agreement = make_agreement(status="active")
    login(people.worker)
    fields = edit_fields(client, agreement)
    fields["review_venue"] = "The town hall"
    fields["recipients-0-role"] = "Head teacher"
    page = client.post(f"/agreements/{agreement.id}/edit", data=fields, follow_redirects=True).get_data(as_text=True)
    assert "version 1 stays in force" in page
    assert models.next_review(agreement).venue == "The town hall"
    assert models.live_recipients(agreement)[0].role == "Head teacher"
    assert Variation.select().where(Variation.agreement == agreement).count() == 0


def test_a_review_that_varies_opens_a_variation(client, people, login, make_agreement):
    agreement = make_agreement(status="active")
    login(people.worker)
    response = client.post(f"/agreements/{agreement.id}/review", data={
        "held_on-day": "23", "held_on-month": "11", "held_on-year": "2026", "outcome": "vary",
        "next_review_at-day": "15", "next_review_at-month": "2", "next_review_at-year": "2027",
        "next_review_at-time": "10:00"})
    assert response.status_code == 302 and response.location.endswith("/edit")
    variation = Variation.get(Variation.agreement == agreement)
    assert variation.status == "draft" and "vary" in variation.reason
    assert "Variation in progress" in client.get(f"/agreements/{agreement.id}").get_data(as_text=True)


def test_plain_words_for_the_differences():
    before = {"purpose": "Keep Ella safe", "actions": [{"id": 1, "what": "A"}, {"id": 2, "what": "B"}]}
    after = {"purpose": "Keep Ella safe at home", "actions": [{"id": 1, "what": "A"}, {"id": 2, "what": "X"},
                                                                 {"id": "", "what": "C"}]}
    assert versions.describe(before, after) == [
        "Purpose: 'Keep Ella safe' → 'Keep Ella safe at home'",
        "Action 2: 'B' → 'X'",
        "Action 3 added: 'C'",
    ]


# --- no lost updates (R12), on both databases -----------------------------------------------

def test_two_saves_from_one_page_the_second_gets_409_with_its_typing_kept(client, people, login, make_agreement):
    agreement = make_agreement()
    login(people.worker)
    first = edit_fields(client, agreement)
    second = dict(first)
    first["purpose"] = "The first person's purpose."
    first["actions-2-what"] = "A third action the first person added."
    first["actions-2-who"] = "Ms Murphy"
    first["actions-2-side"] = "family"
    assert client.post(f"/agreements/{agreement.id}/edit", data=first).status_code == 302

    second["purpose"] = "The second person's purpose."
    response = client.post(f"/agreements/{agreement.id}/edit", data=second)
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Someone changed this record after you opened this page" in page
    assert "The second person&#39;s purpose." in page  # their typing, kept
    assert "The first person&#39;s purpose." in page  # what changed since, in plain words
    record = fresh(agreement)
    assert record.purpose == "The first person's purpose."
    assert len(models.live_actions(record)) == 3
    # Saving again from the 409 page (now on the current revision) is accepted.
    fields = dict(second)
    fields["revision"] = str(record.revision)
    assert client.post(f"/agreements/{agreement.id}/edit", data=fields).status_code == 302


def test_every_form_refuses_a_stale_revision(client, people, login, make_agreement):
    forms = {
        "end": ("end", {"reason": "reviewed_closed"}),
        "endorse": ("endorse", {"decision": "endorse"}),
        "return": ("endorse", {"decision": "return", "comments": "Please add the school's role."}),
        "extend": ("extend", {"new_end-day": "1", "new_end-month": "1", "new_end-year": "2099",
                              "new_end-time": "09:00", "reason": "Waiting for the court."}),
        "review": ("review", {"held_on-day": "23", "held_on-month": "11", "held_on-year": "2026",
                              "outcome": "continue", "next_review_at-day": "15", "next_review_at-month": "2",
                              "next_review_at-year": "2099", "next_review_at-time": "10:00"}),
    }
    for what, (url, data) in forms.items():
        status = "awaiting_endorsement" if what in ("endorse", "return") else "active"
        agreement = make_agreement(kind="undertaking" if what == "extend" else "partnership", status=status)
        stale = agreement.revision
        drafting.save(agreement, agreement.kind, drafting.form_data(agreement), people.worker, NOW)  # someone else saves
        login(people.manager if what != "review" else people.worker)
        response = client.post(f"/agreements/{agreement.id}/{url}",
                               data={**data, "revision": str(stale), "opened_at": NOW.isoformat()})
        page = response.get_data(as_text=True)
        assert response.status_code == 409, (what, page[:300])
        assert "Someone changed this record after you opened this page" in page
        assert "Changed by Sam Worker" in page or "Sam Worker" in page
        assert fresh(agreement).status == status and fresh(agreement).revision == stale + 1, what
        assert f'name="revision" value="{stale + 1}"' in page  # saving again now applies, on purpose

def test_a_breach_acknowledged_by_someone_else_gets_409(client, people, login, make_agreement):
    agreement = make_agreement(status="active")
    breach = Breach.create(agreement=agreement, occurred_at=NOW, description="He came round.", reported_by="School",
                           created_at=NOW, escalate_at=NOW + 24 * HOUR)
    second_manager = create_user("m2@council.example", "Mo Second", PASSWORD, "team_manager", people.north)
    login(people.manager)
    assert "Someone changed" not in client.get(f"/breaches/{breach.id}/acknowledge").get_data(as_text=True)
    assert client.post(f"/breaches/{breach.id}/acknowledge", data={"response": "strategy"}).status_code == 302
    response_key = Breach.get_by_id(breach.id).response
    assert response_key is not None
    login(second_manager)
    response = client.post(f"/breaches/{breach.id}/acknowledge", data={"response": "legal",
                                                                         "response_notes": "My notes"})
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "Maria Manager" in page and "My notes" in page
    assert Breach.get_by_id(breach.id).response == response_key


# --- the endorsement queue, returning, and who endorses -------------------------------------

def test_a_manager_does_not_endorse_their_own_record(client, people, login, make_agreement):
    agreement = make_agreement(worker=people.manager, status="awaiting_endorsement")
    login(people.manager)
    response = client.get(f"/agreements/{agreement.id}/endorse")
    assert response.status_code == 403 and "You cannot endorse" in response.get_data(as_text=True)
    with pytest.raises(rules.RuleBroken):
        lifecycle.endorse(agreement, people.manager, NOW, "x")
    login(people.head)
    assert client.post(f"/agreements/{agreement.id}/endorse", data={"decision": "endorse"}).status_code == 302
    assert fresh(agreement).status == "active"


def test_return_to_the_worker_then_resubmit(client, people, login, make_agreement):
    agreement = make_agreement(status="awaiting_endorsement")
    login(people.manager)
    response = client.post(f"/agreements/{agreement.id}/endorse", data={"decision": "return", "comments": ""})
    assert response.status_code == 400 and "Write what the social worker needs to change" in response.get_data(as_text=True)
    client.post(f"/agreements/{agreement.id}/endorse",
                data={"decision": "return", "comments": "Say who takes Ella to nursery on Fridays."})
    record = fresh(agreement)
    assert record.status == "returned" and record.status_label == "Returned to the social worker"
    [email] = queued("returned_to_worker")
    assert email.to_address == "worker@council.example" and "on Fridays" in email.body_text
    assert "Ella" not in email.subject

    login(people.worker)
    page = client.get(f"/agreements/{agreement.id}").get_data(as_text=True)
    assert "Say who takes Ella to nursery on Fridays." in page
    dashboard = client.get("/").get_data(as_text=True)
    assert "Returned to you" in dashboard and agreement.reference in dashboard
    assert client.post(f"/agreements/{agreement.id}/submit").status_code == 303
    assert fresh(agreement).status == "awaiting_endorsement"


def test_the_queue_is_the_managers_first_table_undertakings_first(client, people, login, make_agreement):
    partnership = make_agreement(status="awaiting_endorsement")
    undertaking = make_agreement(kind="undertaking", status="awaiting_endorsement", now=utcnow())
    login(people.manager)
    page = client.get("/").get_data(as_text=True)
    headings = re.findall(r'<h2 class="govuk-heading-m" id="h-([a-z_]+)"', page)
    assert headings[0] == "endorsement_queue"
    table = page[page.index('id="table-endorsement_queue"'):]
    table = table[:table.index("</table>")]
    assert table.index(undertaking.reference) < table.index(partnership.reference)
    assert "48 hours left" in table or "47 hours left" in table
    assert "New undertaking" in table and "New partnership agreement" in table and ": new" not in table
    csv = client.get("/dashboard/endorsement_queue.csv").get_data(as_text=True)
    assert csv.index(undertaking.reference) < csv.index(partnership.reference)
    [urgent] = [n for n in queued("endorsement_requested") if n.agreement_id == undertaking.id]
    assert urgent.subject.startswith("URGENT:")


def test_an_undertaking_left_waiting_is_escalated_once_to_the_service_managers(app, people, make_agreement):
    undertaking = make_agreement(kind="undertaking", status="awaiting_endorsement")
    assert sweeps.endorsement_escalations(NOW + HOUR) == 0
    assert sweeps.endorsement_escalations(NOW + 2 * HOUR) == 1
    assert sweeps.endorsement_escalations(NOW + 3 * HOUR) == 0
    [email] = queued("endorsement_escalation")
    assert email.to_address == "head@council.example" and undertaking.reference in email.subject
    put("endorsement_escalation_hours", "5")
    other = make_agreement(kind="undertaking", status="awaiting_endorsement")
    lifecycle.endorse(other, people.manager, NOW + HOUR)
    assert sweeps.endorsement_escalations(NOW + 6 * HOUR) == 0  # endorsed in time: nothing to escalate


# --- signed and issued ----------------------------------------------------------------------

def test_issuing_the_familys_copy(client, people, login, make_agreement):
    draft = make_agreement()
    login(people.worker)
    when = {"issued_at-day": "23", "issued_at-month": "11", "issued_at-year": "2026", "issued_at-time": "09:37",
            "copy_language": "Polish", "translation_given": "yes"}
    response = client.post(f"/agreements/{draft.id}/issue", data=when)
    assert response.status_code == 400 and "once a manager has endorsed it" in response.get_data(as_text=True)

    agreement = make_agreement(status="active")
    response = client.post(f"/agreements/{agreement.id}/issue", data=when)
    assert response.status_code == 400
    assert "Ms Murphy has not signed: give the reason" in response.get_data(as_text=True)
    response = client.post(f"/agreements/{agreement.id}/issue", data={**when, "reason": "She signs at the next visit."})
    assert response.status_code == 303
    record = fresh(agreement)
    assert record.issued_at == dt.datetime(2026, 11, 23, 9, 37) and record.issued_on == dt.date(2026, 11, 23)
    assert record.copy_language == "Polish" and record.translation_given
    page = client.get(f"/agreements/{agreement.id}").get_data(as_text=True)
    assert "23 November 2026 at 9:37am, in Polish, translation given" in page


def test_endorsed_but_not_issued_is_listed_after_the_setting(client, people, login, make_agreement):
    agreement = make_agreement(status="active", now=NOW - dt.timedelta(days=3))
    login(people.manager)
    page = client.get("/").get_data(as_text=True)
    assert 'id="table-not_issued"' in page and agreement.reference in page[page.index('id="table-not_issued"'):]
    lifecycle.issue(fresh(agreement), people.worker, NOW, issued_at=NOW - HOUR, language="English",
                  translation_given=False, reason="Unsigned at the meeting")
    page = client.get("/").get_data(as_text=True)
    assert 'id="table-not_issued"' not in page


