"""Issue 22: the new partnership agreement as a task list, each section saved on its own, then Check your answers."""

from __future__ import annotations

import re

import pytest

from tracker.models import Agreement, AuditEvent
from tracker.records import drafting, fields, sections

SECTIONS = sections.of_kind("partnership")
TYPED_KINDS = (fields.TEXT, fields.LINE)


def _kind_of(name: str) -> str | None:
    """The registry's kind of a posted name: "purpose", or a row's column like "actions-0-what"."""
    parts = name.split("-")
    try:
        field = fields.field(parts[0])
    except fields.UnknownField:
        return None
    if len(parts) == 3 and field.kind == fields.ROWS:
        try:
            return field.column(parts[2]).kind
        except fields.UnknownField:
            return None
    return field.kind if len(parts) == 1 else None


def _statuses(page: str) -> dict[str, str]:
    found = re.findall(r'govuk-task-list__link[^>]*>\s*(.*?)\s*</a>.*?govuk-task-list__status[^>]*>\s*(.*?)\s*</div>',
                       page, re.S)
    return {title: re.sub(r"<[^>]+>", "", status).strip() for title, status in found}


def test_every_section_is_on_the_task_list_and_not_yet_started(client, people, login):
    login(people.worker)
    page = client.get("/agreements/new/tasks").get_data(as_text=True)
    assert _statuses(page) == {s.title: sections.NOT_STARTED for s in SECTIONS}
    for s in SECTIONS:
        assert client.get(f"/agreements/new/sections/{s.name}").status_code == 200
    # Every field on the form is asked in exactly one section.
    on_form = {f.name for f in fields.RECORD if f.on_form and "partnership" in f.kinds}
    asked = [n for s in SECTIONS for n in s.fields]
    assert sorted(asked) == sorted(on_form)


@pytest.mark.parametrize("section", SECTIONS, ids=[s.name for s in SECTIONS])
def test_saving_a_section_changes_that_section_only(page_fields, client, people, login, make_agreement, section):
    agreement = make_agreement()
    before = drafting.form_data(agreement)
    login(people.worker)
    url = f"/agreements/{agreement.id}/sections/{section.name}"
    values, _ = page_fields(client.get(url).get_data(as_text=True))
    typed = {}
    for name, value in values.items():
        if _kind_of(name) in TYPED_KINDS and name.split("-")[0] in section.fields and not name.endswith("-id"):
            typed[name] = (value + " changed").strip() if _kind_of(name) == fields.TEXT else "Changed " + name[-8:]
    if section.name in ("child", "copies", "parties"):
        typed = {k: v for k, v in typed.items() if not k.endswith(("nhs_number", "email", "person_id", "worker_phone"))}
    response = client.post(url, data={**values, **typed, "save": "1"})
    assert response.status_code == 303, re.findall(r'govuk-error-message">(.*?)</p>', response.get_data(as_text=True), re.S)
    assert response.headers["Location"] == f"/agreements/{agreement.id}/tasks"
    after = drafting.form_data(Agreement.get_by_id(agreement.id))
    for name in before:
        if name not in section.fields and name not in ("id",):
            assert after[name] == before[name], name  # nothing outside the section changed
    shown, _ = page_fields(client.get(url).get_data(as_text=True))
    for name, value in typed.items():
        assert shown[name] == value.strip(), name  # what was typed is what is saved (R15)
    assert AuditEvent.select().where((AuditEvent.action == "changed") & (AuditEvent.agreement == agreement.id)).exists()


def test_a_section_refuses_bad_typing_beside_the_field_and_keeps_it(page_fields, client, people, login, make_agreement):
    agreement = make_agreement()
    login(people.worker)
    url = f"/agreements/{agreement.id}/sections/child"
    values, _ = page_fields(client.get(url).get_data(as_text=True))
    response = client.post(url, data={**values, "children-0-date_of_birth-month": "13", "worker_phone": "call me",
                                      "save": "1"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'value="call me"' in page and "govuk-error-summary" in page


def test_a_new_agreement_starts_from_any_section_once(page_fields, client, people, login):
    login(people.worker)
    url = "/agreements/new/sections/why"
    values, _ = page_fields(client.get(url).get_data(as_text=True))
    posted = {**values, "purpose": "To keep Ella safe at home.", "child_views": "Ella likes the park.", "save": "1"}
    first = client.post(url, data=posted)
    assert first.status_code == 303
    again = client.post(url, data=posted)  # the same form sent twice makes one record (R12)
    assert Agreement.select().count() == 1 and again.status_code in (303, 409)
    agreement = Agreement.get()
    assert agreement.purpose == "To keep Ella safe at home." and agreement.social_worker_id == people.worker.id
    statuses = _statuses(client.get(first.headers["Location"]).get_data(as_text=True))
    assert statuses["Why this agreement is needed"] != sections.NOT_STARTED
    assert statuses["The child"] == sections.NOT_STARTED


def test_the_task_list_says_what_the_checks_still_want(client, people, login, make_agreement):
    agreement = make_agreement(actions=[{"what": "Ms Murphy will engage with services.", "who": "", "side": "family",
                                         "timescale": "ongoing", "due_on": None}])
    login(people.worker)
    page = client.get(f"/agreements/{agreement.id}/tasks").get_data(as_text=True)
    assert _statuses(page)["Actions agreed"] == sections.IN_PROGRESS
    assert "Still wanted:" in page


def test_check_your_answers_shows_every_field_then_sends_for_endorsement(page_fields, client, people, login, make_agreement):
    agreement = make_agreement()
    login(people.worker)
    page = client.get(f"/agreements/{agreement.id}/check").get_data(as_text=True)
    for s in SECTIONS:
        assert s.title in page
        for name in s.fields:
            assert fields.field(name).label.replace("'", "&#39;") in page, name
    values, _ = page_fields(page.split("Now send the agreement")[1])
    response = client.post(f"/agreements/{agreement.id}/submit", data=values)
    assert response.status_code == 303
    assert Agreement.get_by_id(agreement.id).status == "awaiting_endorsement"
    # Sent: it is no longer a task list's, its pages say so plainly.
    assert client.get(f"/agreements/{agreement.id}/tasks").status_code == 404


def test_an_active_record_and_another_team_are_not_offered(client, people, login, make_agreement):
    login(people.other_worker)
    assert client.get(f"/agreements/{make_agreement().id}/tasks").status_code in (403, 404)
    login(people.worker)
    assert client.get(f"/agreements/{make_agreement(status='active').id}/sections/why").status_code == 404
