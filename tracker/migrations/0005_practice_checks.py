# Practice checks (issue 10, items 5-10): one child, one identity (R13);
# domestic abuse actions (R8); the party's side (R7 balance); the next child
# protection or child in need meeting and legal advice as yes/no/not recorded (R14).
import unicodedata

from peewee import BooleanField, CharField, DateField, IntegerField, TextField


def _normalise(name):
    # The same rule as tracker.records.identity.normalise_name, copied so the migration
    # keeps working if that module changes.
    text = unicodedata.normalize("NFKD", name or "")
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    text = "".join(ch if ch.isalnum() else " " for ch in text)
    return " ".join(text.split())[:200]


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("child", "normalised_name", CharField(max_length=200, default="")),
        migrator.add_column("child", "person_id", CharField(max_length=40, default="")),
        migrator.add_column("child", "nhs_number", CharField(max_length=10, default="")),
        migrator.add_column("child", "unborn", BooleanField(default=False)),
        migrator.add_column("child", "identity", IntegerField(default=0)),
        migrator.add_index("child", ("normalised_name",)),
        migrator.add_index("child", ("person_id",)),
        migrator.add_index("child", ("nhs_number",)),
        migrator.add_index("child", ("identity",)),
        migrator.add_index("child", ("date_of_birth",)),
        migrator.add_column("agreement", "person_at_risk", CharField(max_length=200, default="")),
        migrator.add_column("agreement", "person_who_harms", CharField(max_length=200, default="")),
        migrator.add_column("agreement", "marac_idva", TextField(default="")),
        migrator.add_column("agreement", "plan_meeting_on", DateField(null=True)),
        migrator.add_index("agreement", ("plan_meeting_on",)),
        migrator.add_column("agreement", "legal_advice", CharField(max_length=16, default="not_recorded")),
        migrator.add_column("agreement", "worker_phone", CharField(max_length=40, default="")),
        migrator.add_column("agreement", "review_attendees", TextField(default="")),
        migrator.add_column("party", "side", CharField(max_length=16, default="")),
    )

    # Every existing child is its own identity until someone links it.
    db.execute_sql('UPDATE "child" SET "identity" = "id"')
    rows = db.execute_sql('SELECT "id", "name" FROM "child"').fetchall()
    for child_id, name in rows:
        db.execute_sql('UPDATE "child" SET "normalised_name" = %s WHERE "id" = %s' % (db.param, db.param),
                       (_normalise(name), child_id))
    # A stored True was a recorded "yes". A stored False cannot be told apart
    # from the old form's default, so it becomes "not recorded", never "no".
    db.execute_sql('UPDATE "agreement" SET "legal_advice" = %s WHERE "legal_advice_taken" = %s'
                   % (db.param, db.param), ("yes", True))
