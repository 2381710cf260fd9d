"""The new partnership agreement as a GOV.UK task list (issue 22).

Each section of the record (tracker/records/sections.py) is a page of its own,
saved on its own; the task list says how far each has got and what the quality
checks still want of it; "Check your answers" shows the whole record before it
is sent for endorsement. Everything works without JavaScript. Saving a section
changes only that section's fields: the rest of the record is passed on as it
is, so nothing typed elsewhere is dropped (R15). An undertaking, written in
hours, and an active record, whose changes are a variation, keep the one-page form.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from tracker import models, rules
from tracker.clock import utcnow
from tracker.models import Agreement
from tracker.people.access import get_agreement, require
from tracker.records import drafting, lifecycle, sections, versions
from tracker.records.quality import failing_checks
from tracker.web.forms import AgreementForm
from tracker.web.once import AlreadySent, new_key, once
from tracker.web.views import drafts
from tracker.web.views.agreements import _offer_directory, _render_form, _row_operation, _viewed, _worker_choices

bp = Blueprint("tasks", __name__, url_prefix="/agreements")
KIND = "partnership"
IN_TASKS = ("draft", "returned")  # a record not yet in force; an active one changes by a variation


@bp.before_request
@login_required
def _signed_in() -> None:
    """Every page here needs a signed-in user."""


def _record(agreement_id: int, action: str = "edit") -> Agreement:
    agreement = get_agreement(agreement_id, action)
    if agreement.kind != KIND or agreement.status not in IN_TASKS:
        abort(404)
    return agreement


def _progress(agreement: Agreement | None) -> list[dict]:
    """Each section with its status and what the checks still want of it."""
    data = drafting.form_data(agreement) if agreement is not None else {}
    failing = failing_checks(agreement, utcnow()) if agreement is not None else []
    problems = lifecycle.completeness(agreement) if agreement is not None else {}
    return [{"section": s, "status": sections.status(s, data, failing, problems),
             "wanted": sections.wanted(s, failing, problems) if sections.started(s, data) else []}
            for s in sections.of_kind(KIND)]


@bp.route("/new/tasks")
def new_tasks():
    require("create")
    return render_template("agreements/tasks.html", agreement=None, progress=_progress(None), whole=[],
                           ready=False)


@bp.route("/<int:agreement_id>/tasks")
def tasks(agreement_id: int):
    agreement = _record(agreement_id)
    _viewed(agreement, "viewed_task_list")
    progress = _progress(agreement)
    whole = sections.whole_record(failing_checks(agreement, utcnow()))
    return render_template("agreements/tasks.html", agreement=agreement, progress=progress, whole=whole,
                           ready=not lifecycle.completeness(agreement))


def _section_valid(form: AgreementForm, section: sections.Section) -> bool:
    """Validate only the fields this section asks, with the form's own inline checks (validate_<name>)."""
    ok = True
    for name in ("csrf_token", *section.fields):
        field = form._fields.get(name)
        if field is None:
            continue
        inline = getattr(type(form), f"validate_{name}", None)
        if not field.validate(form, [inline] if inline else []):
            ok = False
    return ok


def _section_page(agreement: Agreement | None, name: str):
    section = sections.named(KIND, name)
    if section is None:
        abort(404)
    team = agreement.team_id if agreement is not None else current_user.team_id
    restored = None
    if request.method == "GET":
        typed, restored = drafts.restore()
        if typed is not None:
            form = AgreementForm(formdata=typed)
        elif agreement is not None:
            form = AgreementForm(data=drafting.form_data(agreement))
            form.open_on(agreement)
        else:
            form = AgreementForm()
            form.social_worker.data = current_user.id if current_user.role == "social_worker" else None
    else:
        form = AgreementForm()
    form.social_worker.choices = _worker_choices(KIND, team, agreement.social_worker_id if agreement else None)
    _offer_directory(form)
    context = dict(page="agreements/section.html", section=section)
    if request.method == "POST" and _row_operation(form):
        _offer_directory(form)
        return _render_form(form, KIND, agreement, **context)
    if request.method == "POST":
        if not _section_valid(form, section):
            return _render_form(form, KIND, agreement, 400, **context)
        data = drafting.form_data(agreement) if agreement is not None else {
            "social_worker": current_user.id if current_user.role == "social_worker" else None}
        data.update({n: form[n].data for n in section.fields if n in form._fields})

        def save() -> str:
            saved = drafting.save(agreement, KIND, data, current_user, utcnow(), revision=form.revision.data)
            flash(f"{saved.reference}: {section.title.lower()} saved", "success")
            return url_for("tasks.tasks", agreement_id=saved.id)

        try:
            url = save() if agreement is not None else once(form.once_key.data, save)
        except models.Stale:
            changed = versions.changes_since(agreement.id, form.opened_at.data)
            form.open_on(Agreement.get_by_id(agreement.id))
            return _render_form(form, KIND, agreement, 409, changed_since=changed, **context)
        except AlreadySent as sent:
            form.once_key.data = new_key()
            return _render_form(form, KIND, agreement, 409, already_sent=sent.url, **context)
        except rules.RuleBroken as broken:
            for field_name, message in broken.errors.items():
                getattr(form, field_name).errors = [*getattr(form, field_name).errors, message]
            return _render_form(form, KIND, agreement, 400, **context)
        drafts.used()
        return redirect(url, 303)
    return _render_form(form, KIND, agreement, restored=restored, **context)


@bp.route("/new/sections/<name>", methods=["GET", "POST"])
def new_section(name: str):
    require("create")
    return _section_page(None, name)


@bp.route("/<int:agreement_id>/sections/<name>", methods=["GET", "POST"])
def section(agreement_id: int, name: str):
    agreement = _record(agreement_id)
    if request.method == "GET":
        _viewed(agreement, "viewed_edit_page")
    return _section_page(agreement, name)


@bp.app_template_global("section_answers")
def section_answers(section, data):
    return sections.answers(section, data)


@bp.route("/<int:agreement_id>/check")
def check(agreement_id: int):
    """Check your answers: the whole record, section by section, before it goes for endorsement."""
    agreement = _record(agreement_id)
    _viewed(agreement)
    now = utcnow()
    return render_template("agreements/check.html", agreement=agreement, progress=_progress(agreement),
                           data=drafting.form_data(agreement), review=models.next_review(agreement),
                           failing=failing_checks(agreement, now), problems=lifecycle.completeness(agreement),
                           opened_at=now.isoformat())
