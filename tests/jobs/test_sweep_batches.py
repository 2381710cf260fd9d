"""Issue 13: sweeps work in batches of jobs.sweeps.BATCH items to a transaction, and a
runner killed in the middle of one leaves nothing half-claimed: the batches before it
committed whole, nothing of it."""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import time

import pytest

from jobs import sweeps
from tests.conftest import NOW
from tracker.db import database
from tracker.models import Breach, Notification

DAY = dt.timedelta(days=1)


def _breach(agreement, due) -> Breach:
    return Breach.create(agreement=agreement, occurred_at=NOW, description="He came to the house.",
                         reported_by="Jo Bloggs, school", created_at=NOW, escalate_at=due)


def test_a_runner_killed_mid_batch_leaves_nothing_half_claimed(app, people, make_agreement, database_url, tmp_path, load):
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL: one locked row stops the sweep mid-batch. SQLite locks the whole "
                    "database, so its batch cannot be stopped half way; its commit is whole or nothing")
    import psycopg

    agreement = make_agreement(status="active")
    due = NOW + DAY
    total = 2 * sweeps.BATCH + 10
    breaches = [_breach(agreement, due) for _ in range(total)]
    # A row half way through the second batch.
    held = sweeps.BATCH + sweeps.BATCH // 2

    # Another session holds that breach's row: the runner commits the first batch,
    # claims the second's items before it in that batch's transaction, then waits on
    # the row. Then it is killed.
    blocker = psycopg.connect(database_url)
    watcher = psycopg.connect(database_url, autocommit=True)
    try:
        blocker.execute("SELECT id FROM breach WHERE id = %s FOR UPDATE", (breaches[held].id,))
        env = load.environment(database_url, tmp_path / "runner")
        with open(tmp_path / "runner.log", "wb") as log:
            runner = load.flask_command("jobs", "tick", "--at", due.isoformat() + "+00:00", env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
            try:
                deadline = time.monotonic() + 60
                while not watcher.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                          "AND datname = current_database()").fetchone()[0]:
                    assert runner.poll() is None, (tmp_path / "runner.log").read_text()
                    assert time.monotonic() < deadline, "the runner never reached the locked breach"
                    time.sleep(0.05)
                runner.send_signal(signal.SIGKILL)
                runner.wait(10)
            finally:
                load.stop(runner)
        blocker.rollback()
        # The dead runner's session goes once it notices its client has gone.
        deadline = time.monotonic() + 30
        while watcher.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                              "AND state LIKE 'idle in transaction%%'").fetchone()[0]:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        blocker.close()
        watcher.close()

    # Batches before the killed one committed whole (each breach escalated to two
    # people); nothing of the killed batch stayed. The sweep's order is the join's, so
    # the held row may fall in any batch: whole batches only, and never the held one.
    database.close()
    moments = {b.id: b.escalate_at for b in Breach.select()}
    first = sum(at is None for at in moments.values())
    assert first % sweeps.BATCH == 0 and first < total, first
    assert moments[breaches[held].id] == due
    assert set(moments.values()) <= {None, due}
    assert Notification.select().where(Notification.kind == "breach_escalation").count() == 2 * first

    # The next sweep escalates each remaining breach once, to the team manager and the service manager.
    assert sweeps.breach_escalations(due) == 2 * (total - first)
    assert sweeps.breach_escalations(due + DAY) == 0
    sent = Notification.select().where(Notification.kind == "breach_escalation")
    assert sorted({n.to_address for n in sent}) == ["head@council.example", "manager@council.example"]
    assert sent.count() == 2 * total


def test_two_batches_are_swept_whole_with_each_person_read_once(app, people, make_agreement, statements):
    """150 items (more than one batch): every one claimed, each email queued once, and the
    people and initials read in a fixed number of statements, not per email."""


    agreement = make_agreement(status="active")
    due = NOW + DAY
    for _ in range(150):
        _breach(agreement, due)
    with statements() as seen:
        assert sweeps.breach_escalations(due) == 300
    assert not Breach.select().where(Breach.escalate_at.is_null(False)).exists()
    assert Notification.select().where(Notification.kind == "breach_escalation").count() == 300
    # 150 claims, and per batch one key look-up and one insert per 50 emails.
    batches = -(-150 // sweeps.BATCH)
    inserts = batches * -(-2 * min(150, sweeps.BATCH) // 50)
    assert len(seen.sql) <= 150 + 2 + batches + inserts + 5, len(seen.sql)
    assert sum('FROM "user"' in s for s in seen.sql) == 1, [s for s in seen.sql if 'FROM "user"' in s]
