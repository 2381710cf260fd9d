"""The agency's copy in a browser: read, print (print media hides the controls), and an old link asks for a new one."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.browser.conftest import active_record, assert_accessible, screenshot
from tracker.agencies import tokens
from tracker.models import Agreement, Notification, Recipient
from tracker.web import ratelimit

pytestmark = pytest.mark.browser


def test_agency_reads_prints_and_renews_its_copy(page, live):
    ratelimit.reset()
    agreement = active_record(live.people)
    recipient = Recipient.get(Recipient.agreement == agreement)
    url = f"{live.url}/a/{tokens.token_for(recipient)}"
    page.goto(url)
    page.get_by_role("heading", name="The partnership agreement in full").wait_for()
    assert_accessible(page, "agency copy in full")
    screenshot(page, "30-agency-copy-in-full")
    download = page.get_by_role("link", name="Download your copy (PDF)")
    assert download.get_attribute("href").endswith("/copy.pdf")

    # Printed, the page is the copy: no buttons, no header.
    page.emulate_media(media="print")
    assert not page.get_by_role("button", name="I have received my copy").is_visible()
    assert not download.is_visible()
    assert page.get_by_role("heading", name="What each person will do").is_visible()
    assert page.get_by_text("Ella Murphy").first.is_visible()
    screenshot(page, "31-agency-copy-printed")
    page.emulate_media(media="screen")

    # The link expires; the agency asks for a new one, by keyboard.
    Agreement.update(endorsed_at=agreement.endorsed_at - dt.timedelta(days=200)).where(
        Agreement.id == agreement.id).execute()
    Recipient.update(link_issued_at=agreement.endorsed_at - dt.timedelta(days=200)).where(
        Recipient.id == recipient.id).execute()
    page.goto(url)
    page.get_by_role("heading", name="This link has stopped working").wait_for()
    assert page.get_by_text("Ella Murphy").count() == 0
    assert_accessible(page, "agency stopped link")
    page.get_by_role("button", name="Email me a new link").focus()
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Check your email").wait_for()
    assert_accessible(page, "agency new link asked for")
    email = Notification.get(Notification.kind == "agency_link")
    assert email.to_address == recipient.email
    fresh = email.body_text.split(live.url, 1)[1].split()[0]
    page.goto(live.url + fresh)
    page.get_by_role("heading", name="Your copy, Jo Bloggs").wait_for()
