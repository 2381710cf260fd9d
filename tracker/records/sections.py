"""The new record as a GOV.UK task list (issue 22): its sections, and how far each has got.

Which field is asked in which section is the field registry's (`fields.SECTIONS`,
each field's `section`). A section is "Not yet started" while nothing in it is
filled in, "In progress" while the quality checks (tracker.records.quality, R7) or
what endorsement needs (lifecycle.completeness) still want something of it, and
"Completed" otherwise. Nothing is stored for the status: it is read from the record.
"""

from __future__ import annotations

from dataclasses import dataclass

from tracker.records import fields

NOT_STARTED, IN_PROGRESS, COMPLETED = "Not yet started", "In progress", "Completed"

# The section's title on a partnership agreement and on an undertaking.
TITLES = {
    "child": ("The child", "The child"),
    "why": ("Why this agreement is needed", "Why this undertaking is needed"),
    "actions": ("Actions agreed", "What has been agreed"),
    "if_wrong": ("If things go wrong, and the contingency plan", "If the undertaking is breached"),
    "review": ("Duration and review", "How long it lasts"),
    "parties": ("Parties to the agreement", "Parties to the undertaking"),
    "copies": ("Who gets a copy", "Who gets a copy"),
    "communication": ("Communication needs", "Communication needs"),
    "case": ("About the case", "About the case"),
}

# Which sections each quality check is about; a check not named here is about the whole record.
CHECKS = {
    "actions_who_when": ("actions",),
    "smart_actions": ("actions",),
    "written": ("why", "if_wrong"),
    "review_in_policy": ("review",),
    "venue_and_duration": ("review",),
    "balanced": ("actions", "parties"),
    "child_views": ("why",),
    "family_views": ("why",),
    "health_visiting": ("copies",),
    "legal_advice": ("review",),
    "social_worker_named": ("child",),
    "communication": ("communication",),
    "da_confirm": ("case",),
    "da_person_at_risk": ("case",),
    "da_harmer_actions": ("case", "actions"),
    "da_referral": ("case",),
}

# Filled in for every new record (by default or by the page), so they do not mean a section was started.
DEFAULTED = frozenset(("social_worker", "legal_advice", "undertaking_kind"))


@dataclass(frozen=True)
class Section:
    name: str
    title: str
    fields: tuple[str, ...]  # the registry's names asked in it, for this kind of record


def of_kind(kind: str) -> list[Section]:
    """The sections of a partnership agreement or an undertaking, in the form's order."""
    which = 0 if kind == "partnership" else 1
    return [Section(name, TITLES[name][which],
                    tuple(n for n in names if kind in fields.field(n).kinds))
            for name, names in fields.SECTIONS.items()]


def named(kind: str, name: str) -> Section | None:
    return next((s for s in of_kind(kind) if s.name == name), None)


def _filled(value) -> bool:
    if isinstance(value, list):
        return any(_filled(v) for row in value for k, v in row.items() if k not in ("id", "side"))
    if isinstance(value, str):
        return bool(value.strip())
    return value not in (None, False, 0)


def started(section: Section, data: dict) -> bool:
    return any(_filled(data.get(name)) for name in section.fields if name not in DEFAULTED)


def wanted(section: Section, failing: list, problems: dict[str, str]) -> list[str]:
    """What the quality checks and endorsement still want of this section, in their words."""
    said = [f"{c.title}{': ' + c.detail if c.detail else ''}" for c in failing if section.name in CHECKS.get(c.key, ())]
    said += [message for name, message in problems.items() if name in section.fields]
    return said


def status(section: Section, data: dict, failing: list, problems: dict[str, str]) -> str:
    if not started(section, data):
        return NOT_STARTED
    return IN_PROGRESS if wanted(section, failing, problems) else COMPLETED


def whole_record(failing: list) -> list:
    """The failing checks that are about the whole record rather than one section (plain language, warning signs)."""
    return [c for c in failing if c.key not in CHECKS]


def answers(section: Section, data: dict) -> list[tuple[str, list[str]]]:
    """The section as "Check your answers" shows it: each field's label and its value in plain words."""
    from tracker.records.history import plain

    shown = []
    for name in section.fields:
        field = fields.field(name)
        value = data.get(name)
        if field.kind == fields.ROWS:
            lines = []
            for number, row in enumerate(value or [], 1):
                said = [f"{c.label} {plain(c.name, row.get(c.name))}" if c.name != field.main
                        else plain(c.name, row.get(c.name))
                        for c in field.columns if c.on_form and c.name not in ("id", "directory")
                        and row.get(c.name) not in (None, "", False)]
                lines.append(f"{field.noun} {number}: " + ", ".join(said) if said else f"{field.noun} {number}")
            shown.append((field.label, lines or ["(none)"]))
        else:
            shown.append((field.label, plain(name, value).split("\n")))
    return shown
