"""A message that cannot be delivered becomes a task (R18): its words, by cause.

Delivery marks a row failed on a permanent refusal (5xx, an address that does
not exist) or when its retries are exhausted; a text message (jobs.texting) when
Notify refuses it, or its status read back says it was not delivered. The record page, the responsible
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
    # Text messages (jobs.texting): Notify's refusal at sending, or the status it gave back.
    ("text_refused", "GOV.UK Notify refused to send the text message to that number"),
    ("text_failed", "the mobile number does not exist or cannot take text messages"),
    ("text_phone_off", "the phone did not accept the text message for 72 hours"),
    ("text_gave_up", "GOV.UK Notify did not accept the text message after repeated tries"),
    ("text_not_set_up", "text messages are not set up for this service"),
    ("text_key", "GOV.UK Notify did not accept the service's API key (NOTIFY_API_KEY)"),
)
CAUSE_WORDS = dict(CAUSES)
FIX = "correct the address and send again"


def cause(last_error: str) -> str:
    """The key of what went wrong, from the error delivery kept."""
    text = last_error or ""
    if text.startswith("Text message refused: 403"):
        return "text_key"
    if text.startswith("Text message refused"):
        return "text_refused"
    if text.startswith("Text message not delivered (permanent-failure)"):
        return "text_failed"
    if text.startswith("Text message not delivered"):
        return "text_phone_off"
    if text.startswith("Not sent: text messages are not set up"):
        return "text_not_set_up"
    if text.startswith("Gave up after") and ": Text message" in text:
        return "text_gave_up"
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
