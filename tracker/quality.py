"""Quality checks before endorsement (R6, R7, R8a), in the guidance's own words.

`checks(agreement, now)` returns every check with whether it passes, so the
record page can show a checklist; endorsement is blocked while one fails
unless the manager records a reason.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from tracker import rules, settings
from tracker.models import Agreement
from tracker.records import children_of, live_actions, live_recipients, next_review


@dataclass(frozen=True)
class Check:
    key: str
    title: str
    guidance: str
    passed: bool
    detail: str = ""


def jargon_in(text: str, words: list[str]) -> list[str]:
    found = []
    for word in words:
        if re.search(rf"(?<![A-Za-z0-9]){re.escape(word)}(?![A-Za-z0-9])", text):
            found.append(word)
    return found


def checks(agreement: Agreement, now: dt.datetime) -> list[Check]:
    actions = live_actions(agreement)
    children = children_of(agreement)
    recipients = live_recipients(agreement)
    result: list[Check] = []

    missing = [str(i + 1) for i, a in enumerate(actions) if not a.who.strip() or not (a.timescale.strip() or a.due_on)]
    if agreement.kind == "undertaking":
        missing = [str(i + 1) for i, a in enumerate(actions) if not a.who.strip()]
    result.append(Check(
        "actions_who_when",
        "Every action says who and by when",
        "Clarify timescales for specific work or planned actions.",
        bool(actions) and not missing,
        f"Action {', '.join(missing)} needs who is responsible and a timescale" if missing else ("No actions yet" if not actions else ""),
    ))

    written = {"purpose": agreement.purpose, "if things go wrong": agreement.if_things_go_wrong}
    if agreement.kind == "partnership":
        written["contingency plan"] = agreement.contingency
    blank = [name for name, text in written.items() if not (text or "").strip()]
    result.append(Check(
        "written",
        "Purpose, consequences and contingency are written",
        "Establish clarity about the consequences of success and failure of planned actions; clarify what any contingency plan(s) is/are.",
        not blank,
        f"Write the {', '.join(blank)}" if blank else "",
    ))

    if agreement.kind == "partnership":
        review = next_review(agreement)
        months = settings.get("review_policy_months")
        start = agreement.completed_on or rules.london_date(now)
        within = review is not None and review.scheduled_at.date() <= rules.add_months(start, months)
        result.append(Check(
            "review_in_policy",
            f"The review is within {months} months",
            "Explain how long the agreement should be adhered to and when it will be reviewed.",
            within,
            "" if within else ("No review is set" if review is None else f"The review is more than {months} months after the agreement was completed"),
        ))
        sides = {a.side for a in actions}
        result.append(Check(
            "balanced",
            "Both family and professional commitments",
            "Balanced - clarify everyone's full undertakings.",
            {"family", "professional"} <= sides,
            "" if {"family", "professional"} <= sides else "Add what the professionals will do as well as the family",
        ))
        result.append(Check(
            "child_views",
            "The child's views are recorded",
            "A partnership agreement should always include the parents/carers and child's views.",
            bool(agreement.child_views.strip()),
            "" if agreement.child_views.strip() else "Record the child's views, or why they could not be given",
        ))

    under_five = [c for c in children if rules.age_on(c.date_of_birth, rules.london_date(now)) < 5]
    has_hv = any(r.agency_kind == "health_visiting" for r in recipients)
    result.append(Check(
        "health_visiting",
        "Health visiting has a copy when a child is under 5",
        "The health visiting service should always be provided with a copy of any agreement where there is a child under school age.",
        not under_five or has_hv,
        "" if (not under_five or has_hv) else "Add the health visiting service to the distribution list",
    ))

    words = settings.get("jargon")
    text = " ".join([agreement.purpose, agreement.if_things_go_wrong, agreement.contingency, agreement.duration,
                     *(a.what for a in actions), *(a.who for a in actions), *(a.timescale for a in actions)])
    found = jargon_in(text, words)
    result.append(Check(
        "plain_language",
        "Plain language, without jargon or acronyms",
        "Written in clear language without jargon or acronyms.",
        not found,
        f"Explain or replace: {', '.join(found)}" if found else "",
    ))

    # Before endorsement, "now" stands for the endorsement about to be made.
    endorsed_day = rules.london_date(agreement.endorsed_at or now)
    late = agreement.issued_on is not None and endorsed_day > agreement.issued_on
    result.append(Check(
        "endorsed_before_issue",
        "Endorsed before the family received it",
        "The use of such agreements should always be endorsed by a Team Manager.",
        not late,
        "The endorsement is dated after the family received their copy" if late else "",
    ))
    return result


def failing_checks(agreement: Agreement, now: dt.datetime) -> list[Check]:
    return [c for c in checks(agreement, now) if not c.passed]
