"""The job runner: `jobs tick`, the scheduler's set-up, a clean stop on SIGTERM, and the pages around it."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import time_machine

from jobs import scheduler, sweeps
from tests.conftest import NOW
from tracker.clock import utcnow
from tracker.models import Agreement, AuditEvent, Notification

ROOT = Path(__file__).resolve().parents[2]


def test_parse_moment_reads_london_time_and_offsets():
    assert sweeps.parse_moment("2026-07-01T09:00") == dt.datetime(2026, 7, 1, 8, 0)  # BST
    assert sweeps.parse_moment("2026-12-01T09:00") == dt.datetime(2026, 12, 1, 9, 0)
    assert sweeps.parse_moment("2026-07-01T09:00+00:00") == dt.datetime(2026, 7, 1, 9, 0)
    assert abs(sweeps.parse_moment(None) - utcnow()) < dt.timedelta(seconds=5)


def test_tick_runs_every_sweep_and_a_delivery_pass(app, make_agreement):
    make_agreement(status="active")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["jobs", "tick", "--at", "2027-01-08T10:00"])
    assert result.exit_code == 0, result.output
    assert "review reminders: 2 queued" in result.output
    assert "copy chases: 1 queued" in result.output
    assert "agency report requests: 1 queued" in result.output  # the window opened on 5 January
    assert "delivery: 5 sent, 0 failed" in result.output  # the copy, its chase, the request, two reminders
    again = runner.invoke(args=["jobs", "tick", "--at", "2027-01-08T10:00"])
    assert "review reminders: 0 queued" in again.output and "delivery: 0 sent" in again.output
    assert len(list((Path(app.instance_path) / "mail").glob("*.eml"))) == 5


def test_scheduler_has_fixed_jobs_in_london_time_with_a_grace_of_minutes(app):
    built = scheduler.build(app)
    jobs = {job.id: job for job in built.get_jobs()}
    # retention: monthly (issue 14); signs: the service view's stored warning signs (issue 24)
    assert set(jobs) == {"sweeps", "delivery", "retention", "imports", "signs"}
    assert str(built.timezone) == "Europe/London"
    for job in jobs.values():
        assert job.coalesce is True and job.max_instances == 1 and job.misfire_grace_time >= 60
    assert jobs["delivery"].trigger.interval <= dt.timedelta(seconds=30)


def test_the_signs_job_works_out_the_queue_and_says_so_only_when_it_had_work(app, make_agreement):
    from tracker.models import JobRun, RecordSign, SignQueue

    make_agreement(status="active", if_things_go_wrong="Sign this or the children will be removed.")
    assert SignQueue.select().count() > 0
    scheduler.signs_job(app)
    with app.app_context():
        assert SignQueue.select().count() == 0
        assert [r.key for r in RecordSign.select()] == ["coercion"]
        assert [(r.job, r.done) for r in JobRun.select()] == [("signs", 1)]
    scheduler.signs_job(app)  # nothing queued: not recorded
    with app.app_context():
        assert JobRun.select().count() == 1


def test_scheduler_starts_once_per_process(app, monkeypatch):
    monkeypatch.setattr(scheduler, "_started", False)
    monkeypatch.setattr(sys, "argv", ["flask", "run", "--no-reload"])
    first = scheduler.start_in_process(app)
    try:
        assert first is not None and first.running
        assert scheduler.start_in_process(app) is None
    finally:
        first.shutdown(wait=False)
    # Under gunicorn each worker may run one (issue 20): tests/jobs/test_gunicorn_scheduler.py shows it sends once.


def test_job_runner_stops_cleanly_on_sigterm(tmp_path):
    env = {**os.environ, "TRACKER_INSTANCE": str(tmp_path / "instance"),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'runner.db'}", "SCHEDULER_ENABLED": "false",
           "PYTHONUNBUFFERED": "1"}
    env.pop("MAIL_SERVER", None)
    flask = [str(ROOT / ".venv" / "bin" / "flask"), "--app", "wsgi"]
    subprocess.run([*flask, "init-db"], cwd=ROOT, env=env, check=True, capture_output=True, timeout=60)
    runner = subprocess.Popen([*flask, "jobs", "run"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        assert "Job runner started" in runner.stdout.readline()
        runner.send_signal(signal.SIGTERM)
        output, _ = runner.communicate(timeout=30)
    finally:
        if runner.poll() is None:
            runner.kill()
    assert runner.returncode == 0, output
    assert "Job runner stopped." in output


# --- the outbox page and the extension page -------------------------------------

def test_admin_sees_failed_mail_and_retry_puts_it_back(client, login, people, make_agreement):
    make_agreement(status="active")
    Notification.update(status="failed", attempts=1, last_error="dsl@school.example refused: 550 No such user here").execute()
    login(people.admin)
    page = client.get("/admin/outbox").get_data(as_text=True)
    assert "550 No such user here" in page and "Retry" in page
    row = Notification.get()
    response = client.post(f"/admin/outbox/{row.id}/retry")
    assert response.status_code == 302
    row = Notification.get()
    assert row.status == "pending" and row.claimed_until is None
    assert AuditEvent.select().where(AuditEvent.action == "mail_retried").count() == 1


@pytest.mark.parametrize("who", ["worker", "manager"])
def test_only_administrators_see_the_outbox(client, login, people, who):
    login(getattr(people, who))
    assert client.get("/admin/outbox").status_code == 403


# The page reads the clock: the new end must be in the future as of the day these dates were written.
@time_machine.travel(dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.timezone.utc), tick=False)
def test_manager_extends_an_undertaking_with_a_reason(client, login, people, make_agreement):
    # The page reads the clock: the new end (26 November 2026) must be in its future.
    traveller = time_machine.travel(NOW + dt.timedelta(hours=1), tick=False)
    traveller.start()
    try:
        _extend_with_a_reason(client, login, people, make_agreement)
    finally:
        traveller.stop()


def _extend_with_a_reason(client, login, people, make_agreement):
    undertaking = make_agreement(kind="undertaking", status="active")
    new_end = undertaking.window_ends_at + dt.timedelta(days=1)  # 26 November 09:00 UTC = 09:00 London
    form = {"new_end-day": "26", "new_end-month": "11", "new_end-year": "2026", "new_end-time": "09:00"}
    login(people.worker)
    assert client.post(f"/agreements/{undertaking.id}/extend", data={**form, "reason": "x"}).status_code == 403
    login(people.manager)
    response = client.post(f"/agreements/{undertaking.id}/extend", data=form)
    assert response.status_code == 400 and "Give the reason" in response.get_data(as_text=True)
    # The page refuses an end in the past by the real clock: extend as of the fixtures' Monday.
    with time_machine.travel(NOW, tick=False):
        response = client.post(f"/agreements/{undertaking.id}/extend", data={**form, "reason": "Strategy meeting on Friday"})
    assert response.status_code == 302
    agreement = Agreement.get_by_id(undertaking.id)
    assert agreement.window_ends_at == new_end and "Strategy meeting on Friday" in agreement.window_reason
    assert agreement.next_escalation_at == new_end - dt.timedelta(hours=2)
    assert NOW < agreement.next_escalation_at
