"""A watched runner (R18): every sweep and delivery pass records that it ran.

Each pass writes one `JobRun` row (start, end, how much it did, any error);
the latest KEEP a job are kept, so the table stays small whatever the uptime.
A job is *late* when its last pass started longer ago than its interval plus
GRACE, or it has never run: `/healthz` answers 503 naming it, `flask jobs
status` exits non-zero, and managers and administrators see a banner. An
optional JOB_PING_URL is called after each pass, with "/fail" on a failed one
(the healthchecks.io convention), so an outside monitor notices a runner that
has died, which nothing inside the app can.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass

from flask import current_app, has_app_context

from tracker.clock import time_words, to_london, utcnow
from tracker.models import JobRun

GRACE = dt.timedelta(minutes=10)  # a busy machine, a long delivery pass, a misfire grace of five minutes
KEEP = 50  # passes kept a job


@dataclass(frozen=True)
class Watched:
    interval: dt.timedelta
    words: str  # the banner's "<words> have not been sent since 09:14"


# The scheduler's jobs (jobs.scheduler), by id. The monthly retention review is
# recorded but not watched: a month is too long for a banner to say anything.
WATCHED = {
    "sweeps": Watched(dt.timedelta(seconds=60), "Reminders, escalations and digests"),
    "delivery": Watched(dt.timedelta(seconds=20), "Emails"),
}


class Pass:
    """What one pass did, filled in by the job: `done` items, and why it failed."""

    def __init__(self):
        self.done = 0


@contextmanager
def recorded(job: str, now: dt.datetime | None = None):
    """Record one pass of `job`: a row at its start, finished (or failed) at its end.

    The row is committed at the start, so a pass that hangs still shows when
    it began; a failing pass records its error and the exception goes on to
    the scheduler's logging.
    """
    started = now or utcnow()
    run = JobRun.create(job=job, started_at=started)
    work = Pass()
    error = ""
    try:
        yield work
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"[:2000]
        raise
    finally:
        finished = utcnow() if now is None else now
        JobRun.update(finished_at=finished, done=work.done, error=error).where(JobRun.id == run.id).execute()
        _prune(job)
        _ping(job, failed=bool(error))


def _prune(job: str) -> None:
    # By id, the order passes were written in (utcnow is to the second).
    keep_from = (JobRun.select(JobRun.id).where(JobRun.job == job)
                 .order_by(JobRun.id.desc()).offset(KEEP - 1).limit(1).scalar())
    if keep_from is not None:
        JobRun.delete().where((JobRun.job == job) & (JobRun.id < keep_from)).execute()


def _ping(job: str, failed: bool) -> None:
    """Tell an outside monitor (JOB_PING_URL) a pass ran: <url>/fail when it failed.

    A delivery pass runs every 20 seconds: pinging only the sweeps (each
    minute) would hide a dead delivery job, so each job pings <url>/<job> when
    the URL has "{job}" in it, else the URL itself for the sweeps only.
    """
    url = current_app.config.get("JOB_PING_URL") if has_app_context() else None
    if not url:
        return
    if "{job}" in url:
        url = url.replace("{job}", job)
    elif job != "sweeps":
        return
    try:
        urllib.request.urlopen(url.rstrip("/") + ("/fail" if failed else ""), timeout=5).close()
    except OSError as exc:  # the monitor being down must not stop the jobs
        current_app.logger.warning("JOB_PING_URL could not be reached: %s", exc)


@dataclass(frozen=True)
class Status:
    job: str
    last: JobRun | None
    late: bool

    def line(self) -> str:
        if self.last is None:
            return f"{self.job}: never run{' (LATE)' if self.late else ''}"
        took = ""
        if self.last.finished_at is not None:
            took = f", took {(self.last.finished_at - self.last.started_at).total_seconds():.1f} s"
        error = f", failed: {self.last.error}" if self.last.error else ""
        return (f"{self.job}: last ran {to_london(self.last.started_at):%Y-%m-%d %H:%M:%S} London{took}, "
                f"{self.last.done} done{error}{' (LATE)' if self.late else ''}")


def statuses(now: dt.datetime) -> list[Status]:
    """The last pass of each watched job (one indexed read a job) and whether it is late."""
    found = []
    for job, watched in WATCHED.items():
        last = JobRun.select().where(JobRun.job == job).order_by(JobRun.started_at.desc(), JobRun.id.desc()).first()
        late = last is None or last.started_at < now - watched.interval - GRACE
        found.append(Status(job, last, late))
    return found


def late_jobs(now: dt.datetime) -> list[Status]:
    return [status for status in statuses(now) if status.late]


_cache: dict = {"at": 0.0, "value": None}
_cache_lock = threading.Lock()
CACHE_SECONDS = 30


def late_banner(user) -> str:
    """The banner's words for managers and administrators when a job is late, else "".

    Every page shows it, and the dashboard is benchmarked: the answer is
    worked out at most once every CACHE_SECONDS a process (two indexed reads),
    and not at all for other roles or where watching is off (JOBS_WATCHED).
    """
    if not current_app.config.get("JOBS_WATCHED", True):
        return ""
    if getattr(user, "role", None) not in ("team_manager", "service_manager", "administrator"):
        return ""
    with _cache_lock:
        if _cache["value"] is not None and time.monotonic() - _cache["at"] < CACHE_SECONDS:
            return _cache["value"]
    words = []
    for status in late_jobs(utcnow()):
        what = WATCHED[status.job].words
        if status.last is None:
            words.append(f"{what} have not been sent: the job runner has never run")
        else:
            words.append(f"{what} have not been sent since {_since(status.last.started_at)}")
    value = ("; ".join(words) + ": tell IT") if words else ""
    with _cache_lock:
        _cache.update(at=time.monotonic(), value=value)
    return value


def _since(moment: dt.datetime) -> str:
    local = to_london(moment)
    today = to_london(utcnow()).date()
    return time_words(local) if local.date() == today else f"{time_words(local)} on {local:%-d %B %Y}"


def forget_cache() -> None:
    with _cache_lock:
        _cache.update(at=0.0, value=None)
