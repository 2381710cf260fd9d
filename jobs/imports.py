"""The job runner's part of an import: the confirmed files, checked again and recorded.

The confirm request writes an `ImportJob` and returns at once (its progress
page polls it), so a 5,000-row file never holds a request open past a
proxy's read timeout. `run_imports(now)`:

1. claims the oldest waiting import with a conditional update (a second
   runner may be looking at the same row: only the one whose update changed
   it goes on);
2. reads and checks the file again, as its person (a reference may have been
   taken, a worker disabled, since the preview): any error refuses the whole
   file, with nothing saved;
3. records it in one transaction (tracker.governance.imports.commit), then
   marks it done and empties the stored file.

Each step's status is committed on its own, so the progress page, reading
from another connection, sees "checking" and then "recording" while the
records' own transaction is still open.
"""

from __future__ import annotations

import datetime as dt
import logging

from tracker.clock import utcnow
from tracker.db import database
from tracker.governance import imports
from tracker.models import ImportJob, User

log = logging.getLogger(__name__)
MOST = 3  # imports a pass takes on; more wait for the next pass


def _claim(job_id: int, now: dt.datetime) -> bool:
    return ImportJob.update(status="checking", started_at=now).where(
        (ImportJob.id == job_id) & (ImportJob.status == "waiting")).execute() == 1


def _finish(job: ImportJob, status: str, now: dt.datetime, **values) -> None:
    ImportJob.update(status=status, finished_at=now, data=b"", **values).where(ImportJob.id == job.id).execute()


def run_one(job: ImportJob, now: dt.datetime) -> str:
    """Check and record one claimed import; its final status."""
    user = User.get_by_id(job.user_id)
    try:
        plans = imports.check(imports.read(job.filename, bytes(job.data)), user, now)
    except imports.FileProblem as exc:
        _finish(job, "refused", now, message=str(exc))
        return "refused"
    errors = imports.error_count(plans)
    if errors:
        first = next(p for p in plans if p.errors)
        _finish(job, "refused", now, records=len(plans), message=(
            f"{errors} record{'s' if errors != 1 else ''} of {len(plans)} now "
            f"{'have errors' if errors != 1 else 'has an error'} (something changed since the preview), for example "
            f"row {first.line}: {next(iter(first.errors.values()))}. Nothing was saved: check the file again."))
        return "refused"
    ImportJob.update(status="recording", records=len(plans)).where(ImportJob.id == job.id).execute()
    created = imports.commit(plans, user, now, filename=job.filename)
    _finish(job, "done", utcnow() if now is None else now, created=len(created))
    return "done"


def run_imports(now: dt.datetime) -> int:
    """Every waiting import, oldest first (up to MOST a pass); how many were run."""
    done = 0
    for (job_id,) in (ImportJob.select(ImportJob.id).where(ImportJob.status == "waiting")
                      .order_by(ImportJob.id).limit(MOST).tuples()):
        if not _claim(job_id, now):
            continue  # another runner took it
        job = ImportJob.get_by_id(job_id)
        try:
            run_one(job, now)
        except Exception as exc:  # noqa: BLE001 - the person sees it failed; the log keeps the cause
            log.exception("Import %s failed", job_id)
            if not database.is_closed() and database.in_transaction():
                database.rollback()
            _finish(job, "failed", now, message=f"The import could not be completed ({type(exc).__name__}). "
                                                "Nothing was saved: try again, or ask the administrator.")
        done += 1
    return done
