# Agency links that end (issue 9, items 5 and 6), written by hand.
#
# - recipient.link_issued_at: when the entry's current link was issued; a link
#   expires a service setting's days after the later of this and the record's
#   endorsement. Existing entries take the moment their copy was sent.
# - notification.recipient_id and link_version: the distribution entry whose
#   link an email carries, and the version it was written with, so delivery
#   checks the link just before sending. Emails already queued are filled in
#   from their keys; a request or prompt gets no version, so it is re-rendered
#   with the current link when it goes.
# - user.phone: the social worker's telephone, shown on the agency's copy.
from peewee import *

AGENCY_LINK_KINDS = ("copy_issued", "copy_chase", "report_request", "report_prompt")


def up(migrator, db):
    class Recipient(Model):
        class Meta:
            database = db
            table_name = 'recipient'

    migrator.migrate(
        migrator.add_column('recipient', 'link_issued_at', DateTimeField(null=True)),
        migrator.add_column('notification', 'recipient_id',
                            ForeignKeyField(Recipient, field=Recipient.id, null=True, on_delete='RESTRICT', index=True)),
        migrator.add_column('notification', 'link_version', IntegerField(null=True)),
        migrator.add_column('user', 'phone', CharField(max_length=40, default='')),
    )
    db.execute_sql('UPDATE recipient SET link_issued_at = copy_sent_at WHERE link_issued_at IS NULL')

    # Emails still waiting to go learn which entry's link they carry. The keys
    # are copy/<entry>/v<version>, chase/<entry>/v<version> and
    # review/<review>/<date>/<request|prompt>/<entry>.
    mark = db.param
    placeholders = ', '.join([mark] * len(AGENCY_LINK_KINDS))
    rows = db.execute_sql(
        f"SELECT id, kind, key FROM notification WHERE status IN ('pending', 'sending') AND kind IN ({placeholders})",
        AGENCY_LINK_KINDS,
    ).fetchall()
    for row_id, kind, key in rows:
        parts = key.split('/')
        entry = parts[1] if kind in ('copy_issued', 'copy_chase') else parts[-1]
        version = parts[2][1:] if kind in ('copy_issued', 'copy_chase') and len(parts) > 2 else ''
        if not entry.isdigit():
            continue
        db.execute_sql(
            f'UPDATE notification SET recipient_id = {mark}, link_version = {mark} WHERE id = {mark}',
            (int(entry), int(version) if version.isdigit() else None, row_id),
        )
