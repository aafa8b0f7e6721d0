"""Operator commands: delete a user for a support request, and finish image deletions that
failed when an account was deleted."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from .deletion import delete_account, retry_image_deletions


@click.command("delete-user")
@click.argument("user_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def delete_user_command(user_id: str, yes: bool):
    """Delete USER_ID and everything that names them, as DELETE /users/me does."""
    if not yes:
        click.confirm(f"Delete user {user_id} and all their friendships and shares?", abort=True)
    report = delete_account(user_id)
    if report is None:
        raise click.ClickException(f"no user {user_id}")
    click.echo(report.describe())


@click.command("retry-image-deletions")
@click.option("--limit", default=1000, show_default=True, help="At most this many recorded deletions per run.")
@with_appcontext
def retry_image_deletions_command(limit: int):
    """Delete the profile images deleted accounts left in the bucket (failed or not yet due)."""
    outcome = retry_image_deletions(limit=limit)
    click.echo(f"image deletions: {outcome.deleted} done, {outcome.failed} failed (kept for the next run)")
    if outcome.failed:
        raise SystemExit(1)
