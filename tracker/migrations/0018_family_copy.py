"""The family's own copy (R20): a link and code per family party, the devices that
entered the code, and "I have read my copy" per version."""
from peewee import *


def up(migrator, db):
    class Agreement(Model):
        class Meta:
            database = db
            table_name = 'agreement'

    class Party(Model):
        class Meta:
            database = db
            table_name = 'party'

    class User(Model):
        class Meta:
            database = db
            table_name = 'user'

    class FamilyAccess(Model):
        party = ForeignKeyField(Party, unique=True, on_delete='RESTRICT')
        agreement = ForeignKeyField(Agreement, on_delete='RESTRICT')
        generation = IntegerField(default=0)
        token_hash = CharField(max_length=64, null=True, unique=True)
        code_hash = CharField(max_length=255, default='')
        channel = CharField(max_length=16, default='')
        address = CharField(max_length=254, default='')
        issued_at = DateTimeField(null=True)
        issued_by = ForeignKeyField(User, null=True, on_delete='RESTRICT')
        sent_version = IntegerField(default=0)
        unread_check_at = DateTimeField(null=True, index=True)
        stopped_at = DateTimeField(null=True)
        stop_reason = CharField(max_length=32, default='')
        harms_reason = TextField(default='')
        harms_reason_by = ForeignKeyField(User, null=True, on_delete='RESTRICT')
        do_not_send = TextField(default='')
        do_not_send_by = ForeignKeyField(User, null=True, on_delete='RESTRICT')
        do_not_send_at = DateTimeField(null=True)
        created_at = DateTimeField()

        class Meta:
            database = db
            table_name = 'family_access'

    class FamilyDevice(Model):
        access = ForeignKeyField(FamilyAccess, on_delete='RESTRICT')
        generation = IntegerField()
        secret_hash = CharField(max_length=64, unique=True)
        created_at = DateTimeField()
        last_seen_at = DateTimeField()
        ended_at = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = 'family_device'

    class FamilyRead(Model):
        access = ForeignKeyField(FamilyAccess, on_delete='RESTRICT')
        agreement = ForeignKeyField(Agreement, on_delete='RESTRICT')
        version = IntegerField()
        at = DateTimeField()

        class Meta:
            database = db
            table_name = 'family_read'
            indexes = ((('access', 'version'), True),)

    db.create_tables([FamilyAccess, FamilyDevice, FamilyRead])
