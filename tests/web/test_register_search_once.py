"""Issue 24: a search of the register looks its index up once a request (the page's ids
and the count of every match in one statement), and still pages as before: each
match on one page, a page past the last showing the last."""

from __future__ import annotations

import re

from tracker.db import database

PAGE_SIZE = 25  # tracker.web.views.agreements.PAGE_SIZE


def _shown(page: str) -> set[str]:
    return set(re.findall(r"/agreements/(\d+)\"", page))


def test_a_search_reads_the_index_once_and_pages_every_match(app, client, people, login, make_agreement):
    import datetime as dt

    made = {str(make_agreement(children=[{"name": f"Ava Murphy{chr(97 + i % 26)}",
                                          "date_of_birth": dt.date(2015, 1, 1 + i)}]).id)
            for i in range(PAGE_SIZE + 3)}
    other = make_agreement(children=[{"name": "Oliver Quinnell", "date_of_birth": dt.date(2016, 2, 3)}])
    login(people.manager)

    target = database.obj
    original = target.execute_sql
    seen: list[str] = []

    def counted(sql, params=None, *args, **kwargs):
        seen.append(sql)
        return original(sql, params, *args, **kwargs)

    target.execute_sql = counted
    try:
        first = client.get("/agreements?q=murphy").get_data(as_text=True)
    finally:
        del target.execute_sql
    # The child look-up: a team manager's reads the team's links' copies of the names
    # (their normalised column's LIKE); across the service, FTS5's child_search on
    # SQLite, the children's normalised column's LIKE on PostgreSQL.
    look_ups = [sql for sql in seen if "child_search" in sql or 'normalised_name" LIKE' in sql]
    assert len(look_ups) == 1, look_ups

    second = client.get("/agreements?q=murphy&page=2").get_data(as_text=True)
    past = client.get("/agreements?q=murphy&page=9").get_data(as_text=True)
    assert len(_shown(first)) == PAGE_SIZE
    assert _shown(first) | _shown(second) == made
    assert _shown(past) == _shown(second)
    assert str(other.id) not in _shown(first) | _shown(second)
    assert str(PAGE_SIZE + 3) in first  # the count of every match
