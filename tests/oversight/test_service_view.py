"""The service view: figures per team for service managers, the chart and the CSV export."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest

from tests.conftest import NOW
from tracker.models import Agreement, Breach, Review, Team
from tracker.oversight import service

DAYS = dt.timedelta(days=1)


def child(name: str) -> list[dict]:
    return [{"name": name, "date_of_birth": dt.date(2017, 6, 1)}]


def hold(agreement, held_on: dt.date) -> None:
    """Record the agreement's review as held and its next one as in the future."""
    Review.update(status="held", held_on=held_on).where(Review.agreement == agreement).execute()
    Agreement.update(next_review_at=NOW + 30 * DAYS).where(Agreement.id == agreement.id).execute()


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    """The pages read the clock at the edge; here it reads NOW."""
    monkeypatch.setattr("tracker.web.views.service.utcnow", lambda: NOW)


@pytest.fixture
def dataset(people, make_agreement):
    """North: two agreements with reviews due this month, one held on time, one overdue by 10 days,
    and an undertaking; three breaches. South: one agreement whose October review was held late."""
    on_time = make_agreement(status="active", now=NOW - 60 * DAYS, review_at=NOW - 20 * DAYS,
                             children=child("Ada North"), first_language="Polish")
    hold(on_time, (NOW - 20 * DAYS).date())
    overdue = make_agreement(status="active", now=NOW - 60 * DAYS, review_at=NOW - 10 * DAYS,
                             children=child("Ben North"))
    undertaking = make_agreement(kind="undertaking", status="active", children=child("Cal North"))
    for _ in range(3):
        Breach.create(agreement=undertaking, occurred_at=NOW - DAYS, description="Contact happened.",
                      reported_by="Riverside Primary School")
    late = make_agreement(status="active", worker=people.other_worker, now=NOW - 60 * DAYS,
                          review_at=NOW - 40 * DAYS, children=child("Dee South"))
    hold(late, (NOW - 37 * DAYS).date())
    # An ended record and its cancelled review count for nothing.
    make_agreement(status="ended", children=child("Eve North"), review_at=NOW - 5 * DAYS)
    return {"on_time": on_time, "overdue": overdue, "undertaking": undertaking, "late": late}


def by_team(figures: service.Figures) -> dict[str, service.TeamFigures]:
    return {t.name: t for t in [*figures.teams, figures.total]}


def test_figures_per_team_for_a_known_dataset(app, people, dataset):
    teams = by_team(service.figures(NOW))
    north, south, total = teams["North team"], teams["South team"], teams["All teams"]
    assert (north.active_agreements, north.active_undertakings) == (2, 1)
    assert (south.active_agreements, south.active_undertakings) == (1, 0)
    assert (north.reviews_due, north.reviews_on_time, north.on_time_share) == (2, 1, 0.5)
    assert (south.reviews_due, south.reviews_on_time, south.on_time_share) == (1, 0, 0.0)
    assert (north.overdue, north.median_days_overdue) == (1, 10)
    assert (south.overdue, south.median_days_overdue) == (0, None)
    assert north.breaches_per_active == 1.0 and south.breaches_per_active == 0.0
    assert north.signs["no_interpreter"] == 1 and south.signs_total == 0
    assert (total.reviews_due, total.reviews_on_time, total.active) == (3, 1, 4)
    november, october = total.months[-1], total.months[-2]
    assert (november.label, november.due, november.on_time) == ("November 2026", 2, 1)
    assert (october.label, october.due, october.on_time) == ("October 2026", 1, 0)
    assert [m.start for m in total.months] == [dt.date(2026, m, 1) for m in range(6, 12)]


def test_median_of_several_overdue_reviews(app, people, make_agreement):
    for i, days in enumerate((2, 5, 30, 40)):
        make_agreement(status="active", now=NOW - 60 * DAYS, review_at=NOW - days * DAYS, children=child(f"Kid {i}"))
    north = by_team(service.figures(NOW))["North team"]
    assert (north.overdue, north.median_days_overdue) == (4, 17.5)


def test_on_time_means_by_the_review_date_in_london(app, people, make_agreement):
    agreement = make_agreement(status="active", now=NOW - 200 * DAYS, children=child("Fay North"))
    # 23:30 UTC on 10 July is 00:30 on 11 July in London (summer time): held on the 11th is on time.
    Review.create(agreement=agreement, scheduled_at=dt.datetime(2026, 7, 10, 23, 30), status="held",
                  held_on=dt.date(2026, 7, 11))
    # 23:30 UTC on 5 November is 23:30 on 5 November in London (winter): held on the 6th is late.
    Review.create(agreement=agreement, scheduled_at=dt.datetime(2026, 11, 5, 23, 30), status="held",
                  held_on=dt.date(2026, 11, 6))
    months = {m.start.month: m for m in by_team(service.figures(NOW))["North team"].months}
    assert (months[7].due, months[7].on_time) == (1, 1)
    assert (months[11].due, months[11].on_time) == (1, 0)


def test_summer_time_intervals_match_the_time_zone_database():
    from zoneinfo import ZoneInfo

    london = ZoneInfo("Europe/London")
    for begins, ends in service.summer_time(dt.datetime(2024, 1, 1), dt.datetime(2027, 12, 31)):
        for moment, summer in ((begins - dt.timedelta(minutes=1), False), (begins, True),
                               (ends - dt.timedelta(minutes=1), True), (ends, False)):
            offset = moment.replace(tzinfo=dt.UTC).astimezone(london).utcoffset()
            assert (offset == dt.timedelta(hours=1)) is summer, moment


def test_service_page_shows_the_tables_and_an_accessible_chart(client, people, login, dataset):
    login(people.head)
    response = client.get("/service/")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Figures by team" in page and "North team" in page and "South team" in page
    assert "50% (1 of 2)" in page
    svg = re.search(r"<svg.*?</svg>", page, re.DOTALL).group(0)
    assert 'role="img"' in svg
    assert "<title id=\"on-time-chart-title\">Share of reviews held on time, by month, across the service</title>" in svg
    assert "November 2026: 50% held on time (1 of 2 reviews)" in svg  # the description
    assert ">50%</text>" in svg and ">0%</text>" in svg and ">Nov 2026</text>" in svg
    assert 'fill="#1d70b8"' in svg
    assert "style=" not in svg and "<script" not in svg
    assert "style=" not in page
    assert "First language is not English and no interpreter or translation is recorded" in page
    assert 'href="/service/"' in page  # the service manager's menu entry


def test_csv_export_has_the_per_team_figures(client, people, login, dataset):
    login(people.head)
    response = client.get("/service/figures.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    made_by, *rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert made_by[0].startswith("Service figures, every team, as of ")
    header, table = rows[0], {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    assert header[:9] == ["Team", "Active agreements", "Active undertakings", "Reviews due (last 3 months)",
                          "Held on time", "Share held on time", "Reviews overdue now", "Median days overdue",
                          "Breaches per active record"]
    north = table["North team"]
    assert (north["Active agreements"], north["Reviews due (last 3 months)"], north["Share held on time"]) == ("2", "2", "50%")
    assert (north["Median days overdue"], north["Breaches per active record"]) == ("10", "1")
    assert table["All teams"]["Held on time"] == "1"


def test_csv_export_neutralises_spreadsheet_formulas(client, people, login):
    Team.create(name="=HYPERLINK(\"http://evil.example\")")
    Team.create(name="+1 team")
    Team.create(name="@SUM(A1)")
    login(people.head)
    text = client.get("/service/figures.csv").get_data(as_text=True)
    names = [row[0] for row in csv.reader(io.StringIO(text))]
    assert "'=HYPERLINK(\"http://evil.example\")" in names
    assert "'+1 team" in names and "'@SUM(A1)" in names
    assert not any(name[:1] in "=+-@" for name in names if name)


@pytest.mark.parametrize("who", ["worker", "manager", "other_manager", "admin"])
@pytest.mark.parametrize("url", ["/service/", "/service/figures.csv"])
def test_only_service_managers_see_the_service_view(client, people, login, who, url):
    login(getattr(people, who))
    response = client.get(url)
    assert response.status_code == 403
    assert "You do not have access to this page" in response.get_data(as_text=True)


def test_the_service_view_needs_a_signed_in_user(client, people):
    response = client.get("/service/")
    assert response.status_code == 302 and "/login" in response.location


def test_team_managers_have_no_service_view_menu_entry(client, people, login):
    login(people.manager)
    page = client.get("/agreements").get_data(as_text=True)
    assert "Service view" not in page


def test_figures_take_a_fixed_number_of_queries(app, people, make_agreement, monkeypatch):
    from tracker.db import database

    def count_queries() -> int:
        seen = []
        real = database.obj.execute_sql

        def counting(sql, params=None, *args, **kwargs):
            seen.append(sql)
            return real(sql, params, *args, **kwargs)

        monkeypatch.setattr(database.obj, "execute_sql", counting)
        service.figures(NOW)
        monkeypatch.undo()
        return len(seen)

    def add(count: int, start: int) -> None:
        for i in range(start, start + count):
            agreement = make_agreement(status="active", now=NOW - 60 * DAYS, review_at=NOW - 5 * DAYS,
                                       children=child(f"Kid {i}"), first_language="Polish")
            Breach.create(agreement=agreement, occurred_at=NOW - DAYS, description="x", reported_by="School")

    add(2, 0)
    few = count_queries()
    add(8, 2)
    assert count_queries() == few
