"""Issue 24: the register's search is an index look-up (FTS5 trigram on SQLite,
pg_trgm on PostgreSQL, migration 0022) and finds exactly what a substring match
of the typed text finds: a record's reference, a child's name, its normalised name."""

from __future__ import annotations

import re

import peewee
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracker.db import database
from tracker.models import Agreement, AgreementChild, Child
from tracker.people.access import visible_agreements
from tracker.records import search
from tracker.records.identity import normalise_name

NAMES = ("Ella Murphy", "Zoë O'Brien", "Kofi Mensah-Smith", "Ava Murphy", "Oliver Quinnell")


def _records(make_agreement):
    import datetime as dt

    made = []
    for i, name in enumerate(NAMES):
        children = [{"name": name, "date_of_birth": dt.date(2015 + i, 1, 2)}]
        if i == 2:
            children.append({"name": "Sam Ali", "date_of_birth": dt.date(2020, 3, 4)})
        made.append(make_agreement(children=children))
    return made


def _expected(q: str) -> set[int]:
    nq = normalise_name(q)
    found = {a.id for a in Agreement.select(Agreement.id, Agreement.reference) if q.lower() in a.reference.lower()}
    for agreement_id, name, normalised in (AgreementChild.select(AgreementChild.agreement, Child.name,
                                                                 Child.normalised_name)
                                           .join(Child).where(AgreementChild.removed_at.is_null()).tuples()):
        if q.lower() in name.lower() or (nq and nq in normalised):
            found.add(agreement_id)
    return found


def _typed(draw_from: list[str]):
    pieces = st.sampled_from(draw_from).flatmap(
        lambda text: st.tuples(st.integers(0, len(text)), st.integers(1, len(text))).map(
            lambda ij: text[min(ij):max(ij)] or text))
    casing = st.sampled_from([str.lower, str.upper, str.title, lambda s: s])
    noise = st.text(alphabet="abcdefghijklmnopqrstuvwxyz' -\"%_", min_size=1, max_size=6)
    return st.one_of(st.tuples(pieces, casing).map(lambda pc: pc[1](pc[0])), noise).map(str.strip).filter(bool)


def test_search_finds_exactly_the_substring_matches(app, people, make_agreement):
    made = _records(make_agreement)
    texts = list(NAMES) + [normalise_name(n) for n in NAMES] + [a.reference for a in made] + ["Sam Ali"]

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(_typed(texts))
    def check(q):
        found = {a.id for a in Agreement.select(Agreement.id).where(Agreement.id.in_(search.agreement_ids(q)))}
        assert found == _expected(q), q

    check()


def test_register_page_shows_the_matches(app, client, people, login, make_agreement):
    made = _records(make_agreement)
    login(people.manager)
    page = client.get("/agreements?q=murph").get_data(as_text=True)
    shown = set(re.findall(r"/agreements/(\d+)\"", page))
    assert {str(a.id) for a in made if a.id in _expected("murph")} <= shown
    assert str(made[2].id) not in shown


def test_search_is_an_index_look_up(app, people, make_agreement):
    _records(make_agreement)
    query = visible_agreements(people.manager).where(Agreement.id.in_(search.agreement_ids("Murphy")))
    sql, params = query.select(peewee.fn.COUNT(Agreement.id)).sql()
    if isinstance(database.obj, peewee.PostgresqlDatabase):
        with database.atomic():
            database.execute_sql("SET LOCAL enable_seqscan = off")
            database.execute_sql("SET LOCAL enable_indexscan = off")  # tiny tables: the primary key would do
            plan = "\n".join(r[0] for r in database.execute_sql("EXPLAIN " + sql, params).fetchall())
        assert re.search(r"child_(normalised_)?name_trigram", plan) and "agreement_reference_trigram" in plan, plan
    else:
        plan = "\n".join(r[-1] for r in database.execute_sql("EXPLAIN QUERY PLAN " + sql, params).fetchall())
        assert plan.count("VIRTUAL TABLE INDEX") >= 2, plan
        assert not re.search(r"SCAN (child|agreement_child|agreement)\b(?! USING)", plan), plan


def test_a_teams_search_finds_what_the_plain_filter_finds_in_order(app, people, make_agreement):
    """search.narrow reads a team's own children row by row: the same records, in the
    register's order, as the index look-up over the service (`id IN (matches)`)."""
    made = _records(make_agreement)
    texts = list(NAMES) + [normalise_name(n) for n in NAMES] + [a.reference for a in made]
    newest_first = (Agreement.updated_at.desc(), Agreement.id.desc())

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(_typed(texts), st.sampled_from([people.manager, people.worker, people.other_manager]))
    def check(q, user):
        def ids(query):
            return [i for (i,) in query.select(Agreement.id).order_by(*newest_first).tuples()]

        plain = ids(visible_agreements(user).where(Agreement.id.in_(search.agreement_ids(q))))
        assert ids(search.narrow(visible_agreements(user), q, user.team_id)) == plain, q
        assert ids(search.narrow(visible_agreements(user), q)) == plain, q

    check()
