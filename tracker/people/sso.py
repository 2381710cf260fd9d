"""Single sign-on with the council's OpenID Connect provider, through Authlib.

Authlib does the protocol: discovery, the authorization request with `state`,
`nonce` and PKCE (S256), the code exchange, and the ID token's signature
(against the provider's published keys), issuer, audience, expiry and nonce.
This module decides who that person is here:

- the account is found by the token's email and must exist and be active,
  unless the `sso_group_roles` service setting maps one of the person's groups
  to a role (and team), in which case a missing account is made with it;
- an account disabled here stays disabled, whatever the provider says;
- with PASSWORD_SIGN_IN=false only administrators may use a password (break glass).
"""

from __future__ import annotations

import datetime as dt
import secrets

from flask import current_app

from tracker import audit, settings
from tracker.models import Team, User


class Refused(Exception):
    """Single sign-on did not give a usable account; the message is for the person."""


def enabled() -> bool:
    return bool(current_app.config.get("OIDC_ISSUER"))


def password_allowed(user: User | None) -> bool:
    """Whether `user` may sign in with a password: always, unless SSO is on and passwords are off (admins excepted)."""
    if current_app.config.get("PASSWORD_SIGN_IN", True) or not enabled():
        return True
    return user is not None and user.role == "administrator"


def client():
    """The Authlib client for this app's provider, made on first use."""
    from authlib.integrations.flask_client import OAuth

    config = current_app.config
    key = (config["OIDC_ISSUER"], config["OIDC_CLIENT_ID"], config["OIDC_CLIENT_SECRET"], config["OIDC_SCOPES"])
    cached = current_app.extensions.get("tracker_sso")
    if cached is None or cached[0] != key:
        oauth = OAuth(current_app)
        oauth.register(
            "council",
            client_id=config["OIDC_CLIENT_ID"],
            client_secret=config["OIDC_CLIENT_SECRET"],
            server_metadata_url=f"{config['OIDC_ISSUER']}/.well-known/openid-configuration",
            client_kwargs={"scope": config["OIDC_SCOPES"], "code_challenge_method": "S256", "timeout": 10},
        )
        cached = (key, oauth.create_client("council"))
        current_app.extensions["tracker_sso"] = cached
    return cached[1]


def account_for(claims: dict, now: dt.datetime) -> User:
    """The active account for verified ID token claims, or Refused with the reason."""
    email = (claims.get("email") or "").strip().lower()
    if not email:
        raise Refused("Your council account did not give an email address: ask IT to release the email claim")
    if claims.get("email_verified") is False:
        raise Refused("Your council account's email address is not verified")
    user = User.get_or_none(User.email == email)
    if user is None:
        user = _from_groups(email, claims, now)
    if user is None:
        raise Refused(f"There is no account here for {email}. Ask an administrator to add you with your role and team.")
    if not user.active:
        raise Refused("This account has been disabled. Ask an administrator if you think it should not be.")
    return user


def _from_groups(email: str, claims: dict, now: dt.datetime) -> User | None:
    """A new account from the group-to-role mapping, or None when none of the person's groups is mapped."""
    from tracker.people.accounts import hasher

    mapping = settings.get("sso_group_roles")
    groups = claims.get(current_app.config.get("OIDC_GROUPS_CLAIM") or "groups") or []
    if isinstance(groups, str):
        groups = [groups]
    for group in groups:
        if group in mapping:
            role, team_name = mapping[group]
            team = Team.get_or_none(Team.name == team_name) if team_name else None
            if team_name and team is None:
                raise Refused(f"Your group {group} gives the team {team_name}, which does not exist here: tell an administrator")
            name = (claims.get("name") or email.split("@")[0])[:120]
            # No password: this account signs in through the provider only.
            user = User.create(email=email, name=name, password_hash=hasher.hash(secrets.token_urlsafe(32)), role=role,
                               team=team, created_at=now)
            audit.record("user_created", actor=f"Single sign-on (group {group})", entity="user", entity_id=user.id,
                         changes={"email": [None, email], "role": [None, role], "team": [None, team_name]}, at=now)
            return user
    return None
