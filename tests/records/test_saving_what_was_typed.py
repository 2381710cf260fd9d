"""R15: what is saved is what was typed. Every field of the record's edit form,
changed alone, is saved, held in the variation and shown as such, or refused
with a message beside it and the typing kept; never answered "saved" and dropped."""

from __future__ import annotations

import pytest

from tracker import models
from tracker.models import Agency, Agreement, Variation
from tracker.records import fields


@pytest.fixture
def database_url(tmp_path, migrated_sqlite):
    """The walk is page by page on SQLite; the combinations below run on both databases."""
    import shutil

    path = tmp_path / "test.db"
    shutil.copy(migrated_sqlite, path)
    return f"sqlite:///{path}"


def registered(name: str) -> fields.Field:
    """The registry's field for a posted name such as "parties-0-signed_on-day"."""
    base = name.split("-")
    if len(base) >= 3 and base[1].isdigit():
        return fields.field(base[0]).column(base[2])
    return fields.field(base[0])


def edits(values: dict, choices: dict):
    """Each field of the form changed alone: (what it is, the fields to post)."""
    seen = set()
    for name in sorted({*values, *choices}):
        parts = name.split("-")
        if parts[0] in fields.MACHINERY or name == "save" or (len(parts) >= 3 and parts[2] == "id"):
            continue
        declared = registered(name)  # raises on a field the registry does not know
        base = name.rsplit("-", 1)[0] if parts[-1] in ("day", "month", "year", "time") else name
        if base in seen:
            continue
        seen.add(base)
        post = dict(values)
        if base != name:  # a date, or a date and time
            if post.get(f"{base}-year"):
                post[f"{base}-day"] = "2" if post[f"{base}-day"] == "1" else "1"
                if f"{base}-time" in post:
                    post[f"{base}-time"] = "11:15" if post[f"{base}-time"] != "11:15" else "12:30"
            else:
                post.update({f"{base}-day": "3", f"{base}-month": "3", f"{base}-year": "2026"})
                if f"{base}-time" in values:
                    post[f"{base}-time"] = "09:30"
        elif name in choices and choices[name] == ["y"]:
            if post.get(name):
                del post[name]
            else:
                post[name] = "y"
        elif name in choices:
            other = [c for c in choices[name] if c != values.get(name) and c not in ("", "0")]
            if not other:
                continue
            post[name] = other[-1]
        elif declared.name == "worker_phone":
            post[name] = "01632 960 999"
        elif declared.name == "nhs_number":
            post[name] = "9434765919"
        elif declared.name == "person_id":
            post[name] = "AB-1234"
        elif declared.name == "email":
            post[name] = "changed@school.example"
        elif declared.name == "closure_weeks":
            post[name] = "3" if values.get(name) != "3" else "4"
        else:
            post[name] = ((values.get(name) or "") + " changed").strip()
        yield base, declared, post


def check_each_field_alone(client, page_fields, agreement_id: int, *, expect_variation: bool | None) -> list[str]:
    """Walk every field of the edit page, each changed alone; returns how each was answered."""
    url = f"/agreements/{agreement_id}/edit"
    answered = []
    values, choices = page_fields(client.get(url).get_data(as_text=True))
    values_now = values
    for base, declared, post in edits(values, choices):
        post = {**{k: v for k, v in values_now.items() if k not in post and k in values}, **post,
                "revision": values_now["revision"], "opened_at": values_now["opened_at"], "save": "1"}
        if base in values_now and base not in post:
            del post[base]
        response = client.post(url, data=post)
        wanted = {k: v for k, v in post.items() if k == base or k.startswith(base + "-")}
        if base not in post and base in values:
            wanted[base] = None  # a checkbox cleared
        if response.status_code == 400:
            page = response.get_data(as_text=True)
            shown, _ = page_fields(page)
            assert "govuk-error-message" in page, f"{base}: refused without a message"
            assert {k: shown.get(k) for k in wanted} == wanted, f"{base}: refused and the typing lost"
            answered.append(f"{base}: refused")
            values_now, _ = page_fields(client.get(url).get_data(as_text=True))
            continue
        assert response.status_code == 302, (base, response.status_code, response.get_data(as_text=True)[:300])
        shown, _ = page_fields(client.get(url).get_data(as_text=True))
        values_now = shown  # the page as it is now: the next field is changed from it
        got = {k: shown.get(k) for k in wanted}
        if declared.name == "directory" and not declared.agreed:
            wanted = {k: v for k, v in wanted.items() if k == base}
            got = {k: shown.get(k) for k in wanted}
        assert got == wanted, f"{base}: answered saved, and the page shows {got} instead of {wanted}"
        record = Agreement.get_by_id(agreement_id)
        if record.status == "active":
            top = fields.field(base.split("-")[0])
            agreed = declared.agreed if top.kind == fields.ROWS else top.agreed
            variation = models.in_progress(record)
            if agreed:
                assert variation is not None, f"{base}: family-agreed, but no variation holds it"
                shown_page = client.get(f"/agreements/{agreement_id}").get_data(as_text=True)
                assert "Variation in progress" in shown_page
            elif expect_variation is False:
                assert variation is None, f"{base}: a working detail started a variation"
        answered.append(f"{base}: {'held' if record.status == 'active' and models.in_progress(record) else 'saved'}")
    return answered


def directory_agency():
    return Agency.create(name="Riverside Health Visiting", kind="health_visiting", email="hv@nhs.example", active=True)


def test_working_details_alone_on_an_active_agreement_are_saved(client, people, login, make_agreement, page_fields):
    """The defect: the worker's telephone, who attends the review, the person at risk,
    the person who harms and the MARAC/IDVA referral were answered "saved" and dropped."""
    agreement = make_agreement(status="active")
    login(people.worker)
    url = f"/agreements/{agreement.id}/edit"
    values, _ = page_fields(client.get(url).get_data(as_text=True))
    post = {**values, "save": "1", "worker_phone": "01632 960 123", "review_attendees": "Ms Murphy and the school",
            "person_at_risk": "Ms Murphy", "person_who_harms": "Mr Murphy", "marac_idva": "Referred to MARAC",
            "actions-0-what": "Ms Murphy will walk Ella to nursery."}
    response = client.post(url, data=post, follow_redirects=True)
    assert response.status_code == 200
    record = Agreement.get_by_id(agreement.id)
    assert (record.worker_phone, record.review_attendees, record.person_at_risk, record.person_who_harms,
            record.marac_idva) == ("01632 960 123", "Ms Murphy and the school", "Ms Murphy", "Mr Murphy",
                                   "Referred to MARAC")
    assert models.live_actions(record)[0].what != "Ms Murphy will walk Ella to nursery."
    assert Variation.get(Variation.agreement == agreement).status == "draft"
    page = response.get_data(as_text=True)
    assert "social worker&#39;s telephone" in page.lower() and "draft of version 2" in page


def test_every_field_alone_on_an_active_agreement(client, people, login, make_agreement, page_fields):
    directory_agency()
    agreement = make_agreement(status="active")
    login(people.manager)
    answered = check_each_field_alone(client, page_fields, agreement.id, expect_variation=None)
    assert any(a.endswith("held") for a in answered) and len(answered) > 30


def test_every_field_alone_with_a_variation_open(client, people, login, make_agreement, page_fields):
    agreement = make_agreement(status="active")
    login(people.manager)
    url = f"/agreements/{agreement.id}/edit"
    values, _ = page_fields(client.get(url).get_data(as_text=True))
    client.post(url, data={**values, "save": "1", "purpose": "A purpose the family agreed at the review."})
    assert models.in_progress(Agreement.get_by_id(agreement.id)) is not None
    check_each_field_alone(client, page_fields, agreement.id, expect_variation=None)


def test_every_field_alone_on_a_draft(client, people, login, make_agreement, page_fields):
    agreement = make_agreement()
    login(people.manager)
    answered = check_each_field_alone(client, page_fields, agreement.id, expect_variation=None)
    assert all(a.endswith(("saved", "refused")) for a in answered)


def test_every_field_alone_on_an_active_undertaking(client, people, login, make_agreement, page_fields):
    agreement = make_agreement(kind="undertaking", status="active", legal_advice="yes")
    login(people.manager)
    answered = check_each_field_alone(client, page_fields, agreement.id, expect_variation=None)
    assert "undertaking_kind: refused" in answered


def test_a_new_agency_name_typed_on_an_entry_picked_from_the_directory_is_kept(client, people, login, make_agreement, page_fields):
    agency = directory_agency()
    agreement = make_agreement(status="active")
    login(people.worker)
    url = f"/agreements/{agreement.id}/edit"
    values, _ = page_fields(client.get(url).get_data(as_text=True))
    assert client.post(url, data={**values, "save": "1", "recipients-0-directory": str(agency.id)}).status_code == 302
    values, _ = page_fields(client.get(url).get_data(as_text=True))
    assert values["recipients-0-agency_name"] == agency.name
    response = client.post(url, data={**values, "save": "1", "recipients-0-agency_name": "Oak Lane Surgery"})
    if response.status_code == 400:
        assert "Oak Lane Surgery" in response.get_data(as_text=True)
    else:
        values, _ = page_fields(client.get(url).get_data(as_text=True))
        assert values["recipients-0-agency_name"] == "Oak Lane Surgery"


# --- a 409 that helps ---------------------------------------------------------------------


def test_the_conflict_page_names_what_changed_and_saving_from_it_keeps_the_other_change(
        client, people, login, make_agreement, page_fields):
    agreement = make_agreement(status="active")
    url = f"/agreements/{agreement.id}/edit"
    login(people.manager)
    second, _ = page_fields(client.get(url).get_data(as_text=True))  # the second person opens the page
    first = dict(second)
    # The first person changes the child's views and saves.
    first["child_views"] = "Ella says she wants to see her dad at weekends."
    assert client.post(url, data={**first, "save": "1"}).status_code == 302
    # The second person, on the page opened before, changes the contingency.
    second["contingency"] = "Ella will stay with her aunt."
    response = client.post(url, data={**second, "save": "1"})
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    notice = page.split('id="changed-since"', 1)[1].split("</div>\n</div>", 1)[0]
    assert "The child&#39;s views changed" in notice and "Maria Manager" in notice
    for noise in ("Viewed", "2026-", "no change yet", "(blank)", "&#39;vary&#39;"):
        assert noise not in notice, noise
    shown, _ = page_fields(page)
    assert shown["child_views"] == "Ella says she wants to see her dad at weekends."  # the other person's change
    assert shown["contingency"] == "Ella will stay with her aunt."  # this person's own
    assert client.post(url, data={**shown, "save": "1"}).status_code == 302
    variation = models.in_progress(Agreement.get_by_id(agreement.id))
    held = versions_data(variation)
    assert held["child_views"] == "Ella says she wants to see her dad at weekends."
    assert held["contingency"] == "Ella will stay with her aunt."


def versions_data(variation) -> dict:
    import json

    return json.loads(variation.data)


# --- agencies see the version, and one number for the social worker -------------------------


def test_a_new_version_tells_the_agency_what_changed_and_its_copy_shows_the_version(
        client, people, login, make_agreement, page_fields):
    from tracker.agencies import tokens
    from tracker.models import Notification, Recipient

    people.worker.phone = "01632 960 555"
    people.worker.save()
    agreement = make_agreement(status="active", worker_phone="01632 960 001")
    login(people.worker)
    url = f"/agreements/{agreement.id}/edit"
    values, _ = page_fields(client.get(url).get_data(as_text=True))
    values.update({"save": "1", "actions-0-what": "Ms Murphy will walk Ella to nursery.",
                   "contingency": "Ella will stay with her aunt."})
    assert client.post(url, data=values).status_code == 302
    client.post(f"/agreements/{agreement.id}/submit", data={"revision": Agreement.get_by_id(agreement.id).revision})
    login(people.manager)
    assert client.post(f"/agreements/{agreement.id}/endorse", data={"decision": "endorse", "override": "test"}
                       ).status_code == 302
    record = Agreement.get_by_id(agreement.id)
    assert record.version == 2
    [email] = Notification.select().where((Notification.kind == "copy_issued")
                                          & Notification.key.endswith("/version-2"))
    body = " ".join(email.body_text.split())
    assert f"Version 2 of {record.reference}: the actions and the contingency plan changed" in body
    assert "acknowledge this new version" in body and email.subject.startswith("Please acknowledge version 2 of")
    assert "01632 960 001" in body and "01632 960 555" not in body  # the one number: the record's
    recipient = Recipient.get(Recipient.agreement == record)
    page = client.get(tokens.agency_url(recipient)).get_data(as_text=True)
    assert "Version 2, endorsed on" in page
    assert "01632 960 001" in page and "01632 960 555" not in page
    printed = client.get(f"/agreements/{agreement.id}/print").get_data(as_text=True)
    assert "01632 960 001" in printed and "01632 960 555" not in printed


def test_without_a_number_on_the_record_every_copy_gives_the_workers_own(client, people, login, make_agreement):
    from tracker import models as m

    people.worker.phone = "01632 960 555"
    people.worker.save()
    agreement = make_agreement(status="active")
    assert m.worker_telephone(agreement) == "01632 960 555"
    login(people.worker)
    assert "01632 960 555" in client.get(f"/agreements/{agreement.id}/print").get_data(as_text=True)


# --- the review form ----------------------------------------------------------------------

REVIEW = {"held_on-day": "20", "held_on-month": "11", "held_on-year": "2026", "attendees": "Ms Murphy",
          "outcome": "continue", "notes": "Going well.", "next_review_at-day": "15", "next_review_at-month": "2",
          "next_review_at-year": "2027", "next_review_at-time": "10:00", "next_venue": "Riverside Family Centre"}
REVIEW_CHANGED = {"held_on": {"held_on-day": "21"}, "attendees": {"attendees": "Ms Murphy and the school"},
                  "outcome": {"outcome": "vary"}, "notes": {"notes": "Going well; contact to increase."},
                  "next_review_at": {"next_review_at-time": "11:15"}, "next_venue": {"next_venue": "The town hall"}}


def review_as_saved(agreement) -> dict:
    from tracker.models import Review

    held = Review.get((Review.agreement == agreement) & (Review.status == "held"))
    following = models.next_review(agreement)
    return {"held_on": f"{held.held_on.day}", "attendees": held.attendees, "outcome": held.outcome,
            "notes": held.notes, "next_review_at": f"{following.scheduled_at:%H:%M}" if following else None,
            "next_venue": following.venue if following else None}


def test_every_field_of_the_review_form_is_saved(client, people, login, make_agreement):
    from tracker.web.forms import ReviewForm

    declared = {n for n, _, _ in _unbound(ReviewForm)} - fields.MACHINERY
    assert declared == set(REVIEW_CHANGED), "a review form field the walk does not change"
    login(people.worker)
    for name, change in REVIEW_CHANGED.items():
        assert fields.known(name)
        agreement = make_agreement(status="active")
        response = client.post(f"/agreements/{agreement.id}/review", data={**REVIEW, **change})
        assert response.status_code == 302, (name, response.get_data(as_text=True)[:300])
        saved = review_as_saved(Agreement.get_by_id(agreement.id))
        assert saved[name] == next(iter(change.values())) or (name == "next_review_at" and saved[name] == "11:15"), name


def _unbound(cls):
    for name in dir(cls):
        if getattr(getattr(cls, name, None), "_formfield", False):
            yield name, None, None
