"""Service settings administrators may change, with the defaults from DESIGN.md.

Each setting has a parser; an administrator's value is validated by the same
parser before it is stored, so a stored value always parses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from tracker.models import Setting, utcnow


def _positive_int(text: str) -> int:
    value = int(str(text).strip())
    if value < 0:
        raise ValueError("must not be negative")
    return value


def _int_list(text: str) -> list[int]:
    values = sorted({_positive_int(part) for part in str(text).split(",") if part.strip()}, reverse=True)
    if not values:
        raise ValueError("needs at least one number")
    return values


def _word_list(text: str) -> list[str]:
    return sorted({part.strip() for part in str(text).split(",") if part.strip()})


@dataclass(frozen=True)
class Definition:
    key: str
    label: str
    hint: str
    default: str
    parse: Callable[[str], object]


DEFINITIONS = [
    Definition("review_reminder_days", "Review reminders (days before)", "Comma-separated, for example 7, 1", "7, 1", _int_list),
    Definition("report_request_days", "First request to agencies (days before a review)", "", "10", _positive_int),
    Definition("report_due_days", "Agency reports due (days before a review)", "", "3", _positive_int),
    Definition("overdue_notice_hours", "Say a review is overdue after (hours)", "", "24", _positive_int),
    Definition("ack_chase_days", "Chase unacknowledged copies after (days)", "", "5", _positive_int),
    Definition("undertaking_ceiling_hours", "Longest undertaking without a manager's reason (hours)", "", "72", _positive_int),
    Definition("undertaking_warning_hours", "Warn before an undertaking ends (hours)", "", "2", _positive_int),
    Definition("escalation_interval_hours", "Repeat undertaking escalations every (hours)", "", "4", _positive_int),
    Definition("breach_escalation_hours", "Escalate a breach with no response after (hours)", "", "24", _positive_int),
    Definition("review_policy_months", "Longest time to a review (months)", "", "3", _positive_int),
    Definition(
        "jargon",
        "Acronyms and jargon to flag",
        "Comma-separated",
        "CSC, CP, CIN, S47, LAC, PLO, ICPC, RCPC, FGC, MASH",
        _word_list,
    ),
]
BY_KEY = {d.key: d for d in DEFINITIONS}


def get(key: str):
    """The parsed value of a setting: the administrator's, else the default."""
    definition = BY_KEY[key]
    row = Setting.get_or_none(Setting.key == key)
    return definition.parse(row.value if row else definition.default)


def raw(key: str) -> str:
    row = Setting.get_or_none(Setting.key == key)
    return row.value if row else BY_KEY[key].default


def put(key: str, text: str) -> None:
    """Store a value after parsing it; raises ValueError when it does not parse."""
    BY_KEY[key].parse(text)
    (
        Setting.insert(key=key, value=text, updated_at=utcnow())
        .on_conflict(conflict_target=[Setting.key], update={Setting.value: text, Setting.updated_at: utcnow()})
        .execute()
    )
