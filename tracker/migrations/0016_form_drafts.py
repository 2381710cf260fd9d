"""Nothing typed is lost (issue 22): a long form's typing kept on the server as a draft."""
from peewee import *


def up(migrator, db):
    class User(Model):
        class Meta:
            database = db
            table_name = 'user'

    class Agreement(Model):
        class Meta:
            database = db
            table_name = 'agreement'

    class FormDraft(Model):
        user = ForeignKeyField(User, on_delete='RESTRICT')
        agreement = ForeignKeyField(Agreement, null=True, on_delete='RESTRICT')
        path = CharField(max_length=300)
        state = CharField(max_length=10, default='open')
        body = TextField()
        saved_at = DateTimeField()
        used_at = DateTimeField(null=True)
        used_how = CharField(max_length=20, default='')

        class Meta:
            database = db
            table_name = 'form_draft'
            indexes = ((('user', 'path', 'used_at'), False),)

    db.create_tables([FormDraft])
