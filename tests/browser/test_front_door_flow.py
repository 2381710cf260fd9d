"""At a phone's size (390 px): an urgent breach with only "what happened" is saved
and alerted at once; a manager closes a child's case on the closure page."""

from __future__ import annotations

import pytest

from tests.browser.conftest import active_record, assert_accessible, screenshot, sign_in
from tracker.models import Agreement, Breach, Notification

pytestmark = pytest.mark.browser


@pytest.fixture
def phone_390(browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def test_urgent_breach_with_only_what_happened_is_saved_and_alerted_on_a_phone(phone_390, live):
    page, people = phone_390, live.people
    agreement = active_record(people)
    sign_in(page, live, people.worker)
    page.goto(f"{live.url}/agreements/{agreement.id}/breaches/new")
    page.get_by_label("Yes").check()
    page.get_by_label("What happened").fill("Dad is at the house shouting; the children are inside.")
    assert page.get_by_label("Who reported it").input_value() == ""
    page.get_by_role("button", name="Log the breach").click()
    page.get_by_role("heading", name="Call 999 now").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing runs off a phone's screen
    assert_accessible(page, "urgent breach logged (390 px)")
    screenshot(page, "40-urgent-breach-390")
    breach = Breach.get()
    assert breach.immediate_risk and breach.description.startswith("Dad is at the house")
    assert breach.not_given == "reported_by"
    alerts = Notification.select().where(Notification.kind == "breach_alert")
    assert {people.worker.email, people.manager.email} <= {n.to_address for n in alerts}
    assert all(n.subject.startswith("URGENT") for n in alerts)
    page.goto(f"{live.url}/agreements/{agreement.id}#breaches")
    assert "Not given" in page.locator(f"#breach-{breach.id}").inner_text()


def test_manager_closes_a_case_on_a_phone(phone_390, live):
    page, people = phone_390, live.people
    agreement = active_record(people)
    child_id = agreement.child_links.get().child_id
    sign_in(page, live, people.manager)
    page.goto(f"{live.url}/children/{child_id}/close")
    page.get_by_role("button", name="Close the case").click()
    page.get_by_role("link", name=f"Choose what happens to {agreement.reference}").wait_for()
    assert_accessible(page, "close a case with errors (390 px)")
    page.get_by_label("Replace it with a closure undertaking").check()
    page.get_by_label("If replacing it: how many weeks").fill("6")
    page.get_by_role("button", name="Close the case").click()
    page.get_by_text("case is closed").wait_for()
    assert_accessible(page, "closure undertaking (390 px)")
    screenshot(page, "41-closure-undertaking-390")
    made = Agreement.get((Agreement.undertaking_kind == "closure"))
    assert made.status == "awaiting_endorsement" and made.social_worker_id is None and made.closure_weeks == 6
    assert Agreement.get_by_id(agreement.id).end_reason == "replaced"
