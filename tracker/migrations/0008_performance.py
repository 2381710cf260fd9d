# Indexes the manager's dashboard reads by (issue 13), and fresh planner statistics.
#
# - agreement(team, status, kind, next_review_at, id): overdue reviews and reviews
#   in the next 14 days, in order, for one team, without a sort;
# - agreement(team, status, kind, window_ends_at, id): undertakings near their end;
# - review(status, scheduled_at, agreement_id): scheduled reviews in the next 7 days;
# - partial indexes on the rows still waiting for someone: breaches not yet
#   acknowledged, copies sent and not yet acknowledged, records waiting for
#   endorsement (issue 9's awaiting_since, migration 0002). They stay small however
#   many acknowledged rows ten years leave behind.
#
# ANALYZE gives the planner row counts, so it picks these over the single-column
# status indexes. The tests assert the plans on SQLite and PostgreSQL.
from peewee import SQL


def up(migrator, db):
    migrator.migrate(
        migrator.add_index("agreement", ("team_id", "status", "kind", "next_review_at", "id"),
                           name="agreement_team_status_kind_next_review"),
        migrator.add_index("agreement", ("team_id", "status", "kind", "window_ends_at", "id"),
                           name="agreement_team_status_kind_window_ends"),
        migrator.add_index("review", ("status", "scheduled_at", "agreement_id"),
                           name="review_status_scheduled_agreement"),
        migrator.add_index("breach", ("created_at", "id"), name="breach_unacknowledged",
                           where=SQL("acknowledged_at IS NULL")),
        migrator.add_index("recipient", ("copy_sent_at", "id"), name="recipient_unacknowledged",
                           where=SQL("acknowledged_at IS NULL AND removed_at IS NULL AND copy_sent_at IS NOT NULL")),
        # Merged with issue 9 (0002's column): the endorsement queue, records waiting now.
        migrator.add_index("agreement", ("awaiting_since", "team_id", "id"), name="agreement_awaiting_endorsement",
                           where=SQL("awaiting_since IS NOT NULL")),
    )
    db.execute_sql("ANALYZE")
