"""Nothing typed is lost (issue 22): a long form's draft, saved by a button, by htmx, or after the session ended.

A form that keeps drafts carries `draft_owner`, a signed note of who opened it and
at which address (templates/macros/drafts.html). That note, not the session, says
whose typing a post is when the session has ended in between: the post is kept as a
pending draft of that person and they are sent to sign in, coming back to the form
with what they typed. Only the page itself holds the note, so another site cannot
make one up (it stands in for the CSRF token, which an ended session may have lost).
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from itsdangerous import BadSignature, URLSafeSerializer
from markupsafe import Markup
from werkzeug.datastructures import MultiDict

from tracker.clock import utcnow
from tracker.records import form_drafts
from tracker.web.extensions import htmx
from tracker.web.security import safe_next

bp = Blueprint("drafts", __name__)


def _notes() -> URLSafeSerializer:
    # Untimed, so a page drawn again carries the same note: the browser's Back restores a form's
    # hidden fields (its once key among them) only while the page's fields are the same (R12).
    return URLSafeSerializer(current_app.secret_key, salt="form-draft-owner")


def page_path() -> str:
    """The address of this form page: the form, and the record it changes."""
    query = request.query_string.decode("utf-8", "replace")
    return request.path + ("?" + query if query else "")


@bp.app_template_global("draft_owner")
def draft_owner(agreement_id: int | None = None) -> str:
    """The signed note a draft-keeping form carries: who opened it, where, for which record."""
    return _notes().dumps({"u": current_user.id, "p": page_path(), "a": agreement_id})


def read_owner(note: str | None) -> dict | None:
    if not note or len(note) > 1000:
        return None
    try:
        owner = _notes().loads(note)
    except BadSignature:
        return None
    if not (isinstance(owner, dict) and type(owner.get("u")) is int and isinstance(owner.get("p"), str)):
        return None
    if safe_next(owner["p"]) != owner["p"]:
        return None
    return owner


def _kept_at(draft) -> str:
    from tracker.clock import to_london

    return f"{to_london(draft.saved_at):%-I:%M%p}".lower()


def keep_after_session_ended():
    """Before anything else reads a post: a draft form posted by someone no longer signed in is kept for them."""
    if request.method != "POST" or "draft_owner" not in request.form or request.endpoint == "drafts.discard":
        return None
    if current_user.is_authenticated:
        return None
    owner = read_owner(request.form.get("draft_owner"))
    if owner is None:
        return None
    draft = form_drafts.keep(owner["u"], owner["p"], list(request.form.items(multi=True)), utcnow(),
                             state="pending", agreement_id=owner.get("a"))
    sign_in = url_for("auth.login", next=owner["p"])
    if htmx:
        return render_template("_draft_status.html", draft=draft, kept_at=_kept_at(draft), signed_out=True,
                               sign_in=sign_in)
    flash("You were signed out, so nothing was saved to the record. What you typed is kept: "
          "sign in again to carry on from where you were.", "info")
    return redirect(sign_in, 303)


def restore() -> tuple[MultiDict | None, object]:
    """This person's live draft of the form on this page, as form data to fill it with, and the draft."""
    draft = form_drafts.latest(current_user.id, page_path())
    if draft is None:
        return None, None
    return MultiDict(form_drafts.fields(draft)), draft


def used(how: str = "saved") -> None:
    """The form on this page was saved for real: its drafts are used (kept, not deleted)."""
    form_drafts.use(current_user.id, page_path(), utcnow(), how)


@bp.app_template_global("draft_notice")
def draft_notice(draft) -> Markup:
    """The banner over a form filled from a draft."""
    if draft is None:
        return Markup("")
    return Markup(render_template("_draft_restored.html", draft=draft, kept_at=_kept_at(draft)))


@bp.route("/drafts", methods=["POST"])
@login_required
def save():
    """Keep the typing of the form that posted here ("Save and come back later", or htmx's autosave)."""
    owner = read_owner(request.form.get("draft_owner"))
    if owner is None or owner["u"] != current_user.id:
        abort(400)
    draft = form_drafts.keep(current_user.id, owner["p"], list(request.form.items(multi=True)), utcnow(),
                             agreement_id=owner.get("a"))
    if htmx:
        return render_template("_draft_status.html", draft=draft, kept_at=_kept_at(draft), signed_out=False)
    flash(f"Your draft is saved ({_kept_at(draft)}). Nothing is on the record until you press Save: "
          "come back to this page to carry on.", "success")
    return redirect(owner["p"], 303)


@bp.route("/drafts/set-aside", methods=["POST"])
@login_required
def discard():
    """Start the form again: the draft is set aside (marked used), not deleted."""
    owner = read_owner(request.form.get("draft_owner"))
    if owner is None or owner["u"] != current_user.id:
        abort(400)
    form_drafts.use(current_user.id, owner["p"], utcnow(), "discarded")
    flash("Your draft is set aside. The form shows what is on the record.", "info")
    return redirect(owner["p"], 303)
