"""Build the flat form fields a browser would post: an agreement form's good values, a breach report's,
or a page's own fields. Reached through the fixtures of the same names in tests/conftest.py."""

from __future__ import annotations

import html
import re


def good_partnership(**overrides) -> dict[str, str]:
    fields = {
        "children-0-name": "Ella Murphy",
        "children-0-date_of_birth-day": "4",
        "children-0-date_of_birth-month": "5",
        "children-0-date_of_birth-year": "2019",
        "completed_on-day": "20",
        "completed_on-month": "11",
        "completed_on-year": "2026",
        "purpose": "To keep Ella safe at home while her mother works with the family centre.",
        "child_views": "Ella said she likes the park.",
        "family_views": "Ms Murphy wants Ella at home.",
        "plan_type": "child_in_need",
        "actions-0-what": "Ms Murphy will take Ella to nursery every weekday.",
        "actions-0-who": "Ms Murphy",
        "actions-0-timescale": "Every weekday",
        "actions-1-what": "The social worker will visit every two weeks.",
        "actions-1-who": "Social worker",
        "actions-1-timescale": "Every two weeks",
        "if_things_go_wrong": "The social worker will call a meeting within two working days.",
        "contingency": "Ella will stay with her grandmother.",
        "duration": "3 months",
        "review_at-day": "15",
        "review_at-month": "1",
        "review_at-year": "2027",
        "review_at-time": "10:00",
        "review_venue": "Riverside Family Centre",
        "parties-0-name": "Ms Murphy",
        "parties-0-role": "Mother",
        "recipients-0-name": "Jo Bloggs",
        "recipients-0-agency_name": "Riverside Primary School",
        "recipients-0-agency_kind": "school",
        "recipients-0-role": "Designated safeguarding lead",
        "recipients-0-email": "dsl@school.example",
        "first_language": "English",
        "save": "1",
    }
    fields.update(overrides)
    return {k: v for k, v in fields.items() if v is not None}


def good_undertaking(**overrides) -> dict[str, str]:
    fields = {
        "children-0-name": "Ben Carter",
        "children-0-date_of_birth-day": "1",
        "children-0-date_of_birth-month": "2",
        "children-0-date_of_birth-year": "2018",
        "completed_on-day": "20",
        "completed_on-month": "11",
        "completed_on-year": "2026",
        "purpose": "Ben's grandmother has agreed that his father will not have unsupervised contact.",
        "actions-0-what": "Mrs Carter will not let Mr Carter see Ben unless the social worker is there.",
        "actions-0-who": "Mrs Carter (grandmother)",
        "if_things_go_wrong": "Ben may be moved to a foster carer and the police will be told.",
        "window_starts_at-day": "23",
        "window_starts_at-month": "11",
        "window_starts_at-year": "2026",
        "window_starts_at-time": "09:00",
        "window_ends_at-day": "25",
        "window_ends_at-month": "11",
        "window_ends_at-year": "2026",
        "window_ends_at-time": "09:00",
        "legal_advice": "yes",
        "parties-0-name": "Mrs Carter",
        "parties-0-role": "Grandmother",
        "recipients-0-name": "Jo Bloggs",
        "recipients-0-agency_name": "Riverside Primary School",
        "recipients-0-agency_kind": "school",
        "recipients-0-role": "Designated safeguarding lead",
        "recipients-0-email": "dsl@school.example",
        "recipients-0-breach_contact": "y",
        "first_language": "English",
        "save": "1",
    }
    fields.update(overrides)
    return {k: v for k, v in fields.items() if v is not None}


def page_fields(page: str) -> tuple[dict, dict]:
    """The form's fields as a browser would post them back, and the choices of each radio and select."""
    values, choices = {}, {}
    form = page.split('<form', 1)[-1]
    for tag in re.findall(r"<input[^>]*>", form):
        name = re.search(r'name="([^"]+)"', tag)
        if not name:
            continue
        name = name.group(1)
        value = re.search(r'value="([^"]*)"', tag)
        value = html.unescape(value.group(1)) if value else ""
        if 'type="radio"' in tag:
            choices.setdefault(name, []).append(value)
            if "checked" in tag:
                values[name] = value
            continue
        if 'type="checkbox"' in tag:
            choices[name] = ["y"]
            if "checked" in tag:
                values[name] = "y"
            continue
        values[name] = value
    for name, body in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', form, re.S):
        values[name] = html.unescape(body).strip()
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        options = re.findall(r'<option value="([^"]*)"([^>]*)>', body)
        choices[name] = [v for v, _ in options]
        chosen = [v for v, attrs in options if "selected" in attrs]
        values[name] = chosen[0] if chosen else ""
    return values, choices


def breach_form(**overrides) -> dict[str, str]:
    """The quick breach form, no term named."""
    fields = {
        "immediate_risk": "no",
        "description": "Mr Murphy was at the house at 9pm; the neighbour saw him.",
        "occurred_at-day": "23", "occurred_at-month": "11", "occurred_at-year": "2026", "occurred_at-time": "08:30",
        "action": "0", "term": "", "reported_by": "Neighbour, by phone",
    }
    fields.update(overrides)
    return fields
