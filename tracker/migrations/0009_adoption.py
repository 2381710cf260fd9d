"""Adoption (issue 14): imported records, retention review and tombstones.

Self-contained: two nullable columns on agreement, two new tables.
"""
from peewee import *


def up(migrator, db):
    class Team(Model):
        class Meta:
            database = db
            table_name = 'team'

    class User(Model):
        class Meta:
            database = db
            table_name = 'user'

    class Agreement(Model):
        class Meta:
            database = db
            table_name = 'agreement'

    migrator.migrate(
        migrator.add_column('agreement', 'imported_at', DateTimeField(null=True)),
        migrator.add_column('agreement', 'retention_due_on', DateField(null=True)),
        migrator.add_index('agreement', ('retention_due_on',)),
    )

    class RetentionDecision(Model):
        agreement = ForeignKeyField(Agreement, null=True, on_delete='SET NULL')
        reference = CharField(max_length=20, index=True)
        decision = CharField(max_length=16)
        reason = TextField(default='')
        decided_by = ForeignKeyField(User, on_delete='RESTRICT')
        decided_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'retention_decision'

    class Tombstone(Model):
        reference = CharField(unique=True, max_length=20)
        kind = CharField(max_length=16)
        team_name = CharField(max_length=120, default='')
        ended_on = DateField(null=True)
        retention_due_on = DateField(null=True)
        reason = TextField(default='')
        destroyed_by = ForeignKeyField(User, on_delete='RESTRICT')
        destroyed_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'tombstone'

    db.create_tables([RetentionDecision, Tombstone])
