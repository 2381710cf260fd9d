"""What a record says: every field of an agreement or undertaking, declared once.

Each field has its label in plain words (the history, the version differences,
the conflict page and the emails say it the same way), its kind, whether the
family agreed to it (on an active record a change waits in a variation for a
manager's endorsement, R11) or it is a working detail (it changes at once), and
which surfaces show it:

    family   the family's printed copy
    agency   the agency's copy (page, print and PDF)
    email    emails may name it (the sweeps read these columns)
    history  the record's history and the version differences
    jargon   the plain-language check (R7): words the family reads
    import   a column of the import template
    sar      the subject access export

Saving, variations, history, copies, checks, import and subject access read
these declarations instead of lists of their own. A name the registry does not
know raises `UnknownField` (a field no list knows about cannot exist): a new
field is added here, in the model and a migration, and in the template that
lays it out; tests/records/test_fields.py fails on a form field missing here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

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
)

TEXT, LINE, DATE, MOMENT, CHOICE, BOOL, NUMBER, ROWS, PERSON = (
    "text", "line", "date", "moment", "choice", "bool", "number", "rows", "person")
# The most characters a typed answer holds: a long text box, a line. A form shows the
# limit (a long box is a GOV.UK character count) and refuses more with a message
# beside the field; nothing is cut short.
LONG_TEXT, LINE_TEXT = 10_000, 300
SURFACES = frozenset(("family", "agency", "email", "history", "jargon", "import", "sar"))
BOTH = ("partnership", "undertaking")


class UnknownField(KeyError):
    """A field name the registry does not declare."""


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str
    agreed: bool = False  # family-agreed: a variation on an active record; else a working detail
    shows: frozenset[str] = frozenset()
    question: str = ""  # the form's own wording when it asks rather than names ("Was legal advice taken?")
    kinds: tuple[str, ...] = BOTH  # which kinds of record have it
    choices: dict | None = None
    stored: bool = True  # a column of Agreement (else the review, or rows of their own)
    on_form: bool = True  # the record's edit form shows it
    columns: tuple[Field, ...] = ()  # a row list's fields
    noun: str = ""  # a row list: what one row is called ("Action 2")
    main: str = ""  # a row list: the field that names a row
    max_length: int | None = None  # the most characters typed (text and lines; by kind unless given)
    section: str = ""  # the part of the form it is asked in (SECTIONS; the new record's task list)

    def shown_on(self, surface: str) -> bool:
        if surface not in SURFACES:
            raise UnknownField(surface)
        return surface in self.shows

    def column(self, name: str) -> Field:
        for one in self.columns:
            if one.name == name:
                return one
        raise UnknownField(f"{self.name}.{name}")


def _f(name, label, kind, agreed=False, shows="history sar", **extra) -> Field:
    extra.setdefault("max_length", {TEXT: LONG_TEXT, LINE: LINE_TEXT}.get(kind))
    return Field(name, label, kind, agreed, frozenset(shows.split()), **extra)


_READ = "family agency history sar"  # what both copies show
_WORDS = _READ + " jargon"  # ...and the family reads, so the plain-language check reads it

RECORD: tuple[Field, ...] = (
    _f("children", "Children", ROWS, True, _READ + " import", noun="Child", main="name", stored=False, columns=(
        _f("name", "name", LINE, True, _READ, question="Child's full name"),
        _f("unborn", "not yet born", BOOL, True, _READ, question="This baby is not yet born"),
        _f("date_of_birth", "date of birth", DATE, True, _READ,
           question="Child's date of birth, or the expected date of delivery"),
        _f("person_id", "council person ID", LINE, False, question="Council person ID (optional)", max_length=40),
        _f("nhs_number", "NHS number", LINE, False, question="NHS number (optional)", max_length=20),
    )),
    _f("social_worker", "Social worker", PERSON, False, _READ + " email import"),
    _f("worker_phone", "Social worker's telephone", LINE, False, _READ + " email", max_length=40),
    _f("completed_on", "Date completed", DATE, True, _READ + " import"),
    _f("purpose", "Purpose", TEXT, True, _WORDS + " import"),
    _f("child_views", "The child's views", TEXT, True, _WORDS),
    _f("family_views", "The parents' or carers' views", TEXT, True, _WORDS),
    _f("plan_type", "The plan it rests on", CHOICE, True, _READ, question="The plan this agreement rests on",
       kinds=("partnership",), choices=PLAN_TYPES),
    _f("actions", "Actions", ROWS, True, _READ + " jargon import", noun="Action", main="what", stored=False, columns=(
        _f("id", "row", LINE, True, ""),
        _f("what", "what", TEXT, True, _WORDS, question="What will be done"),
        _f("who", "who", LINE, True, _WORDS, question="Who is responsible"),
        _f("side", "whose commitment", CHOICE, True, "history", on_form=False, choices=PARTY_SIDES),
        _f("timescale", "timescale", LINE, True, _WORDS, question="Timescale"),
        _f("due_on", "by date", DATE, True, _READ, question="By date"),
    )),
    _f("if_things_go_wrong", "If things go wrong", TEXT, True, _WORDS,
       question="What will happen if the undertaking is breached"),
    _f("contingency", "Contingency plan", TEXT, True, _WORDS, kinds=("partnership",)),
    _f("duration", "How long it lasts", LINE, True, _WORDS, question="How long this will last", kinds=("partnership",)),
    _f("review_at", "Next review", MOMENT, False, _READ + " email import", question="Date and time of the review",
       kinds=("partnership",), stored=False),
    _f("review_venue", "Review venue", LINE, False, _READ + " email import", question="Venue of the review",
       kinds=("partnership",), stored=False),
    _f("review_attendees", "Who will attend the review", TEXT, False, _WORDS, kinds=("partnership",)),
    _f("parties", "Parties", ROWS, True, _READ + " import", noun="Party", main="name", stored=False, columns=(
        _f("id", "row", LINE, True, ""),
        _f("name", "name", LINE, True, _WORDS, question="Name of party"),
        _f("role", "role", LINE, True, _WORDS, question="Role or relationship"),
        _f("side", "whose commitment", CHOICE, False, "history sar", question="Family member or professional",
           choices=PARTY_SIDES),
        _f("signed_on", "date signed", DATE, False, _READ, question="Date signed"),
    )),
    _f("recipients", "Distribution list", ROWS, False, _READ + " import", noun="Copy to", main="name", stored=False,
       columns=(
           _f("id", "row", LINE, False, ""),
           _f("directory", "agency directory", CHOICE, False, "", question="Pick from the agency directory"),
           _f("name", "name", LINE, False, _WORDS),
           _f("agency_name", "agency", LINE, False, _WORDS, question="Agency"),
           _f("agency_kind", "type of agency", CHOICE, False, "history sar", question="Type of agency",
              choices=AGENCY_KINDS),
           _f("role", "role", LINE, False, _WORDS),
           _f("email", "email", LINE, False, "agency history sar", question="Email address", max_length=254),
           _f("breach_contact", "contact about a breach", BOOL, False, _READ,
              question="Contact this person about a breach"),
       )),
    _f("first_language", "First language", LINE, False),
    _f("interpreter", "Interpreter or translation", TEXT, False, "history sar jargon"),
    _f("advocacy", "Advocacy", TEXT, False, "history sar jargon"),
    _f("literacy", "Literacy or learning needs", TEXT, False, "history sar jargon"),
    _f("issued_on", "Date the family received their copy", DATE, False, on_form=False),
    _f("case_closing", "The social work service is closing", BOOL, False),
    _f("domestic_abuse_concern", "There is a domestic abuse concern", BOOL, False),
    _f("victim_asked_to_exclude_abuser", "The person at risk is asked to keep the abuser away", BOOL, False,
       on_form=False),
    _f("person_at_risk", "The person at risk", LINE, False),
    _f("person_who_harms", "The person who harms", LINE, False),
    _f("marac_idva", "MARAC or IDVA referral", TEXT, False),
    _f("plan_meeting_on", "Date of the next child protection or child in need meeting", DATE, False,
       kinds=("partnership",)),
    _f("undertaking_kind", "Kind of undertaking", CHOICE, False, _READ + " email", kinds=("undertaking",),
       choices=UNDERTAKING_KINDS),
    _f("closure_weeks", "How many weeks it lasts", NUMBER, True, _READ + " email", kinds=("undertaking",)),
    _f("window_starts_at", "Undertaking starts", MOMENT, True, _READ + " email import", kinds=("undertaking",)),
    _f("window_ends_at", "Undertaking must end by", MOMENT, True, _READ + " email import", kinds=("undertaking",)),
    _f("window_reason", "Manager's reason for a longer undertaking", TEXT, True, "history sar email", kinds=("undertaking",)),
    _f("legal_advice", "Legal advice", CHOICE, False, question="Was legal advice taken?", kinds=("undertaking",),
       choices=LEGAL_ADVICE),
    _f("legal_advice_taken", "Legal advice taken", BOOL, False, on_form=False, kinds=("undertaking",)),
    _f("legal_advice_notes", "Legal advice notes", TEXT, False, kinds=("undertaking",)),
)

# Every field of a record is a column of the import template (tracker/governance/imports.py): a service's own
# spreadsheet may hold any of them, and a column the template lacked was data left behind.
RECORD = tuple(replace(f, shows=f.shows | {"import"}) for f in RECORD)
# The parts of the record's form, in order: each is a page of its own in the new record's task list
# (tracker/records/sections.py), and the one-page form asks them in the same order.
SECTIONS: dict[str, tuple[str, ...]] = {
    "child": ("children", "social_worker", "worker_phone", "completed_on"),
    "why": ("purpose", "child_views", "family_views", "plan_type", "plan_meeting_on"),
    "actions": ("actions",),
    "if_wrong": ("if_things_go_wrong", "contingency"),
    "review": ("duration", "review_at", "review_venue", "review_attendees", "undertaking_kind", "window_starts_at",
               "window_ends_at", "closure_weeks", "window_reason", "legal_advice", "legal_advice_notes"),
    "parties": ("parties",),
    "copies": ("recipients",),
    "communication": ("first_language", "interpreter", "advocacy", "literacy"),
    "case": ("case_closing", "domestic_abuse_concern", "person_at_risk", "person_who_harms", "marac_idva"),
}
_SECTION_OF = {name: section for section, names in SECTIONS.items() for name in names}
_UNASKED = [f.name for f in RECORD if f.on_form and f.name not in _SECTION_OF]
if _UNASKED:  # a field on the form belongs to a section of it, or the task list would never ask it
    raise UnknownField(f"no section in SECTIONS asks {', '.join(_UNASKED)}")
RECORD = tuple(replace(f, section=_SECTION_OF[f.name]) if f.on_form else f for f in RECORD)

# What the record's other pages and events name: a decision, a review, a breach,
# the family's copy. Not the record's form, but labelled once here too, so the
# history and the conflict page say them the same way everywhere.
DETAILS: tuple[Field, ...] = (
    _f("status", "Status", CHOICE, choices=STATUSES),
    _f("kind", "Kind", CHOICE, choices=KINDS),
    _f("role", "Role", CHOICE, choices=ROLES),
    _f("version", "Version", NUMBER),
    _f("variation", "Variation", LINE),
    _f("what", "What changed", TEXT),
    _f("reason", "Reason", TEXT),
    _f("notes", "What was decided", TEXT),
    _f("end_reason", "Why it ended", CHOICE, question="Why is it ending?", choices=END_REASONS),
    _f("end_notes", "Notes on ending", TEXT),
    _f("endorsed_by", "Endorsed by", PERSON),
    _f("endorsed_at", "Endorsed on", MOMENT),
    _f("endorsed_despite", "Endorsed despite", TEXT),
    _f("override", "Reason for endorsing anyway", TEXT),
    _f("override_reason", "Reason for endorsing anyway", TEXT),
    _f("comments", "Comments for the social worker", TEXT),
    _f("held_on", "Date the review was held", DATE),
    _f("attendees", "Who attended", TEXT),
    _f("outcome", "Outcome", CHOICE, choices=REVIEW_OUTCOMES),
    _f("next_review_at", "Date and time of the next review", MOMENT),
    _f("next_venue", "Venue of the next review", LINE),
    _f("scheduled_at", "Review", MOMENT),
    _f("venue", "Venue", LINE),
    _f("reports_considered", "Agency reports considered", TEXT),
    _f("issued_at", "When the family was given their copy", MOMENT),
    _f("copy_language", "Language of the family's copy", LINE),
    _f("translation_given", "Was a translation given?", BOOL),
    _f("case_closed_at", "Case closed", MOMENT),
    _f("retention_due_on", "Retention review due", DATE),
    _f("same_child_as", "Same child as", LINE),
    _f("immediate_risk", "Is anyone at immediate risk of harm?", CHOICE),
    _f("description", "What happened", TEXT),
    _f("occurred_at", "When it happened", MOMENT),
    _f("action", "Which part of the agreement was broken", CHOICE),
    _f("term", "Something else: what was broken", LINE),
    _f("reported_by", "Who reported it", LINE),
    _f("not_given", "Not given", TEXT),
    _f("response", "Response", CHOICE),
    _f("response_notes", "Notes on the response", TEXT),
    _f("amendment", "Correction", TEXT),
    _f("text", "Correction or addition", TEXT),
    _f("agency_link", "Agency's link", LINE),
    _f("email", "Email", LINE),
    _f("acknowledged_at", "Acknowledged", MOMENT),
    _f("report", "Report", TEXT),
    _f("body", "Your report", TEXT),
)

# Hidden inputs that carry the form's own state, never a record's content.
MACHINERY = frozenset(("csrf_token", "revision", "opened_at", "once_key", "snapshot", "draft_owner"))

_BY_NAME: dict[str, Field] = {f.name: f for f in RECORD}
_DETAILS: dict[str, Field] = {f.name: f for f in DETAILS if f.name not in _BY_NAME}


def field(name: str) -> Field:
    """The record's field called `name`; raises `UnknownField` for any other name."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise UnknownField(name) from None


def known(name: str) -> bool:
    return name in _BY_NAME or name in _DETAILS


def label(name: str) -> str:
    """The plain words for a field of the record or of one of its decisions; raises on a name not declared."""
    found = _BY_NAME.get(name) or _DETAILS.get(name)
    if found is None:
        raise UnknownField(name)
    return found.label


def row_label(section: str, name: str) -> str:
    return field(section).column(name).label


def check(data: dict) -> None:
    """Refuse data naming a field the registry does not know (the allow-list)."""
    unknown = [k for k in data if k not in _BY_NAME and k not in MACHINERY]
    if unknown:
        raise UnknownField(", ".join(sorted(unknown)))


def where(surface: str) -> tuple[Field, ...]:
    """The record's fields one surface shows, in the form's order."""
    if surface not in SURFACES:
        raise UnknownField(surface)
    return tuple(f for f in RECORD if surface in f.shows)


def names(fields) -> tuple[str, ...]:
    return tuple(f.name for f in fields)


# The sets the code reads, made once from the declarations.
ROW_LISTS = tuple(f for f in RECORD if f.kind == ROWS)
SCALARS = tuple(f for f in RECORD if f.kind != ROWS)
STORED = names(f for f in SCALARS if f.stored and f.kind != PERSON)  # columns drafting writes as they are
AGREED = names(f for f in SCALARS if f.agreed)  # family-agreed: a variation on an active record
WORKING = names(f for f in SCALARS if not f.agreed and f.on_form)  # changes at once on an active record
AGREED_COLUMNS = {f.name: names(c for c in f.columns if c.agreed and c.name != "id") for f in ROW_LISTS}
WORKING_COLUMNS = {f.name: names(c for c in f.columns if not c.agreed and c.on_form and c.name != "id")
                   for f in ROW_LISTS}
JARGON = names(f for f in SCALARS if "jargon" in f.shows)  # what the plain-language check reads (R7)
NOT_IN_EMAILS = frozenset(f.name for f in SCALARS if f.stored and "email" not in f.shows)
MOMENTS = frozenset(f.name for f in SCALARS if f.kind == MOMENT)
DATES = frozenset(f.name for f in SCALARS if f.kind == DATE) | frozenset(
    c.name for f in ROW_LISTS for c in f.columns if c.kind == DATE)


def choices_of(name: str) -> dict | None:
    found = _BY_NAME.get(name) or _DETAILS.get(name)
    if found is None:
        for rows in ROW_LISTS:
            for column in rows.columns:
                if column.name == name and column.choices:
                    return column.choices
        return None
    return found.choices


def for_kind(kind: str) -> tuple[Field, ...]:
    if kind not in BOTH:
        raise UnknownField(kind)
    return tuple(f for f in RECORD if kind in f.kinds)

