"""Domain rules as plain functions of data and `now`: no Flask, no I/O."""

from __future__ import annotations

import datetime as dt
import functools
import re

from tracker.clock import time_words, to_london

# Something that reads as HTML markup: refused in names and one-line answers, typed or imported.
MARKUP = re.compile(r"<\s*[a-zA-Z/!?]")
# Every character str.splitlines() breaks on (CR, LF, VT, FF, the file/group/record
# separators, NEL, U+2028, U+2029), and NUL: refused in every one-line value, typed,
# imported or set, because a one-line value may reach an email header or address.
LINE_BREAKS = re.compile("[\x00\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def window_errors(
    starts_at: dt.datetime | None,
    ends_at: dt.datetime | None,
    *,
    ceiling_hours: int,
    by_manager: bool,
    reason: str,
) -> dict[str, str]:
    """Problems with an undertaking's permitted window, by field name (R4)."""
    errors: dict[str, str] = {}
    if starts_at is None:
        errors["window_starts_at"] = "Enter when the undertaking starts"
    if ends_at is None:
        errors["window_ends_at"] = "Enter when the undertaking must end by"
    if errors:
        return errors
    if ends_at <= starts_at:
        errors["window_ends_at"] = "Undertaking must end after it starts"
        return errors
    if ends_at - starts_at > dt.timedelta(hours=ceiling_hours):
        if not by_manager:
            errors["window_ends_at"] = (
                f"An undertaking can last at most {ceiling_hours} hours unless a team manager agrees a longer one"
            )
        elif not reason.strip():
            errors["window_reason"] = (
                f"Give the reason this undertaking needs longer than {ceiling_hours} hours"
            )
    return errors


def review_moments(
    scheduled_at: dt.datetime, *, request_days: int, due_days: int
) -> tuple[dt.datetime, dt.datetime]:
    """When agency report requests open and when reports are due, for a review (R3)."""
    return scheduled_at - dt.timedelta(days=request_days), scheduled_at - dt.timedelta(days=due_days)


def review_notice_moments(
    scheduled_at: dt.datetime,
    *,
    reminder_days: list[int],
    request_days: int,
    due_days: int,
    overdue_hours: int,
) -> dict[str, dt.datetime]:
    """The first moment of each kind of notice about a review (R2, R3)."""
    return {
        "reminder_at": scheduled_at - dt.timedelta(days=max(reminder_days)),
        "request_at": scheduled_at - dt.timedelta(days=request_days),
        "prompt_at": scheduled_at - dt.timedelta(days=due_days),
        "overdue_at": scheduled_at + dt.timedelta(hours=overdue_hours),
    }


def next_reminder_at(scheduled_at: dt.datetime, reminder_days: list[int], now: dt.datetime) -> dt.datetime | None:
    """The next reminder moment after `now`, or None when the last has gone."""
    later = [scheduled_at - dt.timedelta(days=d) for d in reminder_days if scheduled_at - dt.timedelta(days=d) > now]
    return min(later) if later else None


def first_escalation_at(ends_at: dt.datetime, *, warning_hours: int) -> dt.datetime:
    """The undertaking ladder starts with the warning before its end (R4)."""
    return ends_at - dt.timedelta(hours=warning_hours)


def add_months(day: dt.date, months: int) -> dt.date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    last_day = (dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)).day
    return dt.date(year, month, min(day.day, last_day))


def age_on(date_of_birth: dt.date, on: dt.date) -> int:
    years = on.year - date_of_birth.year
    if (on.month, on.day) < (date_of_birth.month, date_of_birth.day):
        years -= 1
    return years


# --- office hours (R5) ------------------------------------------------------------

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS_PART = re.compile(
    r"^(?P<days>[a-z]{3}(?:\s*-\s*[a-z]{3})?(?:\s*,\s*[a-z]{3}(?:\s*-\s*[a-z]{3})?)*)\s+"
    r"(?P<start>\d{2}):(?P<start_m>\d{2})\s*-\s*(?P<end>\d{2}):(?P<end_m>\d{2})$"
)

OfficeHours = tuple  # ((frozenset of weekday numbers, start time, end time), ...)


def parse_office_hours(text: str) -> OfficeHours:
    """Parse "Mon-Fri 09:00-17:00" (London time); parts separated by ";".

    Days are three-letter English names, single ("Sat"), ranges ("Mon-Fri") or
    lists ("Mon,Wed,Fri"); times are 24-hour HH:MM, the end after the start
    (24:00 for the end of the day). Bank holidays and closure days are not
    part of the text: `in_office_hours` is given them (R19).
    Raises ValueError with what to fix, so the settings page can say it.
    """
    parts = [part.strip().lower() for part in str(text).split(";") if part.strip()]
    if not parts:
        raise ValueError("enter the days and times, for example Mon-Fri 09:00-17:00")
    result = []
    for part in parts:
        match = _HOURS_PART.match(part)
        if not match:
            raise ValueError(f"'{part}' must look like Mon-Fri 09:00-17:00")
        days: set[int] = set()
        for item in match["days"].split(","):
            ends = [name.strip() for name in item.split("-")]
            if any(name not in DAY_NAMES for name in ends):
                raise ValueError(f"'{item.strip()}' is not a day: use Mon, Tue, Wed, Thu, Fri, Sat, Sun")
            first, last = DAY_NAMES.index(ends[0]), DAY_NAMES.index(ends[-1])
            if last < first:
                raise ValueError(f"'{item.strip()}' must run forwards, for example Mon-Fri")
            days.update(range(first, last + 1))
        try:
            start = dt.time(int(match["start"]), int(match["start_m"]))
            # 24:00 is the end of the day, so "Mon-Sun 00:00-24:00" is always open.
            end = dt.time.max if (match["end"], match["end_m"]) == ("24", "00") else dt.time(
                int(match["end"]), int(match["end_m"]))
        except ValueError:
            raise ValueError(f"'{part}' has a time that does not exist; use 24-hour times such as 17:30") from None
        if end <= start:
            raise ValueError(f"'{part}' must end after it starts")
        result.append((frozenset(days), start, end))
    return tuple(result)


def in_office_hours(hours: OfficeHours, now: dt.datetime, closed: frozenset[dt.date] | None = None) -> bool:
    """Whether the naive UTC moment `now` falls within `hours` in London, on a
    day the office is open: never on a day in `closed` (London dates), which
    is England and Wales's bank holidays when not given (R19)."""
    local = to_london(now)
    if local.date() in (bank_holidays() if closed is None else closed):
        return False
    clock = local.time().replace(tzinfo=None)
    return any(local.weekday() in days and start <= clock < end for days, start, end in hours)


@functools.cache
def bank_holidays() -> frozenset[dt.date]:
    """England and Wales's bank holidays, from the list govuk-bank-holidays ships
    (never fetched: the office server may have no way out, and a rule must not
    wait on the network). A new release of the package brings the next years."""
    from govuk_bank_holidays.bank_holidays import BankHolidays

    days = BankHolidays(use_cached_holidays=True).get_holidays(division=BankHolidays.ENGLAND_AND_WALES)
    return frozenset(day["date"] for day in days)


def parse_closure_days(text: str) -> frozenset[dt.date]:
    """The council's own closure days, "2026-12-24, 2026-12-29" (ISO dates,
    separated by commas, semicolons or spaces). Raises ValueError with what to fix."""
    days = set()
    for part in re.split(r"[,;\s]+", str(text).strip()):
        if not part:
            continue
        try:
            days.add(dt.date.fromisoformat(part))
        except ValueError:
            raise ValueError(f"'{part}' is not a date: write dates as 2026-12-24") from None
    return frozenset(days)


def out_of_hours_wording(hours: OfficeHours) -> str:
    """What "out of hours" means for these office hours, for the family's copy:
    "outside Monday to Friday 9am to 5pm, and on bank holidays"."""
    names = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
    parts = []
    for days, start, end in hours:
        ordered = sorted(days)
        if ordered == list(range(ordered[0], ordered[-1] + 1)) and len(ordered) > 2:
            span = f"{names[ordered[0]]} to {names[ordered[-1]]}"
        else:
            span = ", ".join(names[d] for d in ordered)
        finish = "midnight" if end == dt.time.max else time_words(end)
        parts.append(f"{span} {time_words(start)} to {finish}")
    return f"outside {'; '.join(parts)}, and on bank holidays and closure days"


class RuleBroken(Exception):
    """A change the rules do not allow; `errors` maps field names to messages."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


# --- UK mobile numbers (text messages: tracker.notices.texts; the out-of-hours mobile setting) ---
MOBILE_EXAMPLE = "07700 900982"


class TextRefused(Exception):
    """A text cannot go to this number (or cannot go at all); the message is in plain words for the form."""


def mobile_number(text: str) -> str:
    """A UK mobile number as Notify takes it (+447…), from what was typed; TextRefused in plain words.

    Spaces, dashes, brackets and dots are ignored, and +44, 0044, 44 or 0 may start it
    ("+44 (0)7700 900982" too). A landline, or anything else, is refused: a text cannot reach it.
    """
    typed = (text or "").strip()
    if not typed:
        raise TextRefused("Enter the mobile number to send the text message to")
    digits = re.sub(r"[\s().\-\u2010-\u2015]", "", typed.replace("(0)", ""))
    if digits.startswith("+"):
        digits = digits[1:]
        if not digits.startswith("44"):
            raise TextRefused(f"Enter a UK mobile number, like {MOBILE_EXAMPLE}: text messages go to UK mobiles only")
    elif digits.startswith("0044"):
        digits = digits[2:]
    if not digits.isdigit():
        raise TextRefused(f"Enter a mobile number using only numbers, like {MOBILE_EXAMPLE}")
    if digits.startswith("44"):
        national = digits[2:]
    elif digits.startswith("0"):
        national = digits[1:]
    else:
        raise TextRefused(f"Enter a UK mobile number, like {MOBILE_EXAMPLE}")
    if not national.startswith("7"):
        raise TextRefused(f"Enter a mobile number, like {MOBILE_EXAMPLE}: a landline cannot receive a text message")
    if len(national) != 10:
        raise TextRefused(f"Enter a UK mobile number with 11 digits, like {MOBILE_EXAMPLE}")
    return f"+44{national}"
