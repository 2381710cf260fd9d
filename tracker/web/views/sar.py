"""Subject access: a service manager finds the person, previews, ticks third parties to redact, exports."""

from __future__ import annotations

import re

from flask import Blueprint, Response, abort, render_template, request
from flask_login import current_user, login_required

from tracker import audit
from tracker.clock import utcnow
from tracker.governance import sar
from tracker.ids import parse_id
from tracker.models import Child, Recipient
from tracker.people.access import require

bp = Blueprint("sar", __name__, url_prefix="/subject-access")


@bp.route("/")
@login_required
def index():
    require("subject_access")
    query = request.args.get("q", "")[:200]
    children, parties = sar.find_people(query) if query else ([], [])
    error = "Enter at least 2 letters of the name" if query and len(query.strip()) < 2 else ""
    return render_template("sar/index.html", query=query, children=children, parties=parties, error=error), (400 if error else 200)


def _subject():
    """(label, records, slug) for the person in the URL's query: ?child=<id> or ?party=<name>."""
    child_id = parse_id(request.values.get("child"))
    party = (request.values.get("party") or "").strip()[:200]
    if child_id:
        child = Child.get_or_none(Child.id == child_id)
        if child is None:
            abort(404)
        return f"{child.name}, born {child.date_of_birth:%d %B %Y}", sar.records_of_child(child), child.name
    if party:
        records = sar.records_of_party(party)
        if not records:
            abort(404)
        return f"{party}, named as a party", records, party
    abort(404)


@bp.route("/preview")
@login_required
def preview():
    require("subject_access")
    subject, records, _ = _subject()
    audit.record("subject_access_preview", user=current_user, entity="subject_access",
                 changes={"subject": [None, subject], "records": [None, ", ".join(a.reference for a in records)]},
                 ip=request.remote_addr or "")
    return render_template("sar/preview.html", subject=subject, records=records,
                           third_parties=sar.third_parties(records), child=request.args.get("child", ""),
                           party=request.args.get("party", ""))


@bp.route("/export", methods=["POST"])
@login_required
def export():
    require("subject_access")
    subject, records, slug = _subject()
    fmt = request.form.get("format")
    if fmt not in ("pdf", "zip"):
        abort(400)
    ids = [i for i in map(parse_id, request.form.getlist("redact")) if i is not None]
    allowed = {r.id for r in sar.third_parties(records)}
    redacted = list(Recipient.select().where(Recipient.id.in_([i for i in ids if i in allowed]))) if ids else []
    now = utcnow()
    data = sar.redact(sar.collect(subject, records, now), redacted)
    for agreement in records:
        audit.record("subject_access_export", user=current_user, agreement=agreement, entity="subject_access",
                     changes={"subject": [None, subject], "format": [None, fmt],
                              "redacted": [None, ", ".join(sorted(r.name for r in redacted))]},
                     ip=request.remote_addr or "", at=now)
    name = re.sub(r"[^A-Za-z0-9]+", "-", slug).strip("-").lower() or "subject"
    if fmt == "zip":
        return Response(sar.zip_of_json(data), mimetype="application/zip",
                        headers={"Content-Disposition": f"attachment; filename=subject-access-{name}.zip"})
    html = render_template("sar/pdf.html", data=data)
    return Response(sar.pdf(data, html), mimetype="application/pdf",
                    headers={"Content-Disposition": f"attachment; filename=subject-access-{name}.pdf"})
