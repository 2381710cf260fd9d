"""iCalendar invitations for review meetings (RFC 5545 and the iTIP methods of RFC 5546).

One review keeps one UID for its whole life, so a calendar that accepted the
first invitation updates that same entry when the review moves (SEQUENCE is
raised) and removes it when the review is cancelled (METHOD:CANCEL).

The `icalendar` package writes the text: it escapes commas, semicolons,
backslashes and new lines in text values and folds lines at 75 octets.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

from icalendar import Calendar, Event, vCalAddress

MEETING_LENGTH = dt.timedelta(hours=1)


def uid_for(review_id: int, base_url: str) -> str:
    host = urlsplit(base_url).hostname or "agreement-tracker"
    return f"review-{review_id}@{host}"


def _utc(moment: dt.datetime) -> dt.datetime:
    """A naive UTC time as an aware one, which icalendar writes with a Z."""
    return moment.replace(tzinfo=dt.timezone.utc) if moment.tzinfo is None else moment.astimezone(dt.timezone.utc)


def _text(value: str) -> str:
    # A lone carriage return is a line break to a reader but not to the escaping,
    # which knows CRLF and LF only: say it as LF, which is escaped as \n.
    return value.replace("\r\n", "\n").replace("\r", "\n")


def review_invitation(
    *,
    review_id: int,
    scheduled_at: dt.datetime,
    sequence: int,
    summary: str,
    venue: str,
    description: str,
    organizer: str,
    attendee: str,
    base_url: str,
    now: dt.datetime,
    method: str = "REQUEST",
) -> str:
    """The text of a one-event calendar for a review meeting; times are naive UTC."""
    if method not in ("REQUEST", "CANCEL"):
        raise ValueError(f"unsupported iTIP method {method!r}")
    calendar = Calendar()
    calendar.add("version", "2.0")
    calendar.add("prodid", "-//Agreement tracker//Review meetings//EN")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    event = Event()
    event.add("uid", uid_for(review_id, base_url))
    event.add("sequence", sequence)
    event.add("dtstamp", _utc(now))
    event.add("dtstart", _utc(scheduled_at))
    event.add("dtend", _utc(scheduled_at + MEETING_LENGTH))
    event.add("summary", _text(summary))
    event.add("location", _text(venue))
    event.add("description", _text(description))
    event.add("organizer", vCalAddress(f"mailto:{organizer}"))
    guest = vCalAddress(f"mailto:{attendee}")
    guest.params["ROLE"] = "REQ-PARTICIPANT"
    guest.params["RSVP"] = "FALSE"
    event.add("attendee", guest)
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    calendar.add_component(event)
    return calendar.to_ical().decode("utf-8")


def _plain(value) -> str:
    if isinstance(value, (str, int)):
        return str(value)  # text unescaped, numbers, addresses
    return value.to_ical().decode("utf-8")  # times as written: 20270115T100000Z


def method(text: str) -> str:
    """The calendar's iTIP method (REQUEST or CANCEL), read without parsing the whole
    calendar: delivery asks it of every invitation it sends. METHOD is a property
    of the VCALENDAR itself, a short line of its own before the first component."""
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name.upper() == "METHOD" and value.strip():
            return value.strip().upper()
        if name.upper() == "BEGIN" and value.strip().upper() != "VCALENDAR":
            break
    return "REQUEST"


def parse(text: str) -> dict[str, str]:
    """The properties of a one-event calendar, the calendar's first (for tests and the outbox page)."""
    calendar = Calendar.from_ical(text)
    values: dict[str, str] = {}
    for component in (calendar, *calendar.walk("VEVENT")):
        for name, value in component.property_items(recursive=False):
            if name not in ("BEGIN", "END"):
                values.setdefault(name, _plain(value))
    return values
