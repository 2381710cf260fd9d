"""The sweeps: each at its edges, idempotent, and silent for what has moved, been held or ended."""

from __future__ import annotations

import datetime as dt

from jobs import sweeps
from jobs.delivery import deliver_pending
from tests.conftest import NOW, agreement_data
from tracker import rules
from tracker.db import database
from tracker.models import AgencyReport, Agreement, Breach, Notification, Recipient, Review
from tracker.notices import mailings
from tracker.records import decisions, drafting, lifecycle

REVIEW = dt.datetime(2027, 1, 15, 10, 0)  # the review in agreement_data, UTC
MINUTE = dt.timedelta(minutes=1)
DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)


def queued(kind: str) -> list[Notification]:
    return list(Notification.select().where(Notification.kind == kind).order_by(Notification.id))


def addresses(kind: str) -> list[str]:
    return sorted(n.to_address for n in queued(kind))


# --- review reminders and overdue notices (R2) --------------------------------

def test_review_reminders_go_at_7_days_and_1_day_to_worker_and_manager(make_agreement, people):
    make_agreement(status="active")
    assert sweeps.review_reminders(REVIEW - 7 * DAY - MINUTE) == 0
    assert sweeps.review_reminders(REVIEW - 7 * DAY) == 2
    assert addresses("review_reminder") == ["manager@council.example", "worker@council.example"]
    assert sweeps.review_reminders(REVIEW - 7 * DAY + HOUR) == 0  # idempotent
    assert sweeps.review_reminders(REVIEW - DAY - MINUTE) == 0
    assert sweeps.review_reminders(REVIEW - DAY) == 2
    assert len(queued("review_reminder")) == 4
    assert sweeps.review_reminders(REVIEW + MINUTE) == 0  # the review has started


def test_a_runner_down_across_both_moments_sends_one_reminder(make_agreement):
    make_agreement(status="active")
    assert sweeps.review_reminders(REVIEW - 12 * HOUR) == 2
    assert all("/reminder-1d/" in n.key for n in queued("review_reminder"))


def test_overdue_notice_the_day_after_an_unrecorded_review(make_agreement):
    make_agreement(status="active")
    assert sweeps.overdue_reviews(REVIEW + DAY - MINUTE) == 0
    assert sweeps.overdue_reviews(REVIEW + DAY) == 2
    assert sweeps.overdue_reviews(REVIEW + 3 * DAY) == 0


def test_moved_review_replans_its_reminders(make_agreement, people):
    agreement = make_agreement(status="active")
    sweeps.review_reminders(REVIEW - 7 * DAY)
    old_keys = {n.key for n in queued("review_reminder")}
    moved = REVIEW + 14 * DAY
    data = drafting.form_data(agreement)  # the record as its edit page shows it, rows and all
    data["review_at"] = moved
    drafting.save(agreement, "partnership", data, people.worker, REVIEW - 7 * DAY + MINUTE)
    report = deliver_pending(REVIEW - 7 * DAY + 2 * MINUTE)
    cancelled = Notification.select().where(Notification.key.in_(old_keys))
    assert {n.status for n in cancelled} == {"cancelled"}  # the old date's reminders never go
    assert report.cancelled == 2
    assert "moved" in cancelled[0].last_error
    assert sweeps.review_reminders(REVIEW) == 0  # nothing for the old date
    assert sweeps.review_reminders(moved - 7 * DAY) == 2
    fresh = [n for n in queued("review_reminder") if n.key not in old_keys]
    assert len(fresh) == 2 and all(n.status == "pending" for n in fresh)
    deliver_pending(moved - 7 * DAY)
    assert {Notification.get_by_id(n.id).status for n in fresh} == {"sent"}


def test_held_or_cancelled_review_and_ended_agreement_send_nothing(make_agreement, people):
    held = make_agreement(status="active")
    Review.update(status="held").where(Review.agreement == held).execute()
    cancelled = make_agreement(status="active")
    Review.update(status="cancelled").where(Review.agreement == cancelled).execute()
    ended = make_agreement(status="active")
    lifecycle.end(ended, people.manager, NOW, "reviewed_closed")
    for moment in (REVIEW - 10 * DAY, REVIEW - 7 * DAY, REVIEW - 3 * DAY, REVIEW - DAY, REVIEW + DAY):
        counts = sweeps.run_sweeps(moment)
        # The two active agreements' copies are still chased (R9); nothing about their reviews goes.
        assert {k: v for k, v in counts.items() if v and k not in ("team digests", "copy chases")} == {}, moment
    assert {n.kind for n in Notification.select()} <= {"copy_issued", "copy_chase", "digest"}


# --- agency reports (R3) -------------------------------------------------------

def test_agency_report_request_when_the_window_opens(make_agreement):
    make_agreement(status="active")
    assert sweeps.report_requests(REVIEW - 10 * DAY - MINUTE) == 0
    assert sweeps.report_requests(REVIEW - 10 * DAY) == 1
    assert addresses("report_request") == ["dsl@school.example"]
    assert sweeps.report_requests(REVIEW - 9 * DAY) == 0


def test_prompt_to_agencies_yet_to_answer_and_summary_to_the_worker(make_agreement, people):
    recipients = agreement_data()["recipients"] + [
        {"name": "Pat Nurse", "agency_name": "Health visiting", "agency_kind": "health_visiting", "role": "Health visitor",
         "email": "hv@nhs.example", "breach_contact": False},
    ]
    agreement = make_agreement(status="active", recipients=recipients)
    review = Review.get(Review.agreement == agreement)
    school = Recipient.get(Recipient.email == "dsl@school.example")
    AgencyReport.create(review=review, recipient=school, nothing_to_share=True, submitted_at=NOW)
    assert sweeps.report_prompts(REVIEW - 3 * DAY - MINUTE) == 0
    assert sweeps.report_prompts(REVIEW - 3 * DAY) == 2
    assert addresses("report_prompt") == ["hv@nhs.example"]
    summary = queued("report_summary")
    assert [n.to_address for n in summary] == ["worker@council.example"]
    assert "Not yet reported (1)" in summary[0].body_text
    assert "Health visiting" in summary[0].body_text.split("Reported or nothing")[0]
    assert "Riverside Primary School" in summary[0].body_text.split("Reported or nothing")[1]
    assert sweeps.report_prompts(REVIEW - 2 * DAY) == 0


def test_unacknowledged_copy_is_chased_once(make_agreement):
    make_agreement(status="active")
    chase_at = NOW + 5 * DAY
    assert sweeps.copy_chases(chase_at - MINUTE) == 0
    assert sweeps.copy_chases(chase_at) == 1
    assert sweeps.copy_chases(chase_at + DAY) == 0
    recipient = Recipient.get()
    assert recipient.chase_at is None and recipient.chased_at == chase_at


def test_acknowledged_copy_is_not_chased(make_agreement):
    make_agreement(status="active")
    Recipient.update(acknowledged_at=NOW + DAY).execute()
    assert sweeps.copy_chases(NOW + 5 * DAY) == 0
    assert Recipient.get().chase_at is None  # and it is not read again


# --- the undertaking ladder (R4) -----------------------------------------------

def test_undertaking_ladder_warns_escalates_and_adds_the_service_manager(make_agreement, people):
    undertaking = make_agreement(kind="undertaking", status="active")
    ends = undertaking.window_ends_at
    assert sweeps.undertaking_ladder(ends - 2 * HOUR - MINUTE) == 0
    assert sweeps.undertaking_ladder(ends - 2 * HOUR) == 2
    assert addresses("undertaking_warning") == ["manager@council.example", "worker@council.example"]
    assert sweeps.undertaking_ladder(ends - MINUTE) == 0
    assert sweeps.undertaking_ladder(ends) == 2
    assert addresses("undertaking_escalation") == ["manager@council.example", "worker@council.example"]
    assert sweeps.undertaking_ladder(ends + 4 * HOUR - MINUTE) == 0
    assert sweeps.undertaking_ladder(ends + 4 * HOUR) == 3
    rung2 = [n.to_address for n in queued("undertaking_escalation") if "/rung-2/" in n.key]
    assert sorted(rung2) == ["head@council.example", "manager@council.example", "worker@council.example"]
    assert sweeps.undertaking_ladder(ends + 4 * HOUR) == 0
    agreement = Agreement.get_by_id(undertaking.id)
    assert agreement.escalation_level == 2 and agreement.next_escalation_at == ends + 8 * HOUR


def test_ladder_goes_to_the_front_door_when_no_worker_is_named(make_agreement, people):
    undertaking = make_agreement(kind="undertaking", status="active")
    Agreement.update(social_worker=None).where(Agreement.id == undertaking.id).execute()
    assert sweeps.undertaking_ladder(undertaking.window_ends_at) == 2
    assert addresses("undertaking_escalation") == ["front-door@council.example", "manager@council.example"]
    assert "front door has been told" in queued("undertaking_escalation")[0].body_text


def test_a_runner_down_for_hours_sends_the_current_rung_only(make_agreement):
    undertaking = make_agreement(kind="undertaking", status="active")
    assert sweeps.undertaking_ladder(undertaking.window_ends_at + 9 * HOUR) == 3
    assert {n.key.split("/")[3] for n in queued("undertaking_escalation")} == {"rung-3"}
    assert queued("undertaking_warning") == []


def test_a_decision_stops_the_ladder(make_agreement, people):
    ended = make_agreement(kind="undertaking", status="active")
    sweeps.undertaking_ladder(ended.window_ends_at - 2 * HOUR)
    lifecycle.end(ended, people.manager, ended.window_ends_at - HOUR, "replaced")
    deliver_pending(ended.window_ends_at - HOUR)
    assert {n.status for n in queued("undertaking_warning")} == {"cancelled"}
    assert sweeps.undertaking_ladder(ended.window_ends_at + DAY) == 0


def test_an_extension_by_a_manager_restarts_the_ladder_from_the_new_end(make_agreement, people):
    undertaking = make_agreement(kind="undertaking", status="active")
    ends = undertaking.window_ends_at
    sweeps.undertaking_ladder(ends)
    new_end = ends + DAY
    decisions.extend_undertaking(undertaking, people.manager, new_end, "Strategy meeting on Friday", ends + HOUR)
    agreement = Agreement.get_by_id(undertaking.id)
    assert agreement.next_escalation_at == new_end - 2 * HOUR and agreement.escalation_level == 0
    deliver_pending(ends + HOUR)
    assert {n.status for n in queued("undertaking_escalation")} == {"cancelled"}
    assert sweeps.undertaking_ladder(ends + 4 * HOUR) == 0
    assert sweeps.undertaking_ladder(new_end) == 2


def test_only_a_manager_can_extend_and_must_give_a_reason(make_agreement, people):
    undertaking = make_agreement(kind="undertaking", status="active")
    for user, reason in ((people.worker, "A reason"), (people.manager, "  ")):
        try:
            decisions.extend_undertaking(undertaking, user, undertaking.window_ends_at + DAY, reason, NOW)
        except rules.RuleBroken:
            pass
        else:
            raise AssertionError("extension allowed")
    assert Agreement.get_by_id(undertaking.id).window_ends_at == undertaking.window_ends_at


# --- breaches (R5) ---------------------------------------------------------------

def _breach(agreement, **values) -> Breach:
    return Breach.create(agreement=agreement, occurred_at=NOW, description="He came to the house.",
                         reported_by="Jo Bloggs, school", created_at=NOW, **values)


def test_breach_alert_is_queued_in_the_callers_transaction(make_agreement, people):
    agreement = make_agreement(status="active")
    with database.atomic():
        breach = _breach(agreement, immediate_risk=True)
        assert mailings.breach_alert(breach, NOW) == 2
    alerts = queued("breach_alert")
    assert sorted(n.to_address for n in alerts) == ["manager@council.example", "worker@council.example"]
    assert alerts[0].subject.startswith("URGENT")
    assert alerts[0].next_attempt_at == NOW  # the next delivery pass, within a minute


def test_breach_alert_rolls_back_with_the_breach(make_agreement):
    agreement = make_agreement(status="active")
    try:
        with database.atomic():
            mailings.breach_alert(_breach(agreement), NOW)
            raise RuntimeError("the form failed after the alert")
    except RuntimeError:
        pass
    assert queued("breach_alert") == [] and Breach.select().count() == 0


def test_breach_with_no_response_is_escalated_once(make_agreement, people):
    agreement = make_agreement(status="active")
    _breach(agreement, escalate_at=NOW + DAY)
    answered = _breach(agreement, escalate_at=NOW + DAY, response="strategy_discussion")
    assert sweeps.breach_escalations(NOW + DAY - MINUTE) == 0
    assert sweeps.breach_escalations(NOW + DAY) == 2
    assert addresses("breach_escalation") == ["head@council.example", "manager@council.example"]
    assert sweeps.breach_escalations(NOW + 2 * DAY) == 0
    assert Breach.get_by_id(answered.id).escalate_at is None


# --- the managers' digest ----------------------------------------------------------

def test_digest_only_when_there_is_something_and_once_a_day(make_agreement, people):
    morning = dt.datetime(2026, 11, 26, 7, 30)  # 07:30 London in November
    assert sweeps.digests(morning) == 0  # nothing overdue yet
    undertaking = make_agreement(kind="undertaking", status="active")  # ends 25 November 09:00
    assert sweeps.digests(morning - MINUTE) == 0  # before half past seven
    assert sweeps.digests(morning) == 1
    assert sweeps.digests(morning + 5 * HOUR) == 0
    digest = queued("digest")[0]
    assert digest.to_address == "manager@council.example"
    assert undertaking.reference in digest.body_text and "Undertakings past their end (1)" in digest.body_text
    assert "Ella" not in digest.body_text and "(EM)" in digest.body_text
    assert sweeps.digests(morning + DAY) == 1  # the next day's
    assert people.other_manager.email not in addresses("digest")  # the other team has nothing


def test_a_record_awaiting_endorsement_gets_its_reminders_once_endorsed(make_agreement, people):
    agreement = make_agreement(status="awaiting_endorsement")
    assert sweeps.review_reminders(REVIEW - 7 * DAY) == 0  # not active: passed over, not re-read
    assert Review.get(Review.agreement == agreement).reminder_at == REVIEW - DAY
    lifecycle.endorse(Agreement.get_by_id(agreement.id), people.manager, REVIEW - 6 * DAY, override="test")
    assert sweeps.review_reminders(REVIEW - 6 * DAY) == 2
    assert sweeps.review_reminders(REVIEW - 6 * DAY + HOUR) == 0


def test_sweeps_read_every_record_column_their_emails_show():
    """The sweeps read a record without the form's wording (sweeps.NOT_IN_EMAILS),
    so no email template, nor the code that fills one in, may name those columns:
    one that did would print an empty value instead of the record's."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    sources = sorted((root / "templates" / "email").iterdir()) + [
        root / "tracker" / name for name in ("notices/mailings.py", "notices/notify.py", "notices/ics.py",
                                             "agencies/links.py", "agencies/tokens.py", "rules.py")] + [
        root / "jobs" / "sweeps.py"]
    named = {}
    for path in sources:
        text = path.read_text()
        if path.name == "sweeps.py":
            text = text.split("NOT_IN_EMAILS = ", 1)[0] + text.split("RECORD = ", 1)[1]
        for column in sweeps.NOT_IN_EMAILS:
            if re.search(rf"\b{column}\b", text):
                named.setdefault(column, []).append(path.name)
    assert named == {}
    assert {"reference", "kind", "status", "team", "social_worker", "window_ends_at", "undertaking_kind",
            "endorsed_at", "version"} <= {f.name for f in sweeps.RECORD}
