"""What the emails say: plain language, the reference and initials, a link, never a full name with a date of birth."""

from __future__ import annotations

import datetime as dt

from jobs import sweeps
from tests.conftest import NOW
from tracker.models import Breach, Notification
from tracker.notices import ics, mailings

REVIEW = dt.datetime(2027, 1, 15, 10, 0)
DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)




def test_every_kind_names_the_record_and_initials_but_not_the_child(make_agreement, every_kind):
    rows = every_kind(make_agreement)
    kinds = {n.kind for n in rows}
    assert kinds >= {"family_link", "family_callback", "family_unread", "copy_issued", "copy_chase", "breach_alert", "breach_escalation", "undertaking_warning",
                     "undertaking_escalation", "digest", "report_request", "review_reminder", "report_prompt",
                     "report_summary", "review_overdue"}
    for n in rows:
        for text in (n.subject, n.body_text, n.body_html):
            assert "Ella" not in text and "Murphy" not in text, (n.kind, text)
            assert "2019" not in text, n.kind  # no date of birth
        if n.kind == "family_link":  # to the family: nothing that says whose record it is (R20)
            assert "EM" not in n.subject and "PA-" not in n.subject and "PA-" not in n.body_text, n.subject
        elif n.kind != "digest":  # a digest is about a whole team
            assert "(EM)" in n.subject and ("PA-" in n.subject or "WU-" in n.subject), n.subject
        assert n.body_html.lstrip().startswith("<!DOCTYPE html>")


def test_staff_emails_link_to_the_record(make_agreement, every_kind):
    rows = every_kind(make_agreement)
    for n in rows:
        if n.to_address.endswith("@council.example"):
            assert "http://tracker.test/agreements/" in n.body_text, n.kind
            assert 'href="http://tracker.test/agreements/' in n.body_html, n.kind


def test_agency_emails_name_the_social_worker_and_carry_the_agencys_link(make_agreement):
    make_agreement(status="active")
    sweeps.report_requests(REVIEW - 10 * DAY)
    request = Notification.get(Notification.kind == "report_request")
    assert "The social worker is Sam Worker" in request.body_text
    assert "by 12 January 2027 at 10am" in request.body_text
    assert "http://tracker.test/a/" in request.body_text and 'href="http://tracker.test/a/' in request.body_html
    assert "call 999" in request.body_text


def test_immediate_risk_is_urgent_in_the_subject(make_agreement):
    agreement = make_agreement(status="active")
    calm = Breach.create(agreement=agreement, occurred_at=NOW, description="x", reported_by="A", created_at=NOW)
    risk = Breach.create(agreement=agreement, occurred_at=NOW, description="x", reported_by="B", created_at=NOW,
                         immediate_risk=True)
    mailings.breach_alert(calm, NOW)
    mailings.breach_alert(risk, NOW)
    subjects = {n.key.split("/")[1]: n.subject for n in Notification.select().where(Notification.kind == "breach_alert")}
    assert subjects[str(risk.id)].startswith("URGENT") and not subjects[str(calm.id)].startswith("URGENT")


def test_review_reminder_carries_the_meeting_invitation(make_agreement):
    make_agreement(status="active")
    sweeps.review_reminders(REVIEW - 7 * DAY)
    event = ics.parse(Notification.get(Notification.kind == "review_reminder").ics)
    assert event["METHOD"] == "REQUEST" and event["UID"].startswith("review-") and event["UID"].endswith("@tracker.test")
    assert event["LOCATION"] == "Riverside Family Centre" and "EM" in event["SUMMARY"]


def test_a_late_reminder_says_the_real_time_to_the_review(make_agreement):
    from tracker.models import Notification

    make_agreement(status="active")
    sweeps.review_reminders(REVIEW - 2 * DAY)  # the 7-day moment has passed: the runner catches up
    subjects = {n.subject for n in Notification.select().where(Notification.kind == "review_reminder")}
    assert subjects and all(" in 2 days, on " in s for s in subjects), subjects
    sweeps.review_reminders(REVIEW - 20 * HOUR)
    later = {n.subject for n in Notification.select().where(Notification.kind == "review_reminder")} - subjects
    assert later and all(" tomorrow at " in s for s in later), later
