# Partial indexes for a team's rows on the manager's dashboard (issue 13).
#
# 0008's partial indexes on the rows still waiting for someone are ordered by
# their moment, which suits the service manager (every team). A team manager's
# page asks for one team's few: with those indexes PostgreSQL read every
# unacknowledged breach and copy in the service and joined them to the team's
# records, and SQLite counted the endorsement queue by reading all of the
# team's records (3 ms of a 20 ms page). Keyed by team or record instead:
#
# - agreement(team_id, awaiting_since, id) for records waiting for endorsement;
# - breach(agreement_id, created_at) for breaches not yet acknowledged;
# - recipient(agreement_id, copy_sent_at) for copies sent and not acknowledged.
#
# They stay as small as 0008's. The tests assert the plans on SQLite and PostgreSQL.
from peewee import SQL


def up(migrator, db):
    migrator.migrate(
        migrator.add_index("agreement", ("team_id", "awaiting_since", "id"), name="agreement_team_awaiting_endorsement",
                           where=SQL("awaiting_since IS NOT NULL")),
        migrator.add_index("breach", ("agreement_id", "created_at"), name="breach_unacknowledged_by_agreement",
                           where=SQL("acknowledged_at IS NULL")),
        migrator.add_index("recipient", ("agreement_id", "copy_sent_at"), name="recipient_unacknowledged_by_agreement",
                           where=SQL("acknowledged_at IS NULL AND removed_at IS NULL AND copy_sent_at IS NOT NULL")),
    )
    db.execute_sql("ANALYZE")
