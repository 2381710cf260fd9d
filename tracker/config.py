"""Settings from the environment, with safe development defaults.

Every setting the application reads is parsed here by a small typed parser
that fails loudly on a bad value, so a typo in production stops start-up
instead of silently using a default. `config.example.env` documents each one.
"""

from __future__ import annotations

import os
import secrets
import socket
from pathlib import Path


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message says which and why."""


def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return default if value in (None, "") else value


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value in (None, ""):
        return default
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, not {value!r}")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value in (None, ""):
        return default
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {value!r}") from None


def env_time(name: str, default: str) -> str:
    value = env_str(name, default) or default
    try:
        hour, minute = (int(part) for part in value.split(":"))
    except ValueError:
        raise ConfigError(f"{name} must be a time like 07:30, not {value!r}") from None
    if not (0 <= hour < 24 and 0 <= minute < 60):
        raise ConfigError(f"{name} must be a time like 07:30, not {value!r}")
    return f"{hour:02d}:{minute:02d}"


def env_office_hours(name: str) -> str | None:
    """Office hours such as "Mon-Fri 09:00-17:00" (tracker.rules.parse_office_hours), or None."""
    from tracker.rules import parse_office_hours

    value = env_str(name)
    if value is not None:
        try:
            parse_office_hours(value)
        except ValueError as exc:
            raise ConfigError(f"{name}: {exc}") from None
    return value


NOTIFY_KEY = r"(?:[^\s]+-)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def env_notify_key(name: str) -> str | None:
    """A GOV.UK Notify API key, `{key name}-{service id}-{secret}` (two UUIDs at its end), or None.

    Read from the environment only, never stored in the database: whoever can read
    a backup must not be able to send texts as the council."""
    import re

    value = env_str(name)
    if value is not None and not re.fullmatch(NOTIFY_KEY, value.strip()):
        raise ConfigError(f"{name} must be a GOV.UK Notify API key: its name, then the service id and the secret "
                          "(two ids like 26785a09-ab16-4eb0-8407-a37497a57506), joined by hyphens")
    return value.strip() if value is not None else None


def development_secret_key(instance_path: Path) -> str:
    """Read, or create on first run, a secret key kept in instance/ (git-ignored).

    Only used in development: outside it a missing SECRET_KEY stops start-up,
    because a key generated on one web worker would not match another's.
    """
    path = instance_path / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


def served_url() -> str:
    """The address `flask run` serves in development (FLASK_RUN_HOST and
    FLASK_RUN_PORT, which `make run` sets from HOST and PORT), for links in
    emails when BASE_URL is not set."""
    host = env_str("FLASK_RUN_HOST", "127.0.0.1") or "127.0.0.1"
    if host in ("0.0.0.0", "::"):
        # Listening on every interface: other machines reach it by this name.
        host = socket.getfqdn()
    port = env_int("FLASK_RUN_PORT", 5000)
    return f"http://{'[' + host + ']' if ':' in host else host}:{port}"


def base_url(environment: str) -> str:
    value = env_str("BASE_URL")
    if value is None:
        if environment == "production":
            raise ConfigError(
                "BASE_URL is not set. In production the application will not start "
                "without it: every link in an email is built from it. Set BASE_URL to "
                "the address staff and agencies use, for example https://agreements.example.gov.uk."
            )
        value = served_url()
    if not value.startswith(("http://", "https://")):
        raise ConfigError(f"BASE_URL must start with http:// or https://, not {value!r}")
    return value.rstrip("/")


def from_environment(instance_path: Path) -> dict:
    """Build the Flask config mapping from environment variables."""
    environment = env_str("TRACKER_ENV", "development")
    if environment not in ("development", "production", "test"):
        raise ConfigError("TRACKER_ENV must be development, production or test")
    secret_key = env_str("SECRET_KEY")
    if secret_key is None:
        if environment != "development":
            raise ConfigError(
                "SECRET_KEY is not set. Outside development the application will not "
                "start without it: set SECRET_KEY to a long random string, for example "
                "the output of `python -c 'import secrets; print(secrets.token_hex(32))'`."
            )
        secret_key = development_secret_key(instance_path)
    issuer, client_id, client_secret = env_str("OIDC_ISSUER"), env_str("OIDC_CLIENT_ID"), env_str("OIDC_CLIENT_SECRET")
    if issuer and not (client_id and client_secret):
        raise ConfigError("OIDC_ISSUER is set: set OIDC_CLIENT_ID and OIDC_CLIENT_SECRET too (from the identity provider)")
    password_sign_in = env_bool("PASSWORD_SIGN_IN", True)
    if not password_sign_in and not issuer:
        raise ConfigError("PASSWORD_SIGN_IN=false needs single sign-on: set OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET")
    return {
        # Single sign-on with OpenID Connect (issue 14); see tracker/people/sso.py.
        "OIDC_ISSUER": (issuer or "").rstrip("/") or None,
        "OIDC_CLIENT_ID": client_id,
        "OIDC_CLIENT_SECRET": client_secret,
        "OIDC_PROVIDER_NAME": env_str("OIDC_PROVIDER_NAME", "your council account"),
        "OIDC_SCOPES": env_str("OIDC_SCOPES", "openid email profile"),
        "OIDC_GROUPS_CLAIM": env_str("OIDC_GROUPS_CLAIM", "groups"),
        "PASSWORD_SIGN_IN": password_sign_in,
        "TRACKER_ENV": environment,
        "SECRET_KEY": secret_key,
        "DATABASE_URL": env_str("DATABASE_URL", f"sqlite:///{instance_path / 'tracker.db'}"),
        "MAIL_SERVER": env_str("MAIL_SERVER"),
        "MAIL_PORT": env_int("MAIL_PORT", 25),
        "MAIL_USE_TLS": env_bool("MAIL_USE_TLS", False),
        "MAIL_USERNAME": env_str("MAIL_USERNAME"),
        "MAIL_PASSWORD": env_str("MAIL_PASSWORD"),
        "MAIL_DEFAULT_SENDER": env_str("MAIL_DEFAULT_SENDER", "agreement-tracker@localhost"),
        "MAIL_TIMEOUT": env_int("MAIL_TIMEOUT", 20),
        "MAIL_REPLY_TO": env_str("MAIL_REPLY_TO"),
        # Text messages through GOV.UK Notify (tracker/notices/texts.py): the council's API key, from the
        # environment only. Unset, no text is offered; the template ids and Notify's address are service settings.
        "NOTIFY_API_KEY": env_notify_key("NOTIFY_API_KEY"),
        "NOTIFY_TIMEOUT": env_int("NOTIFY_TIMEOUT", 20),
        # Flask-Mail would otherwise stop sending whenever app.testing is set;
        # the tests send to a real SMTP server.
        "MAIL_SUPPRESS_SEND": False,
        # Only the default of the front_door_email service setting (tracker.settings).
        "FRONT_DOOR_EMAIL": env_str("FRONT_DOOR_EMAIL"),
        # Only the default of the office_hours service setting, for example "Mon-Fri 09:00-17:00".
        "OFFICE_HOURS": env_office_hours("OFFICE_HOURS"),
        "BASE_URL": base_url(environment),
        "SCHEDULER_ENABLED": env_bool("SCHEDULER_ENABLED", False),
        # A watched runner (issue 20, R18): an outside monitor's URL called after each pass
        # (healthchecks.io style; "/fail" added on a failed one), and whether pages show the late-job banner.
        "JOB_PING_URL": env_str("JOB_PING_URL"),
        "JOBS_WATCHED": env_bool("JOBS_WATCHED", True),
        "SESSION_COOKIE_SECURE": env_bool("SESSION_COOKIE_SECURE", environment == "production"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_NAME": "tracker_session",
        # A session's absolute lifetime, and how long it may sit unused (tracker/people/sessions.py).
        "PERMANENT_SESSION_LIFETIME": env_int("SESSION_MINUTES", 8 * 60) * 60,
        "SESSION_IDLE_MINUTES": env_int("SESSION_IDLE_MINUTES", 60),
        # How long before the idle timeout every staff page warns, with "Stay signed in" (WCAG 2.2.1).
        "SESSION_WARNING_SECONDS": env_int("SESSION_WARNING_SECONDS", 120),
        # Rate limits' store: memory:// per process, or redis://host:6379 shared by every worker.
        "RATELIMIT_STORAGE_URI": env_str("RATELIMIT_STORAGE_URI", "memory://"),
        # Counts' names in the shared store start with this: two services sharing one Redis keep theirs apart.
        "RATELIMIT_KEY_PREFIX": env_str("RATELIMIT_KEY_PREFIX", "tracker"),
        "AGENCY_LINK_RATE_LIMIT": env_int("AGENCY_LINK_RATE_LIMIT", 30),
        "TRUST_PROXY": env_int("TRUST_PROXY", 0),
        "LOGIN_RATE_LIMIT": env_int("LOGIN_RATE_LIMIT", 20),
        "AGENCY_RATE_LIMIT": env_int("AGENCY_RATE_LIMIT", 60),
        "DIGEST_AT": env_time("DIGEST_AT", "07:30"),
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "WTF_CSRF_TIME_LIMIT": None,
        "MAX_CONTENT_LENGTH": 1024 * 1024,
    }
