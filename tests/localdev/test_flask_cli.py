"""`flask ...` in a checkout, as a second terminal beside `make run` uses it: .flaskenv names
the app, .env and the recorded .local/run.env supply the settings, and a missing one is a
single line naming it."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT

FLASK = Path(ROOT) / ".venv" / "bin" / "flask"
CONFIGURED = ("DATABASE_", "RDS_", "COGNITO_", "PAGENOW_", "FLASK_")


@pytest.fixture()
def checkout(tmp_path):
    """A folder holding the project's .flaskenv, like a checkout's root (the code on PYTHONPATH)."""
    shutil.copy(Path(ROOT) / ".flaskenv", tmp_path / ".flaskenv")
    return tmp_path


def flask(checkout, *args, **extra_env):
    env = {k: v for k, v in os.environ.items() if not k.startswith(CONFIGURED)}
    env["PYTHONPATH"] = ROOT
    env.update(extra_env)
    return subprocess.run([str(FLASK), *args], cwd=checkout, env=env, capture_output=True, text=True, timeout=120)


def test_a_missing_setting_is_one_line_naming_it(checkout):
    (checkout / ".env").write_text("COGNITO_REGION=us-east-1\nCOGNITO_POOL_ID=us-east-1_x\nCOGNITO_APP_CLIENT_ID=c\n")
    proc = flask(checkout, "db", "current")
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        "Error: missing required environment variable DATABASE_URL (or RDS_HOST and friends)"
        " (or start `make run`, which records its settings in .local/run.env)"
    ]


def test_commands_find_the_settings_make_run_recorded(checkout, app, database_url, tmp_path):
    local = checkout / ".local"
    local.mkdir()
    # What scripts/run.sh writes: the embedded database's URL and development sign-in.
    (local / "run.env").write_text(f"DATABASE_URL={database_url}\nPAGENOW_DEV_SIGN_IN={tmp_path / 'keys'}\n")
    (checkout / ".env").write_text("DATABASE_URL=\nCOGNITO_POOL_ID=\n")  # the example's empty values
    proc = flask(checkout, "db", "current")
    assert proc.returncode == 0, proc.stderr
    heads = sorted(p.name.split("_")[0] for p in (Path(ROOT) / "migrations" / "versions").glob("0*.py"))
    assert f"{heads[-1]}_" in proc.stdout
    token = flask(checkout, "dev-token", "alice")
    assert token.returncode == 0, token.stderr
    (line,) = token.stdout.splitlines()  # the token alone, for ALICE=$(flask dev-token alice)
    assert line.count(".") == 2
    routes = flask(checkout, "routes")
    assert "/notifications/share/personal" in routes.stdout
