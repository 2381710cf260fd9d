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


def start(user: User, now: dt.datetime, ip: str = "", id_token: str = "") -> str:
    """A new session for `user`; the token goes in the cookie, only its hash in the table.

    A single sign-on session keeps the provider's ID token here, on the server:
    in the cookie an Entra ID token listing many groups passes the browser's
    4 KB limit, the browser drops the cookie, and the person is silently out.
    """
    token = secrets.token_urlsafe(32)
    UserSession.create(token_hash=_hash(token), user=user, created_at=now, last_seen_at=now, ip=ip[:64],
                       id_token=id_token or "")
    return token


# The provider's end-session request follows a sign-out within moments; an older one is not honoured.
END_SESSION_WITHIN = dt.timedelta(minutes=10)


def take_id_token(token: str | None, now: dt.datetime) -> str:
    """The ID token of this session, ended at sign-out just now, read once and then forgotten."""
    if not token or not isinstance(token, str) or len(token) > 100:
        return ""
    row = UserSession.get_or_none((UserSession.token_hash == _hash(token)) & UserSession.ended_at.is_null(False))
    if row is None or not row.id_token or now - row.ended_at > END_SESSION_WITHIN:
        return ""
    claimed = UserSession.update(id_token="").where((UserSession.id == row.id) & (UserSession.id_token != "")).execute()
    return row.id_token if claimed == 1 else ""


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
        row.last_seen_at = now
    # When the idle timeout counts from: the page's timeout warning (templates/_timeout_warning.html) reads it.
    user.session_seen_at = row.last_seen_at
    return user


def touch(token: str | None, now: dt.datetime) -> bool:
    """Count this session as used now, whenever it was last touched ("Stay signed in")."""
    if not token or not isinstance(token, str) or len(token) > 100:
        return False
    return UserSession.update(last_seen_at=now).where(
        (UserSession.token_hash == _hash(token)) & UserSession.ended_at.is_null()).execute() == 1


def end(token: str | None, now: dt.datetime, reason: str = "signed_out") -> bool:
    """End this session; True when it holds an ID token for the provider's end-session request."""
    if not (token and isinstance(token, str)):
        return False
    # Only a sign-out keeps the ID token, for the end-session request that follows it.
    keep = reason == "signed_out"
    changes = {"ended_at": now, "end_reason": reason, **({} if keep else {"id_token": ""})}
    UserSession.update(**changes).where(
        (UserSession.token_hash == _hash(token)) & UserSession.ended_at.is_null()).execute()
    return keep and UserSession.select().where(
        (UserSession.token_hash == _hash(token)) & (UserSession.id_token != "")).exists()


def end_all(user_id: int, now: dt.datetime, reason: str) -> int:
    """End every session of this user (password changed, disabled, signed out everywhere)."""
    return UserSession.update(ended_at=now, end_reason=reason, id_token="").where(
        (UserSession.user == user_id) & UserSession.ended_at.is_null()).execute()
