"""The Agreement tracker: a Flask application factory."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError
from jinja2 import ChoiceLoader, FileSystemLoader, PackageLoader, PrefixLoader

from jobs.delivery import mail
from tracker import config, db
from tracker.clock import moment_words, time_words, to_london, utcnow
from tracker.web.extensions import csrf, htmx, login_manager

REFERENCE = re.compile(r"\b(?:PA|WU)-\d{5,}\b")
ROOT = Path(__file__).resolve().parent.parent



def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_path=os.environ.get("TRACKER_INSTANCE", str(ROOT / "instance")),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    # Ids in addresses are ASCII digits within what the database holds; others are a 404.
    from tracker.ids import IdConverter

    app.url_map.converters["int"] = IdConverter
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(config.from_environment(instance))
    if test_config:
        app.config.update(test_config)

    app.jinja_loader = ChoiceLoader(
        [
            FileSystemLoader(str(ROOT / "templates")),
            PrefixLoader({
                "govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja"),
                "govuk_frontend_wtf": PackageLoader("govuk_frontend_wtf"),
            }),
        ]
    )
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    if app.config["TRUST_PROXY"]:
        # Behind a TLS-terminating proxy, believe its X-Forwarded-* headers so
        # request.is_secure is true and HSTS is sent.
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = app.config["TRUST_PROXY"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)

    db.init_app(app)
    # Issue 22: a draft form posted after its session ended is kept before the CSRF check can refuse it.
    from tracker.web.views.drafts import keep_after_session_ended

    app.before_request(keep_after_session_ended)
    csrf.init_app(app)
    htmx.init_app(app)
    mail.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Sign in to continue."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"

    from tracker.web import security
    from tracker.web.views import register_blueprints

    security.init_app(app)
    from tracker.web import assets

    assets.init_app(app)  # static files by WhiteNoise, under hashed names
    from tracker.web import ratelimit

    ratelimit.init_app(app)
    from tracker.family import language

    language.init_app(app)  # Flask-Babel: the family pages' fixed words, in the family's language
    register_blueprints(app)
    register_filters(app)
    register_errors(app)

    from tracker import cli

    cli.init_app(app)

    if app.config["SCHEDULER_ENABLED"]:
        from jobs.scheduler import start_in_process

        start_in_process(app)
    return app


@login_manager.user_loader
def load_user(user_id: str):
    """The user whose server-side session the cookie names; the cookie alone is not enough."""
    from flask import current_app, session

    from tracker.clock import utcnow
    from tracker.people import sessions

    config = current_app.config
    return sessions.user_for(session.get("sid"), user_id, utcnow(),
                             idle=dt.timedelta(minutes=config["SESSION_IDLE_MINUTES"]),
                             lifetime=dt.timedelta(seconds=config["PERMANENT_SESSION_LIFETIME"]))


def register_filters(app: Flask) -> None:
    @app.template_filter("when")
    def when(value):
        """A UTC datetime as London time, or a date, in GOV.UK style."""
        if value is None or value == "":
            return ""
        if isinstance(value, dt.datetime):
            return moment_words(value)
        if isinstance(value, dt.date):
            return value.strftime("%-d %B %Y")
        return str(value)

    @app.template_filter("refs")
    def refs(text):
        """Escape text, keeping each record reference (PA-00001) on one line."""
        from markupsafe import Markup, escape

        return Markup(REFERENCE.sub(r'<span class="app-ref">\g<0></span>', str(escape(text or ""))))

    @app.template_filter("day")
    def day(value):
        if value is None:
            return ""
        if isinstance(value, dt.datetime):
            value = to_london(value).date()
        return value.strftime("%-d %B %Y")

    @app.template_filter("by_when")
    def by_when(action):
        """An action's timescale and date, without saying the date twice."""
        timescale = (action.timescale or "").strip()
        if not action.due_on:
            return timescale
        date = day(action.due_on)
        if date.lower() in timescale.lower():
            return timescale
        return f"{timescale}, by {date}" if timescale else f"by {date}"

    from tracker.web.forms import error_list

    app.jinja_env.globals["form_errors"] = error_list
    from tracker.web import widgets

    widgets.init_app(app)

    from tracker.settings import role_label

    app.jinja_env.globals["role_label"] = role_label
    # The published pages' words (council, phase, feedback); times are said by tracker.clock.time_words.
    from tracker.settings import published

    app.jinja_env.globals["service_published"] = published
    # Issue 20: the copy's out-of-hours wording from the setting; the late-job banner (R18).
    from jobs.runs import late_banner
    from tracker.settings import out_of_hours_wording

    app.jinja_env.globals["out_of_hours_wording"] = out_of_hours_wording
    app.jinja_env.globals["late_banner"] = late_banner
    from tracker.notices.undeliverable import words as undeliverable_words

    app.jinja_env.globals["undeliverable_words"] = undeliverable_words

    @app.context_processor
    def inject():
        from flask_login import current_user

        from tracker.models import END_REASONS, KINDS, LEGAL_ADVICE, PLAN_TYPES, REVIEW_OUTCOMES, STATUSES
        from tracker.people.access import can
        from tracker.records.breaches import RESPONSES as BREACH_RESPONSES
        from tracker.settings import contacts as service_contacts

        return {
            "can": lambda action, agreement=None: can(current_user, action, agreement),
            "KINDS": KINDS,
            "STATUSES": STATUSES,
            "END_REASONS": END_REASONS,
            "PLAN_TYPES": PLAN_TYPES,
            "LEGAL_ADVICE": LEGAL_ADVICE,
            "REVIEW_OUTCOMES": REVIEW_OUTCOMES,
            "BREACH_RESPONSES": BREACH_RESPONSES,
            # service_contacts().front_door_phone and so on; read only when a page asks.
            "service_contacts": service_contacts,
        }


def register_errors(app: Flask) -> None:
    """Every error page names the front door's and the out-of-hours team's numbers and links to
    where to go next for whoever is asking (error.html, tracker/web/next_step.py)."""
    from tracker.web.next_step import next_step

    app.jinja_env.globals["next_step"] = next_step

    def page(status: int, title: str, message: str):
        return render_template("error.html", title=title, message=message), status

    @app.errorhandler(CSRFError)
    def csrf_error(e):
        return page(400, "Your form has expired", "Go back, reload the page and try again. Nothing was saved.")

    @app.errorhandler(400)
    def bad_request(e):
        return page(400, "Something in the request was not right", "Go back and try again.")

    @app.errorhandler(403)
    def forbidden(e):
        return page(403, "You do not have access to this page", "If you think you should, ask your team manager.")

    @app.errorhandler(404)
    def not_found(e):
        return page(404, "Page not found", "If you typed the web address, check it is correct. "
                    "If you pasted it, check you copied the entire address.")

    @app.errorhandler(405)
    def not_allowed(e):
        return page(405, "Page not found", "If you typed the web address, check it is correct.")

    @app.errorhandler(409)
    def conflict(e):
        return page(409, "This has changed since you opened it", "Go back, reload the page to see the change, and try again.")

    @app.errorhandler(410)
    def gone(e):
        return page(410, "This page is no longer available", "What it showed has ended or moved.")

    @app.errorhandler(413)
    def too_large(e):
        return page(413, "That was too much to send at once", "Shorten what you typed and try again.")

    @app.errorhandler(429)
    def too_many(e):
        from tracker.web import ratelimit

        at = ratelimit.retry_at()
        when = f"after {time_words(to_london(at))} (in about {max(1, round((at - utcnow()).total_seconds() / 60))} minutes)" if at else "in a few minutes"
        return page(429, "Too many attempts", f"Wait, then try again {when}.")

    @app.errorhandler(500)
    def server_error(e):
        app.logger.exception("Unhandled error on %s", request.path)
        return page(500, "Sorry, there is a problem with the service", "Try again later. What you typed may not have been saved.")
