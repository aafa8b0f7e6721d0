"""`flask search-trigrams`: rebuild the trigram counts user search picks its index lookups
by (migration 0006). Run after a bulk load and periodically (the deploy does it once per
release); stale counts make searches slower, never wrong."""
from __future__ import annotations

import time

import click
from flask import current_app
from sqlalchemy import text

from ..extensions import db


@click.command("search-trigrams")
def search_trigrams_command():
    """Recount the trigrams of every user's email and full name."""
    started = time.monotonic()
    rows = db.session.execute(text("SELECT pagenow_refresh_search_trigrams()")).scalar_one()
    db.session.commit()
    elapsed = time.monotonic() - started
    current_app.logger.info("search trigram counts rebuilt: %d trigrams in %.1fs", rows, elapsed)
    click.echo(f"search trigram counts rebuilt: {rows} trigrams in {elapsed:.1f}s")
