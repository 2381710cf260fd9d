"""Service settings administrators may change, with the defaults from DESIGN.md.

Each setting has a parser; an administrator's value is validated by the same
parser before it is stored, so a stored value always parses.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable

from flask import current_app, has_app_context
from peewee import DatabaseError

from tracker import rules
from tracker.clock import utcnow
from tracker.models import ROLES, Setting, User


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
    """One line of plain text: it may end up in an email header, so no line break of any kind (U+2028, NEL, VT…)."""
    from tracker.rules import LINE_BREAKS

    value = str(text).strip()
    if LINE_BREAKS.search(value) or "<" in value or ">" in value:
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


def _between(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = int(str(text).strip())
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}")
        return value

    return parse


def _word_list(text: str) -> list[str]:
    return sorted({part.strip() for part in str(text).split(",") if part.strip()})


def _group_roles(text: str) -> dict[str, tuple[str, str]]:
    """`group = role / team; ...` as {group: (role, team name)}; roles that need a team must name one."""
    mapping = {}
    for part in str(text).split(";"):
        if not part.strip():
            continue
        group, _, rest = part.partition("=")
        role, _, team = rest.partition("/")
        group, role, team = group.strip(), role.strip(), team.strip()
        if not group or role not in ROLES or role == "administrator":
            raise ValueError("each entry must be group = role / team, with a role of social_worker, team_manager or service_manager")
        if role in ("social_worker", "team_manager") and not team:
            raise ValueError(f"{group}: a {ROLES[role].lower()} needs a team")
        mapping[group] = (role, team)
    return mapping


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
        "strategy meeting, threshold, strategy discussion, S17, S20, pre-proceedings, EDT, TAF",
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
def _at_least_one_day(text: str) -> int:
    value = _days(text)
    if value < 1:
        raise ValueError("must be at least 1")
    return value


# Agency links (issue 9): how long a link works after it is issued or the record's latest endorsement.
DEFINITIONS += [
    Definition("agency_link_days", "Agency links stop working after (days)",
               "Counted from when the link was sent or the agreement was last endorsed, whichever is later",
               "90", _at_least_one_day),
]
# Endorsement and issue (R11, R8a).
DEFINITIONS += [
    Definition("endorsement_escalation_hours", "Tell the service managers when an undertaking waits for endorsement (hours)",
               "", "2", _hours),
    Definition("issue_within_days", "List endorsed records whose family copy is not issued after (days)", "", "2", _days),
]
# The front door (issue 10): office hours, urgent breaches, closure undertakings.
DEFINITIONS += [
    Definition(
        "office_hours",
        "Office hours (London time)",
        "Days and times the front door is staffed, for example Mon-Fri 09:00-17:00. Separate more than one "
        "with a semicolon: Mon-Thu 09:00-17:00; Fri 09:00-16:30. Outside these hours breach alerts and "
        "undertaking escalations also go to the out-of-hours team.",
        "Mon-Fri 09:00-17:00",
        rules.parse_office_hours,
    ),
    Definition("urgent_breach_escalation_hours", "Escalate an urgent breach with no response after (hours)", "", "1",
               _between(1, 24)),
    Definition("closure_undertaking_max_weeks", "Longest closure undertaking (weeks)", "", "12",
               _between(1, 52)),
    Definition("closure_reminder_days", "Remind before a closure undertaking ends (days)", "", "7", _days),
]
# Adoption (issue 14): retention of ended records, and single sign-on's group mapping.
DEFINITIONS += [
    Definition("retention_until_age", "Keep ended records until the youngest child is (years old)",
               "Then a manager decides to destroy or keep each one", "25", lambda text: _positive_int(text, 100)),
    Definition("sso_group_roles", "Single sign-on: groups that give an account",
               "Semicolon-separated, each as group = role / team, for example north-sw = social_worker / North team. "
               "Empty: only people with an account here can sign in", "", lambda text: _group_roles(text)),
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
# Practice checks (R7): what a required field holds when it says nothing.
DEFINITIONS += [
    Definition("placeholders", "Words that do not fill in a required field",
               "Comma-separated. A purpose, consequence, contingency, view, venue or who is responsible holding "
               "only these (or punctuation, or a reference elsewhere such as \"see attached\") counts as missing",
               "TBC, TBA, TBD, to be confirmed, to be decided, to be agreed, to be discussed, to follow, N/A, NA, "
               "not applicable, none, nil, see attached, see above, as above, see plan, see notes, pending, xxx, "
               "ditto, same as above, to be completed, awaiting, unknown", _word_list),
]
# Bank holidays (R19): the council's own closure days, on top of England and Wales's bank holidays.
DEFINITIONS += [
    Definition("closure_days", "Closure days (besides bank holidays)",
               "Days the office is closed although not a bank holiday, such as the Christmas closure: dates as "
               "2026-12-24, separated by commas. Breach alerts and escalations on these days also go to the "
               "out-of-hours team.", "", rules.parse_closure_days),
]
# --- family ---
# The family's own copy (R20): when the worker hears who has not read it, and which
# languages' catalogs a qualified translator has checked (others show English beside them).
def _language_codes(text: str) -> list[str]:
    codes = [c.strip().lower() for c in str(text).split(",") if c.strip()]
    for code in codes:
        if not re.fullmatch(r"[a-z]{2,3}(?:_[a-z0-9]{2,4})?", code):
            raise ValueError(f"{code!r} is not a language code such as cy")
    return codes


def _https_url(text: str) -> str:
    value = _line(text, 300)
    if not re.fullmatch(r"https://[A-Za-z0-9.-]+(?:/[^\s\"'<>]*)?", value):
        raise ValueError("must be an address starting https://")
    return value


# --- pages ---
# The pages a council publishes (/accessibility, /privacy, /cookies), the phase banner and
# its feedback link: each council's own words, shown on the administration settings page.


def _date_line(text: str) -> str:
    """A date as 2026-12-02, kept as typed; the pages show it as 2 December 2026."""
    value = _line(text, 10)
    if value:
        dt.date.fromisoformat(value)
    return value


def _compliance(text: str) -> str:
    value = str(text).strip().lower()
    if value not in ("fully", "partially", "not"):
        raise ValueError("must be fully, partially or not")
    return value


DEFINITIONS += [
    Definition("family_unread_days", "Tell the social worker a family party has not read their copy after (days)",
               "Counted from when their link was sent", "7", _at_least_one_day),
    Definition("family_checked_languages", "Family pages: languages checked by a qualified translator",
               "Comma-separated language codes, for example cy. A language not listed shows English beside "
               "each of its fixed words", "", _language_codes),
    Definition("family_exit_url", "Family pages: where Exit this page goes",
               "A neutral website that opens quickly", "https://www.bbc.co.uk/weather", _https_url),
]


DEFINITIONS += [
    Definition("phase", "Phase shown in the banner on every page", "For example Beta or Alpha; empty shows no banner",
               "Beta", _line),
    Definition("feedback_email", "Feedback email address", "The phase banner's feedback link and the accessibility "
               "statement's contact", "feedback@example.org", _email),
    Definition("dpo_email", "Data protection officer's email", "Named in the privacy notice",
               "data-protection@example.org", _email),
    Definition("dpo_address", "Data protection officer's postal address", "One line", "Data Protection Officer, "
               "Example Council, Town Hall, Example Street, EX1 1AA", _line),
    Definition("accessibility_compliance", "How far the service meets WCAG 2.2 AA",
               "fully, partially or not: the accessibility statement's compliance status", "partially", _compliance),
    Definition("accessibility_tested_on", "Date the service was last tested for accessibility", "As 2026-12-02",
               "2026-12-02", _date_line),
    Definition("accessibility_prepared_on", "Date the accessibility statement was prepared", "As 2026-12-02",
               "2026-12-02", _date_line),
    Definition("accessibility_tested_by", "Who tested the service for accessibility", "One line",
               "The service's own team, with automated checks (axe, pa11y, Lighthouse) and manual checks by keyboard, "
               "screen reader and at 320 px", _line),
    Definition("privacy_updated_on", "Date the privacy notice was last updated", "As 2026-12-02", "2026-12-02",
               _date_line),
]


def published() -> dict:
    """The council's words for the published pages, the banner and the footer."""
    keys = ("phase", "feedback_email", "dpo_email", "dpo_address", "accessibility_compliance",
            "accessibility_tested_on", "accessibility_prepared_on", "accessibility_tested_by", "privacy_updated_on")
    try:
        return {key: get(key) for key in keys} | contacts()
    except DatabaseError:
        # The error page for a database that is down still gives the numbers to call: the defaults.
        keys += ("council_name", "service_name", "front_door_term", "front_door_phone", "front_door_email",
                 "out_of_hours_phone", "out_of_hours_email")
        return {key: BY_KEY[key].parse(default(key)) for key in keys}
# --- end pages ---
# --- text messages ---
# GOV.UK Notify (tracker/notices/texts.py): its address, a template id per kind of text, and the
# out-of-hours team's mobile for urgent breaches. The API key is an environment value (NOTIFY_API_KEY), never here.


def _notify_url(text: str) -> str:
    """https://…, or http:// to this machine only (a local stand-in for Notify, as the tests run)."""
    value = _line(text, 300).rstrip("/")
    if not re.fullmatch(r"https://[A-Za-z0-9.-]+(?::\d+)?|http://(?:127\.0\.0\.1|localhost)(?::\d+)?", value):
        raise ValueError("must be an address starting https://, such as https://api.notifications.service.gov.uk")
    return value


def _template_id(text: str) -> str:
    value = str(text).strip().lower()
    if value and not re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", value):
        raise ValueError("must be a Notify template id, like f33517ff-2a88-4f6e-b855-c550268ce08a")
    return value


def _mobile_or_empty(text: str) -> str:
    value = _line(text, 40)
    if not value:
        return ""
    try:
        return rules.mobile_number(value)
    except rules.TextRefused as refused:
        raise ValueError(str(refused)) from None


DEFINITIONS += [
    Definition("notify_base_url", "Text messages: GOV.UK Notify's address", "Leave as it is unless Notify says otherwise",
               "https://api.notifications.service.gov.uk", _notify_url),
    Definition("notify_template_family_link", "Text messages: Notify template id for a family link",
               "From Notify's Templates page. The template must say only ((link)) and fixed words: no name. Empty: "
               "links are not sent by text", "", _template_id),
    Definition("notify_template_breach_alert", "Text messages: Notify template id for an urgent breach out of hours",
               "From Notify's Templates page, with ((reference)) and ((link)). Empty: no texts for breaches", "",
               _template_id),
    Definition("out_of_hours_mobile", "Out-of-hours (emergency duty) team mobile, for texts",
               "A UK mobile number. Set, an urgent breach outside office hours also sends it a text. Empty: email only",
               "", _mobile_or_empty),
]
# --- end text messages ---
# --- drafts ---
# Drafts of records never created (tracker.records.form_drafts) hold a child's details with no
# record to keep them by: the monthly retention review clears those untouched this long.
DEFINITIONS += [
    Definition("draft_keep_days", "Clear drafts of records never created after (days untouched)",
               "The monthly retention review clears them, and the audit log says how many", "30",
               _between(1, 365)),
]
# --- end drafts ---
BY_KEY = {d.key: d for d in DEFINITIONS}


def _read_cache() -> dict | None:
    """Within a GET request, the stored settings as text, read once (a page asks for several)."""
    from flask import has_request_context, request

    if not has_request_context() or request.method not in ("GET", "HEAD"):
        return None
    # On the request itself (not `g`, which can outlive a request in tests).
    cache = request.environ.setdefault("tracker.settings_read", {})
    if not cache:  # every stored setting in one statement, once a request
        cache.update({row.key: row.value for row in Setting.select(Setting.key, Setting.value)})
        cache[None] = True  # read, even when nothing is stored
    return cache


# Settings whose default an environment value may give (tracker.config).
FROM_CONFIG = {"front_door_email": "FRONT_DOOR_EMAIL", "office_hours": "OFFICE_HOURS"}


def default(key: str) -> str:
    """A setting's default. The front door's email defaults to the FRONT_DOOR_EMAIL
    environment value where one is set, so a deployment configured before the
    setting existed keeps sending where it did (and OFFICE_HOURS likewise);
    an administrator's value wins."""
    name = FROM_CONFIG.get(key)
    if name and has_app_context() and current_app.config.get(name):
        return current_app.config[name]
    return BY_KEY[key].default


_memo = threading.local()


@contextmanager
def held():
    """Within the block, each setting is read from the database once (a long import
    checks thousands of records; a sweep writes thousands of emails). Nested
    blocks share the outer one's values."""
    outer = getattr(_memo, "values", None)
    if outer is None:
        _memo.values = {}
    try:
        yield
    finally:
        if outer is None:
            _memo.values = None


def get(key: str):
    """The parsed value of a setting: the administrator's, else the default."""
    memo = getattr(_memo, "values", None)
    if memo is not None:
        if key not in memo:
            memo[key] = _get(key)
        return memo[key]
    return _get(key)


def _get(key: str):
    definition = BY_KEY[key]
    cache = _read_cache()
    if cache is not None:
        return definition.parse(cache[key] if key in cache else default(key))
    row = Setting.get_or_none(Setting.key == key)
    return definition.parse(row.value if row else default(key))


def contacts() -> dict[str, str]:
    """The council and whom to call, for pages, emails and printed copies."""
    keys = ("council_name", "service_name", "front_door_term", "front_door_phone", "front_door_email",
            "out_of_hours_phone", "out_of_hours_email")
    memo = getattr(_memo, "values", None)
    if memo is not None and ("contacts",) in memo:
        return memo["contacts",]  # one object for the block: a sweep's emails render it once
    stored = _read_cache()
    if stored is None:
        stored = {row.key: row.value for row in Setting.select().where(Setting.key.in_(keys))}
    found = {key: BY_KEY[key].parse(stored[key] if key in stored else default(key)) for key in keys}
    if memo is not None:
        memo["contacts",] = found
    return found


def in_office_hours(now: dt.datetime) -> bool:
    """Whether the naive UTC moment `now` falls in the office hours setting, on a
    day that is neither a bank holiday nor one of the council's closure days (R19)."""
    hours, closed = _together("office_hours", "closure_days")
    return rules.in_office_hours(hours, now, rules.bank_holidays() | closed)


def _together(*keys: str) -> list:
    """Several settings' parsed values, in one statement when none is held or cached
    (a sweep asks about office hours for every alert it writes)."""
    memo = getattr(_memo, "values", None)
    if (memo is not None and all(key in memo for key in keys)) or _read_cache() is not None:
        return [get(key) for key in keys]
    stored = {row.key: row.value for row in Setting.select(Setting.key, Setting.value).where(Setting.key.in_(keys))}
    values = [BY_KEY[key].parse(stored[key] if key in stored else default(key)) for key in keys]
    if memo is not None:
        memo.update(zip(keys, values, strict=True))
    return values


def out_of_hours_wording() -> str:
    """When the out-of-hours team answers, in words built from the office hours setting (R19)."""
    return rules.out_of_hours_wording(get("office_hours"))


def raw(key: str) -> str:
    row = Setting.get_or_none(Setting.key == key)
    return row.value if row else default(key)


def put(key: str, text: str) -> None:
    """Store a value after parsing it; raises ValueError when it does not parse."""
    if "\x00" in str(text):
        raise ValueError("must not hold a NUL character")
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


def role_label(user: User) -> str:
    """A user's role as people read it; the front door goes by the service's own term."""
    if user.role == "front_door":
        return contacts()["front_door_term"]
    return ROLES.get(user.role, user.role)
