"""Forms: what each page accepts, and the messages shown beside each field."""

from __future__ import annotations

import datetime as dt

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Email, InputRequired, Length, Optional, Regexp, ValidationError

from tracker.clock import london_date, utcnow
from tracker.ids import ascii_digits
from tracker.models import (
    AGENCY_KINDS,
    END_REASONS,
    LEGAL_ADVICE,
    PARTY_SIDES,
    PLAN_TYPES,
    REVIEW_OUTCOMES,
    ROLES,
    UNDERTAKING_KINDS,
)
from tracker.records.breaches import RESPONSES as BREACH_RESPONSES
from tracker.records.fields import LINE_TEXT, LONG_TEXT
from tracker.records.identity import nhs_number_problem
from tracker.web.fields import DateField, DateTimeField, no_markup, single_line
from tracker.web.once import OnceKey


def options(pairs) -> list[SelectChoice]:
    """Choices for a select or radios, from a mapping or (value, label) pairs."""
    items = pairs.items() if isinstance(pairs, dict) else pairs
    return [SelectChoice(value, label) for value, label in items]


LONG, SHORT = LONG_TEXT, LINE_TEXT  # characters in a long answer, in a line (the registry's)


def long_text(label: str, required: str | None = None, **kwargs) -> TextAreaField:
    checks = [InputRequired(required)] if required else [Optional()]
    return TextAreaField(
        label,
        [*checks, Length(max=LONG, message=f"{label} must be {LONG:,} characters or fewer"), no_markup],
        **kwargs,
    )


def short_text(label: str, required: str | None = None, **kwargs) -> StringField:
    checks = [InputRequired(required)] if required else [Optional()]
    return StringField(
        label,
        [*checks, Length(max=SHORT, message=f"{label} must be {SHORT} characters or fewer"), no_markup, single_line],
        **kwargs,
    )


class ChildForm(Form):
    name = short_text("Child's full name", "Enter the child's full name")
    unborn = BooleanField("This baby is not yet born")
    date_of_birth = DateField("Child's date of birth, or the expected date of delivery", required=True)
    person_id = StringField(
        "Council person ID (optional)",
        [Optional(), Length(max=40, message="Council person ID must be 40 characters or fewer"),
         Regexp(r"^[A-Za-z0-9 /-]*$", message="Council person ID can only contain letters, numbers, spaces, / and -")],
        filters=[lambda value: ascii_digits(value) if isinstance(value, str) else value],
    )
    nhs_number = StringField("NHS number (optional)", [Optional(), Length(max=20, message="Enter an NHS number of 10 digits")],
                             filters=[lambda value: ascii_digits(value) if isinstance(value, str) else value])

    def validate_date_of_birth(self, field):
        today = london_date(utcnow())
        if not field.data:
            return
        if self.unborn.data:
            if field.data < today - dt.timedelta(days=31) or field.data > today + dt.timedelta(days=300):
                raise ValidationError("The expected date of delivery must be within the next 10 months")
        elif field.data > today:
            raise ValidationError("Child's date of birth must be today or in the past. "
                                  "For a baby not yet born, tick the box and give the expected date of delivery")

    def validate_nhs_number(self, field):
        problem = nhs_number_problem(field.data or "")
        if problem:
            raise ValidationError(problem)


class ActionForm(Form):
    id = HiddenField()  # the row's identity, so removing a row above it cannot move it
    what = long_text("What will be done", "Describe the action")
    who = short_text("Who is responsible")
    timescale = short_text("Timescale")
    due_on = DateField("By date")


class PartyForm(Form):
    id = HiddenField()
    name = short_text("Name of party", "Enter the party's name")
    role = short_text("Role or relationship")
    side = RadioField("Family member or professional", choices=options(PARTY_SIDES), validators=[Optional()],
                      validate_choice=False)
    signed_on = DateField("Date signed")

    def validate_side(self, field):
        if field.data and field.data not in PARTY_SIDES:
            raise ValidationError("Select family member or professional")


class RecipientForm(Form):
    id = HiddenField()  # the entry's link, acknowledgement and reports stay with it
    # Choices are the administrators' directory, set by the view; "" is free entry.
    directory = SelectField("Pick from the agency directory", choices=[], validate_choice=False, default="")
    name = short_text("Name", "Enter the name of the person receiving a copy")
    agency_name = short_text("Agency", "Enter the agency")
    agency_kind = SelectField("Type of agency", choices=options(AGENCY_KINDS), default="other")
    role = short_text("Role")
    email = EmailField(
        "Email address",
        [Optional(), Length(max=254), Email(message="Enter an email address in the right format, like name@example.org"), single_line],
    )
    breach_contact = BooleanField("Contact this person about a breach")


class Guarded(FlaskForm):
    """A form that changes a record carries the revision it was opened on (R12)."""

    revision = HiddenField()
    opened_at = HiddenField()

    def open_on(self, agreement) -> None:
        """Stamp the form with the record's revision now (a fresh page, or after a 409)."""
        self.revision.data = str(agreement.revision)
        self.opened_at.data = utcnow().isoformat()


class AgreementForm(Guarded):
    """Both kinds share one form; the page shows the fields for its kind."""

    once_key = OnceKey()
    snapshot = HiddenField()  # what the page showed when opened, so a 409 re-applies only this person's changes

    children = FieldList(FormField(ChildForm), min_entries=1, max_entries=12)
    social_worker = SelectField("Social worker", coerce=int, validate_choice=True)
    worker_phone = StringField(
        "Social worker's telephone",
        [Optional(), Length(max=40, message="Social worker's telephone must be 40 characters or fewer"),
         Regexp(r"^[0-9 +()-]*$", message="Enter a telephone number, like 01632 960 001")],
    )
    completed_on = DateField("Date completed", required=True)
    purpose = long_text("Purpose", "Describe the concerns and the outcomes to be achieved")
    child_views = long_text("The child's views")
    family_views = long_text("The parents' or carers' views")
    plan_type = RadioField("The plan this agreement rests on", choices=options(PLAN_TYPES), default="none")
    actions = FieldList(FormField(ActionForm), min_entries=1, max_entries=40)
    if_things_go_wrong = long_text("If things go wrong")
    contingency = long_text("Contingency plan")
    duration = short_text("How long this will last")
    review_at = DateTimeField("Date and time of the review")
    review_venue = short_text("Venue of the review")
    review_attendees = long_text("Who will attend the review")
    parties = FieldList(FormField(PartyForm), min_entries=1, max_entries=20)
    recipients = FieldList(FormField(RecipientForm), min_entries=0, max_entries=30)
    first_language = short_text("First language")
    interpreter = long_text("Interpreter or translation")
    advocacy = long_text("Advocacy")
    literacy = long_text("Literacy or learning needs")
    case_closing = BooleanField("The social work service is closing")
    domestic_abuse_concern = BooleanField("There is a domestic abuse concern")
    person_at_risk = short_text("The person at risk")
    person_who_harms = short_text("The person who harms")
    marac_idva = long_text("MARAC or IDVA referral")
    plan_meeting_on = DateField("Date of the next child protection or child in need meeting")
    undertaking_kind = RadioField("Kind of undertaking", choices=options(UNDERTAKING_KINDS), default="emergency",
                                  validators=[Optional()])
    closure_weeks = StringField("How many weeks it lasts", [Optional(), Length(max=3)])
    window_starts_at = DateTimeField("Undertaking starts")
    window_ends_at = DateTimeField("Undertaking must end by")
    window_reason = long_text("Manager's reason for a longer undertaking")
    legal_advice = RadioField("Was legal advice taken?", choices=options(LEGAL_ADVICE), default="not_recorded",
                              validators=[Optional()])
    legal_advice_notes = long_text("Legal advice notes")

    def validate_completed_on(self, field):
        if field.data and field.data > london_date(utcnow()):
            raise ValidationError("Date completed must be today or in the past")


class EndForm(Guarded):
    reason = RadioField("Why is it ending?", choices=options(END_REASONS), validators=[InputRequired("Select why it is ending")])
    notes = long_text("Notes")


class EndorseForm(Guarded):
    override = long_text("Reason for endorsing anyway")
    comments = long_text("Comments for the social worker")


class IssueForm(Guarded):
    issued_at = DateTimeField("When the family was given their copy", required=True)
    copy_language = short_text("Language of the family's copy", "Enter the language of the family's copy")
    translation_given = RadioField("Was a translation given?", choices=options({"yes": "Yes", "no": "No"}),
                                   validators=[InputRequired("Select yes if a translation was given")])
    reason = long_text("Reason for issuing it with a party unsigned")


class LoginForm(FlaskForm):
    email = StringField("Email address", [InputRequired("Enter your email address"), Length(max=254), single_line])
    password = PasswordField("Password", [InputRequired("Enter your password"), Length(max=200)])


class UserForm(FlaskForm):
    name = short_text("Full name", "Enter the person's full name")
    email = EmailField("Email address", [InputRequired("Enter an email address"), Length(max=254), Email(message="Enter an email address in the right format, like name@example.org"), single_line])
    phone = StringField("Telephone (optional)", [Optional(), Regexp(r"^[0-9 +()-]{3,40}$", message="Enter a telephone number, like 0100 000 0000")])
    role = SelectField("Role", choices=options(ROLES))
    team = SelectField("Team", coerce=int)
    password = PasswordField("New password", [Optional(), Length(min=12, max=200, message="Password must be 12 characters or more")])
    active = BooleanField("Can sign in")


class TeamForm(FlaskForm):
    name = short_text("Team name", "Enter the team's name")


class AgencyForm(FlaskForm):
    name = short_text("Agency name", "Enter the agency's name")
    kind = SelectField("Type of agency", choices=options(AGENCY_KINDS))
    email = EmailField("Email address", [Optional(), Length(max=254), Email(message="Enter an email address in the right format, like name@example.org"), single_line])
    phone = short_text("Phone")
    active = BooleanField("In use")


def error_list(form) -> list[dict]:
    """Every error in a form, nested rows included, for the GOV.UK error summary."""
    from tracker.web.fields import DateField

    found: list[dict] = []

    def walk(fields):
        for field in fields:
            if isinstance(field, FieldList):
                for entry in field.entries:
                    walk(entry.form if isinstance(entry, FormField) else [entry])
                if field.errors and all(isinstance(e, str) for e in field.errors):
                    for message in field.errors:
                        found.append({"text": message, "href": f"#{field.id}"})
            elif isinstance(field, FormField):
                walk(field.form)
            elif field.errors:
                anchor = f"{field.id}-day" if isinstance(field, DateField) else field.id
                if isinstance(field, RadioField):
                    anchor = field.id
                found.append({"text": field.errors[0], "href": f"#{anchor}"})

    walk(form)
    return found


class ReviewForm(Guarded):
    held_on = DateField("Date the review was held", required=True)
    attendees = long_text("Who attended")
    outcome = RadioField("Outcome", choices=options(REVIEW_OUTCOMES), validators=[InputRequired("Select the outcome of the review")])
    notes = long_text("What was decided")
    next_review_at = DateTimeField("Date and time of the next review")
    next_venue = short_text("Venue of the next review")

    def validate_held_on(self, field):
        if field.data and field.data > london_date(utcnow()):
            raise ValidationError("Date the review was held must be today or in the past")


class BreachForm(FlaskForm):
    """The quick breach form: few required fields, big targets, now by default."""

    once_key = OnceKey()

    immediate_risk = RadioField(
        "Is anyone at immediate risk of harm?",
        choices=options({"yes": "Yes", "no": "No"}),
        validators=[InputRequired("Select yes if anyone is at immediate risk of harm")],
    )
    description = long_text("What happened", "Describe what happened")
    occurred_at = DateTimeField("When it happened")
    action = RadioField("Which part of the agreement was broken", validators=[Optional()], validate_choice=False)
    term = short_text("Something else: what was broken")
    reported_by = short_text("Who reported it", "Enter who reported it")

    def validate_occurred_at(self, field):
        if field.data and field.data > utcnow() + dt.timedelta(minutes=5):
            raise ValidationError("When it happened must be now or in the past")

    @property
    def urgent(self) -> bool:
        return self.immediate_risk.data == "yes"

    def validate(self, extra_validators=None) -> bool:
        """With "Yes, someone is at immediate risk", nothing else is required (R5).

        A missing detail, or a time that cannot be read, is not a reason to
        lose an urgent breach: it is saved as "not given" and the time as typed
        goes with the description (`unreadable_time`).
        """
        valid = super().validate(extra_validators)
        self.unreadable_time = ""
        if valid or not self.urgent:
            return valid
        if self.occurred_at.errors:
            typed = " ".join(v for v in (self.occurred_at.parts.get(p, "") for p in self.occurred_at.parts_names) if v)
            self.unreadable_time = typed
            self.occurred_at.data = None
            self.occurred_at.errors = []
        for field in (self.description, self.reported_by, self.term):
            if not (field.data or "").strip():
                field.errors = []
        return not any(field.errors for field in self)


class AcknowledgeForm(FlaskForm):
    response = RadioField("Response", choices=options(BREACH_RESPONSES), validators=[InputRequired("Select the response")])
    response_notes = long_text("Notes on the response")


class AmendForm(FlaskForm):
    once_key = OnceKey()
    text = long_text("Correction or addition", "Write the correction or addition")


class AgencyReportForm(FlaskForm):
    once_key = OnceKey()
    kind = RadioField("What are you sending?", choices=options({"report": "A written report", "nothing": "Nothing to share"}),
                      validators=[InputRequired("Select a written report or nothing to share")])
    body = long_text("Your report")

    def validate(self, extra_validators=None) -> bool:
        # An empty optional field stops its own validators, so the "report needs
        # words" rule is checked here, across the two fields.
        valid = super().validate(extra_validators)
        if self.kind.data == "report" and not (self.body.data or "").strip():
            self.body.errors = [*self.body.errors, "Write your report, or select nothing to share"]
            return False
        return valid
