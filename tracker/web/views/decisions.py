"""Decisions on an undertaking past, or near, its end: a manager extends it (R4).

Ending or replacing it is the register's End page; this page is the third
decision that stops the escalation ladder.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from tracker import audit, models
from tracker.clock import utcnow
from tracker.people.access import get_agreement
from tracker.records.decisions import extend_undertaking
from tracker.rules import RuleBroken
from tracker.web.fields import DateTimeField
from tracker.web.forms import Guarded, long_text

bp = Blueprint("decisions", __name__, url_prefix="/agreements")


class ExtendForm(Guarded):
    new_end = DateTimeField("Undertaking must now end by",
                            required="Enter the date and time the undertaking must now end by")
    reason = long_text("Why it needs longer")


@bp.route("/<int:agreement_id>/extend", methods=["GET", "POST"])
@login_required
def extend(agreement_id: int):
    agreement = get_agreement(agreement_id, "extend")
    form = ExtendForm()
    status, changed_since = 200, None
    if not form.is_submitted():
        form.open_on(agreement)
        audit.viewed(agreement, "viewed_extend_page", user=current_user, ip=request.remote_addr or "")
    if form.validate_on_submit():
        try:
            extend_undertaking(agreement, current_user, form.new_end.data, form.reason.data or "", utcnow(),
                               revision=form.revision.data)
        except models.Stale:
            from tracker.web.views.agreements import stale

            changed_since = stale(form, agreement.id)
            agreement = agreement.get_by_id(agreement.id)
        except RuleBroken as exc:
            for name, message in exc.errors.items():
                getattr(form, name).errors = [message]
        else:
            flash(f"{agreement.reference} has been extended; its reminders start again from the new end", "success")
            return redirect(url_for("agreements.show", agreement_id=agreement.id))
    if form.is_submitted():
        status = 409 if changed_since is not None else 400
    return render_template("decisions/extend.html", agreement=agreement, form=form, changed_since=changed_since), status
