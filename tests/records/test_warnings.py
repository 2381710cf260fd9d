"""Warning signs (R8): each sign appears when it should and not otherwise."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import render_template

from tests.conftest import NOW
from tracker.db import database
from tracker.models import Agreement, Breach, Review
from tracker.records import lifecycle
from tracker.records.warnings import KINDS, Sign, signs_for, signs_of

EARLIER = NOW - dt.timedelta(days=60)
OTHER_CHILD = [{"name": "Noah Patel", "date_of_birth": dt.date(2018, 2, 3)}]


def keys(agreement, now=NOW) -> set[str]:
    return {sign.key for sign in signs_of(Agreement.get_by_id(agreement.id), now)}


def breach(agreement, when=EARLIER):
    return Breach.create(agreement=agreement, occurred_at=when, description="Dad came to the house.",
                         reported_by="Riverside Primary School")


def end(agreement, people, reason, now=EARLIER):
    lifecycle.end(Agreement.get_by_id(agreement.id), people.manager, now, reason)


def test_a_good_new_agreement_has_no_signs(app, make_agreement):
    assert keys(make_agreement(status="active")) == set()


def test_a_new_agreement_after_one_ended_as_breached_is_flagged(app, people, make_agreement):
    first = make_agreement(status="active", now=EARLIER)
    end(first, people, "breached")
    second = make_agreement(status="awaiting_endorsement")
    signs = {s.key: s for s in signs_of(second, NOW)}
    assert "new_after_breach" in signs
    assert f"{first.reference} ended as breached" in signs["new_after_breach"].detail
    assert "Ella Murphy" in signs["new_after_breach"].detail
    # The breached record itself has ended: ended records carry no signs.
    assert keys(first) == set()
    # Another child's record is not touched by Ella's history.
    assert "new_after_breach" not in keys(make_agreement(children=OTHER_CHILD))


def test_a_breach_logged_on_an_earlier_record_counts_as_breached(app, people, make_agreement):
    first = make_agreement(status="active", now=EARLIER)
    second = make_agreement()
    assert "new_after_breach" not in keys(second)
    breach(first)
    assert "new_after_breach" in keys(second)
    # The earlier record is not flagged by a later one's history.
    assert "new_after_breach" not in keys(first)
    # One breach is not yet "repeated breaches".
    assert "breaches_answered_by_agreements" not in keys(second)


def test_repeated_breaches_answered_only_by_new_agreements(app, people, make_agreement):
    first = make_agreement(status="active", now=EARLIER)
    breach(first)
    breach(first, EARLIER + dt.timedelta(days=3))
    second = make_agreement()
    signs = {s.key: s for s in signs_of(second, NOW)}
    assert "breaches_answered_by_agreements" in signs
    assert signs["breaches_answered_by_agreements"].detail.startswith("2 breaches")


def test_breaches_followed_by_an_escalation_are_not_answered_only_by_agreements(app, people, make_agreement):
    first = make_agreement(status="active", now=EARLIER)
    breach(first)
    breach(first)
    end(first, people, "escalated")
    second = make_agreement()
    found = keys(second)
    assert "breaches_answered_by_agreements" not in found
    assert "new_after_breach" in found  # the breaches still happened


def test_a_partnership_agreement_on_a_closing_case_is_flagged_but_an_undertaking_is_not(app, make_agreement):
    assert "closing_case" in keys(make_agreement(case_closing=True))
    assert "closing_case" not in keys(make_agreement(children=OTHER_CHILD))
    assert "closing_case" not in keys(make_agreement(kind="undertaking", case_closing=True))


def test_two_agreements_for_a_child_within_12_months(app, make_agreement):
    first = make_agreement(status="awaiting_endorsement", now=EARLIER, completed_on=dt.date(2026, 3, 1))
    second = make_agreement(completed_on=dt.date(2026, 11, 20))
    signs = {s.key: s for s in signs_of(second, NOW)}
    assert "repeated_agreements" in signs
    assert first.reference in signs["repeated_agreements"].detail
    # The earlier one is flagged too, once the later one has left draft.
    assert "repeated_agreements" not in keys(first)
    lifecycle.submit(second, second.created_by, NOW)
    assert "repeated_agreements" in keys(first)


def test_agreements_more_than_12_months_apart_or_abandoned_drafts_are_not_repeats(app, people, make_agreement):
    old = make_agreement(status="active", now=EARLIER, completed_on=dt.date(2025, 10, 1))
    end(old, people, "reviewed_closed")
    make_agreement(now=EARLIER, completed_on=dt.date(2026, 9, 1))  # a draft never sent
    make_agreement(kind="undertaking", status="active", now=EARLIER)  # undertakings are not counted
    latest = make_agreement(completed_on=dt.date(2026, 11, 20))
    assert "repeated_agreements" not in keys(latest)


def test_active_for_more_than_6_months(app, make_agreement):
    old = make_agreement(status="active", now=NOW - dt.timedelta(days=190))
    recent = make_agreement(status="active", now=NOW - dt.timedelta(days=170), children=OTHER_CHILD)
    assert "active_past_6_months" in keys(old)
    assert "active_past_6_months" not in keys(recent)


def test_never_reviewed_past_the_review_policy(app, make_agreement):
    agreement = make_agreement(status="active", now=NOW - dt.timedelta(days=100))
    assert "never_reviewed" in keys(agreement)
    review = Review.get(Review.agreement == agreement)
    Review.update(status="held", held_on=dt.date(2026, 10, 1)).where(Review.id == review.id).execute()
    assert "never_reviewed" not in keys(agreement)


def test_never_reviewed_when_its_review_date_has_passed(app, make_agreement):
    overdue = make_agreement(status="active", now=NOW - dt.timedelta(days=20), review_at=NOW - dt.timedelta(days=1))
    signs = {s.key: s for s in signs_of(overdue, NOW)}
    assert "never_reviewed" in signs and "has passed" in signs["never_reviewed"].detail
    recent = make_agreement(status="active", now=NOW - dt.timedelta(days=20), children=OTHER_CHILD)
    assert "never_reviewed" not in keys(recent)
    # A draft has not been agreed yet, so it cannot have missed a review.
    assert "never_reviewed" not in keys(make_agreement(now=NOW - dt.timedelta(days=100)))


@pytest.mark.parametrize(
    ("language", "interpreter", "flagged"),
    [
        ("Polish", "", True),
        ("Polish", "Language Line interpreter booked for every visit", False),
        ("english ", "", False),
        ("", "", False),
    ],
)
def test_first_language_other_than_english_needs_an_interpreter(app, make_agreement, language, interpreter, flagged):
    agreement = make_agreement(first_language=language, interpreter=interpreter)
    assert ("no_interpreter" in keys(agreement)) is flagged


def test_domestic_abuse_with_the_person_at_risk_asked_to_exclude_the_abuser(app, make_agreement):
    flagged = make_agreement(domestic_abuse_concern=True, victim_asked_to_exclude_abuser=True)
    concern_only = make_agreement(domestic_abuse_concern=True, children=OTHER_CHILD)
    assert "domestic_abuse_exclusion" in keys(flagged)
    assert "domestic_abuse_exclusion" not in keys(concern_only)


def test_an_ended_record_has_no_signs(app, people, make_agreement):
    agreement = make_agreement(status="active", case_closing=True, first_language="Polish")
    assert {"closing_case", "no_interpreter"} <= keys(agreement)
    end(agreement, people, "reviewed_closed", NOW)
    assert keys(agreement) == set()


def test_signs_have_the_titles_of_their_kind(app, make_agreement):
    agreement = make_agreement(first_language="Polish", case_closing=True)
    for sign in signs_of(agreement, NOW):
        assert isinstance(sign, Sign) and sign.title == KINDS[sign.key] and sign.guidance


def _count_queries(monkeypatch) -> list[str]:
    seen: list[str] = []
    real = database.obj.execute_sql

    def counting(sql, params=None, *args, **kwargs):
        seen.append(sql)
        return real(sql, params, *args, **kwargs)

    monkeypatch.setattr(database.obj, "execute_sql", counting)
    return seen


def test_signs_for_many_records_takes_a_fixed_number_of_queries(app, people, make_agreement, monkeypatch):
    made = []
    for i in range(10):
        child = [{"name": f"Child {i}", "date_of_birth": dt.date(2018, 1, 1 + i)}]
        earlier = make_agreement(status="active", now=EARLIER, children=child)
        breach(earlier)
        made.append(make_agreement(status="active", children=child, first_language="Polish"))
    few = [Agreement.get_by_id(a.id) for a in made[:2]]
    many = [Agreement.get_by_id(a.id) for a in made]

    seen = _count_queries(monkeypatch)
    few_signs = signs_for(few, NOW)
    for_two = len(seen)
    seen.clear()
    many_signs = signs_for(many, NOW)
    assert len(seen) == for_two <= 5
    assert all("new_after_breach" in {s.key for s in many_signs[a.id]} for a in many)
    assert few_signs[few[0].id] == many_signs[few[0].id]


def test_the_partial_lists_the_signs_in_the_guidance_words(app, people, make_agreement):
    first = make_agreement(status="active", now=EARLIER)
    end(first, people, "breached")
    second = make_agreement()
    page = render_template("agreements/_warnings.html", signs=signs_of(second, NOW))
    assert "govuk-warning-text" in page
    assert KINDS["new_after_breach"] in page
    assert "because a previous written agreement has been reneged upon" in page
    assert "style=" not in page and "<script" not in page
    assert "No warning signs." in render_template("agreements/_warnings.html", signs=[])


def test_blocking_signs_are_counted_in_the_service_view_and_tagged_on_the_record(client, people, login, make_agreement):
    from tracker.records.warnings import BLOCKING

    threat = make_agreement(status="active", if_things_go_wrong="Sign this or the children will be removed.")
    no_family = make_agreement(status="active", children=OTHER_CHILD,
                               parties=[{"name": "Sam Worker", "role": "Social worker", "signed_on": None}])
    assert "coercion" in keys(threat) and "no_family_party" in keys(no_family)
    assert {"coercion", "no_family_party", "new_after_breach", "closing_case"} <= BLOCKING
    assert "repeated_agreements" not in BLOCKING and "no_interpreter" not in BLOCKING  # these warn
    from tracker.oversight.service import figures

    counted = figures(NOW).total.signs
    assert counted["coercion"] == 1 and counted["no_family_party"] == 1
    login(people.head)
    page = client.get("/service/").get_data(as_text=True)
    assert KINDS["coercion"] in page and KINDS["no_family_party"] in page
    login(people.manager)
    page = client.get(f"/agreements/{threat.id}").get_data(as_text=True)
    assert "Stops endorsement" in page and "with a recorded reason" in page
