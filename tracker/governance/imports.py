"""Bringing a service's spreadsheet of existing agreements and undertakings in.

Three steps, each a plain function:

1. `read(filename, data)` turns a CSV or XLSX file into rows of text (or of
   the dates and times a spreadsheet already holds).
2. `check(rows, user, now)` turns each row into what will be recorded, with
   every error beside the row it belongs to. Nothing touches the database but
   look-ups.
3. `commit(plans, user, now)` records every row in one transaction, audited,
   and only when no row has an error.

Imported records arrive active: their endorsement is recorded as imported
(it happened before the tracker), the quality checklist is run on each, and
their reviews, agency requests and escalations are planned from the imported
dates. Moments already past send nothing, except one overdue notice each.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field

from tracker import audit, clock, rules, settings
from tracker.clock import from_london
from tracker.db import database
from tracker.models import (
    AGENCY_KINDS,
    Action,
    Agency,
    Agreement,
    AgreementChild,
    AgreementVersion,
    Child,
    Party,
    Recipient,
    User,
)
from tracker.records import drafting, versions
from tracker.rules import LINE_BREAKS, MARKUP

MAX_ROWS = 10_000
IMPORTED_ENDORSEMENT = "Imported: endorsed before the tracker was used"

# The template's columns, in order, with what each holds. The template file and
# the page's documentation are made from this list.
COLUMNS = [
    ("reference", True, "Your reference for the record, up to 20 characters, unique. Not in the tracker's own form (PA-00012, WU-00012)."),
    ("kind", True, "partnership (a partnership agreement) or undertaking (a written undertaking)."),
    ("social_worker_email", True, "The email of the social worker's account in the tracker; the record joins their team."),
    ("child_name", True, "The child's full name."),
    ("child_date_of_birth", True, "The child's date of birth, for example 04/05/2019 or 2019-05-04."),
    ("second_child_name", False, "Another child on the same record, if there is one."),
    ("second_child_date_of_birth", False, "That child's date of birth."),
    ("completed_on", True, "The date the agreement was made."),
    ("endorsed_on", False, "The date a manager endorsed it; the date it was made if blank."),
    ("purpose", True, "Why the agreement was made."),
    ("actions", True, "What each person will do: one action a line, or separated by semicolons."),
    ("family_members", False, "Who signed it, separated by semicolons, each as Name (role): Jane Murphy (mother)."),
    ("next_review_date", False, "Partnership agreements: the date of the next review (required for them)."),
    ("next_review_time", False, "The time of the next review, London time, for example 10:00 (10:00 if blank)."),
    ("review_venue", False, "Where the next review is held."),
    ("undertaking_starts", False, "Undertakings: when it started, date and time, for example 20/11/2026 14:00 (required for them)."),
    ("undertaking_ends", False, "Undertakings: when it must end by, date and time (required for them)."),
    ("agency_name", False, "An agency that receives a copy and is asked for reports, for example Riverside Primary School."),
    ("agency_contact", False, "The person at that agency."),
    ("agency_email", False, "That agency's email address, for copies, report requests and breaches."),
]
NAMES = [name for name, _, _ in COLUMNS]
REQUIRED = {name for name, required, _ in COLUMNS if required}
OWN_REFERENCE = re.compile(r"^(PA|WU)-\d+$", re.IGNORECASE)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
KIND_WORDS = {
    "partnership": "partnership", "partnership agreement": "partnership", "pa": "partnership",
    "undertaking": "undertaking", "written undertaking": "undertaking", "wu": "undertaking",
}


class FileProblem(Exception):
    """The file as a whole cannot be read; the message says why, for the upload field."""


@dataclass
class Plan:
    """One row of the file, as it will be recorded, and its errors."""

    line: int
    cells: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    kind: str = ""
    worker: User | None = None
    children: list[tuple[str, dt.date]] = field(default_factory=list)
    completed_on: dt.date | None = None
    endorsed_on: dt.date | None = None
    actions: list[str] = field(default_factory=list)
    parties: list[tuple[str, str]] = field(default_factory=list)
    review_at: dt.datetime | None = None
    window_starts_at: dt.datetime | None = None
    window_ends_at: dt.datetime | None = None

    @property
    def reference(self) -> str:
        return self.cells.get("reference", "")


# --- 1. reading the file -----------------------------------------------------------

def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M") if (value.hour, value.minute) != (0, 0) else value.strftime("%Y-%m-%d")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.strftime("%H:%M")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _header(cells: list) -> list[str]:
    return [re.sub(r"[^a-z0-9]+", "_", _text(c).lower()).strip("_") for c in cells]


def read(filename: str, data: bytes) -> list[dict[str, str]]:
    """The file's rows as {column: text}; raises FileProblem for a file that cannot be used."""
    name = (filename or "").lower()
    if name.endswith(".xlsx"):
        raw = _xlsx_rows(data)
    elif name.endswith(".csv"):
        raw = _csv_rows(data)
    else:
        raise FileProblem("The file must be a CSV or an XLSX (Excel) file")
    raw = [row for row in raw if any(_text(c) for c in row)]
    if not raw:
        raise FileProblem("The file is empty: start from the template")
    header = _header(raw[0])
    missing = [name for name in NAMES if name in REQUIRED and name not in header]
    if missing:
        raise FileProblem("The first row must be the template's column names; missing: " + ", ".join(missing))
    if len(raw) - 1 > MAX_ROWS:
        raise FileProblem(f"The file has more than {MAX_ROWS:,} rows: split it into smaller files")
    rows = []
    for line, cells in enumerate(raw[1:], start=2):
        row = {name: _text(cells[i]) if i < len(cells) else "" for i, name in enumerate(header) if name in NAMES}
        # No keyboard types a NUL and PostgreSQL text cannot hold one: the file is refused before any query sees it.
        if any("\x00" in text for text in row.values()):
            raise FileProblem(f"Row {line} holds a NUL character (often a file saved as UTF-16): save it as CSV UTF-8")
        rows.append(row)
    if not rows:
        raise FileProblem("The file has the column names but no rows")
    return rows


def _csv_rows(data: bytes) -> list[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            raise FileProblem("The CSV file's characters cannot be read: save it as CSV UTF-8") from None
    try:
        return list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise FileProblem(f"The CSV file cannot be read: {exc}") from None


def _xlsx_rows(data: bytes) -> list[list]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - openpyxl raises many kinds for a file that is not a workbook
        raise FileProblem("The XLSX file cannot be opened: save it again from Excel as an .xlsx workbook") from None
    try:
        sheet = book.worksheets[0]
        return [list(row) for row in sheet.iter_rows(values_only=True)]
    finally:
        book.close()


# --- 2. checking every row ------------------------------------------------------------

def parse_date(text: str) -> dt.date:
    text = text.strip()
    for pattern in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"):
        try:
            value = dt.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
        if not (1900 <= value.year <= 2100):
            raise ValueError("out of range")
        return value
    raise ValueError(text)


def parse_time(text: str) -> dt.time:
    match = re.fullmatch(r"(\d{1,2})[:.](\d{2})(?::\d{2})?", text.strip())
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise ValueError(text)
    return dt.time(int(match.group(1)), int(match.group(2)))


def london_to_utc(day: dt.date, time: dt.time) -> dt.datetime:
    return from_london(day, time)


def parse_moment(text: str) -> dt.datetime:
    """A London date and time typed in a cell, as naive UTC."""
    text = text.strip()
    parts = text.rsplit(" ", 1)
    if len(parts) == 2 and re.search(r"\d[:.]\d", parts[1]):
        return london_to_utc(parse_date(parts[0]), parse_time(parts[1]))
    raise ValueError(text)


def _date_cell(plan: Plan, name: str, label: str, required: bool) -> dt.date | None:
    text = plan.cells.get(name, "")
    if not text:
        if required:
            plan.errors[name] = f"Enter {label}"
        return None
    try:
        return parse_date(text)
    except ValueError:
        plan.errors[name] = f"{label[0].upper()}{label[1:]} must be a real date, like 04/05/2019 (not '{text[:30]}')"
        return None


# Columns whose text may run over lines; each of their parts (an action, a family member) is one line.
MULTI_LINE = {"purpose", "actions", "family_members"}


def _split(text: str) -> list[str]:
    return [part.strip() for part in re.split(f"[;{LINE_BREAKS.pattern[1:-1]}]", text or "") if part.strip()]


def check(rows: list[dict[str, str]], user: User, now: dt.datetime) -> list[Plan]:
    """Every row as it will be recorded, each with its errors (none: it can be imported)."""
    from tracker.people.access import can_import_for

    today = clock.london_date(now)
    workers = {u.email.lower(): u for u in User.select().where(User.role.in_(("social_worker", "team_manager")))}
    references = [r.get("reference", "").strip() for r in rows]
    wanted = {ref.lower() for ref in references if ref}
    taken: set[str] = set()
    wanted_list = list(wanted)
    for start in range(0, len(wanted_list), 500):
        chunk = wanted_list[start:start + 500]
        taken |= {r.lower() for (r,) in Agreement.select(Agreement.reference)
                  .where(pw_lower(Agreement.reference).in_(chunk)).tuples()}
    seen: dict[str, int] = {}
    plans = []
    for index, cells in enumerate(rows):
        plan = Plan(line=index + 2, cells={name: cells.get(name, "").strip() for name in NAMES})
        c = plan.cells
        for name, text in c.items():
            if MARKUP.search(text):
                plan.errors[name] = "Must not contain HTML tags such as <script>: remove the < and > characters"
            elif name not in MULTI_LINE and LINE_BREAKS.search(text):
                # A reference or a name may reach a download's header or an email's text.
                plan.errors[name] = "Must be on one line: remove the line breaks"
        ref = c["reference"]
        if not ref:
            plan.errors["reference"] = "Enter the record's reference"
        elif len(ref) > 20:
            plan.errors["reference"] = "The reference must be 20 characters or fewer"
        elif OWN_REFERENCE.match(ref):
            plan.errors["reference"] = "References like PA-00012 are the tracker's own: add a prefix, for example OLD-PA-12"
        elif ref.lower() in taken:
            plan.errors["reference"] = f"Duplicate reference: {ref} is already in the tracker"
        elif ref.lower() in seen:
            plan.errors["reference"] = f"Duplicate reference: {ref} is also on row {seen[ref.lower()]}"
        if ref:
            seen.setdefault(ref.lower(), plan.line)
        plan.kind = KIND_WORDS.get(c["kind"].lower(), "")
        if not plan.kind:
            plan.errors["kind"] = "Kind must be partnership or undertaking"
        email = c["social_worker_email"].lower()
        plan.worker = workers.get(email)
        if not email:
            plan.errors["social_worker_email"] = "Enter the social worker's email"
        elif plan.worker is None or not plan.worker.active or plan.worker.team_id is None:
            plan.errors["social_worker_email"] = f"Unknown worker: no active social worker or team manager with the email {c['social_worker_email'][:80]}"
        elif not can_import_for(user, plan.worker):
            plan.errors["social_worker_email"] = "This worker is in another team: you can import only your own team's records"
        for name_col, dob_col, label, required in (("child_name", "child_date_of_birth", "the child's date of birth", True),
                                                   ("second_child_name", "second_child_date_of_birth", "the second child's date of birth", False)):
            name = c[name_col]
            if required and not name:
                plan.errors[name_col] = "Enter the child's name"
            born = _date_cell(plan, dob_col, label, required or bool(name))
            if born and born > today:
                plan.errors[dob_col] = "A date of birth must be in the past"
            elif name and born:
                if len(name) > 200:
                    plan.errors[name_col] = "The name must be 200 characters or fewer"
                plan.children.append((name, born))
        plan.completed_on = _date_cell(plan, "completed_on", "the date it was made", True)
        if plan.completed_on and plan.completed_on > today:
            plan.errors["completed_on"] = "The date it was made must not be in the future"
        plan.endorsed_on = _date_cell(plan, "endorsed_on", "the date it was endorsed", False) or plan.completed_on
        if plan.endorsed_on and plan.endorsed_on > today:
            plan.errors["endorsed_on"] = "The date it was endorsed must not be in the future"
        if not c["purpose"]:
            plan.errors["purpose"] = "Enter the purpose"
        plan.actions = _split(c["actions"])
        if not plan.actions:
            plan.errors["actions"] = "Enter at least one action"
        for text in _split(c["family_members"]):
            match = re.fullmatch(r"(.+?)\s*\(([^)]*)\)", text)
            plan.parties.append((match.group(1).strip(), match.group(2).strip()) if match else (text, ""))
        if plan.kind == "partnership":
            day = _date_cell(plan, "next_review_date", "the next review date", False)
            if not c["next_review_date"]:
                plan.errors["next_review_date"] = "Missing review date: a partnership agreement must have its next review date"
            try:
                at = parse_time(c["next_review_time"]) if c["next_review_time"] else dt.time(10, 0)
            except ValueError:
                plan.errors["next_review_time"] = "The review time must be a time like 10:00"
                at = None
            if day and at:
                plan.review_at = london_to_utc(day, at)
        elif plan.kind == "undertaking":
            for col, attr, label in (("undertaking_starts", "window_starts_at", "when it started"),
                                     ("undertaking_ends", "window_ends_at", "when it must end by")):
                if not c[col]:
                    plan.errors[col] = f"Enter {label}, date and time, for example 20/11/2026 14:00"
                    continue
                try:
                    setattr(plan, attr, parse_moment(c[col]))
                except ValueError:
                    plan.errors[col] = f"Enter {label} as a real date and time, for example 20/11/2026 14:00"
            if plan.window_starts_at and plan.window_ends_at and plan.window_ends_at <= plan.window_starts_at:
                plan.errors["undertaking_ends"] = "An undertaking must end after it starts"
        if c["agency_email"] and not EMAIL.match(c["agency_email"]):
            plan.errors["agency_email"] = "Enter the agency's email address like name@example.org"
        if (c["agency_email"] or c["agency_contact"]) and not c["agency_name"]:
            plan.errors["agency_name"] = "Enter the agency's name"
        for name, limit in (("agency_name", 200), ("agency_contact", 200), ("review_venue", 300)):
            if len(c[name]) > limit:
                plan.errors[name] = f"Must be {limit} characters or fewer"
        plans.append(plan)
    return plans


def pw_lower(column):
    from peewee import fn

    return fn.LOWER(column)


def error_count(plans: list[Plan]) -> int:
    return sum(1 for plan in plans if plan.errors)


# --- 3. recording ---------------------------------------------------------------------

def commit(plans: list[Plan], user: User, now: dt.datetime, filename: str = "") -> list[Agreement]:
    """Record every row in one transaction, audited; refuses a file with any error."""
    from tracker.records import quality

    if not plans or error_count(plans):
        raise ValueError("Only a file with no errors can be imported")
    warning_hours = settings.get("undertaking_warning_hours")
    directory = {a.name.lower(): a for a in Agency.select().where(Agency.active == True)}  # noqa: E712
    created = []
    children: dict[tuple[str, dt.date], Child] = {}
    rows: dict[type, list[dict]] = {AgreementChild: [], Action: [], Party: [], Recipient: []}
    with database.atomic(), settings.held():
        for plan in plans:
            c = plan.cells
            endorsed_at = london_to_utc(plan.endorsed_on, dt.time(12, 0))
            agreement = Agreement.create(
                reference=c["reference"], kind=plan.kind, status="active", team=plan.worker.team_id,
                social_worker=plan.worker, created_by=user, created_at=now, updated_at=now,
                completed_on=plan.completed_on, issued_on=plan.completed_on, purpose=c["purpose"],
                plan_type="none", submitted_at=endorsed_at, endorsed_by=None, endorsed_at=endorsed_at,
                endorsement_override=IMPORTED_ENDORSEMENT, imported_at=now,
                window_starts_at=plan.window_starts_at, window_ends_at=plan.window_ends_at,
                next_review_at=plan.review_at if plan.kind == "partnership" else None,
            )
            for position, (name, born) in enumerate(plan.children):
                key = (name, born)
                child = children.get(key) or Child.get_or_none((Child.name == name) & (Child.date_of_birth == born))
                if child is None:
                    child = Child.create(name=name, date_of_birth=born, created_at=now)
                children[key] = child
                rows[AgreementChild].append({"agreement": agreement.id, "child": child.id, "position": position})
            for position, what in enumerate(plan.actions):
                rows[Action].append({"agreement": agreement.id, "position": position, "what": what, "side": "family"})
            for position, (name, role) in enumerate(plan.parties):
                rows[Party].append({"agreement": agreement.id, "position": position, "name": name[:200], "role": role[:200]})
            if c["agency_name"]:
                agency = directory.get(c["agency_name"].lower())
                rows[Recipient].append({
                    "agreement": agreement.id, "agency": agency.id if agency else None, "position": 0,
                    "name": c["agency_contact"] or c["agency_name"], "agency_name": c["agency_name"],
                    "agency_kind": agency.kind if agency else _guess_kind(c["agency_name"]),
                    "email": c["agency_email"] or (agency.email if agency and agency.email else ""),
                    # The copy went out when it was made; its chase moment is long past.
                    "copy_sent_at": endorsed_at, "chase_at": None,
                })
            if plan.kind == "partnership":
                drafting.schedule_review(agreement, plan.review_at, c["review_venue"], now, imported=True)
            else:
                _plan_ladder(agreement, now, warning_hours)
            created.append((plan, agreement))
        for model, batch in rows.items():
            for start in range(0, len(batch), 500):
                model.insert_many(batch[start:start + 500]).execute()
        # The imported original is a version of its own: a later variation replaces it
        # in force, never in the record, and subject access releases it (R11, R17).
        originals = [{"agreement": agreement.id, "number": agreement.version, "endorsed_by": None,
                      "snapshot": versions.to_json(versions.snapshot(agreement)), "endorsed_at": agreement.endorsed_at,
                      "override_reason": IMPORTED_ENDORSEMENT, "created_at": now} for _, agreement in created]
        for start in range(0, len(originals), 500):
            AgreementVersion.insert_many(originals[start:start + 500]).execute()
        for plan, agreement in created:
            failing = quality.failing_checks(agreement, now)
            audit.record(
                "imported", user=user, agreement=agreement, entity="agreement", entity_id=agreement.id,
                changes={
                    "status": [None, "active"],
                    "endorsement": [None, IMPORTED_ENDORSEMENT],
                    "quality_checks": [None, "all pass" if not failing else "failing: " + ", ".join(ch.title for ch in failing)],
                    "source": [None, f"{filename} row {plan.line}"],
                },
                at=now,
            )
        audit.record("import_file", user=user, entity="import", changes={"file": [None, filename], "records": [None, len(created)]},
                     at=now)
    return [agreement for _, agreement in created]


def _guess_kind(name: str) -> str:
    lowered = name.lower()
    for kind, word in (("school", "school"), ("nursery", "nursery"), ("gp", "surgery"), ("gp", " gp"), ("police", "police"),
                       ("housing", "housing"), ("health_visiting", "health visit")):
        if word in lowered:
            return kind
    return "other" if "other" in AGENCY_KINDS else next(iter(AGENCY_KINDS))


def _plan_ladder(agreement: Agreement, now: dt.datetime, warning_hours: int) -> None:
    """The undertaking's ladder from its imported end (R4): a past warning is not sent; a past end escalates once now."""
    ends = agreement.window_ends_at
    first = rules.first_escalation_at(ends, warning_hours=warning_hours)
    if ends <= now:
        first = now
    elif first <= now:
        first = ends
    Agreement.update(next_escalation_at=first, escalation_level=0).where(Agreement.id == agreement.id).execute()


# --- the template ----------------------------------------------------------------------

EXAMPLES = [
    {"reference": "OLD-PA-101", "kind": "partnership", "social_worker_email": "sam.worker@example.org",
     "child_name": "Ella Murphy", "child_date_of_birth": "04/05/2019", "completed_on": "20/10/2026",
     "endorsed_on": "21/10/2026", "purpose": "To keep Ella safe at home while her mother works with the family centre.",
     "actions": "Ms Murphy will take Ella to nursery every weekday; The social worker will visit every two weeks",
     "family_members": "Jane Murphy (mother)", "next_review_date": "15/01/2027", "next_review_time": "10:00",
     "review_venue": "Riverside Family Centre", "agency_name": "Riverside Primary School",
     "agency_contact": "Jo Bloggs", "agency_email": "dsl@school.example"},
    {"reference": "OLD-WU-7", "kind": "undertaking", "social_worker_email": "sam.worker@example.org",
     "child_name": "Leo Patel", "child_date_of_birth": "2016-02-11", "completed_on": "2026-11-20",
     "purpose": "Mr Patel will not return to the family home while the police investigate.",
     "actions": "Mr Patel will stay with his brother", "family_members": "Raj Patel (father)",
     "undertaking_starts": "20/11/2026 14:00", "undertaking_ends": "23/11/2026 14:00"},
]


def template_xlsx() -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "Records"
    sheet.append(NAMES)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for example in EXAMPLES:
        sheet.append([example.get(name, "") for name in NAMES])
    for index, name in enumerate(NAMES, start=1):
        sheet.column_dimensions[sheet.cell(row=1, column=index).column_letter].width = max(14, len(name) + 2)
    notes = book.create_sheet("How to fill it in")
    notes.append(["column", "required", "what it holds"])
    for name, required, text in COLUMNS:
        notes.append([name, "yes" if required else "no", text])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def template_csv() -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(NAMES)
    for example in EXAMPLES:
        writer.writerow([example.get(name, "") for name in NAMES])
    return out.getvalue()


# --- uploads waiting between the preview and the confirmation ------------------------

UPLOAD_LIFETIME = dt.timedelta(days=1)


def keep_upload(folder, name: str, data: bytes, now: dt.datetime) -> None:
    """Write an uploaded file for the confirmation: readable by this process's user only (0600),
    in the instance folder (never under static/), and every upload older than a day removed."""
    import os
    from pathlib import Path

    folder = Path(folder)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    remove_stale_uploads(folder, now)
    descriptor = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(data)


def remove_stale_uploads(folder, now: dt.datetime) -> int:
    """Uploads nobody confirmed within a day: a spreadsheet of children's names must not stay for ever."""
    from pathlib import Path

    cutoff = (now - UPLOAD_LIFETIME).replace(tzinfo=dt.timezone.utc).timestamp()
    removed = 0
    for path in Path(folder).glob("*"):
        if path.is_file() and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    return removed
