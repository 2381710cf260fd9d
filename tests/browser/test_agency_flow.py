"""At a phone's size: an agency acknowledges, reports and logs a breach; a worker logs one fast."""

from __future__ import annotations

import pytest

from tests.browser.conftest import active_record, assert_accessible, screenshot, sign_in
from tracker.agencies import tokens
from tracker.models import AgencyReport, Breach, Notification, Recipient
from tracker.web import ratelimit

pytestmark = pytest.mark.browser


def test_agency_acknowledges_reports_and_logs_a_breach_on_a_phone(phone, live):
    ratelimit.reset()
    agreement = active_record(live.people)
    recipient = Recipient.get(Recipient.agreement == agreement)
    phone.goto(f"{live.url}/a/{tokens.token_for(recipient)}")
    phone.get_by_role("heading", name="Your copy, Jo Bloggs").wait_for()
    assert_accessible(phone, "agency copy page (phone)")
    screenshot(phone, "20-agency-copy-phone")

    phone.get_by_role("button", name="I have received my copy").click()
    phone.get_by_text("Your copy is acknowledged").wait_for()
    assert Recipient.get_by_id(recipient.id).acknowledged_at is not None

    phone.get_by_role("link", name="Send your report").click()
    assert_accessible(phone, "agency report form (phone)")
    phone.get_by_label("A written report").check()
    phone.get_by_label("Your report").fill("Ella has been in school every day and seems happy.")
    screenshot(phone, "21-agency-report-phone")
    phone.get_by_role("button", name="Send").click()
    phone.get_by_text("The social worker has your reply").wait_for()
    assert AgencyReport.get().body.startswith("Ella has been in school")

    phone.get_by_role("link", name="Report a breach").click()
    assert_accessible(phone, "agency breach form (phone)")
    assert phone.locator("main .app-urgent-banner").first.inner_text().startswith("If anyone is at immediate risk")
    phone.get_by_label("Yes").check()
    phone.get_by_label("What happened").fill("Ella said her dad stayed over last night.")
    screenshot(phone, "22-agency-breach-phone")
    phone.get_by_role("button", name="Report the breach").click()
    phone.get_by_role("heading", name="Call 999 now").wait_for()
    assert_accessible(phone, "agency breach reported (phone)")
    screenshot(phone, "23-agency-breach-reported-phone")
    breach = Breach.get()
    assert breach.immediate_risk and breach.reported_by == "Jo Bloggs, Riverside Primary School"
    assert Notification.select().where(Notification.kind == "breach_alert").count() == 2


def test_worker_logs_a_breach_by_phone_call_quickly(phone, live):
    agreement = active_record(live.people)
    sign_in(phone, live, live.people.worker)
    phone.goto(f"{live.url}/breaches/new")
    assert_accessible(phone, "find a record for a breach (phone)")
    phone.get_by_label("Child's name or reference").fill("Ella")
    phone.get_by_role("link", name=f"Ella Murphy: {agreement.reference}").click()
    assert_accessible(phone, "staff breach form (phone)")
    phone.get_by_label("No").check()
    phone.get_by_label("What happened").fill("Mum phoned: Ella missed nursery today.")
    phone.get_by_label("Who reported it").fill("Ms Murphy, by phone")
    phone.get_by_role("button", name="Log the breach").click()
    phone.get_by_role("heading", name="Breach logged").wait_for()
    screenshot(phone, "24-staff-breach-logged-phone")
    assert Breach.get().reported_by == "Ms Murphy, by phone"
