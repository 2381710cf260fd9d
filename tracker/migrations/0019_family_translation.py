"""A translated copy of a version, attached by the worker for the family (R20)."""
from peewee import *


def up(migrator, db):
    class Agreement(Model):
        class Meta:
            database = db
            table_name = 'agreement'

    class User(Model):
        class Meta:
            database = db
            table_name = 'user'

    class FamilyTranslation(Model):
        agreement = ForeignKeyField(Agreement, on_delete='RESTRICT')
        version = IntegerField()
        language = CharField(max_length=80)
        text = TextField()
        made_by = ForeignKeyField(User, on_delete='RESTRICT')
        made_at = DateTimeField()

        class Meta:
            database = db
            table_name = 'family_translation'
            indexes = ((('agreement', 'version'), False),)

    db.create_tables([FamilyTranslation])
