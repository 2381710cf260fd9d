# A form's one-time key remembers what was posted (R15): a digest of the form's
# content beside the key, and the same digest keyed by page and person, so a page
# brought back by the browser's Back button (a fresh key, the same typing) is
# recognised as the submission already made. Two columns with defaults and an
# index: it runs on a database with data.
from peewee import *


def up(migrator, db):
    migrator.migrate(
        migrator.add_column('form_submission', 'digest', CharField(max_length=64, default='')),
        migrator.add_column('form_submission', 'content_key', CharField(max_length=64, null=True)),
        migrator.add_index('form_submission', ('content_key', 'created_at')),
    )
