"""Signing in and out."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from tracker import audit, ratelimit, sso
from tracker.accounts import authenticate
from tracker.forms import LoginForm
from tracker.models import utcnow
from tracker.views import sso as sso_views

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("home.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    status = 200
    if request.method == "POST":
        limit = current_app.config.get("LOGIN_RATE_LIMIT", 20)
        if not ratelimit.allow("login", request.remote_addr or "?", limit, 300):
            abort(429)
        if form.validate_on_submit():
            user = authenticate(form.email.data, form.password.data, utcnow())
            if user is not None and not sso.password_allowed(user):
                user = None  # single sign-on only: passwords are for administrators (break glass)
            if user is not None:
                # A fresh session at sign-in, so a session fixed before it is useless.
                session.clear()
                login_user(user)
                audit.record("signed_in", user=user, entity="user", entity_id=user.id, ip=request.remote_addr or "")
                return redirect(_safe_next(request.args.get("next")))
            # One message for a wrong email, a wrong password or a locked
            # account, so the page does not reveal which accounts exist.
            form.email.errors = list(form.email.errors) + [
                "The email address or password is not right, or the account is locked for 15 minutes after 5 tries"
            ]
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    id_token = session.get("sso_id_token", "")
    logout_user()
    session.clear()
    # Signed in through the council's provider: end its session too, where it offers that.
    return sso_views.provider_logout(id_token) or redirect(url_for("auth.login"))
