"""Issue 22: a long form's typing is kept on the server: by a button, by autosave, and after the session ended."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from flask import g

from tests.conftest import NOW, PASSWORD
from tracker.models import Agreement, AuditEvent, FormDraft
from tracker.records import fields

NEW = "/agreements/new?kind=partnership"
# What the page fills in itself (its guards and keys), not what a person types.
MACHINE = re.compile("^(" + "|".join(sorted(fields.MACHINERY | {"review_id"})) + ")$")


def _fields(page_fields, client, path):
    g.pop("_login_user", None)
    page = client.get(path)
    assert page.status_code == 200
    return page_fields(page.get_data(as_text=True))


def _typed(values, choices):
    """Something different typed into every field of the form, valid or not (a draft keeps either)."""
    typed = {}
    for number, (name, value) in enumerate(values.items()):
        if MACHINE.match(name):
            typed[name] = value
        elif name in choices:
            typed[name] = choices[name][-1]
        else:
            typed[name] = f"‘{number}’ <&>"  # short: a date's parts are shown back to 20 characters
    return typed


def _shown(page_fields, client, path):
    values, _ = _fields(page_fields, client, path)
    return {k: v for k, v in values.items() if not MACHINE.match(k)}


@pytest.mark.parametrize("path", [NEW, "/agreements/new?kind=undertaking", "edit"])
def test_save_and_come_back_later_keeps_every_field_as_typed(page_fields, client, people, login, make_agreement, path):
    login(people.worker)
    if path == "edit":
        path = f"/agreements/{make_agreement().id}/edit"
    values, choices = _fields(page_fields, client, path)
    typed = _typed(values, choices)
    response = client.post("/drafts", data={**typed, "later": "1"})
    assert response.status_code == 303 and response.headers["Location"] == path
    page = client.get(path).get_data(as_text=True)
    assert "This form shows your draft" in page
    shown = _shown(page_fields, client, path)
    assert shown == {k: v for k, v in typed.items() if not MACHINE.match(k)}
    draft = FormDraft.get(FormDraft.path == path)
    assert draft.user_id == people.worker.id and draft.state == "open" and draft.used_at is None
    assert AuditEvent.select().where((AuditEvent.action == "draft_saved") & (AuditEvent.entity_id == draft.id)).exists()
    # Another person opening the same form sees their own, empty form.
    login(people.colleague)
    assert "This form shows your draft" not in client.get(path).get_data(as_text=True)


def test_autosave_by_htmx_answers_with_the_status_line(page_fields, client, people, login):
    login(people.worker)
    values, choices = _fields(page_fields, client, NEW)
    response = client.post("/drafts", data=_typed(values, choices), headers={"HX-Request": "true"})
    assert response.status_code == 200 and "Draft saved at" in response.get_data(as_text=True)
    assert response.headers["X-Session-Seconds-Left"].isdigit()
    # Typed further: the same draft row, not one a keystroke.
    client.post("/drafts", data={**_typed(values, choices), "purpose": "more"}, headers={"HX-Request": "true"})
    assert FormDraft.select().count() == 1 and "more" in FormDraft.get().body


@pytest.mark.parametrize("form", [NEW, "/agreements/new?kind=undertaking"])
@pytest.mark.parametrize("button", ["save", "later", "autosave"])
def test_typing_posted_after_the_session_ended_is_there_after_signing_in(page_fields, app, people, button, form):
    client = app.test_client()
    start = NOW + dt.timedelta(hours=1)
    with time_machine.travel(start, tick=False) as clock:
        g.pop("_login_user", None)
        client.post("/login", data={"email": people.worker.email, "password": PASSWORD})
        values, choices = _fields(page_fields, client, form)
        typed = _typed(values, choices)
        clock.shift(dt.timedelta(minutes=app.config["SESSION_IDLE_MINUTES"], seconds=1))
        g.pop("_login_user", None)
        if button == "autosave":
            response = client.post("/drafts", data=typed, headers={"HX-Request": "true"})
            assert response.status_code == 200 and "You were signed out" in response.get_data(as_text=True)
        else:
            response = client.post("/drafts" if button == "later" else form, data={**typed, button: "1"})
            assert response.status_code == 303 and "/login?next=" in response.headers["Location"]
        assert Agreement.select().count() == 0
        draft = FormDraft.get()
        assert draft.state == "pending" and draft.user_id == people.worker.id
        g.pop("_login_user", None)
        signed_in = client.post(f"/login?next={form.replace('?', '%3F').replace('=', '%3D')}",
                                data={"email": people.worker.email, "password": PASSWORD})
        assert signed_in.headers["Location"] == form
        assert _shown(page_fields, client, form) == {k: v for k, v in typed.items() if not MACHINE.match(k)}


def test_saving_the_form_marks_its_draft_used_and_keeps_it(page_fields, good_partnership, client, people, login):
    login(people.worker)
    values, _ = _fields(page_fields, client, NEW)
    client.post("/drafts", data={**values, "purpose": "half typed", "later": "1"})
    response = client.post(NEW, data={**values, **good_partnership()})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    draft = FormDraft.get()
    assert draft.used_how == "saved" and draft.used_at is not None
    assert "This form shows your draft" not in client.get(NEW).get_data(as_text=True)


def test_set_aside_starts_again_without_deleting(page_fields, client, people, login):
    login(people.worker)
    values, _ = _fields(page_fields, client, NEW)
    client.post("/drafts", data={**values, "purpose": "half typed", "later": "1"})
    values, _ = _fields(page_fields, client, NEW)
    assert client.post("/drafts/set-aside", data={"draft_owner": values["draft_owner"]}).status_code == 303
    assert FormDraft.get().used_how == "discarded"
    assert _shown(page_fields, client, NEW)["purpose"] == ""


@pytest.mark.parametrize("note", ["", "forged", "someone else's"])
def test_a_draft_is_kept_only_for_the_person_the_page_was_made_for(page_fields, client, people, login, note):
    login(people.colleague)
    theirs, _ = _fields(page_fields, client, NEW)
    login(people.worker)
    values, _ = _fields(page_fields, client, NEW)
    owner = {"": "", "forged": values["draft_owner"][:-3] + "abc", "someone else's": theirs["draft_owner"]}[note]
    assert client.post("/drafts", data={**values, "draft_owner": owner, "later": "1"}).status_code == 400
    assert FormDraft.select().count() == 0
    if note != "someone else's":
        client.post("/logout")
        g.pop("_login_user", None)
        # Signed out, a post whose note the service did not sign keeps nothing either.
        client.post(NEW, data={**values, "draft_owner": owner, "save": "1"})
        assert FormDraft.select().count() == 0


def _pages(make_agreement, people):
    active = make_agreement(status="active")
    return {"review": f"/agreements/{active.id}/review", "breach": f"/agreements/{active.id}/breaches/new"}


@pytest.mark.parametrize("form", ["review", "breach"])
def test_the_review_and_breach_forms_keep_typing_posted_after_the_session_ended(page_fields, app, people, make_agreement, form):
    path = _pages(make_agreement, people)[form]
    client = app.test_client()
    with time_machine.travel(NOW + dt.timedelta(hours=1), tick=False) as clock:
        g.pop("_login_user", None)
        client.post("/login", data={"email": people.worker.email, "password": PASSWORD})
        values, choices = _fields(page_fields, client, path)
        typed = _typed(values, choices)
        clock.shift(dt.timedelta(minutes=app.config["SESSION_IDLE_MINUTES"], seconds=1))
        g.pop("_login_user", None)
        response = client.post(path, data=typed)
        assert response.status_code == 303 and "/login?next=" in response.headers["Location"]
        g.pop("_login_user", None)
        client.post("/login", data={"email": people.worker.email, "password": PASSWORD})
        assert _shown(page_fields, client, path) == {k: v for k, v in typed.items() if not MACHINE.match(k)}
