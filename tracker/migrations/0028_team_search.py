# The register's search inside one team (issue 24): each record-to-child link carries
# a copy of its record's team and its child's name, kept by triggers, under an index
# by team. A team manager's search then reads the team's own links from one index and
# nothing else, where it read every child of the team by key (PostgreSQL 49-62 ms at
# 10x) or found the whole service's matches through the trigram index first (15,000
# children for a common surname at 10x, 56 ms) and kept the team's few dozen.
#
# The copies are written only by the database: the model (tracker.models.AgreementChild)
# does not name them, so no code path can write them wrong, and tracker.records.search
# reads them as `TEAM_COPY`. Kept by:
# - a link made, or pointed at another record or child: the copy is read from them;
# - a record moved to another team: its links' team;
# - a child's name changed (corrected, or scrubbed at destruction): its links' names.
# The index is partial (live links only) and holds every column the search reads, so
# the look-up is answered from the index alone (removed_at, null in every entry, is
# there because SQLite counts an index covering only if it holds every column named).
import peewee

COLUMNS = ("team_id", "child_name", "child_normalised_name")


def _copies(agreement_id: str, child_id: str) -> str:
    """The SET clause that reads a link's copies from its record and child."""
    return (f"team_id = (SELECT a.team_id FROM agreement a WHERE a.id = {agreement_id}), "
            f"child_name = (SELECT c.name FROM child c WHERE c.id = {child_id}), "
            f"child_normalised_name = (SELECT c.normalised_name FROM child c WHERE c.id = {child_id})")


FILL = "UPDATE agreement_child SET " + _copies("agreement_child.agreement_id", "agreement_child.child_id")
INDEX = ("CREATE INDEX IF NOT EXISTS agreement_child_team_name ON agreement_child "
         "(team_id, child_normalised_name, child_name, agreement_id, removed_at) WHERE removed_at IS NULL")

_SQLITE_COPY = f"UPDATE agreement_child SET {_copies('new.agreement_id', 'new.child_id')} WHERE id = new.id;"
SQLITE_INSERT_TRIGGER = f"CREATE TRIGGER agreement_child_copy_ai AFTER INSERT ON agreement_child BEGIN {_SQLITE_COPY} END"
SQLITE_TRIGGERS = (
    SQLITE_INSERT_TRIGGER,
    f"CREATE TRIGGER agreement_child_copy_au AFTER UPDATE OF agreement_id, child_id ON agreement_child "
    f"BEGIN {_SQLITE_COPY} END",
    "CREATE TRIGGER agreement_team_copy_au AFTER UPDATE OF team_id ON agreement "
    "WHEN old.team_id IS NOT new.team_id BEGIN "
    "UPDATE agreement_child SET team_id = new.team_id WHERE agreement_id = new.id; END",
    "CREATE TRIGGER child_name_copy_au AFTER UPDATE OF name, normalised_name ON child "
    "WHEN old.name IS NOT new.name OR old.normalised_name IS NOT new.normalised_name BEGIN "
    "UPDATE agreement_child SET child_name = new.name, child_normalised_name = new.normalised_name WHERE child_id = new.id; END",
)

POSTGRES_TRIGGERS = (
    """CREATE OR REPLACE FUNCTION agreement_child_copy() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        SELECT a.team_id INTO NEW.team_id FROM agreement a WHERE a.id = NEW.agreement_id;
        SELECT c.name, c.normalised_name INTO NEW.child_name, NEW.child_normalised_name FROM child c WHERE c.id = NEW.child_id;
        RETURN NEW;
    END $$""",
    "CREATE TRIGGER agreement_child_copy BEFORE INSERT OR UPDATE OF agreement_id, child_id ON agreement_child "
    "FOR EACH ROW EXECUTE FUNCTION agreement_child_copy()",
    """CREATE OR REPLACE FUNCTION agreement_team_copy() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE agreement_child SET team_id = NEW.team_id WHERE agreement_id = NEW.id;
        RETURN NULL;
    END $$""",
    "CREATE TRIGGER agreement_team_copy AFTER UPDATE OF team_id ON agreement FOR EACH ROW "
    "WHEN (OLD.team_id IS DISTINCT FROM NEW.team_id) EXECUTE FUNCTION agreement_team_copy()",
    """CREATE OR REPLACE FUNCTION child_name_copy() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE agreement_child SET child_name = NEW.name, child_normalised_name = NEW.normalised_name WHERE child_id = NEW.id;
        RETURN NULL;
    END $$""",
    "CREATE TRIGGER child_name_copy AFTER UPDATE OF name, normalised_name ON child FOR EACH ROW "
    "WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.normalised_name IS DISTINCT FROM NEW.normalised_name) "
    "EXECUTE FUNCTION child_name_copy()",
)


def up(migrator, db):
    postgres = isinstance(db, peewee.PostgresqlDatabase)
    for column, kind in zip(COLUMNS, ("INTEGER", "TEXT", "TEXT")):
        db.execute_sql(f"ALTER TABLE agreement_child ADD COLUMN {column} {kind}")
    db.execute_sql(FILL)
    for statement in POSTGRES_TRIGGERS if postgres else SQLITE_TRIGGERS:
        db.execute_sql(statement)
    db.execute_sql(INDEX)
