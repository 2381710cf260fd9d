"""A worker records an agreement, a manager endorses it, and the printable copy opens."""

from __future__ import annotations

import pytest

from tests.browser.conftest import assert_accessible, screenshot, sign_in
from tracker.models import Agreement, Recipient

pytestmark = pytest.mark.browser


def fill_date(page, prefix: str, day: str, month: str, year: str, time: str | None = None) -> None:
    page.locator(f"#{prefix}-day").fill(day)
    page.locator(f"#{prefix}-month").fill(month)
    page.locator(f"#{prefix}-year").fill(year)
    if time is not None:
        page.locator(f"#{prefix}-time").fill(time)


def test_worker_records_manager_endorses_and_prints(page, live):
    people = live.people
    sign_in(page, live, people.worker)
    assert_accessible(page, "register (empty)")
    screenshot(page, "01-register-empty")

    page.get_by_role("link", name="New agreement").click()
    page.wait_for_url("**/agreements/new/tasks")  # the menu opens the task list; this flow fills the one page
    page.get_by_role("link", name="Fill in everything on one page instead").click()
    assert_accessible(page, "new agreement form")
    page.locator("#children-0-name").fill("Ella Murphy")
    fill_date(page, "children-0-date_of_birth", "4", "5", "2019")
    fill_date(page, "completed_on", "20", "11", "2026")
    page.locator("#purpose").fill("To keep Ella safe at home while her mother works with the family centre.")
    page.locator("#child_views").fill("Ella said she likes going to the park.")
    page.locator("#family_views").fill("Ms Murphy wants Ella to stay at home.")
    page.locator("#actions-0-what").fill("Ms Murphy will take Ella to nursery every weekday.")
    page.locator("#actions-0-who").fill("Ms Murphy")
    page.locator("#actions-0-timescale").fill("Every weekday")

    # A second action row, added in place by htmx.
    page.get_by_role("button", name="Add another action").click()
    page.locator("#actions-1-what").wait_for()
    page.locator("#actions-1-what").fill("The social worker will visit every two weeks.")
    page.locator("#actions-1-who").fill("Social worker")
    page.locator("#actions-1-timescale").fill("Every two weeks")
    assert page.locator("#actions-0-what").input_value().startswith("Ms Murphy")  # nothing typed was lost

    page.locator("#if_things_go_wrong").fill("The social worker will call a meeting within two working days.")
    page.locator("#contingency").fill("Ella will stay with her grandmother.")
    page.locator("#duration").fill("Three months, until the review")
    fill_date(page, "review_at", "15", "1", "2027", "10:00")
    page.locator("#review_venue").fill("Riverside Family Centre")
    page.locator("#parties-0-name").fill("Ms Murphy")

    page.get_by_role("button", name="Add someone to the distribution list").click()
    page.locator("#recipients-0-name").wait_for()
    page.locator("#recipients-0-name").fill("Kim Hale")
    page.locator("#recipients-0-agency_name").fill("Riverside Health Visiting Service")
    page.locator("#recipients-0-agency_kind").select_option("health_visiting")
    page.locator("#recipients-0-email").fill("hv@health.example")
    screenshot(page, "02-agreement-form-filled")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url("**/agreements/*")

    agreement = Agreement.get()
    assert agreement.status == "draft"
    assert page.get_by_role("heading", level=1).inner_text().startswith(agreement.reference)
    assert_accessible(page, "record page")
    screenshot(page, "03-record-draft")
    page.get_by_role("button", name="Send for endorsement").click()
    page.get_by_text("sent to the team manager for endorsement").wait_for()

    page.get_by_role("button", name="Sign out").click()
    sign_in(page, live, people.manager)
    page.goto(f"{live.url}/agreements?status=awaiting_endorsement")
    page.get_by_role("link", name=agreement.reference).click()
    page.get_by_role("link", name="Endorse").click()
    assert_accessible(page, "endorse page")
    screenshot(page, "04-endorse")
    page.get_by_role("button", name="Endorse", exact=True).click()
    page.get_by_text("endorsed and active").wait_for()
    assert Agreement.get_by_id(agreement.id).status == "active"
    assert Recipient.get().copy_sent_at is not None
    screenshot(page, "05-record-active")

    page.get_by_role("link", name="Printable copy").click()
    page.get_by_role("heading", name="Partnership agreement between the Murphy family", exact=False).wait_for()
    assert page.get_by_text("Name of party to the agreement:").count() == 1
    assert page.get_by_text("to the agreement on behalf of Example Council").count() == 1
    assert_accessible(page, "printable copy")
    page.emulate_media(media="print")
    screenshot(page, "06-printable-copy")


def test_bad_input_shows_the_error_summary_and_keeps_values(page, live):
    sign_in(page, live, live.people.worker)
    page.goto(f"{live.url}/agreements/new?kind=undertaking")
    page.locator("#children-0-name").fill("Ben Carter")
    fill_date(page, "children-0-date_of_birth", "31", "2", "2018")
    page.locator("#purpose").fill("Grandmother will keep Ben safe.")
    page.get_by_role("button", name="Save", exact=True).click()
    summary = page.locator(".govuk-error-summary")
    summary.wait_for()
    assert "must be a real date" in summary.inner_text()
    assert page.locator("#children-0-name").input_value() == "Ben Carter"
    assert_accessible(page, "undertaking form with errors")
    screenshot(page, "07-undertaking-errors")


def test_rows_are_added_without_javascript(browser, live):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    sign_in(page, live, live.people.worker)
    page.goto(f"{live.url}/agreements/new?kind=partnership")
    page.locator("#actions-0-what").fill("Typed before adding a row")
    page.get_by_role("button", name="Add another action").click()
    page.locator("#actions-1-what").wait_for()
    assert page.locator("#actions-0-what").input_value() == "Typed before adding a row"
    context.close()
