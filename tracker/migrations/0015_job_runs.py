"""A watched runner (issue 20, R18): each sweep and delivery pass records that it ran.

One small table, kept to a bounded size by the runner itself (jobs.runs.KEEP rows a job).
"""
from peewee import *


def up(migrator, db):
    class JobRun(Model):
        job = CharField(max_length=32)
        started_at = DateTimeField()
        finished_at = DateTimeField(null=True)
        done = IntegerField(default=0)
        error = TextField(default="")

        class Meta:
            database = db
            table_name = 'job_run'
            indexes = ((('job', 'started_at'), False),)

    db.create_tables([JobRun])
