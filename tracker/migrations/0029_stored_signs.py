# Stored warning signs (issue 24). The service view counted every active record's
# signs a request, reading each record's words, actions, parties and its children's
# history in Python: 1.8 s at 100,000 records, 22 s at 1,000,000, linear in the active
# records. Now each active record's signs that do not move with the clock are kept in
# `record_sign` (tracker.models.RecordSign), and what changed since they were worked
# out is queued in `sign_queue` by the triggers below, never by application code, so no
# write path (a form, the importer, a sweep, a link, retention) can forget to:
# - a record, an action, a party or a breach written: its record;
# - a record-to-child link written or deleted: its record, and the child as it was;
# - a child's identity, NHS number or council person ID changed: the child as it was.
# tracker.records.sign_store.refresh_stored works the queue out (the records of each
# queued child and of every child the same by identity, NHS number or person ID) and
# empties it. Every active record is queued here, so the first refresh stores them all.
import peewee

QUEUE = "INSERT INTO sign_queue (agreement_id, child_id, identity, nhs_number, person_id)"

# (table, event, what is queued, written for each engine's row names)
_ON = (
    ("agreement", "INSERT", "{n}.id, NULL, NULL, NULL, NULL"),
    ("agreement", "UPDATE", "{n}.id, NULL, NULL, NULL, NULL"),
    ("action", "INSERT", "{n}.agreement_id, NULL, NULL, NULL, NULL"),
    ("action", "UPDATE", "{n}.agreement_id, NULL, NULL, NULL, NULL"),
    ("party", "INSERT", "{n}.agreement_id, NULL, NULL, NULL, NULL"),
    ("party", "UPDATE", "{n}.agreement_id, NULL, NULL, NULL, NULL"),
    ("breach", "INSERT", "{n}.agreement_id, NULL, NULL, NULL, NULL"),
    ("breach", "UPDATE", "{n}.agreement_id, NULL, NULL, NULL, NULL"),
    ("agreement_child", "INSERT", "{n}.agreement_id, {n}.child_id, NULL, NULL, NULL"),
    ("agreement_child", "UPDATE", "{n}.agreement_id, {n}.child_id, NULL, NULL, NULL"),
)
# The child as it was, for a link changed or deleted, or a child whose keys changed.
_AS_IT_WAS = (
    ("agreement_child", "UPDATE", "SELECT {o}.agreement_id, c.id, c.identity, c.nhs_number, c.person_id "
                                  "FROM child c WHERE c.id = {o}.child_id"),
    ("agreement_child", "DELETE", "SELECT {o}.agreement_id, c.id, c.identity, c.nhs_number, c.person_id "
                                  "FROM child c WHERE c.id = {o}.child_id"),
    ("child", "UPDATE", "SELECT NULL, {o}.id, {o}.identity, {o}.nhs_number, {o}.person_id"),
)
CHILD_KEYS = "identity, nhs_number, person_id"
FILL = QUEUE + " SELECT id, NULL, NULL, NULL, NULL FROM agreement WHERE status = 'active'"


def _sqlite_triggers() -> list[str]:
    statements = []
    for table, event, values in _ON:
        statements.append(f"CREATE TRIGGER {table}_signs_{event.lower()[0]}n AFTER {event} ON {table} "
                          f"BEGIN {QUEUE} VALUES ({values.format(n='new')}); END")
    for table, event, select in _AS_IT_WAS:
        of = f" OF {CHILD_KEYS}" if table == "child" else ""
        statements.append(f"CREATE TRIGGER {table}_signs_{event.lower()[0]}o AFTER {event}{of} ON {table} "
                          f"BEGIN {QUEUE} {select.format(o='old')}; END")
    return statements


def _postgres_triggers() -> list[str]:
    statements = []
    for table, event, values in _ON:
        name = f"{table}_signs_{event.lower()[0]}n"
        statements.append(f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                          f"BEGIN {QUEUE} VALUES ({values.format(n='NEW')}); RETURN NULL; END $$")
        statements.append(f"CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW EXECUTE FUNCTION {name}()")
    for table, event, select in _AS_IT_WAS:
        name = f"{table}_signs_{event.lower()[0]}o"
        of = f" OF {CHILD_KEYS}" if table == "child" else ""
        statements.append(f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                          f"BEGIN {QUEUE} {select.format(o='OLD')}; RETURN NULL; END $$")
        statements.append(f"CREATE TRIGGER {name} AFTER {event}{of} ON {table} FOR EACH ROW EXECUTE FUNCTION {name}()")
    return statements


def triggers(db) -> list[str]:
    """The queue's triggers for `db`'s engine (bench.seed drops and remakes them around a bulk load)."""
    return _postgres_triggers() if isinstance(db, peewee.PostgresqlDatabase) else _sqlite_triggers()


def trigger_names() -> list[tuple[str, str]]:
    """(table, trigger) for every trigger `triggers` makes."""
    return ([(t, f"{t}_signs_{e.lower()[0]}n") for t, e, _ in _ON]
            + [(t, f"{t}_signs_{e.lower()[0]}o") for t, e, _ in _AS_IT_WAS])


def up(migrator, db):
    class Agreement(peewee.Model):
        class Meta:
            database = db
            table_name = "agreement"

    class RecordSign(peewee.Model):
        agreement = peewee.ForeignKeyField(Agreement, backref="+", on_delete="CASCADE")
        key = peewee.CharField(max_length=40)

        class Meta:
            database = db
            table_name = "record_sign"
            indexes = ((("agreement", "key"), True), (("key", "agreement"), False))

    class SignQueue(peewee.Model):
        agreement_id = peewee.IntegerField(null=True)
        child_id = peewee.IntegerField(null=True)
        identity = peewee.IntegerField(null=True)
        nhs_number = peewee.CharField(max_length=10, null=True)
        person_id = peewee.CharField(max_length=40, null=True)

        class Meta:
            database = db
            table_name = "sign_queue"

    class SignLogic(peewee.Model):
        fingerprint = peewee.CharField(max_length=64)

        class Meta:
            database = db
            table_name = "sign_logic"

    db.create_tables([RecordSign, SignQueue, SignLogic])
    for statement in triggers(db):
        db.execute_sql(statement)
    db.execute_sql(FILL)
