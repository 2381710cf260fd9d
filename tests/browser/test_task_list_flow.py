"""Issue 22: the new agreement, section by section from its task list, with JavaScript off, on a 320 px phone."""

from __future__ import annotations

import pytest

from tests.browser.conftest import assert_accessible, sign_in
from tracker.models import Agreement

pytestmark = pytest.mark.browser

# What each section's page is given, by the labels a person reads.
FILL = {
    "The child": {"Child's full name": "Ella Murphy", "#children-0-date_of_birth-day": "4",
                  "#children-0-date_of_birth-month": "5", "#children-0-date_of_birth-year": "2019",
                  "#completed_on-day": "20", "#completed_on-month": "11", "#completed_on-year": "2026"},
    "Why this agreement is needed": {"#purpose": "To keep Ella safe at home while her mother works with the family centre.",
                                     "#child_views": "Ella said she likes going to the park with her mum.",
                                     "#family_views": "Ms Murphy wants Ella to stay at home."},
    "Actions agreed": {"#actions-0-what": "Ms Murphy will take Ella to nursery every weekday.",
                       "#actions-0-who": "Ms Murphy", "#actions-0-timescale": "Every weekday"},
    "If things go wrong, and the contingency plan": {
        "#if_things_go_wrong": "The social worker will call a meeting within two working days.",
        "#contingency": "Ella will stay with her grandmother."},
    "Duration and review": {"#duration": "3 months", "#review_at-day": "15", "#review_at-month": "1",
                            "#review_at-year": "2027", "#review_at-time": "10:00", "#review_venue": "Riverside Family Centre"},
    "Parties to the agreement": {"#parties-0-name": "Ms Murphy", "#parties-0-role": "Mother"},
}


@pytest.fixture
def no_js_phone(browser):
    context = browser.new_context(viewport={"width": 320, "height": 740}, java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def test_a_new_agreement_section_by_section_without_javascript_at_320px(no_js_phone, live):
    page = no_js_phone
    sign_in(page, live, live.people.worker)
    page.goto(f"{live.url}/agreements/new/tasks")
    assert_accessible(page, "task list, nothing started")
    for title, fill in FILL.items():
        page.get_by_role("link", name=title).click()
        assert page.get_by_role("heading", level=1).inner_text() == title
        for where, text in fill.items():
            (page.locator(where) if where.startswith("#") else page.get_by_label(where)).fill(text)
        page.get_by_role("button", name="Save and return to the task list").click()
        page.wait_for_load_state()
        assert page.get_by_text(f"{title.lower()} saved").is_visible()
    # No sideways scrolling at 320 px.
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    statuses = page.locator(".govuk-task-list__status").all_inner_texts()
    assert statuses.count("Completed") >= 5, statuses
    assert_accessible(page, "task list, most sections done")
    page.get_by_role("link", name="Check your answers").click()
    assert page.get_by_text("Ella Murphy").first.is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    assert_accessible(page, "check your answers")
    page.get_by_role("button", name="Send for endorsement").click()
    page.wait_for_load_state()
    assert Agreement.get().status == "awaiting_endorsement"
