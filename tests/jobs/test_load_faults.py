"""Load and faults (R10): concurrent breaches through gunicorn, a job runner killed
mid-pass, a locked SQLite database, a mail server down for a long outage.

Each runs small in `make test` and full size in `make soak` (SOAK=full).
"""

from __future__ import annotations

import datetime as dt
import re
import signal
import sqlite3
import subprocess
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from aiosmtpd.controller import Controller

from jobs.delivery import BATCH, LEASE, deliver_pending
from tests.conftest import NOW, PASSWORD, Inbox, free_port
from tracker.clock import utcnow
from tracker.db import database
from tracker.models import Breach, Notification

pytestmark = pytest.mark.soak

MINUTE = dt.timedelta(minutes=1)
PASS = dt.timedelta(seconds=20)  # jobs.scheduler.DELIVERY_SECONDS: how often the runner delivers


def queue(name: str, n: int, now: dt.datetime) -> str:
    """One pending message to its own address, as enqueue leaves it; returns the address."""
    address = f"agency{n}@example.org"
    Notification.create(key=f"load/{name}/{n}", kind="breach_alert", to_address=address,
                        subject=f"Load test message {n}", body_text=f"Message {n}.",
                        status="pending", next_attempt_at=now, created_at=now)
    return address


def breach_fields(n: int) -> dict:
    # No "when it happened" fields: the form takes that as now.
    return {"immediate_risk": "no", "description": f"Load test breach {n}: Mr Murphy came to the house.",
            "reported_by": f"Caller {n} by phone"}


def alert_keys() -> list[str]:
    return [n.key for n in Notification.select(Notification.key).where(Notification.kind == "breach_alert")]


# --- 200 breaches through gunicorn's workers at once --------------------------------

def test_breaches_posted_concurrently_through_gunicorn_are_each_stored_and_alerted_once(
    app, people, make_agreement, database_url, tmp_path
, load):
    breaches, clients = load.size(20, 200), load.size(8, 16)
    agreement = make_agreement(status="active")
    addresses = (people.worker.email, people.manager.email)
    database.close()  # all of it is committed; the workers open their own connections
    form = f"/agreements/{agreement.id}/breaches/new"
    own = threading.local()

    def log_breach(n: int) -> tuple[int, int, str, str]:
        # Each client thread is one person's browser: its own cookie jar and session.
        if not hasattr(own, "browser"):
            own.browser = load.Browser(server.url)
            own.browser.sign_in(people.worker.email, PASSWORD)
        status, headers, page = own.browser.submit(form, breach_fields(n))
        return n, status, headers.get("Location", ""), page[:300]

    with load.Gunicorn(free_port(), load.environment(database_url, tmp_path / "served"), tmp_path / "gunicorn.log",
                  workers=4) as server:
        with ThreadPoolExecutor(clients) as pool:
            results = list(pool.map(log_breach, range(breaches)))
        errors = server.errors()

    assert not errors, errors[-3000:]
    refused = [r for r in results if r[1] != 302 or not re.search(r"/breaches/\d+$", r[2])]
    assert not refused, refused[:5]
    logged = {int(location.rsplit("/", 1)[1]) for _, _, location, _ in results}
    assert len(logged) == breaches  # each request made its own breach
    stored = {b.id: b.description for b in Breach.select().where(Breach.agreement == agreement.id)}
    assert set(stored) == logged
    assert sorted(stored.values()) == sorted(breach_fields(n)["description"] for n in range(breaches))
    keys = alert_keys()
    assert len(keys) == len(set(keys)) == 2 * breaches  # the social worker and the manager, once each
    assert set(keys) == {f"breach/{b}/alert/{address}" for b in logged for address in addresses}


# --- the job runner killed with SIGKILL mid-pass -------------------------------------

@pytest.fixture
def slow_smtp(app, load):
    """A real SMTP server that takes a while over each message."""
    inbox = load.SlowInbox(delay=load.size(0.2, 0.1))
    inbox.port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    yield inbox
    controller.stop()


def test_a_runner_killed_mid_pass_loses_nothing_and_repeats_at_most_the_message_in_flight(
    app, slow_smtp, database_url, tmp_path
, load):
    count = load.size(10, 60)
    started = utcnow()
    addresses = {queue("kill", n, started) for n in range(count)}
    database.close()
    env = load.environment(database_url, tmp_path / "runner", MAIL_SERVER="127.0.0.1", MAIL_PORT=str(slow_smtp.port),
                      MAIL_TIMEOUT="10")

    # 1. The production runner starts its first delivery pass five seconds in;
    #    kill it, with no chance to tidy up, once a third of the mail is out.
    with open(tmp_path / "runner.log", "wb") as log:
        runner = load.flask_command("jobs", "run", env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while len(slow_smtp.messages) < count // 3:
                assert runner.poll() is None, (tmp_path / "runner.log").read_text()
                assert time.monotonic() < deadline, "the runner sent nothing in a minute"
                time.sleep(0.02)
            runner.send_signal(signal.SIGKILL)
            runner.wait(10)
        finally:
            load.stop(runner)
    at_kill = Counter(n.status for n in Notification.select())
    in_flight = {n.to_address for n in Notification.select().where(Notification.status == "sending")}
    assert 0 < at_kill["sent"] < count and at_kill["pending"] + at_kill["sending"] == count - at_kill["sent"], at_kill  # killed mid-pass
    # Rows of the batch it had claimed but not begun are "sending" too (claimed in
    # one statement a batch); only the one in flight may have reached the server.
    assert len(in_flight) <= BATCH and at_kill["failed"] == 0

    # 2. Restarted after the dead runner's lease has lapsed, one pass sends the rest.
    after_lease = (utcnow() + LEASE + MINUTE).isoformat() + "+00:00"
    restart = load.flask_command("jobs", "tick", "--at", after_lease, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        output, _ = restart.communicate(timeout=120)
    finally:
        load.stop(restart)
    assert restart.returncode == 0, output

    assert Counter(n.status for n in Notification.select()) == {"sent": count}, output
    received = Counter(rcpt for rcpts, _ in slow_smtp.messages for rcpt in rcpts)
    assert set(received) == addresses  # nothing lost
    repeated = {address: times for address, times in received.items() if times > 1}
    assert set(repeated) <= in_flight and sum(repeated.values()) <= 2, (repeated, in_flight)


# --- SQLite briefly locked by another writer ----------------------------------------

def test_a_briefly_locked_sqlite_database_makes_breaches_wait_then_succeed(app, people, make_agreement, database_url, load):
    if not database_url.startswith("sqlite:///"):
        pytest.skip("SQLite only: PostgreSQL locks rows, never the whole database")
    posts, hold = load.size(1, 4), load.size(1.5, 5.0)  # held for well under the 10-second busy timeout
    agreement = make_agreement(status="active")

    def signed_in(_):
        # In a thread of its own: the main thread's requests share the fixture's
        # app context, where Flask-Login caches the first sign-in for the rest.
        client = app.test_client()
        response = client.post("/login", data={"email": people.worker.email, "password": PASSWORD})
        assert response.status_code == 302 and response.location == "/", response.location
        return client

    with ThreadPoolExecutor(posts) as pool:
        clients = list(pool.map(signed_in, range(posts)))
    database.close()
    locked, released = threading.Event(), threading.Event()

    def other_writer() -> None:
        other = sqlite3.connect(database_url[len("sqlite:///"):], timeout=10, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # the write lock, as a backup or a second process would hold it
            locked.set()
            time.sleep(hold)
            released.set()
            other.execute("COMMIT")
        finally:
            other.close()

    writer = threading.Thread(target=other_writer)
    writer.start()
    assert locked.wait(10)
    began = time.monotonic()

    def log_breach(n: int) -> tuple[int, float, bool]:
        response = clients[n].post(f"/agreements/{agreement.id}/breaches/new", data=breach_fields(n))
        logged = re.fullmatch(r"/breaches/\d+", response.location or "") is not None
        return response.status_code if logged else response.location, time.monotonic() - began, released.is_set()

    with ThreadPoolExecutor(posts) as pool:
        results = list(pool.map(log_breach, range(posts)))
    writer.join(30)

    assert [status for status, _, _ in results] == [302] * posts
    assert all(after_release for _, _, after_release in results)  # each waited for the lock
    assert min(waited for _, waited, _ in results) >= hold * 0.9
    assert Breach.select().count() == posts
    assert len(alert_keys()) == 2 * posts


# --- the mail server down for the whole soak -----------------------------------------

def test_mail_queued_while_the_server_is_down_is_all_delivered_once_it_returns(app, database_url, load):
    """A long outage as the runner lives it: a pass every 20 seconds (every two
    minutes at full size, to keep a 64-hour weekend to seconds of test).

    1. Messages are queued all through the outage; every pass finds the server
       unreachable. Passes with nothing due are skipped (they do nothing).
    2. Nothing is sent, nothing is given up: every message is pending with the
       error recorded, and no attempt counted against it (none reached a server),
       so a weekend's outage does not use up MAX_ATTEMPTS.
    3. The server returns; within minutes, not hours of backoff, every message
       is delivered, each exactly once.
    """
    messages, outage = load.size(12, 120), load.size(dt.timedelta(hours=2), dt.timedelta(hours=64))  # full: a weekend
    port = free_port()  # nothing listens here until the server returns
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_TIMEOUT=2, MAIL_USE_TLS=False)
    spacing, step = outage / messages, load.size(PASS, 2 * MINUTE)
    addresses: set[str] = set()

    def next_pass(now: dt.datetime) -> dt.datetime:
        due = [n.next_attempt_at for n in Notification.select().where(Notification.status == "pending")]
        if len(addresses) < messages:
            due.append(NOW + len(addresses) * spacing)
        return max(now + step, min(due)) if due else now + step

    now = NOW
    while now < NOW + outage:
        while len(addresses) < messages and NOW + len(addresses) * spacing <= now:
            addresses.add(queue("outage", len(addresses), now))
        report = deliver_pending(now)
        assert report.sent == 0 and report.failed == 0, report.summary()
        now = next_pass(now)

    rows = list(Notification.select())
    assert len(rows) == messages
    assert Counter(row.status for row in rows) == {"pending": messages}
    assert all(row.attempts == 0 for row in rows)
    # One row is tried per pass (the pass ends at the first refusal), so the
    # newest may not have had its turn yet; every one that did says why.
    assert all(row.last_error == "" or "Could not connect" in row.last_error for row in rows)
    assert sum("Could not connect" in row.last_error for row in rows) >= messages // 2

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    returned = now
    try:
        while Notification.select().where(Notification.status == "pending").exists():
            assert now <= returned + 5 * MINUTE, "still undelivered five minutes after the server returned"
            deliver_pending(now)
            now = next_pass(now)
    finally:
        controller.stop()

    assert Counter(row.status for row in Notification.select()) == {"sent": messages}
    received = Counter(rcpt for rcpts, _ in inbox.messages for rcpt in rcpts)
    assert received == Counter(addresses)  # every message, exactly once
