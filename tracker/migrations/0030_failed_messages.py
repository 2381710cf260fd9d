# The messages that could not be delivered (issue 20, R18), by a partial index of their own
# (issue 24). The service manager's dashboard counts them across the service, and the only
# index naming the status is (status, next_attempt_at), for the delivery runner. SQLite
# keeps an average count a value, not the values, so in a service whose every message was
# sent it judged `status = 'failed'` as common as the rest and read every message: 14.5 ms of
# the service manager's page at 1x (the bench's seed, 100,000 messages) and ten times that at
# 10x. Failed messages are few (each is a task for someone): the index holds only them, by
# record for a team's dashboard. With it PostgreSQL reads the index alone, and SQLite finds
# the failed messages by status (the plan tests/oversight/test_performance.py asserts; at 1x
# 14.5 -> 0.01 ms). The dashboard's query names the status as a literal
# (oversight.dashboard.undeliverable_mail), so that a generic plan matches the index too.
from peewee import SQL, PostgresqlDatabase


def up(migrator, db):
    migrator.migrate(
        migrator.add_index("notification", ("agreement_id", "created_at", "id"), name="notification_failed",
                           where=SQL("status = 'failed'")),
    )
    db.execute_sql("ANALYZE notification" if isinstance(db, PostgresqlDatabase) else "ANALYZE notification_failed")
