"""The agency's real copy behind its link: in full, printable, as a PDF, audited (issue 9, item 5)."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from pypdf import PdfReader

from tests.conftest import NOW
from tracker.agencies import tokens
from tracker.agencies.agency_copy import by_who
from tracker.models import Action, AuditEvent, Notification, Recipient, User
from tracker.web import ratelimit

# What the agency sees does not depend on the database; SQLite keeps these quick.
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture(autouse=True)
def _fresh_limits():
    ratelimit.reset()
    yield
    ratelimit.reset()


@pytest.fixture
def agency_link(people, make_agreement):
    User.update(phone="0100 000 0101").where(User.id == people.worker.id).execute()
    agreement = make_agreement(status="active", actions=[
        {"what": "Ms Murphy will take Ella to nursery every weekday.", "who": "Ms Murphy", "side": "family",
         "timescale": "Every weekday", "due_on": None},
        {"what": "The social worker will visit every two weeks.", "who": "Social worker", "side": "professional",
         "timescale": "Every two weeks", "due_on": None},
        {"what": "Ms Murphy will go to the parenting group on Tuesdays.", "who": "ms murphy ", "side": "family",
         "timescale": "", "due_on": dt.date(2027, 1, 5)},
    ])
    recipient = Recipient.get(Recipient.agreement == agreement)
    return agreement, recipient, "/a/" + tokens.token_for(recipient)


def _section(page: str, start: str, end: str) -> str:
    return page[page.index(start):page.index(end, page.index(start))]


@sqlite_only
def test_the_agency_reads_the_version_in_force_in_full(client, agency_link):
    agreement, recipient, url = agency_link
    response = client.get(url)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    copy = page[page.index('id="copy"'):]
    for text in (
        "Ella Murphy", "4 May 2019", agreement.reference, "20 November 2026",
        "To keep Ella safe at home while her mother works with the family centre.",
        "Ella said she likes going to the park with her mum.", "Ms Murphy wants Ella to stay at home.",
        "The social worker will call a meeting within two working days.", "Ella will stay with her grandmother.",
        "15 January 2027 at 10am", "Riverside Family Centre",  # the review: date, time and venue
        "Maria Manager",  # who endorsed it
        "Sam Worker", "0100 000 0101",  # the social worker and their telephone
        "Front door", "0100 000 0000", "0100 000 0999",  # the front door and out of hours (service settings)
        "call the police on 999",
    ):
        assert text in copy, text
    parties = _section(copy, "Parties to the agreement", "Who has a copy")
    assert "Ms Murphy" in parties and "Mother" in parties
    # Actions grouped by who does them, numbered as in the agreement.
    actions = _section(copy, "What each person will do", "If things go wrong")
    murphy = _section(actions, ">Ms Murphy<", ">Social worker<")
    assert "Action 1: Ms Murphy will take Ella to nursery every weekday." in murphy
    assert "Action 3: Ms Murphy will go to the parenting group on Tuesdays." in murphy and "by 5 January 2027" in murphy
    assert "Action 2: The social worker will visit every two weeks." in actions[actions.index(">Social worker<"):]


def test_actions_are_grouped_by_who_in_the_order_names_first_appear():
    actions = [Action(what="a", who="Ms Murphy"), Action(what="b", who="Social worker"),
               Action(what="c", who=" ms  murphy"), Action(what="d", who="")]
    groups = by_who(actions)
    assert [(g.who, [n for n, _ in g.actions]) for g in groups] == [
        ("Ms Murphy", [1, 3]), ("Social worker", [2]), ("Not named", [4])]


@sqlite_only
def test_the_acknowledgement_says_the_copy_is_on_the_childs_file(client, agency_link):
    _, recipient, url = agency_link
    page = client.get(url).get_data(as_text=True)
    assert "I have received my copy and placed it on the child's file" in page
    client.post(url + "/acknowledge")
    assert Recipient.get_by_id(recipient.id).acknowledged_at is not None
    event = AuditEvent.get(AuditEvent.action == "copy_acknowledged")
    assert "placed it on the child's file" in event.changes


@sqlite_only
def test_the_page_prints_the_copy_and_not_the_buttons(client, agency_link):
    _, _, url = agency_link
    page = client.get(url).get_data(as_text=True)
    screen_only = _section(page, '<div class="app-no-print">', 'id="copy"')
    for control in ("I have received my copy", "Send your report", "Report a breach", "Download your copy"):
        assert control in screen_only  # hidden by the print style sheet
    assert "app-no-print" not in page[page.index('id="copy"'):page.index("</main>")]


@sqlite_only
def test_the_pdf_is_the_full_copy(client, agency_link):
    agreement, recipient, url = agency_link
    response = client.get(url + "/copy.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert f'filename="{agreement.reference}.pdf"' in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    reader = PdfReader(io.BytesIO(response.data))
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    for expected in (
        f"Partnership agreement {agreement.reference}", "Copy for Jo Bloggs, Riverside Primary School",
        "Ella Murphy", "4 May 2019", "To keep Ella safe at home while her mother works with the family centre.",
        "Action 1: Ms Murphy will take Ella to nursery every weekday.", "Ella will stay with her grandmother.",
        "15 January 2027 at 10am", "Riverside Family Centre", "0100 000 0101", "0100 000 0000", "0100 000 0999",
        "call the police on 999",
    ):
        assert expected in text, expected
    event = AuditEvent.get(AuditEvent.action == "agency_copy_downloaded")
    assert event.entity_id == recipient.id and f"distribution entry {recipient.id}" in event.actor


@sqlite_only
def test_every_agency_view_and_download_is_audited(client, agency_link):
    agreement, _, url = agency_link
    for path in ("", "/report", "/breach"):  # the download's own event: test_the_pdf_is_the_full_copy
        assert client.get(url + path).status_code == 200
    actions = [e.action for e in AuditEvent.select().where(AuditEvent.agreement == agreement.id)
               .order_by(AuditEvent.id) if e.action.startswith("agency")]
    assert actions == ["agency_link_opened", "agency_report_form_viewed", "agency_breach_form_viewed"]


@sqlite_only
def test_an_undertaking_copy_shows_its_window(client, make_agreement):
    undertaking = make_agreement(kind="undertaking", status="active")
    url = "/a/" + tokens.token_for(Recipient.get(Recipient.agreement == undertaking))
    page = client.get(url).get_data(as_text=True)
    assert "If the undertaking is breached, what will happen" in page
    assert "From 23 November 2026 at 9am until 25 November 2026 at 9am" in page


@sqlite_only
def test_a_social_worker_with_no_number_sends_agencies_to_the_front_door(client, make_agreement):
    agreement = make_agreement(status="active")
    page = client.get("/a/" + tokens.token_for(Recipient.get(Recipient.agreement == agreement))).get_data(as_text=True)
    assert "Telephone: not recorded: call the front door on 0100 000 0000" in page


@sqlite_only
def test_emails_still_carry_initials_only(make_agreement):
    from jobs import sweeps

    make_agreement(status="active")
    sweeps.report_requests(dt.datetime(2027, 1, 5, 10, 1))
    sweeps.copy_chases(NOW + dt.timedelta(days=6))
    emails = list(Notification.select().where(Notification.recipient.is_null(False)))
    assert {n.kind for n in emails} == {"copy_issued", "copy_chase", "report_request"}
    for email in emails:
        assert "(EM)" in email.subject
        for text in (email.subject, email.body_text, email.body_html):
            assert "Ella Murphy" not in text and "2019" not in text
