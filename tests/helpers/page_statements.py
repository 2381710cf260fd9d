"""Statements each page runs, at a scale of the bench's service (bench.seed): seed, then count.
Reached through the `page_statements` fixture of tests/conftest.py."""

from __future__ import annotations

import datetime as dt

import time_machine

from tests.conftest import NOW
from tracker.models import ALL_MODELS


class PageStatements:
    """Seed bench.seed's service at a scale (the database emptied first), then count
    the SQL statements each page runs. Used to check that no page's count grows with data."""

    def __init__(self, app):
        self.app = app
        self.pages: dict[str, str] = {}  # each path's last HTML

    def seed(self, scale: float):
        from bench import seed as seeding
        from tracker.db import database

        with database.atomic():
            for model in reversed(ALL_MODELS):
                model.delete().execute()
        service = seeding.seed(scale, NOW)
        database.execute_sql("ANALYZE")
        return service

    def of(self, email: str, paths: list[str]) -> dict[str, int]:
        from flask import g

        from bench import seed as seeding
        from tracker.db import database

        counts = {}
        target = database.obj
        original = target.execute_sql
        # The test's app context is reused by every request, and its `g` would keep
        # Flask-Login's user from one request (and one client) to the next.
        with time_machine.travel(NOW + dt.timedelta(hours=1), tick=True):
            client = self.app.test_client()
            g.pop("_login_user", None)
            assert client.post("/login", data={"email": email, "password": seeding.PASSWORD}).status_code == 302
            for path in paths:
                g.pop("_login_user", None)
                client.get(path)  # once to warm what is read once a process
                # The fewest of three: a session's last-seen moment is written only
                # now and then, which is one statement more on some requests.
                for _ in range(3):
                    g.pop("_login_user", None)
                    seen = []

                    def counted(sql, params=None, *args, seen=seen, **kwargs):
                        seen.append(sql)
                        return original(sql, params, *args, **kwargs)

                    target.execute_sql = counted
                    try:
                        response = client.get(path)
                    finally:
                        del target.execute_sql
                    assert response.status_code == 200, (path, response.status_code)
                    counts[path] = min(counts.get(path, len(seen)), len(seen))
                self.pages[path] = response.get_data(as_text=True)
        return counts
