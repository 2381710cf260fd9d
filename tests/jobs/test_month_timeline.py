"""A month of job ticks against a real SMTP server, with a team's digest growing past 1,000 characters a line
(issue 20): every digest is delivered, every email once."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from jobs.delivery import deliver_pending
from jobs.sweeps import run_sweeps
from tracker.models import Notification

START = dt.datetime(2027, 1, 17, 8, 0)
GROWING = 12  # days on which the team gains an overdue review: its digest's HTML list passes 1,000 characters on day 8  # the fixtures' reviews (15 January) are overdue from here


def test_a_month_of_ticks_delivers_every_digest_as_it_grows(smtp, people, make_agreement):
    days = 30
    for day in range(days):
        if day < GROWING:
            make_agreement(status="active")  # one more overdue review for the North team each day
        moment = START + dt.timedelta(days=day)  # a daily tick: each sweep's due work is stored, none is missed
        run_sweeps(moment)
        deliver_pending(moment, limit=1000)
    received = [m for m in smtp.to(people.manager.email) if "need action today" in m.get_body(("plain",)).get_content()]
    rows = list(Notification.select().where(Notification.kind == "digest"))
    assert len(rows) == days and {row.status for row in rows} == {"sent"}
    assert max(len(line) for row in rows for line in row.body_html.splitlines()) > 1000  # the line that was refused
    assert Notification.select().where(Notification.status == "failed").count() == 0
    ids = Counter(m["Message-ID"] for _, m in smtp.messages)
    assert set(ids.values()) == {1}
    assert len(received) == days
    assert f"Overdue reviews ({GROWING})" in received[-1].get_body(("plain",)).get_content()
