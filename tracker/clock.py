"""Time, in one place. The database holds naive UTC; people read and type
Europe/London. Every conversion between the two goes through here."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


def utcnow() -> dt.datetime:
    """The current UTC time, naive. Only the edges of the app call this."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)


def to_london(value: dt.datetime | None) -> dt.datetime | None:
    """A naive UTC moment as an aware London time (None stays None)."""
    if value is None:
        return None
    return value.replace(tzinfo=dt.timezone.utc).astimezone(LONDON)


def london_date(moment: dt.datetime) -> dt.date:
    """The date in England at a naive UTC moment: "today" for people, not for the server."""
    return to_london(moment).date()


def london_naive(moment: dt.datetime) -> dt.datetime:
    """A naive UTC moment as London's wall-clock time, naive."""
    return to_london(moment).replace(tzinfo=None)


def from_london(day: dt.date, time: dt.time = dt.time(0, 0)) -> dt.datetime:
    """The naive UTC moment at London's `day` and `time` (midnight by default)."""
    return dt.datetime.combine(day, time, tzinfo=LONDON).astimezone(dt.timezone.utc).replace(tzinfo=None)


def as_utc(moment: dt.datetime) -> dt.datetime:
    """A moment typed with or without an offset, as naive UTC; without one it is London time."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=LONDON)
    return moment.astimezone(dt.timezone.utc).replace(tzinfo=None)


def time_words(value: dt.time | dt.datetime) -> str:
    """A wall-clock time in GOV.UK style: 9am, 1:53pm, midday, midnight."""
    if value.hour == 0 and value.minute == 0:
        return "midnight"
    if value.hour == 12 and value.minute == 0:
        return "midday"
    hour = value.hour % 12 or 12
    minutes = f":{value.minute:02d}" if value.minute else ""
    return f"{hour}{minutes}{'am' if value.hour < 12 else 'pm'}"


def moment_words(value: dt.datetime) -> str:
    """A naive UTC moment as people read it: 2 December 2026 at 1:53pm (London time)."""
    local = to_london(value)
    return f"{local:%-d %B %Y} at {time_words(local)}"
