"""The agency's copy: the version in force, in full, as a page and as a PDF.

The Agreement row and its live rows are the version in force (a variation
waits elsewhere until it is endorsed), so the copy is read from them. The
page and the PDF include the same template (`agency/_copy.html`), so what
an agency prints, downloads and reads on screen is the same text.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from flask import render_template

from tracker import models, settings
from tracker.agencies import tokens
from tracker.models import Action, Agreement, Recipient, User
from tracker.notices.notify import initials


@dataclass
class ActionGroup:
    """The actions one person or service is responsible for, numbered as in the agreement."""

    who: str
    actions: list[tuple[int, Action]] = field(default_factory=list)


def by_who(actions: list[Action]) -> list[ActionGroup]:
    """Group the actions by who does them, in the order each name first appears."""
    groups: dict[str, ActionGroup] = {}
    for number, action in enumerate(actions, start=1):
        who = " ".join(action.who.split()) or "Not named"
        group = groups.setdefault(who.casefold(), ActionGroup(who))
        group.actions.append((number, action))
    return list(groups.values())


def copy_context(agreement: Agreement, recipient: Recipient, now: dt.datetime) -> dict:
    """Everything the agency's copy shows."""
    actions = models.live_actions(agreement)
    worker = User.get_or_none(User.id == agreement.social_worker_id) if agreement.social_worker_id else None
    endorser = User.get_or_none(User.id == agreement.endorsed_by_id) if agreement.endorsed_by_id else None
    return dict(
        agreement=agreement,
        recipient=recipient,
        initials=initials(agreement),
        children=models.children_of(agreement),
        actions=actions,
        groups=by_who(actions),
        parties=models.live_parties(agreement),
        distribution=models.live_recipients(agreement),
        review=models.next_review(agreement),
        worker=worker,
        worker_phone=models.worker_telephone(agreement, worker),
        endorser=endorser,
        version=agreement.version,
        contacts=settings.contacts(),
        link_expires_at=tokens.expires_at(recipient, agreement),
        generated_at=now,
    )


def pdf_of(context: dict) -> bytes:
    """The copy as a PDF, made with WeasyPrint from the same template as the page.

    Nothing is fetched while rendering: the template carries its own styles,
    and any URL in the text (all of it escaped) is refused.
    """
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    html = render_template("agency/copy_pdf.html", **context)
    return HTML(string=html, url_fetcher=URLFetcher(allowed_protocols=())).write_pdf()
