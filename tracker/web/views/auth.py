"""Signing in and out, and signing out everywhere."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from itsdangerous import BadSignature, URLSafeTimedSerializer

from tracker import audit
from tracker.clock import time_words, to_london, utcnow
from tracker.models import UserSession
from tracker.people import sessions, sso
from tracker.people.accounts import authenticate
from tracker.web import ratelimit
from tracker.web.extensions import htmx
from tracker.web.forms import LoginForm
from tracker.web.security import safe_next
from tracker.web.views import sso as sso_views

bp = Blueprint("auth", __name__)


# A browser that has signed in to an account before: the per-account wait does not
# apply to it (tracker.people.accounts.authenticate). Signed, so it cannot be made up.
DEVICE_COOKIE = "tracker_device"
DEVICE_DAYS = 90


def _devices() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="sign-in-device")


def _device_user() -> int | None:
    value = request.cookies.get(DEVICE_COOKIE, "")
    if not value or len(value) > 200:
        return None
    try:
        user_id = _devices().loads(value, max_age=DEVICE_DAYS * 86400)
    except BadSignature:
        return None
    return user_id if type(user_id) is int else None


def _try_again(at) -> str:
    local = to_london(at)
    return f"Too many tries. Wait, then try again after {time_words(local)} (in about {_seconds(at)} seconds)"


def _seconds(at) -> int:
    return max(1, int((at - utcnow()).total_seconds()) + 1)


@bp.route("/login", methods=["GET", "POST"])
@ratelimit.sign_in
def login():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate_on_submit():
            now = utcnow()
            ip = request.remote_addr or ""
            result = authenticate(form.email.data, form.password.data, now, ip, device_user=_device_user())
            if result.user is not None and not sso.password_allowed(result.user):
                # Single sign-on only: passwords are for administrators (break glass).
                result = result._replace(user=None)
            if result.user is not None:
                # A fresh session at sign-in, so a session fixed before it is useless;
                # its id names a server-side row that sign-out ends.
                session.clear()
                session["sid"] = sessions.start(result.user, now, ip)
                login_user(result.user)
                # A password while single sign-on is the rule is an administrator's break glass: marked for review.
                method = "password (break glass)" if sso.enabled() and not sso.password_allowed(None) else "password"
                audit.record("signed_in", user=result.user, entity="user", entity_id=result.user.id, ip=ip,
                             changes={"method": [None, method]})
                response = redirect(safe_next(request.args.get("next")))
                response.set_cookie(DEVICE_COOKIE, _devices().dumps(result.user.id), max_age=DEVICE_DAYS * 86400,
                                    secure=current_app.config.get("SESSION_COOKIE_SECURE", False), httponly=True,
                                    samesite="Lax")
                return response
            # One message for a wrong email, a wrong password or a disabled
            # account, so the page does not reveal which accounts exist.
            message = "The email address or password is not right"
            if result.retry_at is not None:
                message = _try_again(result.retry_at)
                status = 429
            form.email.errors = [*form.email.errors, message]
    response = render_template("auth/login.html", form=form,
                               timed_out=request.args.get("timed_out") == "1" and request.method == "GET")
    return response, status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    token = session.get("sid")
    holds_id_token = sessions.end(token, utcnow(), "signed_out")
    logout_user()
    session.clear()
    # Signed in through the council's provider: end its session too, where it
    # offers that, by a page of this site (a redirect after a POST to another
    # site is what the CSP's form-action blocks; see tracker/web/views/sso.py).
    page = sso_views.signed_out_page(token) if holds_id_token else None
    if holds_id_token and page is None:
        flash("You have signed out of the tracker. Your council account may still be signed in: "
              "at a shared computer, close the browser.", "info")
    return page or redirect(url_for("auth.login"))


def idle_seconds_left(user, now=None) -> int:
    """Seconds until this person's session ends unused: the idle timeout counted from its last use."""
    idle = dt.timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"])
    seen = getattr(user, "session_seen_at", None) or (now or utcnow())
    return max(0, int((seen + idle - (now or utcnow())).total_seconds()))


@bp.app_template_global("timeout_warning")
def timeout_warning() -> dict | None:
    """What the timeout warning (templates/_timeout_warning.html) needs, for a signed-in person."""
    if not current_user.is_authenticated:
        return None
    return {"seconds_left": idle_seconds_left(current_user),
            "warn_seconds": current_app.config["SESSION_WARNING_SECONDS"],
            "idle_minutes": current_app.config["SESSION_IDLE_MINUTES"]}


@bp.after_app_request
def _session_seconds_left(response):
    """An htmx request used the session too: the timeout warning's clock starts again from its answer."""
    if htmx and current_user.is_authenticated:
        response.headers["X-Session-Seconds-Left"] = str(idle_seconds_left(current_user))
    return response


@bp.route("/session/keep-alive", methods=["POST"])
def keep_alive():
    """"Stay signed in": the session counts as used now. A JSON answer for static/js/app.js.

    Not behind login_required: a session that has already ended answers 401 here,
    rather than a redirect to the sign-in page the script would read as success.
    """
    if not current_user.is_authenticated:
        return {"signed_in": False}, 401
    now = utcnow()
    sessions.touch(session.get("sid"), now)
    current_user.session_seen_at = now
    return {"signed_in": True, "seconds_left": idle_seconds_left(current_user, now)}


@bp.route("/account/sessions")
@login_required
def account_sessions():
    """Where this person is signed in, and the button that ends it everywhere."""
    live = list(UserSession.select().where((UserSession.user == current_user.id) & UserSession.ended_at.is_null())
                .order_by(UserSession.last_seen_at.desc()).limit(50))
    return render_template("auth/sessions.html", sessions=live, this=sessions.token_hash(session.get("sid")))


@bp.route("/sign-out-everywhere", methods=["POST"])
@login_required
def sign_out_everywhere():
    """End every session of this person: another computer, a lost phone, a shared desk."""
    now = utcnow()
    ended = sessions.end_all(current_user.id, now, "signed_out_everywhere")
    audit.record("signed_out_everywhere", user=current_user, entity="user", entity_id=current_user.id, at=now,
                 changes={"sessions_ended": [None, ended]})
    logout_user()
    session.clear()
    flash(f"Signed out everywhere: {ended} session{'s' if ended != 1 else ''} ended", "success")
    return redirect(url_for("auth.login"))
