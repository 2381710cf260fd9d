# Generated from a schema diff on 2026-11-22 16:34.
# Python-side defaults (utcnow) live on the models, not in the schema.
from peewee import *


def up(migrator, db):
    class Team(Model):
        name = CharField(unique=True, max_length=120)
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'team'
    db.create_tables([Team])

    class User(Model):
        email = CharField(unique=True, max_length=254)
        name = CharField(max_length=120)
        password_hash = CharField()
        role = CharField(index=True, max_length=32)
        team = ForeignKeyField(Team, null=True, on_delete='RESTRICT')
        active = BooleanField(default=True)
        failed_logins = IntegerField(default=0)
        locked_until = DateTimeField(null=True)
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'user'
    db.create_tables([User])

    class Agreement(Model):
        reference = CharField(unique=True, max_length=20)
        kind = CharField(index=True, max_length=16)
        status = CharField(index=True, max_length=24, default='draft')
        team = ForeignKeyField(Team, on_delete='RESTRICT')
        social_worker = ForeignKeyField(User, null=True, on_delete='RESTRICT')
        created_by = ForeignKeyField(User, on_delete='RESTRICT')
        created_at = DateTimeField()
        updated_at = DateTimeField()
        completed_on = DateField(null=True)
        issued_on = DateField(null=True)
        purpose = TextField(default='')
        child_views = TextField(default='')
        family_views = TextField(default='')
        plan_type = CharField(max_length=32, default='none')
        if_things_go_wrong = TextField(default='')
        contingency = TextField(default='')
        duration = TextField(default='')
        first_language = CharField(max_length=80, default='English')
        interpreter = TextField(default='')
        advocacy = TextField(default='')
        literacy = TextField(default='')
        case_closing = BooleanField(default=False)
        domestic_abuse_concern = BooleanField(default=False)
        victim_asked_to_exclude_abuser = BooleanField(default=False)
        window_starts_at = DateTimeField(null=True)
        window_ends_at = DateTimeField(index=True, null=True)
        window_reason = TextField(default='')
        legal_advice_taken = BooleanField(default=False)
        legal_advice_notes = TextField(default='')
        escalation_level = IntegerField(default=0)
        next_escalation_at = DateTimeField(index=True, null=True)
        next_review_at = DateTimeField(index=True, null=True)
        submitted_at = DateTimeField(null=True)
        endorsed_by = ForeignKeyField(User, null=True, on_delete='RESTRICT')
        endorsed_at = DateTimeField(null=True)
        endorsement_override = TextField(default='')
        ended_at = DateTimeField(null=True)
        ended_by = ForeignKeyField(User, null=True, on_delete='RESTRICT')
        end_reason = CharField(null=True, max_length=32)
        end_notes = TextField(default='')
        class Meta:
            database = db
            table_name = 'agreement'
            indexes = ((('team', 'status'), False), (('social_worker', 'status'), False), (('status', 'kind', 'next_review_at'), False), (('status', 'kind', 'window_ends_at'), False))
    db.create_tables([Agreement])

    class Action(Model):
        agreement = ForeignKeyField(Agreement, on_delete='RESTRICT')
        position = IntegerField(default=0)
        what = TextField()
        who = CharField(max_length=300, default='')
        side = CharField(max_length=16, default='family')
        timescale = CharField(max_length=300, default='')
        due_on = DateField(null=True)
        removed_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'action'
    db.create_tables([Action])

    class Agency(Model):
        name = CharField(max_length=200)
        kind = CharField(max_length=32, default='other')
        email = CharField(null=True, max_length=254)
        phone = CharField(null=True, max_length=40)
        active = BooleanField(default=True)
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'agency'
    db.create_tables([Agency])

    class Review(Model):
        agreement = ForeignKeyField(Agreement, on_delete='RESTRICT')
        scheduled_at = DateTimeField(index=True)
        venue = CharField(max_length=300, default='')
        status = CharField(index=True, max_length=16, default='scheduled')
        sequence = IntegerField(default=0)
        previous_dates = TextField(default='[]')
        requests_open_at = DateTimeField(index=True, null=True)
        reports_due_at = DateTimeField(index=True, null=True)
        reminder_at = DateTimeField(index=True, null=True)
        request_at = DateTimeField(index=True, null=True)
        prompt_at = DateTimeField(index=True, null=True)
        overdue_at = DateTimeField(index=True, null=True)
        cancel_notice_at = DateTimeField(index=True, null=True)
        held_on = DateField(null=True)
        attendees = TextField(default='')
        outcome = CharField(null=True, max_length=32)
        reports_considered = TextField(default='[]')
        notes = TextField(default='')
        recorded_by = ForeignKeyField(User, null=True, on_delete='RESTRICT')
        recorded_at = DateTimeField(null=True)
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'review'
    db.create_tables([Review])

    class Recipient(Model):
        agreement = ForeignKeyField(Agreement, on_delete='RESTRICT')
        agency = ForeignKeyField(Agency, null=True, on_delete='RESTRICT')
        position = IntegerField(default=0)
        name = CharField(max_length=200)
        agency_name = CharField(max_length=200, default='')
        agency_kind = CharField(max_length=32, default='other')
        role = CharField(max_length=200, default='')
        email = CharField(max_length=254, default='')
        breach_contact = BooleanField(default=False)
        copy_sent_at = DateTimeField(null=True)
        acknowledged_at = DateTimeField(null=True)
        chase_at = DateTimeField(index=True, null=True)
        chased_at = DateTimeField(null=True)
        link_version = IntegerField(default=1)
        link_revoked_at = DateTimeField(null=True)
        removed_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'recipient'
    db.create_tables([Recipient])

    class AgencyReport(Model):
        review = ForeignKeyField(Review, on_delete='RESTRICT')
        recipient = ForeignKeyField(Recipient, on_delete='RESTRICT')
        nothing_to_share = BooleanField(default=False)
        body = TextField(default='')
        submitted_at = DateTimeField()
        submitted_via = CharField(max_length=16, default='link')
        class Meta:
            database = db
            table_name = 'agency_report'
            indexes = ((('review', 'recipient'), False),)
    db.create_tables([AgencyReport])

    class Child(Model):
        name = CharField(index=True, max_length=200)
        date_of_birth = DateField()
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'child'
    db.create_tables([Child])

    class AgreementChild(Model):
        agreement = ForeignKeyField(Agreement, on_delete='RESTRICT')
        child = ForeignKeyField(Child, on_delete='RESTRICT')
        position = IntegerField(default=0)
        removed_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'agreement_child'
            indexes = ((('child', 'agreement'), False),)
    db.create_tables([AgreementChild])

    class AuditEvent(Model):
        at = DateTimeField(index=True)
        user = ForeignKeyField(User, null=True, on_delete='RESTRICT')
        actor = CharField(max_length=300, default='')
        action = CharField(max_length=48)
        agreement = ForeignKeyField(Agreement, null=True, on_delete='RESTRICT')
        entity = CharField(max_length=48, default='')
        entity_id = IntegerField(null=True)
        changes = TextField(default='{}')
        ip = CharField(max_length=64, default='')
        class Meta:
            database = db
            table_name = 'audit_event'
    db.create_tables([AuditEvent])

    class Breach(Model):
        agreement = ForeignKeyField(Agreement, on_delete='RESTRICT')
        action = ForeignKeyField(Action, null=True, on_delete='RESTRICT')
        term = TextField(default='')
        occurred_at = DateTimeField()
        description = TextField()
        reported_by = CharField(max_length=200)
        immediate_risk = BooleanField(default=False)
        recipient = ForeignKeyField(Recipient, null=True, on_delete='RESTRICT')
        created_by = ForeignKeyField(User, null=True, on_delete='RESTRICT')
        created_at = DateTimeField()
        acknowledged_at = DateTimeField(null=True)
        acknowledged_by = ForeignKeyField(User, null=True, on_delete='RESTRICT')
        response = CharField(null=True, max_length=32)
        response_notes = TextField(default='')
        escalate_at = DateTimeField(index=True, null=True)
        escalated_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'breach'
    db.create_tables([Breach])

    class BreachAmendment(Model):
        breach = ForeignKeyField(Breach, on_delete='RESTRICT')
        text = TextField()
        created_by = ForeignKeyField(User, null=True, on_delete='RESTRICT')
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'breach_amendment'
    db.create_tables([BreachAmendment])

    class Notification(Model):
        key = CharField(unique=True)
        kind = CharField(index=True, max_length=48)
        agreement = ForeignKeyField(Agreement, null=True, on_delete='RESTRICT')
        to_address = CharField(max_length=254)
        to_label = CharField(max_length=200, default='')
        subject = CharField(max_length=300)
        body_text = TextField()
        body_html = TextField(default='')
        ics = TextField(default='')
        status = CharField(max_length=16, default='pending')
        attempts = IntegerField(default=0)
        next_attempt_at = DateTimeField()
        claimed_until = DateTimeField(null=True)
        last_error = TextField(default='')
        created_at = DateTimeField()
        sent_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'notification'
            indexes = ((('status', 'next_attempt_at'), False),)
    db.create_tables([Notification])

    class Party(Model):
        agreement = ForeignKeyField(Agreement, on_delete='RESTRICT')
        position = IntegerField(default=0)
        name = CharField(max_length=200)
        role = CharField(max_length=200, default='')
        signed_on = DateField(null=True)
        removed_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'party'
    db.create_tables([Party])

    class Setting(Model):
        key = CharField(primary_key=True, max_length=64)
        value = TextField()
        updated_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'setting'
    db.create_tables([Setting])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('setting'))
    migrator.migrate(migrator.drop_table('party'))
    migrator.migrate(migrator.drop_table('notification'))
    migrator.migrate(migrator.drop_table('breach_amendment'))
    migrator.migrate(migrator.drop_table('breach'))
    migrator.migrate(migrator.drop_table('audit_event'))
    migrator.migrate(migrator.drop_table('agreement_child'))
    migrator.migrate(migrator.drop_table('child'))
    migrator.migrate(migrator.drop_table('agency_report'))
    migrator.migrate(migrator.drop_table('recipient'))
    migrator.migrate(migrator.drop_table('review'))
    migrator.migrate(migrator.drop_table('agency'))
    migrator.migrate(migrator.drop_table('action'))
    migrator.migrate(migrator.drop_table('agreement'))
    migrator.migrate(migrator.drop_table('user'))
    migrator.migrate(migrator.drop_table('team'))
