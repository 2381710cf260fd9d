# The register's search by a child's name or a record's reference, as an index
# look-up (issue 24) instead of LIKE '%q%' over every child and every record.
#
# SQLite: two FTS5 tables with the trigram tokenizer, external content (they
# hold only the index, never the text), kept by triggers:
#   child_search(name, normalised_name) over child, agreement_search(reference)
#   over agreement. A phrase query of three characters or more is a substring
#   match found through the trigrams (tracker.records.search).
# PostgreSQL: pg_trgm GIN indexes on child.name, child.normalised_name and
#   agreement.reference, which ILIKE '%q%' uses. The extension is trusted
#   (PostgreSQL 13+), so a database owner may create it. Where it cannot be made
#   the search still works, by scanning, and the migration says so.
#
# And three indexes for a team's own rows, so a team's pages read the team's
# rows and not the service's (both engines):
# - agreement(team_id, updated_at, id): the register's page, newest first;
# - agreement(team_id, issued_at, endorsed_at, id): "endorsed but not yet issued";
# - review(agreement_id, status, scheduled_at): a record's scheduled reviews in a window
#   (the dashboard's missing agency reports, from the team's records).
import logging

import peewee

CHILD_TRIGGERS = (
    "CREATE TRIGGER child_search_ai AFTER INSERT ON child BEGIN "
    "INSERT INTO child_search(rowid, name, normalised_name) VALUES (new.id, new.name, new.normalised_name); END",
    "CREATE TRIGGER child_search_ad AFTER DELETE ON child BEGIN "
    "INSERT INTO child_search(child_search, rowid, name, normalised_name) "
    "VALUES ('delete', old.id, old.name, old.normalised_name); END",
    "CREATE TRIGGER child_search_au AFTER UPDATE OF name, normalised_name ON child BEGIN "
    "INSERT INTO child_search(child_search, rowid, name, normalised_name) "
    "VALUES ('delete', old.id, old.name, old.normalised_name); "
    "INSERT INTO child_search(rowid, name, normalised_name) VALUES (new.id, new.name, new.normalised_name); END",
)
AGREEMENT_TRIGGERS = (
    "CREATE TRIGGER agreement_search_ai AFTER INSERT ON agreement BEGIN "
    "INSERT INTO agreement_search(rowid, reference) VALUES (new.id, new.reference); END",
    "CREATE TRIGGER agreement_search_ad AFTER DELETE ON agreement BEGIN "
    "INSERT INTO agreement_search(agreement_search, rowid, reference) VALUES ('delete', old.id, old.reference); END",
    "CREATE TRIGGER agreement_search_au AFTER UPDATE OF reference ON agreement BEGIN "
    "INSERT INTO agreement_search(agreement_search, rowid, reference) VALUES ('delete', old.id, old.reference); "
    "INSERT INTO agreement_search(rowid, reference) VALUES (new.id, new.reference); END",
)


def up(migrator, db):
    migrator.migrate(
        migrator.add_index("agreement", ("team_id", "updated_at", "id"), name="agreement_team_updated"),
        migrator.add_index("agreement", ("team_id", "issued_at", "endorsed_at", "id"), name="agreement_team_not_issued"),
        migrator.add_index("review", ("agreement_id", "status", "scheduled_at"), name="review_agreement_status_scheduled"),
    )
    _search(db)
    db.execute_sql("ANALYZE")


def _search(db):
    if isinstance(db, peewee.PostgresqlDatabase):
        try:
            with db.atomic():
                db.execute_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except peewee.DatabaseError as exc:
            logging.getLogger(__name__).warning("pg_trgm could not be created (%s): the register's search scans", exc)
            return
        # The operator class lives in the schema the extension was made in.
        (schema,) = db.execute_sql("SELECT extnamespace::regnamespace::text FROM pg_extension "
                                   "WHERE extname = 'pg_trgm'").fetchone()
        for table, column in (("child", "name"), ("child", "normalised_name"), ("agreement", "reference")):
            db.execute_sql(f'CREATE INDEX IF NOT EXISTS "{table}_{column}_trigram" ON "{table}" '
                           f'USING gin ("{column}" {schema}.gin_trgm_ops)')
        return
    db.execute_sql("CREATE VIRTUAL TABLE child_search USING fts5(name, normalised_name, "
                   "content='child', content_rowid='id', tokenize='trigram')")
    db.execute_sql("CREATE VIRTUAL TABLE agreement_search USING fts5(reference, "
                   "content='agreement', content_rowid='id', tokenize='trigram')")
    for statement in CHILD_TRIGGERS + AGREEMENT_TRIGGERS:
        db.execute_sql(statement)
    db.execute_sql("INSERT INTO child_search(child_search) VALUES ('rebuild')")
    db.execute_sql("INSERT INTO agreement_search(agreement_search) VALUES ('rebuild')")
