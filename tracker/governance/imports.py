"""Bringing a service's spreadsheet of existing agreements and undertakings in.

Three steps, each a plain function:

1. `read(filename, data)` turns a CSV or XLSX file into rows of text (or of
   the dates and times a spreadsheet already holds), and names the columns it
   does not know (`Sheet.unknown`): the preview warns about each.
2. `check(rows, user, now)` groups the rows into records and turns each into
   what will be recorded, with every error and warning beside the record it
   belongs to. Nothing touches the database but look-ups.
3. `commit(plans, user, now)` records every record in one transaction, with
   set-based inserts and the quality checks run on the rows in memory
   (tracker.governance.import_writer). The confirm step runs it in the job
   runner (jobs.imports), so no request waits for it.

The template's columns are made from the field registry (tracker.records.fields):
every field of a record has a column, named after the field. A record's row
lists (children, actions, parties, distribution list) have one group of
columns each (`child_*`, `action_*`, `party_*`, `agency_*`): a record's first
row holds its fields and one of each; each further row with the same
reference and the record's own columns blank adds one more child, action,
party or agency, as many as the record has.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass

from tracker import clock
from tracker.clock import from_london
from tracker.governance import import_writer
from tracker.governance.import_plan import IMPORTED_ENDORSEMENT, Plan, error_count  # noqa: F401 (named here for callers)
from tracker.models import Agreement, User
from tracker.records import fields as registry
from tracker.rules import LINE_BREAKS, MARKUP

MAX_ROWS = 10_000

# The row lists' column groups, by the registry's row list.
PREFIX = {"children": "child", "actions": "action", "parties": "party", "recipients": "agency"}
# Registry fields and row columns a column does not carry, and why (tests/governance/test_import_sheet.py
# checks that every other field of the registry has its column).
NOT_A_COLUMN = {
    "id": "a row's own number in the tracker, which an imported row does not have yet",
    "directory": "the agency is matched against the directory by agency_name",
}
# Names kept from the first template, so a file made from it still reads.
RENAMED = {"window_starts_at": "undertaking_starts", "window_ends_at": "undertaking_ends",
           "recipients.name": "agency_contact", "recipients.agency_name": "agency_name",
           "recipients.agency_kind": "agency_kind", "social_worker": "social_worker_email"}
REQUIRED = {"reference", "kind", "social_worker_email", "child_name", "child_date_of_birth", "completed_on", "purpose"}
KIND_WORDS = {
    "partnership": "partnership", "partnership agreement": "partnership", "pa": "partnership",
    "undertaking": "undertaking", "written undertaking": "undertaking", "wu": "undertaking",
}
OWN_REFERENCE = re.compile(r"^(PA|WU)-\d+$", re.IGNORECASE)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Column:
    """One column of the template: its name, the registry field (and row column) it fills, and what it holds."""

    name: str
    field: str = ""  # the registry's field, "" for the import's own columns
    part: str = ""  # a row list's column, or "date" / "time" for the review's two
    group: str = "record"  # "record", or the row list whose group it belongs to
    kind: str = registry.LINE
    text: str = ""

    @property
    def required(self) -> bool:
        return self.name in REQUIRED


def _hint(kind: str, choices: dict | None) -> str:
    if kind == registry.DATE:
        return "A date, for example 04/05/2019 or 2019-05-04."
    if kind == registry.MOMENT:
        return "A date and time, London time, for example 20/11/2026 14:00."
    if kind == registry.BOOL:
        return "yes or no (no if blank)."
    if kind == registry.NUMBER:
        return "A whole number."
    if kind == registry.CHOICE and choices:
        return "One of: " + "; ".join(f"{key} ({label})" for key, label in choices.items()) + "."
    if kind == registry.TEXT:
        return "Text; it may run over several lines."
    return "One line of text."


def _only(kinds: tuple[str, ...]) -> str:
    return "" if len(kinds) == 2 else ("Partnership agreements only. " if kinds == ("partnership",)
                                       else "Undertakings only. ")


def _columns() -> list[Column]:
    """The template's columns, made from the field registry in the form's order."""
    columns = [
        Column("reference", text="Your reference for the record, up to 20 characters, unique. Not in the tracker's "
                                 "own form (PA-00012, WU-00012). Repeat it on further rows to add children, actions, "
                                 "parties or agencies to the same record."),
        Column("kind", text="partnership (a partnership agreement) or undertaking (a written undertaking)."),
    ]
    for f in registry.where("import"):
        only = _only(f.kinds)
        if f.kind == registry.ROWS:
            for c in f.columns:
                if c.name in NOT_A_COLUMN:
                    continue
                name = RENAMED.get(f"{f.name}.{c.name}", f"{PREFIX[f.name]}_{c.name}")
                columns.append(Column(name, f.name, c.name, f.name, c.kind,
                                      f"{f.noun}: {c.question or c.label}. {only}{_hint(c.kind, c.choices)}"))
            if f.name == "recipients":
                columns.append(Column("agency_acknowledged_on", "recipients", "acknowledged_on", "recipients",
                                      registry.DATE, "The day that agency acknowledged its copy; the day of the import "
                                                     "if blank."))
            if f.name == "actions":
                columns.append(Column("actions", "actions", "what", "record", registry.TEXT,
                                      "A quicker way to list actions: what each will do, one a line or separated "
                                      "by semicolons (no who or when)."))
            if f.name == "parties":
                columns.append(Column("family_members", "parties", "name", "record", registry.TEXT,
                                      "A quicker way to list the family's parties, separated by semicolons, each as "
                                      "Name (role): Jane Murphy (mother)."))
        elif f.kind == registry.PERSON:
            columns.append(Column(RENAMED[f.name], f.name, kind=registry.LINE,
                                  text="The email of the social worker's account in the tracker; the record joins "
                                       "their team and is recorded as theirs."))
        elif f.name == "review_at":
            columns.append(Column("next_review_date", f.name, "date", kind=registry.DATE,
                                  text=f"{only}The date of the next review (required for them). {_hint(registry.DATE, None)}"))
            columns.append(Column("next_review_time", f.name, "time", kind=registry.LINE,
                                  text="The time of the next review, London time, for example 10:00 (10:00 if blank)."))
        else:
            text = f"{f.question or f.label}. {only}{_hint(f.kind, f.choices)}"
            if f.name == "issued_on":
                text = "The day the family received their copy; the day of the import if blank."
            columns.append(Column(RENAMED.get(f.name, f.name), f.name, kind=f.kind, text=text))
        if f.name == "completed_on":
            columns.append(Column("endorsed_on", kind=registry.DATE,
                                  text="The date a manager endorsed it; the date it was made if blank."))
    return columns


TEMPLATE: list[Column] = _columns()
BY_NAME = {c.name: c for c in TEMPLATE}
NAMES = [c.name for c in TEMPLATE]
COLUMNS = [(c.name, c.required, c.text) for c in TEMPLATE]  # (name, required, what it holds), for the pages
RECORD_COLUMNS = [c.name for c in TEMPLATE if c.group == "record" and c.name != "reference"]
GROUPS = {group: [c for c in TEMPLATE if c.group == group] for group in PREFIX}


class FileProblem(Exception):
    """The file as a whole cannot be read; the message says why, for the upload field."""


class Sheet(list):
    """The file's rows as {column: text}, and the columns of the file the template does not have."""

    def __init__(self, rows, unknown: list[str]):
        super().__init__(rows)
        self.unknown = unknown


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
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value).strip()


def _header(cells: list) -> list[str]:
    return [re.sub(r"[^a-z0-9]+", "_", _text(c).lower()).strip("_") for c in cells]


def read(filename: str, data: bytes) -> Sheet:
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
    # A column the template does not have is read by nobody: the preview says so, column by column.
    unknown = []  # as the file names them
    for index, column in enumerate(header):
        if column in BY_NAME:
            continue
        typed = _text(raw[0][index])
        if not typed and any(index < len(r) and _text(r[index]) for r in raw[1:]):
            typed = f"column {index + 1} (no name)"
        if typed and typed not in unknown:
            unknown.append(typed)
    places = [(i, n) for i, n in enumerate(header) if n in BY_NAME]
    rows = []
    for line, cells in enumerate(raw[1:], start=2):
        row = {name: _text(cells[i]) if i < len(cells) else "" for i, name in places}
        # No keyboard types a NUL and PostgreSQL text cannot hold one: the file is refused before any query sees it.
        if any("\x00" in text for text in row.values()):
            raise FileProblem(f"Row {line} holds a NUL character (often a file saved as UTF-16): save it as CSV UTF-8")
        row["_line"] = line
        rows.append(row)
    if not rows:
        raise FileProblem("The file has the column names but no rows")
    return Sheet(rows, unknown)


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


# --- 2. checking every record ---------------------------------------------------------

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


YES, NO = {"yes", "y", "true", "1", "ticked", "x"}, {"no", "n", "false", "0", ""}


def parse(column: Column, text: str, choices: dict | None = None):
    """A cell's value as the model stores it, by the registry's kind; raises ValueError with the message to show."""
    kind = column.kind
    if kind == registry.DATE:
        try:
            return parse_date(text)
        except ValueError:
            raise ValueError(f"This must be a real date, like 04/05/2019 (not '{text[:30]}')") from None
    if kind == registry.MOMENT:
        try:
            return parse_moment(text)
        except ValueError:
            raise ValueError("This must be a real date and time, for example 20/11/2026 14:00") from None
    if kind == registry.BOOL:
        word = text.strip().lower()
        if word in YES:
            return True
        if word in NO:
            return False
        raise ValueError("Must be yes or no")
    if kind == registry.NUMBER:
        if not re.fullmatch(r"\d{1,4}", text.strip()):
            raise ValueError("Must be a whole number")
        return int(text)
    if kind == registry.CHOICE and choices:
        word = text.strip().lower()
        for key, label in choices.items():
            if word in (key.lower(), str(label).lower(), key.replace("_", " ").lower()):
                return key
        raise ValueError("Must be one of: " + ", ".join(choices))
    return text


def _split(text: str) -> list[str]:
    return [part.strip() for part in re.split(f"[;{LINE_BREAKS.pattern[1:-1]}]", text or "") if part.strip()]


def _limit(model_field_name: str, model=Agreement) -> int | None:
    found = model._meta.fields.get(model_field_name)
    return getattr(found, "max_length", None)


def _group_rows(rows: list[dict]) -> list[tuple[dict, list[dict]]]:
    """Each record's first row and its further rows: a further row repeats a reference and leaves the record's
    own columns blank; a row that repeats a reference with its own record columns is a record of its own (and a
    duplicate)."""
    records: list[tuple[dict, list[dict]]] = []
    first: dict[str, int] = {}
    for row in rows:
        ref = (row.get("reference") or "").strip().lower()
        further = ref and ref in first and not any((row.get(n) or "").strip() for n in RECORD_COLUMNS)
        if further:
            records[first[ref]][1].append(row)
        else:
            if ref and ref not in first:
                first[ref] = len(records)
            records.append((row, []))
    return records


def check(rows: list[dict[str, str]], user: User, now: dt.datetime) -> list[Plan]:
    """Every record as it will be recorded, each with its errors (none: it can be imported) and warnings."""
    from tracker.people.access import can_import_for

    today = clock.london_date(now)
    workers = {u.email.lower(): u for u in User.select().where(User.role.in_(("social_worker", "team_manager")))}
    wanted = list({(r.get("reference") or "").strip().lower() for r in rows} - {""})
    taken: set[str] = set()
    for start in range(0, len(wanted), 500):
        from peewee import fn

        taken |= {r.lower() for (r,) in Agreement.select(Agreement.reference)
                  .where(fn.LOWER(Agreement.reference).in_(wanted[start:start + 500])).tuples()}
    seen: dict[str, int] = {}
    plans = []
    for index, (head, further) in enumerate(_group_rows(rows)):
        line = head.get("_line", index + 2)
        plan = Plan(line=line, lines=[line] + [r.get("_line", 0) for r in further],
                    cells={name: (head.get(name) or "").strip() for name in NAMES})
        _check_record(plan, head, further, workers, taken, seen, user, today, now, can_import_for)
        plans.append(plan)
    return plans


def _check_record(plan, head, further, workers, taken, seen, user, today, now, can_import_for) -> None:
    c = plan.cells
    for row in [head, *further]:
        prefix = "" if row is head else f"row {row.get('_line')}: "
        for name in NAMES:
            text = (row.get(name) or "").strip()
            if MARKUP.search(text):
                plan.errors[prefix + name] = "Must not contain HTML tags such as <script>: remove the < and > characters"
            elif BY_NAME[name].kind != registry.TEXT and LINE_BREAKS.search(text):
                # A reference or a name may reach a download's header or an email's text.
                plan.errors[prefix + name] = "Must be on one line: remove the line breaks"
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
        plan.errors["reference"] = (f"Duplicate reference: {ref} is also on row {seen[ref.lower()]}. To add a child, "
                                    "action, party or agency to that record, leave this row's other record columns blank")
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
        plan.errors["social_worker_email"] = (f"Unknown worker: no active social worker or team manager with the "
                                              f"email {c['social_worker_email'][:80]}")
    elif not can_import_for(user, plan.worker):
        plan.errors["social_worker_email"] = "This worker is in another team: you can import only your own team's records"

    # The record's own fields, by the registry's kind.
    for column in TEMPLATE:
        if column.group != "record" or not column.field or column.field in ("social_worker", "review_at") \
                or column.name in ("actions", "family_members"):
            continue
        text = c[column.name]
        f = registry.field(column.field)
        if not text or not f.stored:  # the review's venue belongs to the review, read below
            continue
        if plan.kind and plan.kind not in f.kinds:
            plan.errors[column.name] = f"Only for {'undertakings' if plan.kind == 'partnership' else 'partnership agreements'}: leave it blank"
            continue
        try:
            value = parse(column, text, f.choices)
        except ValueError as exc:
            plan.errors[column.name] = str(exc)
            continue
        limit = _limit(column.field)
        if isinstance(value, str) and limit and len(value) > limit:
            plan.errors[column.name] = f"Must be {limit} characters or fewer"
            continue
        plan.values[column.field] = value
    if "legal_advice" in plan.values:
        plan.values["legal_advice_taken"] = plan.values["legal_advice"] == "yes"
    elif plan.values.get("legal_advice_taken"):
        plan.values["legal_advice"] = "yes"
    if not c["purpose"]:
        plan.errors["purpose"] = "Enter the purpose"
    plan.completed_on = plan.values.get("completed_on")
    if not c["completed_on"]:
        plan.errors["completed_on"] = "Enter the date it was made"
    elif plan.completed_on and plan.completed_on > today:
        plan.errors["completed_on"] = "The date it was made must not be in the future"
    plan.endorsed_on = plan.completed_on
    if c["endorsed_on"]:
        try:
            plan.endorsed_on = parse_date(c["endorsed_on"])
        except ValueError:
            plan.errors["endorsed_on"] = f"The date it was endorsed must be a real date (not '{c['endorsed_on'][:30]}')"
        else:
            if plan.endorsed_on > today:
                plan.errors["endorsed_on"] = "The date it was endorsed must not be in the future"
    plan.issued_on = plan.values.get("issued_on")
    if plan.issued_on and plan.issued_on > today:
        plan.errors["issued_on"] = "The day the family received their copy must not be in the future"

    for row in [head, *further]:
        _row_lists(plan, row, row is head, today)
    if not plan.children and "child_name" not in plan.errors and "child_date_of_birth" not in plan.errors:
        plan.errors["child_name"] = "Enter the child's name"
    if not plan.actions:
        plan.errors["actions"] = "Enter at least one action"

    if plan.kind == "partnership":
        day = None
        if not c["next_review_date"]:
            plan.errors["next_review_date"] = "Missing review date: a partnership agreement must have its next review date"
        else:
            try:
                day = parse_date(c["next_review_date"])
            except ValueError:
                plan.errors["next_review_date"] = f"The next review date must be a real date (not '{c['next_review_date'][:30]}')"
        try:
            at = parse_time(c["next_review_time"]) if c["next_review_time"] else dt.time(10, 0)
        except ValueError:
            plan.errors["next_review_time"] = "The review time must be a time like 10:00"
            at = None
        if day and at:
            plan.review_at = london_to_utc(day, at)
            if plan.review_at <= now:
                plan.warnings.append(f"The next review date ({day:%d/%m/%Y}) has passed: the record is imported with "
                                     "its review overdue, and one overdue notice is sent")
        plan.review_venue = c["review_venue"]
        if len(plan.review_venue) > 300:
            plan.errors["review_venue"] = "Must be 300 characters or fewer"
    elif plan.kind == "undertaking":
        for col, attr, label in (("undertaking_starts", "window_starts_at", "when it started"),
                                 ("undertaking_ends", "window_ends_at", "when it must end by")):
            value = plan.values.get(attr)
            if not c[col]:
                plan.errors[col] = f"Enter {label}, date and time, for example 20/11/2026 14:00"
            setattr(plan, attr, value)
        if plan.window_starts_at and plan.window_ends_at and plan.window_ends_at <= plan.window_starts_at:
            plan.errors["undertaking_ends"] = "An undertaking must end after it starts"
        if plan.window_ends_at and plan.window_ends_at <= now:
            plan.warnings.append("The undertaking's end has passed: it escalates at once when imported")

    # R6: a child under five needs the health visiting service on the distribution list.
    under_five = [ch["name"] for ch in plan.children
                  if not ch.get("unborn") and ch.get("date_of_birth") and _age(ch["date_of_birth"], today) < 5]
    if under_five and not any(_health_visiting(r) for r in plan.recipients):
        plan.warnings.append(f"{', '.join(under_five)} {'is' if len(under_five) == 1 else 'are'} under 5 and no "
                             "health visitor is on the distribution list: add one (agency_kind health_visiting)")


def _age(born: dt.date, today: dt.date) -> int:
    from tracker import rules

    return rules.age_on(born, today)


def _health_visiting(recipient: dict) -> bool:
    return (recipient.get("agency_kind") == "health_visiting"
            or bool(re.search(r"\bhealth\s+visit", f"{recipient.get('role', '')} {recipient.get('agency_name', '')}".lower())))


def _row_lists(plan: Plan, row: dict, first: bool, today: dt.date) -> None:
    """One row's child, action, party and agency (each only when its columns are filled)."""
    where = "" if first else f"row {row.get('_line')}: "
    for group, columns in GROUPS.items():
        filled = {col.part: (row.get(col.name) or "").strip() for col in columns}
        if not any(filled.values()):
            continue
        values, ok = {}, True
        for col in columns:
            text = filled[col.part]
            if not text:
                continue
            choices = registry.choices_of(col.part) if col.kind == registry.CHOICE else None
            if group == "recipients" and col.part == "agency_kind":
                choices = registry.field("recipients").column("agency_kind").choices
            try:
                values[col.part] = parse(col, text, choices)
            except ValueError as exc:
                plan.errors[where + col.name] = str(exc)
                ok = False
                continue
            if isinstance(values[col.part], str) and len(values[col.part]) > 300:
                plan.errors[where + col.name] = "Must be 300 characters or fewer"
                ok = False
        if not ok:
            continue
        if group == "children":
            if not values.get("name"):
                plan.errors[where + "child_name"] = "Enter the child's name"
            elif not values.get("date_of_birth"):
                plan.errors[where + "child_date_of_birth"] = "Enter the child's date of birth"
            elif values["date_of_birth"] > today and not values.get("unborn"):
                plan.errors[where + "child_date_of_birth"] = "A date of birth must be in the past"
            elif len(values["name"]) > 200:
                plan.errors[where + "child_name"] = "The name must be 200 characters or fewer"
            else:
                values["nhs_number"] = re.sub(r"\s+", "", values.get("nhs_number", ""))[:10]
                plan.children.append(values)
        elif group == "actions":
            if not values.get("what"):
                plan.errors[where + "action_what"] = "Enter what will be done"
            else:
                plan.actions.append(values)
        elif group == "parties":
            if not values.get("name"):
                plan.errors[where + "party_name"] = "Enter the party's name"
            else:
                plan.parties.append(values)
        elif group == "recipients":
            if values.get("email") and not EMAIL.match(values["email"]):
                plan.errors[where + "agency_email"] = "Enter the agency's email address like name@example.org"
            elif not values.get("agency_name"):
                plan.errors[where + "agency_name"] = "Enter the agency's name"
            else:
                if values.get("acknowledged_on") and values["acknowledged_on"] > today:
                    plan.errors[where + "agency_acknowledged_on"] = "Must not be in the future"
                plan.recipients.append(values)
    if first:
        for what in _split(row.get("actions", "")):
            plan.actions.append({"what": what})
        for text in _split(row.get("family_members", "")):
            match = re.fullmatch(r"(.+?)\s*\(([^)]*)\)", text)
            name, role = (match.group(1).strip(), match.group(2).strip()) if match else (text, "")
            plan.parties.append({"name": name[:200], "role": role[:200], "side": "family"})


def warning_count(plans: list[Plan]) -> int:
    return sum(1 for plan in plans if plan.warnings)


# --- 3. recording ---------------------------------------------------------------------

def commit(plans: list[Plan], user: User, now: dt.datetime, filename: str = "") -> list[int]:
    """Record every record in one transaction, audited; refuses a file with any error. The new records' ids."""
    return import_writer.commit(plans, user, now, filename)


# --- the template ----------------------------------------------------------------------

EXAMPLES = [
    {"reference": "OLD-PA-101", "kind": "partnership", "social_worker_email": "sam.worker@example.org",
     "child_name": "Ella Murphy", "child_date_of_birth": "04/05/2019", "completed_on": "20/10/2026",
     "endorsed_on": "21/10/2026", "purpose": "To keep Ella safe at home while her mother works with the family centre.",
     "action_what": "Ms Murphy will take Ella to nursery every weekday", "action_who": "Jane Murphy",
     "action_timescale": "Every weekday", "party_name": "Jane Murphy", "party_role": "mother", "party_side": "family",
     "next_review_date": "15/01/2027", "next_review_time": "10:00",
     "review_venue": "Riverside Family Centre", "agency_name": "Riverside Primary School",
     "agency_contact": "Jo Bloggs", "agency_kind": "school", "agency_email": "dsl@school.example"},
    {"reference": "OLD-PA-101", "child_name": "Finn Murphy", "child_date_of_birth": "12/03/2023",
     "action_what": "The social worker will visit every two weeks", "action_who": "Social worker",
     "action_timescale": "Every two weeks", "agency_name": "Riverside Health Visiting", "agency_contact": "Pat Lee",
     "agency_kind": "health_visiting", "agency_email": "hv@health.example"},
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
