"""Accounts: argon2 password hashes, creating users, and login lockout."""

from __future__ import annotations

import datetime as dt

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from tracker import audit
from tracker.db import database
from tracker.models import Team, User

hasher = PasswordHasher()
LOCK_AFTER = 5
LOCK_FOR = dt.timedelta(minutes=15)
# Verifying against a real hash when the email is unknown keeps the response
# time the same, so timing does not reveal which emails have accounts.
_DUMMY_HASH = hasher.hash("not-a-real-password")


def create_user(email: str, name: str, password: str, role: str, team: Team | None, by: User | None = None) -> User:
    with database.atomic():
        user = User.create(
            email=email.strip().lower(), name=name.strip(), password_hash=hasher.hash(password), role=role, team=team
        )
        audit.record("user_created", user=by, actor=by.name if by else "command line", entity="user",
                     entity_id=user.id, changes={"email": [None, user.email], "role": [None, role],
                                                  "team": [None, team.name if team else None]})
    return user


def set_password(user: User, password: str) -> None:
    User.update(password_hash=hasher.hash(password)).where(User.id == user.id).execute()


def authenticate(email: str, password: str, now: dt.datetime) -> User | None:
    """The user for these credentials, or None. Locked accounts never authenticate."""
    user = User.get_or_none(User.email == email.strip().lower())
    if user is None:
        try:
            hasher.verify(_DUMMY_HASH, password)
        except VerificationError:
            pass
        return None
    if user.locked_until and user.locked_until > now:
        return None
    try:
        hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        failed = user.failed_logins + 1
        locked = now + LOCK_FOR if failed >= LOCK_AFTER else None
        User.update(failed_logins=0 if locked else failed, locked_until=locked).where(User.id == user.id).execute()
        if locked:
            audit.record("account_locked", user=user, entity="user", entity_id=user.id, at=now)
        return None
    if not user.active:
        return None
    if user.failed_logins or user.locked_until:
        User.update(failed_logins=0, locked_until=None).where(User.id == user.id).execute()
    return user
