"""The front door (issue 10, items 1-4): closure undertakings, case closure and urgent breaches.

- agreement.undertaking_kind: "emergency" (every existing undertaking) or "closure";
  agreement.closure_weeks: a closure undertaking's agreed length.
- child.case_closed_at: when a manager closed the child's case.
- breach.not_given: the details an urgent breach was saved without.
"""
from peewee import CharField, DateTimeField, IntegerField


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("agreement", "undertaking_kind", CharField(max_length=16, default="emergency")),
        migrator.add_column("agreement", "closure_weeks", IntegerField(null=True)),
        migrator.add_column("child", "case_closed_at", DateTimeField(null=True)),
        migrator.add_column("breach", "not_given", CharField(max_length=100, default="")),
    )
