"""A manager filters the dashboard, opens an overdue record, records its review."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.browser.conftest import active_record, assert_accessible, screenshot, sign_in
from tracker.clock import utcnow
from tracker.models import Agreement, Review

pytestmark = pytest.mark.browser


def _active_overdue(people, worker, name, days_overdue):
    agreement = active_record(people, worker, children=[{"name": name, "date_of_birth": dt.date(2016, 3, 3)}],
                              review_at=utcnow() + dt.timedelta(days=30))
    at = utcnow() - dt.timedelta(days=days_overdue)
    Review.update(scheduled_at=at).where(Review.agreement == agreement).execute()
    Agreement.update(next_review_at=at).where(Agreement.id == agreement.id).execute()
    return agreement


def test_manager_filters_opens_and_records_a_review(page, live):
    people = live.people
    mine = _active_overdue(people, people.worker, "Ella Murphy", 3)
    other = _active_overdue(people, people.colleague, "Noah Kowalski", 5)

    sign_in(page, live, people.manager)
    overdue = page.locator("#table-overdue_reviews")
    overdue.wait_for()
    assert mine.reference in overdue.inner_text() and other.reference in overdue.inner_text()
    assert_accessible(page, "dashboard")
    screenshot(page, "10-dashboard")

    page.get_by_label("Social worker").select_option(label="Sam Worker")
    page.wait_for_url(f"**/?*worker={people.worker.id}*")
    page.wait_for_function(f"() => !document.querySelector('#table-overdue_reviews').innerText.includes('{other.reference}')")
    assert mine.reference in page.locator("#table-overdue_reviews").inner_text()
    screenshot(page, "11-dashboard-filtered")

    page.locator("#table-overdue_reviews").get_by_role("link", name=mine.reference).click()
    page.get_by_role("link", name="Record the review").click()
    assert_accessible(page, "review form")
    page.locator("#attendees").fill("Ms Murphy, Sam Worker, Jo Bloggs (school)")
    page.get_by_label("Continue as it is").check()
    next_review = utcnow() + dt.timedelta(days=60)
    page.locator("#next_review_at-day").fill(str(next_review.day))
    page.locator("#next_review_at-month").fill(str(next_review.month))
    page.locator("#next_review_at-year").fill(str(next_review.year))
    page.locator("#next_review_at-time").fill("10:00")
    screenshot(page, "12-review-form")
    page.get_by_role("button", name="Record the review").click()
    page.get_by_text("Review recorded").wait_for()

    page.get_by_role("link", name="Dashboard").click()
    overdue = page.locator("#table-overdue_reviews")
    overdue.wait_for()
    assert mine.reference not in overdue.inner_text()
    assert other.reference in overdue.inner_text()
    screenshot(page, "13-dashboard-after-review")
