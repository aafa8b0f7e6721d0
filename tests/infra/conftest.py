"""Infrastructure test helpers: a moto server on 127.0.0.1 and ansible-playbook runs against it."""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"
RECAP = re.compile(r"^localhost\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def tool(name: str) -> str:
    """A tool from the project's virtualenv (installed by scripts/bootstrap.sh)."""
    path = VENV_BIN / name
    assert path.exists(), f"{path} missing: run scripts/bootstrap.sh"
    return str(path)


def assert_ships_the_access_log(user_data: str, log_group: str) -> None:
    """The access log shipping section of a launch template version's user data
    (playbooks/templates/cloudwatch_agent.sh.j2), for the staging unit `pagenow`."""
    # stdout of the unit (deploys replace the unit file, not this drop-in) goes to a file...
    assert "cat > /etc/systemd/system/pagenow.service.d/stdout-log.conf <<'UNIT'\n" \
           "[Service]\nStandardOutput=append:/var/log/pagenow/stdout.log\nUNIT\n" in user_data
    # ...whose JSON access lines the CloudWatch agent ships to the group, one stream per instance.
    agent_json = user_data.split("amazon-cloudwatch-agent.json <<'AGENT'\n", 1)[1].split("\nAGENT\n", 1)[0]
    assert json.loads(agent_json) == {
        "agent": {"run_as_user": "root"},
        "logs": {"logs_collected": {"files": {"collect_list": [{
            "file_path": "/var/log/pagenow/stdout.log",
            "log_group_name": log_group,
            "log_stream_name": "{instance_id}/access",
            "filters": [{"type": "include", "expression": '^\\{"ts":'}],
        }]}}},
    }
    assert "amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s \\\n" \
           "  -c file:/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json\n" in user_data


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def moto_endpoint():
    """A moto server on a free loopback port, stopped at the end of the session (moto_server.py:
    moto with the load balancer attributes AWS always reports)."""
    port = free_port()
    log = open(os.devnull, "wb")
    proc = subprocess.Popen([tool("python"), str(Path(__file__).with_name("moto_server.py")), "-H", "127.0.0.1",
                             "-p", str(port)], stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            requests.get(f"{url}/moto-api/", timeout=2)
            break
        except requests.ConnectionError:
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                raise RuntimeError("moto_server did not start")
            time.sleep(0.3)
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()


def aws_env(endpoint: str) -> dict[str, str]:
    """Environment for anything that talks to AWS here: fake credentials, and every endpoint,
    including the ones a module or lookup might resolve on its own, pinned to the local moto."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_URL=endpoint,
        AWS_ENDPOINT_URL=endpoint,
        AWS_EC2_METADATA_DISABLED="true",
        ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_DEPRECATION_WARNINGS="false",
        PATH=f"{VENV_BIN}:{env.get('PATH', '/usr/bin:/bin')}",
    )
    return env


class Lab:
    """A copy of inventories/staging wired to moto, with a vault encrypted under a password
    this test generated (the committed vault password never exists in the repository)."""

    def __init__(self, base: Path, endpoint: str):
        self.endpoint = endpoint
        self.env = aws_env(endpoint)
        self.env["PAGENOW_VAULT_PASSWORD"] = secrets.token_urlsafe(24)
        self.inventory = base / "staging"
        shutil.copytree(ROOT / "inventories" / "staging", self.inventory)
        inventory_file = self.inventory / "aws_ec2.yml"
        inventory_file.write_text(inventory_file.read_text() + f"endpoint_url: {endpoint}\n")
        # An explicit localhost, so runs can be limited to it: the emulated instances in the
        # dynamic inventory have addresses that must never be contacted from here.
        (self.inventory / "localhost.yml").write_text(
            "all:\n  hosts:\n    localhost:\n      ansible_connection: local\n"
            "      ansible_python_interpreter: '{{ ansible_playbook_python }}'\n"
        )
        vault = self.inventory / "group_vars" / "all" / "vault.yml"
        vault.write_text("vault_db_master_username: pagenow_admin\n")
        self.run([tool("ansible-vault"), "encrypt", *self.vault_args(), str(vault)])
        key = base / "operator_key"
        self.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "infra-test", "-f", str(key)])
        self.public_key = key.with_suffix(".pub")

    def vault_args(self) -> list[str]:
        return ["--vault-password-file", str(ROOT / "inventories" / "vault-password.sh")]

    def run(self, cmd: list[str], check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run(cmd, cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=900)
        if check and proc.returncode != 0:
            raise AssertionError(f"{cmd[:3]} exited {proc.returncode}\n{proc.stdout[-8000:]}\n{proc.stderr[-4000:]}")
        return proc

    def playbook(self, name: str, *extra: str) -> "PlaybookRun":
        cmd = [
            tool("ansible-playbook"),
            "-i", str(self.inventory),
            *self.vault_args(),
            "-e", f"aws_endpoint_url={self.endpoint}",
            "-e", f"ssh_public_key_file={self.public_key}",
            *extra,
            str(ROOT / "playbooks" / name),
        ]
        started = time.monotonic()
        proc = self.run(cmd)
        return PlaybookRun(proc.stdout + proc.stderr, time.monotonic() - started)


class PlaybookRun:
    def __init__(self, output: str, seconds: float):
        self.output = output
        self.seconds = seconds
        recaps = RECAP.findall(output)
        assert recaps, f"no PLAY RECAP in output:\n{output[-4000:]}"
        ok, changed, unreachable, failed = (int(n) for n in recaps[-1])
        self.ok, self.changed, self.unreachable, self.failed = ok, changed, unreachable, failed
        self.recap = next(line for line in output.splitlines()[::-1] if line.startswith("localhost"))

    def changed_tasks(self) -> list[str]:
        """Names of the tasks that reported a change (for a readable failure message)."""
        names, current = [], None
        for line in self.output.splitlines():
            if line.startswith("TASK ["):
                current = line[6:line.index("]")]
            elif line.startswith("changed:") and current and current not in names:
                names.append(current)
        return names


@pytest.fixture(scope="module")
def lab(tmp_path_factory, moto_endpoint):
    return Lab(tmp_path_factory.mktemp("infra"), moto_endpoint)
