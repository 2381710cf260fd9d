"""The dashboard: a manager's landing page, and a worker's view of their caseload."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from tracker import audit
from tracker.clock import moment_words, to_london, utcnow
from tracker.ids import parse_id, parse_page
from tracker.models import Team, User
from tracker.oversight import dashboard
from tracker.people.access import require
from tracker.web.extensions import htmx
from tracker.web.spreadsheet import csv_response

bp = Blueprint("home", __name__)


@bp.before_request
@login_required
def _signed_in() -> None:
    """Every page here needs a signed-in user."""


def _filters() -> dashboard.Filters:
    def number(name):
        return parse_id(request.args.get(name))

    kind = request.args.get("kind")
    return dashboard.Filters(
        team=number("team") if current_user.role == "service_manager" else None,
        worker=number("worker") if current_user.role != "social_worker" else None,
        kind=kind if kind in ("partnership", "undertaking") else None,
    )


@bp.route("/")
def index():
    if current_user.role == "administrator":
        return redirect(url_for("admin.index"))
    require("dashboard")
    now = utcnow()
    filters = _filters()
    pages = {key: parse_page(request.args.get(f"{key}_page")) for key in dashboard.TABLES}
    tables = dashboard.tables(current_user, filters, now, pages)
    ids = sorted({dashboard.agreement_of(row).id for t in tables for row in t.rows})
    context = dict(
        tables=tables, names=dashboard.children_names(ids, always=True), now=now, filters=filters,
        teams=dashboard.teams() if current_user.role == "service_manager" else [],
        workers=dashboard.workers(current_user), overdue_by=dashboard.overdue_by, pages=pages,
        time_left=dashboard.time_left, OWN_PARTIALS=dashboard.OWN_PARTIALS,
        columns=dashboard.COLUMNS,
    )
    if htmx and htmx.target == "dashboard-tables":
        return render_template("dashboard/_tables.html", **context)
    return render_template("dashboard/index.html", **context)


@bp.route("/dashboard/<key>.csv")
def export(key: str):
    require("dashboard")
    if key not in dashboard.TABLES:
        abort(404)
    now = utcnow()
    table = dashboard.table(current_user, _filters(), key, now, everything=True)
    names = dashboard.children_names([dashboard.agreement_of(r).id for r in table.rows])
    rows = []
    for row in table.rows:
        agreement = dashboard.agreement_of(row)
        worker = agreement.social_worker.name if agreement.social_worker_id else "None named (front door)"
        if key in ("overdue_reviews", "reviews_soon"):
            moment, detail = agreement.next_review_at, dashboard.overdue_by(agreement.next_review_at, now)
        elif key == "undertakings":
            moment, detail = agreement.window_ends_at, dashboard.overdue_by(agreement.window_ends_at, now)
        elif key == "breaches":
            moment, detail = row.created_at, ("URGENT: " if row.immediate_risk else "") + row.description[:200]
        elif key == "missing_reports":
            moment, detail = row.review.scheduled_at, f"{row.agency_name} ({row.name})"
        elif key == "endorsement_queue":
            moment = agreement.awaiting_since
            detail = (f"Undertaking, {dashboard.time_left(agreement.window_ends_at, now)}" if agreement.kind == "undertaking"
                      else "Partnership agreement")
        elif key == "my_drafts":
            moment, detail = agreement.updated_at, agreement.variation_status or agreement.status
        elif key == "not_issued":
            moment, detail = agreement.endorsed_at, f"Version {agreement.version}"
        elif key == "undeliverable":
            moment, detail = row.created_at, f"{row.words}: correct the address and send again"
        else:
            moment, detail = row.copy_sent_at, f"{row.agency_name} ({row.name})"
        rows.append([agreement.reference, names.get(agreement.id, ""), worker,
                     to_london(moment).strftime("%Y-%m-%d %H:%M") if moment else "", detail])
    # One event per export, naming the table and the filter: it holds children's names.
    filters = _filters()
    audit.record("exported_csv", user=current_user, entity="dashboard", ip=request.remote_addr or "", at=now,
                 changes={"table": [None, key], "rows": [None, len(rows)], "filter": [None, f"team={filters.team or 'any'}, worker={filters.worker or 'any'}, "
                                                                f"kind={filters.kind or 'any'} ({_described(filters)})"]})
    # The screen's own column names; the time column says it is London time.
    when, detail = dashboard.COLUMNS[key]
    header = ["Record", "Child", "Social worker", f"{when} (London time)", detail]
    made_by = (f"{dashboard.TABLES[key]}: {_described(filters)}, "
               f"as of {moment_words(now)} (London time)")
    return csv_response(f"{key}.csv", header, rows, made_by=made_by)


def _described(filters: dashboard.Filters) -> str:
    """The filter as the dashboard's own words: whose records, which kind."""
    if filters.worker:
        worker = User.get_or_none(User.id == filters.worker)
        who = f"{worker.name}'s records" if worker else "no one's records"
    elif filters.team:
        team = Team.get_or_none(Team.id == filters.team)
        who = f"{team.name}'s records" if team else "no team's records"
    elif current_user.role == "social_worker":
        who = "your caseload"
    elif current_user.role == "service_manager":
        who = "every team"
    elif current_user.role == "front_door":
        who = "records with no social worker named"
    else:
        who = f"{current_user.team.name}'s records" if current_user.team_id else "your team's records"
    kind = {"partnership": "partnership agreements only", "undertaking": "written undertakings only"}.get(filters.kind or "")
    return f"{who}, {kind}" if kind else who


# --- /healthz (R18): for the council's monitoring; no sign-in, nothing personal ---

health = Blueprint("health", __name__)


@health.route("/healthz")
def healthz():
    """200 when the database answers and every watched job ran within its
    interval plus grace; 503 naming what is wrong otherwise. Plain text."""
    from jobs.runs import late_jobs
    from tracker.db import database

    try:
        database.execute_sql("SELECT 1")
        late = [status.line() for status in late_jobs(utcnow())]
    except Exception as exc:  # the database is down or unreadable
        return _plain(f"database unreachable: {type(exc).__name__}\n", 503)
    if late:
        return _plain("late: " + "; ".join(late) + "\n", 503)
    return _plain("ok\n", 200)


def _plain(text: str, status: int):
    from flask import make_response

    response = make_response(text, status)
    response.mimetype = "text/plain"
    response.headers["Cache-Control"] = "no-store"
    return response
