"""`flask --app wsgi jobs run | tick [--at ISO-8601]`."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup


def register(app: Flask) -> None:
    group = AppGroup("jobs", help="The scheduled jobs: reminders, prompts, escalations and mail delivery.")

    @group.command("tick")
    @click.option("--at", "at", default=None, help="Run as of this moment (ISO 8601, London time unless it has an offset).")
    def tick(at: str | None) -> None:
        """Run every sweep and one delivery pass, and print what happened."""
        from jobs.sweeps import parse_moment, run_all

        report = run_all(parse_moment(at))
        for line in report:
            click.echo(line)

    @group.command("status")
    def status() -> None:
        """Print the last run of each job; exit 1 when one is late (R18)."""
        from jobs.runs import statuses
        from tracker.clock import utcnow

        found = statuses(utcnow())
        for each in found:
            click.echo(each.line())
        if any(each.late for each in found):
            raise SystemExit(1)

    @group.command("run")
    def run() -> None:
        """Run the scheduler in the foreground until SIGTERM or Ctrl-C."""
        from jobs.scheduler import run_forever

        run_forever(app)

    app.cli.add_command(group)
