"""A confirmed import waits for the job runner in a row of its own (jobs.imports): the confirm request returns at once."""
from peewee import *


def up(migrator, db):
    class User(Model):
        class Meta:
            database = db
            table_name = 'user'

    class ImportJob(Model):
        user = ForeignKeyField(User, backref='+', on_delete='RESTRICT')
        filename = CharField(max_length=120)
        data = BlobField()
        status = CharField(max_length=16, default='waiting', index=True)
        records = IntegerField(default=0)
        created = IntegerField(default=0)
        message = TextField(default='')
        created_at = DateTimeField()
        started_at = DateTimeField(null=True)
        finished_at = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = 'import_job'

    db.create_tables([ImportJob])
