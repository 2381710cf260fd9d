"""Issue 11: no input gives a 500, every create survives a double submit, single-line
fields stay single, CSV cells never run, and every view of a child's record is audited."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest

from tests.conftest import NOW
from tracker.agencies import tokens
from tracker.models import (
    Agency,
    AgencyReport,
    Agreement,
    AuditEvent,
    Breach,
    BreachAmendment,
    Notification,
    Recipient,
    Team,
    User,
)
from tracker.records import breaches
from tracker.web import ratelimit
from tracker.web.once import new_key


@pytest.fixture(autouse=True)
def _fresh_limits():
    ratelimit.reset()
    yield
    ratelimit.reset()


def _breach_form(**overrides):
    fields = {"immediate_risk": "no", "description": "Mr Murphy was at the house at 9pm.",
              "occurred_at-day": "23", "occurred_at-month": "11", "occurred_at-year": "2026",
              "occurred_at-time": "08:30", "action": "0", "term": "Contact", "reported_by": "Neighbour, by phone"}
    fields.update(overrides)
    return fields


# --- 1. no input gives a 500 ------------------------------------------------------

def test_a_date_part_of_twenty_digits_is_a_message_not_a_crash(client, people, login, make_agreement, good_partnership):
    agreement = make_agreement(status="active")
    login(people.worker)
    response = client.post(f"/agreements/{agreement.id}/breaches/new",
                           data=_breach_form(**{"occurred_at-day": "9" * 20}))
    assert response.status_code == 400
    assert "When it happened must be a real date" in response.get_data(as_text=True)
    response = client.post("/agreements/new?kind=partnership",
                           data=good_partnership(**{"completed_on-year": "2" * 25, "completed_on-day": "²"}))
    assert response.status_code == 400 and "Date completed must be a real date" in response.get_data(as_text=True)
    assert Breach.select().count() == 0 and Agreement.select().count() == 1


@pytest.mark.parametrize("url", ["/?worker=%C2%B2", "/agreements?worker=%C2%B2", "/dashboard/breaches.csv?worker=%C2%B2",
                                 "/?team=" + "9" * 31, "/?worker=" + "9" * 31, "/agreements?worker=" + "9" * 31,
                                 "/agreements?page=" + "9" * 40, "/?breaches_page=%C2%B2"])
def test_filters_with_odd_numbers_are_ignored(client, people, login, url):
    login(people.head)
    assert client.get(url).status_code == 200


def test_ids_too_large_for_the_database_are_not_found(client, people, login, make_agreement):
    agreement = make_agreement(status="active")
    huge = str(2**63)
    login(people.manager)
    for url in (f"/agreements/{huge}", f"/agreements/{huge}/print", f"/breaches/{huge}", f"/agreements/{2**31}",
                f"/breaches/{huge}/acknowledge"):
        assert client.get(url).status_code == 404, url
    response = client.post(f"/agreements/{agreement.id}/recipients/{huge}/link", data={"what": "revoke"})
    assert response.status_code == 404
    login(people.admin)
    assert client.get(f"/admin/users/{huge}").status_code == 404
    assert client.get(f"/admin/agencies/{huge}").status_code == 404


def test_a_line_break_in_next_after_sign_in_goes_home(client, people):
    from tests.conftest import PASSWORD

    response = client.post("/login?next=/agreements%0d%0aSet-Cookie:x=1",
                           data={"email": people.worker.email, "password": PASSWORD})
    assert response.status_code == 302 and response.location == "/"


# --- 2. every create is idempotent per form ----------------------------------------

def test_a_new_record_posted_twice_is_one_record(client, people, login, good_partnership):
    login(people.worker)
    form = good_partnership(once_key=new_key(), social_worker=str(people.worker.id))
    first = client.post("/agreements/new?kind=partnership", data=form)
    second = client.post("/agreements/new?kind=partnership", data=form)
    assert first.status_code == second.status_code == 302
    assert first.location == second.location
    assert Agreement.select().count() == 1
    # A new form (a fresh key) with other words is a new record; with the same words it is
    # the one already sent (the browser's Back button draws the page with a fresh key).
    assert client.post("/agreements/new?kind=partnership", data={**form, "once_key": new_key()}).location == first.location
    assert client.post("/agreements/new?kind=partnership",
                       data={**form, "once_key": new_key(), "purpose": "To keep Ella and Sam safe."}).status_code == 302
    assert Agreement.select().count() == 2


def test_the_key_comes_with_the_form_and_survives_an_error(client, people, login, good_partnership):
    login(people.worker)
    page = client.get("/agreements/new?kind=partnership").get_data(as_text=True)
    key = re.search(r'name="once_key" type="hidden" value="([^"]+)"', page).group(1)
    again = client.post("/agreements/new?kind=partnership", data=good_partnership(once_key=key, purpose="", social_worker=str(people.worker.id)))
    assert again.status_code == 400 and f'value="{key}"' in again.get_data(as_text=True)
    assert client.post("/agreements/new?kind=partnership", data=good_partnership(once_key=key, social_worker=str(people.worker.id))).status_code == 302
    assert Agreement.select().count() == 1


def test_a_staff_breach_posted_twice_is_one_breach_and_one_set_of_alerts(client, people, login, make_agreement):
    agreement = make_agreement(status="active")
    login(people.worker)
    form = _breach_form(once_key=new_key())
    first = client.post(f"/agreements/{agreement.id}/breaches/new", data=form)
    alerts = Notification.select().where(Notification.kind == "breach_alert").count()
    second = client.post(f"/agreements/{agreement.id}/breaches/new", data=form)
    assert first.location == second.location and Breach.select().count() == 1
    assert Notification.select().where(Notification.kind == "breach_alert").count() == alerts


def test_an_amendment_posted_twice_is_one_amendment(client, people, login, make_agreement):
    agreement = make_agreement(status="active")
    breach = breaches.log(agreement, {"description": "x", "reported_by": "y"}, NOW, user=people.worker)
    login(people.worker)
    form = {"text": "It was 10pm, not 9pm.", "once_key": new_key()}
    for _ in range(2):
        assert client.post(f"/breaches/{breach.id}/amend", data=form).status_code == 302
    assert BreachAmendment.select().count() == 1


def test_agency_breach_and_report_posted_twice_are_one_each(client, make_agreement):
    agreement = make_agreement(status="active")
    recipient = Recipient.get(Recipient.agreement == agreement)
    url = "/a/" + tokens.token_for(recipient)
    form = _breach_form(once_key=new_key(), reported_by="Jo Bloggs")
    first, second = (client.post(url + "/breach", data=form) for _ in range(2))
    assert first.status_code == second.status_code == 302 and first.location == second.location
    assert Breach.select().count() == 1
    assert "Breach reported" in client.get(first.location).get_data(as_text=True)
    report = {"kind": "report", "body": "Ella is doing well at school.", "once_key": new_key()}
    assert [client.post(url + "/report", data=report).status_code for _ in range(2)] == [302, 302]
    assert AgencyReport.select().count() == 1


def test_an_agency_cannot_read_another_links_breach(client, make_agreement, people):
    agreement = make_agreement(status="active")
    breach = breaches.log(agreement, {"description": "x", "reported_by": "y"}, NOW, user=people.worker)
    recipient = Recipient.get(Recipient.agreement == agreement)
    assert client.get(f"/a/{tokens.token_for(recipient)}/breach/{breach.id}").status_code == 404


# --- 5. single-line fields -----------------------------------------------------------

def test_names_with_line_breaks_are_refused(client, people, login, good_partnership):
    login(people.admin)
    response = client.post("/admin/teams/new", data={"name": "East\r\nBcc: everyone@example.org"})
    assert response.status_code == 400 and "Team name must be on one line" in response.get_data(as_text=True)
    response = client.post("/admin/agencies/new", data={"name": "School\nX", "kind": "school"})
    assert response.status_code == 400 and "must be on one line" in response.get_data(as_text=True)
    response = client.post("/admin/users/new", data={"name": "Ann\rSmith", "email": "ann@council.example",
                                                     "role": "social_worker", "team": people.north.id,
                                                     "password": "a-long-password-1"})
    assert response.status_code == 400 and "Full name must be on one line" in response.get_data(as_text=True)
    assert Team.select().count() == 2 and Agency.select().count() == 0 and User.select().count() == 7
    login(people.worker)
    response = client.post("/agreements/new?kind=partnership", data=good_partnership(social_worker=str(people.worker.id), **{"parties-0-name": "Ms\nMurphy"}))
    assert response.status_code == 400 and Agreement.select().count() == 0


def test_a_subject_stored_with_a_line_break_is_still_sent_on_one_line(app, people, smtp):
    from jobs.delivery import deliver_pending

    # A team name with CR/LF, saved before names were checked, once made its digest fail every time.
    Notification.create(key="test/digest", kind="digest", to_address=people.manager.email,
                        subject="North\r\nBcc: everyone@example.org: what needs action today", body_text="x",
                        next_attempt_at=NOW, created_at=NOW)
    deliver_pending(NOW)
    (message,) = smtp.to(people.manager.email)
    assert message["Subject"] == "North Bcc: everyone@example.org: what needs action today"
    assert message["Bcc"] is None and Notification.get().status == "sent"


# --- 6. CSV cells ---------------------------------------------------------------------

@pytest.mark.parametrize("cell", ["=1+1", " =1+1", "\n=1+1", " \t=1", "\t1", "\r=1", "  @SUM(A1)", "-2+3", "+1"])
def test_csv_cells_that_could_run_are_neutralised(cell):
    from tracker.web.spreadsheet import csv_text

    (row,) = csv.reader(io.StringIO(csv_text([[cell]])))
    assert row[0].startswith("'")


def test_plain_csv_cells_are_left_alone():
    from tracker.web.spreadsheet import csv_text

    plain = ["Ella", "a=b", "", None, "2026-11-23", -5, "-1.5"]
    (row,) = csv.reader(io.StringIO(csv_text([plain])))
    assert row == ["Ella", "a=b", "", "", "2026-11-23", "-5", "-1.5"]


# --- 7. every view of a child's record is audited ------------------------------------

def test_every_page_showing_a_record_is_in_its_history(client, people, login, make_agreement):
    agreement = make_agreement(status="active")
    breach = breaches.log(agreement, {"description": "x", "reported_by": "y"}, NOW, user=people.worker)
    login(people.manager)
    pages = {f"/agreements/{agreement.id}/edit": "viewed_edit_page",
             f"/breaches/{breach.id}": "viewed_breach",
             f"/breaches/{breach.id}/acknowledge": "viewed_breach_acknowledge_page",
             f"/breaches/{breach.id}/amend": "viewed_breach_amend_page",
             f"/agreements/{agreement.id}/breaches/new": "viewed_breach_form",
             f"/agreements/{agreement.id}/print": "printed",
             f"/agreements/{agreement.id}/review": "viewed_review_page"}
    for url, action in pages.items():
        assert client.get(url).status_code == 200, url
        assert AuditEvent.select().where((AuditEvent.action == action) & (AuditEvent.agreement == agreement)
                                         & (AuditEvent.user == people.manager)).count() == 1, url
    history = client.get(f"/agreements/{agreement.id}/history").get_data(as_text=True)
    for label in ("Viewed edit page", "Viewed breach acknowledge page", "Viewed breach amend page", "Opened the printable copy"):
        assert label in history


def test_agency_views_are_audited(client, make_agreement):
    agreement = make_agreement(status="active")
    url = "/a/" + tokens.token_for(Recipient.get(Recipient.agreement == agreement))
    for path in ("", "/breach", "/report"):
        assert client.get(url + path).status_code == 200
    actions = {e.action for e in AuditEvent.select().where(AuditEvent.agreement == agreement)}
    assert {"agency_link_opened", "agency_breach_form_viewed", "agency_report_form_viewed"} <= actions


def test_a_csv_export_is_one_event_naming_the_filter(client, people, login, make_agreement):
    make_agreement(status="active")
    login(people.head)
    assert client.get(f"/dashboard/reviews_soon.csv?team={people.north.id}&kind=partnership").status_code == 200
    (event,) = AuditEvent.select().where(AuditEvent.action == "exported_csv")
    changes = {field: new for field, _, new in event.change_list()}
    assert changes["table"] == "reviews_soon" and f"team={people.north.id}" in changes["filter"]
    assert "kind=partnership" in changes["filter"] and event.user_id == people.head.id


def test_a_nul_character_is_refused_before_any_query(client, people, login, make_agreement):
    # Found by the Hypothesis test: PostgreSQL cannot hold a NUL in text.
    agreement = make_agreement(status="active")
    login(people.manager)
    assert client.get("/agreements?q=%00").status_code == 400
    response = client.post(f"/breaches/{breaches.log(agreement, {'description': 'x', 'reported_by': 'y'}, NOW).id}/amend",
                           data={"text": "a\x00b"})
    assert response.status_code == 400 and BreachAmendment.select().count() == 0


# --- one number parser; identity numbers in ASCII; line breaks and NUL refused everywhere ---

NOT_ASCII_NUMBERS = ["²", "٣", "１２", "99999999999999999999", "-1", " 1 2"]


@pytest.mark.parametrize("text", NOT_ASCII_NUMBERS)
def test_numbers_are_ascii_digits_and_bounded(app, text):  # closure_window reads a setting
    from tracker.ids import parse_id, parse_number
    from tracker.records.drafting import closure_window
    from tracker.records.identity import nhs_number_problem

    assert parse_number(text) is None and parse_id(text) is None
    assert parse_number("7", 0, 9) == 7 and parse_number("12", 0, 9) is None
    assert closure_window({"closure_weeks": text})[0] is None
    assert nhs_number_problem(text)  # a message, never a crash


@pytest.mark.parametrize("revision", ["²", "٣", "99999999999999999999"])
def test_a_revision_that_is_not_a_number_is_a_stale_page_not_a_crash(make_agreement, revision):
    from tracker import models

    agreement = make_agreement(status="draft")
    with pytest.raises(models.Stale):
        models.claim(agreement.id, revision)


def test_an_nhs_number_in_arabic_indic_digits_is_stored_in_ascii(client, people, login, make_agreement):
    from tracker.clock import utcnow
    from tracker.records import identity

    child = identity.find_or_create("Ada Lovelace", dt.date(2019, 5, 4), "٤٢", "٩٤٣ ٤٧٦ ٥٩١٩", False, utcnow())
    assert (child.nhs_number, child.person_id) == ("9434765919", "42")
    assert identity.nhs_number_problem("٩٤٣ ٤٧٦ ٥٩١٩") == ""


@pytest.mark.parametrize("url", ["/subject-access/preview?child=99999999999999999999",
                                 "/subject-access/preview?child=%C2%B2"])
def test_a_subject_access_child_too_large_is_not_found(client, people, login, url):
    login(people.head)
    assert client.get(url).status_code in (400, 404)


@pytest.mark.parametrize("breaker", ["\r\n", "\u2028", "\x85", "\x0b", "\x0c", "\u2029"])
def test_settings_refuse_every_line_break(app, breaker):
    from tracker import settings

    for key in ("council_name", "service_name"):
        with pytest.raises(ValueError):
            settings.put(key, f"Children{breaker}Bcc: someone@example.com")


@pytest.mark.parametrize("column", ["reference", "child_name", "agency_contact", "agency_name", "review_venue"])
def test_an_import_refuses_line_breaks_in_one_line_columns(app, people, column):
    from tracker.clock import utcnow
    from tracker.governance import imports

    rows = [{name: "" for name in imports.NAMES} | {
        "reference": "R1", "kind": "partnership", "social_worker_email": people.worker.email, "child_name": "Jo",
        "child_date_of_birth": "04/05/2019", "completed_on": "20/10/2026", "purpose": "x", "actions": "y",
        "next_review_date": "15/01/2027", "agency_name": "School", column: "R1\r\nX-Inj: 1"}]
    plan = imports.check(rows, people.manager, utcnow())[0]
    assert "one line" in plan.errors.get(column, ""), plan.errors


def test_an_import_with_a_nul_byte_is_refused_before_any_query():
    from tracker.governance import imports

    data = ("reference,kind,social_worker_email,child_name,child_date_of_birth,completed_on,purpose,actions\n"
            "R\x001,partnership,a@b.c,Jo,04/05/2019,20/10/2026,x,y\n").encode()
    with pytest.raises(imports.FileProblem, match="NUL"):
        imports.read("x.csv", data)


def test_a_download_name_is_built_from_checked_characters():
    from tracker.ids import safe_filename

    assert safe_filename("R1\r\nX-Inj: 1") == "R1-X-Inj-1"
