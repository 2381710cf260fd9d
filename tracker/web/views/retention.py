"""Retention review: ended records past their keeping date, and a manager's decision on each."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from tracker import settings
from tracker.clock import utcnow
from tracker.governance import retention
from tracker.models import Agreement, RetentionDecision, Tombstone
from tracker.people.access import require

bp = Blueprint("retention", __name__, url_prefix="/retention")


@bp.route("/")
@login_required
def index():
    require("retention")
    now = utcnow()
    retention.stamp(now)
    due = list(retention.past_due(current_user, now))
    tombstones = list(Tombstone.select().order_by(Tombstone.destroyed_at.desc()).limit(50))
    decisions = list(RetentionDecision.select().where(RetentionDecision.decision == "keep")
                     .order_by(RetentionDecision.decided_at.desc()).limit(50))
    return render_template("retention/index.html", due=due, tombstones=tombstones, decisions=decisions,
                           abandoned=retention.abandoned_drafts(now).count(),
                           draft_keep_days=settings.get("draft_keep_days"))


def _due_record(agreement_id: int) -> Agreement:
    require("retention")
    agreement = retention.past_due(current_user, utcnow()).where(Agreement.id == agreement_id).first()
    if agreement is None:
        abort(404)
    return agreement


REASON_LIMIT = 4000  # characters in a retention decision's reason


@bp.route("/<int:agreement_id>", methods=["GET", "POST"])
@login_required
def decide(agreement_id: int):
    agreement = _due_record(agreement_id)
    errors: dict[str, str] = {}
    values = {"decision": request.form.get("decision", ""), "reason": request.form.get("reason", ""),
              "confirm": request.form.get("confirm", "")}
    if request.method == "POST":
        now = utcnow()
        if values["decision"] not in ("keep", "destroy"):
            errors["decision"] = "Choose whether to destroy the record or keep it"
        elif not values["reason"].strip():
            errors["reason"] = ("Give the reason for keeping the record" if values["decision"] == "keep"
                                else "Record the decision to destroy, for example the policy it follows")
        elif values["decision"] == "destroy" and values["confirm"] != agreement.reference:
            errors["confirm"] = f"Type the reference {agreement.reference} to confirm it is destroyed for good"
        if len(values["reason"]) > REASON_LIMIT:  # refused with the typing kept, never cut short (R15)
            errors["reason"] = f"The reason must be {REASON_LIMIT:,} characters or fewer"
        if not errors:
            if values["decision"] == "keep":
                retention.keep(agreement, current_user, values["reason"], now)
                flash(f"{agreement.reference} is kept; it will be listed again in a year", "success")
            else:
                retention.destroy(agreement, current_user, values["reason"], now)
                flash(f"{agreement.reference} has been destroyed; its tombstone keeps the reference and your decision", "success")
            return redirect(url_for("retention.index"))
    from tracker.models import children_of

    return render_template("retention/decide.html", agreement=agreement, children=children_of(agreement),
                           errors=errors, values=values, reason_limit=REASON_LIMIT), (400 if errors else 200)
