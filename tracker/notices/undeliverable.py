"""A message that cannot be delivered becomes a task (R18): its words, by cause.

Delivery marks a row failed on a permanent refusal (5xx, an address that does
not exist) or when its retries are exhausted. The record page, the responsible
worker's dashboard, the manager's digest and the outbox page say what went
wrong in these words, and that the fix is to correct the address and send again.
"""

from __future__ import annotations

# What each kind is, as "did not receive the ..." says it.
WHAT = {
    "report_request": "report request", "report_prompt": "report reminder", "copy_issued": "copy",
    "copy_chase": "reminder to acknowledge their copy", "agency_link": "new link", "review_cancelled": "cancellation",
    "breach_alert": "breach alert", "breach_escalation": "breach escalation", "review_reminder": "review reminder",
    "review_overdue": "overdue review notice", "report_summary": "summary of agency reports",
    "family_link": "link to their own copy", "family_callback": "request for a call back",
    "family_unread": "notice of a copy not yet read",
}

CAUSES = (
    ("refused", "the mail server refused the address"),
    ("gave_up", "the mail server did not accept it after repeated tries"),
    ("header", "the address or subject cannot be written in an email"),
    ("other", "the mail server would not take it"),
)
CAUSE_WORDS = dict(CAUSES)
FIX = "correct the address and send again"


def cause(last_error: str) -> str:
    """The key of what went wrong, from the error delivery kept."""
    text = last_error or ""
    if text.startswith("Gave up after"):
        return "gave_up"
    if "line break" in text:
        return "header"
    if " refused: 5" in text or text.startswith("55"):
        return "refused"
    return "other"


def words(to_label: str, kind: str, last_error: str) -> str:
    """"Jo Bloggs at Riverside Primary did not receive the report request: the mail server refused the address"."""
    name, _, place = (to_label or "").partition(", ")
    who = f"{name} at {place}" if place and kind in WHAT and kind not in ("review_reminder", "review_overdue",
                                                                          "report_summary", "breach_alert",
                                                                          "breach_escalation") else (name or "Someone")
    return f"{who} did not receive the {WHAT.get(kind, 'email')}: {CAUSE_WORDS[cause(last_error)]}"
