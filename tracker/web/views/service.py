"""The service view: figures per team for service managers, and their CSV export."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user, login_required

from tracker import audit
from tracker.clock import moment_words, utcnow
from tracker.oversight import service
from tracker.people.access import require
from tracker.records import warnings
from tracker.web.spreadsheet import csv_response

bp = Blueprint("service", __name__, url_prefix="/service")

# The bar chart's drawing area, in SVG user units.
CHART = {"width": 640, "height": 280, "top": 30, "bottom": 50, "left": 20, "gap": 24}


@bp.before_request
@login_required
def _service_managers_only() -> None:
    require("service_view")


def percent(share: float | None) -> str:
    return "" if share is None else f"{round(share * 100)}%"


def one_decimal(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}".removesuffix(".0")


def chart_bars(months: list[service.Month]) -> list[dict]:
    """Where each month's bar, label and percentage sit in the SVG."""
    plot = CHART["height"] - CHART["top"] - CHART["bottom"]
    slot = (CHART["width"] - CHART["left"]) / max(1, len(months))
    width = slot - CHART["gap"]
    bars = []
    for i, month in enumerate(months):
        height = round(plot * (month.share or 0))
        x = round(CHART["left"] + i * slot + CHART["gap"] / 2)
        baseline = CHART["top"] + plot
        bars.append({
            "x": x,
            "y": baseline - height,
            "width": round(width),
            "height": height,
            "centre": round(x + width / 2),
            "value_y": baseline - height - 8,
            "label_y": baseline + 22,
            "count_y": baseline + 42,
            "label": month.short_label,
            "value": percent(month.share) if month.due else "None due",
            "count": f"{month.on_time} of {month.due}",
        })
    return bars


def _rows(figures: service.Figures) -> list[list]:
    header = ["Team", "Active agreements", "Active undertakings", "Reviews due (last 3 months)",
              "Held on time", "Share held on time", "Reviews overdue now", "Median days overdue",
              "Breaches per active record", *warnings.KINDS.values()]
    rows = [header]
    for team in [*figures.teams, figures.total]:
        rows.append([
            team.name, team.active_agreements, team.active_undertakings, team.reviews_due, team.reviews_on_time,
            percent(team.on_time_share), team.overdue, one_decimal(team.median_days_overdue),
            one_decimal(team.breaches_per_active), *(team.signs[key] for key in warnings.KINDS),
        ])
    return rows


@bp.route("/")
def index():
    now = utcnow()
    figures = service.figures(now)
    return render_template(
        "service/index.html",
        figures=figures,
        kinds=warnings.KINDS,
        bars=chart_bars(figures.total.months),
        chart=CHART,
        percent=percent,
        one_decimal=one_decimal,
    )


@bp.route("/figures.csv")
def export():
    now = utcnow()
    header, *rows = _rows(service.figures(now))
    audit.record("exported_csv", user=current_user, entity="service", ip=request.remote_addr or "", at=now,
                 changes={"table": [None, "service figures"], "filter": [None, "every team"], "rows": [None, len(rows)]})
    made_by = f"Service figures, every team, as of {moment_words(now)} (London time)"
    return csv_response(f"service-figures-{now:%Y-%m-%d}.csv", header, rows, made_by=made_by)
