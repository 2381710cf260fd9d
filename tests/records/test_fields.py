"""The field registry (tracker/records/fields.py): every field of every form for a
record is declared there, once, with one label."""

from __future__ import annotations

import inspect

import pytest
from wtforms import Form
from wtforms.fields import FieldList, FormField

from tracker.records import fields
from tracker.web import forms

# Forms about people and the service, never about a record.
NOT_ABOUT_A_RECORD = {"LoginForm", "UserForm", "TeamForm", "AgencyForm"}
# Nested row forms: the record's row list they are rows of.
ROW_FORMS = {"ChildForm": "children", "ActionForm": "actions", "PartyForm": "parties", "RecipientForm": "recipients"}


def record_forms():
    for name, cls in inspect.getmembers(forms, inspect.isclass):
        if issubclass(cls, Form) and cls.__module__ == forms.__name__ and name not in NOT_ABOUT_A_RECORD:
            if name not in ("Guarded",):
                yield name, cls


def unbound_fields(cls):
    """The form class's declared fields, without building a request: (name, label, inner form class)."""
    for name in dir(cls):
        unbound = getattr(cls, name, None)
        if getattr(unbound, "_formfield", False):
            args = unbound.args
            label = args[0] if args and isinstance(args[0], str) else unbound.kwargs.get("label", "")
            inner = None
            if unbound.field_class is FieldList:
                entry = args[0] if args else unbound.kwargs["unbound_field"]
                if entry.field_class is FormField:
                    inner = entry.args[0]
            yield name, label, inner


CASES = [(form_name, name, label) for form_name, cls in record_forms() for name, label, _ in unbound_fields(cls)]


def test_the_walk_finds_the_record_forms_fields():
    walked = {(f, n) for f, n, _ in CASES}
    assert ("AgreementForm", "worker_phone") in walked and ("RecipientForm", "directory") in walked
    assert ("ReviewForm", "attendees") in walked and len(walked) > 60


@pytest.mark.parametrize("form_name, name, label", CASES, ids=[f"{f}.{n}" for f, n, _ in CASES])
def test_every_form_field_for_a_record_is_in_the_registry_with_its_label(form_name, name, label):
    if name in fields.MACHINERY:
        return
    if form_name in ROW_FORMS:
        declared = fields.field(ROW_FORMS[form_name]).column(name)
    elif form_name == "AgreementForm":
        declared = fields.field(name)
        assert declared.on_form, f"{name} is on the form but the registry says it is not"
    else:
        assert fields.known(name), f"{form_name}.{name} is not in the registry"
        return
    assert label.casefold() in (declared.label.casefold(), declared.question.casefold()) or not label, (
        f"{form_name}.{name}: the form says {label!r}, the registry {declared.label!r}")


def test_an_unknown_name_raises():
    with pytest.raises(fields.UnknownField):
        fields.field("worker_mobile")
    with pytest.raises(fields.UnknownField):
        fields.label("worker_mobile")
    with pytest.raises(fields.UnknownField):
        fields.check({"purpose": "x", "worker_mobile": "07"})
    with pytest.raises(fields.UnknownField):
        fields.where("fax")


def test_a_form_field_missing_from_the_registry_fails_the_walk(monkeypatch):
    """The walk is not vacuous: an AgreementForm field the registry lacks is caught."""
    from wtforms import StringField

    monkeypatch.setattr(forms.AgreementForm, "worker_mobile", StringField("Mobile"), raising=False)
    names = {n for n, _, _ in unbound_fields(forms.AgreementForm)}
    assert "worker_mobile" in names
    with pytest.raises(fields.UnknownField):
        fields.field("worker_mobile")


def test_every_record_field_is_agreed_or_working_and_the_sets_do_not_overlap():
    assert not set(fields.AGREED) & set(fields.WORKING)
    for f in fields.SCALARS:
        if f.on_form:
            assert f.name in fields.AGREED or f.name in fields.WORKING
    for name in ("worker_phone", "review_attendees", "person_at_risk", "person_who_harms", "marac_idva",
                 "legal_advice", "plan_meeting_on"):
        assert name in fields.WORKING


# Import template columns named otherwise than the registry's field.
IMPORT_COLUMNS = {"children": "child_name", "actions": "actions", "parties": "family_members",
                  "social_worker": "social_worker_email", "review_at": "next_review_date",
                  "window_starts_at": "undertaking_starts", "window_ends_at": "undertaking_ends",
                  "recipients": "agency_name"}


def test_the_import_template_has_a_column_for_each_field_the_registry_imports():
    from tracker.governance import imports

    for declared in fields.where("import"):
        assert IMPORT_COLUMNS.get(declared.name, declared.name) in imports.NAMES, declared.name
    for name in imports.NAMES:
        if fields.known(name) and name in {f.name for f in fields.RECORD}:
            assert fields.field(name).shown_on("import"), name


def test_the_emails_read_the_registrys_columns():
    from jobs import sweeps

    assert fields.NOT_IN_EMAILS <= sweeps.NOT_IN_EMAILS
    assert "worker_phone" not in sweeps.NOT_IN_EMAILS  # the one number is in the agencies' emails


def _limit(cls, name):
    """The most characters a form field takes, from its Length check (None: no limit)."""
    from wtforms.validators import Length

    unbound = getattr(cls, name)
    checks = unbound.args[1] if len(unbound.args) > 1 else unbound.kwargs.get("validators", [])
    limits = [v.max for v in checks if isinstance(v, Length) and v.max and v.max > 0]
    return min(limits) if limits else None


LIMITED = [(f, n) for f, n, _ in CASES if f in ROW_FORMS or f == "AgreementForm"]


@pytest.mark.parametrize("form_name, name", LIMITED, ids=[f"{f}.{n}" for f, n in LIMITED])
def test_a_record_fields_limit_on_the_form_is_the_registrys(form_name, name):
    if name in fields.MACHINERY:
        return
    declared = (fields.field(ROW_FORMS[form_name]).column(name) if form_name in ROW_FORMS
                else fields.field(name))
    cls = dict(record_forms())[form_name]
    if declared.kind in (fields.TEXT, fields.LINE) and name != "id":  # a row's id is a hidden field
        assert _limit(cls, name) == declared.max_length, f"{form_name}.{name}"
