"""Service settings administrators may change, with the defaults from DESIGN.md.

Each setting has a parser; an administrator's value is validated by the same
parser before it is stored, so a stored value always parses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from tracker.models import Setting, utcnow


def _positive_int(text: str, most: int = 365 * 24) -> int:
    value = int(str(text).strip())
    if value < 0 or value > most:
        raise ValueError(f"must be between 0 and {most}")
    return value


def _days(text: str) -> int:
    return _positive_int(text, 365)


def _hours(text: str) -> int:
    return _positive_int(text, 24 * 365)


def _int_list(text: str) -> list[int]:
    values = sorted({_days(part) for part in str(text).split(",") if part.strip()}, reverse=True)
    if not values:
        raise ValueError("needs at least one number")
    return values


def _line(text: str, most: int = 200) -> str:
    """One line of plain text: it may end up in an email header, so no CR/LF."""
    value = str(text).strip()
    if any(ch in value for ch in "\r\n") or "<" in value or ">" in value:
        raise ValueError("must be one line of plain text")
    if len(value) > most:
        raise ValueError(f"must be {most} characters or fewer")
    return value


def _required_line(text: str) -> str:
    value = _line(text)
    if not value:
        raise ValueError("must not be empty")
    return value


def _phone(text: str) -> str:
    value = _line(text, 40)
    if value and not re.fullmatch(r"[0-9 +()-]{3,40}", value):
        raise ValueError("must be a telephone number: digits, spaces, +, ( ) and -")
    return value


def _email(text: str) -> str:
    value = _line(text, 254)
    if value and not re.fullmatch(r"[^@\s]+@[^@\s]+", value):
        raise ValueError("must be an email address")
    return value


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
    Definition("report_request_days", "First request to agencies (days before a review)", "", "10", _days),
    Definition("report_due_days", "Agency reports due (days before a review)", "", "3", _days),
    Definition("overdue_notice_hours", "Say a review is overdue after (hours)", "", "24", _hours),
    Definition("ack_chase_days", "Chase unacknowledged copies after (days)", "", "5", _days),
    Definition("undertaking_ceiling_hours", "Longest undertaking without a manager's reason (hours)", "", "72", _hours),
    Definition("undertaking_warning_hours", "Warn before an undertaking ends (hours)", "", "2", _hours),
    Definition("escalation_interval_hours", "Repeat undertaking escalations every (hours)", "", "4", _hours),
    Definition("breach_escalation_hours", "Escalate a breach with no response after (hours)", "", "24", _hours),
    Definition("review_policy_months", "Longest time to a review (months)", "", "3", lambda text: _positive_int(text, 24)),
    Definition(
        "jargon",
        "Acronyms and jargon to flag",
        "Comma-separated",
        "CSC, CP, CIN, S47, LAC, PLO, ICPC, RCPC, FGC, MASH, CLA, DSL, CAMHS, HV, IRO, LADO, MARAC, core group, "
        "strategy meeting",
        _word_list,
    ),
]
# Who the service is and whom to call: shown on pages, emails and printed copies
# that tell someone to contact the front door or the out-of-hours team.
DEFINITIONS += [
    Definition("council_name", "The council's name", "As families and agencies know it", "Example Council", _required_line),
    Definition("service_name", "The service's name", "", "Children's Social Care", _required_line),
    Definition("front_door_term", "What the front door is called", "One term, used everywhere", "Front door", _required_line),
    Definition("front_door_phone", "Front door telephone", "", "0100 000 0000", _phone),
    Definition("front_door_email", "Front door email", "", "front-door@example.org", _email),
    Definition("out_of_hours_phone", "Out-of-hours (emergency duty) team telephone", "", "0100 000 0999", _phone),
    Definition("out_of_hours_email", "Out-of-hours (emergency duty) team email", "", "out-of-hours@example.org", _email),
]


def _yes_no(text: str) -> bool:
    value = str(text).strip().lower()
    if value not in ("yes", "no"):
        raise ValueError("must be yes or no")
    return value == "yes"


# Practice checks (issue 10): legal advice on undertakings (R4, R14).
DEFINITIONS += [
    Definition("legal_advice_required", "Undertakings must record whether legal advice was taken",
               "yes or no. With yes, an undertaking cannot be endorsed while legal advice is not recorded",
               "no", _yes_no),
]
BY_KEY = {d.key: d for d in DEFINITIONS}


def get(key: str):
    """The parsed value of a setting: the administrator's, else the default."""
    definition = BY_KEY[key]
    row = Setting.get_or_none(Setting.key == key)
    return definition.parse(row.value if row else definition.default)


def contacts() -> dict[str, str]:
    """The council and whom to call, for pages, emails and printed copies."""
    keys = ("council_name", "service_name", "front_door_term", "front_door_phone", "front_door_email",
            "out_of_hours_phone", "out_of_hours_email")
    stored = {row.key: row.value for row in Setting.select().where(Setting.key.in_(keys))}
    return {key: BY_KEY[key].parse(stored.get(key, BY_KEY[key].default)) for key in keys}


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


def problems(values: dict[str, str]) -> dict[str, str]:
    """Settings that parse but do not make sense together."""
    try:
        if BY_KEY["report_due_days"].parse(values["report_due_days"]) >= BY_KEY["report_request_days"].parse(
            values["report_request_days"]
        ):
            return {"report_due_days": "Agency reports must be due fewer days before a review than they are first asked for"}
    except (KeyError, ValueError):
        pass
    return {}
