"""Single sign-on: to the provider, back from it, and out of it (RP-initiated logout).

Kept apart from tracker/web/views/auth.py (passwords), which calls only
`sso.password_allowed` and `signed_out_page`.

Signing out reaches the provider in a real browser. The sign-out button is a
form, and the page's CSP says `form-action 'self'`, which a browser applies to
every redirect that follows a form's POST: a 302 from POST /logout to the
provider is blocked and the provider's session stays live for the next person
at the computer. So POST /logout answers with a page of this site that moves on
by itself (meta refresh, and a link) to GET /sso/end-session, a navigation that
is no form submission, whose redirect to the provider the CSP allows.
"""

from __future__ import annotations

import re

from authlib.integrations.base_client import OAuthError
from flask import Blueprint, abort, current_app, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user

from tracker import audit
from tracker.clock import utcnow
from tracker.people import sessions, sso
from tracker.web.forms import LoginForm
from tracker.web.security import safe_next

bp = Blueprint("sso", __name__, url_prefix="/sso")

# The error codes of RFC 6749 4.1.2.1 and OpenID Connect Core 3.1.2.6: the only
# callback text that is ever written down. `error_description` and anything else
# in the address come from whoever sent the browser here, unauthenticated.
_KNOWN_ERRORS = {
    "invalid_request", "unauthorized_client", "access_denied", "unsupported_response_type", "invalid_scope",
    "server_error", "temporarily_unavailable", "interaction_required", "login_required", "account_selection_required",
    "consent_required", "invalid_request_uri", "invalid_request_object", "request_not_supported",
    "request_uri_not_supported", "registration_not_supported", "invalid_grant", "invalid_client",
}
_DENIED = {"access_denied", "consent_required", "login_required", "interaction_required"}


def _callback_url() -> str:
    return f"{current_app.config['BASE_URL']}{url_for('sso.callback')}"


@bp.route("/login")
def login():
    if not sso.enabled():
        abort(404)
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    response = sso.client().authorize_redirect(_callback_url())
    # The page asked for before sign-in, to return to after it (a deep link from an email).
    if request.args.get("next"):
        session["sso_next"] = safe_next(request.args.get("next"))
    return response


def _refused(message: str):
    form = LoginForm()
    return render_template("auth/login.html", form=form, sso_error=message), 400


def _reason(exc: Exception) -> str:
    """What the audit may say about a failed callback: nothing the unauthenticated request wrote."""
    if isinstance(exc, OAuthError):
        code = exc.error if isinstance(exc.error, str) and exc.error in _KNOWN_ERRORS else "unrecognised error"
        return f"The provider answered {code}"
    # The rest come from checking the state this browser was given and the token
    # the provider sent this server directly, not from the browser's address.
    return f"{type(exc).__name__}: {str(exc)[:200]}"


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
        user = sso.account_for(claims, now, issuer=issuer)
    except sso.Refused as exc:
        audit.record("sso_refused", actor="Single sign-on", entity="user", changes={"reason": [None, str(exc)]},
                     ip=request.remote_addr or "", at=now)
        return _refused(str(exc))
    except Exception as exc:  # noqa: BLE001 - Authlib and joserfc raise many kinds; every one means "not signed in"
        reason = _reason(exc)
        current_app.logger.warning("Single sign-on refused: %s", re.sub(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]", " ", reason))
        audit.record("sso_refused", actor="Single sign-on", entity="user", changes={"reason": [None, reason]},
                     ip=request.remote_addr or "", at=now)
        if isinstance(exc, OAuthError) and exc.error in _DENIED:
            return _refused("You did not finish signing in with your council account. Try again from the start.")
        return _refused("Signing in with your council account did not work. Try again from the start.")
    target = session.pop("sso_next", None)
    session.clear()
    # A server-side session like a password sign-in's, so sign-out ends it
    # (tracker.people.sessions); the ID token stays in its row, not the cookie.
    session["sid"] = sessions.start(user, now, request.remote_addr or "", id_token=token.get("id_token", ""))
    login_user(user)
    audit.record("signed_in", user=user, entity="user", entity_id=user.id, changes={"method": [None, "single sign-on"]},
                 ip=request.remote_addr or "", at=now)
    return redirect(safe_next(target))


def signed_out_page(token: str):
    """After the local session has ended: the page that takes the browser on to the provider's sign-out.

    None when there is nothing to end there (a password session, no single
    sign-on, or a provider without an end-session endpoint).
    """
    if not sso.enabled():
        return None
    try:
        end_session = sso.client().load_server_metadata().get("end_session_endpoint")
    except Exception:  # noqa: BLE001 - an unreachable provider must not stop a sign-out
        end_session = None
    if not end_session:
        return None
    session["signed_out"] = token
    return render_template("auth/signed_out.html", provider=current_app.config.get("OIDC_PROVIDER_NAME"),
                           onward=url_for("sso.end_session"))


@bp.route("/end-session")
def end_session():
    """Straight on to the provider's end-session endpoint, with this session's ID token as the hint.

    For someone just signed out, so not behind login; with nothing to end, it is the sign-in page.
    """
    id_token = sessions.take_id_token(session.pop("signed_out", None), utcnow()) if sso.enabled() else ""
    if not id_token:
        return redirect(url_for("auth.login"))
    try:
        return sso.client().logout_redirect(
            post_logout_redirect_uri=f"{current_app.config['BASE_URL']}{url_for('auth.login')}", id_token_hint=id_token)
    except Exception:  # noqa: BLE001 - the provider went away between the two requests
        return redirect(url_for("auth.login"))
