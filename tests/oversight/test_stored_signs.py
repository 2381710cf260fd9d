"""The service view's stored warning signs (tracker.records.sign_store) are what the
signs say now, however the records changed between two refreshes: every change is
made the way the database sees it, and the counts are checked against the signs
worked out afresh for every active record."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import NOW
from tracker.db import database
from tracker.governance import retention
from tracker.models import Agreement, AgreementChild, Child, Party, RecordSign, SignQueue
from tracker.oversight import service
from tracker.records import breaches, identity, lifecycle, sign_store, warnings

DAYS = dt.timedelta(days=1)
CHILDREN = [{"name": name, "date_of_birth": dt.date(2018 + i, 3, 1 + i), "nhs_number": nhs}
            for i, (name, nhs) in enumerate((("Ella Murphy", ""), ("Noah Patel", ""), ("Ava Khan", "9434765919")))]
WORDS = {
    "plain": {},
    "threat": {"if_things_go_wrong": "Sign this or the children will be removed."},
    "closing": {"case_closing": True},
    "language": {"first_language": "Polish"},
    "abuse": {"domestic_abuse_concern": True, "person_who_harms": "Mr Murphy"},
    "meeting": {"plan_meeting_on": (NOW - 3 * DAYS).date()},
}

new = st.tuples(st.just("new"), st.sampled_from(range(len(CHILDREN))), st.sampled_from(["partnership", "undertaking"]),
                st.sampled_from(["active", "active", "awaiting_endorsement", "ended"]), st.sampled_from(sorted(WORDS)),
                st.sampled_from([1, 40, 250]))
change = st.tuples(st.sampled_from(["end breached", "end escalated", "breach", "unlink", "professional party",
                                    "other team", "destroy"]), st.integers(0, 20))
child_change = st.tuples(st.sampled_from(["link", "nhs"]), st.integers(0, 20), st.integers(0, 20))
# Each step, then the stored signs brought up to date or not: a change must reach the
# records it touches whether or not others wait in the queue beside it.
steps = st.lists(st.tuples(st.one_of(new, new, change, change, child_change), st.booleans()), min_size=3, max_size=12)


def live_counts(now) -> dict[int, Counter]:
    """Every active record's signs worked out afresh, counted by team."""
    active = list(Agreement.select().where(Agreement.status == "active"))
    counts: dict[int, Counter] = {}
    for agreement_id, signs in warnings.signs_for(active, now).items():
        team = next(a.team_id for a in active if a.id == agreement_id)
        counts.setdefault(team, Counter()).update(sign.key for sign in signs)
    return {team: counted for team, counted in counts.items() if counted}


def shown_counts(now) -> dict[int, Counter]:
    return {team.team_id: Counter({k: v for k, v in team.signs.items() if v})
            for team in service.figures(now).teams if any(team.signs.values())}


def _pick(items, index):
    return items[index % len(items)] if items else None


def _apply(step, people, make_agreement) -> None:
    records = list(Agreement.select().order_by(Agreement.id))
    if step[0] == "new":
        _, child, kind, status, words, age = step
        make_agreement(kind=kind, status=status, now=NOW - age * DAYS, children=[CHILDREN[child]], **WORDS[words])
        return
    if step[0] in ("link", "nhs"):
        children = list(Child.select().order_by(Child.id))
        first, second = _pick(children, step[1]), _pick(children, step[2])
        if first is None:
            return
        if step[0] == "link":
            identity.link(_pick(records, 0), first, second, people.manager, NOW)
        else:
            Child.update(nhs_number=second.nhs_number or "4010232137").where(Child.id == first.id).execute()
        return
    what, index = step
    live = [r for r in records if r.status != "ended"]
    record = _pick(live, index)
    if what == "destroy":
        ended = [r for r in records if r.status == "ended"]
        record = _pick(ended, index)
        if record is not None:
            Agreement.update(retention_due_on=NOW.date() - DAYS).where(Agreement.id == record.id).execute()
            retention.destroy(record, people.manager, "Past its date.", NOW)
        return
    if record is None:
        return
    if what.startswith("end ") or what == "breach":
        record = _pick([r for r in live if r.status == "active"], index)
        if record is None:
            return
    if what.startswith("end "):
        lifecycle.end(record, people.manager, NOW - DAYS, what.split()[1])
    elif what == "breach":
        breaches.log(record, {"description": "Dad came to the house.", "reported_by": "School"}, NOW - 2 * DAYS,
                     user=people.worker)
    elif what == "unlink":
        AgreementChild.update(removed_at=NOW).where(AgreementChild.agreement == record.id).execute()
    elif what == "professional party":
        Party.update(side="professional").where(Party.agreement == record.id).execute()
    elif what == "other team":
        team = people.south.id if record.team_id == people.north.id else people.north.id
        Agreement.update(team=team).where(Agreement.id == record.id).execute()


@settings(max_examples=40, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=steps)
def test_the_stored_signs_are_the_signs_after_any_changes(app, people, make_agreement, steps):
    with database.atomic() as transaction:
        for step, refresh in steps:
            _apply(step, people, make_agreement)
            if refresh:
                sign_store.refresh_stored(NOW)
        assert shown_counts(NOW) == live_counts(NOW), steps
        assert SignQueue.select().count() == 0
        # And again a month on: the signs that move with the clock are counted at the moment asked.
        later = NOW + 31 * DAYS
        assert shown_counts(later) == live_counts(later), steps
        transaction.rollback()


def test_a_refresh_works_out_only_what_changed(app, people, make_agreement, monkeypatch):
    first = make_agreement(status="active", if_things_go_wrong="Sign this or the children will be removed.")
    other = make_agreement(status="active", children=[CHILDREN[1]])
    assert sign_store.refresh_stored(NOW) == 2
    assert {r.key for r in RecordSign.select().where(RecordSign.agreement == first.id)} == {"coercion"}
    assert sign_store.refresh_stored(NOW) == 0
    # A breach on Ella's record: Ella's records are worked out again, Noah's is not.
    breaches.log(first, {"description": "Dad came to the house.", "reported_by": "School"}, NOW, user=people.worker)
    seen = []
    real = warnings.signs_for
    monkeypatch.setattr(warnings, "signs_for", lambda records, now: seen.extend(r.id for r in records) or real(records, now))
    sign_store.refresh_stored(NOW)
    assert first.id in seen and other.id not in seen


def test_code_that_decides_otherwise_queues_every_active_record(app, people, make_agreement, monkeypatch):
    make_agreement(status="active")
    sign_store.refresh_stored(NOW)
    monkeypatch.setattr(sign_store, "_checked", False)
    monkeypatch.setattr(sign_store, "fingerprint", lambda: "other code")
    assert sign_store.refresh_stored(NOW) == 1
    assert sign_store.refresh_stored(NOW) == 0


def _ella_and_noah(make_agreement):
    ella = make_agreement(status="active", now=NOW - 40 * DAYS, children=[CHILDREN[0]])
    noah = make_agreement(status="active", children=[CHILDREN[2]])
    sign_store.refresh_stored(NOW)
    assert "repeated_agreements" not in shown_counts(NOW).get(ella.team_id, {})
    return ella, noah


def _child_of(agreement) -> Child:
    return Child.select().join(AgreementChild).where(AgreementChild.agreement == agreement.id).get()


def _linked(people, make_agreement):
    ella, noah = _ella_and_noah(make_agreement)
    identity.link(ella, _child_of(ella), _child_of(noah), people.manager, NOW)


def _same_nhs_number_then_corrected(people, make_agreement):
    ella, noah = _ella_and_noah(make_agreement)
    Child.update(nhs_number=_child_of(noah).nhs_number).where(Child.id == _child_of(ella).id).execute()
    assert shown_counts(NOW)[ella.team_id]["repeated_agreements"] == 2
    Child.update(nhs_number="").where(Child.id == _child_of(ella).id).execute()


def _earlier_breached_record_destroyed(people, make_agreement):
    first = make_agreement(status="active", now=NOW - 400 * DAYS)
    lifecycle.end(first, people.manager, NOW - 300 * DAYS, "breached")
    second = make_agreement(status="active")
    assert shown_counts(NOW)[second.team_id]["new_after_breach"] == 1
    Agreement.update(retention_due_on=NOW.date() - DAYS).where(Agreement.id == first.id).execute()
    retention.destroy(Agreement.get_by_id(first.id), people.manager, "Past its date.", NOW)


def _moved_to_another_child(people, make_agreement):
    first = make_agreement(status="active", now=NOW - 40 * DAYS)
    second = make_agreement(status="active")
    assert shown_counts(NOW)[second.team_id]["repeated_agreements"] == 2
    AgreementChild.update(child=_child_of(make_agreement(children=[CHILDREN[1]]))).where(
        AgreementChild.agreement == first.id).execute()


@pytest.mark.parametrize("change", [_linked, _same_nhs_number_then_corrected, _earlier_breached_record_destroyed,
                                    _moved_to_another_child])
def test_a_change_to_who_a_child_is_reaches_every_record_of_the_child(app, people, make_agreement, change):
    """The changes that the Hypothesis test above reaches only by chance, each once: a
    change to a child, or a link deleted, reaches the records of the child as it was."""
    change(people, make_agreement)
    assert shown_counts(NOW) == live_counts(NOW)
