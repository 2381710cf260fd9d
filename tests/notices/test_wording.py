"""Wording found wrong (issue 12, item 8), and email timing and subjects (item 9)."""

from __future__ import annotations

import datetime as dt
import html

from jobs import sweeps
from jobs.delivery import deliver_pending
from tests.conftest import NOW
from tracker.clock import moment_words
from tracker.models import Agreement, Notification


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_an_action_dated_in_its_timescale_is_not_dated_twice(client, people, login, make_agreement):
    agreement = make_agreement(actions=[
        {"what": "Ms Murphy will register Ella with a dentist.", "who": "Ms Murphy", "side": "family",
         "timescale": "By 15 December 2026", "due_on": dt.date(2026, 12, 15)},
    ])
    login(people.worker)
    page = _text(client.get(f"/agreements/{agreement.id}"))
    assert "By 15 December 2026" in page
    assert "15 December 2026, by 15 December 2026" not in page
    printable = _text(client.get(f"/agreements/{agreement.id}/print"))
    assert "15 December 2026, by 15 December 2026" not in printable


def test_the_extend_page_asks_for_the_new_end_in_plain_words(client, people, login, make_agreement):
    agreement = make_agreement(kind="undertaking", status="active")
    login(people.manager)
    response = client.post(f"/agreements/{agreement.id}/extend",
                           data={"revision": agreement.revision, "reason": "Court hearing moved"})
    page = _text(response)
    assert response.status_code == 400
    assert "Enter the undertaking must now end by" not in page
    assert "Enter the date and time the undertaking must now end by" in page


def test_the_written_check_names_what_is_missing_in_plain_words(client, people, login, make_agreement):
    agreement = make_agreement(if_things_go_wrong="", contingency="")
    login(people.worker)
    page = _text(client.get(f"/agreements/{agreement.id}"))
    assert "Write the if things go wrong" not in page
    assert "Write what happens if things go wrong, and the contingency plan" in page


def test_the_undertaking_form_labels_the_breach_box_as_a_breach(client, people, login, make_agreement):
    agreement = make_agreement(kind="undertaking")
    login(people.worker)
    for url in ("/agreements/new?kind=undertaking", f"/agreements/{agreement.id}/edit"):
        page = _text(client.get(url))
        assert "If the undertaking is breached" in page
        assert "If things go wrong" not in page, url
    partnership = _text(client.get("/agreements/new?kind=partnership"))
    assert "If things go wrong" in partnership


def test_a_draft_has_no_red_end_button_only_a_link_to_the_end_page(client, people, login, make_agreement):
    agreement = make_agreement()
    login(people.worker)
    page = _text(client.get(f"/agreements/{agreement.id}"))
    assert "Send for endorsement" in page
    assert "govuk-button--warning" not in page
    assert f'href="/agreements/{agreement.id}/end"' in page
    assert client.get(f"/agreements/{agreement.id}/end").status_code == 200


def test_endorsing_with_nobody_on_the_list_does_not_claim_copies_were_sent(client, people, login, make_agreement):
    agreement = make_agreement(recipients=[], status="awaiting_endorsement")
    login(people.manager)
    response = client.post(f"/agreements/{agreement.id}/endorse", data={"override": "No agencies involved yet."})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    page = _text(client.get(response.location))
    assert Agreement.get_by_id(agreement.id).status == "active"
    assert "Copies have been sent to the distribution list" not in page
    assert "Nobody is on the distribution list, so no copies were sent" in page


def test_the_social_worker_dropdown_lists_social_workers_only(client, people, login):
    login(people.worker)
    page = _text(client.get("/agreements/new?kind=partnership"))
    assert "Sam Worker" in page and "Priya Colleague" in page
    assert "Maria Manager" not in page


# --- item 9: email timing and subjects ------------------------------------------

REVIEW = dt.datetime(2027, 1, 15, 10, 0)  # the review in agreement_data: 10:00 UTC is 10:00 in London
DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)


def _reminders() -> list[Notification]:
    return list(Notification.select().where(Notification.kind == "review_reminder").order_by(Notification.id))


def test_a_reminder_73_minutes_before_the_review_says_today_at_its_time(make_agreement, smtp):
    make_agreement(status="active")
    now = REVIEW - dt.timedelta(minutes=73)
    assert sweeps.review_reminders(now) == 2
    deliver_pending(now)
    for address in ("worker@council.example", "manager@council.example"):
        [message] = smtp.to(address)
        assert message["Subject"] == "Prepare for the review of PA-00001 (EM) today at 10am"
        assert "tomorrow" not in message.get_body(("plain",)).get_content()
        assert "15 January 2027 at 10am (today)" in message.get_body(("plain",)).get_content()


def test_a_reminder_the_day_before_says_tomorrow_and_a_week_before_gives_the_date(make_agreement, smtp):
    make_agreement(status="active")
    sweeps.review_reminders(REVIEW - 7 * DAY)
    sweeps.review_reminders(REVIEW - DAY)
    deliver_pending(REVIEW - DAY)
    subjects = sorted(m["Subject"] for m in smtp.to("worker@council.example"))
    assert any("tomorrow at 10am" in s for s in subjects), subjects
    assert any("in 7 days" in s and "15 January 2027" in s for s in subjects), subjects


def test_a_late_reminder_with_the_next_due_within_a_day_gives_way_to_it(make_agreement):
    make_agreement(status="active")
    # The 7-day reminder was missed; the runner starts two hours before the 1-day one.
    assert sweeps.review_reminders(REVIEW - DAY - 2 * HOUR) == 0
    assert _reminders() == []
    assert sweeps.review_reminders(REVIEW - DAY) == 2
    assert all("/reminder-1d/" in n.key for n in _reminders())
    assert len(_reminders()) == 2


def test_a_late_reminder_with_the_next_days_away_still_goes(make_agreement):
    make_agreement(status="active")
    assert sweeps.review_reminders(REVIEW - 4 * DAY) == 2
    assert all("/reminder-7d/" in n.key for n in _reminders())


def test_subjects_say_what_to_do_and_by_when(make_agreement, people, smtp):
    from jobs.delivery import build_message, identity
    from tracker.records import breaches

    agreement = make_agreement(status="active", children=[{"name": "Ava King", "date_of_birth": dt.date(2019, 5, 4)}])
    deliver_pending(NOW)
    [copy] = smtp.to("dsl@school.example")
    assert copy["Subject"] == f"Please acknowledge your copy of {agreement.reference} (AK)"

    breach = breaches.log(agreement, {"occurred_at": NOW, "description": "He came to the house.", "action": 0,
                                      "reported_by": "Jo Bloggs, school"}, NOW, user=people.worker)
    deliver_pending(NOW)
    [alert] = [m for m in smtp.to("manager@council.example") if "Breach" in m["Subject"]]
    due = moment_words(breach.escalate_at)
    assert alert["Subject"] == (f"Breach on {agreement.reference} (AK): acknowledge and record the response by {due}")
    # A long subject folds onto continuation lines, never after an empty first line.
    row = Notification.get(Notification.kind == "breach_alert")
    from flask import current_app

    raw = build_message(row, identity(current_app.config)).as_bytes().decode()
    line = next(x for x in raw.splitlines() if x.startswith("Subject:"))
    assert line.startswith("Subject: Breach on ") and len(line) <= 78


def test_an_undertaking_escalation_says_how_long_ago_it_ended(make_agreement, people, smtp):
    undertaking = make_agreement(kind="undertaking", status="active",
                                 children=[{"name": "Vera Green", "date_of_birth": dt.date(2019, 5, 4)}])
    ends = Agreement.get_by_id(undertaking.id).window_ends_at
    sweeps.undertaking_ladder(ends + 6 * HOUR)
    deliver_pending(ends + 6 * HOUR)
    subjects = {m["Subject"] for m in smtp.to("manager@council.example") if "ended" in m["Subject"]}
    assert subjects == {f"Decision needed: undertaking {undertaking.reference} (VG) ended 6 hours ago"}


def test_after_an_outage_only_the_current_rung_of_an_undertaking_reaches_each_reader(make_agreement, smtp):
    undertaking = make_agreement(kind="undertaking", status="active")
    ends = Agreement.get_by_id(undertaking.id).window_ends_at
    smtp.temporary_failure = True  # the mail server refuses for hours
    for moment in (ends - 2 * HOUR, ends, ends + 4 * HOUR, ends + 8 * HOUR):
        sweeps.undertaking_ladder(moment)
        deliver_pending(moment)
    assert smtp.messages == []
    smtp.temporary_failure = False
    for hours in range(9, 30):
        deliver_pending(ends + hours * HOUR)
    got = [m["Subject"] for m in smtp.to("manager@council.example")]
    assert got == [f"Decision needed: undertaking {undertaking.reference} (EM) ended 8 hours ago"], got
    earlier = Notification.select().where((Notification.kind.in_(("undertaking_warning", "undertaking_escalation")))
                                          & (Notification.to_address == "manager@council.example")
                                          & (Notification.status == "cancelled"))
    assert earlier.count() == 3
    assert all("superseded by a later escalation" in n.last_error for n in earlier)


def test_after_an_outage_a_breach_escalation_replaces_its_unsent_alert(make_agreement, people, smtp):
    from tracker.records import breaches

    agreement = make_agreement(status="active")
    deliver_pending(NOW)
    smtp.messages.clear()
    smtp.temporary_failure = True
    breach = breaches.log(agreement, {"occurred_at": NOW, "description": "He came to the house.", "action": 0,
                                      "reported_by": "Jo Bloggs, school"}, NOW, user=people.worker)
    deliver_pending(NOW)
    later = breach.escalate_at + HOUR
    sweeps.breach_escalations(later)
    smtp.temporary_failure = False
    for hours in range(0, 12):
        deliver_pending(later + hours * HOUR)
    manager = [m["Subject"] for m in smtp.to("manager@council.example")]
    assert len(manager) == 1 and manager[0].startswith("ESCALATED"), manager
    worker = [m["Subject"] for m in smtp.to("worker@council.example")]
    assert len(worker) == 1 and worker[0].startswith("Breach on"), worker  # the worker is not on the escalation
    alert = Notification.get((Notification.kind == "breach_alert") & (Notification.to_address == "manager@council.example"))
    assert alert.status == "cancelled" and "superseded by the breach's escalation" in alert.last_error
