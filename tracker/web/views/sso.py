"""Single sign-on: to the provider, back from it, and out of it (RP-initiated logout).

Kept apart from tracker/web/views/auth.py (passwords), which calls only
`sso.password_allowed` and `provider_logout`.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user

from tracker import audit
from tracker.clock import utcnow
from tracker.people import sessions, sso
from tracker.web.forms import LoginForm

bp = Blueprint("sso", __name__, url_prefix="/sso")


def _callback_url() -> str:
    return f"{current_app.config['BASE_URL']}{url_for('sso.callback')}"


@bp.route("/login")
def login():
    if not sso.enabled():
        abort(404)
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    return sso.client().authorize_redirect(_callback_url())


def _refused(message: str):
    form = LoginForm()
    return render_template("auth/login.html", form=form, sso_error=message), 400


@bp.route("/callback")
def callback():
    if not sso.enabled():
        abort(404)
    now = utcnow()
    try:
        # Checks state (once only), exchanges the code with the PKCE verifier,
        # and verifies the ID token: signature, issuer, audience, expiry, nonce.
        # Authlib alone compares `aud` with the client only through `azp`, so a
        # token for another audience naming this client as `azp` would pass:
        # the audience is checked explicitly, with the issuer from discovery.
        client = sso.client()
        issuer = client.load_server_metadata().get("issuer")
        token = client.authorize_access_token(claims_options={
            "iss": {"essential": True, "values": [issuer]},
            "aud": {"essential": True, "values": [current_app.config["OIDC_CLIENT_ID"]]},
        })
        claims = dict(token.get("userinfo") or {})
        if not claims:
            raise sso.Refused("Your council account did not send an ID token")
        user = sso.account_for(claims, now)
    except sso.Refused as exc:
        audit.record("sso_refused", actor="Single sign-on", entity="user", changes={"reason": [None, str(exc)]},
                     ip=request.remote_addr or "", at=now)
        return _refused(str(exc))
    except Exception as exc:  # noqa: BLE001 - Authlib and joserfc raise many kinds; every one means "not signed in"
        current_app.logger.warning("Single sign-on refused: %s: %s", type(exc).__name__, exc)
        audit.record("sso_refused", actor="Single sign-on", entity="user",
                     changes={"reason": [None, f"{type(exc).__name__}: {str(exc)[:200]}"]},
                     ip=request.remote_addr or "", at=now)
        return _refused("Signing in with your council account did not work. Try again from the start.")
    session.clear()
    # A server-side session like a password sign-in's, so sign-out ends it (tracker.people.sessions).
    session["sid"] = sessions.start(user, now, request.remote_addr or "")
    login_user(user)
    session["sso_id_token"] = token.get("id_token", "")
    audit.record("signed_in", user=user, entity="user", entity_id=user.id, changes={"method": [None, "single sign-on"]},
                 ip=request.remote_addr or "", at=now)
    return redirect(url_for("home.index"))


def provider_logout(id_token: str):
    """After the local session has ended: end the provider's session too, where it offers RP-initiated logout."""
    if not (sso.enabled() and id_token):
        return None
    try:
        metadata = sso.client().load_server_metadata()
    except Exception:  # noqa: BLE001 - an unreachable provider must not stop a sign-out
        return None
    if not metadata.get("end_session_endpoint"):
        return None
    return sso.client().logout_redirect(
        post_logout_redirect_uri=f"{current_app.config['BASE_URL']}{url_for('auth.login')}", id_token_hint=id_token)
