"""The register: record, view, print, submit, endorse and end agreements and undertakings."""

from __future__ import annotations

import json
import re

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from peewee import JOIN, SQL, fn

from tracker import audit, models, rules, settings
from tracker.agencies import links, tokens
from tracker.clock import utcnow
from tracker.db import database, index_costed
from tracker.ids import parse_id, parse_number, parse_page
from tracker.models import (
    KINDS,
    STATUSES,
    Agency,
    Agreement,
    AuditEvent,
    Recipient,
    User,
)
from tracker.oversight.dashboard import children_names
from tracker.people.access import (
    get_agreement,
    may_endorse,
    require,
    scope_is_a_team,
    visible_agreements,
    visible_children,
)
from tracker.records import drafting, identity, lifecycle, printed, search, versions
from tracker.records import history as history_words
from tracker.records.breaches import timeline as breach_timeline
from tracker.records.quality import checks
from tracker.records.readiness import readiness
from tracker.records.warnings import signs_of
from tracker.web.extensions import htmx
from tracker.web.forms import AgreementForm, EndForm, EndorseForm, IssueForm, options
from tracker.web.once import AlreadySent, new_key, once
from tracker.web.views import drafts

bp = Blueprint("agreements", __name__, url_prefix="/agreements")
PAGE_SIZE = 25
ROW_SECTIONS = {"children": "children", "actions": "actions", "parties": "parties", "recipients": "recipients"}


@bp.app_template_global("worker_telephone")
def worker_telephone(agreement) -> str:
    """The social worker's one number (README, "One contact number"): for the family's copy."""
    return models.worker_telephone(agreement)


@bp.app_template_global("field_label")
def field_label(name: str) -> str:
    """A field's plain words from the registry, for pages that list stored fields (the subject access PDF)."""
    return history_words.field_label(name)


@bp.before_request
@login_required
def _signed_in() -> None:
    """Every page here needs a signed-in user."""


def _viewed(agreement: Agreement, what: str = "viewed") -> None:
    audit.record(what, user=current_user, agreement=agreement, entity="agreement", entity_id=agreement.id,
                 ip=request.remote_addr or "")


@bp.route("")
def register():
    require("dashboard")
    query = visible_agreements(current_user)
    q = (request.args.get("q") or "").strip()[:100]
    status = request.args.get("status") or ""
    kind = request.args.get("kind") or ""
    worker = request.args.get("worker") or ""
    if q:
        query = search.narrow(query, q, current_user.team_id if scope_is_a_team(current_user) else None)
    if status in STATUSES:
        query = query.where(Agreement.status == status)
    if kind in KINDS:
        query = query.where(Agreement.kind == kind)
    if parse_id(worker) is not None:
        query = query.where(Agreement.social_worker == parse_id(worker))
    # Sorting narrow rows (the page's ids), not whole records, was most of a search for
    # a common surname (issue 24).
    newest_first = (Agreement.updated_at.desc(), Agreement.id.desc())
    page = parse_page(request.args.get("page"))
    if q:
        # A search: the page's ids and the count of every match in one statement (a
        # window count), then the page's rows by those ids, so the index look-up runs
        # once a request, not for the count and again for the page (SQLite 34 -> 18 ms
        # at 1x). Not for the plain register: a window count reads and sorts every
        # visible record (1 -> 6 ms for a team, 28 -> 128 ms for the service).
        def page_ids(page: int) -> tuple[list[int], int]:
            with index_costed():  # PostgreSQL: the trigram index, not a read of every child
                found = list(query.select(Agreement.id, fn.COUNT(SQL("*")).over()).order_by(*newest_first)
                             .paginate(page, PAGE_SIZE).tuples())
            return [i for i, _ in found], (found[0][1] if found else 0)

        on_page, total = page_ids(page)
        if not on_page and page > 1:  # past the last page: the last page (a count more, only then)
            page = max(1, -(-query.count() // PAGE_SIZE))
            on_page, total = page_ids(page)
    else:
        total = query.count()
        page = min(page, max(1, -(-total // PAGE_SIZE)))
        on_page = query.select(Agreement.id).order_by(*newest_first).paginate(page, PAGE_SIZE)
    pages = max(1, -(-total // PAGE_SIZE))
    # A search that found nothing has no ids to read (the plain register's are a subquery).
    rows = [] if isinstance(on_page, list) and not on_page else list(
        Agreement.select(Agreement, User)
        .join(User, on=(Agreement.social_worker == User.id), join_type=JOIN.LEFT_OUTER)
        .where(Agreement.id.in_(on_page))
        .order_by(*newest_first)
    )
    names = children_names([a.id for a in rows])
    workers = User.select().where(User.role == "social_worker").order_by(User.name)
    if current_user.role != "service_manager":
        workers = workers.where(User.team == current_user.team_id)
    context = dict(
        rows=rows, names=names, total=total, page=page, pages=pages,
        q=q, status=status, kind=kind, worker=worker, workers=list(workers),
    )
    template = "agreements/_register_table.html" if htmx and htmx.target == "register-results" else "agreements/register.html"
    return render_template(template, **context)


def _worker_choices(kind: str, team_id: int | None, current: int | None = None) -> list:
    """The team's social workers; a record already held by someone else keeps them in the list."""
    workers = User.select().where(
        (User.team == team_id) & (User.active == True)  # noqa: E712
        & ((User.role == "social_worker") | (User.id == (current or 0)))
    ).order_by(User.name)
    choices = [(w.id, f"{w.name} ({settings.role_label(w).lower()})") for w in workers]
    if kind == "undertaking":
        choices.insert(0, (0, f"No social worker named (the {settings.contacts()['front_door_term'].lower()} is contacted)"))
    return options(choices)


def _directory() -> list[Agency]:
    return list(Agency.select().where(Agency.active == True).order_by(Agency.name))  # noqa: E712


def _offer_directory(form: AgreementForm) -> None:
    """Each distribution entry may be picked from the administrators' agency directory."""
    choices = options([("", "Not in the directory: type the details below"),
                       *((str(a.id), f"{a.name} ({a.kind_label.lower()})") for a in _directory())])
    for entry in form.recipients:
        entry.form.directory.choices = choices


def _fill_from_directory(form: AgreementForm, value: str) -> None:
    """Fill a distribution entry from the directory: "recipients-N" (its select) or "recipients-N:agency id"."""
    row, _, agency_id = value.partition(":")
    for entry in form.recipients:
        if entry.id != row:
            continue
        chosen = agency_id or (entry.form.directory.data or "")
        agency = Agency.get_or_none((Agency.id == parse_id(chosen)) & (Agency.active == True)) if (  # noqa: E712
            parse_id(chosen) is not None) else None
        if agency is None:
            entry.form.directory.errors = ["Select an agency from the directory"]
            return
        entry.form.directory.data = str(agency.id)
        entry.form.agency_name.data = agency.name
        entry.form.agency_kind.data = agency.kind
        if agency.email and not (entry.form.email.data or "").strip():
            entry.form.email.data = agency.email


def _posted_position(section: str, index: str) -> int | None:
    """Where the row the page named `section-index` stands in the form now.

    WTForms numbers the posted rows afresh from 0, so once a row in the middle
    has been removed the page's names (0, 2) and the form's (0, 1) differ.
    """
    position = parse_number(index, 0, 999)
    if position is None:
        return None
    pattern = re.compile(rf"{re.escape(section)}-([0-9]{{1,3}})-")
    posted = sorted({int(m.group(1)) for key in request.form if (m := pattern.match(key))})
    return posted.index(position) if position in posted else None


def _row_operation(form: AgreementForm) -> bool:
    """Add or remove a repeated row in place; True when the request was one.

    The same buttons work without JavaScript (the page comes back with the row
    added or removed) and with htmx (only that section comes back).
    """
    add = request.form.get("add")
    remove = request.form.get("remove")
    fill = request.form.get("fill")
    if fill and fill.startswith("recipients-"):
        row, colon, agency = fill[:60].partition(":")
        position = _posted_position("recipients", row.rpartition("-")[2])
        if position is not None and position < len(form.recipients.entries):
            _fill_from_directory(form, form.recipients.entries[position].id + colon + agency)
        return True
    if add in ROW_SECTIONS:
        field = getattr(form, add)
        if len(field.entries) < field.max_entries:
            field.append_entry()
        return True
    if remove and "-" in remove:
        section, _, index = remove.rpartition("-")
        if section in ROW_SECTIONS and re.fullmatch(r"[0-9]{1,3}", index):
            field = getattr(form, section)
            position = _posted_position(section, index)
            entries = [e for i, e in enumerate(field.entries) if i != position]
            if position is not None and len(entries) >= field.min_entries:
                field.entries = entries
                # So the next row added is named, and anchored, after the last one shown.
                field.last_index = max((int(e.id.rpartition("-")[2]) for e in entries), default=-1)
            return True
    return False


def shown_data(agreement: Agreement) -> dict:
    """What the edit page shows: the variation's content when one is open, else the record."""
    variation = models.in_progress(agreement) if agreement.status == "active" else None
    return versions.proposed(agreement, variation) if variation else drafting.form_data(agreement)


def stale(form, agreement_id: int) -> list[dict]:
    """After a refused decision (409): what changed since the page was opened, and
    the form re-stamped with the record's revision now, keeping what was typed."""
    changes = versions.changes_since(agreement_id, form.opened_at.data)
    form.open_on(Agreement.get_by_id(agreement_id))
    return changes


def stale_record(form, agreement_id: int):
    """After a refused save of the record's form (409): what changed since the page was opened, in the
    registry's words, and the form filled with the record now plus only this
    person's own changes, re-stamped with the revision now (R12, R15)."""
    agreement = Agreement.get_by_id(agreement_id)
    now = shown_data(agreement)
    opened = None
    if getattr(form, "snapshot", None) is not None and form.snapshot.data:
        try:
            opened = versions.revive(json.loads(form.snapshot.data))
        except (ValueError, TypeError, AttributeError):
            opened = None
    changes = versions.changes_since(agreement_id, form.opened_at.data, opened, now, form.data)
    if opened is not None:
        merged = versions.rebase(opened, now, form.data)
        choices = form.social_worker.choices
        form = AgreementForm(formdata=None, data=merged)
        form.social_worker.choices = choices
        _offer_directory(form)
        form.snapshot.data = versions.to_json(now)
    form.open_on(agreement)
    return changes, form


def _render_form(form, kind, agreement=None, status=200, changed_since=None, already_sent=None, restored=None,
                 page="agreements/form.html", **extra):
    section = (request.form.get("add") or (request.form.get("remove") or "").rpartition("-")[0]
               or ("recipients" if request.form.get("fill") else ""))
    variation = models.in_progress(agreement) if agreement is not None and agreement.status == "active" else None
    context = dict(form=form, kind=kind, agreement=agreement, kind_label=KINDS[kind], variation=variation,
                   changed_since=changed_since, already_sent=already_sent, restored=restored,
                   closure_max_weeks=settings.get("closure_undertaking_max_weeks"), **extra)
    if request.form.get("add") in ROW_SECTIONS:
        # The row just added takes focus (autofocus), so the page, or htmx's
        # swapped section, comes back at it and not at the top of a long form.
        entries = getattr(form, request.form["add"]).entries
        context["added"] = entries[-1].id if entries else None
    elif section in ROW_SECTIONS and request.form.get("remove"):
        # The button pressed went with its row: the focus moves to the row that
        # took its place (or the one before it, when it was the last).
        position = _posted_position(section, request.form["remove"].rpartition("-")[2])
        entries = getattr(form, section).entries
        if entries and position is not None:
            context["added"] = entries[min(position, len(entries) - 1)].id
    elif section == "recipients" and request.form.get("fill"):
        # The row filled in from the directory keeps the focus its button had.
        position = _posted_position("recipients", request.form["fill"][:60].partition(":")[0].rpartition("-")[2])
        if position is not None and position < len(form.recipients.entries):
            context["added"] = form.recipients.entries[position].id
    if htmx and section in ROW_SECTIONS:
        return render_template(f"agreements/_{section}.html", **context), status
    return render_template(page, **context), status


def _apply_form(form: AgreementForm, kind: str, agreement: Agreement | None, restored=None):
    if kind == "undertaking":
        form.if_things_go_wrong.label.text = "What will happen if the undertaking is breached"
    _offer_directory(form)
    if request.method == "POST" and _row_operation(form):
        _offer_directory(form)
        return _render_form(form, kind, agreement)
    if request.method == "POST":
        if form.validate_on_submit():
            def save() -> str:
                if agreement is not None and agreement.status == "active":
                    message = _save_active(agreement, form)
                    saved = agreement
                else:
                    saved = drafting.save(agreement, kind, form.data, current_user, utcnow(), revision=form.revision.data)
                    message = f"{saved.reference} saved"
                flash(message, "success")
                url = url_for("agreements.show", agreement_id=saved.id)
                return url + "#same-child" if identity.possible_matches(saved, visible_children(current_user)) else url

            try:
                # A new record is created once per form, however often it is posted.
                url = save() if agreement is not None else once(form.once_key.data, save)
                drafts.used()  # the typing is on the record now; its draft is kept, marked used
            except models.Stale:
                changes, form = stale_record(form, agreement.id)
                return _render_form(form, kind, agreement, 409, changed_since=changes)
            except AlreadySent as sent:
                form.once_key.data = new_key()
                return _render_form(form, kind, agreement, 409, already_sent=sent.url)
            except rules.RuleBroken as broken:
                for name, message in broken.errors.items():
                    getattr(form, name).errors = [*getattr(form, name).errors, message]
                return _render_form(form, kind, agreement, 400)
            return redirect(url)
        return _render_form(form, kind, agreement, 400)
    return _render_form(form, kind, agreement, restored=restored)


def _save_active(agreement: Agreement, form: AgreementForm) -> str:
    """Save an active record's form: working details at once, what the family agreed as a variation (R11).

    Each field is one or the other by the registry (tracker.records.fields), so
    nothing typed falls between the two and is answered "saved" and dropped (R15).
    """
    now = utcnow()
    typed = form.data
    if agreement.kind == "undertaking":
        # The service's ceiling applies to a new window as to the first (R4).
        errors = drafting.window_errors_for(typed, current_user)
        if errors:
            raise rules.RuleBroken(errors)
    working, family_changed, variation = versions.save_active(agreement, typed, current_user, now,
                                                              revision=form.revision.data)
    parts = []
    if working:
        parts.append(f"{agreement.reference} saved: {_listed(working)} changed at once.")
    if family_changed:
        parts.append(f"Your changes to what the family agreed are saved as a draft of version {variation.number}. "
                     f"Version {agreement.version} stays in force until a manager endorses the new one: "
                     "send it for endorsement when it is ready.")
    elif variation is None:
        parts.append(f"Nothing the family agreed to changed, so version {agreement.version} stays in force.")
    if not parts:
        parts.append(f"Nothing changed. The draft of version {variation.number} is as it was.")
    return " ".join(parts)


def _listed(names: list[str]) -> str:
    words = [n[0].lower() + n[1:] if not n[:2].isupper() else n for n in names]
    words[0] = words[0][0].upper() + words[0][1:]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


@bp.route("/new", methods=["GET", "POST"])
def new():
    require("create")
    kind = request.args.get("kind", "partnership")
    if kind not in KINDS:
        abort(404)
    typed, restored = drafts.restore() if request.method == "GET" else (None, None)
    form = AgreementForm(formdata=typed) if typed is not None else AgreementForm()
    form.social_worker.choices = _worker_choices(kind, current_user.team_id)
    if request.method == "GET" and restored is None:
        form.social_worker.data = current_user.id if current_user.role == "social_worker" else (0 if kind == "undertaking" else None)
        if kind == "undertaking":
            form.legal_advice.data = "not_recorded"
    return _apply_form(form, kind, None, restored)


@bp.route("/<int:agreement_id>/edit", methods=["GET", "POST"])
def edit(agreement_id: int):
    agreement = get_agreement(agreement_id, "edit")
    if agreement.status == "ended":
        flash("This record has ended. Its history stays; it cannot be changed.", "info")
        return redirect(url_for("agreements.show", agreement_id=agreement.id))
    restored = None
    if request.method == "GET":
        _viewed(agreement, "viewed_edit_page")  # the form shows the whole record
        typed, restored = drafts.restore()
        if typed is not None:
            # The draft carries the revision and snapshot the page was opened on: a record changed
            # since is caught on Save by the usual "changed since you opened it" page (R12).
            form = AgreementForm(formdata=typed)
        else:
            variation = models.in_progress(agreement) if agreement.status == "active" else None
            shown = versions.proposed(agreement, variation) if variation else drafting.form_data(agreement)
            form = AgreementForm(data=shown)
            form.snapshot.data = versions.to_json(shown)
            form.open_on(agreement)
    else:
        form = AgreementForm()
    form.social_worker.choices = _worker_choices(agreement.kind, agreement.team_id, agreement.social_worker_id)
    return _apply_form(form, agreement.kind, agreement, restored)


@bp.route("/<int:agreement_id>")
def show(agreement_id: int):
    # Each setting read once for the page (issue 24): the quality checks alone asked for the
    # placeholders once a field, 42 reads a request (0.5 ms of a 12 ms page, SQLite 1x).
    with settings.held():
        return _show(agreement_id)


def _show(agreement_id: int):
    agreement = models.read_once(get_agreement(agreement_id, "view", with_people=True))
    _viewed(agreement)
    variation = models.in_progress(agreement) if agreement.status == "active" else None
    variation_changes = []
    if variation is not None:
        variation_changes = versions.describe(versions.family_part(drafting.form_data(agreement)),
                                              versions.family_part(versions.proposed(agreement, variation)))
    recipients = models.live_recipients(agreement)
    return render_template(
        "agreements/show.html",
        now=utcnow(),
        link_expiry={r.id: tokens.expires_at(r, agreement) for r in recipients},
        variation=variation,
        variation_changes=variation_changes,
        version_history=versions.history(agreement),
        may_endorse=may_endorse(current_user, agreement),
        opened_at=utcnow().isoformat(),
        agreement=agreement,
        children=models.children_of(agreement),
        actions=models.live_actions(agreement),
        parties=models.live_parties(agreement),
        recipients=recipients,
        review=models.next_review(agreement),
        reviews=models.all_reviews(agreement),
        checks=checks(agreement, utcnow()),
        breaches=breach_timeline(agreement),
        readiness=readiness(agreement, models.next_review(agreement)),
        signs=signs_of(agreement, utcnow()),
        same_child=identity.possible_matches(agreement, visible_children(current_user)) if agreement.status != "ended" else [],
        linked=identity.linked_records(agreement),
        notifications=models.recent_notifications(agreement),
        end_form=EndForm(),
        endorse_form=EndorseForm(),
    )


@bp.route("/agency-suggestions")
def agency_suggestions():
    """Agencies from the directory whose name contains what was typed: the form's own partial."""
    require("create")
    row = (request.args.get("row") or "")[:20]
    if not row.startswith("recipients-") or not row[len("recipients-"):].isdigit():
        abort(404)
    typed = (request.args.get(f"{row}-agency_name") or request.args.get("q") or "").strip()[:100]
    suggestions = []
    if len(typed) >= 2:
        suggestions = list(Agency.select().where((Agency.active == True) & Agency.name.contains(typed))  # noqa: E712
                           .order_by(Agency.name).limit(8))
    if htmx:
        return render_template("agreements/_agency_suggestions.html", row=row, suggestions=suggestions,
                               post_to=htmx.current_url)
    # Without JavaScript the form's own select does this; a plain list is still useful.
    return render_template("agreements/agency_directory.html", agencies=suggestions if typed else _directory(),
                           typed=typed)


@bp.route("/<int:agreement_id>/children/<int:child_id>/link", methods=["POST"])
def link_child(agreement_id: int, child_id: int):
    """Record that a child on this record is the same child as one on another record (R13)."""
    agreement = get_agreement(agreement_id, "edit")
    other_id = request.form.get("other", "")
    pairs = {(c.id, o.id): (c, o) for c, o in identity.possible_matches(agreement, visible_children(current_user))}
    pair = pairs.get((child_id, parse_id(other_id))) if parse_id(other_id) is not None else None
    if pair is None:
        flash("That child is no longer offered as possibly the same child", "info")
        return redirect(url_for("agreements.show", agreement_id=agreement.id)), 303
    identity.link(agreement, pair[0], pair[1], current_user, utcnow())
    flash(f"{pair[0].name} is now linked with {pair[1].name}: their records count as one child's history", "success")
    return redirect(url_for("agreements.show", agreement_id=agreement.id) + "#same-child"), 303


@bp.route("/<int:agreement_id>/print")
def printable(agreement_id: int):
    agreement = get_agreement(agreement_id, "view")
    _viewed(agreement, "printed")
    # The family's printed copy: its fixed words in the record's first language, where there is a catalog.
    from flask import g

    from tracker.family import language

    language.choose(language.locale_for(agreement.first_language))
    children = models.children_of(agreement)
    actions = models.live_actions(agreement)
    parties = models.live_parties(agreement)
    recipients = models.live_recipients(agreement)
    contacts = settings.contacts()
    return render_template(
        "agreements/print.html",
        agreement=agreement,
        a=agreement,
        children=children,
        actions=actions,
        groups=printed.by_party(actions),
        parties=parties,
        recipients=recipients,
        review=models.next_review(agreement),
        contacts=contacts,
        title=printed.title(agreement.kind, children, recipients, contacts["council_name"]),
        locale=g.family_locale,
    )


@bp.route("/<int:agreement_id>/submit", methods=["POST"])
def submit(agreement_id: int):
    agreement = get_agreement(agreement_id, "submit")
    try:
        lifecycle.submit(agreement, current_user, utcnow(), revision=request.form.get("revision"))
    except models.Stale:
        return render_template("agreements/stale.html", agreement=Agreement.get_by_id(agreement.id),
                               changed_since=versions.changes_since(agreement.id, request.form.get("opened_at")),
                               what="sent for endorsement"), 409
    except rules.RuleBroken as broken:
        flash("Not sent for endorsement: " + "; ".join(broken.errors.values()), "info")
        return redirect(url_for("agreements.show", agreement_id=agreement.id)), 303
    flash(f"{agreement.reference} sent to the team manager for endorsement", "success")
    return redirect(url_for("agreements.show", agreement_id=agreement.id)), 303


def _as_the_family_reads_it(agreement: Agreement) -> dict:
    """The record to endorse, as the family will read it, with its checks and warning signs.

    For an active record that is its variation: read inside a transaction
    that is rolled back (versions.preview), so the same code checks it.
    """
    now = utcnow()

    contacts = settings.contacts()

    def read(a: Agreement, **extra) -> dict:
        children, actions, recipients = models.children_of(a), models.live_actions(a), models.live_recipients(a)
        return dict(a=a, children=children, actions=actions, groups=printed.by_party(actions),
                    parties=models.live_parties(a), recipients=recipients, contacts=contacts,
                    title=printed.title(a.kind, children, recipients, contacts["council_name"]),
                    review=models.next_review(a), checks=checks(a, now), signs=signs_of(a, now),
                    problems=lifecycle.completeness(a), same_child=identity.possible_matches(a), **extra)

    variation = models.in_progress(agreement) if agreement.status == "active" else None
    if variation is None:
        return read(agreement, variation=None, differences=[], proposed_version=None)
    differences = versions.describe(versions.family_part(drafting.form_data(agreement)),
                                    versions.family_part(versions.proposed(agreement, variation)))
    with versions.preview(agreement, variation, current_user, now) as previewed:
        previewed.team, previewed.social_worker, previewed.endorsed_by  # noqa: B018 - loaded before the rollback
        return read(previewed, variation=variation, differences=differences, proposed_version=variation.number)


@bp.route("/<int:agreement_id>/endorse", methods=["GET", "POST"])
def endorse(agreement_id: int):
    """Endorse; endorse anyway, with a reason; or return to the social worker with comments."""
    agreement = get_agreement(agreement_id, "endorse")
    if not may_endorse(current_user, agreement):
        return render_template("agreements/not_yours.html", agreement=agreement), 403
    # A variation is endorsed only once it has been sent (R16): one pulled back
    # into draft waits for its worker, whatever old page or email link is used.
    waiting = agreement.status in ("draft", "awaiting_endorsement") or (
        agreement.status == "active" and agreement.variation_status == "awaiting_endorsement")
    form = EndorseForm()
    if not waiting:
        if request.method == "POST":
            # Someone decided, or the worker took it back, after this page was opened:
            # say who and when, and keep what this manager typed (R12).
            return _endorse_stale(agreement, form)
        flash("Nothing on this record is waiting for endorsement.", "info")
        return redirect(url_for("agreements.show", agreement_id=agreement.id))
    variation = models.in_progress(agreement) if agreement.status == "active" else None
    if variation is not None and current_user.id in versions.authors(variation):
        return render_template("agreements/not_yours.html", agreement=agreement, author=True), 403
    status, changed_since = 200, None
    if request.method == "GET":
        form.open_on(agreement)
        _viewed(agreement, "viewed_endorse_page")
    else:
        # Without a button's value (a bare POST), a reason typed means "endorse anyway".
        decision = request.form.get("decision") or ("endorse_anyway" if (form.override.data or "").strip() else "endorse")
        status = 400
        if form.validate_on_submit():
            now = utcnow()
            try:
                if decision == "return":
                    if agreement.status == "draft" or agreement.variation_status == "draft":
                        raise rules.RuleBroken({"comments": "It has not been sent for endorsement yet, so there is nothing to return"})
                    versions.return_to_worker(agreement, current_user, now, form.comments.data or "",
                                              revision=form.revision.data)
                elif decision == "endorse_anyway":
                    if not (form.override.data or "").strip():
                        raise rules.RuleBroken({"override": "Give your reason for endorsing anyway"})
                    lifecycle.endorse(agreement, current_user, now, form.override.data, revision=form.revision.data,
                                      submitted=request.form.get("submitted"))
                elif decision == "endorse":
                    lifecycle.endorse(agreement, current_user, now, "", revision=form.revision.data,
                                      submitted=request.form.get("submitted"))
                else:
                    raise rules.RuleBroken({"override": "Choose to endorse, endorse anyway or return it"})
            except models.Stale:
                status, changed_since = 409, stale(form, agreement.id)
                agreement = Agreement.get_by_id(agreement.id)
            except rules.RuleBroken as broken:
                if "status" in broken.errors:
                    return _endorse_stale(agreement, form)
                for name, message in broken.errors.items():
                    target = getattr(form, name, None) if name in ("override", "comments") else form.override
                    target.errors = [*target.errors, message]
            else:
                if decision == "return":
                    flash(f"{agreement.reference} returned to the social worker with your comments", "success")
                else:
                    endorsed = Agreement.get_by_id(agreement.id)
                    copies = ("Copies have been sent to the distribution list."
                              if endorsed.recipients.where(Recipient.removed_at.is_null()).count()
                              else "Nobody is on the distribution list, so no copies were sent.")
                    flash(f"{agreement.reference} endorsed and active: version {endorsed.version} is in force. {copies}",
                          "success")
                return redirect(url_for("agreements.show", agreement_id=agreement.id))
    context = _as_the_family_reads_it(agreement)
    failing = [c for c in context["checks"] if not c.passed]
    return render_template("agreements/endorse.html", agreement=agreement, form=form, failing=failing,
                           changed_since=changed_since, copy_heading=2, submitted=_submitted(agreement),
                           **context), status


def _submitted(agreement: Agreement) -> str:
    variation = models.in_progress(agreement) if agreement.status == "active" else None
    return versions.submission(variation) if variation is not None and variation.status == "awaiting_endorsement" else ""


def _endorse_stale(agreement: Agreement, form: EndorseForm):
    """A decision on a record no longer waiting as the page showed it: 409, who acted, the typing kept."""
    agreement = Agreement.get_by_id(agreement.id)
    changed_since = versions.changes_since(agreement.id, form.opened_at.data)
    form.open_on(agreement)
    return render_template("agreements/decided.html", agreement=agreement, form=form,
                           changed_since=changed_since), 409


@bp.route("/<int:agreement_id>/issue", methods=["GET", "POST"])
def issue(agreement_id: int):
    """Record the moment the family was given their copy of the version in force."""
    agreement = get_agreement(agreement_id, "issue")
    form = IssueForm()
    status, changed_since = 200, None
    unsigned = [p for p in models.live_parties(agreement) if p.signed_on is None]
    if request.method == "GET":
        form.open_on(agreement)
        form.copy_language.data = agreement.copy_language or agreement.first_language
    else:
        status = 400
        if form.validate_on_submit():
            try:
                lifecycle.issue(agreement, current_user, utcnow(), issued_at=form.issued_at.data,
                              language=form.copy_language.data or "", translation_given=form.translation_given.data == "yes",
                              reason=form.reason.data or "", revision=form.revision.data)
            except models.Stale:
                status, changed_since = 409, stale(form, agreement.id)
                agreement = Agreement.get_by_id(agreement.id)
            except rules.RuleBroken as broken:
                for name, message in broken.errors.items():
                    target = getattr(form, name, None) or form.issued_at
                    target.errors = [*target.errors, message]
            else:
                flash(f"The family's copy of {agreement.reference} is recorded as issued", "success")
                return redirect(url_for("agreements.show", agreement_id=agreement.id), 303)
    return render_template("agreements/issue.html", agreement=agreement, form=form, unsigned=unsigned,
                           changed_since=changed_since), status


@bp.route("/<int:agreement_id>/end", methods=["GET", "POST"])
def end(agreement_id: int):
    agreement = get_agreement(agreement_id, "end")
    form = EndForm()
    status, changed_since = 200, None
    if request.method == "GET":
        form.open_on(agreement)
        _viewed(agreement, "viewed_end_page")
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                lifecycle.end(agreement, current_user, utcnow(), form.reason.data, form.notes.data or "",
                            revision=form.revision.data)
            except models.Stale:
                status, changed_since = 409, stale(form, agreement.id)
                agreement = Agreement.get_by_id(agreement.id)
            except rules.RuleBroken as broken:
                form.reason.errors = [*form.reason.errors, *broken.errors.values()]
                status = 400
                if form.opened_at.data and Agreement.get_by_id(agreement.id).status == "ended":
                    # Ended by someone else after this page opened: say who and when, keep the typing.
                    status, changed_since = 409, stale(form, agreement.id)
                    agreement = Agreement.get_by_id(agreement.id)
            else:
                flash(f"{agreement.reference} has ended. It stays in the register with its history.", "success")
                return redirect(url_for("agreements.show", agreement_id=agreement.id))
        else:
            status = 400
    return render_template("agreements/end.html", agreement=agreement, form=form, changed_since=changed_since), status


@bp.route("/<int:agreement_id>/history")
def history(agreement_id: int):
    agreement = get_agreement(agreement_id, "history")
    events = list(
        AuditEvent.select().where(AuditEvent.agreement == agreement).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    )
    _viewed(agreement, "viewed_history")
    return render_template("agreements/history.html", agreement=agreement, events=events,
                           version_history=versions.history(agreement),
                           event_label=history_words.event_label, describe_changes=history_words.describe_changes)


@bp.route("/<int:agreement_id>/recipients/<int:recipient_id>/link", methods=["POST"])
def agency_link(agreement_id: int, recipient_id: int):
    """Revoke a distribution entry's agency link, or issue a new one (which is emailed)."""
    agreement = get_agreement(agreement_id, "manage_links")
    recipient = Recipient.get_or_none((Recipient.id == recipient_id) & (Recipient.agreement == agreement)
                                      & Recipient.removed_at.is_null())
    if recipient is None:
        abort(404)
    what = request.form.get("what")
    if what not in ("revoke", "reissue"):
        abort(400)
    with database.atomic():
        (links.revoke if what == "revoke" else links.reissue)(recipient, agreement, current_user, utcnow())
    flash(f"{recipient.name}'s link {'revoked' if what == 'revoke' else 'replaced; the new one has been emailed'}",
          "success")
    return redirect(url_for("agreements.show", agreement_id=agreement.id) + "#distribution"), 303
