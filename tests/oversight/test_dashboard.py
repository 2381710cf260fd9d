"""The dashboard's tables at every bucket's edge, filters, CSV, and reviews."""

from __future__ import annotations

import datetime as dt
import re

import time_machine

from tests.conftest import NOW
from tracker.models import Agreement, Breach, Review
from tracker.oversight import dashboard


def _set_review(agreement, at):
    Review.update(scheduled_at=at, requests_open_at=at - dt.timedelta(days=10),
                  reports_due_at=at - dt.timedelta(days=3)).where(Review.agreement == agreement).execute()
    Agreement.update(next_review_at=at).where(Agreement.id == agreement.id).execute()


def _counts(page: str) -> dict[str, int]:
    return {k: int(v) for k, v in re.findall(r'id="h-(\w+)">[^<]*<span class="govuk-tag[^"]*">(\d+)', page)}


def _in_table(page: str, key: str) -> str:
    match = re.search(rf'id="table-{key}".*?</table>', page, re.S)
    return match.group(0) if match else ""


def test_review_buckets_at_their_edges(client, people, login, make_agreement):
    overdue_by_a_day = make_agreement(status="active")
    _set_review(overdue_by_a_day, NOW - dt.timedelta(days=1))
    due_today = make_agreement(status="active")
    _set_review(due_today, NOW + dt.timedelta(hours=3))
    due_tomorrow = make_agreement(status="active")
    _set_review(due_tomorrow, NOW + dt.timedelta(days=1))
    in_fifteen_days = make_agreement(status="active")
    _set_review(in_fifteen_days, NOW + dt.timedelta(days=15))
    login(people.manager)
    with time_machine.travel(NOW, tick=False):
        page = client.get("/").get_data(as_text=True)
    assert _counts(page)["overdue_reviews"] == 1
    assert _counts(page)["reviews_soon"] == 2
    overdue = _in_table(page, "overdue_reviews")
    assert overdue_by_a_day.reference in overdue and "1 day overdue" in overdue
    soon = _in_table(page, "reviews_soon")
    assert due_today.reference in soon and "due in 3 hours" in soon
    assert due_tomorrow.reference in soon and "due in 1 day" in soon
    assert in_fifteen_days.reference not in soon and in_fifteen_days.reference not in overdue


def test_undertakings_ending_in_23_hours_show_and_25_do_not(client, people, login, make_agreement):
    soon = make_agreement(kind="undertaking", status="active", window_starts_at=NOW - dt.timedelta(hours=10),
                          window_ends_at=NOW + dt.timedelta(hours=23))
    later = make_agreement(kind="undertaking", status="active", window_starts_at=NOW - dt.timedelta(hours=10),
                           window_ends_at=NOW + dt.timedelta(hours=25))
    past = make_agreement(kind="undertaking", status="active", window_starts_at=NOW - dt.timedelta(hours=30),
                          window_ends_at=NOW - dt.timedelta(hours=1))
    login(people.manager)
    with time_machine.travel(NOW, tick=False):
        table = _in_table(client.get("/").get_data(as_text=True), "undertakings")
    assert soon.reference in table and past.reference in table and later.reference not in table
    assert table.index(past.reference) < table.index(soon.reference)  # most overdue first
    assert "Past its end" in table


def test_breaches_and_unacknowledged_copies(client, people, login, make_agreement):
    agreement = make_agreement(status="active")
    Breach.create(agreement=agreement, occurred_at=NOW, description="Dad was at the house at 9pm.",
                  reported_by="School", immediate_risk=True, created_at=NOW)
    login(people.manager)
    page = client.get("/").get_data(as_text=True)
    assert "Dad was at the house at 9pm." in _in_table(page, "breaches")
    assert "Urgent" in _in_table(page, "breaches")
    assert "Riverside Primary School" in _in_table(page, "unacknowledged")


def test_missing_agency_reports_for_reviews_this_week(client, people, login, make_agreement):
    agreement = make_agreement(status="active")
    _set_review(agreement, NOW + dt.timedelta(days=5))
    login(people.manager)
    with time_machine.travel(NOW, tick=False):
        table = _in_table(client.get("/").get_data(as_text=True), "missing_reports")
    assert agreement.reference in table and "Riverside Primary School" in table


def test_filters_with_and_without_htmx(client, people, login, make_agreement):
    mine = make_agreement(status="active")
    theirs = make_agreement(status="active", worker=people.colleague)
    for a in (mine, theirs):
        _set_review(a, NOW - dt.timedelta(days=2))
    login(people.manager)
    with time_machine.travel(NOW, tick=False):
        page = client.get(f"/?worker={people.colleague.id}").get_data(as_text=True)
        fragment = client.get(f"/?worker={people.colleague.id}",
                              headers={"HX-Request": "true", "HX-Target": "dashboard-tables"}).get_data(as_text=True)
    for html in (page, fragment):
        overdue = _in_table(html, "overdue_reviews")
        assert theirs.reference in overdue and mine.reference not in overdue
    assert fragment.startswith('<div id="dashboard-tables">') and "<html" not in fragment
    assert f'<option value="{people.colleague.id}" selected' in page


def test_a_worker_sees_only_their_own_caseload(client, people, login, make_agreement):
    mine = make_agreement(status="active")
    theirs = make_agreement(status="active", worker=people.colleague)
    for a in (mine, theirs):
        _set_review(a, NOW - dt.timedelta(days=2))
    login(people.worker)
    with time_machine.travel(NOW, tick=False):
        page = client.get("/").get_data(as_text=True)
    assert "Your caseload" in page
    assert mine.reference in page and theirs.reference not in page


def test_csv_export_neutralises_formulas(client, people, login, make_agreement):
    agreement = make_agreement(status="active")
    Breach.create(agreement=agreement, occurred_at=NOW, description="=HYPERLINK(\"http://evil\")",
                  reported_by="School", created_at=NOW)
    login(people.manager)
    response = client.get("/dashboard/breaches.csv")
    text = response.get_data(as_text=True)
    assert response.mimetype == "text/csv"
    assert agreement.reference in text
    assert "'=HYPERLINK" in text


def test_dashboard_queries_do_not_grow_with_rows(app, people, make_agreement):
    from tracker import db

    def count_queries(fn):
        executed = []
        original = db.database.obj.execute_sql

        def spy(sql, params=None, *args, **kwargs):
            executed.append(sql)
            return original(sql, params, *args, **kwargs)

        db.database.obj.execute_sql = spy
        try:
            fn()
        finally:
            db.database.obj.execute_sql = original
        return len(executed)

    def render():
        tables = dashboard.tables(people.manager, dashboard.Filters(), NOW)
        dashboard.children_names([dashboard.agreement_of(r).id for t in tables for r in t.rows])
        for t in tables:
            for row in t.rows:
                agreement = dashboard.agreement_of(row)
                _ = agreement.social_worker.name if agreement.social_worker_id else None

    first = make_agreement(status="active")
    _set_review(first, NOW - dt.timedelta(days=1))
    few = count_queries(render)
    for _ in range(6):
        _set_review(make_agreement(status="active"), NOW - dt.timedelta(days=3))
    many = count_queries(render)
    assert few == many, (few, many)


def test_recording_a_review_moves_the_item_off_the_overdue_table(client, people, login, make_agreement):
    agreement = make_agreement(status="active")
    _set_review(agreement, NOW - dt.timedelta(days=2))
    login(people.manager)
    with time_machine.travel(NOW, tick=False):
        assert agreement.reference in _in_table(client.get("/").get_data(as_text=True), "overdue_reviews")
        response = client.post(f"/agreements/{agreement.id}/review", data={
            "held_on-day": "21", "held_on-month": "11", "held_on-year": "2026", "attendees": "Ms Murphy, Sam Worker",
            "outcome": "continue", "next_review_at-day": "20", "next_review_at-month": "2",
            "next_review_at-year": "2027", "next_review_at-time": "10:00"})
        assert response.status_code == 302
        page = client.get("/").get_data(as_text=True)
    assert agreement.reference not in _in_table(page, "overdue_reviews")
    held, following = list(Review.select().where(Review.agreement == agreement).order_by(Review.id))
    assert held.status == "held" and held.outcome == "continue" and held.attendees == "Ms Murphy, Sam Worker"
    assert following.status == "scheduled" and Agreement.get_by_id(agreement.id).next_review_at == following.scheduled_at


def test_a_continuing_review_needs_the_next_date(client, people, login, make_agreement):
    agreement = make_agreement(status="active")
    login(people.manager)
    response = client.post(f"/agreements/{agreement.id}/review", data={
        "held_on-day": "21", "held_on-month": "11", "held_on-year": "2026", "outcome": "vary"})
    assert response.status_code == 400
    assert "an active agreement always has one" in response.get_data(as_text=True)


def test_escalating_at_review_ends_the_agreement(client, people, login, make_agreement):
    agreement = make_agreement(status="active")
    login(people.manager)
    response = client.post(f"/agreements/{agreement.id}/review", data={
        "held_on-day": "21", "held_on-month": "11", "held_on-year": "2026", "outcome": "escalate"})
    assert response.status_code == 302
    ended = Agreement.get_by_id(agreement.id)
    assert ended.status == "ended" and ended.end_reason == "escalated" and ended.next_review_at is None


def test_recording_the_same_review_twice_does_not_record_the_next_one(client, people, login, make_agreement):
    agreement = make_agreement(status="active")
    review = Review.get(Review.agreement == agreement)
    login(people.manager)
    form = {"review_id": str(review.id), "held_on-day": "21", "held_on-month": "11", "held_on-year": "2026",
            "outcome": "continue", "next_review_at-day": "20", "next_review_at-month": "2",
            "next_review_at-year": "2027", "next_review_at-time": "10:00"}
    with time_machine.travel(NOW, tick=False):
        assert client.post(f"/agreements/{agreement.id}/review", data=form).status_code == 302
        second = client.post(f"/agreements/{agreement.id}/review", data=form)
    assert second.status_code == 400 and "already been recorded" in second.get_data(as_text=True)
    statuses = [r.status for r in Review.select().where(Review.agreement == agreement).order_by(Review.id)]
    assert statuses == ["held", "scheduled"]
