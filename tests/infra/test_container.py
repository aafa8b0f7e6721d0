"""Container checks without a Docker engine: hadolint on the Dockerfile and docker-compose's
own validation of the compose file, used as `cp .env.example .env && docker compose up`."""
from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from .conftest import ROOT, tool


def test_dockerfile_is_clean_under_hadolint():
    proc = subprocess.run([tool("hadolint"), str(ROOT / "Dockerfile")], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_dockerfile_runs_gunicorn_as_a_non_root_user_with_a_ping_healthcheck():
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines()]
    stages = [line for line in lines if line.startswith("FROM ")]
    assert len(stages) == 2 and all("python:3.11-slim" in s for s in stages)
    assert any(line.startswith("COPY --from=build") for line in lines)
    assert "USER pagenow" in lines
    assert 'ENTRYPOINT ["gunicorn", "-c", "gunicorn.conf.py"]' in lines
    assert 'CMD ["wsgi:app"]' in lines
    healthcheck = "\n".join(lines[lines.index(next(x for x in lines if x.startswith("HEALTHCHECK"))):][:2])
    assert "/ping" in healthcheck


@pytest.fixture(scope="module")
def compose_dir(tmp_path_factory):
    # docker-compose reads env_file relative to the compose file: validate a copy beside a
    # .env made from the committed example, exactly as the README says to start.
    workdir = tmp_path_factory.mktemp("compose")
    shutil.copy(ROOT / "docker-compose.yml", workdir / "docker-compose.yml")
    shutil.copy(ROOT / ".env.example", workdir / ".env")
    return workdir


def compose(workdir, *args):
    binary = shutil.which("docker-compose")
    assert binary, "docker-compose missing: run scripts/system-deps.sh"
    return subprocess.run([binary, *args], cwd=workdir, capture_output=True, text=True, timeout=120)


def test_compose_file_is_valid(compose_dir):
    proc = compose(compose_dir, "config", "-q")
    assert proc.returncode == 0, proc.stderr


def test_compose_runs_migrations_once_before_the_web_service(compose_dir):
    proc = compose(compose_dir, "config")
    assert proc.returncode == 0, proc.stderr
    config = yaml.safe_load(proc.stdout)
    services = config["services"]
    assert services["db"]["image"] == "postgres:15"
    assert services["db"]["healthcheck"]["test"][0] == "CMD-SHELL"
    assert "pgdata" in config["volumes"]
    assert any(v.startswith("pgdata:") for v in services["db"]["volumes"])
    migrate = services["migrate"]
    assert migrate["entrypoint"] == ["flask", "db", "upgrade"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"]["db"]["condition"] == "service_healthy"
    web = services["web"]
    assert web["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert [published_port(p) for p in web["ports"]] == [("127.0.0.1", 8000, 8000)]
    # Settings from .env reach both containers; the database URL names the db service; the
    # example's empty Cognito values leave development sign-in on, its key on a shared volume.
    for service in (migrate, web):
        environment = service["environment"]
        assert environment["COGNITO_POOL_ID"] == ""
        assert "@db:5432/pagenow" in environment["DATABASE_URL"]
        assert environment["PAGENOW_DEV_SIGN_IN"] == "/app/.local/dev-sign-in"
        assert environment["PAGENOW_DEV_SIGN_IN_BIND"] == "0.0.0.0:8000"
        assert any(str(v).startswith("devsignin:/app/.local") for v in service["volumes"])


def published_port(entry):
    """(host address, published, target) from docker-compose's short or long port syntax."""
    if isinstance(entry, dict):
        return entry.get("host_ip"), int(entry["published"]), int(entry["target"])
    host, published, target = entry.split("/")[0].rsplit(":", 2)
    return host, int(published), int(target)
