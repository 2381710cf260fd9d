"""Logging a breach (staff), and a manager's acknowledgement and amendments."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from tracker import audit, models, rules, settings
from tracker.clock import utcnow
from tracker.models import Agreement, AgreementChild, Breach, Child
from tracker.people.access import get_agreement, require, visible_agreements
from tracker.records import breaches
from tracker.web.extensions import htmx
from tracker.web.forms import AcknowledgeForm, AmendForm, BreachForm, options
from tracker.web.once import AlreadySent, new_key, once
from tracker.web.views import drafts

bp = Blueprint("breaches", __name__)


@bp.before_request
@login_required
def _signed_in() -> None:
    """Every page here needs a signed-in user."""


def _viewed(agreement: Agreement, what: str, breach: Breach | None = None) -> None:
    """Every page here shows a child's record or a breach of it: each view is audited."""
    audit.viewed(agreement, what, user=current_user, ip=request.remote_addr or "",
                 changes={"breach": [None, breach.id]} if breach is not None else None)


def action_choices(agreement: Agreement) -> list:
    choices = [(str(a.id), f"{i}. {a.what[:140]}") for i, a in enumerate(models.live_actions(agreement), start=1)]
    return options(choices + [("0", "Something else")])


def prepare(form: BreachForm, agreement: Agreement, reported_by: str = "", restored=None) -> BreachForm:
    form.action.choices = action_choices(agreement)
    if request.method == "GET" and restored is None:
        form.occurred_at.process(None, utcnow())
        if reported_by:
            form.reported_by.data = reported_by
    return form


def form_data(form: BreachForm) -> dict:
    description = form.description.data or ""
    if getattr(form, "unreadable_time", ""):
        description = f"{description}\n(When it happened, as typed: {form.unreadable_time})".strip()
    return {
        "occurred_at": form.occurred_at.data,
        "description": description,
        # Only one of the record's own actions; anything else is "something else".
        "action": form.action.data if form.action.data in {c.value for c in form.action.choices} - {"0"} else None,
        "term": form.term.data,
        "reported_by": form.reported_by.data,
        "immediate_risk": form.immediate_risk.data == "yes",
    }


@bp.route("/breaches/new")
def find():
    """Find the record a breach is about, by child's name or reference."""
    require("log_breach")
    q = (request.args.get("q") or "").strip()[:100]
    results = []
    if q:
        matching = (
            AgreementChild.select(AgreementChild.agreement).join(Child)
            .where(Child.name.contains(q) & AgreementChild.removed_at.is_null())
        )
        results = list(
            visible_agreements(current_user)
            .where((Agreement.status == "active") & (Agreement.reference.contains(q) | Agreement.id.in_(matching)))
            .order_by(Agreement.reference)
            .limit(20)
        )
    from tracker.oversight.dashboard import children_names

    context = dict(q=q, results=results, names=children_names([a.id for a in results]))
    if htmx and htmx.target == "breach-results":
        return render_template("breaches/_results.html", **context)
    return render_template("breaches/find.html", **context)


@bp.route("/agreements/<int:agreement_id>/breaches/new", methods=["GET", "POST"])
def new(agreement_id: int):
    agreement = get_agreement(agreement_id, "log_breach_on")
    if agreement.status != "active":
        contacts = settings.contacts()
        flash(f"This record has ended. Call the {contacts['front_door_term'].lower()} on {contacts['front_door_phone']} "
              "to report a concern.", "info")
        return redirect(url_for("agreements.show", agreement_id=agreement.id))
    typed, restored = drafts.restore() if request.method == "GET" else (None, None)
    form = prepare(BreachForm(formdata=typed) if typed is not None else BreachForm(), agreement, restored=restored)
    if request.method == "POST":
        if form.validate_on_submit():
            def log() -> str:
                breach = breaches.log(agreement, form_data(form), utcnow(), user=current_user)
                return url_for("breaches.logged", breach_id=breach.id)

            try:
                url = once(form.once_key.data, log)
                drafts.used()
            except AlreadySent as sent:
                form.once_key.data = new_key()
                return render_template("breaches/new.html", agreement=agreement, form=form, already_sent=sent.url), 409
            except rules.RuleBroken as broken:
                for name, message in broken.errors.items():
                    getattr(form, name).errors = [*getattr(form, name).errors, message]
            else:
                return redirect(url)
        return render_template("breaches/new.html", agreement=agreement, form=form), 400
    _viewed(agreement, "viewed_breach_form")
    return render_template("breaches/new.html", agreement=agreement, form=form, restored=restored)


@bp.route("/breaches/<int:breach_id>")
def logged(breach_id: int):
    breach = Breach.get_or_none(Breach.id == breach_id) or abort(404)
    agreement = get_agreement(breach.agreement_id, "view")
    _viewed(agreement, "viewed_breach", breach)
    return render_template("breaches/logged.html", breach=breach, agreement=agreement,
                           out_of_hours=not settings.in_office_hours(breach.created_at))


@bp.route("/breaches/<int:breach_id>/acknowledge", methods=["GET", "POST"])
def acknowledge(breach_id: int):
    breach = Breach.get_or_none(Breach.id == breach_id) or abort(404)
    agreement = get_agreement(breach.agreement_id, "acknowledge")
    form = AcknowledgeForm()
    seen = request.form.get("seen", "")
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                breaches.acknowledge(breach, current_user, form.response.data, form.response_notes.data or "", utcnow(),
                                     seen=int(seen) if seen.isdigit() and len(seen) < 10 else None)
            except breaches.AmendedSince as amended:
                # The page showed an older account of the breach: show the correction, keep the typing.
                changed = [{"at": a.created_at, "who": a.created_by.name if a.created_by_id else "someone",
                            "what": "Correction added", "lines": [a.text]} for a in amended.amendments]
                return render_template("breaches/acknowledge.html", breach=breach, agreement=agreement, form=form,
                                       changed_since=changed, seen=breaches.latest_amendment(breach)), 409
            except rules.RuleBroken as broken:
                # The breach's own state is the check (R12): acknowledged by someone
                # else since the page opened. Show whose response stands, keep the typing.
                current = Breach.get_by_id(breach.id)
                if current.acknowledged_at is not None:
                    who = current.acknowledged_by.name if current.acknowledged_by_id else "someone"
                    changed = [{"at": current.acknowledged_at, "who": who, "what": "Breach acknowledged",
                                "lines": [f"Response: {breaches.RESPONSES.get(current.response, current.response)}",
                                          *([f"Notes: {current.response_notes}"] if current.response_notes else [])]}]
                    return render_template("breaches/acknowledge.html", breach=current, agreement=agreement, form=form,
                                           changed_since=changed, seen=breaches.latest_amendment(current)), 409
                form.response.errors = [*form.response.errors, *broken.errors.values()]
            else:
                flash("Breach acknowledged and the response recorded", "success")
                return redirect(url_for("agreements.show", agreement_id=agreement.id) + f"#breach-{breach.id}")
        return render_template("breaches/acknowledge.html", breach=breach, agreement=agreement, form=form,
                               seen=seen), 400
    _viewed(agreement, "viewed_breach_acknowledge_page", breach)
    return render_template("breaches/acknowledge.html", breach=breach, agreement=agreement, form=form,
                           seen=breaches.latest_amendment(breach))


@bp.route("/breaches/<int:breach_id>/amend", methods=["GET", "POST"])
def amend(breach_id: int):
    breach = Breach.get_or_none(Breach.id == breach_id) or abort(404)
    agreement = get_agreement(breach.agreement_id, "log_breach_on")
    form = AmendForm()
    if request.method == "POST":
        if form.validate_on_submit():
            def add() -> str:
                breaches.amend(breach, form.text.data, current_user, utcnow())
                flash("Amendment added. The original stays beside it.", "success")
                return url_for("agreements.show", agreement_id=agreement.id) + f"#breach-{breach.id}"

            try:
                return redirect(once(form.once_key.data, add))
            except AlreadySent as sent:
                form.once_key.data = new_key()
                return render_template("breaches/amend.html", breach=breach, agreement=agreement, form=form,
                                       already_sent=sent.url), 409
        return render_template("breaches/amend.html", breach=breach, agreement=agreement, form=form), 400
    _viewed(agreement, "viewed_breach_amend_page", breach)
    return render_template("breaches/amend.html", breach=breach, agreement=agreement, form=form)
