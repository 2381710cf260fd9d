"""Pages for partner agencies, reached through their signed link; no account.

These pages never read or set a staff session, never link to a staff page,
and are rate limited per address and per link (tracker/web/ratelimit.py). Every use is an audit event naming the
distribution entry. The agency reads the version in force in full (the
Agreement row and its live rows), prints it, or downloads it as a PDF.

A tampered or unknown link reads only "This link does not work". A genuine
link that has stopped (tracker.agencies.links) offers "Email me a new link".
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, g, redirect, render_template, request, url_for

from tracker import audit, models, rules
from tracker.agencies import links, tokens
from tracker.agencies.agency_copy import copy_context, pdf_of
from tracker.clock import utcnow
from tracker.db import database
from tracker.ids import safe_filename
from tracker.models import AgencyReport, Breach, Recipient
from tracker.records import breaches
from tracker.web import ratelimit
from tracker.web.forms import AgencyReportForm, BreachForm
from tracker.web.once import AlreadySent, new_key, once
from tracker.web.views.breaches import form_data, prepare

bp = Blueprint("agency", __name__, url_prefix="/a")

# Asking for a new link, per address per hour. The key of the email it sends
# also limits each entry to one new-link email an hour.
NEW_LINK_LIMIT = 5


ratelimit.agency_links(bp)


@bp.before_request
def _resolve():
    token = (request.view_args or {}).get("token", "")
    g.now = utcnow()
    link = tokens.check(token, g.now)
    if link.recipient is None:
        return render_template("agency/refused.html"), 404
    g.recipient, g.agreement, g.stopped = link.recipient, link.agreement, link.stopped
    if link.stopped and request.endpoint != "agency.new_link":
        audit.record("agency_stopped_link_opened", actor=breaches.agency_actor(g.recipient), agreement=g.agreement,
                     entity="recipient", entity_id=g.recipient.id,
                     changes={"link": [None, f"refused: {tokens.STOPPED[link.stopped]}"]},
                     ip=request.remote_addr or "", at=g.now)
        return render_template("agency/stopped.html", token=token), 410


def _used(action: str, changes: dict | None = None) -> None:
    audit.record(action, actor=breaches.agency_actor(g.recipient), agreement=g.agreement, entity="recipient",
                 entity_id=g.recipient.id, changes=changes, ip=request.remote_addr or "", at=g.now)


def _context(**extra) -> dict:
    agreement = g.agreement
    review = models.next_review(agreement)
    latest = None
    if review is not None:
        latest = (AgencyReport.select().where((AgencyReport.review == review) & (AgencyReport.recipient == g.recipient))
                  .order_by(AgencyReport.submitted_at.desc()).first())
    context = copy_context(agreement, g.recipient, g.now)
    return dict(context, latest=latest, token=request.view_args["token"], **extra)


@bp.route("/<token>")
def index(token: str):
    _used("agency_link_opened")
    return render_template("agency/index.html", **_context())


@bp.route("/<token>/copy.pdf")
def download(token: str):
    """The agency's copy as a PDF, to save or print and place on the child's file."""
    context = _context()
    _used("agency_copy_downloaded")
    response = Response(pdf_of(context), mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{safe_filename(g.agreement.reference)}.pdf"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/<token>/new-link", methods=["GET", "POST"])
def new_link(token: str):
    """Email a new link to the address on the distribution list, never elsewhere.

    The page says the same whether or not anything was sent, so it tells a
    holder of an old link nothing about the entry.
    """
    if not g.stopped:
        return redirect(url_for("agency.index", token=token))
    if request.method == "GET":
        if request.args.get("sent"):
            return render_template("agency/new_link_sent.html", token=token)
        return redirect(url_for("agency.index", token=token))
    limit = current_app.config.get("AGENCY_NEW_LINK_LIMIT", NEW_LINK_LIMIT)
    if not ratelimit.allow("agency-new-link", request.remote_addr or "?", limit, 3600):
        abort(429)
    with database.atomic():
        links.send_new_link(g.recipient, g.agreement, g.now, ip=request.remote_addr or "")
    # Answered with a redirect, like every POST, so a refresh does not ask again.
    return redirect(url_for("agency.new_link", token=token, sent=1))


@bp.route("/<token>/acknowledge", methods=["POST"])
def acknowledge(token: str):
    if g.recipient.acknowledged_at is None:
        now = g.now
        with database.atomic():
            Recipient.update(acknowledged_at=now, chase_at=None).where(
                (Recipient.id == g.recipient.id) & Recipient.acknowledged_at.is_null()).execute()
            _used("copy_acknowledged", {"acknowledged_at": [None, now],
                                        "statement": [None, "I have received my copy and placed it on the child's file"]})
    return redirect(url_for("agency.index", token=token, done="acknowledged"))


@bp.route("/<token>/report", methods=["GET", "POST"])
def report(token: str):
    context = _context()
    if context["review"] is None:
        _used("agency_link_opened")
        return render_template("agency/index.html", **context, message="No review is planned, so there is nothing to send yet.")
    form = AgencyReportForm()
    if request.method == "POST":
        if form.validate_on_submit():
            def send() -> str:
                _send_report(form, context["review"])
                return url_for("agency.index", token=token, done="report")

            try:
                return redirect(once(form.once_key.data, send))
            except AlreadySent as sent:
                form.once_key.data = new_key()
                return render_template("agency/report.html", form=form, already_sent=sent.url, **context), 409
        return render_template("agency/report.html", form=form, **context), 400
    _used("agency_report_form_viewed")
    return render_template("agency/report.html", form=form, **context)


def _send_report(form: AgencyReportForm, review) -> None:
    """Save an agency's report, and take it as acknowledging the copy."""
    now = g.now
    with database.atomic():
        sent = AgencyReport.create(review=review, recipient=g.recipient,
                                   nothing_to_share=form.kind.data == "nothing",
                                   body=(form.body.data or "").strip() if form.kind.data == "report" else "",
                                   submitted_at=now, submitted_via="link")
        if g.recipient.acknowledged_at is None:
            # Sending a report shows the copy arrived.
            Recipient.update(acknowledged_at=now, chase_at=None).where(Recipient.id == g.recipient.id).execute()
        _used("agency_report_sent", {"report": [None, "nothing to share" if sent.nothing_to_share else "written report"]})


@bp.route("/<token>/breach", methods=["GET", "POST"])
def breach(token: str):
    reporter = f"{g.recipient.name}, {g.recipient.agency_name}"
    form = prepare(BreachForm(), g.agreement, reported_by=reporter)
    if request.method == "POST":
        if form.validate_on_submit():
            def log() -> str:
                logged = breaches.log(g.agreement, form_data(form), g.now, recipient=g.recipient)
                return url_for("agency.breach_logged", token=token, breach_id=logged.id)

            try:
                # Answered with a redirect, so a refresh cannot send it again.
                return redirect(once(form.once_key.data, log))
            except AlreadySent as sent:
                form.once_key.data = new_key()
                return render_template("agency/breach.html", form=form, already_sent=sent.url, **_context()), 409
            except rules.RuleBroken as broken:
                for name, message in broken.errors.items():
                    getattr(form, name).errors = [*getattr(form, name).errors, message]
        return render_template("agency/breach.html", form=form, **_context()), 400
    _used("agency_breach_form_viewed")
    return render_template("agency/breach.html", form=form, **_context())


@bp.route("/<token>/breach/<int:breach_id>")
def breach_logged(token: str, breach_id: int):
    logged = Breach.get_or_none((Breach.id == breach_id) & (Breach.recipient == g.recipient.id))
    if logged is None:
        return render_template("agency/refused.html"), 404
    _used("agency_breach_viewed", {"breach": [None, logged.id]})
    return render_template("agency/breach_logged.html", breach=logged, **_context())
