"""A record's history in plain words: what happened, and what changed, as a
manager reads it ("Action 2: 'X' → 'Y'"), never as stored codes.

`describe_changes` takes the {field: [old, new]} an audit event holds;
`describe_difference` takes two records as `drafting.form_data` gives them (two
versions, say), so the history page and a comparison of versions read alike.
"""

from __future__ import annotations

import datetime as dt
import json
import re

from tracker.clock import moment_words
from tracker.models import (
    AGENCY_KINDS,
    END_REASONS,
    KINDS,
    LEGAL_ADVICE,
    PARTY_SIDES,
    PLAN_TYPES,
    REVIEW_OUTCOMES,
    ROLES,
    STATUSES,
    UNDERTAKING_KINDS,
    User,
)
from tracker.records import fields

# What each event was, as the person did it.
EVENTS = {
    "created": "Created",
    "changed": "Changed",
    "submitted": "Sent for endorsement",
    "returned": "Returned to the social worker",
    "endorsed": "Endorsed",
    "ended": "Ended",
    "viewed": "Opened the record",
    "viewed_history": "Read this history",
    "viewed_print": "Opened the printable copy",
    "printed": "Opened the printable copy",
    "review_scheduled": "Review arranged",
    "review_moved": "Review moved",
    "review_recorded": "Review recorded",
    "breach_logged": "Breach logged",
    "breach_acknowledged": "Breach acknowledged, response recorded",
    "breach_amended": "Breach corrected",
    "undertaking_extended": "Undertaking extended",
    "agency_link_revoked": "Agency's link stopped",
    "agency_link_reissued": "Agency sent a new link",
    "copy_acknowledged": "Agency acknowledged its copy",
    "agency_link_opened": "Agency opened its link",
    "agency_report_sent": "Agency sent its report",
    # Pages that show the child's details (every view is audited).
    "viewed_edit_page": "Viewed edit page",
    "viewed_end_page": "Viewed end page",
    "viewed_endorse_page": "Viewed endorse page",
    "viewed_extend_page": "Viewed extend page",
    "viewed_review_page": "Viewed review page",
    "viewed_breach": "Viewed a breach",
    "viewed_breach_form": "Viewed breach form",
    "viewed_breach_acknowledge_page": "Viewed breach acknowledge page",
    "viewed_breach_amend_page": "Viewed breach amend page",
    "agency_breach_form_viewed": "Agency opened its breach form",
    "agency_report_form_viewed": "Agency opened its report form",
    "agency_breach_viewed": "Agency viewed the breach it reported",
    "agency_copy_downloaded": "Agency downloaded its copy (PDF)",
    "agency_stopped_link_opened": "Agency opened a link that has stopped",
    "agency_new_link_requested": "Agency asked for a new link",
    "agency_link_readdressed": "Agency's address changed: a new link sent",
    "agency_link_renewed": "Agency's expired link renewed",
    # Versions, issuing, closing a case, identity, import and retention.
    "variation_submitted": "Variation sent for endorsement",
    "variation_endorsed": "Variation endorsed: a new version in force",
    "returned_to_worker": "Returned to the social worker",
    "copy_issued_to_family": "Family's copy issued",
    "case_closed": "Child's case closed",
    "case_reopened": "Child's case reopened",
    "child_linked": "Linked as the same child",
    "import_file": "Imported from a spreadsheet",
    "retention_kept": "Kept past its retention date",
    "subject_access_export": "Included in a subject access export",
    "subject_access_preview": "Previewed for a subject access export",
}

# Repeated rows: what one row is called, and the field that names it.
ROWS = {f.name: (f.noun, f.main) for f in fields.ROW_LISTS}
CODES = {
    "status": STATUSES,
    "plan_type": PLAN_TYPES,
    "end_reason": END_REASONS,
    "outcome": REVIEW_OUTCOMES,
    "kind": KINDS,
    "side": PARTY_SIDES,
    "agency_kind": AGENCY_KINDS,
    "role": ROLES,
    "legal_advice_taken": LEGAL_ADVICE,
    "legal_advice": LEGAL_ADVICE,
    "undertaking_kind": UNDERTAKING_KINDS,
}

_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def event_label(action: str) -> str:
    return EVENTS.get(action) or action.replace("_", " ").capitalize()


def field_label(name: str) -> str:
    """The registry's plain words for a field (tracker.records.fields); an older
    event's name the registry no longer declares is shown humanised, not hidden."""
    return fields.label(name) if fields.known(name) else name.replace("_", " ").capitalize()


def _row_field(section: str, name: str) -> str:
    try:
        return fields.row_label(section, name)
    except fields.UnknownField:
        return field_label(name).lower()


def plain(name: str, value) -> str:
    """One stored value as a person reads it: labels, London times, names."""
    if value is None or value == "" or value == []:
        return "(blank)"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if name in CODES and str(value) in CODES[name]:
        return CODES[name][str(value)]
    if name == "social_worker":
        if not value:
            return "None named (the front door is contacted)"
        user = User.get_or_none(User.id == value) if str(value).isdigit() else None
        return user.name if user else str(value)
    if isinstance(value, dt.datetime):
        return moment_words(value)
    if isinstance(value, dt.date):
        return value.strftime("%-d %B %Y")
    text = str(value)
    if _DATETIME.match(text):
        return plain(name, dt.datetime.fromisoformat(text))
    if _DATE.match(text):
        return plain(name, dt.date.fromisoformat(text))
    return text


def _rows(value) -> list[dict]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    return [row for row in value if isinstance(row, dict)] if isinstance(value, list) else []


def _quoted(name: str, value) -> str:
    text = plain(name, value)
    return text if text == "(blank)" else f"'{text}'"


def _describe_rows(section: str, old, new) -> list[str]:
    noun, main = ROWS[section]
    before, after = _rows(old), _rows(new)
    lines: list[str] = []
    by_id = {str(row.get("id")): row for row in before if row.get("id")}
    matched: set[str] = set()
    for number, row in enumerate(after, start=1):
        earlier = by_id.get(str(row.get("id"))) if row.get("id") else None
        if earlier is None and not row.get("id") and number <= len(before) and not before[number - 1].get("id"):
            earlier = before[number - 1]  # rows without identities are matched by place
        if earlier is None:
            lines.append(f"{noun} {number} added: {_quoted(main, row.get(main))}")
            continue
        matched.add(str(earlier.get("id") or f"#{number}"))
        for key in row:
            if key == "id" or plain(key, earlier.get(key)) == plain(key, row.get(key)):
                continue
            where = f"{noun} {number}" if key == main else f"{noun} {number}, {_row_field(section, key)}"
            lines.append(f"{where}: {_quoted(key, earlier.get(key))} → {_quoted(key, row.get(key))}")
    for number, row in enumerate(before, start=1):
        if row.get("id") and str(row["id"]) not in matched:
            lines.append(f"{noun} {number} removed: {_quoted(main, row.get(main))}")
    if len(before) > len(after):
        for number in range(len(after) + 1, len(before) + 1):
            if not before[number - 1].get("id"):
                lines.append(f"{noun} {number} removed: {_quoted(main, before[number - 1].get(main))}")
    return lines


def describe_changes(changes: dict) -> list[str]:
    """Each change as one plain sentence, in the form's order where known:
    "Purpose: 'X' → 'Y'", "Action 2: 'X' → 'Y'", "Party 3 added: 'Ms Khan'"."""
    lines: list[str] = []
    for name, pair in changes.items():
        old, new = (list(pair) + [None, None])[:2] if isinstance(pair, (list, tuple)) else (None, pair)
        if name in ROWS:
            lines.extend(_describe_rows(name, old, new))
        elif plain(name, old) == plain(name, new):
            continue  # nothing a reader would see changed (blank to blank, say, in an older event)
        elif old in (None, "") and new not in (None, ""):
            lines.append(f"{field_label(name)}: {_quoted(name, new)}")
        else:
            lines.append(f"{field_label(name)}: {_quoted(name, old)} → {_quoted(name, new)}")
    return lines


def describe_difference(before: dict, after: dict) -> list[str]:
    """What changed between two records (for example two versions), in the same words."""
    changes = {}
    for name in after:
        old, new = before.get(name), after.get(name)
        if name in ROWS:
            if json.dumps(_rows(old), default=str, sort_keys=True) != json.dumps(_rows(new), default=str, sort_keys=True):
                changes[name] = [old, new]
        elif plain(name, old) != plain(name, new):
            changes[name] = [old, new]
    return describe_changes(changes)
