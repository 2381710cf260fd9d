"""The register: record, view, print, submit, endorse and end agreements and undertakings."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from peewee import JOIN

from tracker import audit, htmx, records
from tracker import history as history_words
from tracker.access import get_agreement, require, visible_agreements
from tracker.breaches import timeline as breach_timeline
from tracker.dashboard import children_names
from tracker.db import database
from tracker.forms import AgreementForm, EndForm, EndorseForm, options
from tracker.models import (
    KINDS,
    STATUSES,
    Agreement,
    AgreementChild,
    AuditEvent,
    Child,
    Recipient,
    User,
    utcnow,
)
from tracker.quality import checks
from tracker.readiness import readiness
from tracker.warnings import signs_of

bp = Blueprint("agreements", __name__, url_prefix="/agreements")
PAGE_SIZE = 25
ROW_SECTIONS = {"children": "children", "actions": "actions", "parties": "parties", "recipients": "recipients"}


@bp.before_request
@login_required
def _signed_in() -> None:
    """Every page here needs a signed-in user."""


def _viewed(agreement: Agreement, what: str = "viewed") -> None:
    audit.record(what, user=current_user, agreement=agreement, entity="agreement", entity_id=agreement.id,
                 ip=request.remote_addr or "")


@bp.route("")
def register():
    require("dashboard")
    query = visible_agreements(current_user)
    q = (request.args.get("q") or "").strip()[:100]
    status = request.args.get("status") or ""
    kind = request.args.get("kind") or ""
    worker = request.args.get("worker") or ""
    if q:
        matching = (
            AgreementChild.select(AgreementChild.agreement)
            .join(Child)
            .where(Child.name.contains(q) & AgreementChild.removed_at.is_null())
        )
        query = query.where((Agreement.reference.contains(q)) | (Agreement.id.in_(matching)))
    if status in STATUSES:
        query = query.where(Agreement.status == status)
    if kind in KINDS:
        query = query.where(Agreement.kind == kind)
    if worker.isdigit():
        query = query.where(Agreement.social_worker == int(worker))
    total = query.count()
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, request.args.get("page", 1, type=int) or 1), pages)
    rows = list(
        query.select(Agreement, User)
        .join(User, on=(Agreement.social_worker == User.id), join_type=JOIN.LEFT_OUTER)
        .order_by(Agreement.updated_at.desc(), Agreement.id.desc())
        .paginate(page, PAGE_SIZE)
    )
    names = children_names([a.id for a in rows])
    workers = User.select().where(User.role == "social_worker").order_by(User.name)
    if current_user.role != "service_manager":
        workers = workers.where(User.team == current_user.team_id)
    context = dict(
        rows=rows, names=names, total=total, page=page, pages=pages,
        q=q, status=status, kind=kind, worker=worker, workers=list(workers),
    )
    template = "agreements/_register_table.html" if htmx and htmx.target == "register-results" else "agreements/register.html"
    return render_template(template, **context)


def _worker_choices(kind: str, team_id: int | None) -> list:
    workers = User.select().where(
        (User.team == team_id) & (User.active == True) & (User.role.in_(("social_worker", "team_manager")))  # noqa: E712
    ).order_by(User.name)
    choices = [(w.id, f"{w.name} ({w.role_label.lower()})") for w in workers]
    if kind == "undertaking":
        choices.insert(0, (0, "No social worker named (the front door is contacted)"))
    return options(choices)


def _row_operation(form: AgreementForm) -> bool:
    """Add or remove a repeated row in place; True when the request was one.

    The same buttons work without JavaScript (the page comes back with the row
    added or removed) and with htmx (only that section comes back).
    """
    add = request.form.get("add")
    remove = request.form.get("remove")
    if add in ROW_SECTIONS:
        field = getattr(form, add)
        if len(field.entries) < field.max_entries:
            field.append_entry()
        return True
    if remove and "-" in remove:
        section, _, index = remove.rpartition("-")
        if section in ROW_SECTIONS and index.isdigit():
            field = getattr(form, section)
            entries = [e for e in field.entries if e.id != f"{section}-{index}"]
            if len(entries) >= field.min_entries:
                field.entries = entries
                # So the next row added is named, and anchored, after the last one shown.
                field.last_index = max((int(e.id.rpartition("-")[2]) for e in entries), default=-1)
            return True
    return False


def _render_form(form, kind, agreement=None, status=200):
    section = request.form.get("add") or (request.form.get("remove") or "").rpartition("-")[0]
    context = dict(form=form, kind=kind, agreement=agreement, kind_label=KINDS[kind])
    if request.form.get("add") in ROW_SECTIONS:
        # The row just added takes focus (autofocus), so the page, or htmx's
        # swapped section, comes back at it and not at the top of a long form.
        entries = getattr(form, request.form["add"]).entries
        context["added"] = entries[-1].id if entries else None
    if htmx and section in ROW_SECTIONS:
        return render_template(f"agreements/_{section}.html", **context), status
    return render_template("agreements/form.html", **context), status


def _apply_form(form: AgreementForm, kind: str, agreement: Agreement | None):
    if request.method == "POST" and _row_operation(form):
        return _render_form(form, kind, agreement)
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                saved = records.save(agreement, kind, form.data, current_user, utcnow())
            except records.RuleBroken as broken:
                for name, message in broken.errors.items():
                    getattr(form, name).errors = [*getattr(form, name).errors, message]
                return _render_form(form, kind, agreement, 400)
            flash(f"{saved.reference} saved", "success")
            return redirect(url_for("agreements.show", agreement_id=saved.id))
        return _render_form(form, kind, agreement, 400)
    return _render_form(form, kind, agreement)


@bp.route("/new", methods=["GET", "POST"])
def new():
    require("create")
    kind = request.args.get("kind", "partnership")
    if kind not in KINDS:
        abort(404)
    form = AgreementForm()
    form.social_worker.choices = _worker_choices(kind, current_user.team_id)
    if request.method == "GET":
        form.social_worker.data = current_user.id if current_user.role == "social_worker" else (0 if kind == "undertaking" else None)
        if kind == "undertaking":
            form.legal_advice_taken.data = "no"
    return _apply_form(form, kind, None)


@bp.route("/<int:agreement_id>/edit", methods=["GET", "POST"])
def edit(agreement_id: int):
    agreement = get_agreement(agreement_id, "edit")
    if agreement.status == "ended":
        flash("This record has ended. Its history stays; it cannot be changed.", "info")
        return redirect(url_for("agreements.show", agreement_id=agreement.id))
    if request.method == "GET":
        form = AgreementForm(data=records.form_data(agreement))
    else:
        form = AgreementForm()
    form.social_worker.choices = _worker_choices(agreement.kind, agreement.team_id)
    return _apply_form(form, agreement.kind, agreement)


@bp.route("/<int:agreement_id>")
def show(agreement_id: int):
    agreement = get_agreement(agreement_id, "view")
    _viewed(agreement)
    return render_template(
        "agreements/show.html",
        agreement=agreement,
        children=records.children_of(agreement),
        actions=records.live_actions(agreement),
        parties=records.live_parties(agreement),
        recipients=records.live_recipients(agreement),
        review=records.next_review(agreement),
        reviews=list(agreement.reviews.order_by(agreement.reviews.model.scheduled_at.desc())),
        checks=checks(agreement, utcnow()),
        breaches=breach_timeline(agreement),
        readiness=readiness(agreement, records.next_review(agreement)),
        signs=signs_of(agreement, utcnow()),
        notifications=list(agreement.notifications.order_by(agreement.notifications.model.created_at.desc()).limit(50)),
        end_form=EndForm(),
        endorse_form=EndorseForm(),
    )


@bp.route("/<int:agreement_id>/print")
def printable(agreement_id: int):
    agreement = get_agreement(agreement_id, "view")
    _viewed(agreement, "printed")
    return render_template(
        "agreements/print.html",
        agreement=agreement,
        children=records.children_of(agreement),
        actions=records.live_actions(agreement),
        parties=records.live_parties(agreement),
        recipients=records.live_recipients(agreement),
        review=records.next_review(agreement),
    )


@bp.route("/<int:agreement_id>/submit", methods=["POST"])
def submit(agreement_id: int):
    agreement = get_agreement(agreement_id, "submit")
    try:
        records.submit(agreement, current_user, utcnow())
    except records.RuleBroken as broken:
        flash("Not sent for endorsement: " + "; ".join(broken.errors.values()), "info")
        return redirect(url_for("agreements.show", agreement_id=agreement.id)), 303
    flash(f"{agreement.reference} sent to the team manager for endorsement", "success")
    return redirect(url_for("agreements.show", agreement_id=agreement.id)), 303


@bp.route("/<int:agreement_id>/endorse", methods=["GET", "POST"])
def endorse(agreement_id: int):
    agreement = get_agreement(agreement_id, "endorse")
    form = EndorseForm()
    failing = [c for c in checks(agreement, utcnow()) if not c.passed]
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                records.endorse(agreement, current_user, utcnow(), form.override.data or "")
            except records.RuleBroken as broken:
                for name, message in broken.errors.items():
                    target = getattr(form, name, None) or form.override
                    target.errors = [*target.errors, message]
                status = 400
            else:
                flash(f"{agreement.reference} endorsed and active. Copies have been sent to the distribution list.", "success")
                return redirect(url_for("agreements.show", agreement_id=agreement.id))
        else:
            status = 400
    return render_template("agreements/endorse.html", agreement=agreement, form=form, failing=failing,
                           problems=records.completeness(agreement)), status


@bp.route("/<int:agreement_id>/end", methods=["GET", "POST"])
def end(agreement_id: int):
    agreement = get_agreement(agreement_id, "end")
    form = EndForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                records.end(agreement, current_user, utcnow(), form.reason.data, form.notes.data or "")
            except records.RuleBroken as broken:
                form.reason.errors = [*form.reason.errors, *broken.errors.values()]
                status = 400
            else:
                flash(f"{agreement.reference} has ended. It stays in the register with its history.", "success")
                return redirect(url_for("agreements.show", agreement_id=agreement.id))
        else:
            status = 400
    return render_template("agreements/end.html", agreement=agreement, form=form), status


@bp.route("/<int:agreement_id>/history")
def history(agreement_id: int):
    agreement = get_agreement(agreement_id, "history")
    events = list(
        AuditEvent.select().where(AuditEvent.agreement == agreement).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    )
    _viewed(agreement, "viewed_history")
    return render_template("agreements/history.html", agreement=agreement, events=events,
                           event_label=history_words.event_label, describe_changes=history_words.describe_changes)


@bp.route("/<int:agreement_id>/recipients/<int:recipient_id>/link", methods=["POST"])
def agency_link(agreement_id: int, recipient_id: int):
    """Revoke a distribution entry's agency link, or issue a new one (which is emailed)."""
    agreement = get_agreement(agreement_id, "manage_links")
    recipient = Recipient.get_or_none((Recipient.id == recipient_id) & (Recipient.agreement == agreement)
                                      & Recipient.removed_at.is_null())
    if recipient is None:
        abort(404)
    what = request.form.get("what")
    if what not in ("revoke", "reissue"):
        abort(400)
    now = utcnow()
    with database.atomic():
        if what == "revoke":
            Recipient.update(link_revoked_at=now).where(Recipient.id == recipient.id).execute()
            changes = {"agency_link": ["working", "revoked"]}
        else:
            Recipient.update(link_version=Recipient.link_version + 1, link_revoked_at=None).where(
                Recipient.id == recipient.id).execute()
            changes = {"agency_link": [f"version {recipient.link_version}", f"version {recipient.link_version + 1}"]}
            if agreement.status == "active":
                from tracker import mailings

                mailings.copies_issued(agreement, now, only=Recipient.get_by_id(recipient.id))
        audit.record(f"agency_link_{what}d", user=current_user, agreement=agreement, entity="recipient",
                     entity_id=recipient.id, changes=changes, at=now)
    flash(f"{recipient.name}'s link {'revoked' if what == 'revoke' else 'replaced; the new one has been emailed'}",
          "success")
    return redirect(url_for("agreements.show", agreement_id=agreement.id) + "#distribution"), 303
