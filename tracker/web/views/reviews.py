"""Recording a review of a partnership agreement."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from tracker import audit, models, rules
from tracker.clock import london_date, utcnow
from tracker.people.access import get_agreement
from tracker.records import reviews
from tracker.web.forms import ReviewForm
from tracker.web.views import drafts

bp = Blueprint("reviews", __name__, url_prefix="/agreements")


@bp.before_request
@login_required
def _signed_in() -> None:
    """Every page here needs a signed-in user."""


@bp.route("/<int:agreement_id>/review", methods=["GET", "POST"])
def record(agreement_id: int):
    agreement = get_agreement(agreement_id, "review")
    if agreement.status != "active" or agreement.kind != "partnership":
        flash("Only an active partnership agreement has reviews to record.", "info")
        return redirect(url_for("agreements.show", agreement_id=agreement.id))
    review = models.next_review(agreement)
    typed, restored = drafts.restore() if request.method == "GET" else (None, None)
    form = ReviewForm(formdata=typed) if typed is not None else ReviewForm()
    if request.method == "GET":
        if typed is None:
            form.held_on.process(None, london_date(utcnow()))
            form.open_on(agreement)
        audit.viewed(agreement, "viewed_review_page", user=current_user, ip=request.remote_addr or "")
    changed_since = None
    chosen = (typed if typed is not None else request.form).getlist("reports")
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate_on_submit():
            data = {**form.data, "reports": chosen, "review_id": request.form.get("review_id")}
            try:
                reviews.record(agreement, data, current_user, utcnow())
                drafts.used()
            except models.Stale:
                from tracker.web.views.agreements import stale

                status, changed_since = 409, stale(form, agreement.id)
            except rules.RuleBroken as broken:
                for name, message in broken.errors.items():
                    getattr(form, name).errors = [*getattr(form, name).errors, message]
            else:
                if form.outcome.data == "vary":
                    flash("Review recorded. Now change the agreement to match what was agreed: it is a draft of the "
                          "next version, and the one in force stays until a manager endorses it.", "success")
                    return redirect(url_for("agreements.edit", agreement_id=agreement.id))
                flash("Review recorded", "success")
                return redirect(url_for("agreements.show", agreement_id=agreement.id))
    return render_template("reviews/record.html", agreement=agreement, review=review, form=form,
                           reports=reviews.reports_for(review), chosen=chosen,
                           recipients=models.live_recipients(agreement), changed_since=changed_since,
                           restored=restored), status
