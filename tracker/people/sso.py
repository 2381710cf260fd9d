"""Single sign-on with the council's OpenID Connect provider, through Authlib.

Authlib does the protocol: discovery, the authorization request with `state`,
`nonce` and PKCE (S256), the code exchange, and the ID token's signature
(against the provider's published keys), issuer, audience, expiry and nonce.
This module decides who that person is here:

- the account is the one bound to the token's issuer and subject (`tid`/`oid`
  for Entra ID), bound at the first sign-in by the token's email (or
  `preferred_username`); it must exist and be active, unless the
  `sso_group_roles` service setting maps one of the person's groups to a role
  (and team), in which case a missing account is made with it, and the groups
  are read again at every sign-in;
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


def subject_of(claims: dict, issuer: str) -> tuple[str, str]:
    """The provider's lasting name for this person: (issuer, subject).

    Microsoft Entra ID names a person in a tenant by `oid` (the same for every
    application) with the tenant `tid`; its `sub` differs per application. Any
    other provider: `sub`. Never the email, which changes and can be reissued.
    """
    oid, tid = claims.get("oid"), claims.get("tid")
    if isinstance(oid, str) and oid and isinstance(tid, str) and tid:
        return issuer, f"tid={tid[:64]};oid={oid[:64]}"
    sub = claims.get("sub")
    if not (isinstance(sub, str) and sub):
        raise Refused("Your council account did not say who you are (no subject in the token): tell IT")
    return issuer, sub[:255]


def email_of(claims: dict) -> str:
    """The email the provider gives, or Entra's `preferred_username` (often the only address it sends)."""
    for name in ("email", "preferred_username"):
        value = claims.get(name)
        if isinstance(value, str) and "@" in value:
            return value.strip().lower()[:254]
    return ""


def groups_of(claims: dict) -> list[str]:
    """The person's groups (or app roles) from the claim named by OIDC_GROUPS_CLAIM.

    Entra ID lists at most about 200 groups in a token; past that it sends
    `_claim_names` pointing at Microsoft Graph instead (group overage). Reading
    that as "no groups" would refuse or demote the person for no reason they
    could see, so it is refused with what IT must change.
    """
    claim = current_app.config.get("OIDC_GROUPS_CLAIM") or "groups"
    groups = claims.get(claim)
    if groups is None and claim in (claims.get("_claim_names") or {}):
        raise Refused("Your council account is in too many groups for the sign-in token to list them. Ask IT to "
                      "send only the groups assigned to this application, or app roles (see docs/sso.md).")
    if isinstance(groups, str):
        groups = [groups]
    return [g for g in groups or [] if isinstance(g, str)]


def account_for(claims: dict, now: dt.datetime, issuer: str = "") -> User:
    """The active account for verified ID token claims, or Refused with the reason.

    1. The account bound to the token's issuer and subject; failing that, at a
       first sign-in, the account with the token's email, which is then bound
       (an account bound to another subject is not taken over by its email).
    2. With a group-to-role mapping (`sso_group_roles`), groups are read at every
       sign-in: a new person in a mapped group gets an account, a changed group
       changes the role, and someone no longer in any mapped group is refused.
    3. An account disabled here stays disabled, whatever the provider says.
    """
    issuer, subject = subject_of(claims, issuer or current_app.config.get("OIDC_ISSUER") or "")
    email = email_of(claims)
    mapping = settings.get("sso_group_roles")
    groups = groups_of(claims) if mapping else []
    user = User.get_or_none((User.sso_issuer == issuer) & (User.sso_subject == subject))
    if user is None:
        if not email:
            raise Refused("Your council account did not give an email address: ask IT to release the email claim")
        if claims.get("email_verified") is False:
            raise Refused("Your council account's email address is not verified")
        user = User.get_or_none(User.email == email)
        if user is not None and user.sso_subject is not None:
            raise Refused(f"The account here for {email} belongs to another council account. "
                          "Ask an administrator to check it.")
        if user is None:
            user = _from_groups(email, claims, groups, mapping, now)
        if user is None:
            raise Refused(f"There is no account here for {email}. Ask an administrator to add you with your role and team.")
        User.update(sso_issuer=issuer, sso_subject=subject).where(User.id == user.id).execute()
        audit.record("sso_bound", actor="Single sign-on", entity="user", entity_id=user.id, at=now,
                     changes={"subject": [None, subject]})
    if not user.active:
        raise Refused("This account has been disabled. Ask an administrator if you think it should not be.")
    if mapping:
        _follow_groups(user, groups, mapping, now)
    return user


def _mapped(groups: list[str], mapping: dict) -> tuple[str, str, str | None] | None:
    for group in groups:
        if group in mapping:
            role, team_name = mapping[group]
            return group, role, team_name
    return None


def _follow_groups(user: User, groups: list[str], mapping: dict, now: dt.datetime) -> None:
    """Groups decide the role at every sign-in: removed from the group at the council, out here."""
    found = _mapped(groups, mapping)
    if found is None:
        raise Refused("None of your council groups gives access to the agreement tracker any more. "
                      "Ask your manager or IT if you still need it.")
    group, role, team_name = found
    team = Team.get_or_none(Team.name == team_name) if team_name else None
    if team_name and team is None:
        raise Refused(f"Your group {group} gives the team {team_name}, which does not exist here: tell an administrator")
    if (user.role, user.team_id) != (role, team.id if team else None):
        before = (user.role, user.team.name if user.team_id else None)
        User.update(role=role, team=team).where(User.id == user.id).execute()
        user.role, user.team = role, team
        audit.record("user_changed", actor=f"Single sign-on (group {group})", entity="user", entity_id=user.id,
                     changes={"role": [before[0], role], "team": [before[1], team_name]}, at=now)


def _from_groups(email: str, claims: dict, groups: list[str], mapping: dict, now: dt.datetime) -> User | None:
    """A new account from the group-to-role mapping, or None when none of the person's groups is mapped."""
    from tracker.people.accounts import hasher

    found = _mapped(groups, mapping)
    if found is None:
        return None
    group, role, team_name = found
    team = Team.get_or_none(Team.name == team_name) if team_name else None
    if team_name and team is None:
        raise Refused(f"Your group {group} gives the team {team_name}, which does not exist here: tell an administrator")
    name = claims.get("name") if isinstance(claims.get("name"), str) else ""
    name = " ".join((name or email.split("@")[0]).split())[:120]  # one line: a name reaches email text
    # No password: this account signs in through the provider only.
    user = User.create(email=email, name=name, password_hash=hasher.hash(secrets.token_urlsafe(32)), role=role,
                       team=team, created_at=now)
    audit.record("user_created", actor=f"Single sign-on (group {group})", entity="user", entity_id=user.id,
                 changes={"email": [None, email], "role": [None, role], "team": [None, team_name]}, at=now)
    return user
