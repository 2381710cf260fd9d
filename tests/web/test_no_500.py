"""Issue 11: no input gives a 500 (Hypothesis over every form and every query filter).

Each example posts one form (staff and agency) or asks one filtered page with
values drawn from what has broken pages before: huge and non-ASCII digits, line
breaks, markup, very long text. Nothing may answer 5xx, and a refused post
(4xx) must leave every table as it was: nothing half-saved. Bounded and
derandomized, so it is quick and gives the same answer every run.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import g
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import NOW
from tracker.agencies import tokens
from tracker.models import (
    ALL_MODELS,
    Agency,
    Agreement,
    AgreementChild,
    AuditEvent,
    FormSubmission,
    Recipient,
    RecordSign,
    SignInFailures,
    SignLogic,
    SignQueue,
    UserSession,
)
from tracker.records import breaches
from tracker.web import ratelimit

NASTY = st.one_of(
    st.sampled_from(["", "0", "-1", "²", "٣", "9" * 20, "9" * 31, str(2**31), str(2**63), "1e9", " 7 ", "\r\n",
                     "a\nb", "<script>", "%", "'; DROP TABLE agreement;--", "\x00", "31", "2", "2026", "12:60",
                     "\u2028", "\x85", "\x0b", "\x0c", "R1\r\nX-Inj: 1", "１２", "٩٤٣٤٧٦٥٩١٩", "٣", "99999999999999999999"]),
    st.text(max_size=40),
    st.text(alphabet="0123456789²³¹٣", min_size=1, max_size=25),
)

DATE_PARTS = ("day", "month", "year", "time")


def _forms(ids: dict, good_partnership) -> dict[str, tuple[str, dict]]:
    """Every create or change form, with a good post to start from."""
    breach = {"immediate_risk": "no", "description": "Seen at the house.", "reported_by": "Neighbour",
              "occurred_at-day": "23", "occurred_at-month": "11", "occurred_at-year": "2026", "occurred_at-time": "08:30",
              "action": "0", "term": "Contact"}
    agency = f"/a/{ids['token']}"
    return {
        "record": ("/agreements/new?kind=partnership", good_partnership(social_worker=str(ids["worker"]))),
        "edit": (f"/agreements/{ids['agreement']}/edit", good_partnership(social_worker=str(ids["worker"]))),
        "breach": (f"/agreements/{ids['agreement']}/breaches/new", breach),
        "amend": (f"/breaches/{ids['breach']}/amend", {"text": "A correction."}),
        "acknowledge": (f"/breaches/{ids['breach']}/acknowledge", {"response": "other", "response_notes": "x"}),
        "review": (f"/agreements/{ids['agreement']}/review", {"held_on-day": "20", "held_on-month": "11",
                                                              "held_on-year": "2026", "outcome": "continue"}),
        "end": (f"/agreements/{ids['draft']}/end", {"reason": "expired", "notes": "x"}),
        "link": (f"/agreements/{ids['agreement']}/recipients/{ids['recipient']}/link", {"what": "revoke"}),
        "agency_breach": (agency + "/breach", breach),
        "agency_report": (agency + "/report", {"kind": "report", "body": "Doing well."}),
        "login": ("/login", {"email": "nobody@council.example", "password": "x"}),
        "close": (f"/children/{ids['child']}/close", {f"decision-{ids['agreement']}": "closure",
                                                     f"weeks-{ids['agreement']}": "3", "notes": "Closing."}),
    }


FILTERS = [("/", ("team", "worker", "kind", "overdue_reviews_page", "breaches_page")),
           ("/agreements", ("q", "status", "kind", "worker", "page")),
           ("/dashboard/breaches.csv", ("team", "worker", "kind")),
           ("/breaches/new", ("q",))]


def _counts() -> dict[str, int]:
    # Views write audit events, sign-in counts failures, and the service view brings its
    # stored warning signs up to date: those are not half-saved records.
    skip = {AuditEvent, SignInFailures, UserSession, FormSubmission, RecordSign, SignQueue, SignLogic}
    return {m.__name__: m.select().count() for m in ALL_MODELS if m not in skip}


def _setup(people, make_agreement) -> dict:
    agreement = make_agreement(status="active")
    draft = make_agreement(status="draft")
    breach = breaches.log(agreement, {"description": "x", "reported_by": "y"}, NOW, user=people.worker)
    recipient = Recipient.get(Recipient.agreement == agreement)
    return {"agreement": agreement.id, "draft": draft.id, "breach": breach.id, "recipient": recipient.id,
            "token": tokens.token_for(recipient), "worker": people.worker.id,
            "child": AgreementChild.get(AgreementChild.agreement == agreement).child_id}


BOUNDED = settings(max_examples=25, deadline=None, derandomize=True, database=None,
                   suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _as(login, people, data) -> None:
    ratelimit.reset()
    g.pop("_login_user", None)  # the test's app context would keep the last request's user
    login(data.draw(st.sampled_from([people.manager, people.worker, people.head]), label="who"))


def test_no_query_filter_gives_a_500(app, client, people, login):
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a crash must show as the 500 a user would get

    @BOUNDED
    @given(st.data())
    def one(data):
        _as(login, people, data)
        for path, names in FILTERS:
            query = {name: data.draw(NASTY, label=name) for name in names}
            response = client.get(path + "?" + urlencode(query))
            assert response.status_code < 500, (path, query)

    one()


def test_no_form_input_gives_a_500_or_half_saves(app, client, people, login, make_agreement, good_partnership):
    forms = _forms(_setup(people, make_agreement), good_partnership)
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @BOUNDED
    @given(st.data())
    def one(data):
        _as(login, people, data)
        name = data.draw(st.sampled_from(sorted(forms)), label="form")
        url, fields = forms[name]
        fields = dict(fields)
        for key in data.draw(st.lists(st.sampled_from(sorted(fields) + [f"completed_on-{p}" for p in DATE_PARTS]
                                                      + ["revision", "other", "redact"]),
                                      min_size=1, max_size=4), label="fields"):
            fields[key] = data.draw(NASTY, label=key)
        before = _counts()
        response = client.post(url, data=fields, environ_base={"REMOTE_ADDR": "10.9.9.9"})
        assert response.status_code < 500, (name, fields)
        if 400 <= response.status_code < 500:
            assert _counts() == before, (name, fields)

    one()


IMPORT_ROW = {
    "reference": "OLD-1", "kind": "partnership", "social_worker_email": "worker@council.example",
    "child_name": "Child One", "child_date_of_birth": "04/05/2019", "completed_on": "20/10/2026",
    "endorsed_on": "21/10/2026", "purpose": "To keep the child safe at home.", "actions": "Mother will visit",
    "family_members": "Jane Doe (mother)", "next_review_date": "15/01/2027", "next_review_time": "10:00",
    "review_venue": "Family centre", "agency_name": "Riverside Primary School", "agency_contact": "Jo Bloggs",
    "agency_email": "dsl@school.example",
}


def test_no_import_column_gives_a_500(app, client, people, login):
    """Every column of the import, with the same nasty values, through the preview and the confirmation."""
    import csv
    import io

    from tracker.governance import imports

    app.config["PROPAGATE_EXCEPTIONS"] = False

    @settings(max_examples=15, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(st.data())
    def one(data):
        ratelimit.reset()
        g.pop("_login_user", None)
        login(people.manager)
        row = dict(IMPORT_ROW)
        for name in data.draw(st.lists(st.sampled_from(imports.NAMES), min_size=1, max_size=3), label="columns"):
            row[name] = data.draw(NASTY, label=name)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(imports.NAMES)
        writer.writerow([row.get(name, "") for name in imports.NAMES])
        response = client.post("/import/", data={"file": (io.BytesIO(out.getvalue().encode()), "x.csv")},
                               content_type="multipart/form-data")
        assert response.status_code < 500, row
        seen.append(response.status_code)
        if response.status_code == 200:
            token = response.get_data(as_text=True).split('name="token" value="')[1].split('"')[0]
            done = client.post("/import/confirm", data={"token": token})
            assert done.status_code < 500, row
            for agreement in Agreement.select():
                # Whatever was imported prints: its reference is in a download's header.
                assert client.get(f"/agreements/{agreement.id}/print").status_code < 500, row

    seen: list[int] = []
    one()
    assert 200 in seen and 400 in seen, seen  # some files import, some are refused: both paths were tried


def test_no_administration_form_gives_a_500_or_half_saves(app, client, people, login, page_fields):
    """Users, teams, agencies and service settings, each field as the page offers it, then changed."""
    app.config["PROPAGATE_EXCEPTIONS"] = False
    agency = Agency.create(name="Riverside Primary School", kind="school", email="office@school.example")
    pages = ["/admin/users/new", f"/admin/users/{people.worker.id}", "/admin/teams/new", "/admin/agencies/new",
             f"/admin/agencies/{agency.id}", "/admin/settings"]
    login(people.admin)
    offered = {url: page_fields(client.get(url).get_data(as_text=True))[0] for url in pages}
    assert all(len(fields) > 1 for fields in offered.values()), offered

    @BOUNDED
    @given(st.data())
    def one(data):
        url = data.draw(st.sampled_from(pages), label="page")
        fields = dict(offered[url])
        names = sorted(n for n in fields if n != "csrf_token")
        for key in data.draw(st.lists(st.sampled_from(names), min_size=1, max_size=4), label="fields"):
            fields[key] = data.draw(NASTY, label=key)
        before = _counts()
        response = client.post(url, data=fields)
        assert response.status_code < 500, (url, fields)
        if 400 <= response.status_code < 500:
            assert _counts() == before, (url, fields)

    one()
