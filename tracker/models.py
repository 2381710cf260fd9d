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

from tracker.db import database

ROLES = {
    "social_worker": "Social worker",
    "team_manager": "Team manager",
    "service_manager": "Service manager",
    "administrator": "Administrator",
}
MANAGER_ROLES = ("team_manager", "service_manager")

KINDS = {"partnership": "Partnership agreement", "undertaking": "Written undertaking"}
STATUSES = {
    "draft": "Draft",
    "awaiting_endorsement": "Awaiting endorsement",
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
PARTY_SIDES = {"family": "Family member", "professional": "Professional"}


def utcnow() -> dt.datetime:
    """The current UTC time, naive. Only the edges of the app call this."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)


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
    created_at = pw.DateTimeField(default=utcnow)

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
    def role_label(self) -> str:
        return ROLES.get(self.role, self.role)

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
    name = pw.CharField(max_length=200, index=True)
    date_of_birth = pw.DateField()
    created_at = pw.DateTimeField(default=utcnow)

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

    # Undertakings: the permitted window (R4).
    window_starts_at = pw.DateTimeField(null=True)
    window_ends_at = pw.DateTimeField(null=True, index=True)
    window_reason = pw.TextField(default="")  # a manager's reason for exceeding the ceiling
    legal_advice_taken = pw.BooleanField(default=False)
    legal_advice_notes = pw.TextField(default="")
    escalation_level = pw.IntegerField(default=0)
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

    class Meta:
        indexes = (
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
    def kind_label(self) -> str:
        return KINDS.get(self.kind, self.kind)

    @property
    def status_label(self) -> str:
        return STATUSES.get(self.status, self.status)

    def __str__(self) -> str:
        return self.reference


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
    escalate_at = pw.DateTimeField(null=True, index=True)  # R5: 24 hours without a response
    escalated_at = pw.DateTimeField(null=True)


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
    last_error = pw.TextField(default="")
    created_at = pw.DateTimeField(default=utcnow)
    sent_at = pw.DateTimeField(null=True)

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
    Review,
    AgencyReport,
    Breach,
    BreachAmendment,
    Notification,
    AuditEvent,
]
