"""The family's own copy (R20): the family's pages by their link, and the worker's page for the links.

The family's pages (`/f/<token>`) never read or set a staff session and never
link to a staff page. Each is no-store and noindex, carries GOV.UK "Exit this
page", and names nobody in its address. The first visit on a device asks for
the party's code; the device is then remembered by a cookie. Entering codes is
rate limited per link and per address (Flask-Limiter). A link that does not
work reads the same whether it never existed or has stopped, so an address
found in a browser's history tells nothing.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required

from tracker import audit, models, settings
from tracker.clock import utcnow
from tracker.db import database
from tracker.family import language, links
from tracker.models import Party, User
from tracker.notices import ics
from tracker.people.access import get_agreement
from tracker.records import printed, versions
from tracker.web import ratelimit

bp = Blueprint("family", __name__, url_prefix="/f")
staff = Blueprint("family_links", __name__, url_prefix="/agreements")

CALL_BACK_MOST = 500


@bp.app_template_global("family_on_record")
def family_on_record(agreement):
    """The record page's list of family parties and their links (links.on_record)."""
    return links.on_record(agreement, utcnow())


@bp.app_template_global("signatories")
def signatories(parties, worker):
    """The printable copy's parties besides the social worker, and the worker's own party row (printed.signatories)."""
    return printed.signatories(parties, worker)


def _link_key() -> str:
    return "family:" + str((request.view_args or {}).get("token", ""))[:20]


# Every family page, per address; entering a code, per link and per address (below).
ratelimit.limit(lambda: f"{current_app.config.get('AGENCY_RATE_LIMIT', 120)} per 5 minutes")(bp)


def _n(text: str) -> str:
    """Marks a phrase for the catalogs (babel.cfg's keyword); `say` translates it where it is shown."""
    return text


# Errors on a family page keep Exit this page and the family's language.
ERRORS = {
    400: (_n("Your form has expired"), _n("Go back, reload the page and try again. Nothing was saved.")),
    404: (_n("This link does not work"), _n("Check the address in your email or on your paper copy.")),
    405: (_n("This link does not work"), _n("Check the address in your email or on your paper copy.")),
    429: (_n("Too many tries"), _n("Wait 15 minutes, then try again.")),
    500: (_n("Sorry, there is a problem"), _n("Try again later.")),
}


def _family_error(error):
    from werkzeug.exceptions import HTTPException

    status = error.code if isinstance(error, HTTPException) and error.code in ERRORS else 500
    if status == 500:
        current_app.logger.exception("Unhandled error on a family page")
    title, message = ERRORS[status]
    return render_template("family/error.html", title=title, message=message), status


for _status in ERRORS:
    bp.register_error_handler(_status, _family_error)


@bp.context_processor
def _family_page():
    return {"locale": getattr(g, "family_locale", language.ENGLISH), "exit_url": url_for("family.leave")}


@bp.after_request
def _private(response):
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.before_request
def _resolve():
    g.now = utcnow()
    language.choose(language.ENGLISH)
    if request.endpoint == "family.leave":
        return None
    token = (request.view_args or {}).get("token", "")
    access = links.find(token)
    if access is None:
        return render_template("family/not_working.html"), 404
    agreement = models.read_once(models.Agreement.get_by_id(access.agreement_id))
    party = Party.get_by_id(access.party_id)
    language.choose(language.locale_for(agreement.first_language))
    g.access, g.agreement, g.party, g.token = access, agreement, party, token
    stopped = links.stop_reason(access, agreement, party)
    if stopped:
        audit.record("family_stopped_link_opened", actor=links.party_actor(access), agreement=agreement,
                     entity="party", entity_id=party.id,
                     changes={"link": [None, f"refused: {links.STOPPED.get(stopped, stopped)}"]},
                     ip=request.remote_addr or "", at=g.now)
        return render_template("family/not_working.html"), 410
    if request.endpoint != "family.code" and not links.device_known(
            access, request.cookies.get(links.DEVICE_COOKIE), g.now):
        return redirect(url_for("family.code", token=token))
    return None


def _used(action: str, changes: dict | None = None) -> None:
    audit.record(action, actor=links.party_actor(g.access), agreement=g.agreement, entity="party",
                 entity_id=g.party.id, changes=changes, ip=request.remote_addr or "", at=g.now)


@bp.route("/exit")
def leave():
    """Exit this page: the device forgets the copy (the code is asked again) and the browser goes
    to a neutral site. GOV.UK's guidance asks a service with a session to end it on exit; a Back
    press then finds the code page, which shows nothing of the record."""
    with database.atomic():
        access = links.forget_device(request.cookies.get(links.DEVICE_COOKIE), g.now)
        if access is not None:
            audit.record("family_exit_pressed", actor=links.party_actor(access), agreement=access.agreement_id,
                         entity="party", entity_id=access.party_id, changes={"device": ["remembered", "forgotten"]},
                         ip=request.remote_addr or "", at=g.now)
    response = redirect(settings.get("family_exit_url"), code=303)
    response.delete_cookie(links.DEVICE_COOKIE, path="/f/", httponly=True, samesite="Lax", secure=request.is_secure)
    return response


@bp.route("/<token>/code", methods=["GET", "POST"])
@ratelimit.limit("10 per 15 minutes", key=_link_key, methods=["POST"], scope="family-code")
@ratelimit.limit("30 per 15 minutes", methods=["POST"], scope="family-code-address")
def code(token: str):
    """The first visit on a device: the party's code, given in person or on their paper copy."""
    error = ""
    if request.method == "POST":
        typed = request.form.get("code", "")[:40]
        if links.code_matches(g.access, typed):
            with database.atomic():
                secret = links.remember_device(g.access, g.now)
                _used("family_device_added", {"device": [None, "code entered"]})
            response = redirect(url_for("family.index", token=token), code=303)
            response.set_cookie(links.DEVICE_COOKIE, secret, max_age=links.DEVICE_DAYS * 86400,
                                path="/f/", httponly=True, samesite="Lax", secure=request.is_secure)
            return response
        _used("family_code_refused", {"code": [None, "wrong code"]})
        error = "wrong"
        return render_template("family/code.html", error=error, typed=typed), 400
    return render_template("family/code.html", error=error, typed="")


def _context(**extra) -> dict:
    agreement = g.agreement
    children = models.children_of(agreement)
    actions = models.live_actions(agreement)
    parties = models.live_parties(agreement)
    recipients = models.live_recipients(agreement)
    contacts = settings.contacts()
    worker = User.get_or_none(User.id == agreement.social_worker_id) if agreement.social_worker_id else None
    signers, worker_party = printed.signatories(parties, worker)
    changed = []
    history = models.versions_of(agreement)
    if len(history) >= 2:
        changed = versions.changed_labels(history[-2].data(), history[-1].data())
    return dict(
        a=agreement, agreement=agreement, children=children, actions=actions, groups=printed.by_party(actions),
        parties=parties, signers=signers, worker_party=worker_party, recipients=recipients,
        review=models.next_review(agreement), contacts=contacts, worker=worker,
        worker_phone=models.worker_telephone(agreement, worker), token=g.token, party=g.party,
        read=links.has_read(g.access, agreement.version), changed=changed,
        translations=links.translations_of(agreement), **extra)


@bp.route("/<token>")
def index(token: str):
    _used("family_copy_opened", {"version": [None, g.agreement.version]})
    return render_template("family/copy.html", **_context(done=request.args.get("done", "")))


@bp.route("/<token>/read", methods=["POST"])
def read(token: str):
    with database.atomic():
        links.confirm_read(g.access, g.agreement, g.now, ip=request.remote_addr or "")
    return redirect(url_for("family.index", token=token, done="read") + "#read", code=303)


@bp.route("/<token>/call-back", methods=["GET", "POST"])
def call_back(token: str):
    if request.method == "GET":
        return render_template("family/call_back.html", **_context(typed="", error=""))
    message = (request.form.get("message") or "").strip()
    error = ""
    if not message:
        error = "empty"
    elif len(message) > CALL_BACK_MOST:
        error = "long"
    if error:
        return render_template("family/call_back.html", **_context(typed=request.form.get("message", ""),
                                                                    error=error)), 400
    with database.atomic():
        links.ask_call_back(g.access, g.agreement, message, g.now, ip=request.remote_addr or "")
    return redirect(url_for("family.index", token=token, done="call-back"), code=303)


@bp.route("/<token>/review.ics")
def review_ics(token: str):
    """The next review as a calendar invitation to download; it names nobody."""
    review = models.next_review(g.agreement)
    if review is None:
        abort(404)
    contacts = settings.contacts()
    worker = User.get_or_none(User.id == g.agreement.social_worker_id) if g.agreement.social_worker_id else None
    organizer = worker.email if worker else contacts["front_door_email"]
    text = ics.review_invitation(
        review_id=review.id, scheduled_at=review.scheduled_at, sequence=review.sequence,
        summary=gettext("Review meeting"), venue=review.venue or "",
        description=gettext("The review of your agreement with %(council)s.",
                                     council=contacts["council_name"]),
        organizer=organizer, attendee=g.access.address or organizer, base_url=current_app.config["BASE_URL"],
        now=g.now)
    _used("family_review_downloaded", {"review": [None, review.id]})
    response = Response(text, mimetype="text/calendar")
    response.headers["Content-Disposition"] = 'attachment; filename="review.ics"'
    return response


# --- the worker's page for the family's links ---------------------------------------------


@staff.before_request
@login_required
def _signed_in() -> None:
    """Every page here needs a signed-in user."""


def _party(agreement, party_id: int) -> Party:
    party = Party.get_or_none((Party.id == party_id) & (Party.agreement == agreement.id))
    if party is None or party.removed_at is not None:
        abort(404)
    return party


def _links_page(agreement, status: int = 200, **extra):
    now = utcnow()
    return render_template("family/links.html", agreement=agreement, a=agreement,
                           rows=links.on_record(agreement, now), channels=links.channels_offered(),
                           translations=links.translations_of(agreement),
                           errors=extra.pop("errors", {}), typed=extra.pop("typed", {}), **extra), status


@staff.route("/<int:agreement_id>/family")
def links_page(agreement_id: int):
    agreement = get_agreement(agreement_id, "view")
    audit.viewed(agreement, "family_links_viewed", user=current_user, ip=request.remote_addr or "")
    return _links_page(agreement)


@staff.route("/<int:agreement_id>/family/<int:party_id>/send", methods=["POST"])
def send(agreement_id: int, party_id: int):
    agreement = get_agreement(agreement_id, "view")
    if not (models_can(agreement, "manage_links") or models_can(agreement, "endorse")):
        abort(403)
    party = _party(agreement, party_id)
    typed = {k: request.form.get(k, "") for k in ("channel", "address", "harms_reason")}
    try:
        with database.atomic():
            access, code = links.send_link(agreement, party, current_user, utcnow(), channel=typed["channel"],
                                           address=typed["address"], harms_reason=typed["harms_reason"])
    except links.Refused as refused:
        return _links_page(agreement, 400, errors={party.id: refused.errors}, typed={party.id: typed})
    # The code is shown once, here, to give in person or print; only its hash is kept.
    return render_template("family/sent.html", agreement=agreement, a=agreement, party=party, access=access,
                           code=code, url=links.family_url(access), contacts=settings.contacts())


@staff.route("/<int:agreement_id>/family/<int:party_id>/stop", methods=["POST"])
def stop(agreement_id: int, party_id: int):
    agreement = get_agreement(agreement_id, "manage_links")
    party = _party(agreement, party_id)
    with database.atomic():
        links.stop(links.access_for(party), agreement, current_user, utcnow())
    flash("The link was stopped. It no longer opens the copy on any device.", "success")
    return redirect(url_for("family_links.links_page", agreement_id=agreement.id), code=303)


@staff.route("/<int:agreement_id>/family/<int:party_id>/withhold", methods=["POST"])
def withhold(agreement_id: int, party_id: int):
    agreement = get_agreement(agreement_id, "manage_links")
    party = _party(agreement, party_id)
    try:
        with database.atomic():
            if request.form.get("lift"):
                links.lift_do_not_send(agreement, party, current_user, utcnow())
            else:
                links.mark_do_not_send(agreement, party, current_user, utcnow(), request.form.get("reason", ""))
    except links.Refused as refused:
        return _links_page(agreement, 400, errors={party.id: refused.errors},
                           typed={party.id: {"reason": request.form.get("reason", "")}})
    return redirect(url_for("family_links.links_page", agreement_id=agreement.id), code=303)


@staff.route("/<int:agreement_id>/family/translation", methods=["POST"])
def translation(agreement_id: int):
    agreement = get_agreement(agreement_id, "manage_links")
    typed = {"language": request.form.get("language", ""), "text": request.form.get("text", "")}
    try:
        with database.atomic():
            links.attach_translation(agreement, current_user, utcnow(), typed["language"], typed["text"])
    except links.Refused as refused:
        return _links_page(agreement, 400, errors={"translation": refused.errors}, typed={"translation": typed})
    flash("The translated copy is attached. The family's page shows it beside their copy.", "success")
    return redirect(url_for("family_links.links_page", agreement_id=agreement.id), code=303)


def models_can(agreement, action: str) -> bool:
    from tracker.people.access import can

    return can(current_user, action, agreement)

