"""Importing the service's spreadsheet: the template, an upload, a preview, a confirmation.

Nothing is recorded until the whole file is valid and the person confirms.
Between the preview and the confirmation the uploaded file waits in the
instance folder under a random name tied to the session, and is removed once
imported (or replaced by the next upload).
"""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required

from tracker.clock import utcnow
from tracker.governance import imports
from tracker.models import ImportJob
from tracker.people.access import require
from tracker.web.extensions import htmx

bp = Blueprint("imports", __name__, url_prefix="/import")
MAX_UPLOAD = 20 * 1024 * 1024
EXTENSIONS = (".csv", ".xlsx")
STALLED = dt.timedelta(minutes=2)  # the runner takes a waiting import within seconds


@bp.url_value_preprocessor
def _larger_uploads(endpoint, values) -> None:
    # Runs before CSRF reads the form: a 5,000-row spreadsheet is larger than
    # the 1 MB every other form is limited to.
    if endpoint == "imports.upload":
        request.max_content_length = MAX_UPLOAD


def _folder() -> Path:
    folder = Path(current_app.instance_path) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _waiting() -> Path | None:
    token = session.get("import_token") or ""
    name = session.get("import_name") or ""
    if not token or not name.lower().endswith(EXTENSIONS):
        return None
    path = _folder() / f"{token}-{current_user.id}{Path(name).suffix.lower()}"
    return path if path.exists() else None


def _forget() -> None:
    path = _waiting()
    if path is not None:
        path.unlink(missing_ok=True)
    session.pop("import_token", None)
    session.pop("import_name", None)


def _page(error: str = "", status: int = 200):
    return render_template("imports/index.html", columns=imports.COLUMNS, error=error), status


@bp.route("/", methods=["GET"])
@login_required
def index():
    require("import")
    return _page()


@bp.route("/template.<fmt>")
@login_required
def template(fmt: str):
    require("import")
    if fmt == "xlsx":
        return Response(imports.template_xlsx(),
                        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": "attachment; filename=agreements-import-template.xlsx"})
    if fmt == "csv":
        return Response(imports.template_csv(), mimetype="text/csv",
                        headers={"Content-Disposition": "attachment; filename=agreements-import-template.csv"})
    abort(404)


@bp.route("/", methods=["POST"])
@login_required
def upload():
    require("import")
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _page("Choose a CSV or XLSX file to upload", 400)
    name = Path(upload.filename).name[:120]
    data = upload.read()
    try:
        rows = imports.read(name, data)
    except imports.FileProblem as exc:
        return _page(str(exc), 400)
    plans = imports.check(rows, current_user, utcnow())
    errors = imports.error_count(plans)
    _forget()
    token = None
    if not errors:
        token = secrets.token_urlsafe(24)
        session["import_token"], session["import_name"] = token, name
        imports.keep_upload(_folder(), f"{token}-{current_user.id}{Path(name).suffix.lower()}", data, utcnow())
    return _preview(plans, name, token, rows.unknown, rows=len(rows))


def _preview(plans, name: str, token: str | None, unknown: list[str], rows: int):
    errors = imports.error_count(plans)
    return render_template("imports/preview.html", plans=plans, errors=errors, filename=name, token=token,
                           unknown=unknown, rows=rows, warned=imports.warning_count(plans),
                           columns=dict((n, t) for n, _, t in imports.COLUMNS)), (400 if errors else 200)


@bp.route("/confirm", methods=["POST"])
@login_required
def confirm():
    """Hand the previewed file to the job runner and show its progress: the request returns at once."""
    require("import")
    path = _waiting()
    if path is None or request.form.get("token") != session.get("import_token"):
        return _page("The file to import has expired or was replaced: upload it again. Nothing was saved.", 400)
    job = ImportJob.create(user=current_user.id, filename=session["import_name"], data=path.read_bytes(),
                           created_at=utcnow())
    _forget()
    return redirect(url_for("imports.progress", job_id=job.id), code=303)


@bp.route("/jobs/<int:job_id>")
@login_required
def progress(job_id: int):
    """An import's progress: the whole page, or only its panel when htmx polls (every 2 s until it has finished)."""
    require("import")
    # Not the file's bytes: a poll every two seconds reads only what the page shows.
    shown = [f for f in ImportJob._meta.sorted_fields if f.name != "data"]
    job = ImportJob.select(*shown).where((ImportJob.id == job_id) & (ImportJob.user == current_user.id)).first()
    if job is None:
        abort(404)
    # Nothing fails silently (R18): an import nobody has picked up says so, rather than waiting for ever.
    stalled = job.status == "waiting" and utcnow() - job.created_at > STALLED
    if htmx:
        return render_template("imports/_progress.html", job=job, stalled=stalled)
    return render_template("imports/progress.html", job=job, stalled=stalled)
