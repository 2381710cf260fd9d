"""Mail every server accepts (R18): every line of every kind within RFC 5321, subjects folded by RFC 5322,
sentences kept apart, and a digest of any size delivered to a real SMTP server."""

from __future__ import annotations

import datetime as dt
import re

from jobs import delivery, sweeps
from jobs.delivery import deliver_pending
from tests.conftest import NOW
from tracker.models import Notification
from tracker.notices import mailings


def raw_lines(row: Notification) -> list[bytes]:
    return delivery.build_message(row, delivery.identity({})).as_bytes().split(b"\r\n")


def test_every_kind_at_its_longest_fits_rfc_5321_and_keeps_sentences_apart(people, make_agreement, every_kind_at_length):
    rows = every_kind_at_length(people, make_agreement)
    kinds = {row.kind for row in rows}
    assert {"endorsement_requested", "returned_to_worker", "endorsement_escalation", "digest",
            "report_request", "breach_alert"} <= kinds, kinds
    for row in rows:
        lines = raw_lines(row)
        assert max(len(line) for line in lines) <= 998, (row.kind, max(lines, key=len)[:120])
        subject = next(i for i, line in enumerate(lines) if line.startswith(b"Subject:"))
        assert lines[subject].strip() != b"Subject:", row.kind  # words on the first line
        # "must end by 2 December 2026 at 08:53.Read it": a template's line break eaten by trim_blocks.
        words = re.sub(r"https?://\S+", "", row.body_text)  # a signed link has dots and capitals in it
        joined = re.findall(r"[a-z0-9)][.!?][A-Z][a-z]", words)
        assert not joined, (row.kind, joined, row.body_text)


def test_agency_emails_do_not_send_the_agency_to_a_sign_in(people, make_agreement, every_kind_at_length):
    for row in every_kind_at_length(people, make_agreement):
        if row.recipient_id is not None:
            assert "sign-in" not in row.body_html and "sign-in" not in row.body_text, row.kind
        elif row.to_address.endswith("@council.example"):
            assert "behind sign-in" in row.body_html, row.kind


def test_a_digest_of_200_overdue_items_reaches_a_real_smtp_server(smtp, people, make_agreement):
    agreement = make_agreement(status="active")
    Notification.delete().execute()
    items = {"overdue_reviews": [agreement] * 200, "undertakings_past_end": [], "breaches_unacknowledged": [],
             "missing_reports": []}
    assert mailings.digest(people.north, items, NOW.date(), NOW) == 1
    row = Notification.get()
    assert max(len(line) for line in row.body_html.splitlines()) > 1000  # the line the server refused
    report = deliver_pending(NOW)
    assert report.sent == 1, report.errors
    [email] = smtp.to("manager@council.example")
    html = email.get_body(("html",)).get_content()
    assert html.count(f">{agreement.reference}</a>") == 200
    assert email.get_body(("plain",)).get_content().count(agreement.reference) == 200


def test_a_long_line_refused_by_the_server_would_have_been_a_permanent_failure(smtp, make_agreement):
    """The defect's own path: aiosmtpd answers 500 Line too long to an unencoded long line."""
    make_agreement(status="active")
    Notification.update(body_html="<p>" + "x" * 1200 + "</p>").execute()
    assert deliver_pending(NOW).sent == 1
    assert "x" * 1200 in smtp.messages[0][1].get_body(("html",)).get_content()


def test_sweep_digest_after_many_items_is_delivered(smtp, people, make_agreement):
    """Through the digest sweep itself: eight overdue reviews made a 1,019-character line."""
    for _ in range(9):
        make_agreement(status="active")
    later = dt.datetime(2027, 1, 20, 9, 0)  # every review (15 January) is overdue
    Notification.delete().execute()
    assert sweeps.digests(later) == 1
    assert deliver_pending(later).sent == 1
    [email] = smtp.to("manager@council.example")
    assert "Overdue reviews (9)" in email.get_body(("plain",)).get_content()
