"""A watched runner (R18) and office hours that know bank holidays (R19)."""

from __future__ import annotations

import datetime as dt
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import time_machine

from jobs import runs, scheduler
from jobs.delivery import deliver_pending
from tracker import rules, settings
from tracker.clock import utcnow
from tracker.models import JobRun

OFFICE = rules.parse_office_hours("Mon-Fri 09:00-17:00")


# --- R19: bank holidays -------------------------------------------------------------

@pytest.mark.parametrize("day", [dt.datetime(2026, 12, 25, 10), dt.datetime(2026, 12, 28, 10),
                                 dt.datetime(2027, 1, 1, 10), dt.datetime(2026, 8, 31, 10)])
def test_bank_holidays_of_england_and_wales_are_not_office_hours(day):
    assert rules.in_office_hours(OFFICE, day) is False
    assert rules.in_office_hours(OFFICE, dt.datetime(2026, 12, 2, 10)) is True  # an ordinary Wednesday


def test_the_bank_holidays_come_from_the_package_without_the_network(monkeypatch):
    import socket

    def no_network(*args, **kwargs):
        raise OSError("no network here")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    rules.bank_holidays.cache_clear()
    assert dt.date(2026, 12, 25) in rules.bank_holidays() and dt.date(2027, 1, 1) in rules.bank_holidays()


def test_an_administrators_closure_days_are_out_of_hours_too(app):
    closed = rules.parse_closure_days("2026-12-24, 2026-12-29")
    assert rules.in_office_hours(OFFICE, dt.datetime(2026, 12, 24, 10), closed) is False
    settings.put("office_hours", "Mon-Fri 09:00-17:00")
    assert settings.in_office_hours(dt.datetime(2026, 12, 29, 10)) is True
    settings.put("closure_days", "2026-12-29")
    assert settings.in_office_hours(dt.datetime(2026, 12, 29, 10)) is False
    with pytest.raises(ValueError, match="2026-12-24"):
        rules.parse_closure_days("24/12/2026")


def test_the_copys_out_of_hours_wording_is_built_from_the_setting():
    assert rules.out_of_hours_wording(rules.parse_office_hours("Mon-Thu 08:30-17:00; Fri 08:30-16:30")) == (
        "outside Monday to Thursday 8:30am to 5pm; Friday 8:30am to 4:30pm, and on bank holidays and closure days")


def test_an_urgent_breach_on_christmas_day_goes_to_the_out_of_hours_team(client, people, login, make_agreement,
                                                                         smtp, breach_form):
    settings.put("office_hours", "Mon-Fri 09:00-17:00")
    agreement = make_agreement(status="active")
    login(people.worker)
    christmas = dt.datetime(2026, 12, 25, 10, 0)  # a Friday, in "office hours" but for the bank holiday
    with time_machine.travel(christmas, tick=False):
        response = client.post(f"/agreements/{agreement.id}/breaches/new",
                               data=breach_form(immediate_risk="yes", description="Dad is at the house now."))
        assert response.status_code == 302
    deliver_pending(christmas)
    [alert] = smtp.to(settings.get("out_of_hours_email"))
    assert alert["Subject"].startswith("URGENT") and "outside office hours" in alert.get_body(("plain",)).get_content()


# --- R18: every pass recorded, late jobs seen ------------------------------------------

def test_each_pass_is_recorded_and_the_table_stays_small(app):
    for _ in range(runs.KEEP + 5):
        scheduler.delivery_job(app)
    assert JobRun.select().where(JobRun.job == "delivery").count() == runs.KEEP
    last = JobRun.select().order_by(JobRun.started_at.desc()).first()
    assert last.finished_at is not None and last.error == "" and last.done == 0


def test_a_failed_pass_records_its_error_and_pings_fail(app, monkeypatch):
    hits: list[str] = []

    class Monitor(BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Monitor)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    app.config["JOB_PING_URL"] = f"http://127.0.0.1:{server.server_port}/ping/{{job}}"
    try:
        scheduler.sweep_job(app)

        def broken(now):
            raise RuntimeError("the database went away")

        monkeypatch.setattr("jobs.sweeps.run_sweeps", broken)
        scheduler.sweep_job(app)  # logged, not raised: the scheduler goes on
    finally:
        server.shutdown()
    assert hits == ["/ping/sweeps", "/ping/sweeps/fail"]
    failed = JobRun.select().order_by(JobRun.id.desc()).first()
    assert failed.error == "RuntimeError: the database went away"



def test_stopping_the_runner_turns_healthz_to_503_and_shows_managers_a_banner(app, client, people, login):
    app.config["JOBS_WATCHED"] = True
    runs.forget_cache()
    assert client.get("/healthz").status_code == 503  # never run: nothing is being sent
    scheduler.sweep_job(app)
    scheduler.delivery_job(app)
    ok = client.get("/healthz")
    assert ok.status_code == 200 and ok.get_data(as_text=True) == "ok\n"
    result = app.test_cli_runner().invoke(args=["jobs", "status"])
    assert result.exit_code == 0 and "sweeps: last ran" in result.output and "LATE" not in result.output

    stopped = utcnow() - runs.WATCHED["delivery"].interval - runs.GRACE - dt.timedelta(seconds=5)
    JobRun.update(started_at=stopped).where(JobRun.job == "delivery").execute()
    late = client.get("/healthz")
    assert late.status_code == 503 and "delivery" in late.get_data(as_text=True)
    assert "sweeps" not in late.get_data(as_text=True)
    assert "Sam" not in late.get_data(as_text=True)  # nothing personal
    result = app.test_cli_runner().invoke(args=["jobs", "status"])
    assert result.exit_code == 1 and "delivery: last ran" in result.output and "(LATE)" in result.output

    runs.forget_cache()
    login(people.manager)
    page = client.get("/").get_data(as_text=True)
    assert "Emails have not been sent since " in page and ": tell IT" in page
    login(people.worker)
    assert "tell IT" not in client.get("/").get_data(as_text=True)  # managers and administrators only

    scheduler.delivery_job(app)
    runs.forget_cache()
    login(people.manager)
    assert "tell IT" not in client.get("/").get_data(as_text=True)
    assert client.get("/healthz").status_code == 200



def test_the_banner_is_worked_out_once_in_its_cache_time(app, people, monkeypatch):
    app.config["JOBS_WATCHED"] = True
    runs.forget_cache()
    asked = []
    monkeypatch.setattr(runs, "late_jobs", lambda now: asked.append(now) or [])
    for _ in range(5):
        assert runs.late_banner(people.manager) == ""
    assert len(asked) == 1 and runs.late_banner(people.worker) == ""
