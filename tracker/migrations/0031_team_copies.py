# Reviews and breaches carry a copy of their record's team (issue 24), kept by triggers, under
# an index by team. A team manager's dashboard counted and listed the agency reports missing
# for reviews in the next 7 days by reading every scheduled review of the whole service that
# week and then testing its record's team (PostgreSQL, 1,000,000 records: 6.7 ms of the count
# and 8.2 ms of the page, a third of the dashboard), and the breaches awaiting acknowledgement
# by reading every unacknowledged breach of the service (1.9 ms); both grew with the service,
# not with the team. With the copies each reads the team's own rows from one index.
#
# As with migration 0028's copies on the links, the models (tracker.models.Review, Breach) do
# not name the column, so no code path can write it wrong; tracker.oversight.dashboard reads it
# as `REVIEW_TEAM` and `BREACH_TEAM`. Kept by:
# - a row written, or pointed at another record: the copy is read from its record;
# - a record moved to another team: its rows' team.
import peewee

TABLES = ("review", "breach")
INDEXES = (
    "CREATE INDEX IF NOT EXISTS review_team_status_scheduled ON review (team_id, status, scheduled_at, agreement_id)",
    "CREATE INDEX IF NOT EXISTS breach_team_unacknowledged ON breach (team_id, created_at, id) "
    "WHERE acknowledged_at IS NULL",
)


def fill(table: str) -> str:
    return f"UPDATE {table} SET team_id = (SELECT a.team_id FROM agreement a WHERE a.id = {table}.agreement_id)"


def sqlite_insert_trigger(table: str) -> str:
    return (f"CREATE TRIGGER {table}_team_copy_ai AFTER INSERT ON {table} BEGIN {_sqlite_copy(table)} END")


def _sqlite_copy(table: str) -> str:
    return (f"UPDATE {table} SET team_id = (SELECT a.team_id FROM agreement a WHERE a.id = new.agreement_id) "
            "WHERE id = new.id;")


def sqlite_triggers(table: str) -> tuple[str, ...]:
    return (
        sqlite_insert_trigger(table),
        f"CREATE TRIGGER {table}_team_copy_au AFTER UPDATE OF agreement_id ON {table} BEGIN {_sqlite_copy(table)} END",
        f"CREATE TRIGGER agreement_{table}_team_copy_au AFTER UPDATE OF team_id ON agreement "
        f"WHEN old.team_id IS NOT new.team_id BEGIN "
        f"UPDATE {table} SET team_id = new.team_id WHERE agreement_id = new.id; END",
    )


def postgres_triggers(table: str) -> tuple[str, ...]:
    return (
        f"""CREATE OR REPLACE FUNCTION {table}_team_copy() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            SELECT a.team_id INTO NEW.team_id FROM agreement a WHERE a.id = NEW.agreement_id;
            RETURN NEW;
        END $$""",
        f"CREATE TRIGGER {table}_team_copy BEFORE INSERT OR UPDATE OF agreement_id ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {table}_team_copy()",
        f"""CREATE OR REPLACE FUNCTION agreement_{table}_team_copy() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE {table} SET team_id = NEW.team_id WHERE agreement_id = NEW.id;
            RETURN NULL;
        END $$""",
        f"CREATE TRIGGER agreement_{table}_team_copy AFTER UPDATE OF team_id ON agreement FOR EACH ROW "
        f"WHEN (OLD.team_id IS DISTINCT FROM NEW.team_id) EXECUTE FUNCTION agreement_{table}_team_copy()",
    )


def up(migrator, db):
    postgres = isinstance(db, peewee.PostgresqlDatabase)
    for table in TABLES:
        db.execute_sql(f"ALTER TABLE {table} ADD COLUMN team_id INTEGER")
        db.execute_sql(fill(table))
        for statement in postgres_triggers(table) if postgres else sqlite_triggers(table):
            db.execute_sql(statement)
    for statement in INDEXES:
        db.execute_sql(statement)
    if postgres:
        db.execute_sql("ANALYZE review, breach")
    else:
        db.execute_sql("ANALYZE review_team_status_scheduled")
        db.execute_sql("ANALYZE breach_team_unacknowledged")
