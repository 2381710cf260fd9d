"""Administration: users, teams, agencies and settings."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from tracker import audit, settings
from tracker.clock import utcnow
from tracker.db import database
from tracker.governance import retention
from tracker.models import Agency, Team, User
from tracker.people import sessions
from tracker.people.access import require
from tracker.people.accounts import SelfChange, announce_access, check_not_own_access, create_user, set_password
from tracker.web.forms import AgencyForm, TeamForm, UserForm, options

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@login_required
def _administrators_only() -> None:
    require("admin")


@bp.route("/")
def index():
    return render_template(
        "admin/index.html",
        users=list(User.select().order_by(User.name)),
        teams=list(Team.select().order_by(Team.name)),
        agencies=list(Agency.select().order_by(Agency.name)),
    )


def _team_choices() -> list:
    return options([(0, "No team")] + [(t.id, t.name) for t in Team.select().order_by(Team.name)])


@bp.route("/users/new", methods=["GET", "POST"])
@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def user(user_id: int | None = None):
    existing = User.get_or_none(User.id == user_id) if user_id else None
    if user_id and existing is None:
        return render_template("error.html", title="Page not found", message="No such user."), 404
    form = UserForm(obj=existing) if request.method == "GET" else UserForm()
    form.team.choices = _team_choices()
    if request.method == "GET":
        form.team.data = existing.team_id if existing and existing.team_id else 0
        form.active.data = existing.active if existing else True
    if request.method == "POST" and form.validate_on_submit():
        email = form.email.data.strip().lower()
        clash = User.get_or_none((User.email == email) & (User.id != (existing.id if existing else 0)))
        team = Team.get_or_none(Team.id == form.team.data)
        own = ""
        if existing is not None:
            try:
                check_not_own_access(existing, current_user, form.role.data, team.id if team else None)
            except SelfChange as refused:
                own = str(refused)
        if own:
            form.role.errors = [own]
        elif clash:
            form.email.errors = ["Another user already has this email address"]
        elif existing is None and not form.password.data:
            form.password.errors = ["Enter a password of 12 characters or more"]
        elif form.role.data in ("social_worker", "team_manager") and team is None:
            form.team.errors = ["Social workers and team managers need a team"]
        else:
            with database.atomic():
                if existing is None:
                    created = create_user(email, form.name.data, form.password.data, form.role.data, team, by=current_user)
                    if (form.phone.data or "").strip():
                        User.update(phone=form.phone.data.strip()).where(User.id == created.id).execute()
                    flash(f"{created.name} can now sign in", "success")
                else:
                    before = {"name": existing.name, "email": existing.email, "role": existing.role,
                              "team": existing.team_id, "active": existing.active, "phone": existing.phone}
                    after = {"name": form.name.data.strip(), "email": email, "role": form.role.data,
                             "team": team.id if team else None, "active": bool(form.active.data),
                             "phone": (form.phone.data or "").strip()}
                    User.update(**after).where(User.id == existing.id).execute()
                    # Enabling a disabled account gives its role back: announced as a new grant.
                    announce_access(existing, existing.role if existing.active else None,
                                    existing.team if existing.team_id else None, current_user)
                    if form.password.data:
                        set_password(existing, form.password.data)  # ends their sessions
                        after["password"] = "changed"
                    if existing.active and not after["active"]:
                        # Disabled: signed out of every session at once, not at their cookie's end.
                        sessions.end_all(existing.id, utcnow(), "disabled")
                    audit.record("user_changed", user=current_user, entity="user", entity_id=existing.id,
                                 changes=audit.diff(before, after))
                    flash(f"{after['name']} saved", "success")
            return redirect(url_for("admin.index"))
    status = 400 if request.method == "POST" else 200
    return render_template("admin/user.html", form=form, existing=existing), status


@bp.route("/teams/new", methods=["GET", "POST"])
def team():
    form = TeamForm()
    if request.method == "POST" and form.validate_on_submit():
        name = form.name.data.strip()
        if Team.get_or_none(Team.name == name):
            form.name.errors = ["A team with this name already exists"]
        else:
            with database.atomic():
                created = Team.create(name=name)
                audit.record("team_created", user=current_user, entity="team", entity_id=created.id,
                             changes={"name": [None, name]})
            flash(f"Team {name} added", "success")
            return redirect(url_for("admin.index"))
    return render_template("admin/team.html", form=form), 400 if request.method == "POST" else 200


@bp.route("/agencies/new", methods=["GET", "POST"])
@bp.route("/agencies/<int:agency_id>", methods=["GET", "POST"])
def agency(agency_id: int | None = None):
    existing = Agency.get_or_none(Agency.id == agency_id) if agency_id else None
    if agency_id and existing is None:
        return render_template("error.html", title="Page not found", message="No such agency."), 404
    form = AgencyForm(obj=existing) if request.method == "GET" else AgencyForm()
    if request.method == "GET" and existing is None:
        form.active.data = True
    if request.method == "POST" and form.validate_on_submit():
        values = {"name": form.name.data.strip(), "kind": form.kind.data, "email": (form.email.data or "").strip() or None,
                  "phone": (form.phone.data or "").strip() or None, "active": bool(form.active.data)}
        with database.atomic():
            if existing is None:
                created = Agency.create(**values)
                audit.record("agency_created", user=current_user, entity="agency", entity_id=created.id,
                             changes=audit.diff({}, values))
            else:
                before = {k: getattr(existing, k) for k in values}
                Agency.update(**values).where(Agency.id == existing.id).execute()
                audit.record("agency_changed", user=current_user, entity="agency", entity_id=existing.id,
                             changes=audit.diff(before, values))
        flash(f"{values['name']} saved", "success")
        return redirect(url_for("admin.index"))
    return render_template("admin/agency.html", form=form, existing=existing), 400 if request.method == "POST" else 200


@bp.route("/settings", methods=["GET", "POST"])
def service_settings():
    values = {d.key: request.form.get(d.key, settings.raw(d.key)) for d in settings.DEFINITIONS}
    errors: dict[str, str] = {}
    if request.method == "POST":
        for d in settings.DEFINITIONS:
            text = (values[d.key] or "").strip()[:2000]
            try:
                d.parse(text)
            except ValueError as exc:
                kind = ("numbers separated by commas" if "days" in d.key and "," in d.default
                        else "a whole number" if d.default.isdigit() else "words separated by commas")
                limit = f" ({exc})" if "between" in str(exc) else ""
                errors[d.key] = f"{d.label}: enter {kind}{limit}"
                if not (d.default.isdigit() or "," in d.default):  # text: the parser says what is wrong
                    errors[d.key] = f"{d.label}: {exc}"
        errors = errors or settings.problems(values)
        if not errors:
            with database.atomic():
                for d in settings.DEFINITIONS:
                    old = settings.raw(d.key)
                    if old != values[d.key].strip():
                        settings.put(d.key, values[d.key].strip())
                        audit.record("setting_changed", user=current_user, entity="setting",
                                     changes={d.key: [old, values[d.key].strip()]})
                        if d.key == "retention_until_age":
                            # Records already dated follow the new age, not only those that end from now on.
                            retention.redate(utcnow())
            flash("Settings saved", "success")
            return redirect(url_for("admin.service_settings"))
    return render_template("admin/settings.html", definitions=settings.DEFINITIONS, values=values,
                           errors=errors), 400 if errors else 200
