"""Accounts: argon2 password hashes, creating users, and sign-in that neither leaks nor locks out."""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from peewee import IntegrityError

from tracker import audit
from tracker.db import database
from tracker.models import SignInFailures, Team, User

hasher = PasswordHasher()

# Failed sign-ins are counted per account and per address (tracker.models.SignInFailures).
# Past the free ones, each failure doubles the wait before the next try, up to a
# ceiling: slow enough to stop guessing, short enough that nobody can lock a
# colleague out for long by typing their email wrongly on purpose. An address
# (an office behind one proxy) gets more free failures than one account.
FREE_FAILURES = {"email": 5, "ip": 20}
LONGEST_WAIT = {"email": dt.timedelta(minutes=5), "ip": dt.timedelta(minutes=15)}
FIRST_WAIT = dt.timedelta(seconds=15)
FORGET_AFTER = dt.timedelta(hours=1)
_dummy_hashes: dict[int, str] = {}


def _same_work(password: str) -> None:
    """Verify against a hash made with the current hasher, so an unknown email or
    an attempt during a wait costs what a wrong password costs, and time does not
    tell them apart."""
    dummy = _dummy_hashes.get(id(hasher))
    if dummy is None:
        dummy = _dummy_hashes[id(hasher)] = hasher.hash("not-a-real-password")
    try:
        hasher.verify(dummy, password)
    except VerificationError:
        pass


def create_user(email: str, name: str, password: str, role: str, team: Team | None, by: User | None = None) -> User:
    with database.atomic():
        user = User.create(
            email=email.strip().lower(), name=name.strip(), password_hash=hasher.hash(password), role=role, team=team
        )
        audit.record("user_created", user=by, actor=by.name if by else "command line", entity="user",
                     entity_id=user.id, changes={"email": [None, user.email], "role": [None, role],
                                                  "team": [None, team.name if team else None]})
        if by is not None:
            # Made in the application by an administrator; the command line is the server's operator.
            announce_access(user, None, None, by)
    return user


# Roles that read children's records, and what each reaches (tracker.people.access.visibility).
READING_ROLES = {
    "social_worker": "their team's records",
    "team_manager": "their team's records",
    "front_door": "every team's active records",
    "service_manager": "every record in the service",
}


class SelfChange(Exception):
    """An administrator tried to change their own role or team."""


def check_not_own_access(user: User, by: User, role: str, team_id: int | None) -> None:
    """Nobody widens their own access (R17): an administrator's own role and team are
    changed by another administrator, never by themselves."""
    if user.id == by.id and (role != user.role or (team_id or None) != (user.team_id or None)):
        raise SelfChange("You cannot change your own role or team. Ask another administrator.")


def announce_access(user: User, before_role: str | None, before_team: Team | None, by: User,
                    now: dt.datetime | None = None) -> bool:
    """When `user` is given a role that reads records (or a reading role in another team):
    an audit event, and an email to every active service manager, in the caller's
    transaction. Returns whether it was such a change."""
    from tracker.clock import utcnow
    from tracker.notices.notify import enqueue
    from tracker.settings import role_label

    now = now or utcnow()
    user = User.get_by_id(user.id)
    if not user.active or user.role not in READING_ROLES or (before_role == user.role and (
            before_team.id if before_team else None) == user.team_id):
        return False
    team = user.team.name if user.team_id else ""
    event = audit.record("access_granted", user=by, entity="user", entity_id=user.id, at=now, changes={
        "role": [before_role, user.role], "team": [before_team.name if before_team else None, team or None]})
    before_label = role_label(User(role=before_role)) if before_role else ""
    context = {"person_name": user.name, "person_email": user.email, "role": role_label(user).lower(), "team": team,
               "before_role": before_label.lower(), "before_team": before_team.name if before_team else "",
               "by_name": by.name, "reach": READING_ROLES[user.role]}
    for manager in User.select().where((User.role == "service_manager") & (User.active == True)):  # noqa: E712
        enqueue(f"access-granted/{event.id}/{manager.email}", "access_granted", manager.email,
                to_label=manager.name, context=context, now=now)
    return True


def set_password(user: User, password: str, now: dt.datetime | None = None) -> None:
    """A new password ends every session the user has (the old one may be known to someone else)."""
    from tracker.clock import utcnow
    from tracker.people import sessions

    with database.atomic():
        User.update(password_hash=hasher.hash(password)).where(User.id == user.id).execute()
        sessions.end_all(user.id, now or utcnow(), "password_changed")


class SignIn(NamedTuple):
    user: User | None
    retry_at: dt.datetime | None  # when a wait applies: the earliest moment to try again


def _keys(email: str, ip: str) -> list[str]:
    return [f"email:{email.strip().lower()[:254]}", f"ip:{ip[:64]}"]


def _waiting_until(keys: list[str], now: dt.datetime) -> dt.datetime | None:
    waits = [row.wait_until for row in SignInFailures.select().where(SignInFailures.key.in_(keys))
             if row.wait_until and row.wait_until > now]
    return max(waits) if waits else None


def _failed(keys: list[str], now: dt.datetime) -> dt.datetime | None:
    """Count one failure against each key; the moment the next try is allowed, if any wait applies."""
    latest = None
    with database.atomic():
        for key in keys:
            kind = key.split(":", 1)[0]
            row = SignInFailures.get_or_none(SignInFailures.key == key)
            if row is None:
                try:
                    with database.atomic():
                        row = SignInFailures.create(key=key, failures=0, last_failed_at=now)
                except IntegrityError:  # another worker counted the first failure at the same moment
                    row = SignInFailures.get(SignInFailures.key == key)
            failures = 1 if now - row.last_failed_at > FORGET_AFTER else None
            SignInFailures.update(
                failures=failures if failures is not None else SignInFailures.failures + 1, last_failed_at=now,
            ).where(SignInFailures.id == row.id).execute()
            count = SignInFailures.get_by_id(row.id).failures
            extra = count - FREE_FAILURES[kind]
            wait = None
            if extra >= 0:
                wait = now + min(FIRST_WAIT * (2 ** min(extra, 20)), LONGEST_WAIT[kind])
                latest = max(latest, wait) if latest else wait
            SignInFailures.update(wait_until=wait).where(SignInFailures.id == row.id).execute()
    return latest


def authenticate(email: str, password: str, now: dt.datetime, ip: str = "", device_user: int | None = None) -> SignIn:
    """Check credentials; every answer costs one password hash, whatever the reason for refusing.

    Refused while a wait applies (the account's or the address's), without
    looking at the password; otherwise a wrong password, an unknown email or a
    disabled account counts a failure against the email and the address.

    `device_user` is the account that last signed in from this browser (its
    signed device cookie): for that account only the address's wait applies,
    so strangers guessing from elsewhere slow themselves, not the owner.
    """
    keys = _keys(email, ip)
    user = User.get_or_none(User.email == email.strip().lower())
    trusted = user is not None and device_user is not None and user.id == device_user
    waiting = _waiting_until(keys[1:] if trusted else keys, now)
    if waiting is not None:
        _same_work(password)
        return SignIn(None, waiting)
    if user is None:
        _same_work(password)
        return SignIn(None, _failed(keys, now))
    try:
        hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        retry_at = _failed(keys, now)
        if retry_at is not None:
            audit.record("sign_in_slowed", user=user, entity="user", entity_id=user.id, at=now,
                         changes={"retry_at": [None, retry_at]}, ip=ip[:64])
        return SignIn(None, retry_at)
    if not user.active:
        return SignIn(None, _failed(keys, now))
    SignInFailures.update(failures=0, wait_until=None).where(SignInFailures.key == keys[0]).execute()
    return SignIn(user, None)
