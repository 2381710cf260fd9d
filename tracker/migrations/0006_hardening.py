# Issue 11: server-side sessions, sign-in failure counts, forms' one-time keys.
# New tables only; nothing existing changes, so it runs on a database with data.
from peewee import *


def up(migrator, db):
    class User(Model):
        class Meta:
            database = db
            table_name = 'user'

    class UserSession(Model):
        token_hash = CharField(unique=True, max_length=64)
        user = ForeignKeyField(User, on_delete='RESTRICT')
        created_at = DateTimeField()
        last_seen_at = DateTimeField()
        ended_at = DateTimeField(null=True)
        end_reason = CharField(max_length=32, default='')
        ip = CharField(max_length=64, default='')
        class Meta:
            database = db
            table_name = 'user_session'
            indexes = ((('user', 'ended_at'), False),)

    class SignInFailures(Model):
        key = CharField(unique=True, max_length=300)
        failures = IntegerField(default=0)
        last_failed_at = DateTimeField()
        wait_until = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'sign_in_failures'

    class FormSubmission(Model):
        key = CharField(unique=True, max_length=200)
        result_url = CharField(max_length=500)
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'form_submission'

    db.create_tables([UserSession, SignInFailures, FormSubmission])
