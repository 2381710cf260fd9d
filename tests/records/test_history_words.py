"""A record's history reads as plain English: labels, London times, "Action 2: 'X' → 'Y'"."""

from __future__ import annotations

import datetime as dt
import html

from tests.conftest import NOW
from tracker.records import drafting, lifecycle
from tracker.records.history import describe_changes, describe_difference

SUMMER = dt.datetime(2027, 7, 1, 8, 30)  # 09:30 in London (BST)


def test_history_page_shows_labels_london_times_and_each_change(client, people, login, make_agreement):
    agreement = make_agreement()
    lifecycle.submit(agreement, people.worker, NOW)
    lifecycle.endorse(agreement, people.manager, NOW, override="Checked at the meeting")
    data = drafting.form_data(agreement)
    data["actions"][1]["what"] = "The social worker will visit every week."
    data["plan_type"] = "child_protection"
    drafting.save(agreement, "partnership", data, people.worker, SUMMER)
    login(people.manager)
    page = html.unescape(client.get(f"/agreements/{agreement.id}/history").get_data(as_text=True))
    assert "Action 2: 'The social worker will visit every two weeks.' → 'The social worker will visit every week.'" in page
    assert "The plan it rests on: 'Child in need plan' → 'Child protection plan'" in page
    assert "Status: 'Draft' → 'Awaiting endorsement'" in page
    assert "1 July 2027 at 9:30am" in page and "Sent for endorsement" in page and "Endorsed" in page
    for code in ("awaiting_endorsement", "child_in_need", "child_protection", "plan_type", "T08:30", "submitted"):
        assert code not in page, code


def test_describe_changes_names_rows_added_removed_and_changed():
    old = [{"id": 1, "what": "Walk to school", "who": "Mum", "side": "family"},
           {"id": 2, "what": "Visit weekly", "who": "SW", "side": "professional"}]
    new = [{"id": 1, "what": "Walk to school", "who": "Gran", "side": "family"},
           {"id": None, "what": "Call the school", "who": "SW", "side": "professional"}]
    assert describe_changes({"actions": [old, new], "window_ends_at": ["2026-11-23T09:00:00", "2026-11-24T09:00:00"],
                             "social_worker": [None, 0]}) == [
        "Action 1, who: 'Mum' → 'Gran'",
        "Action 2 added: 'Call the school'",
        "Action 2 removed: 'Visit weekly'",
        "Undertaking must end by: '23 November 2026 at 9am' → '24 November 2026 at 9am'",
        "Social worker: 'None named (the front door is contacted)'",
    ]


def test_describe_difference_compares_two_versions_in_the_same_words(make_agreement, people):
    agreement = make_agreement()
    before = drafting.form_data(agreement)
    after = {**before, "purpose": "A clearer purpose.", "completed_on": NOW.date()}
    lines = describe_difference(before, after)
    assert lines[0] == "Date completed: '20 November 2026' → '23 November 2026'"
    assert lines[1].startswith("Purpose: '") and lines[1].endswith("→ 'A clearer purpose.'")
    assert describe_difference(before, before) == []


def test_a_review_made_from_the_form_or_from_a_review_gets_the_same_notice_moments(make_agreement, people):
    """One function makes every scheduled review (drafting.schedule_review)."""
    from tracker.models import Review
    from tracker.records import reviews

    agreement = make_agreement(status="active")
    first = Review.get(Review.agreement == agreement)
    reviews.record(agreement, {"held_on": first.scheduled_at.date(), "outcome": "continue",
                               "next_review_at": first.scheduled_at + dt.timedelta(days=60), "next_venue": "Hall"},
                   people.manager, first.scheduled_at + dt.timedelta(hours=2))
    second = Review.get((Review.agreement == agreement) & (Review.status == "scheduled"))
    gap = second.scheduled_at - first.scheduled_at
    for column in ("reminder_at", "request_at", "prompt_at", "overdue_at", "requests_open_at", "reports_due_at"):
        assert getattr(second, column) - getattr(first, column) == gap, column
    assert second.venue == "Hall"


def test_a_new_record_lists_what_was_written_not_blanks_or_codes(client, people, login, make_agreement):
    """Found by reading a demo record's history: '(blank) → (blank)' for every
    empty field, 'Undertaking kind: emergency' on a partnership agreement,
    'Legal advice: no' and labels made from column names ('Marac idva')."""
    agreement = make_agreement(legal_advice="no", marac_idva="Referred to MARAC on 1 November",
                               worker_phone="01632 960 010")
    login(people.manager)
    page = html.unescape(client.get(f"/agreements/{agreement.id}/history").get_data(as_text=True))
    created = page[page.index("Created"):]
    assert "(blank) → (blank)" not in created
    assert "Undertaking kind" not in created and "emergency" not in created
    assert "Legal advice: 'No'" in created
    assert "MARAC or IDVA referral: 'Referred to MARAC on 1 November'" in created
    assert "Social worker's telephone: '01632 960 010'" in created
    for label in ("Marac idva", "Worker phone", "Legal advice notes: (blank)"):
        assert label not in created, label
