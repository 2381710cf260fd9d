"""Flask commands: init-db, seed-demo, create-user (and `jobs`, from jobs.cli)."""

from __future__ import annotations

import click
from flask import Flask, current_app

from tracker import db
from tracker.models import ROLES, Team, User


def init_app(app: Flask) -> None:
    @app.cli.command("init-db")
    def init_db() -> None:
        """Create or migrate the database; safe to run any number of times."""
        applied = db.migrate()
        click.echo(f"Applied {len(applied)} migration(s): {', '.join(applied)}" if applied else "Database is up to date.")

    @app.cli.command("seed-demo")
    @click.option("--force", is_flag=True, help="Seed even when the database already has users.")
    def seed_demo(force: bool) -> None:
        """Fill an empty database with a realistic demo caseload and print the logins."""
        from tracker.demo import LOGINS, PASSWORD, seed

        db.migrate()
        if User.select().exists() and not force:
            click.echo("The database already has users; not seeding. Use --force to seed anyway.")
            return
        seed()
        # BASE_URL is the address served (make run: http://HOST:PORT), and every
        # email the demo sends links to it.
        click.echo(f"Demo data created. Sign in at {current_app.config['BASE_URL']} with any of these "
                   f"(password {PASSWORD!r}):")
        for email, label in LOGINS:
            click.echo(f"  {email:32} {label}")
        from tracker.demo import family_demo

        family = family_demo()
        if family:
            click.echo(f"A parent's own copy (open it on a phone): {family[0]}  code {family[1]}")

    @app.cli.command("create-user")
    @click.option("--email", prompt=True)
    @click.option("--name", prompt=True)
    @click.option("--role", type=click.Choice(list(ROLES)), prompt=True)
    @click.option("--team", default="", help="Team name; created when it does not exist.")
    @click.password_option()
    def create_user_command(email: str, name: str, role: str, team: str, password: str) -> None:
        """Create a user who can sign in."""
        from tracker.people.accounts import create_user

        if len(password) < 12:
            raise click.BadParameter("must be 12 characters or more", param_hint="password")
        if User.get_or_none(User.email == email.strip().lower()):
            raise click.BadParameter("a user with this email already exists", param_hint="email")
        team_row = None
        if team:
            team_row = Team.get_or_none(Team.name == team) or Team.create(name=team)
        elif role in ("social_worker", "team_manager"):
            raise click.BadParameter("social workers and team managers need --team", param_hint="team")
        user = create_user(email, name, password, role, team_row)
        click.echo(f"Created {user.name} <{user.email}> as {ROLES[role].lower()}.")

    from jobs.cli import register

    register(app)
