"""Review invitations and cancellations, as a calendar reads them (RFC 5545).

Any text a worker can type (long, any script, commas, semicolons, backslashes,
new lines of every kind) comes back unchanged through the icalendar parser, and
no line of the file is longer than 75 octets.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar import Calendar

from tracker.notices import ics

# Text as the forms take it: any printable character, and the breaks a textarea sends.
typed = st.text(
    alphabet=st.one_of(
        st.characters(blacklist_categories=("Cs", "Cc")),
        st.sampled_from([",", ";", "\\", ":", '"', "\n", "\r", "\t", "é", "ł", "中", "😀"]),
    ),
    max_size=400,
)
moment = st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2040, 1, 1)).map(
    lambda m: m.replace(microsecond=0))
BOUNDED = settings(max_examples=60, deadline=None, derandomize=True, database=None)


def _typed_back(text: str) -> str:
    """A calendar knows one line break; a typed CR LF or lone CR is read back as LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


@BOUNDED
@given(summary=typed, venue=typed, description=typed, when=moment, now=moment,
       sequence=st.integers(0, 10_000), method=st.sampled_from(["REQUEST", "CANCEL"]),
       review_id=st.integers(1, 2**31 - 1))
def test_any_typed_text_is_read_back_and_no_line_is_over_75_octets(
        summary, venue, description, when, now, sequence, method, review_id):
    text = ics.review_invitation(
        review_id=review_id, scheduled_at=when, sequence=sequence, summary=summary, venue=venue,
        description=description, organizer="tracker@council.test", attendee="school@agency.test",
        base_url="https://tracker.test", now=now, method=method)

    assert text.endswith("\r\n")
    lines = text.split("\r\n")[:-1]
    assert all("\r" not in line and "\n" not in line for line in lines)
    too_long = [line for line in lines if len(line.encode("utf-8")) > 75]
    assert not too_long, too_long

    calendar = Calendar.from_ical(text)
    assert str(calendar["METHOD"]) == method
    (event,) = calendar.walk("VEVENT")
    assert str(event["SUMMARY"]) == _typed_back(summary)
    assert str(event["LOCATION"]) == _typed_back(venue)
    assert str(event["DESCRIPTION"]) == _typed_back(description)
    assert str(event["UID"]) == f"review-{review_id}@tracker.test"
    assert int(event["SEQUENCE"]) == sequence
    assert str(event["STATUS"]) == ("CANCELLED" if method == "CANCEL" else "CONFIRMED")
    start = event.decoded("DTSTART")
    assert start == when.replace(tzinfo=dt.timezone.utc)
    assert event.decoded("DTEND") - start == ics.MEETING_LENGTH
    attendee = event["ATTENDEE"]
    assert str(attendee) == "mailto:school@agency.test" and attendee.params["RSVP"] == "FALSE"

    # The project's own reader (the delivery job and the outbox use it) says the same.
    read = ics.parse(text)
    assert read["METHOD"] == method and read["SUMMARY"] == _typed_back(summary)
    assert read["SEQUENCE"] == str(sequence) and read["UID"] == str(event["UID"])
