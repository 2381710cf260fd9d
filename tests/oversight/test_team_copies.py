"""Issue 24: reviews and breaches carry a copy of their record's team (migration 0031), which a
team manager's dashboard reads so as to start from the team's own rows. A copy that fell behind
would hide a missing agency report or an unacknowledged breach from the team that must act on
it, so every change that could move it is tried, on both engines."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import NOW
from tracker.db import database
from tracker.models import Agreement, Breach, Review, Team
from tracker.oversight import dashboard


def _copies_differ() -> list:
    """Reviews and breaches whose copy of their record's team is not the record's team."""
    found = []
    for model, copy in ((Review, dashboard.REVIEW_TEAM), (Breach, dashboard.BREACH_TEAM)):
        found += [(model.__name__, *row) for row in
                  model.select(model.id, copy, Agreement.team).join(Agreement).tuples()
                  if row[1] != row[2]]
    return found


def test_the_reviews_and_breaches_copies_of_their_team_follow_every_change(app, people, make_agreement):
    made = [make_agreement(status="active"), make_agreement(status="active", worker=people.other_worker),
            make_agreement(status="active")]
    teams = [t.id for t in Team.select()]
    assert len(teams) >= 2 and Review.select().count() >= 1
    assert not _copies_differ()

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(st.tuples(st.sampled_from(["review", "breach", "move", "repoint review", "repoint breach",
                                               "bulk move"]),
                              st.integers(0, 100), st.integers(0, 100)), min_size=1, max_size=6))
    def check(steps):
        with database.atomic() as transaction:
            for kind, i, j in steps:
                record = made[i % len(made)]
                other = made[j % len(made)]
                if kind == "review":
                    Review.create(agreement=record.id, scheduled_at=NOW + dt.timedelta(days=j % 9))
                elif kind == "breach":
                    Breach.create(agreement=record.id, occurred_at=NOW, description="He came to the house.",
                                  reported_by="School")
                elif kind == "move":
                    Agreement.update(team=teams[j % len(teams)]).where(Agreement.id == record.id).execute()
                elif kind == "bulk move":
                    Agreement.update(team=teams[j % len(teams)]).execute()
                else:
                    model = Review if kind == "repoint review" else Breach
                    row = model.select(model.id).order_by(model.id.desc()).first()
                    if row is not None:
                        model.update(agreement=other.id).where(model.id == row.id).execute()
            assert not _copies_differ(), steps
            transaction.rollback()

    check()

