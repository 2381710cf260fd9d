"""Text messages through GOV.UK Notify share the one outbox (tracker.notices.texts, jobs.texting).

- notification.channel: "email" (every row before this) or "text";
- notification.personalisation: a text's template values, as JSON;
- notification.notify_id, notify_status: Notify's id for an accepted text, and the last status it gave;
- notification.status_check_at: when to ask Notify for the status again (indexed: the pass reads only what is due).
"""
from peewee import CharField, DateTimeField, TextField


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("notification", "channel", CharField(max_length=8, default="email")),
        migrator.add_column("notification", "personalisation", TextField(default="")),
        migrator.add_column("notification", "notify_id", CharField(max_length=64, null=True)),
        migrator.add_column("notification", "notify_status", CharField(max_length=32, default="")),
        migrator.add_column("notification", "status_check_at", DateTimeField(null=True)),
        migrator.add_index("notification", ("status_check_at",), False),
    )
