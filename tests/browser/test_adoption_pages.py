"""A service manager answers a subject access request (found by identity, approved by a second
service manager) and decides on a record past its retention date, with axe."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import active_record, assert_accessible, sign_in
from tracker.clock import utcnow
from tracker.governance import retention
from tracker.models import Agreement, Tombstone
from tracker.people.accounts import create_user
from tracker.records import lifecycle

pytestmark = pytest.mark.browser


def test_subject_access_and_retention_pages(page, live):
    people = live.people
    current = active_record(people)
    old = active_record(people, children=[{"name": "Oliver Grant", "date_of_birth": dt.date(1995, 1, 1)}])
    lifecycle.end(Agreement.get_by_id(old.id), people.manager, utcnow(), "reviewed_closed")
    retention.stamp(utcnow())

    def find_ella():
        page.get_by_role("link", name="Subject access").click()
        page.get_by_label("Name of the child, or of the parent or carer").fill("Ella Murphy")
        for part, value in (("day", "4"), ("month", "5"), ("year", "2019")):
            page.locator(f"#born-{part}").fill(value)
        page.get_by_role("button", name="Find").click()
        page.get_by_role("link", name="Ella Murphy, born 4 May 2019").click()
        assert current.reference in page.content()
        page.get_by_label(re.compile(re.escape(current.reference))).check()
        expect(page.get_by_label("Contact details of Jo Bloggs, Riverside Primary School (dsl@school.example)")).to_be_checked()

    # A second service manager approves exactly this selection first; the releaser cannot approve their own.
    second = create_user("head2@council.example", "Hari Head", "correct-horse-battery", "service_manager", None)
    sign_in(page, live, second)
    find_ella()
    assert_accessible(page, "subject access preview")
    page.get_by_role("button", name="Approve this release").click()
    assert_accessible(page, "subject access approved")
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, live, people.head)
    page.get_by_role("link", name="Subject access").click()
    page.wait_for_url("**/subject-access/")
    assert_accessible(page, "subject access search")
    find_ella()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the ZIP of JSON").click()
    assert download.value.suggested_filename == "subject-access-ella-murphy.zip"

    page.get_by_role("link", name="Retention").click()
    page.wait_for_url("**/retention/")
    assert_accessible(page, "retention list")
    page.get_by_role("link", name=f"Decide on {old.reference}").click()
    page.wait_for_url(f"**/retention/{old.id}")
    page.get_by_label("Destroy it").check()
    page.get_by_label("Reason").fill("Retention policy 4.2")
    expect(page.get_by_label("Destroy it")).to_be_checked()
    expect(page.get_by_label("Reason")).to_have_value("Retention policy 4.2")
    page.get_by_role("button", name="Record the decision").click()
    # The answer to the post: wait for it rather than read the page mid-navigation.
    expect(page.locator("#confirm-error")).to_contain_text("Type the reference")
    assert_accessible(page, "retention decision with an error")
    assert Agreement.get_or_none(Agreement.id == old.id) is not None
    page.get_by_label(f"To destroy, type the reference {old.reference}").fill(old.reference)
    page.get_by_role("button", name="Record the decision").click()
    page.get_by_text(f"{old.reference} has been destroyed").wait_for()
    assert Tombstone.get(Tombstone.reference == old.reference).reason == "Retention policy 4.2"
