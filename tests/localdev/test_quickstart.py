"""The README's Quickstart, run as written: a copy of the checkout (its tracked files, as a
fresh clone has them) with the project's .venv, `cp .env.example .env`, `make run` in the
background with no database, pool or bucket configured (so the embedded PostgreSQL and
development sign-in), then the second terminal's commands one by one, checking each answer.
Only the port differs: the copy serves on a free loopback port instead of 8000."""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import ROOT

ROOT_PATH = Path(ROOT)
# Generous: a first initdb, migrations and two gunicorn workers on a loaded 2-core machine.
START_BUDGET_SECONDS = 240
CONFIGURED = ("DATABASE_", "RDS_", "COGNITO_", "PROFILE_IMAGE_", "S3_", "PAGENOW_", "GUNICORN_", "FLASK_", "PORT")


def quickstart_blocks() -> tuple[list[str], list[str]]:
    """The two sh blocks of the README's Quickstart section: terminal 1, terminal 2."""
    readme = (ROOT_PATH / "README.md").read_text()
    section = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    assert len(blocks) >= 2, "the Quickstart has a block per terminal"
    return [[line for line in block.splitlines() if line.strip()] for block in blocks[:2]]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tracked_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT_PATH, capture_output=True, check=True).stdout
    return [name for name in out.decode().split("\0") if name]


@pytest.fixture(scope="module")
def checkout():
    """The tracked files of this working tree in a folder of their own, sharing .venv.

    Not under pytest's temporary folder: run as root, the embedded PostgreSQL runs as a user
    of its own, which must traverse the path to its data, and every pytest session on the
    machine resets /tmp/pytest-of-root to owner-only."""
    base = Path(tempfile.mkdtemp(prefix="pagenow-quickstart-"))
    workdir = base / "pagenow-user-api"
    for name in tracked_files():
        source = ROOT_PATH / name
        if source.is_file():
            target = workdir / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    (workdir / ".venv").symlink_to(ROOT_PATH / ".venv")
    yield workdir
    shutil.rmtree(base, ignore_errors=True)


def clean_env(port: int) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(CONFIGURED)}
    env["PORT"] = str(port)
    env["GUNICORN_WORKERS"] = "1"  # the suite runs beside it on two cores
    return env


def wait_until_serving(proc, port: int, log: Path) -> None:
    deadline = time.monotonic() + START_BUDGET_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"make run exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    pytest.fail(f"make run did not serve within {START_BUDGET_SECONDS} s:\n{log.read_text()[-4000:]}")


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def stop(proc) -> None:
    """SIGTERM to make and what it started, as a terminal's Ctrl-C would; then wait for run.sh
    to finish (gunicorn first, then stopping the database), which outlives make itself."""
    if group_alive(proc.pid):
        os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=60)
    deadline = time.monotonic() + 90
    while group_alive(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if group_alive(proc.pid):
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("make run did not stop within 90 s of SIGTERM")


@pytest.fixture(scope="module")
def served(checkout):
    terminal1, _ = quickstart_blocks()
    assert terminal1 == ["cp .env.example .env", "make run"]
    port = free_port()
    env = clean_env(port)
    subprocess.run(terminal1[0], shell=True, cwd=checkout, env=env, check=True)
    log = checkout / "make-run.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(["make", "run"], cwd=checkout, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        wait_until_serving(proc, port, log)
        yield port, env, log
    finally:
        stop(proc)
    # make run stopped its embedded PostgreSQL and removed what it recorded.
    assert not (checkout / ".local" / "run.env").exists()
    assert not (checkout / ".local" / "pgdata" / "postmaster.pid").exists()


def run_second_terminal(checkout, port, env) -> list[str]:
    """Each command of the second block in one bash, its output cut out per command."""
    _, terminal2 = quickstart_blocks()
    marker = "@@quickstart-command-done@@"
    script = ["set -euo pipefail"]
    for command in terminal2:
        script += [command.replace("127.0.0.1:8000", f"127.0.0.1:{port}"), f"printf '\\n{marker}\\n'"]
    proc = subprocess.run(["bash", "-c", "\n".join(script)], cwd=checkout, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    outputs = [part.strip() for part in proc.stdout.split(marker)[:-1]]
    assert len(outputs) == len(terminal2)
    return outputs


def test_the_readme_quickstart_as_written(served, checkout):
    port, env, log = served
    started = log.read_text()
    assert "run: embedded PostgreSQL at postgresql://" in started  # printed at start
    assert "DEVELOPMENT SIGN-IN IS ON" in started
    _, terminal2 = quickstart_blocks()
    outputs = dict(zip(terminal2, run_second_terminal(checkout, port, env)))

    assert "demo data: created alice, bob, carol, dave, erin" in outputs[".venv/bin/flask demo-data"]
    assert outputs["ALICE=$(.venv/bin/flask dev-token alice)"] == ""
    me = json.loads(outputs['curl -s -H "Authorization: Bearer $ALICE" http://127.0.0.1:8000/users/me'])
    assert me["user_id"] == "alice" and me["email"] == "alice@example.com"
    friends = json.loads(outputs['curl -s -H "Authorization: Bearer $ALICE" http://127.0.0.1:8000/friendship/all'])
    assert sorted(f["user_id"] for f in friends) == ["bob", "carol"]
    (share_command,) = [c for c in terminal2 if "/notifications/share/personal" in c]
    event_id = json.loads(outputs[share_command])
    (unread_command,) = [c for c in terminal2 if "is_read=false" in c]
    unread = json.loads(outputs[unread_command])
    shared = [n for n in unread if n["event_id"] == event_id]
    assert shared == [{**shared[0], "user_id": "alice", "url": "https://example.com/", "title": "Read this",
                       "seen_at": None, "first_name": "Alice", "last_name": "Anderson"}]
    assert unread[0]["event_id"] == event_id  # newest first
