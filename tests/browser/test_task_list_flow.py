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


def _walk_without_javascript(page, live):
    sign_in(page, live, live.people.worker)
    page.get_by_role("link", name="New agreement").click()  # the menu opens the task list
    page.wait_for_url("**/agreements/new/tasks")
    for title, fill in FILL.items():
        page.get_by_role("link", name=title).click()
        assert page.get_by_role("heading", level=1).inner_text() == title
        for where, text in fill.items():
            (page.locator(where) if where.startswith("#") else page.get_by_label(where)).fill(text)
        with page.expect_navigation():  # wait_for_load_state alone can return before the click's navigation starts
            page.get_by_role("button", name="Save and return to the task list").click()
        assert page.get_by_text(f"{title.lower()} saved").is_visible()
    # No sideways scrolling at 320 px.
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    statuses = page.locator(".govuk-task-list__status").all_inner_texts()
    assert statuses.count("Completed") >= 4, statuses
    # What is not yet complete says what the quality checks still want (one family action, no professional one).
    assert page.locator(".govuk-task-list__hint").count() == statuses.count("In progress") >= 1
    tasks_url = page.url
    page.get_by_role("link", name="Check your answers").click()
    assert page.get_by_text("Ella Murphy").first.is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    check_url = page.url
    section_url = tasks_url.replace("/tasks", "/sections/actions")
    with page.expect_navigation():  # wait_for_load_state alone can return before the click's navigation starts
        page.get_by_role("button", name="Send for endorsement").click()
    assert Agreement.get().status == "awaiting_endorsement"
    return tasks_url, check_url, section_url


def test_a_new_agreement_section_by_section_without_javascript_at_320px_and_axe_clean(no_js_phone, browser, live):
    tasks_url, check_url, section_url = _walk_without_javascript(no_js_phone, live)
    # axe runs as script, so it reads the same pages in a 320 px phone with JavaScript on.
    Agreement.update(status="draft").execute()  # back to the task list's state, to read its pages again
    context = browser.new_context(viewport={"width": 320, "height": 740})
    page = context.new_page()
    try:
        sign_in(page, live, live.people.worker)
        for url in (tasks_url, section_url, check_url):
            page.goto(url)
            assert page.evaluate("document.documentElement.scrollWidth") <= 320, url
            assert_accessible(page, url)
    finally:
        context.close()
