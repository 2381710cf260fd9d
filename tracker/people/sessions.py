"""Server-side sessions: the cookie names a row here, and the row can be ended.

The signed cookie alone is not enough to be signed in: it carries a random id
whose SHA-256 must name a `UserSession` that has not ended, has been used within
the idle timeout, and is younger than the absolute lifetime. Ending the row
(sign-out, a password change, a user disabled, "sign out everywhere") makes
every copy of the cookie useless at once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from peewee import JOIN

from tracker.models import Team, User, UserSession
from tracker.prepared import Prepared

# last_seen_at is written at most this often, so reading a page is not a write each time.
TOUCH_EVERY = dt.timedelta(seconds=60)


# Every request reads its session, its user and the user's team: one statement, its SQL built once.
_SESSION = Prepared(lambda p: (
    UserSession.select(UserSession, User, Team)
    .join(User, on=(UserSession.user == User.id))
    .join(Team, JOIN.LEFT_OUTER, on=(User.team == Team.id))
    .where((UserSession.token_hash == p.token_hash) & UserSession.ended_at.is_null())))


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_hash(token: str | None) -> str:
    """The stored form of a cookie's token, to pick out "this computer" in a list."""
    return _hash(token) if isinstance(token, str) else ""


def start(user: User, now: dt.datetime, ip: str = "") -> str:
    """A new session for `user`; the token goes in the cookie, only its hash in the table."""
    token = secrets.token_urlsafe(32)
    UserSession.create(token_hash=_hash(token), user=user, created_at=now, last_seen_at=now, ip=ip[:64])
    return token


def user_for(token: str | None, user_id: str, now: dt.datetime, idle: dt.timedelta,
             lifetime: dt.timedelta) -> User | None:
    """The signed-in user for this cookie's token, or None when its session has ended."""
    if not token or not isinstance(token, str) or len(token) > 100:
        return None
    found = _SESSION.execute(token_hash=_hash(token))
    row = found[0] if found else None
    if row is None or str(row.user_id) != str(user_id):
        return None
    if now - row.last_seen_at > idle:
        end(token, now, "idle")
        return None
    if now - row.created_at > lifetime:
        end(token, now, "expired")
        return None
    user = row.user  # read with the session, and the user's team with it (every page names it)
    if not user.active:
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        UserSession.update(last_seen_at=now).where(UserSession.id == row.id).execute()
    return user


def end(token: str | None, now: dt.datetime, reason: str = "signed_out") -> None:
    if token and isinstance(token, str):
        UserSession.update(ended_at=now, end_reason=reason).where(
            (UserSession.token_hash == _hash(token)) & UserSession.ended_at.is_null()).execute()


def end_all(user_id: int, now: dt.datetime, reason: str) -> int:
    """End every session of this user (password changed, disabled, signed out everywhere)."""
    return UserSession.update(ended_at=now, end_reason=reason).where(
        (UserSession.user == user_id) & UserSession.ended_at.is_null()).execute()
