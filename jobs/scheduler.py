"""The APScheduler set-up: it only triggers the sweeps and the delivery passes.

Two ways to run it:

- `start_in_process(app)`: inside the development server (`make run`), once
  per process, in a background thread; under gunicorn with SCHEDULER_ENABLED,
  once in each worker (safe, because every claim is conditional, but wasteful).
- `run_forever(app)`: the production job runner, `flask --app wsgi jobs run`,
  in its own process. SIGTERM or Ctrl-C lets the message in hand finish and
  claims no more.

The schedule lives in memory, not in the database: every job is a function of
`now` whose due work is stored in the rows themselves, so a runner that was
stopped catches up on start and nothing needs a persistent job store.
"""

from __future__ import annotations

import atexit
import datetime as dt
import logging
import os
import signal
import sys
import threading

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask

from jobs.runs import recorded
from tracker.clock import LONDON, utcnow
from tracker.db import database

SWEEP_SECONDS = 60
DELIVERY_SECONDS = 20
MISFIRE_GRACE_SECONDS = 5 * 60

log = logging.getLogger(__name__)
_started = False
_start_lock = threading.Lock()
stopping = threading.Event()  # set on SIGTERM: delivery claims no more messages


def _in_app(app: Flask, work) -> None:
    """Run one job inside an app context with its own database connection."""
    with app.app_context():
        database.connect(reuse_if_open=True)
        try:
            work()
        except Exception:
            app.logger.exception("Scheduled job failed; it runs again at its next interval")
        finally:
            if not database.is_closed():
                database.close()


def sweep_job(app: Flask) -> None:
    from jobs.sweeps import run_sweeps

    def work() -> None:
        with recorded("sweeps") as run:
            queued = run_sweeps(utcnow())
            run.done = sum(queued.values())
        if any(queued.values()):
            app.logger.info("Sweeps queued %s", {k: v for k, v in queued.items() if v})

    _in_app(app, work)


PASS_SIZE = 200


def delivery_job(app: Flask) -> None:
    from jobs.delivery import close_kept, deliver_pending
    from jobs.texting import text_pass

    def work() -> None:
        # A full pass means more is waiting: go again at once rather than in 20
        # seconds, so a burst of 1,800 reminders takes seconds, not minutes.
        # The passes share one SMTP connection; it is closed when they stop.
        with recorded("delivery") as run:
            try:
                while True:
                    report = deliver_pending(utcnow(), limit=PASS_SIZE, should_stop=stopping.is_set)
                    run.done += report.sent + report.failed + report.cancelled
                    if report.sent or report.failed or report.retry:
                        app.logger.info("Delivery: %s", report.summary())
                    if stopping.is_set() or report.retry or report.sent + report.failed + report.cancelled < PASS_SIZE:
                        break
            finally:
                close_kept()
            # Texts are the outbox's second channel, sent and watched in the same recorded pass (R18).
            if not stopping.is_set():
                texted = text_pass(utcnow(), limit=PASS_SIZE, should_stop=stopping.is_set)
                run.done += texted.sent + texted.failed + texted.cancelled
                if texted.sent or texted.failed or texted.retry:
                    app.logger.info("Texts: %s", texted.summary())

    _in_app(app, work)


def build(app: Flask) -> BackgroundScheduler:
    """A scheduler with the two jobs, not yet started.

    Fixed ids and replace_existing keep one copy of each job; coalesce runs a
    job once after a pause however many runs it missed; max_instances=1 stops a
    slow delivery pass overlapping the next; the grace of minutes (not the
    1-second default) lets a busy machine run a job late instead of skipping it.
    """
    scheduler = BackgroundScheduler(timezone=LONDON)
    options = {"coalesce": True, "max_instances": 1, "misfire_grace_time": MISFIRE_GRACE_SECONDS,
               "replace_existing": True, "args": [app]}
    scheduler.add_job(sweep_job, "interval", seconds=SWEEP_SECONDS, id="sweeps",
                      name="Sweeps: reminders, prompts, chases, escalations, digests",
                      next_run_time=_soon(), **options)
    scheduler.add_job(delivery_job, "interval", seconds=DELIVERY_SECONDS, id="delivery",
                      name="Mail delivery", next_run_time=_soon(seconds=5), **options)
    scheduler.add_job(import_job, "interval", seconds=IMPORT_SECONDS, id="imports", name="Confirmed imports",
                      next_run_time=_soon(seconds=3), **options)
    scheduler.add_job(signs_job, "interval", seconds=SWEEP_SECONDS, id="signs", name="Stored warning signs",
                      next_run_time=_soon(seconds=4), **options)
    # Retention review (issue 14): once a month, the ended records past their date, for a manager to decide.
    scheduler.add_job(retention_job, "cron", day=1, hour=6, minute=0, id="retention", name="Retention review",
                      **options)
    return scheduler


IMPORT_SECONDS = 3  # a confirmed import starts within seconds; an idle pass is one indexed read


def import_job(app: Flask) -> None:
    from jobs.imports import run_imports
    from tracker.models import ImportJob

    def work() -> None:
        # Only a pass that ran an import is recorded: the pages watch the import itself, not the runner's idling.
        if ImportJob.select(ImportJob.id).where(ImportJob.status == "waiting").exists():
            with recorded("imports") as run:
                run.done = run_imports(utcnow())

    _in_app(app, work)


def signs_job(app: Flask) -> None:
    """The service view's stored warning signs brought up to date (tracker.records.sign_store),
    so the view has little left to work out when a service manager opens it."""
    from tracker.models import SignQueue
    from tracker.records import sign_store

    def work() -> None:
        # Recorded only when something had changed, as the imports are.
        if SignQueue.select(SignQueue.id).exists():
            with recorded("signs") as run:
                run.done = sign_store.refresh_stored(utcnow())

    _in_app(app, work)


def retention_job(app: Flask) -> None:
    from tracker.governance.retention import monthly_review

    def work() -> None:
        with recorded("retention") as run:
            lines = monthly_review(utcnow())
            run.done = len(lines)
        app.logger.info("Retention review: %d records past their retention date wait for a decision%s",
                        len(lines), "".join(f"\n  {line}" for line in lines))

    _in_app(app, work)


def _soon(seconds: int = 2) -> dt.datetime:
    return dt.datetime.now(LONDON) + dt.timedelta(seconds=seconds)


def _should_not_start(app: Flask) -> str | None:
    """Why this process must not run a scheduler, or None when it should."""
    if "jobs" in sys.argv[1:]:
        return "this is the `jobs` command, which runs its own scheduler"
    # Under the reloader the parent only watches files; only the child
    # (WERKZEUG_RUN_MAIN set) serves requests, so only it runs the jobs.
    reloading = "--reload" in sys.argv or (app.debug and "--no-reload" not in sys.argv)
    if reloading and "run" in sys.argv and not os.environ.get("WERKZEUG_RUN_MAIN"):
        return "the reloader's watching process"
    return None


def start_in_process(app: Flask) -> BackgroundScheduler | None:
    """Start the scheduler in this process once; later calls do nothing."""
    global _started
    reason = _should_not_start(app)
    if reason:
        app.logger.info("Scheduler not started: %s", reason)
        return None
    with _start_lock:
        if _started:
            return None
        _started = True
    scheduler = build(app)
    scheduler.start()
    atexit.register(lambda: scheduler.shutdown(wait=False) if scheduler.running else None)
    if _under_gunicorn():
        # Each worker that imports the app runs its own: the sweeps' conditional
        # claims and the outbox's unique keys and leased claims make every
        # email go once however many run (tests/jobs/test_gunicorn_scheduler.py),
        # at the cost of every worker sweeping. A separate `jobs run` is better.
        app.logger.warning("Scheduler started in gunicorn worker %s (SCHEDULER_ENABLED): every worker runs one; "
                           "emails still go once each. Prefer SCHEDULER_ENABLED=false and `flask --app wsgi jobs run`.",
                           os.getpid())
    else:
        app.logger.info("Scheduler started in this process (%s)", os.getpid())
    return scheduler


def _under_gunicorn() -> bool:
    return "gunicorn" in os.environ.get("SERVER_SOFTWARE", "") or "gunicorn" in os.path.basename(sys.argv[0])


def run_forever(app: Flask) -> None:
    """The production job runner: run until SIGTERM or Ctrl-C, then stop cleanly."""
    global _started
    with _start_lock:
        _started = True  # an in-process scheduler must not start beside this one
    stopping.clear()

    def stop(signum, frame) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    scheduler = build(app)
    scheduler.start()
    print("Job runner started: sweeps every minute, delivery every "
          f"{DELIVERY_SECONDS} seconds. Stop with Ctrl-C or SIGTERM.", flush=True)
    while not stopping.wait(1):
        pass
    print("Stopping: finishing the message in hand, claiming no more.", flush=True)
    scheduler.shutdown(wait=True)
    print("Job runner stopped.", flush=True)
