"""Rate limits, by Flask-Limiter: sign-in and agency links.

Counts live in the store named by RATELIMIT_STORAGE_URI: `memory://` (each
process its own, the default) or `redis://host:6379` (one count for every web
worker; see the README). Views use the decorators:

    @ratelimit.sign_in            # failed sign-ins per address
    @ratelimit.limit("3 per hour", key=lambda: request.form.get("email", ""))

and the blueprint-wide `ratelimit.agency_links(bp)` limits agency pages per
address and per link. `allow(bucket, key, limit, per_seconds)` counts one hit in
the same store for code that is not a whole view.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable

from flask import Flask, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import RateLimitItemPerSecond

limiter = Limiter(key_func=get_remote_address, headers_enabled=True)


def init_app(app: Flask) -> None:
    app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "tracker")
    if app.config.get("TRACKER_ENV") == "production" and app.config["RATELIMIT_STORAGE_URI"].startswith("memory"):
        from tracker.config import ConfigError

        # Each gunicorn worker would count on its own: a limit of 20 lets 20 per worker through.
        raise ConfigError("RATELIMIT_STORAGE_URI is memory:// (each worker counts on its own). In production set it "
                          "to a store every worker shares, for example redis://127.0.0.1:6379")
    limiter.init_app(app)


def limit(value: str | Callable[[], str], key: Callable[[], str] | None = None, **options):
    """A route (or blueprint) limit: `value` like "5 per minute", counted per `key` (default the address)."""
    return limiter.limit(value, key_func=key, **options)


def _failed(response) -> bool:
    return response.status_code >= 400


# Sign-in: only failed attempts count, so an office of colleagues signing in at
# nine behind one proxy address never uses the allowance up.
sign_in = limit(lambda: f"{current_app.config['LOGIN_RATE_LIMIT']} per 5 minutes", methods=["POST"],
                deduct_when=_failed)


def _link_key() -> str:
    """The link's verified value (its distribution entry), so a token with a character added is the same link.

    A token that does not verify shares one count with every other such token.
    """
    from itsdangerous import BadSignature

    from tracker.agencies import tokens

    token = (request.view_args or {}).get("token", "")
    try:
        data = tokens._serializer().loads(token)
    except (BadSignature, UnicodeError, ValueError):
        return "link:unverified"
    if isinstance(data, dict) and type(data.get("r")) is int:
        return f"link:r{data['r']}"
    return "link:" + hashlib.sha256(str(token).encode()).hexdigest()[:32]


def agency_links(blueprint) -> None:
    """Every agency page: limited per address, and per link wherever it is used from."""
    limit(lambda: f"{current_app.config['AGENCY_RATE_LIMIT']} per 5 minutes")(blueprint)
    limit(lambda: f"{current_app.config['AGENCY_LINK_RATE_LIMIT']} per 5 minutes", key=_link_key,
          scope="agency-link")(blueprint)


def allow(bucket: str, key: str, limit: int, per_seconds: float, now: float | None = None) -> bool:
    """Record one hit for `key`; False when it has used up `limit` hits in the window."""
    item = RateLimitItemPerSecond(limit, max(1, int(per_seconds)))
    return limiter.limiter.hit(item, bucket, key)


def retry_at() -> dt.datetime | None:
    """When the limit this request broke lets the next one through (UTC, naive)."""
    current = limiter.current_limit
    if current is None:
        return None
    return dt.datetime.fromtimestamp(current.reset_at, dt.timezone.utc).replace(tzinfo=None)


def reset() -> None:
    """Forget every count (tests). Before any app has started there is nothing to forget."""
    if limiter.initialized:
        limiter.reset()
