"""iCalendar invitations for review meetings (RFC 5545 and the iTIP methods of RFC 5546).

One review keeps one UID for its whole life, so a calendar that accepted the
first invitation updates that same entry when the review moves (SEQUENCE is
raised) and removes it when the review is cancelled (METHOD:CANCEL).
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

MEETING_LENGTH = dt.timedelta(hours=1)


def uid_for(review_id: int, base_url: str) -> str:
    host = urlsplit(base_url).hostname or "agreement-tracker"
    return f"review-{review_id}@{host}"


def _escape(text: str) -> str:
    return (
        text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\r\n", "\\n").replace("\n", "\\n")
    )


def _fold(line: str) -> str:
    """Fold a content line at 75 octets, as RFC 5545 section 3.1 requires."""
    encoded = line.encode("utf-8")
    if len(encoded) <= 75:
        return line
    parts, current = [], b""
    for char in line:
        piece = char.encode("utf-8")
        if len(current) + len(piece) > (75 if not parts else 74):
            parts.append(current.decode("utf-8"))
            current = b""
        current += piece
    parts.append(current.decode("utf-8"))
    return "\r\n ".join(parts)


def _utc(moment: dt.datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%SZ")


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
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Agreement tracker//Review meetings//EN",
        "CALSCALE:GREGORIAN",
        f"METHOD:{method}",
        "BEGIN:VEVENT",
        f"UID:{uid_for(review_id, base_url)}",
        f"SEQUENCE:{sequence}",
        f"DTSTAMP:{_utc(now)}",
        f"DTSTART:{_utc(scheduled_at)}",
        f"DTEND:{_utc(scheduled_at + MEETING_LENGTH)}",
        f"SUMMARY:{_escape(summary)}",
        f"LOCATION:{_escape(venue)}",
        f"DESCRIPTION:{_escape(description)}",
        f"ORGANIZER:mailto:{organizer}",
        f"ATTENDEE;ROLE=REQ-PARTICIPANT;RSVP=FALSE:mailto:{attendee}",
        f"STATUS:{'CANCELLED' if method == 'CANCEL' else 'CONFIRMED'}",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "\r\n".join(_fold(line) for line in lines) + "\r\n"


def parse(text: str) -> dict[str, str]:
    """Unfold and read the properties of a one-event calendar (for tests and the outbox page)."""
    unfolded = text.replace("\r\n ", "").replace("\n ", "")
    values: dict[str, str] = {}
    for line in unfolded.splitlines():
        if ":" in line:
            name, _, value = line.partition(":")
            values.setdefault(name.split(";")[0], value)
    return values
