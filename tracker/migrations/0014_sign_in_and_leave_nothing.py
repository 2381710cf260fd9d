"""Single sign-on bound to the provider's subject, and its ID token kept on the server.

- user.sso_issuer, user.sso_subject: the provider's issuer and subject (`sub`, or
  `tid`/`oid` for Microsoft Entra ID) an account signs in as, unique together,
  so an email address that changes or is given to someone else at the council
  never opens another person's account;
- user_session.id_token: the ID token of a single sign-on session, held here and
  not in the cookie (an Entra token with many groups outgrows a 4 KB cookie),
  read once at sign-out for the provider's end-session request.
"""
from peewee import CharField, TextField


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("user", "sso_issuer", CharField(max_length=255, null=True)),
        migrator.add_column("user", "sso_subject", CharField(max_length=255, null=True)),
        migrator.add_index("user", ("sso_issuer", "sso_subject"), unique=True),
        migrator.add_column("user_session", "id_token", TextField(null=True, default="")),
    )
