"""The application as `flask ...` commands in a checkout see it (`.flaskenv` names this
factory; deployed hosts and the image use `wsgi:app`).

Flask has already read `.flaskenv` and `.env` (python-dotenv, from requirements-local.txt).
This adds what a running `make run` recorded in `$PAGENOW_LOCAL_DIR/run.env` (default
`.local/run.env`): the embedded database's URL and development sign-in, for settings the
environment and `.env` leave empty. A missing setting is one line naming it.
"""
from __future__ import annotations

import os
from pathlib import Path

import click

from . import create_app as create_service_app
from .config import ConfigError


def recorded_run_env() -> Path:
    return Path(os.environ.get("PAGENOW_LOCAL_DIR", "").strip() or ".local") / "run.env"


def create_app():
    run_env = recorded_run_env()
    if run_env.is_file():
        from dotenv import dotenv_values

        for key, value in dotenv_values(run_env).items():
            if value is not None and not os.environ.get(key, "").strip():
                os.environ[key] = value
    try:
        return create_service_app()
    except ConfigError as exc:
        hint = "" if run_env.is_file() else f" (or start `make run`, which records its settings in {run_env})"
        raise click.ClickException(f"{exc}{hint}") from None
