"""Queries whose SQL text is generated once per kind, then reused with new values.

Turning a peewee query into SQL costs about a quarter of a millisecond; a page
or a sweep that runs the same few kinds of query again and again pays it every
time. `Prepared` builds a query once with stand-in values for its parameters,
keeps the SQL text and where each stand-in landed among the bound values, and
from then on only swaps in the real values. Rows come back as tuples, through
peewee's own converters, so dates read from SQLite are still datetimes.

    recent = Prepared(lambda p: Breach.select(Breach.id).where(Breach.created_at >= p.since))
    rows = recent.tuples(since=now - dt.timedelta(days=7))

A builder must use a stand-in only as a value: arithmetic on one (p.now + a
day) raises, because its result would be baked into the SQL text. Work such
values out before the call and pass them as parameters of their own. Anything
that changes the *shape* of the query (a filter present or not, a role) goes
in the `shape` key instead, and each shape is built once.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any, Callable

from tracker.db import database


class _StandInDateTime(dt.datetime):
    def _refuse(self, *args):
        raise TypeError("a Prepared parameter is used as a value only: work out derived moments before the call")

    __add__ = __radd__ = __sub__ = __rsub__ = _refuse


class _StandInInt(int):
    def _refuse(self, *args):
        raise TypeError("a Prepared parameter is used as a value only")

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _refuse


def _stand_in(index: int, example: Any):
    """A value no real row holds, of the type the real value will have."""
    if isinstance(example, dt.datetime):
        return _StandInDateTime(1111, 1, 1, 1, 1, 1, 100000 + index)
    if isinstance(example, bool):
        raise TypeError("booleans belong in the shape, not in the parameters")
    if isinstance(example, int):
        return _StandInInt(-987_654_321 - index)
    if isinstance(example, str):
        return f"\x00prepared-{index}\x00"
    raise TypeError(f"unsupported parameter type {type(example).__name__}")


class _Params:
    def __init__(self, values: dict[str, Any]):
        self.__dict__.update(values)


class Prepared:
    """One kind of query: `build(params, *shape)` gives the peewee query."""

    def __init__(self, build: Callable[..., Any]):
        self.build = build
        self._cache: dict[tuple, tuple] = {}
        self._lock = threading.Lock()

    def _entry(self, shape: tuple, values: dict[str, Any]):
        # The engine is part of the key: the same kind of query is different SQL
        # on SQLite and PostgreSQL (and the tests switch between them).
        key = (type(database.obj), shape, tuple(values))
        entry = self._cache.get(key)
        if entry is None:
            stand_ins = {name: _stand_in(i, value) for i, (name, value) in enumerate(values.items())}
            query = self.build(_Params(stand_ins), *shape)
            sql, args = query.sql()
            slots = []
            for arg in args:
                name = next((n for n, s in stand_ins.items() if type(arg) is not bool and arg == s), None)
                slots.append((name, arg))
            entry = (query, sql, tuple(slots))
            with self._lock:
                self._cache[key] = entry
        return entry

    def execute(self, shape: tuple = (), **values):
        """The query's rows as peewee would give them (tuples when it ends in .tuples())."""
        query, sql, slots = self._entry(shape, values)
        args = [values[name] if name is not None else constant for name, constant in slots]
        cursor = database.execute_sql(sql, args)
        return list(query._get_cursor_wrapper(cursor))

    def sql(self, shape: tuple = (), **values) -> tuple[str, list]:
        """The SQL and its values, as they would run (for EXPLAIN in the tests)."""
        query, sql, slots = self._entry(shape, values)
        return sql, [values[name] if name is not None else constant for name, constant in slots]

    def rowcount(self, shape: tuple = (), **values) -> int:
        """Run an UPDATE or DELETE; how many rows it changed."""
        query, sql, slots = self._entry(shape, values)
        args = [values[name] if name is not None else constant for name, constant in slots]
        return database.execute_sql(sql, args).rowcount
