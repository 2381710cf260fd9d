"""Closing a child's case: a decision on each of the child's active records (R4)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from tracker import audit, rules, settings
from tracker.clock import utcnow
from tracker.db import database
from tracker.oversight.dashboard import children_names
from tracker.people.access import can, get_child
from tracker.records import closure
from tracker.web.forms import LONG, long_text

bp = Blueprint("closure", __name__)


class CloseCaseForm(FlaskForm):
    """The page's own fields; each record's decision is read by closure.Decision."""

    notes = long_text("Notes on the case closure")


@bp.before_request
@login_required
def _signed_in() -> None:
    """Every page here needs a signed-in user."""


def _decisions(agreements) -> dict[int, closure.Decision]:
    form = request.form
    return {
        a.id: closure.Decision(
            choice=form.get(f"decision-{a.id}", ""),
            reason=form.get(f"reason-{a.id}", ""),
            notes=form.get(f"notes-{a.id}", "") or "",
            weeks=(form.get(f"weeks-{a.id}", "") or "")[:5],
        )
        for a in agreements
    }


@bp.route("/children/<int:child_id>/close", methods=["GET", "POST"])
def close(child_id: int):
    # In scope first (R17): a manager of another team is refused before the
    # page names the child, even when none of the child's records is active.
    child = get_child(child_id, "close_case")
    agreements = closure.active_records(child)
    # Every record must be the manager's to decide: a team manager closes a
    # case only when all its active records are their team's.
    for agreement in agreements:
        if not can(current_user, "close_case", agreement):
            abort(403)
    form = CloseCaseForm()
    decisions = {a.id: closure.Decision(weeks=str(settings.get("closure_undertaking_max_weeks"))) for a in agreements}
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        decisions = _decisions(agreements)
        # Each record's notes are a long text box: more than it holds is refused, never cut short (R15).
        errors = {f"notes-{a.id}": f"Notes on {a.reference} must be {LONG:,} characters or fewer"
                  for a in agreements if len(decisions[a.id].notes) > LONG}
        if form.validate_on_submit() and not errors:
            now = utcnow()
            try:
                with database.atomic():
                    made = closure.close_case(child, decisions, current_user, now, form.notes.data or "")
                    if not agreements:
                        # close_case audits on each record it decides; with none, the child's own row says it.
                        audit.record("case_closed", user=current_user, entity="child", entity_id=child.id,
                                     changes={"case_closed_at": [None, now]}, ip=request.remote_addr or "", at=now)
            except rules.RuleBroken as broken:
                errors = broken.errors
            else:
                handed = f"; {len(made)} closure undertaking{'s' if len(made) != 1 else ''} sent for endorsement, for the " \
                         f"{settings.contacts()['front_door_term'].lower()}" if made else ""
                flash(f"{child.name}'s case is closed{handed}.", "success")
                target = made[0].id if made else (agreements[0].id if agreements else None)
                if target is None:
                    return redirect(url_for("home.index"))
                return redirect(url_for("agreements.show", agreement_id=target))
        status = 400
    for agreement in agreements or [None]:
        audit.record("viewed_case_closure", user=current_user, agreement=agreement, entity="child",
                     entity_id=child.id, ip=request.remote_addr or "")
    summary = [{"text": message, "href": f"#{key}"} for key, message in errors.items()]
    return render_template(
        "closure/close.html", child=child, agreements=agreements, decisions=decisions, errors=errors,
        summary=summary, form=form, reasons=closure.CLOSE_REASONS, names=children_names([a.id for a in agreements]),
        max_weeks=settings.get("closure_undertaking_max_weeks"), notes_limit=LONG,
    ), status
