"""Issue 13: the dashboard and record page at the limit (statements, plans, the same HTML).

Timings belong to `make bench`; here are the parts that must hold on every
machine, on SQLite and PostgreSQL: how many statements a page runs, that the
planner uses the dashboard's indexes, and that the fast dashboard renders the
page byte for byte as the plain-ORM reference does.
"""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor

import peewee
import pytest

from bench import reference_dashboard
from bench import seed as seeding
from tracker import db
from tracker.clock import utcnow
from tracker.models import Agreement, Notification, User
from tracker.oversight import dashboard

SCALE = 0.01  # 1,000 records: enough rows for the planner to choose by statistics


@pytest.fixture
def service(app):
    found = seeding.seed(SCALE, utcnow().replace(second=0, microsecond=0))
    # PostgreSQL: earlier tests' rows were deleted, not truncated. A plain VACUUM
    # frees their rows but leaves their index pages, so the indexes' sizes (which
    # the planner weighs between two near-equal indexes) depended on how many tests
    # ran before this one in its process: the plan changed with the order under
    # pytest-xdist. VACUUM FULL rebuilds tables and indexes at their true size.
    postgres = isinstance(db.database.obj, peewee.PostgresqlDatabase)
    db.database.execute_sql("VACUUM FULL ANALYZE" if postgres else "ANALYZE")
    return found


def _signed_in(app, email):
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": seeding.PASSWORD})
    assert response.status_code == 302
    return client




def _in_own_context(client, path: str):
    """A request in its own app context, as a server runs it. The test's app context
    (the `app` fixture) would keep the signed-in user in `g` from one request to the
    next, so the requests above do not read the session; a thread starts afresh."""
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(client.get, path).result()


def _without_token(html: str) -> str:
    return re.sub(r'name="csrf_token" (type="hidden" )?value="[^"]*"', "", html)


def test_the_dashboard_and_record_page_in_few_statements(app, service, statements):
    """Byte for byte, for a team manager, a service manager, a worker (their drafts), filtered, and a later page."""
    manager = _signed_in(app, service.manager_email)
    head = _signed_in(app, service.service_manager_email)
    worker = _signed_in(app, "worker1.0@bench.example")
    team = User.get(User.email == service.manager_email).team_id
    for client, path in ((manager, "/"), (manager, "/?kind=partnership"), (head, "/"), (worker, "/"),
                         (head, f"/?team={team}&overdue_reviews_page=2"), (head, "/?kind=undertaking&worker=3")):
        fast = client.get(path).get_data(as_text=True)
        with reference_dashboard.swapped_in():
            plain = client.get(path).get_data(as_text=True)
        assert "Overdue reviews" in fast
        assert _without_token(fast) == _without_token(plain), path
    # Eleven statements a request (issue 13's target): the settings, one grouped
    # count for every table, one page for the three tables of records in order of a
    # moment (dashboard.TOGETHER), one page for each other table the person sees,
    # empty or not (issue 24: the same statements whatever the data), the children's
    # names and the worker filter. On PostgreSQL one more: the grouped count alone is
    # planned generically, by a SET LOCAL inside its own transaction
    # (dashboard.GENERIC_COUNTS_FOR), and the rest per request.
    postgres = isinstance(db.database.obj, peewee.PostgresqlDatabase)
    with statements() as seen:
        assert manager.get("/").status_code == 200
    assert len(seen.sql) <= 11 + postgres, (len(seen.sql), seen.sql)
    # In a request of its own, as a server runs it, the signed-in session, its
    # user and the user's team come first, in one statement (they were three).
    with statements() as own:
        assert _in_own_context(manager, "/").status_code == 200
    assert len(own.sql) == len(seen.sql) + 1, (len(own.sql), own.sql)
    assert '"user_session"' in own.sql[0] and '"team"' in own.sql[0]
    generic = [i for i, s in enumerate(seen.sql) if "plan_cache_mode" in s]
    count_at = [i for i, s in enumerate(seen.sql) if "COUNT(" in s][0]
    assert len(generic) == postgres and all(i < count_at for i in generic), seen.sql
    if postgres:  # for that transaction only
        assert db.database.execute_sql("SHOW plan_cache_mode").fetchone()[0] == "auto"
    assert sum("COUNT(" in s for s in seen.sql) == 1  # one grouped count for every table
    # The record page, on the same service (one seed for both: it is the slow part).
    _record_page_runs_few_statements_and_still_audits(manager, service, statements)


def _record_page_runs_few_statements_and_still_audits(manager, service, statements):
    from tracker.models import AuditEvent

    record = service.record_ids[0]
    manager.get(f"/agreements/{record}")
    before = AuditEvent.select().where((AuditEvent.agreement == record) & (AuditEvent.action == "viewed")).count()
    with statements() as seen:
        assert manager.get(f"/agreements/{record}").status_code == 200
    after = AuditEvent.select().where((AuditEvent.agreement == record) & (AuditEvent.action == "viewed")).count()
    assert after == before + 1  # written in the request
    # Was 27, then 17; issue 13's target is 12. For a record with one child and
    # no breaches: the record's row with its team and people, the audit row, the
    # settings, the distribution list, one statement for the children, actions,
    # parties, reviews, versions and agency reports (models.READ_TOGETHER), the
    # breaches, readiness's requests, the warning signs, possible matches (one
    # statement for all the children), the other records of the children (one for
    # all of them) and the emails: eleven. No variation query when the record's
    # row says none is open.
    assert len(seen.sql) <= 11, (len(seen.sql), seen.sql)
    # As a server runs it, one more: the session, its user and the user's team.
    with statements() as own:
        assert _in_own_context(manager, f"/agreements/{record}").status_code == 200
    assert len(own.sql) <= 12, (len(own.sql), own.sql)
    assert not any('"variation"' in s for s in seen.sql)  # none open: the record's row says so


def _plan(sql: str, params: list) -> str:
    database = db.database.obj
    if isinstance(database, peewee.SqliteDatabase):
        rows = database.execute_sql("EXPLAIN QUERY PLAN " + sql, params).fetchall()
        return "\n".join(str(row[-1]) for row in rows)
    # At this test's size PostgreSQL rightly reads a few hundred breaches by a
    # sequential scan; with it ruled out, the plan shows the index fits the
    # query. At full size (make bench, 100,000 records) it chooses them itself.
    with database.atomic():
        database.execute_sql("SET LOCAL enable_seqscan = off")
        (row,) = database.execute_sql("EXPLAIN (FORMAT JSON) " + sql, params).fetchall()
    return json.dumps(row[0])


INDEXES = {
    "overdue_reviews": "agreement_team_status_kind_next_review",
    "reviews_soon": "agreement_team_status_kind_next_review",
    "undertakings": "agreement_team_status_kind_window_ends",
    # A service manager's breaches: 0008's ordered index, or 0031's by team (both hold only
    # the unacknowledged ones).
    "breaches": ("breach_unacknowledged", "breach_team_unacknowledged"),
    # A team manager's reviews of the week: the reviews' copy of their team (migration 0031),
    # not every scheduled review of the service that week.
    "missing_reports": "review_team_status_scheduled",
    "unacknowledged": "recipient_unacknowledged",
}

# A team manager's tables of waiting rows: 0010's or 0031's indexes by team or record, or
# 0008's ordered ones where the planner judges reading them in order cheaper.
WAITING = {
    "endorsement_queue": ("agreement_team_awaiting_endorsement", "agreement_awaiting_endorsement"),
    "breaches": ("breach_team_unacknowledged",),
    "unacknowledged": ("recipient_unacknowledged_by_agreement", "recipient_unacknowledged"),
}


# Run by `make test` in a process of its own, on a database no earlier test has written to:
# at this size two indexes cost nearly the same, and the choice between them moved with the
# history of the process's database (it failed twice among 1,100 tests under pytest-xdist).
@pytest.mark.planner
def test_the_planner_uses_the_dashboards_indexes(app, service):
    manager = User.get(User.email == service.manager_email)
    head = User.get(User.role == "service_manager")
    for key, index in INDEXES.items():
        # The breaches and copies tables are read for the whole service by a service manager.
        user = head if key in ("breaches", "unacknowledged") else manager
        plan = _plan(*dashboard.page_sql(user, dashboard.Filters(), key, utcnow()))
        assert any(name in plan for name in ((index,) if isinstance(index, str) else index)), (key, plan)
        assert not re.search(r"SCAN (t\d|agreement|review)\b(?! USING)", plan), (key, plan)
    plan = _plan(*dashboard.count_sql(manager, dashboard.Filters(), utcnow()))
    assert "Seq Scan" not in plan and not re.search(r"SCAN (t\d|agreement|review)\b(?! USING)", plan), plan
    assert "agreement_team_awaiting_endorsement" in plan or "agreement_awaiting_endorsement" in plan, plan
    # The team's reviews of the week and its unacknowledged breaches by their copies of the
    # team (migration 0031), not every such row of the service.
    assert "review_team_status_scheduled" in plan and "breach_team_unacknowledged" in plan, plan
    # The service manager's counts: the undeliverable messages found by their status (the
    # partial index of migration 0030, or the runner's (status, next attempt)), not by every
    # message of the service or every active record's. In a service whose every message was
    # sent (the bench's, after its catch-up) SQLite's statistics give one status to every
    # row: at 100,000 messages it scanned them all (14.5 ms), here it read every active record.
    Notification.update(status="sent").execute()
    db.database.execute_sql("ANALYZE notification" if isinstance(db.database.obj, peewee.PostgresqlDatabase)
                            else "ANALYZE")
    whole = _plan(*dashboard.count_sql(head, dashboard.Filters(), utcnow()))
    assert re.search(r"(SEARCH t\d+ USING (COVERING )?INDEX |Index Name.: .)notification_(failed|status_next_attempt_at)\b",
                     whole), whole
    if isinstance(db.database.obj, peewee.SqliteDatabase):
        for index in ("agreement_team_status_kind_next_review", "agreement_team_status_kind_window_ends",
                      "agreement_team_awaiting_endorsement"):
            assert index in plan, plan
    # The rows still waiting for someone, for one team (migration 0010): by a partial
    # index on those rows, never by reading every record of the team or every
    # breach and copy of the service.
    for key, indexes in WAITING.items():
        plan = _plan(*dashboard.page_sql(manager, dashboard.Filters(), key, utcnow()))
        assert any(index in plan for index in indexes), (key, plan)
        assert "Seq Scan" not in plan and not re.search(r"SCAN (t\d|agreement|breach|recipient)\b(?! USING)", plan)
    # A count needs no order, and at this size PostgreSQL may as well count a team's
    # few rows through the older (status, kind, moment) index; either is an index.
    assert Agreement.select().count() >= 1000
