# Versions (R11), the optimistic revision check (R12), the endorsement queue,
# and "signed and issued". Written by hand; works on SQLite and PostgreSQL, on
# a database with data: every new NOT NULL column has a default.
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
        migrator.add_column('agreement', 'version', IntegerField(default=0)),
        migrator.add_column('agreement', 'revision', IntegerField(default=1)),
        migrator.add_column('agreement', 'awaiting_since', DateTimeField(null=True)),
        migrator.add_column('agreement', 'endorsement_escalate_at', DateTimeField(null=True)),
        migrator.add_column('agreement', 'variation_status', CharField(max_length=24, default='')),
        migrator.add_column('agreement', 'returned_by_id',
                            ForeignKeyField(User, null=True, field=User.id, on_delete='RESTRICT')),
        migrator.add_column('agreement', 'returned_at', DateTimeField(null=True)),
        migrator.add_column('agreement', 'returned_comments', TextField(default='')),
        migrator.add_column('agreement', 'issued_at', DateTimeField(null=True)),
        migrator.add_column('agreement', 'copy_language', CharField(max_length=80, default='')),
        migrator.add_column('agreement', 'translation_given', BooleanField(default=False)),
        migrator.add_column('agreement', 'issue_reason', TextField(default='')),
        migrator.add_index('agreement', ('awaiting_since',), False),
        migrator.add_index('agreement', ('endorsement_escalate_at',), False),
        migrator.add_index('agreement', ('status', 'issued_at', 'endorsed_at'), False),
    )
    # Records already endorsed are version 1; a family copy already recorded
    # as issued keeps its day as the moment (midnight: the time was not kept).
    db.execute_sql("UPDATE agreement SET version = 1 WHERE endorsed_at IS NOT NULL")
    db.execute_sql("UPDATE agreement SET issued_at = issued_on WHERE issued_on IS NOT NULL")

    class AgreementVersion(Model):
        agreement = ForeignKeyField(Agreement, on_delete='RESTRICT')
        number = IntegerField()
        snapshot = TextField()
        endorsed_by = ForeignKeyField(User, null=True, on_delete='RESTRICT')
        endorsed_at = DateTimeField()
        override_reason = TextField(default='')
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'agreement_version'
            indexes = ((('agreement', 'number'), True),)

    class Variation(Model):
        agreement = ForeignKeyField(Agreement, on_delete='RESTRICT')
        number = IntegerField()
        status = CharField(index=True, max_length=24, default='draft')
        data = TextField()
        reason = TextField(default='')
        created_by = ForeignKeyField(User, on_delete='RESTRICT')
        created_at = DateTimeField()
        updated_at = DateTimeField()
        submitted_at = DateTimeField(null=True)
        returned_by = ForeignKeyField(User, null=True, on_delete='RESTRICT')
        returned_at = DateTimeField(null=True)
        returned_comments = TextField(default='')
        endorsed_by = ForeignKeyField(User, null=True, on_delete='RESTRICT')
        endorsed_at = DateTimeField(null=True)
        override_reason = TextField(default='')
        class Meta:
            database = db
            table_name = 'variation'

    db.create_tables([AgreementVersion, Variation])
