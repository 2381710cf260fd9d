"""Count the SQL statements a block of code runs, by wrapping the database's execute_sql.
Reached through the `statements` fixture of tests/conftest.py."""

from __future__ import annotations

from tracker import db


class Statements:
    def __init__(self):
        self.sql: list[str] = []

    def __enter__(self):
        target = db.database.obj
        self.original = target.execute_sql

        def spy(sql, params=None, *args, **kwargs):
            self.sql.append(sql)
            return self.original(sql, params, *args, **kwargs)

        target.execute_sql = spy
        return self

    def __exit__(self, *exc):
        del db.database.obj.execute_sql
