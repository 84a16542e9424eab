"""The `flask crm` commands: accounts, demo data, sync replay and the daily job."""

import os

import click
from flask import Flask
from flask.cli import AppGroup

from .extensions import db

crm_cli = AppGroup("crm", help="CRM administration commands.")


def register_cli(app: Flask) -> None:
    app.cli.add_command(crm_cli)


def _writes() -> None:
    from .database import will_write

    will_write()


@crm_cli.command("create-admin")
@click.option("--email", required=True, help="The admin's e-mail address.")
@click.option("--password", required=True, help="At least 10 characters.")
@click.option("--first-name", default="Admin", show_default=True)
@click.option("--last-name", default="User", show_default=True)
def create_admin(email: str, password: str, first_name: str, last_name: str) -> None:
    """Create an admin account, or reset the password of an existing one."""
    _writes()
    from .auth import hash_password
    from .auth.views import find_user_by_email
    from .contacts import normalise_email
    from .models import User

    try:
        email = normalise_email(email)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--email") from None
    if len(password) < 10:
        raise click.BadParameter("Use at least 10 characters.", param_hint="--password")
    user = find_user_by_email(email)
    if user is not None and user.role != "admin":
        raise click.ClickException(f"{email} belongs to an owner account; use another address.")
    if user is None:
        user = User(
            email=email, role="admin", first_name=first_name, last_name=last_name, password_hash=hash_password(password)
        )
        db.session.add(user)
        message = f"Created admin {email}."
    else:
        user.password_hash = hash_password(password)
        message = f"Updated the password of admin {email}."
    db.session.commit()
    click.echo(message)


@crm_cli.command("sync")
def sync_command() -> None:
    """Replay pending CRM sync events and retry undelivered e-mail."""
    _writes()
    from . import mail, sync

    applied, failed = sync.replay_pending()
    sent, unsent = mail.deliver()
    click.echo(f"Sync events: {applied} applied, {failed} still failing. E-mail: {sent} sent, {unsent} still queued.")
    if failed or unsent:
        raise SystemExit(1)


@crm_cli.command("deliver-mail")
@click.option("--parent", type=int, help="Stop when this process (gunicorn's master) is gone.")
def deliver_mail_command(parent: int | None) -> None:
    """Send queued e-mail as it arrives, until stopped (crm/serving.py runs this beside gunicorn's workers)."""
    import signal
    import threading

    from flask import current_app

    from . import mail

    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    app = current_app._get_current_object()
    app.logger.info("Mail deliverer process %s started", os.getpid())
    mail.deliver_from_process(app, stopping, parent)


@crm_cli.command("seed-demo")
@click.option(
    "--scale",
    type=click.Choice(["demo", "large"]),
    default="demo",
    show_default=True,
    help="demo: a realistic small data set; large: the benchmark data set.",
)
@click.option("--seed", default=2026, show_default=True, help="Random seed, for repeatable data.")
def seed_demo(scale: str, seed: int) -> None:
    """Fill an empty database with realistic British demo data."""
    _writes()
    from .engagement import recompute
    from .models import utcnow
    from .seed import seed as run_seed

    run_seed(scale=scale, random_seed=seed, echo=click.echo)
    # Score everyone now rather than at the first daily run, so the demo shows real scores and segments.
    outcome = recompute(utcnow())
    db.session.commit()
    click.echo(
        f"  engagement: {outcome.scored:,} contacts scored; segments {outcome.added:,} added, "
        f"{outcome.removed:,} removed"
    )


@crm_cli.command("daily")
def daily_command() -> None:
    """Run the daily job: membership states, reminders, segments, sync replay."""
    _writes()
    from .daily import run_daily

    for line in run_daily():
        click.echo(line)


@crm_cli.command("backup")
@click.argument("destination", type=click.Path(dir_okay=False, writable=True, resolve_path=True))
def backup_command(destination: str) -> None:
    """Write a consistent copy of the database to DESTINATION while the app keeps serving.

    SQLite: a database file (open it as DATABASE_URL=sqlite:////path/to/DESTINATION to restore).
    PostgreSQL: a pg_dump archive in custom format (restore with pg_restore).
    """
    from pathlib import Path

    from flask import current_app

    from .backup import BackupError, backup

    try:
        click.echo(backup(current_app.config["SQLALCHEMY_DATABASE_URI"], Path(destination)))
    except BackupError as error:
        raise click.ClickException(str(error)) from None
