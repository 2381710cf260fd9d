"""The import's sheet: made from the field registry, any number of children and agencies a record, and warned
about every column it does not use and about past reviews and under-fives without a health visitor."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import NOW, record_row, sheet_csv
from tracker.governance import imports
from tracker.models import Agreement, AgreementChild, Recipient
from tracker.records import fields

_serial = itertools.count(1)


def test_every_field_of_the_registry_has_a_column_of_the_template(app, people, login):
    by_field = {(c.field, c.part if c.group != "record" or c.field in ("actions", "parties") else "")
                for c in imports.TEMPLATE}
    for f in fields.RECORD:  # every field, not only those the registry marks for import
        if f.kind == fields.ROWS:
            for column in f.columns:
                if column.name in imports.NOT_A_COLUMN:
                    continue
                assert (f.name, column.name) in by_field, f"{f.name}.{column.name} has no column in the template"
        else:
            assert any(c.field == f.name for c in imports.TEMPLATE), f"{f.name} has no column in the template"
    # The pages and the files show the same columns, each documented.
    page = login(people.admin).get("/import/").get_data(as_text=True)
    header = next(csv.reader(io.StringIO(login(people.admin).get("/import/template.csv").get_data(as_text=True))))
    assert header == imports.NAMES
    for column in imports.TEMPLATE:
        assert f"<code>{column.name}</code>" in page and column.text


child = st.tuples(st.text("abcdefghij", min_size=1, max_size=8), st.dates(dt.date(2008, 1, 1), dt.date(2025, 1, 1)))
agency = st.sampled_from([("Riverside School", "school"), ("Health Visiting Team", "health_visiting"),
                          ("Police Public Protection", "police"), ("Housing Options", "housing")])
unknown_name = st.text("xyz_ ", min_size=3, max_size=10).map(str.strip).filter(
    lambda n: n.strip("_") and imports._header([n])[0] not in imports.BY_NAME)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=st.lists(st.tuples(st.lists(child, min_size=1, max_size=5), st.lists(agency, max_size=4)),
                        min_size=1, max_size=4),
       unknown=st.lists(unknown_name, max_size=3, unique=True), interleave=st.booleans())
def test_any_number_of_children_and_agencies_a_record_and_every_unknown_column_warned(
        app, people, records, unknown, interleave):
    batch = next(_serial)
    rows, expected = [], {}
    further = []
    for n, (children, agencies) in enumerate(records):
        reference = f"H{batch}-{n}"
        expected[reference] = (children, agencies)
        lines = [{"child_name": f"{name} {reference}", "child_date_of_birth": born.isoformat()}
                 for name, born in children]
        for i, (agency_name, kind) in enumerate(agencies):
            if i >= len(lines):
                lines.append({})
            lines[i].update({"agency_name": agency_name, "agency_kind": kind, "agency_email": "a@agency.example"})
        rows.append(record_row(reference, **{k: v for k, v in lines[0].items()},
                               **{name: "anything" for name in unknown}))
        further += [{"reference": reference, **line} for line in lines[1:]]
    # A record's further rows may come straight after it or anywhere later in the file.
    rows = rows + further if interleave else [r for ref in expected for r in rows + further if r["reference"] == ref]
    sheet = imports.read("sheet.csv", sheet_csv(rows, unknown))
    assert set(sheet.unknown) == set(unknown)
    plans = imports.check(sheet, people.manager, NOW)
    assert imports.error_count(plans) == 0, [p.errors for p in plans if p.errors]
    assert [p.reference for p in plans] == list(expected)
    for plan in plans:
        children, agencies = expected[plan.reference]
        assert [(c["name"], c["date_of_birth"]) for c in plan.children] == [
            (f"{name} {plan.reference}", born) for name, born in children]
        assert [(r["agency_name"], r["agency_kind"]) for r in plan.recipients] == list(agencies)
    imports.commit(plans, people.manager, NOW, filename="sheet.csv")
    for reference, (children, agencies) in expected.items():
        agreement = Agreement.get(Agreement.reference == reference)
        assert AgreementChild.select().where(AgreementChild.agreement == agreement).count() == len(children)
        assert [r.agency_name for r in Recipient.select().where(Recipient.agreement == agreement)
                .order_by(Recipient.position)] == [a for a, _ in agencies]


def test_the_preview_warns_about_unknown_columns_past_reviews_and_under_fives_without_a_health_visitor(
        app, people, login):
    client = login(people.manager)
    rows = [
        record_row("W-1", child_name="Ann Baby", child_date_of_birth="01/01/2024", next_review_date="01/11/2026"),
        record_row("W-2", child_name="Bob Older", child_date_of_birth="01/01/2015"),
        record_row("W-3", child_name="Cal Baby", child_date_of_birth="01/06/2023", agency_name="Health visitors",
                   agency_kind="health_visiting"),
        # A further row of W-2 adds a younger sibling: the record now needs a health visitor.
        {"reference": "W-2", "child_name": "Dee Younger", "child_date_of_birth": "01/01/2023"},
    ]
    response = client.post("/import/", data={"file": (io.BytesIO(sheet_csv(rows, ["Notes", "chlid_name"])), "w.csv")},
                           content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page[:3000]
    assert "<code>Notes</code>: not imported" in page and "<code>chlid_name</code>: not imported" in page

    def record(line: int) -> str:
        return page.split(f'id="row-{line}"')[1].split("</tr>")[0]

    assert "The next review date (01/11/2026) has passed" in record(2)
    assert "Ann Baby is under 5 and no health visitor" in record(2)
    assert "Dee Younger is under 5" in record(3) and "Bob Older" not in record(3).split("under 5")[0].split("Warning")[-1]
    assert "Warning" not in record(4)
    assert "Import 3 records" in page and "3 records (4 rows)" in page


def _typed(column: imports.Column):
    """A value of the column's kind as a sheet holds it, and as the record should then store it."""
    f = fields.field(column.field)
    if column.kind == fields.DATE:
        return "02/11/2026", dt.date(2026, 11, 2)
    if column.kind == fields.MOMENT:
        return ("22/11/2026 09:00", dt.datetime(2026, 11, 22, 9, 0)) if column.name == "undertaking_starts" else (
            "25/11/2026 09:00", dt.datetime(2026, 11, 25, 9, 0))
    if column.kind == fields.BOOL:
        return "yes", True
    if column.kind == fields.NUMBER:
        return "2", 2
    if column.kind == fields.CHOICE:
        key = next(iter(f.choices))
        return f.choices[key], key  # its label, as a person types it
    return f"What was typed for {column.name}", f"What was typed for {column.name}"


def test_every_field_of_a_record_typed_in_its_column_is_what_is_recorded(app, people):
    """For every kind of record, every one of its own fields' columns, from the registry: what was typed is saved."""
    for kind in fields.BOTH:
        columns = [c for c in imports.TEMPLATE if c.group == "record" and c.field
                   and fields.field(c.field).stored and fields.field(c.field).kind != fields.PERSON
                   and kind in fields.field(c.field).kinds]
        cells, expected = {}, {}
        for column in columns:
            cells[column.name], expected[column.field] = _typed(column)
        row = record_row(f"ALL-{kind}", kind=kind, child_name="Ann Every", child_date_of_birth="01/01/2015",
                         **cells)
        if kind == "undertaking":
            row["next_review_date"] = ""
        plans = imports.check(imports.read("all.csv", sheet_csv([row])), people.manager, NOW)
        assert imports.error_count(plans) == 0, plans[0].errors
        (agreement_id,) = imports.commit(plans, people.manager, NOW)
        agreement = Agreement.get_by_id(agreement_id)
        assert expected, kind
        for name, value in expected.items():
            if name == "legal_advice_taken" and "legal_advice" in expected:
                value = expected["legal_advice"] == "yes"  # the choice says it; the yes/no mirrors it
            assert getattr(agreement, name) == value, (kind, name, getattr(agreement, name), value)
