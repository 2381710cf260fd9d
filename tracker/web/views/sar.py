"""Subject access, as an information governance team does it.

1. Find the person by identity: a child by name and date of birth (then every
   row linked to it), a parent by name and a child's date of birth; never by a
   name alone.
2. Pick the records that are theirs from a list that names each record's children.
3. Review the redaction: every other person the records know is offered (ticked),
   with any phrase the reviewer adds.
4. A second service manager approves exactly that selection; only then is it released.
"""

from __future__ import annotations

import datetime as dt
import re

from flask import Blueprint, Response, abort, render_template, request, url_for
from flask_login import current_user, login_required

from tracker import audit
from tracker.clock import utcnow
from tracker.governance import sar
from tracker.ids import parse_id
from tracker.models import AuditEvent, Child, Recipient
from tracker.oversight.dashboard import children_names
from tracker.people.access import require

bp = Blueprint("sar", __name__, url_prefix="/subject-access")


@bp.app_template_global("family_label")
def family_label(key: str) -> str:
    """The export's words for a detail of a family party's own link (sar.FAMILY_LABELS)."""
    return sar.FAMILY_LABELS[key]


def _born(values) -> dt.date | None:
    """The child's date of birth from `born` (YYYY-MM-DD) or the three boxes of the date input."""
    text = (values.get("born") or "").strip()[:10]
    parts = [(values.get(f"born-{p}") or "").strip()[:4] for p in ("year", "month", "day")]
    if not text and all(parts):
        text = "-".join(parts)
    if not re.fullmatch(r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}", text):
        return None
    try:
        return dt.date(*(int(p) for p in text.split("-")))
    except ValueError:
        return None


@bp.route("/")
@login_required
def index():
    require("subject_access")
    name = request.args.get("q", "")[:200]
    born = _born(request.args)
    asked = bool(name or request.args.get("born") or request.args.get("born-year"))
    errors = {}
    if asked and len(name.strip()) < 2:
        errors["q"] = "Enter at least 2 letters of the name"
    if asked and born is None:
        errors["born"] = "Enter the date of birth of the child (the subject, or the parent's child), for example 4 5 2019"
    children, parties = sar.find_people(name, born) if asked and not errors else ([], [])
    return render_template("sar/index.html", query=name, born=born, children=children, parties=parties,
                           errors=errors, asked=asked), (400 if errors else 200)


def _subject():
    """(label, the subject's records, slug, the query that names them) from ?child=<id> or ?party=<name>&born=<date>."""
    child_id = parse_id(request.values.get("child") or "")
    party = (request.values.get("party") or "").strip()[:200]
    if child_id:
        child = Child.get_or_none(Child.id == child_id)
        if child is None:
            abort(404)
        return (f"{child.name}, born {child.date_of_birth:%-d %B %Y}", sar.records_of_child(child), child.name,
                {"child": child.id}, child.name)
    born = _born(request.values)
    if party and born:
        records = sar.records_of_party(party, born)
        if not records:
            abort(404)
        return (f"{party}, parent of a child born {born:%-d %B %Y}", records, party,
                {"party": party, "born": born.isoformat()}, party)
    abort(404)


def _selection(records):
    """What the reviewer chose: records (of the subject's only), recipients, other names, phrases."""
    values = request.values
    mine = {a.id: a for a in records}
    chosen = [mine[i] for i in (parse_id(v) for v in values.getlist("record")) if i in mine]
    allowed = {r.id for r in sar.third_parties(chosen)}
    recipients = sorted({i for i in (parse_id(v) for v in values.getlist("redact")) if i in allowed})
    names = sorted({n[:200] for n in values.getlist("name") if n.strip()})
    phrases = sorted({p.strip() for p in (values.get("phrases") or "").splitlines() if p.strip()})
    return chosen, recipients, names, phrases


@bp.route("/preview")
@login_required
def preview():
    require("subject_access")
    subject, records, _, query, who = _subject()
    audit.record("subject_access_preview", user=current_user, entity="subject_access",
                 changes={"subject": [None, subject], "records": [None, ", ".join(a.reference for a in records)]},
                 ip=request.remote_addr or "")
    return render_template("sar/preview.html", subject=subject, records=records, names=children_names(
        [a.id for a in records]), third_parties=sar.third_parties(records), others=sar.others_named(records, who),
        query=query, phrases_limit=PHRASES_LIMIT)


def _approval(key: str, releaser):
    """Another service manager's approval of exactly this release, if one is recorded."""
    return (AuditEvent.select().where((AuditEvent.action == "subject_access_approved") & AuditEvent.changes.contains(key)
                                      & (AuditEvent.user != releaser.id)).order_by(AuditEvent.id).first())


@bp.route("/export", methods=["POST"])
@login_required
def export():
    require("subject_access")
    subject, records, slug, query, who = _subject()
    step = request.form.get("format")
    if step not in ("pdf", "zip", "approve"):
        abort(400)
    problem = _phrases_problem()
    if problem:
        return _refused(subject, records, query, who, problem, at="phrases")
    chosen, recipient_ids, names, phrases = _selection(records)
    if not chosen:
        return _refused(subject, records, query, who, "Select the records to release")
    key = sar.release_key(subject, [a.id for a in chosen], recipient_ids, names, phrases)
    now = utcnow()
    if step == "approve":
        audit.record("subject_access_approved", user=current_user, entity="subject_access", at=now,
                     changes={"release": [None, key], "subject": [None, subject],
                              "records": [None, ", ".join(a.reference for a in chosen)]}, ip=request.remote_addr or "")
        review = url_for("sar.preview", **query, record=[a.id for a in chosen], redact=recipient_ids, name=names,
                         phrases="\n".join(phrases))
        return render_template("sar/approved.html", subject=subject, chosen=chosen, review=review)
    approval = _approval(key, current_user)
    if approval is None:
        return _refused(subject, records, query, who, "Another service manager must approve exactly this selection "
                        "and redaction before it is released")
    redacted = list(Recipient.select().where(Recipient.id.in_(recipient_ids))) if recipient_ids else []
    data = sar.redact(sar.collect(subject, chosen, now), redacted, [*names, *phrases])
    for agreement in chosen:
        audit.record("subject_access_export", user=current_user, agreement=agreement, entity="subject_access",
                     changes={"subject": [None, subject], "format": [None, step], "approved_by": [None, approval.actor],
                              "redacted": [None, ", ".join(sorted([r.name for r in redacted] + names))]},
                     ip=request.remote_addr or "", at=now)
    name = re.sub(r"[^A-Za-z0-9]+", "-", slug).strip("-").lower() or "subject"
    if step == "zip":
        return Response(sar.zip_of_json(data), mimetype="application/zip",
                        headers={"Content-Disposition": f"attachment; filename=subject-access-{name}.zip"})
    html = render_template("sar/pdf.html", data=data, label=sar.label, plain=sar.plain_value)
    return Response(sar.pdf(data, html), mimetype="application/pdf",
                    headers={"Content-Disposition": f"attachment; filename=subject-access-{name}.pdf"})


def _refused(subject, records, query, who, message, at="records"):
    return render_template("sar/preview.html", subject=subject, records=records,
                           names=children_names([a.id for a in records]), third_parties=sar.third_parties(records),
                           others=sar.others_named(records, who), query=query, error=message, error_at=at, phrases_limit=PHRASES_LIMIT), 400


PHRASES_LIMIT, PHRASE_LIMIT = 4000, 200  # characters in "other words to withhold", and in one of its lines


def _phrases_problem() -> str | None:
    """Too much typed to withhold is refused with the typing kept, never cut short (R15)."""
    typed = request.values.get("phrases") or ""
    if len(typed) > PHRASES_LIMIT:
        return f"Other words to withhold must be {PHRASES_LIMIT:,} characters or fewer"
    if any(len(line.strip()) > PHRASE_LIMIT for line in typed.splitlines()):
        return f"Each word or phrase to withhold must be {PHRASE_LIMIT} characters or fewer"
    return None
