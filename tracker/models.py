"""Peewee models for the whole domain.

Times are naive UTC datetimes; they are shown in Europe/London by the
templates. Every due moment (next review, undertaking end, reports due,
breach escalation, next delivery attempt) is a stored, indexed column, kept up
to date by the domain functions that change the record, so the job sweeps read
only what is due.

Nothing is deleted. Records end; action, party and distribution rows are
retired with `removed_at`; breaches, amendments, reports and reviews are
append-only.
"""

from __future__ import annotations

import datetime as dt
import json

import peewee as pw
from peewee import JOIN

from tracker.clock import utcnow
from tracker.db import database
from tracker.ids import parse_number
from tracker.prepared import Prepared

ROLES = {
    "social_worker": "Social worker",
    "team_manager": "Team manager",
    "service_manager": "Service manager",
    "administrator": "Administrator",
    "front_door": "Front door",
}
MANAGER_ROLES = ("team_manager", "service_manager")

KINDS = {"partnership": "Partnership agreement", "undertaking": "Written undertaking"}
STATUSES = {
    "draft": "Draft",
    "awaiting_endorsement": "Awaiting endorsement",
    "returned": "Returned to the social worker",
    "active": "Active",
    "ended": "Ended",
}
END_REASONS = {
    "reviewed_closed": "Reviewed and closed",
    "replaced": "Replaced",
    "escalated": "Escalated to child protection or legal planning",
    "breached": "Breached",
    "expired": "Expired",
}
PLAN_TYPES = {
    "child_protection": "Child protection plan",
    "child_in_need": "Child in need plan",
    "care": "Care plan",
    "family_group_conference": "Family group conference plan",
    "none": "No other plan",
}
AGENCY_KINDS = {
    "school": "School",
    "nursery": "Nursery or early years",
    "health_visiting": "Health visiting service",
    "midwifery": "Midwifery service",
    "gp": "GP practice",
    "police": "Police",
    "housing": "Housing",
    "other": "Other",
}
REVIEW_OUTCOMES = {
    "continue": "Continue as it is",
    "vary": "Vary it: change the actions",
    "end": "End it: the concerns are resolved",
    "fold": "Fold it into the child protection or child in need plan",
    "escalate": "Escalate to child protection or legal planning",
}
# R4: an emergency undertaking lasts hours or days and climbs the escalation
# ladder; a closure undertaking is left in place when a case closes, lasts an
# agreed number of weeks, names the front door, and is escalated once.
UNDERTAKING_KINDS = {"emergency": "Emergency undertaking", "closure": "Closure undertaking"}
PARTY_SIDES = {"family": "Family member", "professional": "Professional"}
LEGAL_ADVICE = {"yes": "Yes", "no": "No", "not_recorded": "Not recorded"}


class BaseModel(pw.Model):
    class Meta:
        database = database
        legacy_table_names = False


class Team(BaseModel):
    name = pw.CharField(max_length=120, unique=True)
    created_at = pw.DateTimeField(default=utcnow)

    def __str__(self) -> str:
        return self.name


class User(BaseModel):
    email = pw.CharField(max_length=254, unique=True)
    name = pw.CharField(max_length=120)
    password_hash = pw.CharField(max_length=255)
    role = pw.CharField(max_length=32, index=True)
    team = pw.ForeignKeyField(Team, null=True, backref="members", on_delete="RESTRICT")
    active = pw.BooleanField(default=True)
    failed_logins = pw.IntegerField(default=0)
    locked_until = pw.DateTimeField(null=True)
    phone = pw.CharField(max_length=40, default="")  # shown to agencies as whom to call
    created_at = pw.DateTimeField(default=utcnow)
    # The council account this one signs in as (tracker.people.sso): the provider's
    # issuer and subject, never the email, which changes and can be given to someone else.
    sso_issuer = pw.CharField(max_length=255, null=True)
    sso_subject = pw.CharField(max_length=255, null=True)

    # Flask-Login protocol.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)

    @property
    def is_manager(self) -> bool:
        return self.role in MANAGER_ROLES

    def __str__(self) -> str:
        return self.name


class Agency(BaseModel):
    """A partner agency in the directory administrators keep."""

    name = pw.CharField(max_length=200)
    kind = pw.CharField(max_length=32, default="other")
    email = pw.CharField(max_length=254, null=True)
    phone = pw.CharField(max_length=40, null=True)
    active = pw.BooleanField(default=True)
    created_at = pw.DateTimeField(default=utcnow)

    @property
    def kind_label(self) -> str:
        return AGENCY_KINDS.get(self.kind, self.kind)

    def __str__(self) -> str:
        return self.name


class Setting(BaseModel):
    """An administrator's override of a default in tracker.settings."""

    key = pw.CharField(max_length=64, primary_key=True)
    value = pw.TextField()
    updated_at = pw.DateTimeField(default=utcnow)


class Child(BaseModel):
    """A child as one record names them; linked rows share `identity` (R13).

    `identity` is the id of the row the link group started from (a row's own id
    until it is linked), so every history-based warning sign reads the child's
    records through one indexed column. An unborn child's `date_of_birth`
    holds the expected date of delivery (`unborn` says so).
    """

    name = pw.CharField(max_length=200, index=True)
    date_of_birth = pw.DateField(index=True)
    created_at = pw.DateTimeField(default=utcnow)
    # Set when a manager closes the child's case (tracker.records.closure); a later
    # endorsed partnership agreement reopens it.
    case_closed_at = pw.DateTimeField(null=True)
    normalised_name = pw.CharField(max_length=200, default="", index=True)
    person_id = pw.CharField(max_length=40, default="", index=True)  # the council's case-management ID
    nhs_number = pw.CharField(max_length=10, default="", index=True)
    unborn = pw.BooleanField(default=False)
    identity = pw.IntegerField(default=0, index=True)

    def initials(self) -> str:
        return "".join(part[0].upper() for part in self.name.split() if part)


class Agreement(BaseModel):
    """A partnership agreement or a written undertaking (see `kind`)."""

    reference = pw.CharField(max_length=20, unique=True)
    kind = pw.CharField(max_length=16, index=True)
    status = pw.CharField(max_length=24, default="draft", index=True)
    team = pw.ForeignKeyField(Team, backref="agreements", on_delete="RESTRICT")
    social_worker = pw.ForeignKeyField(
        User, null=True, backref="caseload", on_delete="RESTRICT"
    )
    created_by = pw.ForeignKeyField(User, backref="+", on_delete="RESTRICT")
    created_at = pw.DateTimeField(default=utcnow)
    updated_at = pw.DateTimeField(default=utcnow)

    # The form's own fields.
    completed_on = pw.DateField(null=True)
    issued_on = pw.DateField(null=True)  # when the family received its copy (R8a)
    purpose = pw.TextField(default="")
    child_views = pw.TextField(default="")
    family_views = pw.TextField(default="")
    plan_type = pw.CharField(max_length=32, default="none")
    if_things_go_wrong = pw.TextField(default="")
    contingency = pw.TextField(default="")
    duration = pw.TextField(default="")
    first_language = pw.CharField(max_length=80, default="English")
    interpreter = pw.TextField(default="")
    advocacy = pw.TextField(default="")
    literacy = pw.TextField(default="")
    case_closing = pw.BooleanField(default=False)
    domestic_abuse_concern = pw.BooleanField(default=False)
    victim_asked_to_exclude_abuser = pw.BooleanField(default=False)
    # Domestic abuse (R8): whom the actions are read against, and the referral prompt.
    person_at_risk = pw.CharField(max_length=200, default="")
    person_who_harms = pw.CharField(max_length=200, default="")
    marac_idva = pw.TextField(default="")
    # Other plans (R14): the next child protection or child in need meeting.
    plan_meeting_on = pw.DateField(null=True, index=True)
    # The printable copy (issue 10): whom the family calls, and who attends the review.
    worker_phone = pw.CharField(max_length=40, default="")
    review_attendees = pw.TextField(default="")

    # Undertakings: the permitted window (R4).
    window_starts_at = pw.DateTimeField(null=True)
    window_ends_at = pw.DateTimeField(null=True, index=True)
    window_reason = pw.TextField(default="")  # a manager's reason for exceeding the ceiling
    legal_advice_taken = pw.BooleanField(default=False)
    legal_advice_notes = pw.TextField(default="")
    # "yes", "no" or "not_recorded" (R4, R14); `legal_advice_taken` mirrors "yes".
    legal_advice = pw.CharField(max_length=16, default="not_recorded")
    escalation_level = pw.IntegerField(default=0)
    undertaking_kind = pw.CharField(max_length=16, default="emergency")  # UNDERTAKING_KINDS
    closure_weeks = pw.IntegerField(null=True)  # a closure undertaking's agreed length
    next_escalation_at = pw.DateTimeField(null=True, index=True)

    # Partnership agreements: the next review (R1), kept in step with Review rows.
    next_review_at = pw.DateTimeField(null=True, index=True)

    # Lifecycle.
    submitted_at = pw.DateTimeField(null=True)
    endorsed_by = pw.ForeignKeyField(User, null=True, backref="+", on_delete="RESTRICT")
    endorsed_at = pw.DateTimeField(null=True)
    endorsement_override = pw.TextField(default="")
    ended_at = pw.DateTimeField(null=True)
    ended_by = pw.ForeignKeyField(User, null=True, backref="+", on_delete="RESTRICT")
    end_reason = pw.CharField(max_length=32, null=True)
    end_notes = pw.TextField(default="")

    # Versions (R11) and lost updates (R12). The row and its live rows are the
    # version in force; `version` is its number (0 before the first
    # endorsement). `revision` rises with every change, and each form carries
    # the revision it was opened on (a conditional UPDATE refuses a stale one).
    version = pw.IntegerField(default=0)
    revision = pw.IntegerField(default=1)
    # Waiting for endorsement (the record itself or its variation), and when an
    # undertaking still waiting is escalated to the service managers.
    awaiting_since = pw.DateTimeField(null=True, index=True)
    endorsement_escalate_at = pw.DateTimeField(null=True, index=True)
    variation_status = pw.CharField(max_length=24, default="")  # the variation in progress, if any
    returned_by = pw.ForeignKeyField(User, null=True, backref="+", on_delete="RESTRICT")
    returned_at = pw.DateTimeField(null=True)
    returned_comments = pw.TextField(default="")
    # Signed and issued: the moment the family's copy was issued, to the minute.
    issued_at = pw.DateTimeField(null=True)
    copy_language = pw.CharField(max_length=80, default="")
    translation_given = pw.BooleanField(default=False)
    issue_reason = pw.TextField(default="")  # why it was issued with a party unsigned
    # Adoption (issue 14): a record brought in from the service's spreadsheet,
    # and the day an ended record falls due for a retention decision.
    imported_at = pw.DateTimeField(null=True)
    retention_due_on = pw.DateField(null=True, index=True)

    class Meta:
        indexes = (
            (("status", "issued_at", "endorsed_at"), False),
            (("team", "status"), False),
            (("social_worker", "status"), False),
            # The dashboard and the sweeps read due work by these.
            (("status", "kind", "next_review_at"), False),
            (("status", "kind", "window_ends_at"), False),
        )

    @property
    def is_undertaking(self) -> bool:
        return self.kind == "undertaking"

    @property
    def is_closure_undertaking(self) -> bool:
        return self.kind == "undertaking" and self.undertaking_kind == "closure"

    @property
    def kind_label(self) -> str:
        if self.kind == "undertaking" and self.undertaking_kind == "closure":
            return UNDERTAKING_KINDS["closure"]
        return KINDS.get(self.kind, self.kind)

    @property
    def status_label(self) -> str:
        return STATUSES.get(self.status, self.status)

    def __str__(self) -> str:
        return self.reference


class AgreementVersion(BaseModel):
    """A version as it came into force: the whole record as endorsed (R11)."""

    agreement = pw.ForeignKeyField(Agreement, backref="versions", on_delete="RESTRICT")
    number = pw.IntegerField()
    snapshot = pw.TextField()  # JSON: drafting.form_data plus the endorsement
    endorsed_by = pw.ForeignKeyField(User, null=True, backref="+", on_delete="RESTRICT")
    endorsed_at = pw.DateTimeField()
    override_reason = pw.TextField(default="")
    created_at = pw.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("agreement", "number"), True),)

    def data(self) -> dict:
        return json.loads(self.snapshot or "{}")


VARIATION_STATUSES = {
    "draft": "Draft",
    "awaiting_endorsement": "Awaiting endorsement",
    "returned": "Returned to the social worker",
    "endorsed": "Endorsed",
    "withdrawn": "Withdrawn",
}


class Variation(BaseModel):
    """A draft of a record's next version; the version in force stays until it is endorsed."""

    agreement = pw.ForeignKeyField(Agreement, backref="variations", on_delete="RESTRICT")
    number = pw.IntegerField()  # the version it would become
    status = pw.CharField(max_length=24, default="draft", index=True)
    data = pw.TextField()  # JSON: the form's data for the family-agreed content
    reason = pw.TextField(default="")  # why it was opened ("Review of 15 January 2027: vary")
    created_by = pw.ForeignKeyField(User, backref="+", on_delete="RESTRICT")
    created_at = pw.DateTimeField(default=utcnow)
    updated_at = pw.DateTimeField(default=utcnow)
    submitted_at = pw.DateTimeField(null=True)
    returned_by = pw.ForeignKeyField(User, null=True, backref="+", on_delete="RESTRICT")
    returned_at = pw.DateTimeField(null=True)
    returned_comments = pw.TextField(default="")
    endorsed_by = pw.ForeignKeyField(User, null=True, backref="+", on_delete="RESTRICT")
    endorsed_at = pw.DateTimeField(null=True)
    override_reason = pw.TextField(default="")

    @property
    def status_label(self) -> str:
        return VARIATION_STATUSES.get(self.status, self.status)


class AgreementChild(BaseModel):
    agreement = pw.ForeignKeyField(Agreement, backref="child_links", on_delete="RESTRICT")
    child = pw.ForeignKeyField(Child, backref="agreement_links", on_delete="RESTRICT")
    position = pw.IntegerField(default=0)
    removed_at = pw.DateTimeField(null=True)

    class Meta:
        indexes = ((("child", "agreement"), False),)


class Action(BaseModel):
    agreement = pw.ForeignKeyField(Agreement, backref="actions", on_delete="RESTRICT")
    position = pw.IntegerField(default=0)
    what = pw.TextField()
    who = pw.CharField(max_length=300, default="")
    side = pw.CharField(max_length=16, default="family")  # family or professional
    timescale = pw.CharField(max_length=300, default="")
    due_on = pw.DateField(null=True)
    removed_at = pw.DateTimeField(null=True)


class Party(BaseModel):
    agreement = pw.ForeignKeyField(Agreement, backref="parties", on_delete="RESTRICT")
    position = pw.IntegerField(default=0)
    name = pw.CharField(max_length=200)
    role = pw.CharField(max_length=200, default="")
    side = pw.CharField(max_length=16, default="")  # family or professional; "" until said (R7 balance)
    signed_on = pw.DateField(null=True)
    removed_at = pw.DateTimeField(null=True)


class Recipient(BaseModel):
    """One entry on a record's distribution list: who receives a copy."""

    agreement = pw.ForeignKeyField(Agreement, backref="recipients", on_delete="RESTRICT")
    agency = pw.ForeignKeyField(Agency, null=True, backref="copies", on_delete="RESTRICT")
    position = pw.IntegerField(default=0)
    name = pw.CharField(max_length=200)
    agency_name = pw.CharField(max_length=200, default="")
    agency_kind = pw.CharField(max_length=32, default="other")
    role = pw.CharField(max_length=200, default="")
    email = pw.CharField(max_length=254, default="")
    breach_contact = pw.BooleanField(default=False)
    copy_sent_at = pw.DateTimeField(null=True)
    acknowledged_at = pw.DateTimeField(null=True)
    chase_at = pw.DateTimeField(null=True, index=True)  # R9: when an unacknowledged copy is chased
    chased_at = pw.DateTimeField(null=True)
    link_version = pw.IntegerField(default=1)  # raising it revokes the agency's signed link
    link_revoked_at = pw.DateTimeField(null=True)
    # When the current link version was issued; with the record's endorsement
    # it sets when the link expires (tracker.agencies.tokens.expires_at).
    link_issued_at = pw.DateTimeField(null=True)
    removed_at = pw.DateTimeField(null=True)

    @property
    def agency_kind_label(self) -> str:
        return AGENCY_KINDS.get(self.agency_kind, self.agency_kind)


class Review(BaseModel):
    """A review meeting of a partnership agreement; append-only history."""

    agreement = pw.ForeignKeyField(Agreement, backref="reviews", on_delete="RESTRICT")
    scheduled_at = pw.DateTimeField(index=True)
    venue = pw.CharField(max_length=300, default="")
    status = pw.CharField(max_length=16, default="scheduled", index=True)
    sequence = pw.IntegerField(default=0)  # raised each time it moves (.ics SEQUENCE)
    previous_dates = pw.TextField(default="[]")  # JSON list of ISO datetimes it moved from
    requests_open_at = pw.DateTimeField(null=True, index=True)  # R3 first request
    reports_due_at = pw.DateTimeField(null=True, index=True)  # R3 prompt and summary
    # The next moment each kind of notice about this review is due; a sweep
    # clears or advances it, with a conditional update, when it queues the
    # notice. NULL: nothing more of that kind is due. The sweeps read only these.
    reminder_at = pw.DateTimeField(null=True, index=True)
    request_at = pw.DateTimeField(null=True, index=True)
    prompt_at = pw.DateTimeField(null=True, index=True)
    overdue_at = pw.DateTimeField(null=True, index=True)
    cancel_notice_at = pw.DateTimeField(null=True, index=True)
    held_on = pw.DateField(null=True)
    attendees = pw.TextField(default="")
    outcome = pw.CharField(max_length=32, null=True)
    reports_considered = pw.TextField(default="[]")  # JSON list of AgencyReport ids
    notes = pw.TextField(default="")
    recorded_by = pw.ForeignKeyField(User, null=True, backref="+", on_delete="RESTRICT")
    recorded_at = pw.DateTimeField(null=True)
    created_at = pw.DateTimeField(default=utcnow)

    def moved_from(self) -> list[dt.datetime]:
        return [dt.datetime.fromisoformat(s) for s in json.loads(self.previous_dates or "[]")]


class AgencyReport(BaseModel):
    """An agency's written report, or its "nothing to share", for a review."""

    review = pw.ForeignKeyField(Review, backref="reports", on_delete="RESTRICT")
    recipient = pw.ForeignKeyField(Recipient, backref="reports", on_delete="RESTRICT")
    nothing_to_share = pw.BooleanField(default=False)
    body = pw.TextField(default="")
    submitted_at = pw.DateTimeField(default=utcnow)
    submitted_via = pw.CharField(max_length=16, default="link")

    class Meta:
        indexes = ((("review", "recipient"), False),)


class Breach(BaseModel):
    agreement = pw.ForeignKeyField(Agreement, backref="breaches", on_delete="RESTRICT")
    action = pw.ForeignKeyField(Action, null=True, backref="breaches", on_delete="RESTRICT")
    term = pw.TextField(default="")  # "something else", in the reporter's words
    occurred_at = pw.DateTimeField()
    description = pw.TextField()
    reported_by = pw.CharField(max_length=200)
    immediate_risk = pw.BooleanField(default=False)
    recipient = pw.ForeignKeyField(Recipient, null=True, backref="breaches", on_delete="RESTRICT")
    created_by = pw.ForeignKeyField(User, null=True, backref="+", on_delete="RESTRICT")
    created_at = pw.DateTimeField(default=utcnow)
    acknowledged_at = pw.DateTimeField(null=True)
    acknowledged_by = pw.ForeignKeyField(User, null=True, backref="+", on_delete="RESTRICT")
    response = pw.CharField(max_length=32, null=True)
    response_notes = pw.TextField(default="")
    escalate_at = pw.DateTimeField(null=True, index=True)  # R5: 24 hours (urgent: 1) without a response
    escalated_at = pw.DateTimeField(null=True)
    # An urgent breach is saved with whatever was typed (R5): the details left
    # out, comma-separated (reported_by, occurred_at, description), are shown
    # as "not given" and can be added as an amendment.
    not_given = pw.CharField(max_length=100, default="")

    def given(self, name: str) -> bool:
        return name not in (self.not_given or "").split(",")


class BreachAmendment(BaseModel):
    breach = pw.ForeignKeyField(Breach, backref="amendments", on_delete="RESTRICT")
    text = pw.TextField()
    created_by = pw.ForeignKeyField(User, null=True, backref="+", on_delete="RESTRICT")
    created_at = pw.DateTimeField(default=utcnow)


class Notification(BaseModel):
    """The outbox: one row per message per recipient address.

    `key` is unique, so enqueueing the same reminder twice is a no-op (R10).
    Delivery claims a row by a conditional update that sets `claimed_until`;
    a row whose claim has lapsed is claimable again.
    """

    key = pw.CharField(max_length=255, unique=True)
    kind = pw.CharField(max_length=48, index=True)
    agreement = pw.ForeignKeyField(
        Agreement, null=True, backref="notifications", on_delete="RESTRICT"
    )
    to_address = pw.CharField(max_length=254)
    to_label = pw.CharField(max_length=200, default="")
    subject = pw.CharField(max_length=300)
    body_text = pw.TextField()
    body_html = pw.TextField(default="")
    ics = pw.TextField(default="")
    status = pw.CharField(max_length=16, default="pending")
    attempts = pw.IntegerField(default=0)
    next_attempt_at = pw.DateTimeField(default=utcnow)
    claimed_until = pw.DateTimeField(null=True)
    last_error = pw.TextField(default="")  # or, for a cancelled email, why it was not sent
    created_at = pw.DateTimeField(default=utcnow)
    sent_at = pw.DateTimeField(null=True)
    # An email that carries an agency's link names the distribution entry and
    # the link version it was written with, so delivery can check the link is
    # still the one that works just before sending (tracker.notices.mailings.check_agency_link).
    recipient = pw.ForeignKeyField(Recipient, null=True, backref="+", on_delete="RESTRICT")
    link_version = pw.IntegerField(null=True)
    # --- text messages (GOV.UK Notify) ---
    # The one outbox carries texts too: `channel` says which (jobs.delivery sends "email",
    # jobs.texting "text"). A text keeps its template's values (JSON) in `personalisation`,
    # Notify's id for it once accepted, the last status Notify gave, and when to ask again.
    channel = pw.CharField(max_length=8, default="email")
    personalisation = pw.TextField(default="")
    notify_id = pw.CharField(max_length=64, null=True)
    notify_status = pw.CharField(max_length=32, default="")
    status_check_at = pw.DateTimeField(null=True, index=True)
    # --- end text messages ---

    class Meta:
        indexes = ((("status", "next_attempt_at"), False),)


class AuditEvent(BaseModel):
    at = pw.DateTimeField(default=utcnow, index=True)
    user = pw.ForeignKeyField(User, null=True, backref="+", on_delete="RESTRICT")
    actor = pw.CharField(max_length=300, default="")  # who, when not a logged-in user
    action = pw.CharField(max_length=48)
    agreement = pw.ForeignKeyField(
        Agreement, null=True, backref="audit_events", on_delete="RESTRICT"
    )
    entity = pw.CharField(max_length=48, default="")
    entity_id = pw.IntegerField(null=True)
    changes = pw.TextField(default="{}")  # JSON {field: [old, new]}
    ip = pw.CharField(max_length=64, default="")

    def changes_dict(self) -> dict:
        data = json.loads(self.changes or "{}")
        return data if isinstance(data, dict) else {}

    def change_list(self) -> list[tuple[str, object, object]]:
        data = json.loads(self.changes or "{}")
        return [(k, v[0], v[1]) for k, v in data.items()] if isinstance(data, dict) else []


class RetentionDecision(BaseModel):
    """A manager's decision on an ended record past its retention date: keep (with a reason) or destroy."""

    agreement = pw.ForeignKeyField(Agreement, null=True, backref="retention_decisions", on_delete="SET NULL")
    reference = pw.CharField(max_length=20, index=True)
    decision = pw.CharField(max_length=16)  # keep or destroy
    reason = pw.TextField(default="")
    decided_by = pw.ForeignKeyField(User, backref="+", on_delete="RESTRICT")
    decided_at = pw.DateTimeField(default=utcnow)


class Tombstone(BaseModel):
    """What is left of a destroyed record: its reference and the decision, no personal data."""

    reference = pw.CharField(max_length=20, unique=True)
    kind = pw.CharField(max_length=16)
    team_name = pw.CharField(max_length=120, default="")
    ended_on = pw.DateField(null=True)
    retention_due_on = pw.DateField(null=True)
    reason = pw.TextField(default="")
    destroyed_by = pw.ForeignKeyField(User, backref="+", on_delete="RESTRICT")
    destroyed_at = pw.DateTimeField(default=utcnow)


class UserSession(BaseModel):
    """A signed-in session, held on the server so it can be ended.

    The browser's cookie carries a random id; only its SHA-256 is stored, so
    reading this table does not let anyone sign in. A session ends at sign-out,
    when its user's password changes, when they are disabled or sign out
    everywhere, after the idle timeout, or at its absolute lifetime.
    """

    token_hash = pw.CharField(max_length=64, unique=True)
    user = pw.ForeignKeyField(User, backref="sessions", on_delete="RESTRICT")
    created_at = pw.DateTimeField(default=utcnow)
    last_seen_at = pw.DateTimeField(default=utcnow)
    ended_at = pw.DateTimeField(null=True)
    end_reason = pw.CharField(max_length=32, default="")
    ip = pw.CharField(max_length=64, default="")
    # Single sign-on: the provider's ID token, for the end-session request at sign-out; never in the cookie.
    id_token = pw.TextField(null=True, default="")

    class Meta:
        indexes = ((("user", "ended_at"), False),)


class SignInFailures(BaseModel):
    """Failed sign-ins counted per account (`email:…`) and per address (`ip:…`).

    Only failures are counted. Each failure past the free ones doubles the wait
    before the next try (`wait_until`); a success clears the account's count.
    """

    key = pw.CharField(max_length=300, unique=True)
    failures = pw.IntegerField(default=0)
    last_failed_at = pw.DateTimeField(default=utcnow)
    wait_until = pw.DateTimeField(null=True)


class FormSubmission(BaseModel):
    """A form's one-time key, claimed by the first post that creates something.

    Posting the same form again finds the key and shows the first result
    (`result_url`) instead of creating a second row (R12).
    """

    key = pw.CharField(max_length=200, unique=True)
    result_url = pw.CharField(max_length=500)
    created_at = pw.DateTimeField(default=utcnow)
    digest = pw.CharField(max_length=64, default="")  # what was posted (tracker.web.once)
    content_key = pw.CharField(max_length=64, null=True)  # the digest by page and person

    class Meta:
        indexes = ((("content_key", "created_at"), False),)


class JobRun(BaseModel):
    """One pass of a scheduled job (R18): when it started and finished, how much
    it did, and any error. `jobs.runs` keeps the latest few a job, so the table
    stays small and "when did delivery last run" is one indexed read."""

    job = pw.CharField(max_length=32)
    started_at = pw.DateTimeField()
    finished_at = pw.DateTimeField(null=True)
    done = pw.IntegerField(default=0)
    error = pw.TextField(default="")

    class Meta:
        indexes = ((("job", "started_at"), False),)


ALL_MODELS = [
    Team,
    User,
    Agency,
    Setting,
    Child,
    Agreement,
    AgreementChild,
    Action,
    Party,
    Recipient,
    AgreementVersion,
    Variation,
    Review,
    AgencyReport,
    Breach,
    BreachAmendment,
    Notification,
    AuditEvent,
    RetentionDecision,
    Tombstone,
    UserSession,
    SignInFailures,
    FormSubmission,
    JobRun,
]


# --- Queries about one record -------------------------------------------------------
# Read by the record page, the quality checks, the notices and the sweeps alike.


def read_once(agreement: Agreement) -> Agreement:
    """Mark an agreement read-only for this request: the functions below read each
    of its lists once and hand back the same list when asked again (the record
    page asks for its children, recipients and next review three times over).
    Only for pages that change nothing of the record; never in a form's POST."""
    agreement._read_once = {}
    return agreement


def forget(agreement: Agreement | None) -> None:
    """A change is coming: read this agreement's lists afresh from now on (read_once no more)."""
    if agreement is not None:
        agreement.__dict__.pop("_read_once", None)


def _once(agreement: Agreement, name: str, load):
    memo = getattr(agreement, "_read_once", None)
    if memo is None:
        return load()
    if name not in memo:
        if name in READ_TOGETHER:
            memo.update(_lists_together(agreement.id))
        else:
            memo[name] = load()
    return memo[name]


# --- A read-only record page's short lists, in one statement --------------------------
#
# The record page shows its children, actions, parties, reviews, versions and the
# agency reports for its next review: six short lists, six statements, when each is
# read on its own. Under read_once they are read together (READ_TOGETHER): each
# list's own query, its columns placed by type in shared columns (integers, text,
# moments, dates, yes/no) and padded with typed NULLs (PostgreSQL matches a UNION's
# columns by type), joined by UNION ALL and ordered by list, then by each list's
# own order. Each row becomes its model again through the fields' own converters.
# A new short list of the record with its own model can join `_together_lists`.

_KINDS = (  # shared column kind: the field types that go in it, and its SQL type for a NULL
    ("int", (pw.AutoField, pw.IntegerField, pw.ForeignKeyField), "INTEGER"),
    ("text", (pw.CharField, pw.TextField), "TEXT"),
    ("moment", (pw.DateTimeField,), "TIMESTAMP"),
    ("date", (pw.DateField,), "DATE"),
    ("flag", (pw.BooleanField,), "BOOLEAN"),
)


def _kind(field: pw.Field) -> str:
    return next(name for name, types, _ in _KINDS if isinstance(field, types))


def _together_lists(p):
    """Each list: (memo name, model, its query's FROM and WHERE, its order: a position or a moment, newest first)."""
    live = AgreementChild.select().join(Child, on=(AgreementChild.child == Child.id))
    return (
        ("children", Child, live.where((AgreementChild.agreement == p.agreement) & AgreementChild.removed_at.is_null()),
         AgreementChild.position, None),
        ("actions", Action, Action.select().where((Action.agreement == p.agreement) & Action.removed_at.is_null()),
         Action.position, None),
        ("parties", Party, Party.select().where((Party.agreement == p.agreement) & Party.removed_at.is_null()),
         Party.position, None),
        ("reviews", Review, Review.select().where(Review.agreement == p.agreement), None, Review.scheduled_at),
        ("versions", AgreementVersion, AgreementVersion.select().where(AgreementVersion.agreement == p.agreement),
         AgreementVersion.number, None),
        # Every agency report on the record's reviews (readiness shows the next review's).
        ("reports", AgencyReport, AgencyReport.select().join(Review, on=(AgencyReport.review == Review.id))
         .where(Review.agreement == p.agreement), None, AgencyReport.submitted_at),
        # The family's own links and what they said they read (R20), for the record page's family list.
        ("family_access", FamilyAccess, FamilyAccess.select().where(FamilyAccess.agreement == p.agreement),
         None, FamilyAccess.created_at),
        ("family_reads", FamilyRead, FamilyRead.select().where(FamilyRead.agreement == p.agreement), None, FamilyRead.at),
    )


def _layout():
    """Where each list's fields go among the shared columns, and how many of each kind there are."""
    widths: dict[str, int] = {}
    places = {}
    for name, model, _query, _position, _moment in _together_lists(_NoParams()):
        used: dict[str, int] = {}
        fields = []
        for field in model._meta.sorted_fields:
            kind = _kind(field)
            fields.append((field, kind, used.get(kind, 0)))
            used[kind] = used.get(kind, 0) + 1
        places[name] = fields
        for kind, count in used.items():
            widths[kind] = max(widths.get(kind, 0), count)
    return places, widths


class _NoParams:
    agreement = 0


def _build_together(p):
    places, widths = _layout_once()
    branches = []
    for index, (name, _model, query, position, moment) in enumerate(_together_lists(p)):
        columns = {kind: [None] * widths.get(kind, 0) for kind, _, _ in _KINDS}
        for field, kind, slot in places[name]:
            columns[kind][slot] = field
        selected = [pw.SQL(str(index)),
                    position if position is not None else pw.Cast(pw.SQL("NULL"), "INTEGER"),
                    moment if moment is not None else pw.Cast(pw.SQL("NULL"), "TIMESTAMP")]
        for kind, _, sql_type in _KINDS:
            selected += [f if f is not None else pw.Cast(pw.SQL("NULL"), sql_type) for f in columns[kind]]
        branches.append(query.select(*selected))
    together = branches[0]
    for branch in branches[1:]:
        together = together.union_all(branch)
    return together.order_by(pw.SQL("1"), pw.SQL("2"), pw.SQL("3 DESC"))


_TOGETHER = Prepared(_build_together)
READ_TOGETHER = ("children", "actions", "parties", "reviews", "versions", "reports", "family_access", "family_reads")


def _lists_together(agreement_id: int) -> dict[str, list]:
    places, widths = _layout_once()
    lists = list(places)  # the lists' names, in their branches' order
    offsets, start = {}, 3
    for kind, _, _ in _KINDS:
        offsets[kind] = start
        start += widths.get(kind, 0)
    found: dict[str, list] = {name: [] for name in READ_TOGETHER}
    sql, args = _TOGETHER.sql(agreement=agreement_id)
    for row in database.execute_sql(sql, args):
        name = lists[row[0]]
        model = places[name][0][0].model
        instance = model(__no_default__=1, **{
            field.name: field.python_value(row[offsets[kind] + slot]) for field, kind, slot in places[name]})
        instance._dirty.clear()
        found[name].append(instance)
    return found


_LAYOUT: list = []


def _layout_once():
    if not _LAYOUT:
        _LAYOUT.append(_layout())
    return _LAYOUT[0]


def children_of(agreement: Agreement) -> list[Child]:
    return _once(agreement, "children", lambda: list(
        Child.select()
        .join(AgreementChild)
        .where((AgreementChild.agreement == agreement) & AgreementChild.removed_at.is_null())
        .order_by(AgreementChild.position)
    ))


def live_actions(agreement: Agreement) -> list[Action]:
    return _once(agreement, "actions", lambda: list(
        agreement.actions.where(Action.removed_at.is_null()).order_by(Action.position)))


def live_parties(agreement: Agreement) -> list[Party]:
    return _once(agreement, "parties", lambda: list(
        agreement.parties.where(Party.removed_at.is_null()).order_by(Party.position)))


def live_recipients(agreement: Agreement) -> list[Recipient]:
    # The directory's agency comes in the same statement (the quality check reads its kind).
    return _once(agreement, "recipients", lambda: _LIVE_RECIPIENTS.execute(agreement=agreement.id))


_LIVE_RECIPIENTS = Prepared(lambda p: (
    Recipient.select(Recipient, Agency).join(Agency, JOIN.LEFT_OUTER, on=(Recipient.agency == Agency.id))
    .where((Recipient.agreement == p.agreement) & Recipient.removed_at.is_null()).order_by(Recipient.position)))


def recent_notifications(agreement: Agreement, most: int = 50) -> list[Notification]:
    """The record's latest emails, newest first."""
    return _RECENT_NOTIFICATIONS.execute(agreement=agreement.id, most=most)


_RECENT_NOTIFICATIONS = Prepared(lambda p: (
    Notification.select().where(Notification.agreement == p.agreement)
    .order_by(Notification.created_at.desc()).limit(p.most)))


def all_reviews(agreement: Agreement) -> list[Review]:
    """Every review of the record, latest first."""
    return _once(agreement, "reviews", lambda: list(agreement.reviews.order_by(Review.scheduled_at.desc())))


def next_review(agreement: Agreement) -> Review | None:
    memo = getattr(agreement, "_read_once", None)
    if memo is not None:
        scheduled = [r for r in all_reviews(agreement) if r.status == "scheduled"]
        return min(scheduled, key=lambda r: r.scheduled_at) if scheduled else None
    return (
        agreement.reviews.where(Review.status == "scheduled").order_by(Review.scheduled_at).first()
    )


VARIATION_OPEN = ("draft", "awaiting_endorsement", "returned")  # a variation not yet in force


def worker_telephone(agreement: Agreement, worker: User | None = None) -> str:
    """The one telephone number for the social worker, on every copy, page and email:
    the number typed on the record for this case, else the worker's own account
    telephone; blank when neither is known (the copy then gives the front door's)."""
    if (agreement.worker_phone or "").strip():
        return agreement.worker_phone.strip()
    if worker is None and agreement.social_worker_id:
        worker = User.get_or_none(User.id == agreement.social_worker_id)
    return ((worker.phone or "") if worker is not None and agreement.social_worker_id else "").strip()


def reports_for(agreement: Agreement, review: Review) -> list[AgencyReport]:
    """The agency reports for one of the record's reviews, in the order they came (latest last)."""
    memo = getattr(agreement, "_read_once", None)
    if memo is None:
        return list(AgencyReport.select().where(AgencyReport.review == review.id)
                    .order_by(AgencyReport.submitted_at, AgencyReport.id))
    every = _once(agreement, "reports", list)  # read with the record's other lists (READ_TOGETHER)
    return sorted((r for r in every if r.review_id == review.id), key=lambda r: (r.submitted_at, r.id))


def versions_of(agreement: Agreement) -> list[AgreementVersion]:
    """Each version that came into force, oldest first."""
    return _once(agreement, "versions", lambda: list(
        AgreementVersion.select().where(AgreementVersion.agreement == agreement).order_by(AgreementVersion.number)))


def in_progress(agreement: Agreement) -> Variation | None:
    # Read once on a read-only record page (read_once): the page and may_endorse both ask.
    # There the record's row was read in this request, and its variation_status
    # (kept with every change of a variation) says whether one is open at all.
    if getattr(agreement, "_read_once", None) is not None and not agreement.variation_status:
        return None
    return _once(agreement, "variation", lambda: Variation.select().where(
        (Variation.agreement == agreement) & Variation.status.in_(VARIATION_OPEN)).order_by(Variation.id.desc()).first())


# --- No lost updates (R12) -----------------------------------------------------------


class Stale(Exception):
    """The page was opened on an older revision of the record than the one now saved."""

    def __init__(self, agreement_id: int):
        super().__init__("This record has changed since the page was opened")
        self.agreement_id = agreement_id


def claim(agreement_id: int, expected) -> None:
    """Raise the revision, only if it is still `expected` (None: unconditionally).

    Call it first inside the transaction of every change, so a stale form
    changes nothing.
    """
    query = Agreement.update(revision=Agreement.revision + 1).where(Agreement.id == agreement_id)
    if expected not in (None, ""):
        revision = parse_number(expected)
        if revision is None:
            raise Stale(agreement_id)
        query = query.where(Agreement.revision == revision)
    if query.execute() != 1:
        raise Stale(agreement_id)


# --- family ---
# The family's own copy (R20): each family party may have a link to the version in force.


class FamilyAccess(BaseModel):
    """One family party's access to their own copy: a link and its code, or a worker's "do not send".

    The token in the address is never stored: it is made again from the row's id
    and `generation` with the app's secret key (tracker.family.links), and only its
    hash is kept, to find the row. The code is kept as an argon2 hash. Raising
    `generation` stops the link and every device that entered its code.
    """

    party = pw.ForeignKeyField(Party, unique=True, backref="+", on_delete="RESTRICT")
    agreement = pw.ForeignKeyField(Agreement, backref="+", on_delete="RESTRICT")
    generation = pw.IntegerField(default=0)  # 0: never sent a link
    token_hash = pw.CharField(max_length=64, null=True, unique=True)
    code_hash = pw.CharField(max_length=255, default="")
    channel = pw.CharField(max_length=16, default="")  # email, text or paper (FAMILY_CHANNELS)
    address = pw.CharField(max_length=254, default="")  # the email address or mobile number; "" on paper
    issued_at = pw.DateTimeField(null=True)
    issued_by = pw.ForeignKeyField(User, null=True, backref="+", on_delete="RESTRICT")
    sent_version = pw.IntegerField(default=0)  # the version in force when the link was last sent
    unread_check_at = pw.DateTimeField(null=True, index=True)  # when the worker is told this version is unread
    stopped_at = pw.DateTimeField(null=True)
    stop_reason = pw.CharField(max_length=32, default="")
    harms_reason = pw.TextField(default="")  # a manager's reason to send a link to the person who harms
    harms_reason_by = pw.ForeignKeyField(User, null=True, backref="+", on_delete="RESTRICT")
    do_not_send = pw.TextField(default="")  # the worker's reason not to send a link; "" when a link may go
    do_not_send_by = pw.ForeignKeyField(User, null=True, backref="+", on_delete="RESTRICT")
    do_not_send_at = pw.DateTimeField(null=True)
    created_at = pw.DateTimeField(default=utcnow)


class FamilyDevice(BaseModel):
    """A browser that entered the party's code, remembered by a random cookie (only its hash is kept)."""

    access = pw.ForeignKeyField(FamilyAccess, backref="devices", on_delete="RESTRICT")
    generation = pw.IntegerField()
    secret_hash = pw.CharField(max_length=64, unique=True)
    created_at = pw.DateTimeField(default=utcnow)
    last_seen_at = pw.DateTimeField(default=utcnow)
    ended_at = pw.DateTimeField(null=True)  # Exit this page was pressed on it: the code is asked again


class FamilyRead(BaseModel):
    """"I have read my copy", said by a family party about one version."""

    access = pw.ForeignKeyField(FamilyAccess, backref="reads", on_delete="RESTRICT")
    agreement = pw.ForeignKeyField(Agreement, backref="+", on_delete="RESTRICT")
    version = pw.IntegerField()
    at = pw.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("access", "version"), True),)


ALL_MODELS += [FamilyAccess, FamilyDevice, FamilyRead]


def family_accesses(agreement: Agreement) -> list[FamilyAccess]:
    """The record's family links and "do not send" marks, one a family party (read with the record's lists)."""
    return _once(agreement, "family_access", lambda: list(
        FamilyAccess.select().where(FamilyAccess.agreement == agreement.id).order_by(FamilyAccess.created_at.desc())))


def family_reads(agreement: Agreement) -> list[FamilyRead]:
    """Each "I have read my copy" on the record, any version."""
    return _once(agreement, "family_reads", lambda: list(
        FamilyRead.select().where(FamilyRead.agreement == agreement.id).order_by(FamilyRead.at.desc())))


class FamilyTranslation(BaseModel):
    """A translated copy of one version that the worker made (or had made) for the family, as they gave it.

    Shown on the family's page beside the version it translates; a new version needs its own."""

    agreement = pw.ForeignKeyField(Agreement, backref="+", on_delete="RESTRICT")
    version = pw.IntegerField()
    language = pw.CharField(max_length=80)
    text = pw.TextField()
    made_by = pw.ForeignKeyField(User, backref="+", on_delete="RESTRICT")
    made_at = pw.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("agreement", "version"), False),)


ALL_MODELS += [FamilyTranslation]


# --- importer ---


class ImportJob(BaseModel):
    """A confirmed spreadsheet import, waiting for the job runner or done by it (jobs.imports).

    The confirm request only writes this row and returns, so no proxy's read
    timeout can cut an import short; the file's bytes wait here (not on one
    machine's disk, so any runner can do it) and are emptied once it has run.
    """

    user = pw.ForeignKeyField(User, backref="+", on_delete="RESTRICT")
    filename = pw.CharField(max_length=120)
    data = pw.BlobField()
    # waiting -> checking -> recording -> done; or refused (a row's error, found again) or failed.
    status = pw.CharField(max_length=16, default="waiting", index=True)
    records = pw.IntegerField(default=0)  # how many records the file holds, once checked
    created = pw.IntegerField(default=0)  # how many were recorded
    message = pw.TextField(default="")  # why it was refused or failed, in plain words
    created_at = pw.DateTimeField(default=utcnow)
    started_at = pw.DateTimeField(null=True)
    finished_at = pw.DateTimeField(null=True)

    @property
    def finished(self) -> bool:
        return self.status in ("done", "refused", "failed")


ALL_MODELS.append(ImportJob)


# --- drafts ---


class FormDraft(BaseModel):
    """What someone typed in a long form, kept on the server before it is saved (issue 22).

    One live draft a person, a form page (its address names the form and the record it
    changes) and a kind: "open" while they are signed in (autosave, "Save and come back
    later"), "pending" when the form was posted after their session had ended. A draft
    is never deleted when used: `used_at` and `used_how` say it was saved or set aside;
    a draft for a record goes with the record at retention (its foreign key).
    """

    user = pw.ForeignKeyField(User, backref="form_drafts", on_delete="RESTRICT")
    agreement = pw.ForeignKeyField(Agreement, null=True, backref="form_drafts", on_delete="RESTRICT")
    path = pw.CharField(max_length=300)
    state = pw.CharField(max_length=10, default="open")
    body = pw.TextField()  # the posted fields as a JSON list of [name, value], less the CSRF token
    saved_at = pw.DateTimeField(default=utcnow)
    used_at = pw.DateTimeField(null=True)
    used_how = pw.CharField(max_length=20, default="")

    class Meta:
        indexes = ((("user", "path", "used_at"), False),)


ALL_MODELS.append(FormDraft)


# --- stored warning signs ---


class RecordSign(BaseModel):
    """One warning sign of an active record that does not move with the clock (issue 24).

    The service view counts these by team instead of reading every active record's
    words, actions, parties and children's history a request; the signs that move
    with the clock (active past 6 months, past the plan meeting, never reviewed) it
    counts in SQL. Kept by tracker.records.sign_store.refresh_stored from SignQueue:
    derived, never typed, so they go with their record at retention (the foreign key).
    """

    agreement = pw.ForeignKeyField(Agreement, backref="+", on_delete="CASCADE")
    key = pw.CharField(max_length=40)

    class Meta:
        indexes = ((("agreement", "key"), True), (("key", "agreement"), False))


class SignQueue(BaseModel):
    """What changed since the stored signs were worked out: written only by database
    triggers (migration 0029), so no code path can forget to. A record, or a child as
    it was (its row, identity, NHS number and council person ID): the records of that
    child, and of every child the same by identity, NHS number or person ID, are
    worked out again (tracker.records.sign_store.refresh_stored), then the row goes."""

    agreement_id = pw.IntegerField(null=True)
    child_id = pw.IntegerField(null=True)
    identity = pw.IntegerField(null=True)
    nhs_number = pw.CharField(max_length=10, null=True)
    person_id = pw.CharField(max_length=40, null=True)


class SignLogic(BaseModel):
    """The fingerprint of the code the stored signs were worked out by: when the code
    says something else, every active record is queued again (one row)."""

    fingerprint = pw.CharField(max_length=64)


ALL_MODELS += [RecordSign, SignQueue, SignLogic]
