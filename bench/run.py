"""`make bench`: seed a synthetic service and measure it, in one run.

1. Seed a full-size service (bench.seed, scale 1) into a fresh database:
   SQLite under bench/tmp/, or, when DATABASE_URL names a PostgreSQL
   database, a `bench_full` schema inside it (dropped at the end).
2. Catch up: one sweep at `now`, and mark what it queued as sent, as a
   running job runner would have done.
3. Sweeps with nothing (new) due: every job at `now`, repeated.
4. The manager's dashboard through the Flask test client, beside a baseline
   (a bare Flask view: one indexed peewee query, the same number of rows,
   Jinja); the service manager's dashboard; a record page; the breach form POST.
   The dashboard's HTML is compared with the plain-ORM reference
   (bench/reference_dashboard.py) once: any difference but the CSRF token
   stops the run.
5. The dashboard over HTTP through gunicorn (2 workers), then the workers' memory.
5a. Load (issue 13): gunicorn with sync and then gthread workers (2 workers, 4
   threads each), to 127.0.0.1 only; the dashboard and a record page
   alternately from 1, 4 and 16 concurrent clients, BENCH_LOAD_REQUESTS (48)
   of each page per level; then 16 clients while a job runner process sweeps
   the 1,000 planted items (up to 600 requests, for as long as it works). The
   planted moments are put back afterwards (Planted.restore), so step 6 sweeps
   the same work.
6. The sweep with the 1,000 planted items due (at now + 10 minutes), five times
   with the moments put back between runs; the median run is reported.
7. Delivery of everything queued to an SMTP sink (aiosmtpd on 127.0.0.1).
8. Steps 1-3 and 6 again at a tenth of the data, to show how the sweep's cost grows.

Issue 24: steps 1-3 and the pages run at each scale of BENCH_SCALES (1 and 10
by default; a team's caseload grows with the square root of the scale): every
page interleaved with the floor (page_figures), then the growth ratios from the
first scale to the last. Steps 4-7 run at the first scale unless BENCH_QUICK.

Results go to bench/results-<engine>.json, this run's only, with the machine's
facts (date, commit, load average at start and end), and a table is printed.
Targets are reported, not asserted. Medians use time.perf_counter after a
warm-up. Set BENCH_KEEP=1 to keep the databases for inspection.
"""

from __future__ import annotations

import datetime as dt
import http.cookiejar
import json
import os
import platform
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TMP = ROOT / "bench" / "tmp"
RESULTS = ROOT / "bench" / "results.json"
SECRET_KEY = "bench-secret-key-not-for-production"

REPS = int(os.environ.get("BENCH_REPS", "40"))
WARMUP = 5
SWEEP_REPS = int(os.environ.get("BENCH_SWEEP_REPS", "7"))
DUE_SWEEP_REPS = int(os.environ.get("BENCH_DUE_SWEEP_REPS", "5"))

os.environ.setdefault("SECRET_KEY", SECRET_KEY)
os.environ["SCHEDULER_ENABLED"] = "false"
os.environ.pop("MAIL_SERVER", None)

from flask import Flask, render_template  # noqa: E402
from jinja2 import DictLoader  # noqa: E402

from bench import seed as seeding  # noqa: E402
from tracker import create_app, db  # noqa: E402
from tracker.clock import to_london, utcnow  # noqa: E402
from tracker.db import database  # noqa: E402
from tracker.models import Agreement, Notification, User  # noqa: E402


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- measuring ---------------------------------------------------------------------

class Queries:
    """Count the SQL statements run while it is active (peewee's execute_sql)."""

    def __init__(self):
        self.count = 0

    @contextmanager
    def counting(self):
        target = database.obj
        original = target.execute_sql

        def counted(sql, params=None, *args, **kwargs):
            self.count += 1
            return original(sql, params, *args, **kwargs)

        target.execute_sql = counted
        try:
            yield self
        finally:
            del target.execute_sql


def timed(work, reps: int = REPS, warmup: int = WARMUP) -> dict:
    """Median and 90th percentile in milliseconds of `work()`, after a warm-up."""
    for _ in range(warmup):
        work()
    samples = []
    for _ in range(reps):
        start = time.perf_counter()
        work()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return {"median_ms": round(statistics.median(samples), 2),
            "p90_ms": round(samples[min(len(samples) - 1, int(len(samples) * 0.9))], 2),
            "min_ms": round(samples[0], 2), "reps": reps}


def _elapsed(work) -> tuple[float, float]:
    """Wall-clock and this thread's CPU milliseconds of one `work()`."""
    start, cpu = time.perf_counter(), time.thread_time()
    work()
    return (time.perf_counter() - start) * 1000, (time.thread_time() - cpu) * 1000


def timed_together(works: dict, reps: int = REPS, warmup: int = WARMUP) -> dict:
    """`timed` for several pages at once, interleaved: each round asks for each page
    in turn, so a burst of other work on the machine slows them all alike and
    their ratio holds. Each work returns its (wall, CPU) milliseconds.

    Also the median of the rounds' ratios to the first work (the baseline), wall
    and CPU: on SQLite every part of a request is in this process, so the CPU
    ratio is what another program's load disturbs least.
    """
    for _ in range(warmup):
        for work in works.values():
            work()
    samples = {name: [] for name in works}
    for _ in range(reps):
        for name, work in works.items():
            samples[name].append(work())
    first = next(iter(works))
    out = {}
    for name, pairs in samples.items():
        wall = sorted(w for w, _ in pairs)
        cpu = sorted(c for _, c in pairs)
        out[name] = {"median_ms": round(statistics.median(wall), 2),
                     "p90_ms": round(wall[min(len(wall) - 1, int(len(wall) * 0.9))], 2),
                     "min_ms": round(wall[0], 2), "cpu_median_ms": round(statistics.median(cpu), 2), "reps": reps}
        if name != first:
            rounds = list(zip(pairs, samples[first], strict=True))
            out[name]["vs_baseline"] = {
                "median_of_rounds": round(statistics.median(w / b for (w, _), (b, _) in rounds), 2),
                "cpu_median_of_rounds": round(statistics.median(c / d for (_, c), (_, d) in rounds if d > 0), 2),
                "of_medians": round(statistics.median(wall) / statistics.median(w for w, _ in samples[first]), 2),
                "of_minimums": round(wall[0] / min(w for w, _ in samples[first]), 2),
            }
    return out


def queries_of(work, tries: int = 3) -> int:
    """The fewest statements of a few runs: a page's own statements, without a write
    that comes once a minute whatever the page (the session's last-seen time,
    people.sessions.TOUCH_EVERY), which made the lightest page 3 at one scale, 4 at the next."""
    fewest = None
    for _ in range(tries):
        counter = Queries()
        with counter.counting():
            work()
        fewest = counter.count if fewest is None else min(fewest, counter.count)
    return fewest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- databases ---------------------------------------------------------------------

def is_postgres(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def fresh_database(engine: str, tag: str, base_url: str) -> str:
    """A URL for an empty database for one scale: a file, or a schema of its own."""
    if engine == "sqlite":
        TMP.mkdir(parents=True, exist_ok=True)
        path = TMP / f"bench-{tag}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        return f"sqlite:///{path}"
    import psycopg

    schema = f"bench_{tag}"
    with psycopg.connect(base_url.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        conn.execute(f"CREATE SCHEMA {schema}")
    joiner = "&" if "?" in base_url else "?"
    return base_url + joiner + urllib.parse.urlencode({"options": f"-c search_path={schema}"})


def drop_database(engine: str, url: str, base_url: str) -> None:
    if os.environ.get("BENCH_KEEP"):
        return
    database.close() if not database.is_closed() else None
    if engine == "sqlite":
        path = url[len("sqlite:///"):]
        for suffix in ("", "-wal", "-shm"):
            Path(path + suffix).unlink(missing_ok=True)
        return
    import psycopg

    schema = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["options"][0].split("=")[1]
    with psycopg.connect(base_url.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def make_app(url: str, instance: Path) -> Flask:
    shutil.rmtree(instance, ignore_errors=True)
    os.environ["TRACKER_INSTANCE"] = str(instance)
    app = create_app({
        "DATABASE_URL": url,
        "SECRET_KEY": SECRET_KEY,
        "WTF_CSRF_ENABLED": False,
        "SCHEDULER_ENABLED": False,
        "MAIL_SERVER": None,
        "BASE_URL": "http://127.0.0.1:5000",
        "FRONT_DOOR_EMAIL": "front-door@bench.example",
    })
    add_floor(app)
    database.connect(reuse_if_open=True)
    db.migrate()
    return app


def choose_now() -> dt.datetime:
    """The seed's `now`: this minute, unless the ten minutes after it cross the
    digest hour (07:30 London) or midnight, which would plant unintended work."""
    now = utcnow().replace(second=0)
    local = [to_london(now + dt.timedelta(minutes=m)) for m in (0, 11)]
    if local[0].date() != local[1].date() or (local[0].strftime("%H:%M") < "07:30" <= local[1].strftime("%H:%M")):
        now -= dt.timedelta(minutes=15)
    return now


# --- sweeps ------------------------------------------------------------------------

def sweep_once(now: dt.datetime) -> dict:
    """Every sweep as of `now`, each timed and its queries counted."""
    from jobs.sweeps import SWEEPS

    by_job, queued, total_queries = {}, 0, 0
    start, cpu = time.perf_counter(), time.process_time()
    for name, sweep in SWEEPS:
        counter = Queries()
        begun = time.perf_counter()
        with counter.counting():
            count = sweep(now)
        by_job[name] = {"ms": round((time.perf_counter() - begun) * 1000, 2), "queued": count,
                        "queries": counter.count}
        queued += count
        total_queries += counter.count
    # The process's CPU time besides the wall clock: on SQLite all of a sweep's
    # work is in this process, so it is what other work on the machine disturbs least.
    return {"ms": round((time.perf_counter() - start) * 1000, 2),
            "cpu_ms": round((time.process_time() - cpu) * 1000, 2), "queued": queued, "queries": total_queries,
            "by_job": by_job}


def catch_up(service) -> dict:
    """What a running job runner would already have done by `now`: queued and sent."""
    start = time.perf_counter()
    report = sweep_once(service.now)
    Notification.update(status="sent", sent_at=service.now, claimed_until=None).where(
        Notification.status == "pending").execute()
    # The stored warning signs of every active record (bench.seed queued them all).
    from tracker.records import sign_store

    signs_start = time.perf_counter()
    stored = sign_store.refresh_stored(service.now)
    return {"seconds": round(time.perf_counter() - start, 1), "queued": report["queued"],
            "by_job": {k: v["queued"] for k, v in report["by_job"].items() if v["queued"]},
            "signs_stored": stored, "signs_seconds": round(time.perf_counter() - signs_start, 1)}


def idle_sweeps(service, reps: int = SWEEP_REPS) -> dict:
    """Sweeps at `now` after the catch-up: nothing new is due, so nothing is queued."""
    runs = [sweep_once(service.now) for _ in range(reps + 1)][1:]  # the first warms the caches
    queued = sum(r["queued"] for r in runs)
    middle = sorted(runs, key=lambda r: r["ms"])[len(runs) // 2]
    return {"median_ms": middle["ms"], "min_ms": min(r["ms"] for r in runs), "queries": middle["queries"],
            "queued": queued, "reps": reps,
            "by_job_ms": {k: statistics.median(r["by_job"][k]["ms"] for r in runs) for k in middle["by_job"]},
            "by_job_queries": {k: v["queries"] for k, v in middle["by_job"].items()}}


def due_sweep(service, planted: Planted | None = None, reps: int = DUE_SWEEP_REPS) -> dict:
    """A sweep at now + 10 minutes, when the planted items have fallen due.

    With `planted`, the sweep runs `reps` times, the planted moments put back
    between runs, and the median run is reported (the first run also pays for
    compiling the email templates, once a process); the last run's emails stay
    queued for delivery. Without it, one run.
    """
    runs = []
    for rep in range(reps if planted is not None else 1):
        if rep:
            planted.restore()
        runs.append(sweep_once(service.due_at))
    report = sorted(runs, key=lambda r: r["ms"])[len(runs) // 2]
    emails = max(1, report["queued"])
    return {"ms": report["ms"], "cpu_ms": report["cpu_ms"], "queued": report["queued"], "queries": report["queries"],
            "runs_ms": [r["ms"] for r in runs], "runs_cpu_ms": [r["cpu_ms"] for r in runs],
            "ms_per_email": round(report["ms"] / emails, 3),
            "min_ms_per_email": round(min(r["ms"] for r in runs) / emails, 3),
            "cpu_ms_per_email": round(report["cpu_ms"] / emails, 3),
            "queries_per_email": round(report["queries"] / emails, 2),
            "items": sum(service.counts[k] for k in ("due_reminders", "due_undertakings", "due_chases", "due_breaches")),
            "by_job_ms": {k: v["ms"] for k, v in report["by_job"].items()},
            "by_job_queued": {k: v["queued"] for k, v in report["by_job"].items()}}


# --- web, in process ----------------------------------------------------------------

BASELINE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Baseline</title></head><body>
<table class="govuk-table">
  <thead class="govuk-table__head"><tr class="govuk-table__row">
    <th scope="col" class="govuk-table__header">Record</th><th scope="col" class="govuk-table__header">Kind</th>
    <th scope="col" class="govuk-table__header">Status</th><th scope="col" class="govuk-table__header">Review</th>
    <th scope="col" class="govuk-table__header">Purpose</th>
  </tr></thead>
  <tbody class="govuk-table__body">
  {% for a in rows %}
    <tr class="govuk-table__row">
      <td class="govuk-table__cell"><a class="govuk-link" href="{{ url_for('show', agreement_id=a.id) }}">{{ a.reference }}</a></td>
      <td class="govuk-table__cell">{{ a.kind }}</td>
      <td class="govuk-table__cell">{{ a.status }}</td>
      <td class="govuk-table__cell">{{ a.next_review_at.strftime('%d %B %Y at %H:%M') if a.next_review_at else '' }}</td>
      <td class="govuk-table__cell">{{ a.purpose|truncate(120) }}</td>
    </tr>
  {% endfor %}
  </tbody>
</table></body></html>"""


def baseline_app(team_id: int, rows: int) -> Flask:
    """A bare Flask view: one indexed query (Agreement team+status), `rows` rows, Jinja."""
    app = Flask("bench_baseline")
    app.jinja_loader = DictLoader({"baseline.html": BASELINE})

    @app.before_request
    def _connect():
        database.connect(reuse_if_open=True)

    @app.teardown_request
    def _close(exc):
        if not database.is_closed():
            database.close()

    @app.route("/")
    def index():
        found = (Agreement.select().where((Agreement.team == team_id) & (Agreement.status == "active"))
                 .order_by(Agreement.id).limit(rows))
        return render_template("baseline.html", rows=list(found))

    @app.route("/agreements/<int:agreement_id>")
    def show(agreement_id: int):
        return ""

    return app


def signed_in(app: Flask, email: str):
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": seeding.PASSWORD})
    assert response.status_code == 302, response.data[:300]
    return client


def web_figures(app: Flask, service) -> dict:
    from tracker.oversight import dashboard

    figures: dict = {}
    manager = signed_in(app, service.manager_email)

    def get_dashboard():
        response = manager.get("/")
        assert response.status_code == 200 and b"Overdue reviews" in response.data, response.status_code

    with app.app_context():
        user = User.get(User.email == service.manager_email)
        tables = dashboard.tables(user, dashboard.Filters(), utcnow())
    rows = sum(len(t.rows) for t in tables)
    # The fast dashboard must be the same page as the plain-ORM reference (issue 13).
    from bench import reference_dashboard

    # What differs between two requests by design: the form token, the session's own
    # token for "Stay signed in", and the seconds left of the session (a second may tick).
    token = re.compile(r'name="csrf_token" (type="hidden" )?value="[^"]*"|data-csrf-token="[^"]*"|data-seconds-left="\d+"')
    fast = token.sub("", manager.get("/").get_data(as_text=True))
    with reference_dashboard.swapped_in():
        plain = token.sub("", manager.get("/").get_data(as_text=True))
    if fast != plain:
        (TMP / "dashboard-fast.html").write_text(fast)
        (TMP / "dashboard-reference.html").write_text(plain)
        raise SystemExit(f"The dashboard's HTML differs from the reference: see {TMP}/dashboard-*.html")
    figures["dashboard_html_identical"] = True

    baseline = baseline_app(service.team_id, rows).test_client()

    def get_baseline():
        response = baseline.get("/")
        assert response.status_code == 200 and response.data.count(b'<tr class="govuk-table__row">') == rows + 1

    ids = iter(service.record_ids * 1000)

    def get_record():
        response = manager.get(f"/agreements/{next(ids)}")
        assert response.status_code == 200, response.status_code

    # The baseline, the dashboard and a record page, interleaved (timed_together).
    # The baseline runs in a thread of its own: it opens and closes its
    # connection every request, as a bare peewee app does, and on SQLite that
    # must not close the connection the tracker keeps in this thread.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as own_thread:
        together = timed_together({
            "baseline": lambda: own_thread.submit(_elapsed, get_baseline).result(),
            "dashboard": lambda: _elapsed(get_dashboard),
            "record_page": lambda: _elapsed(get_record),
        })
        figures["baseline"] = {**together["baseline"], "rows": rows,
                               "queries": own_thread.submit(queries_of, get_baseline).result()}
    figures["dashboard"] = {**together["dashboard"], "queries": queries_of(get_dashboard), "rows": rows,
                            "counts": {t.key: t.count for t in tables}}
    figures["record_page"] = {**together["record_page"], "queries": queries_of(get_record)}
    log(f"baseline: {figures['baseline']['median_ms']} ms; dashboard (team manager): "
        f"{figures['dashboard']['median_ms']} ms, {rows} rows, {figures['dashboard']['vs_baseline']}; "
        f"record page: {figures['record_page']['median_ms']} ms, {figures['record_page']['vs_baseline']}")

    head = signed_in(app, service.service_manager_email)

    def get_service_dashboard():
        assert head.get("/").status_code == 200

    figures["dashboard_service_manager"] = {**timed(get_service_dashboard, reps=max(10, REPS // 2)),
                                            "queries": queries_of(get_service_dashboard)}
    log(f"dashboard (service manager): {figures['dashboard_service_manager']['median_ms']} ms")

    def post_breach():
        happened = to_london(utcnow() - dt.timedelta(minutes=10))
        response = manager.post(f"/agreements/{next(ids)}/breaches/new", data={
            "immediate_risk": "no", "description": "Father came to the house after 9pm, against the agreement.",
            "occurred_at-day": happened.day, "occurred_at-month": happened.month,
            "occurred_at-year": happened.year, "occurred_at-time": happened.strftime("%H:%M"),
            "action": "0", "term": "No visits after 9pm", "reported_by": "Neighbour, by phone"})
        assert response.status_code == 302, response.data[:500]

    figures["breach_post"] = {**timed(post_breach), "queries": queries_of(post_breach)}
    log(f"breach POST: {figures['breach_post']['median_ms']} ms")
    return figures


# --- the honest floor, and every page against it (issue 24) -----------------------------

FLOOR_PATH = "/_bench/floor"
HEAVY_REPS = int(os.environ.get("BENCH_HEAVY_REPS", "7"))  # the service view and its CSV: slower pages
SEARCH_TERM = os.environ.get("BENCH_SEARCH", "Murphy")  # a surname (bench.seed.LAST)


def add_floor(app: Flask) -> None:
    """The floor, a route of the tracker app itself (before its first request): the same
    rows as the team manager's dashboard shows, only the columns it shows, read as
    tuples on the connection the app keeps, then the children's names, rendered by the
    dashboard's own fragment (dashboard/_tables.html) as one table. No session, no
    scope, no counts: what any page showing those rows must at least do."""
    from tracker.oversight import dashboard

    state: dict = {}

    def floor():
        now = utcnow()
        found = [dashboard._agreement(r) for r in (
            Agreement.select(*dashboard.SHOWN)
            .join(dashboard._worker, peewee_join_left(), on=(Agreement.social_worker == dashboard._worker.id))
            .where((Agreement.team == state["team"]) & (Agreement.status == "active"))
            .order_by(Agreement.id).limit(state["rows"]).tuples())]
        table = dashboard.Table("overdue_reviews", dashboard.TABLES["overdue_reviews"], len(found), found, 1, 1)
        return render_template("dashboard/_tables.html", tables=[table],
                               names=dashboard.children_names([a.id for a in found]), now=now,
                               filters=dashboard.Filters(), pages={}, overdue_by=dashboard.overdue_by,
                               time_left=dashboard.time_left, OWN_PARTIALS=dashboard.OWN_PARTIALS,
                               columns=dashboard.COLUMNS)

    app.add_url_rule(FLOOR_PATH, "bench_floor", floor)
    app.extensions["bench_floor"] = state


def peewee_join_left():
    from peewee import JOIN

    return JOIN.LEFT_OUTER


def _getter(client, path: str, expect: bytes | None = None):
    def get():
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        if expect is not None:
            assert expect in response.data, (path, expect)
        return len(response.data)
    return get


def page_figures(app: Flask, service, engine: str) -> dict:
    """Every page interleaved with the floor (timed_together), its statements, its size.

    Pages: the lightest signed-in page (/account/sessions), the team manager's
    dashboard, a record page, the register, the register searched for a surname,
    the front door's and the service manager's dashboards; then, in fewer rounds,
    the service view and its figures CSV. The old baseline (a bare peewee app reading
    whole rows on a fresh connection) runs beside them for continuity.
    """
    from concurrent.futures import ThreadPoolExecutor

    from tracker.oversight import dashboard

    with app.app_context():
        user = User.get(User.email == service.manager_email)
        rows = sum(len(t.rows) for t in dashboard.tables(user, dashboard.Filters(), utcnow()))
    app.extensions["bench_floor"].update(team=service.team_id, rows=rows)
    anonymous = app.test_client()
    manager = signed_in(app, service.manager_email)
    head = signed_in(app, service.service_manager_email)
    door = signed_in(app, service.front_door_email)
    ids = iter(service.record_ids * 100000)
    record_page = lambda: manager.get(f"/agreements/{next(ids)}")  # noqa: E731

    def get_record():
        response = record_page()
        assert response.status_code == 200
        return len(response.data)

    pages = {
        "floor": _getter(anonymous, FLOOR_PATH, b"govuk-table"),
        "lightest": _getter(manager, "/account/sessions"),
        "dashboard": _getter(manager, "/", b"Overdue reviews"),
        "record_page": get_record,
        "register": _getter(manager, "/agreements"),
        "register_search": _getter(manager, f"/agreements?q={SEARCH_TERM}"),
        "front_door_dashboard": _getter(door, "/"),
        "service_manager_dashboard": _getter(head, "/"),
    }
    if engine == "postgresql":
        # The team dashboard with generic plans for every statement (tracker.db.planned_once)
        # and with the planner's per-request plans for every statement, side by side with
        # what the app does (`dashboard`: its grouped count alone generic,
        # oversight.dashboard.GENERIC_COUNTS_FOR).
        def with_plans(generic: bool):
            def get():
                kept = dashboard.GENERIC_PLANS_FOR, dashboard.GENERIC_COUNTS_FOR
                dashboard.GENERIC_PLANS_FOR = ("team_manager",) if generic else ()
                dashboard.GENERIC_COUNTS_FOR = ()
                try:
                    return pages["dashboard"]()
                finally:
                    dashboard.GENERIC_PLANS_FOR, dashboard.GENERIC_COUNTS_FOR = kept
            return get
        pages["dashboard_generic_plans"] = with_plans(True)
        pages["dashboard_custom_plans"] = with_plans(False)
    old = baseline_app(service.team_id, rows).test_client()

    def get_old_baseline():
        response = old.get("/")
        assert response.status_code == 200
        return len(response.data)

    sizes: dict = {}

    def measured(name, work):
        def run():
            wall, cpu = _elapsed(lambda: sizes.__setitem__(name, work()))
            return wall, cpu
        return run

    with ThreadPoolExecutor(max_workers=1) as own_thread:
        works = {name: measured(name, work) for name, work in pages.items()}
        # Its own thread: it opens and closes its connection, which must not close the app's.
        works["old_baseline"] = lambda: own_thread.submit(_elapsed, get_old_baseline).result()
        light = timed_together(works)
        heavy = timed_together({
            "floor": measured("floor", pages["floor"]),
            "service_view": measured("service_view", _getter(head, "/service/")),
            "service_csv": measured("service_csv", _getter(head, "/service/figures.csv")),
        }, reps=HEAVY_REPS, warmup=1)
        old_queries = own_thread.submit(queries_of, get_old_baseline).result()
    out = {"rows": rows, "search_term": SEARCH_TERM, "pages": {}}
    statements = {"old_baseline": old_queries}
    for name, work in {**pages, "service_view": _getter(head, "/service/"),
                       "service_csv": _getter(head, "/service/figures.csv")}.items():
        statements[name] = queries_of(work)
    for group in (light, heavy):
        for name, figures in group.items():
            if name == "floor" and group is heavy:
                out["floor_heavy_rounds"] = figures
                continue
            entry = {**figures, "statements": statements.get(name), "bytes": sizes.get(name)}
            if "vs_baseline" in entry:
                entry["vs_floor"] = entry.pop("vs_baseline")
            out["pages"][name] = entry
    # Against the lightest signed-in page: the ratio of the medians (both in the same rounds).
    lightest = out["pages"]["lightest"]["median_ms"]
    for entry in out["pages"].values():
        entry["vs_lightest"] = round(entry["median_ms"] / lightest, 2) if lightest else None
    log("pages: " + "; ".join(f"{k} {v['median_ms']} ms ({v.get('vs_floor', {}).get('median_of_rounds', 1)}x floor, "
                               f"{v['statements']} statements)" for k, v in out["pages"].items()))
    return out


def growth(small: dict, large: dict) -> dict:
    """Each page at the larger scale against the smaller: the ratio of the medians, the
    ratio of its floor ratios (each measured interleaved with its floor, so the machine's
    load between the two runs cancels), and its statements at both."""
    out = {}
    for name, big in large["pages"].items():
        little = small["pages"].get(name)
        if not little:
            continue
        floor_ratio = None
        if "vs_floor" in big and "vs_floor" in little and little["vs_floor"]["median_of_rounds"]:
            floor_ratio = round(big["vs_floor"]["median_of_rounds"] / little["vs_floor"]["median_of_rounds"], 2)
        out[name] = {"median_ratio": round(big["median_ms"] / little["median_ms"], 2) if little["median_ms"] else None,
                     "vs_floor_ratio": floor_ratio,
                     "statements": [little["statements"], big["statements"]]}
    return out


# --- web, over HTTP through gunicorn ---------------------------------------------------

# Production settings refuse a per-process rate-limit store (tracker.web.ratelimit): the
# workers share a Redis (BENCH_REDIS), under a prefix of this run's own.
RATE_LIMITS = {"RATELIMIT_STORAGE_URI": os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379"),
               "RATELIMIT_KEY_PREFIX": f"bench-{os.getpid()}"}


def gunicorn_figures(url: str, instance: Path, service) -> dict:
    port = free_port()
    env = dict(os.environ, DATABASE_URL=url, SECRET_KEY=SECRET_KEY, TRACKER_INSTANCE=str(instance),
               TRACKER_ENV="production", BASE_URL=f"http://127.0.0.1:{port}", SESSION_COOKIE_SECURE="false", SCHEDULER_ENABLED="false",
               **RATE_LIMITS)
    env.pop("MAIL_SERVER", None)
    gunicorn = Path(sys.executable).parent / "gunicorn"
    logfile = open(TMP / "gunicorn.log", "w")
    server = subprocess.Popen([str(gunicorn), "-w", "2", "-b", f"127.0.0.1:{port}", "wsgi:app"],
                              cwd=ROOT, env=env, stdout=logfile, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    try:
        for _ in range(200):
            try:
                page = opener.open(base + "/login", timeout=5).read().decode()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"gunicorn did not start; see {TMP / 'gunicorn.log'}")
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        form = urllib.parse.urlencode({"csrf_token": token, "email": service.manager_email,
                                       "password": seeding.PASSWORD}).encode()
        landing = opener.open(base + "/login", data=form, timeout=30)
        assert landing.geturl().rstrip("/") == base, landing.geturl()

        def get_dashboard():
            with opener.open(base + "/", timeout=30) as response:
                body = response.read()
                assert response.status == 200 and b"Overdue reviews" in body

        figures = {"dashboard_http": {**timed(get_dashboard, warmup=10), "workers": 2}}
        workers = [int(p) for p in Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()]
        memory = {}
        for pid in workers:
            status = Path(f"/proc/{pid}/status").read_text()
            memory[pid] = {key: int(re.search(rf"^{key}:\s+(\d+) kB", status, re.M).group(1)) // 1024
                           for key in ("VmRSS", "VmHWM")}
        figures["worker_rss_mb"] = max(m["VmRSS"] for m in memory.values())
        figures["worker_rss_peak_mb"] = max(m["VmHWM"] for m in memory.values())
        log(f"dashboard over HTTP: {figures['dashboard_http']['median_ms']} ms; "
            f"worker RSS {figures['worker_rss_mb']} MB")
        return figures
    finally:
        server.terminate()
        server.wait(timeout=30)
        logfile.close()


# --- load: concurrent clients over HTTP, idle and while the runner works ----------------

LOAD_CLIENTS = (1, 4, 16)
LOAD_REQUESTS = int(os.environ.get("BENCH_LOAD_REQUESTS", "48"))  # per page and level: bounded
LOAD_MAX_REQUESTS = 1200  # under the runner: keep going while it works, never beyond this
LOAD_PAGES = ("dashboard", "record", "register", "register_search")  # p95 idle and under the runner, each


def _percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * share))], 1) if ordered else 0.0


def _start_gunicorn(url: str, instance: Path, worker_class: str):
    port = free_port()
    # Production settings, which refuse to start without BASE_URL (tracker.config).
    env = dict(os.environ, DATABASE_URL=url, SECRET_KEY=SECRET_KEY, TRACKER_INSTANCE=str(instance),
               TRACKER_ENV="production", BASE_URL=f"http://127.0.0.1:{port}", SESSION_COOKIE_SECURE="false",
               SCHEDULER_ENABLED="false", **RATE_LIMITS)
    env.pop("MAIL_SERVER", None)
    args = [str(Path(sys.executable).parent / "gunicorn"), "-w", "2", "-k", worker_class, "-b", f"127.0.0.1:{port}"]
    if worker_class == "gthread":
        args += ["--threads", "4"]
    logfile = open(TMP / f"gunicorn-{worker_class}.log", "w")
    server = subprocess.Popen(args + ["wsgi:app"], cwd=ROOT, env=env, stdout=logfile, stderr=subprocess.STDOUT)
    return server, logfile, f"http://127.0.0.1:{port}"


def _session_cookie(base: str, email: str) -> str:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    for _ in range(200):
        try:
            page = opener.open(base + "/login", timeout=5).read().decode()
            break
        except OSError:
            time.sleep(0.1)
    else:
        raise RuntimeError("gunicorn did not start")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"csrf_token": token, "email": email, "password": seeding.PASSWORD}).encode()
    opener.open(base + "/login", data=form, timeout=30).read()
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def _load(base: str, cookie: str, record_ids: list[int], clients: int, requests: int,
          keep_going=lambda: False) -> dict:
    """`clients` threads, each taking the LOAD_PAGES in turn (the dashboard, a record page,
    the register, the register searched), `requests` of each in all."""
    import threading

    latencies: dict[str, list[float]] = {page: [] for page in LOAD_PAGES}
    errors: list[str] = []
    lock = threading.Lock()
    budget = {"left": len(LOAD_PAGES) * requests}

    def one(path: str, page: str) -> None:
        request = urllib.request.Request(base + path, headers={"Cookie": cookie})
        begun = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                body = response.read()
                ok = response.status == 200 and (page != "dashboard" or b"Overdue reviews" in body)
        except Exception as exc:  # noqa: BLE001 - every failure is counted and reported
            ok, body = False, str(exc).encode()
        elapsed = (time.perf_counter() - begun) * 1000
        with lock:
            latencies[page].append(elapsed)
            if not ok:
                errors.append(f"{path}: {body[:200]!r}")

    def client(number: int) -> None:
        turn = number
        while True:
            with lock:
                if budget["left"] <= 0:
                    if not keep_going() or sum(map(len, latencies.values())) >= LOAD_MAX_REQUESTS:
                        return
                budget["left"] -= 1
            page = LOAD_PAGES[turn % len(LOAD_PAGES)]
            path = {"dashboard": "/", "record": f"/agreements/{record_ids[(turn // len(LOAD_PAGES)) % len(record_ids)]}",
                    "register": "/agreements", "register_search": f"/agreements?q={SEARCH_TERM}"}[page]
            one(path, page)
            turn += 1

    start = time.perf_counter()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - start
    out = {"clients": clients, "seconds": round(seconds, 2), "errors": len(errors), "error_samples": errors[:3]}
    for page, samples in latencies.items():
        out[page] = {"requests": len(samples), "per_second": round(len(samples) / seconds, 1),
                     "p50_ms": _percentile(samples, 0.5), "p95_ms": _percentile(samples, 0.95)}
    return out


class Planted:
    """The 1,000 planted due items, so the runner can be given the same work again."""

    def __init__(self, service):
        from tracker.models import Breach, Recipient, Review

        now, due = service.now, service.due_at
        self.reviews = list(Review.select(Review.id, Review.reminder_at)
                            .where((Review.reminder_at > now) & (Review.reminder_at <= due)).tuples())
        self.copies = list(Recipient.select(Recipient.id, Recipient.chase_at, Recipient.chased_at)
                           .where((Recipient.chase_at > now) & (Recipient.chase_at <= due)).tuples())
        self.undertakings = list(Agreement.select(Agreement.id, Agreement.next_escalation_at, Agreement.escalation_level)
                                 .where((Agreement.next_escalation_at > now)
                                        & (Agreement.next_escalation_at <= due)).tuples())
        self.breaches = list(Breach.select(Breach.id, Breach.escalate_at, Breach.escalated_at)
                             .where((Breach.escalate_at > now) & (Breach.escalate_at <= due)).tuples())
        self.last_notification = Notification.select(peewee_max(Notification.id)).scalar() or 0

    def restore(self) -> None:
        """Put every planted moment back and take out what sweeping them queued (bench data only)."""
        from tracker.models import Breach, Recipient, Review

        with database.atomic():
            for review_id, at in self.reviews:
                Review.update(reminder_at=at).where(Review.id == review_id).execute()
            for recipient_id, at, chased in self.copies:
                Recipient.update(chase_at=at, chased_at=chased).where(Recipient.id == recipient_id).execute()
            for agreement_id, at, level in self.undertakings:
                Agreement.update(next_escalation_at=at, escalation_level=level).where(
                    Agreement.id == agreement_id).execute()
            for breach_id, at, escalated in self.breaches:
                Breach.update(escalate_at=at, escalated_at=escalated).where(Breach.id == breach_id).execute()
            Notification.delete().where(Notification.id > self.last_notification).execute()


def peewee_max(column):
    from peewee import fn

    return fn.MAX(column)


# A runner as it runs in production: a resident process (`flask --app wsgi jobs run`)
# that has started and swept before (nothing due: templates compiled, caches warm).
# It says "ready", and sweeps the due items when told to go; the clients' load under
# the runner starts then. With cold=1, as the bench did before: the process starts,
# imports the app and sweeps at once, so its start-up (about a second of CPU) counts too.
RUNNER = """
import os, sys, time
import jobs.sweeps as sweeps
from wsgi import app
from jobs.sweeps import parse_moment, run_sweeps
variant = dict(part.split("=") for part in sys.argv[3].split("+") if "=" in part)
sweeps.BATCH = int(variant.get("batch", sweeps.BATCH))
sweeps.PAUSE = float(variant.get("pause_ms", sweeps.PAUSE * 1000)) / 1000
if "nice" in variant:
    os.nice(int(variant["nice"]))
with app.app_context():
    if not variant.get("cold"):
        run_sweeps(parse_moment(sys.argv[2]))
        print("ready", flush=True)
        sys.stdin.readline()
    begun = time.perf_counter()
    if "cpu_ms" in variant:  # a control: the CPU of a sweep, no database
        while time.perf_counter() - begun < int(variant["cpu_ms"]) / 1000:
            sum(range(1000))
        queued = {}
    else:
        queued = run_sweeps(parse_moment(sys.argv[1]))
    print(sum(queued.values()), round(time.perf_counter() - begun, 2))
"""

# BENCH_LOAD_RUNNERS: runner variants measured in the same run, ';' between them, each
# "default", "cold=1" (see RUNNER), "nothing_due" (the same process sweeping at `now`: only its start-up and
# idle sweeps, a control for the CPU a third process takes) or key=value joined by '+':
# batch=N (jobs.sweeps.BATCH), pause_ms=N (jobs.sweeps.PAUSE), nice=N (os.nice), cpu_ms=N (a
# control: no sweep, the CPU busy for N ms).
# BENCH_LOAD_ROUNDS: each variant that many times, interleaved, each against the idle
# 16 clients measured just before it; the median of the rounds' ratios is reported.
LOAD_RUNNERS = [v.strip() for v in os.environ.get("BENCH_LOAD_RUNNERS", "default").split(";") if v.strip()]
LOAD_ROUNDS = int(os.environ.get("BENCH_LOAD_ROUNDS", "1"))


def _run_under_load(base: str, cookie: str, service, planted: Planted, env: dict, worker_class: str,
                    variant: str) -> dict:
    planted.restore()
    at = service.now if variant == "nothing_due" else service.due_at
    with open(TMP / f"runner-{worker_class}.log", "w") as runner_log:
        runner = subprocess.Popen([sys.executable, "-c", RUNNER, at.isoformat() + "+00:00",
                                   service.now.isoformat() + "+00:00", variant],
                                  cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=runner_log, text=True)
        if "cold=" not in variant:
            runner.stdout.readline()  # "ready": started and swept once, nothing due
            runner.stdin.write("go\n")
            runner.stdin.flush()
        busy = _load(base, cookie, service.record_ids, 16, LOAD_REQUESTS,
                     keep_going=lambda running=runner: running.poll() is None)
        out, _ = runner.communicate(timeout=600)
    err = (TMP / f"runner-{worker_class}.log").read_text()
    queued, runner_seconds = (out.split() + ["0", "0"])[:2] if runner.returncode == 0 else ("0", "0")
    busy["runner"] = {"variant": variant, "returncode": runner.returncode, "queued": int(queued),
                      "seconds": float(runner_seconds), "database_locked": "database is locked" in (out + err),
                      "stderr": err[-500:]}
    return busy


def load_figures(url: str, instance: Path, service, planted: Planted) -> dict:
    """Each worker class: 1, 4 and 16 clients idle, then 16 while a runner sweeps the 1,000 due items."""
    figures: dict = {"requests_per_page_and_level": LOAD_REQUESTS, "max_requests_under_runner": LOAD_MAX_REQUESTS}
    env = dict(os.environ, DATABASE_URL=url, SECRET_KEY=SECRET_KEY, TRACKER_INSTANCE=str(instance),
               SCHEDULER_ENABLED="false")
    env.pop("MAIL_SERVER", None)
    for worker_class in ("sync", "gthread"):
        server, logfile, base = _start_gunicorn(url, instance, worker_class)
        try:
            cookie = _session_cookie(base, service.manager_email)
            _load(base, cookie, service.record_ids, 2, 10)  # warm both workers
            levels = {str(c): _load(base, cookie, service.record_ids, c, LOAD_REQUESTS) for c in LOAD_CLIENTS}
            busy = _run_under_load(base, cookie, service, planted, env, worker_class, LOAD_RUNNERS[0])
            variants: dict = {v: [] for v in LOAD_RUNNERS}
            if len(LOAD_RUNNERS) > 1 or LOAD_ROUNDS > 1:
                for _ in range(LOAD_ROUNDS):
                    for variant in LOAD_RUNNERS:
                        calm = _load(base, cookie, service.record_ids, 16, LOAD_REQUESTS)
                        loaded = _run_under_load(base, cookie, service, planted, env, worker_class, variant)
                        variants[variant].append({
                            "ratio": {p: round(loaded[p]["p95_ms"] / max(0.1, calm[p]["p95_ms"]), 2)
                                      for p in LOAD_PAGES},
                            "idle_p95_ms": {p: calm[p]["p95_ms"] for p in LOAD_PAGES},
                            "with_runner_p95_ms": {p: loaded[p]["p95_ms"] for p in LOAD_PAGES},
                            "runner": loaded["runner"], "errors": calm["errors"] + loaded["errors"]})
                        log(f"load, {worker_class}, runner {variant}: p95 ratios {variants[variant][-1]['ratio']}, "
                            f"runner {loaded['runner']['seconds']} s, {loaded['runner']['queued']} queued")
        finally:
            server.terminate()
            server.wait(timeout=30)
            logfile.close()
        locked = "database is locked" in (TMP / f"gunicorn-{worker_class}.log").read_text()
        idle = levels["16"]
        figures[worker_class] = {
            "idle": levels, "with_runner": busy, "gunicorn_log_database_locked": locked,
            "p95_with_runner_vs_idle": {page: round(busy[page]["p95_ms"] / max(0.1, idle[page]["p95_ms"]), 2)
                                        for page in LOAD_PAGES},
        }
        if any(variants.values()):
            figures[worker_class]["variants"] = {
                v: {"rounds": rounds,
                    "median_ratio": {p: statistics.median(r["ratio"][p] for r in rounds) for p in LOAD_PAGES},
                    "runner_seconds": statistics.median(r["runner"]["seconds"] for r in rounds)}
                for v, rounds in variants.items()}
        log(f"load, {worker_class}: " + "; ".join(
            f"{c} clients {sum(levels[c][p]['per_second'] for p in LOAD_PAGES):.0f}/s "
            f"p95 {levels[c]['dashboard']['p95_ms']}/{levels[c]['record']['p95_ms']} ms" for c in levels)
            + f"; with the runner ({busy['runner']['queued']} queued in {busy['runner']['seconds']} s): "
            f"p95 {busy['dashboard']['p95_ms']}/{busy['record']['p95_ms']} ms, {busy['errors']} errors")
    planted.restore()
    return figures


# --- delivery --------------------------------------------------------------------------

def delivery_figures(app: Flask, service) -> dict:
    """Deliver everything pending to an SMTP sink on 127.0.0.1, in passes as the runner does."""
    import inspect

    from jobs import scheduler
    from jobs.delivery import deliver_pending

    # The sink runs in its own process, as a mail server would: in a thread of
    # this one it would compete with delivery for the GIL and halve the figure.
    port = free_port()
    sink = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink",
                             "-l", f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    limit = inspect.signature(deliver_pending).parameters["limit"].default
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_USE_TLS=False)
    try:
        moment = max(service.due_at, utcnow()) + dt.timedelta(minutes=1)
        pending = Notification.select().where(Notification.status == "pending").count()
        sent, failed, passes, pass_seconds = 0, 0, 0, []
        start = time.perf_counter()
        while True:
            begun = time.perf_counter()
            report = deliver_pending(moment)
            pass_seconds.append(time.perf_counter() - begun)
            passes += 1
            sent += report.sent
            failed += report.failed + report.retry
            if report.sent + report.failed + report.retry + report.cancelled == 0 or report.errors:
                break
        seconds = time.perf_counter() - start
    finally:
        sink.terminate()
        sink.wait(timeout=10)
        app.config.update(MAIL_SERVER=None)
    full_passes = [s for s in pass_seconds if s > 0][:-1] or pass_seconds
    figures = {"messages": sent, "pending_before": pending, "failed_or_retry": failed, "passes": passes,
               "seconds": round(seconds, 2), "per_second": round(sent / seconds, 1) if seconds else None,
               "pass_limit": limit, "pass_interval_seconds": scheduler.DELIVERY_SECONDS,
               "seconds_per_full_pass": round(statistics.median(full_passes), 2),
               # The runner starts another pass at once while the last was full
               # (jobs.scheduler.delivery_job), so a backlog goes at the pass rate.
               "runner_ceiling_per_second": round(limit / statistics.median(full_passes), 1)}
    log(f"delivery: {sent} messages in {seconds:.1f} s ({figures['per_second']}/s)")
    return figures


def delivery_breakdown(app: Flask, service) -> dict:
    """Delivery again (at a tenth of the data), with each step of a message timed: where the time goes."""
    from jobs import delivery

    spent: dict[str, float] = {}
    restore = []

    def wrap(owner, name: str, label: str) -> None:
        original = getattr(owner, name)

        def timed_step(*args, **kwargs):
            begun = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent[label] = spent.get(label, 0.0) + time.perf_counter() - begun

        had_own = name in vars(owner)
        setattr(owner, name, timed_step)
        restore.append((owner, name, original if had_own else None))

    wrap(delivery, "claim_batch", "claim a batch (UPDATE ... RETURNING)")
    wrap(delivery, "still_wanted", "still_wanted")
    wrap(delivery, "check_agency_link", "check_agency_link")
    wrap(delivery, "build_message", "build the message")
    wrap(delivery.Outgoing, "send", "SMTP send (with the message's bytes)")
    wrap(delivery, "_mark_sent", "record it sent")
    wrap(delivery, "_finish", "record a failure")
    try:
        figures = delivery_figures(app, service)
    finally:
        for owner, name, original in restore:
            if original is None:
                delattr(owner, name)
            else:
                setattr(owner, name, original)
    messages = max(1, figures["messages"])
    figures["ms_per_message"] = {k: round(v * 1000 / messages, 2) for k, v in spent.items()}
    return figures


# --- one engine ---------------------------------------------------------------------------

def service_at(engine: str, tag: str, scale: float, base_url: str):
    url = fresh_database(engine, tag, base_url)
    instance = TMP / f"instance-{engine}-{tag}"
    app = make_app(url, instance)
    context = app.app_context()
    context.push()
    log(f"{engine}, scale {scale}: seeding")
    start = time.perf_counter()
    service = seeding.seed(scale, choose_now())
    # Planner statistics, as a service this size has them: PostgreSQL's autovacuum
    # would have run; on SQLite the migrations' ANALYZE or the weekly PRAGMA
    # optimize docs/running.md asks for. (The migrations ran on empty tables.)
    if is_postgres(url):
        # VACUUM ANALYZE, as autovacuum would have run on a service this size: besides
        # the statistics it empties the GIN indexes' pending lists, which the bulk
        # seed leaves full (10,000 entries in a trigram index at 1x) and every trigram
        # look-up then reads whole (the register's search 100 -> 40 ms). Outside a
        # transaction, so on a connection of its own.
        import psycopg

        schema = f"bench_{tag}"
        with psycopg.connect(base_url.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
            tables = [t for (t,) in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,))]
            conn.execute("VACUUM ANALYZE " + ", ".join(f'"{schema}"."{t}"' for t in tables))
    else:
        database.execute_sql("ANALYZE")
    service.seconds = round(time.perf_counter() - start, 1)
    log(f"seeded {service.counts['agreements']} records in {service.seconds} s; catching up")
    return app, context, url, instance, service


SCALES = [float(x) for x in os.environ.get("BENCH_SCALES", "1,10").split(",")]
QUICK = bool(os.environ.get("BENCH_QUICK"))  # pages and sweeps only: no gunicorn, load or delivery
ONLY = os.environ.get("BENCH_ONLY", "")  # "load": the first scale's seed, catch-up and load step, nothing else


def _tag(scale: float) -> str:
    return f"x{scale:g}".replace(".", "_")


def run_engine(engine: str, base_url: str) -> dict:
    """Each scale in turn (BENCH_SCALES, 1 and 10 by default): seed, catch up, idle
    sweeps, every page against the floor. The first scale also gets the old
    measurements (HTML identical to the reference, breach POST, gunicorn, load,
    due sweep, delivery) unless BENCH_QUICK is set."""
    figures: dict = {"date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "scales": {}}
    for number, scale in enumerate(SCALES):
        app, context, url, instance, service = service_at(engine, _tag(scale), scale, base_url)
        here: dict = {"scale": scale, "seed": {"seconds": service.seconds, "counts": service.counts}}
        here["catch_up"] = catch_up(service)
        if ONLY == "load":
            planted = Planted(service)
            here["load"] = load_figures(url, instance, service, planted)
            figures["scales"][f"{scale:g}"] = here
            context.pop()
            drop_database(engine, url, base_url)
            break
        here["sweep_idle"] = idle_sweeps(service)
        log(f"scale {scale:g}: sweep, nothing due: {here['sweep_idle']['median_ms']} ms")
        # Requests must run with no app context of the bench's own pushed: Flask would
        # reuse it, and its `g` would keep Flask-Login's user from one request to the
        # next (every client then measured as whoever was loaded first).
        context.pop()
        here["pages"] = page_figures(app, service, engine)
        here["pages"]["teams"] = service.counts["teams"]
        if number == 0 and not QUICK:
            here.update(web_figures(app, service))
            context.push()
            here.update(gunicorn_figures(url, instance, service))
            planted = Planted(service)
            here["load"] = load_figures(url, instance, service, planted)
            here["sweep_due"] = due_sweep(service, planted)
            here["delivery"] = delivery_figures(app, service)
        else:
            context.push()
            here["sweep_due"] = due_sweep(service)
        figures["scales"][f"{scale:g}"] = here
        context.pop()
        drop_database(engine, url, base_url)
    keys = list(figures["scales"])
    if len(keys) > 1:
        small, large = figures["scales"][keys[0]], figures["scales"][keys[-1]]
        grown = growth(small["pages"], large["pages"])
        teams = (small["pages"]["teams"], large["pages"]["teams"])
        for name in ("service_view", "service_csv"):
            if name in grown and grown[name]["median_ratio"]:
                grown[name]["per_team_ratio"] = round(grown[name]["median_ratio"] * teams[0] / teams[1], 2)
        figures["growth"] = {"from": keys[0], "to": keys[-1], "pages": grown,
                             "sweep_idle_ratio": round(large["sweep_idle"]["median_ms"]
                                                       / small["sweep_idle"]["median_ms"], 2),
                             "sweep_idle_statements": [small["sweep_idle"]["queries"], large["sweep_idle"]["queries"]]}
    figures["targets"] = targets(figures, engine)
    return figures


GROWING = ("dashboard", "record_page", "register", "register_search", "front_door_dashboard")


def targets(f: dict, engine: str = "sqlite") -> dict:
    """Issue 24's targets, from what this run measured (a figure it did not measure is not listed)."""
    checks: dict = {}
    first = next(iter(f["scales"].values()))
    for label, scale in f["scales"].items():
        if "pages" not in scale:  # BENCH_ONLY
            continue
        p = scale["pages"]["pages"]
        checks[f"dashboard_vs_floor_at_{label}x"] = (p["dashboard"]["vs_floor"]["median_of_rounds"], "<= 2.5", 2.5)
        checks[f"record_page_vs_floor_at_{label}x"] = (p["record_page"]["vs_floor"]["median_of_rounds"], "<= 2", 2)
        checks[f"register_search_vs_register_at_{label}x"] = (
            round(p["register_search"]["median_ms"] / p["register"]["median_ms"], 2), "<= 2", 2)
    grown = f.get("growth")
    if grown:
        span = f"{grown['from']}x_to_{grown['to']}x"
        for name in GROWING:
            g = grown["pages"].get(name)
            if g:
                checks[f"{name}_growth_{span}"] = (g["vs_floor_ratio"], "<= 1.25", 1.25)
                checks[f"{name}_statements_{span}"] = (g["statements"][1] - g["statements"][0], "0 more", 0)
        for name in ("service_view", "service_csv"):
            g = grown["pages"].get(name)
            if g:
                checks[f"{name}_per_team_growth_{span}"] = (g["per_team_ratio"], "<= 1.5", 1.5)
                checks[f"{name}_statements_{span}"] = (g["statements"][1] - g["statements"][0], "0 more", 0)
        checks[f"sweep_idle_growth_{span}"] = (grown["sweep_idle_ratio"], "< 1.5", 1.5)
    if "sweep_idle" in first:
        checks["sweep_idle_ms"] = (first["sweep_idle"]["median_ms"], "<= 50", 50)
    if "breach_post" in first:
        checks["breach_post_median_ms"] = (first["breach_post"]["median_ms"], "<= 20", 20)
        checks["dashboard_html_identical"] = (0 if first.get("dashboard_html_identical") else 1, "0 differences", 0)
        checks["worker_rss_mb"] = (first["worker_rss_mb"], "<= 150", 150)
        checks["sweep_due_queries_per_email"] = (first["sweep_due"]["queries_per_email"], "<= 1.5", 1.5)
    for worker_class in ("sync", "gthread"):
        load = first.get("load", {}).get(worker_class)
        if not load:
            continue
        errors = sum(level["errors"] for level in load["idle"].values()) + load["with_runner"]["errors"]
        locked = int(load["gunicorn_log_database_locked"] or load["with_runner"]["runner"]["database_locked"])
        checks[f"load_{worker_class}_errors"] = (errors, "0", 0)
        checks[f"load_{worker_class}_database_locked"] = (locked, "0", 0)
        for page, ratio in load["p95_with_runner_vs_idle"].items():
            checks[f"load_{worker_class}_{page}_p95_with_runner_vs_idle"] = (ratio, "<= 1.5", 1.5)
    out = {}
    for name, (value, wanted, ceiling) in checks.items():
        holds = value is not None and (value < ceiling if wanted.startswith("< ") else value <= ceiling)
        out[name] = {"value": value, "target": wanted, "holds": bool(holds)}
    return out


# --- the machine and the report --------------------------------------------------------------

def machine(engine: str) -> dict:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory = re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())
    facts = {
        "cpu": cpu, "cores": os.cpu_count(),
        "memory_gb": round(int(memory.group(1)) / 1024 / 1024, 1) if memory else None,
        "os": platform.platform(), "python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        # Other work on the machine makes the figures noisier; say how busy it was.
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }
    try:
        facts["commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                         text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return facts


def postgres_version(url: str) -> str:
    import psycopg

    with psycopg.connect(url.replace("postgres://", "postgresql://", 1)) as conn:
        return conn.execute("SHOW server_version").fetchone()[0]


def _load_lines(load: dict) -> list[str]:
    """p95 at 16 clients, idle and while the runner sweeps, and their ratio, for each page."""
    lines = []
    for worker_class in ("sync", "gthread"):
        w = load.get(worker_class)
        if not w:
            continue
        idle, busy = w["idle"]["16"], w["with_runner"]
        lines.append(f"  load, gunicorn {worker_class} (2 workers), 16 clients; the runner queued "
                     f"{busy['runner']['queued']} in {busy['runner']['seconds']} s; errors "
                     f"{sum(level['errors'] for level in w['idle'].values()) + busy['errors']}")
        for page, ratio in w["p95_with_runner_vs_idle"].items():
            lines.append(f"    {page:26} p95 idle {idle[page]['p95_ms']:>7} ms, with the runner "
                         f"{busy[page]['p95_ms']:>7} ms: {ratio}x")
        for variant, v in w.get("variants", {}).items():
            rounds = len(v["rounds"])
            lines.append(f"    runner {variant:28} median of {rounds} rounds' p95 ratios "
                         + ", ".join(f"{page} {r}x" for page, r in v["median_ratio"].items())
                         + f"; the runner {v['runner_seconds']} s")
    return lines


def table(engine: str, f: dict) -> str:
    """This run's figures, and nothing else."""
    m = f["machine"]
    lines = [f"{engine}: {m['date']}, commit {m.get('commit', '?')}, load average {m['load_average_at_start']} "
             f"at start, {m.get('load_average_at_end')} at end; {m['cores']} cores"]
    for label, scale in f["scales"].items():
        lines.append("")
        if "pages" not in scale:  # BENCH_ONLY=load
            lines.append(f"Scale {label}x: {scale['seed']['counts']['agreements']:,} records (load step only)")
            lines += _load_lines(scale.get("load", {}))
            continue
        p = scale["pages"]
        lines.append(f"Scale {label}x: {scale['seed']['counts']['agreements']:,} records, {p['teams']} teams; "
                     f"the floor reads {p['rows']} rows")
        lines.append(f"  {'page':28} {'median ms':>9} {'x floor':>8} {'x floor CPU':>11} {'x lightest':>10} "
                     f"{'statements':>10} {'KB':>6}")
        for name, e in p["pages"].items():
            vs = e.get("vs_floor", {})
            lines.append(f"  {name:28} {e['median_ms']:>9} {vs.get('median_of_rounds', 1.0):>8} "
                         f"{vs.get('cpu_median_of_rounds', 1.0):>11} {e['vs_lightest']!s:>10} "
                         f"{e['statements']!s:>10} {round((e['bytes'] or 0) / 1024, 1):>6}")
        lines.append(f"  sweep, nothing due: {scale['sweep_idle']['median_ms']} ms, "
                     f"{scale['sweep_idle']['queries']} statements {scale['sweep_idle']['by_job_ms']}")
        if "load" in scale:
            lines += _load_lines(scale["load"])
    grown = f.get("growth")
    if grown:
        lines.append("")
        lines.append(f"Growth {grown['from']}x -> {grown['to']}x: vs-floor ratio (median ratio), statements")
        for name, g in grown["pages"].items():
            extra = f", per team {g['per_team_ratio']}" if "per_team_ratio" in g else ""
            lines.append(f"  {name:28} {g['vs_floor_ratio']!s:>6} ({g['median_ratio']}){extra}  "
                         f"{g['statements'][0]} -> {g['statements'][1]}")
        lines.append(f"  sweep, nothing due            {grown['sweep_idle_ratio']}  "
                     f"{grown['sweep_idle_statements'][0]} -> {grown['sweep_idle_statements'][1]}")
    lines.append("")
    for name, check in f.get("targets", {}).items():
        lines.append(f"  {'holds' if check['holds'] else 'MISSES':6}  {name}: {check['value']} (target {check['target']})")
    return "\n".join(lines)


def reprint(path: str) -> None:
    """`python -m bench.run --print bench/results-sqlite.json`: a saved run's table again."""
    f = json.loads(Path(path).read_text())
    f["targets"] = targets(f, f["machine"]["engine"] if "engine" in f["machine"] else "sqlite")
    print(table(Path(path).stem.removeprefix("results-"), f))


def main() -> None:
    base_url = os.environ.get("DATABASE_URL", "")
    engine = "postgresql" if is_postgres(base_url) else "sqlite"
    os.environ.pop("DATABASE_URL", None)  # the app is always given the bench's own database
    TMP.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    facts = machine(engine)
    if engine == "postgresql":
        facts["postgresql"] = postgres_version(base_url)
        ensure_trigram(base_url)
    results = run_engine(engine, base_url)
    facts["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["machine"] = facts
    results["total_seconds"] = round(time.perf_counter() - started, 1)
    # Only this run's figures, in a file of this engine's own: no other run's figures
    # are printed or kept beside them as if measured now.
    out = RESULTS.with_name(f"results-{engine}{'-' + ONLY if ONLY else ''}.json")
    out.write_text(json.dumps(results, indent=2, sort_keys=False, default=str) + "\n")
    print()
    print(table(engine, results))
    print(f"\nWritten to {out.relative_to(ROOT)} in {results['total_seconds']} s")


def ensure_trigram(base_url: str) -> None:
    """pg_trgm in the database's public schema, so the bench's schemas (dropped after
    each scale) share it and dropping one does not take the others' indexes with it."""
    import psycopg

    with psycopg.connect(base_url.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--print"]:
        reprint(sys.argv[2])
    else:
        main()
