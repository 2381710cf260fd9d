"""Versions in a real browser: a variation stays a draft until endorsed; two people
editing one record never overwrite each other; return to the worker, then resubmit."""

from __future__ import annotations

import pytest

from tests.browser.conftest import active_record, assert_accessible, screenshot, sign_in
from tests.conftest import agreement_data
from tracker.agencies import tokens
from tracker.clock import utcnow
from tracker.models import Agreement, Recipient
from tracker.records import drafting, lifecycle
from tracker.web import ratelimit

pytestmark = pytest.mark.browser

OLD = "Ms Murphy will take Ella to nursery every weekday."
NEW = "Sarah may leave the children with Mark for up to an hour."


def test_a_variation_comes_into_force_only_when_a_manager_endorses_it(browser, page, live):
    ratelimit.reset()
    people = live.people
    agreement = active_record(people)
    recipient = Recipient.get(Recipient.agreement == agreement)
    agency = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    agency_url = f"{live.url}/a/{tokens.token_for(recipient)}"
    agency.goto(agency_url)
    agency.get_by_role("button", name="I have received my copy").click()
    agency.get_by_text("Your copy is acknowledged").wait_for()

    sign_in(page, live, people.worker)
    page.goto(f"{live.url}/agreements/{agreement.id}")
    page.get_by_role("link", name="Change").click()
    page.locator("#variation-notice").wait_for()
    page.locator("#actions-0-what").fill(NEW)
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_text("saved as a draft of version 2").wait_for()
    assert "Variation in progress" in page.content()

    # The agency still reads the endorsed version.
    agency.goto(agency_url)
    assert OLD in agency.content() and NEW not in agency.content()

    page.get_by_role("button", name="Send the variation for endorsement").click()
    page.get_by_text("sent to the team manager for endorsement").wait_for()
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, live, people.manager)
    queue = page.locator("#table-endorsement_queue")
    queue.get_by_role("link", name=agreement.reference).click()
    page.get_by_role("heading", name="What changes from version 1").wait_for()
    assert NEW in page.locator("#differences").inner_text()
    assert_accessible(page, "endorse a variation")
    screenshot(page, "30-endorse-variation")
    page.get_by_role("button", name="Endorse", exact=True).click()
    page.get_by_text("version 2 is in force").wait_for()
    assert Agreement.get_by_id(agreement.id).version == 2

    # The agency now reads version 2 and is asked to acknowledge it.
    agency.goto(agency_url)
    assert NEW in agency.content()
    agency.get_by_role("button", name="I have received my copy").wait_for()
    agency.context.close()


def test_two_people_editing_one_record_the_second_gets_409_with_typing_kept(browser, live):
    people = live.people
    draft = drafting.save(None, "partnership", agreement_data(social_worker=people.worker.id), people.worker, utcnow())
    contexts = [browser.new_context(viewport={"width": 1280, "height": 900}) for _ in range(2)]
    first, second = (c.new_page() for c in contexts)
    sign_in(first, live, people.worker)
    sign_in(second, live, people.manager)
    for p in (first, second):
        p.goto(f"{live.url}/agreements/{draft.id}/edit")
    first.locator("#purpose").fill("The first person's purpose.")
    first.get_by_role("button", name="Save", exact=True).click()
    first.get_by_text(f"{draft.reference} saved").wait_for()

    second.locator("#purpose").fill("The second person's purpose.")
    with second.expect_response(lambda r: r.request.method == "POST" and "/drafts" not in r.url) as answer:  # not the autosave
        second.get_by_role("button", name="Save", exact=True).click()
    assert answer.value.status == 409
    second.get_by_role("heading", name="Someone changed this record after you opened this page").wait_for()
    assert second.locator("#purpose").input_value() == "The second person's purpose."
    assert "The first person" in second.locator("#changed-since").inner_text()
    assert_accessible(second, "409: the record changed")
    screenshot(second, "31-edit-conflict")
    assert Agreement.get_by_id(draft.id).purpose == "The first person's purpose."
    for c in contexts:
        c.close()


def test_return_to_the_worker_then_resubmit(page, live):
    people = live.people
    draft = drafting.save(None, "partnership", agreement_data(social_worker=people.worker.id), people.worker, utcnow())
    lifecycle.submit(draft, people.worker, utcnow())

    sign_in(page, live, people.manager)
    page.goto(f"{live.url}/agreements/{draft.id}/endorse")
    page.get_by_label("Comments for the social worker").fill("Say who takes Ella to nursery on Fridays.")
    page.get_by_role("button", name="Return to the social worker").click()
    page.get_by_text("returned to the social worker with your comments").wait_for()
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, live, people.worker)
    page.locator("#table-my_drafts").get_by_role("link", name=draft.reference).click()
    page.locator("#returned").get_by_text("on Fridays").wait_for()
    assert_accessible(page, "record returned to the worker")
    page.get_by_role("link", name="Change").click()
    page.locator("#actions-0-timescale").fill("Every weekday; her grandmother on Fridays")
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_role("button", name="Send for endorsement again").click()
    page.get_by_text("sent to the team manager for endorsement").wait_for()
    assert Agreement.get_by_id(draft.id).status == "awaiting_endorsement"
