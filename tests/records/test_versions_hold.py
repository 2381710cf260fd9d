"""A version is what the family signed (R16), and a decision sent from an old page keeps its typing (R12)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from tests.conftest import NOW
from tracker import models, rules
from tracker.models import Agreement, Breach, Party
from tracker.records import breaches, drafting, lifecycle, versions

HOUR = dt.timedelta(hours=1)
SIGNED = dt.date(2026, 11, 18)
CHANGED = "Ms Murphy will call the social worker if Mr Murphy comes to the house."


@pytest.fixture
def database_url(tmp_path):
    """Page tests on SQLite; the rows they read are the ones tests/records/test_versions_db.py runs on both engines."""
    return f"sqlite:///{tmp_path / 'test.db'}"


def fresh(agreement):
    return Agreement.get_by_id(agreement.id)


def vary(agreement, user, now=NOW + HOUR, **changes):
    data = drafting.form_data(fresh(agreement))
    data.update(changes or {"if_things_go_wrong": CHANGED})
    return versions.save_variation(fresh(agreement), data, user, now)


def signed_active(make_agreement):
    agreement = make_agreement(status="active")
    Party.update(signed_on=SIGNED).where(Party.agreement == agreement).execute()
    return fresh(agreement)


def test_version_two_starts_unsigned_and_issuing_it_unsigned_needs_a_reason(client, people, login, make_agreement):
    agreement = signed_active(make_agreement)
    vary(agreement, people.worker)
    lifecycle.submit(fresh(agreement), people.worker, NOW + HOUR)
    lifecycle.endorse(fresh(agreement), people.manager, NOW + 2 * HOUR, override="test")
    record = fresh(agreement)
    assert record.version == 2
    assert [p.signed_on for p in models.live_parties(record)] == [None]
    login(people.worker)
    printed = client.get(f"/agreements/{agreement.id}/print").get_data(as_text=True)
    assert "18 November 2026" not in printed
    with pytest.raises(rules.RuleBroken) as refused:
        lifecycle.issue(record, people.worker, NOW + 3 * HOUR, issued_at=NOW + 3 * HOUR, language="English",
                        translation_given=False)
    assert "Ms Murphy has not signed" in refused.value.errors["reason"]


def test_a_variation_pulled_back_to_draft_cannot_be_endorsed_from_the_old_link(client, people, login, make_agreement):
    agreement = make_agreement(status="active")
    vary(agreement, people.worker)
    lifecycle.submit(fresh(agreement), people.worker, NOW + HOUR)
    login(people.head)
    page = client.get(f"/agreements/{agreement.id}/endorse").get_data(as_text=True)
    assert 'name="submitted" value="' in page
    vary(agreement, people.worker, if_things_go_wrong=CHANGED + " Then a meeting is called.")  # back to draft
    response = client.post(f"/agreements/{agreement.id}/endorse", data={"decision": "endorse_anyway",
                                                                        "override": "Checked with the family"})
    text = response.get_data(as_text=True)
    assert response.status_code == 409 and "Sam Worker" in text and "Checked with the family" in text
    assert fresh(agreement).version == 1
    with pytest.raises(rules.RuleBroken):
        lifecycle.endorse(fresh(agreement), people.head, NOW + 2 * HOUR, override="x")


def test_a_variation_changed_after_it_was_sent_is_not_endorsed_from_the_page_opened_before(
        client, people, login, make_agreement):
    agreement = make_agreement(status="active")
    vary(agreement, people.worker)
    lifecycle.submit(fresh(agreement), people.worker, NOW + HOUR)
    old = versions.submission(models.in_progress(fresh(agreement)))
    vary(agreement, people.worker, if_things_go_wrong="Changed again")
    lifecycle.submit(fresh(agreement), people.worker, NOW + 2 * HOUR)
    with pytest.raises(rules.RuleBroken):
        lifecycle.endorse(fresh(agreement), people.head, NOW + 3 * HOUR, override="x", submitted=old)
    assert fresh(agreement).version == 1


def test_a_manager_who_changed_a_variation_cannot_endorse_it(client, people, login, make_agreement):
    agreement = make_agreement(status="active", worker=people.colleague)
    vary(agreement, people.colleague)
    vary(agreement, people.manager, if_things_go_wrong="The manager's own words")
    lifecycle.submit(fresh(agreement), people.colleague, NOW + HOUR)
    login(people.manager)
    assert client.get(f"/agreements/{agreement.id}/endorse").status_code == 403
    assert client.post(f"/agreements/{agreement.id}/endorse", data={"decision": "endorse"}).status_code == 403
    with pytest.raises(rules.RuleBroken):
        lifecycle.endorse(fresh(agreement), people.manager, NOW + 2 * HOUR, override="x")
    lifecycle.endorse(fresh(agreement), people.head, NOW + 2 * HOUR, override="x")
    assert fresh(agreement).version == 2


@pytest.mark.parametrize("first, second", [("return", "endorse_anyway"), ("endorse_anyway", "return")])
def test_a_stale_decision_says_who_acted_and_keeps_the_typing(client, people, login, make_agreement, first, second):
    agreement = make_agreement(status="active")
    vary(agreement, people.worker)
    lifecycle.submit(fresh(agreement), people.worker, NOW + HOUR)
    typed = {"override": "Agreed at the core meeting", "comments": "Say who calls the police"}
    if first == "return":
        versions.return_to_worker(fresh(agreement), people.head, NOW + 2 * HOUR, "Name who visits")
    else:
        lifecycle.endorse(fresh(agreement), people.head, NOW + 2 * HOUR, override="fine")
    login(people.manager)
    response = client.post(f"/agreements/{agreement.id}/endorse", data={"decision": second, **typed})
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Helen Head" in page and typed["override" if second == "endorse_anyway" else "comments"] in page


def test_return_comments_stay_until_the_manager_decides_again(client, people, login, make_agreement):
    agreement = make_agreement(status="active")
    vary(agreement, people.worker)
    lifecycle.submit(fresh(agreement), people.worker, NOW + HOUR)
    versions.return_to_worker(fresh(agreement), people.manager, NOW + 2 * HOUR, "Say who the children stay with")
    lifecycle.submit(fresh(agreement), people.worker, NOW + 3 * HOUR)  # sent again unchanged
    login(people.worker)
    assert "Say who the children stay with" in client.get(f"/agreements/{agreement.id}").get_data(as_text=True)
    login(people.head)
    assert "Say who the children stay with" in client.get(f"/agreements/{agreement.id}/endorse").get_data(as_text=True)


def test_an_acknowledgement_made_before_a_correction_is_refused_with_the_correction(
        client, people, login, make_agreement):
    agreement = make_agreement(status="active")
    breach = breaches.log(agreement, {"description": "Mr Murphy was at the house", "reported_by": "Neighbour"},
                          NOW, user=people.worker)
    login(people.manager)
    page = client.get(f"/breaches/{breach.id}/acknowledge").get_data(as_text=True)
    seen = re.search(r'name="seen" value="(\d+)"', page).group(1)
    breaches.amend(breach, "CORRECTION: the child was taken to hospital", people.worker, NOW + HOUR)
    typed = {"response": "consequence", "response_notes": "Consequence as stated; Ms Murphy told.", "seen": seen}
    response = client.post(f"/breaches/{breach.id}/acknowledge", data=typed)
    text = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "CORRECTION: the child was taken to hospital" in text and "Sam Worker" in text
    assert "Consequence as stated; Ms Murphy told." in text
    assert Breach.get_by_id(breach.id).acknowledged_at is None
    # Sent again from that page, after reading the correction, it is recorded.
    seen = re.search(r'name="seen" value="(\d+)"', text).group(1)
    assert client.post(f"/breaches/{breach.id}/acknowledge", data={**typed, "seen": seen}).status_code == 302
    assert Breach.get_by_id(breach.id).acknowledged_at is not None


def test_ending_a_record_someone_else_ended_says_who_and_keeps_the_notes(client, people, login, make_agreement):
    agreement = make_agreement(status="active")
    login(people.worker)
    page = client.get(f"/agreements/{agreement.id}/end").get_data(as_text=True)
    opened = re.search(r'name="opened_at" value="([^"]+)"', page).group(1)
    lifecycle.end(fresh(agreement), people.manager, NOW + HOUR, "replaced")
    response = client.post(f"/agreements/{agreement.id}/end", data={"reason": "reviewed_closed", "opened_at": opened,
                                                                     "notes": "Closed at the review with the family"})
    text = response.get_data(as_text=True)
    assert response.status_code == 409 and "Maria Manager" in text and "Closed at the review with the family" in text
