"""Issue 24: a sweep reads what is due a page at a time (jobs.sweeps.DUE_PAGE, a LIMIT
that keeps the planner on the moment's index whatever its statistics say). Read page
by page, it still finds every due row once, in the moment's order, ties included, and
a sweep acts on every one of them."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobs import sweeps
from tests.conftest import NOW
from tracker.models import Breach, Notification

MINUTE = dt.timedelta(minutes=1)


def _breach(agreement, due) -> Breach:
    return Breach.create(agreement=agreement, occurred_at=NOW, description="He came to the house.",
                         reported_by="Jo Bloggs, school", created_at=NOW, escalate_at=due)


def test_pages_read_every_due_row_once_in_order(app, people, make_agreement, monkeypatch):
    agreement = make_agreement(status="active")

    @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(st.integers(-5, 5), max_size=12), st.integers(1, 4))
    def check(offsets, page):
        Breach.delete().execute()
        for offset in offsets:  # moments on both sides of now, many the same
            _breach(agreement, NOW + offset * MINUTE)
        monkeypatch.setattr(sweeps, "DUE_PAGE", page)
        query = Breach.select().where(Breach.escalate_at <= NOW)
        read = [(b.escalate_at, b.id) for b in sweeps._read_due(query, Breach.escalate_at)]
        assert read == sorted((b.escalate_at, b.id) for b in query), (offsets, page)

    check()


def test_a_sweep_acts_on_every_due_row_across_pages(app, people, make_agreement, monkeypatch):
    agreement = make_agreement(status="active")
    monkeypatch.setattr(sweeps, "DUE_PAGE", 2)
    breaches = [_breach(agreement, NOW - (i // 2) * MINUTE) for i in range(7)]  # pairs of ties
    before = Notification.select().where(Notification.kind == "breach_escalation").count()
    sweeps.breach_escalations(NOW)
    assert all(Breach.get_by_id(b.id).escalate_at is None for b in breaches)
    sent = Notification.select().where(Notification.kind == "breach_escalation").count() - before
    assert sent and sent % len(breaches) == 0, sent  # the same people told of each breach
    assert sweeps.breach_escalations(NOW) == 0  # nothing due twice
