"""playbooks/deploy.yml end to end on real sshd hosts in network namespaces (tests/infra/lab.py).

Release 1 goes to both app hosts through the bastion; release 2 rolls out while a load loop
runs through the load balancer (zero failed requests); each deploy publishes its artifact to the
release bucket and points the launch template at it (moto), and a third host booted from that
template's user data serves release 2 with the same settings; a broken release 3 fails its health
check on the first host, which goes back to release 2, and the second host is never touched.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
import psycopg2
import pytest
import yaml

from .conftest import assert_ships_the_access_log, aws_env
from .lab import APP_PORT, DeployLab, LoadLoop, sh

REPO = Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
RELEASE_FILES = ["service", "migrations", "wsgi.py", "gunicorn.conf.py", "gunicorn_worker.py", "requirements.txt"]
# What app.yml creates in AWS for the deploy to publish to (here in moto).
RELEASE_BUCKET = "deploy-lab-releases"
LAUNCH_TEMPLATE = "deploy-lab-app"

pytestmark = pytest.mark.slow

BROKEN_WSGI = '''"""Deliberately broken release for the deploy lab: boots, but never reports ready."""
from flask import request

from service import create_app

app = create_app()


@app.before_request
def _never_ready():
    if request.path == "/health":
        return {"message": "deliberately broken release"}, 503
'''


class Deployer:
    """Runs deploy.yml against the lab's inventory, built from the staging group_vars."""

    def __init__(self, lab: DeployLab, database_url: str, aws_endpoint: str):
        self.lab = lab
        self.aws_endpoint = aws_endpoint
        self.inventory = lab.workdir / "inventory"
        self.build_root = lab.workdir / "build"
        self.control_dir = lab.workdir / "cp"
        self.control_dir.mkdir()
        self._write_inventory(database_url)

    def install_root(self, host: str) -> Path:
        return self.lab.workdir / "hosts" / host / "opt" / "pagenow-user-api"

    def _write_inventory(self, database_url: str) -> None:
        group_vars = self.inventory / "group_vars"
        group_vars.mkdir(parents=True)
        # The real connection pattern: app hosts through the bastion's ProxyCommand.
        for name in ("role_app.yml", "role_bastion.yml"):
            shutil.copy(REPO / "inventories" / "staging" / "group_vars" / name, group_vars / name)
        lab = self.lab

        def remote_tmp(host: str) -> str:
            return str(lab.workdir / "hosts" / host / "ansible-tmp")

        apps = {}
        for host in ("app1", "app2"):
            apps[host] = {
                "ansible_host": lab.hosts[host].address,
                "ansible_user": "root",
                "ansible_become": False,
                "ansible_python_interpreter": "/usr/bin/python3",
                "ansible_remote_tmp": remote_tmp(host),
                # The hosts share this machine's filesystem: one install root each.
                "service_install_root": str(self.install_root(host)),
                "service_manager": "plain",
                "service_port": APP_PORT,
                "service_gunicorn_workers": 2,
                "service_gunicorn_threads": 4,
                "service_python": f"python{sys.version_info.major}.{sys.version_info.minor}",
                "service_wheel_python_version": f"{sys.version_info.major}.{sys.version_info.minor}",
                "service_health_retries": 3,
                "service_health_delay": 1,
                "service_hide_secrets": False,
                "service_database_url": database_url,
                "service_cognito_region": "us-east-1",
                "service_cognito_pool_id": "us-east-1_deploylab",
                "service_cognito_app_client_id": "deploy-lab-client",
                "service_profile_image_bucket_name": "deploy-lab-images",
                "service_aws_region": "us-east-1",
                "service_release_bucket": RELEASE_BUCKET,
                "service_launch_template": LAUNCH_TEMPLATE,
                # No access log shipping: a lab host has no systemd unit (plain mode) and no
                # CloudWatch agent to install (test_launch_template_version_of_a_deploy_...).
                "service_log_group": "",
                # The lab database is a local PostgreSQL behind a TCP forwarder, reached with
                # the URL above: no RDS Proxy, no secret, no TLS to verify (verify-full is off).
                "service_env_extra": {},
                "service_migrate_database_url": "",
                "service_app_db_secret_id": "",
                "service_db_ca_bundle_urls": [],
            }
        inventory = {
            "all": {
                "children": {
                    "role_bastion": {
                        "hosts": {
                            "bastion": {
                                "ansible_host": lab.hosts["bastion"].address,
                                "ansible_user": "root",
                                "ansible_ssh_private_key_file": str(lab.ssh_key),
                                "bastion_known_hosts_file": str(lab.known_hosts),
                                "ansible_remote_tmp": remote_tmp("bastion"),
                            }
                        }
                    },
                    "role_app": {"hosts": apps},
                }
            }
        }
        (self.inventory / "hosts.yml").write_text(yaml.safe_dump(inventory, sort_keys=False))

    def deploy(self, version: str, source_dir: Path = REPO) -> subprocess.CompletedProcess:
        env = dict(
            aws_env(self.aws_endpoint),
            ANSIBLE_PIPELINING="True",
            ANSIBLE_SSH_CONTROL_PATH_DIR=str(self.control_dir),
            ANSIBLE_LOCAL_TEMP=str(self.lab.workdir / "ansible-local"),
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_FORCE_COLOR="0",
            ANSIBLE_RETRY_FILES_ENABLED="False",
            ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_tasks",
        )
        extra = {
            "service_release_version": version,
            "service_source_dir": str(source_dir),
            "service_build_root": str(self.build_root),
            "aws_endpoint_url": self.aws_endpoint,
        }
        proc = subprocess.run(
            [str(ANSIBLE_PLAYBOOK), "-i", str(self.inventory), "playbooks/deploy.yml", "-e", json.dumps(extra)],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=900,
        )
        (self.lab.workdir / f"deploy-{version}.log").write_text(proc.stdout + proc.stderr)
        return proc

    def close_connections(self) -> None:
        # ControlPersist masters outlive ansible-playbook: ask each one to exit.
        for sock in self.control_dir.iterdir():
            subprocess.run(["ssh", "-O", "exit", "-o", f"ControlPath={sock}", "lab"],
                           capture_output=True, timeout=10)

    def master_pid(self, host: str) -> int:
        return int((self.install_root(host) / "shared" / "run" / "gunicorn.pid").read_text())

    def serving_release(self, host: str) -> str:
        return Path(os.readlink(self.install_root(host) / "current")).name


@pytest.fixture(scope="module")
def deploy_lab(pg_server, moto_endpoint):
    if os.geteuid() != 0:
        pytest.skip("the deploy lab needs root (network namespaces)")
    workdir = Path(tempfile.mkdtemp(prefix="pn6-"))
    database_url = pg_server.create_database(prefix="pagenow_deploylab")
    dbname = database_url.rsplit("/", 1)[1].split("?")[0]
    admin = psycopg2.extensions.parse_dsn(pg_server.admin_dsn)
    host, port = admin.get("host", "127.0.0.1"), admin.get("port", "5432")
    upstream = f"{host}/.s.PGSQL.{port}" if host.startswith("/") else f"{host}:{port}"
    auth = admin.get("user", "postgres") + (f":{admin['password']}" if admin.get("password") else "")
    lab = DeployLab(workdir)
    deployer = None
    aws = _aws(moto_endpoint)
    # As app.yml leaves them before any deploy: the release bucket and a launch template whose
    # default version boots no release.
    aws("s3").create_bucket(Bucket=RELEASE_BUCKET)
    aws("ec2").create_launch_template(
        LaunchTemplateName=LAUNCH_TEMPLATE, VersionDescription="no release yet",
        LaunchTemplateData={"ImageId": "ami-12c6146b", "InstanceType": "t3.small",
                            "UserData": base64.b64encode(b"#!/bin/bash\necho no release yet\n").decode()},
    )
    try:
        lab.start(db_upstream=upstream, s3_upstream=moto_endpoint.removeprefix("http://"))
        deployer = Deployer(lab, f"postgresql://{auth}@{lab.db_address}:5432/{dbname}", moto_endpoint)
        yield lab, deployer, dbname, pg_server.admin_dsn
    finally:
        aws("ec2").delete_launch_template(LaunchTemplateName=LAUNCH_TEMPLATE)
        for obj in aws("s3").list_objects_v2(Bucket=RELEASE_BUCKET).get("Contents", []):
            aws("s3").delete_object(Bucket=RELEASE_BUCKET, Key=obj["Key"])
        aws("s3").delete_bucket(Bucket=RELEASE_BUCKET)
        if deployer is not None:
            deployer.close_connections()
        problems = lab.close()
        pg_server.drop_database(database_url)
        if not os.environ.get("DEPLOY_LAB_KEEP"):  # keep logs and install roots to debug a run
            shutil.rmtree(workdir, ignore_errors=True)
        assert not problems, problems


def test_deploy_playbook_lints_clean():
    proc = subprocess.run(
        [str(ANSIBLE_PLAYBOOK.with_name("ansible-lint")), "--nocolor", "--profile", "production",
         "playbooks/deploy.yml", "playbooks/roles/service",
         *[f"inventories/{env}/group_vars/{name}" for env in ("staging", "production")
           for name in ("role_app.yml", "role_bastion.yml")]],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]


def test_deploy_playbook_syntax():
    proc = subprocess.run(
        [str(ANSIBLE_PLAYBOOK), "--syntax-check", "-i", "localhost,", "playbooks/deploy.yml"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "playbook: playbooks/deploy.yml" in proc.stdout


def test_launch_template_version_of_a_deploy_ships_the_access_log(moto_endpoint, tmp_path):
    """The version deploy.yml writes (its last play alone, tag launch_template, rendered with
    the staging inventory as a deploy renders it) sets up the access log shipping the first
    version has: an instance the group boots after a deploy ships its access log too."""
    inventory = tmp_path / "inventory"
    (inventory / "group_vars" / "all").mkdir(parents=True)
    staging = REPO / "inventories" / "staging" / "group_vars"
    shutil.copy(staging / "all" / "vars.yml", inventory / "group_vars" / "all" / "vars.yml")  # not the vault
    for name in ("role_app.yml", "role_bastion.yml"):
        shutil.copy(staging / name, inventory / "group_vars" / name)
    # Hosts are never contacted: the play runs on the controller only.
    (inventory / "hosts.yml").write_text(yaml.safe_dump({"all": {"children": {
        "role_bastion": {"hosts": {"bastion": {"ansible_host": "192.0.2.1"}}},
        "role_app": {"hosts": {"app1": {"ansible_host": "192.0.2.2"}}},
    }}}))
    template = "deploy-user-data-app"  # its own, beside the provision test's pagenow-staging-app
    digest = hashlib.sha256(b"release r9").hexdigest()
    extra = {
        "service_release_version": "r9",
        "service_artifact_sha256": digest,  # set by the build play, which the tag skips
        "rds_proxy_endpoint": "pagenow-staging-proxy.proxy-x.us-east-1.rds.amazonaws.com",
        # The owner's URL reads the master secret; the roll's argument check (tagged always)
        # templates it, the user data never names it.
        "service_migrate_database_url": "",
        "service_launch_template": template,
        "aws_endpoint_url": moto_endpoint,
    }
    ec2 = _aws(moto_endpoint)("ec2")
    ec2.create_launch_template(
        LaunchTemplateName=template, VersionDescription="no release yet",
        LaunchTemplateData={"ImageId": "ami-12c6146b", "UserData": base64.b64encode(b"#!/bin/bash\n").decode()},
    )
    try:
        runs = [
            subprocess.run(
                [str(ANSIBLE_PLAYBOOK), "-i", str(inventory), "playbooks/deploy.yml", "--tags", "launch_template",
                 "-e", json.dumps(extra)],
                cwd=REPO, env=aws_env(moto_endpoint), capture_output=True, text=True, timeout=300,
            )
            for _ in range(2)
        ]
        for proc in runs:
            assert proc.returncode == 0, _failure_report(proc)
        # The first run makes a version; the second, same release, finds it and changes nothing.
        for proc, changed in zip(runs, (1, 0)):
            assert re.search(rf"^app1\s+: ok=\d+\s+changed={changed}\s+unreachable=0\s+failed=0 ", proc.stdout, re.M), \
                proc.stdout[-3000:]
        described = ec2.describe_launch_templates(LaunchTemplateNames=[template])["LaunchTemplates"][0]
        assert (described["DefaultVersionNumber"], described["LatestVersionNumber"]) == (2, 2)
        default = ec2.describe_launch_template_versions(
            LaunchTemplateName=template, Versions=["$Default"])["LaunchTemplateVersions"][0]
    finally:
        ec2.delete_launch_template(LaunchTemplateName=template)
    assert default["VersionDescription"] == f"release r9 sha256:{digest}"
    user_data = base64.b64decode(default["LaunchTemplateData"]["UserData"])
    assert len(user_data) <= 16384  # the EC2 limit
    user_data = user_data.decode()
    # The log group the first version ships to (app_asg: /<name prefix>/app).
    assert_ships_the_access_log(user_data, "/pagenow-staging/app")
    # In place before the service's units are loaded and started, so its first line is shipped.
    assert user_data.index("stdout-log.conf") < user_data.index("systemctl daemon-reload")
    assert "release r9" in user_data


def _failure_report(proc: subprocess.CompletedProcess) -> str:
    return f"ansible-playbook exited {proc.returncode}\n{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}"


def _aws(endpoint: str):
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    return lambda service: session.client(service, endpoint_url=endpoint)


# Three deploys and a host booted from the launch template; on a loaded shared host each deploy
# has taken up to 9 minutes, beyond the suite's default 900 s per test.
@pytest.mark.timeout(2400)
def test_rolling_deploy_through_the_bastion(deploy_lab, moto_endpoint):
    lab, deployer, dbname, admin_dsn = deploy_lab

    # --- release 1 on both hosts, through the bastion --------------------------------------
    first = deployer.deploy("r1")
    assert first.returncode == 0, _failure_report(first)
    assert _migrated_on(first) == ["app1"]
    assert _migrated_on(first, "Recount the trigrams user search") == ["app1"]
    for host in ("app1", "app2"):
        status, body = lab.http_get_from("bastion", f"http://{lab.hosts[host].address}:{APP_PORT}/health")
        assert (status, body) == (200, {"status": "ok", "database": "ok", "release": "r1"}), host
        assert deployer.serving_release(host) == "r1"
    # The migration ran (once) against the lab database through the forwarder.
    conn = psycopg2.connect(admin_dsn, dbname=dbname)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM alembic_version")
            assert cur.fetchone()[0] == 1
    finally:
        conn.close()

    # App hosts are private: nothing in the root namespace reaches them.
    for host in ("app1", "app2"):
        for port in (22, APP_PORT):
            with pytest.raises(OSError):
                socket.create_connection((lab.hosts[host].address, port), timeout=2).close()
    # Operators get there with a jump through the bastion (README), and reach the database too.
    assert lab.ssh_via_bastion("app1", "cat", str(deployer.install_root("app1") / "current" / "release.env"),
                               ).stdout.count("RELEASE_VERSION=r1") == 1
    _check_psql_through_bastion(lab, admin_dsn, dbname)

    # --- release 2 under load through the load balancer ---------------------------------------
    masters_before = {host: deployer.master_pid(host) for host in ("app1", "app2")}
    with LoadLoop(f"{lab.lb_url}/health", rate=20) as load:
        time.sleep(1)  # requests already flowing when the roll starts
        second = deployer.deploy("r2")
        time.sleep(1)
    assert second.returncode == 0, _failure_report(second)
    assert _migrated_on(second) == ["app1"]
    releases_seen = {release for _, status, release in load.results if status == 200}
    print(f"rolling deploy of r2 under load: {len(load.results)} requests, {len(load.failures)} failed, "
          f"releases answering {sorted(releases_seen)}")
    assert len(load.results) >= 100, "the load loop did not run for the roll"
    assert load.failures == [], load.errors[:10]
    assert releases_seen == {"r1", "r2"}
    for host in ("app1", "app2"):
        status, body = lab.http_get_from("bastion", f"http://{lab.hosts[host].address}:{APP_PORT}/health")
        assert (status, body["release"]) == (200, "r2"), host
        assert deployer.serving_release(host) == "r2"
        # A new master took over; the old one is gone and no hand-over is left pending.
        assert deployer.master_pid(host) != masters_before[host]
        assert not _alive(masters_before[host])
        assert not (deployer.install_root(host) / "shared" / "run" / "gunicorn.pid.2").exists()

    # --- the launch template now boots release 2: a third host started from it serves it -------
    _check_new_host_boots_the_release(lab, deployer, _aws(moto_endpoint), "r2")

    # --- a broken release 3: stops on the first host, which goes back to release 2 -------------
    broken = lab.workdir / "src-r3"
    for name in RELEASE_FILES:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, broken / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            broken.mkdir(exist_ok=True)
            shutil.copy(src, broken / name)
    (broken / "wsgi.py").write_text(BROKEN_WSGI)
    app2_master = deployer.master_pid("app2")
    third = deployer.deploy("r3", source_dir=broken)
    assert third.returncode != 0, _failure_report(third)
    assert "release r3 failed its health check on app1; rolled back to release r2" in third.stdout, \
        _failure_report(third)
    status, body = lab.http_get_from("bastion", f"http://{lab.hosts['app1'].address}:{APP_PORT}/health")
    assert (status, body["release"]) == (200, "r2")
    assert deployer.serving_release("app1") == "r2"
    assert not (deployer.install_root("app1") / "shared" / "run" / "gunicorn.pid.2").exists()
    # app2 was never touched: same master, same release, release 3 never copied there.
    assert deployer.master_pid("app2") == app2_master
    assert deployer.serving_release("app2") == "r2"
    assert not (deployer.install_root("app2") / "releases" / "r3").exists()
    status, body = lab.http_get_from("lb", f"{lab.lb_url}/health")
    assert (status, body["release"]) == (200, "r2")

    # The failed roll left the launch template on release 2.
    default = _aws(moto_endpoint)("ec2").describe_launch_template_versions(
        LaunchTemplateName=LAUNCH_TEMPLATE, Versions=["$Default"])["LaunchTemplateVersions"][0]
    assert default["VersionDescription"].startswith("release r2 sha256:")


def _check_new_host_boots_the_release(lab: DeployLab, deployer: Deployer, aws, version: str) -> None:
    """What the Auto Scaling group does on scale-out: boot an instance with the user data of the
    launch template's default version, exactly as EC2 hands it over (base64-decoded). Here the
    "instance" is the lab host app3: its own network namespace on the private bridge, and its
    own view of the install root (a private mount namespace, as it would have its own disk)."""
    key = f"releases/pagenow-{version}.tar"  # service_name of the staging group_vars
    artifact = aws("s3").get_object(Bucket=RELEASE_BUCKET, Key=key)["Body"].read()
    checksum = aws("s3").get_object(Bucket=RELEASE_BUCKET, Key=f"{key}.sha256")["Body"].read().decode()
    digest = hashlib.sha256(artifact).hexdigest()
    assert checksum == f"{digest}  pagenow-{version}.tar\n"
    template = aws("ec2").describe_launch_templates(LaunchTemplateNames=[LAUNCH_TEMPLATE])["LaunchTemplates"][0]
    default = aws("ec2").describe_launch_template_versions(
        LaunchTemplateName=LAUNCH_TEMPLATE, Versions=["$Default"])["LaunchTemplateVersions"][0]
    # One version per deploy after the initial one; the newest is the default.
    assert (template["DefaultVersionNumber"], template["LatestVersionNumber"]) == (3, 3)
    assert default["VersionDescription"] == f"release {version} sha256:{digest}"
    # On AWS the new version inherits everything else from its source version (SourceVersion);
    # moto 5.2 ignores SourceVersion, so here the version holds the user data only.
    user_data = base64.b64decode(default["LaunchTemplateData"]["UserData"])
    assert len(user_data) <= 16384  # the EC2 limit
    script = lab.workdir / "app3-user-data.sh"
    script.write_bytes(user_data)

    rendered_root = deployer.install_root("app1")  # the path the rendered settings name
    own_root = lab.workdir / "hosts" / "app3" / "opt" / "pagenow-user-api"
    own_root.mkdir(parents=True)
    # The instance's environment: credentials as the instance role gives them, S3 through the
    # lab's endpoint (the VPC's S3 gateway endpoint in AWS).
    instance_env = {
        "PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"), "LANG": "C.UTF-8",
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_ENDPOINT_URL": lab.s3_url,
    }
    boot = subprocess.run(
        ["ip", "netns", "exec", lab.namespaces["app3"], "unshare", "--mount", "--propagation", "private",
         "sh", "-c", 'mount --bind "$1" "$2" && exec bash "$3"', "boot", str(own_root), str(rendered_root), str(script)],
        env=instance_env, capture_output=True, text=True, timeout=600,
    )
    (lab.workdir / "app3-boot.log").write_text(boot.stdout + boot.stderr)
    assert boot.returncode == 0, boot.stdout[-4000:] + boot.stderr[-4000:]

    status, body = lab.http_get_from("bastion", f"http://{lab.ip(70)}:{APP_PORT}/health")
    print(f"freshly booted host app3: GET /health -> {status} {json.dumps(body)}")
    assert (status, body) == (200, {"status": "ok", "database": "ok", "release": version})
    assert os.readlink(own_root / "current") == str(rendered_root / "releases" / version)
    # The same settings as the deployed hosts: environment and gunicorn settings, byte for byte.
    for name in ("release.env", "gunicorn.release.py"):
        booted = (own_root / "releases" / version / name).read_text()
        deployed = (rendered_root / "releases" / version / name).read_text()
        assert booted.rstrip("\n") == deployed.rstrip("\n"), name
    assert f"RELEASE_VERSION={version}" in (own_root / "releases" / version / "release.env").read_text()


def _migrated_on(proc: subprocess.CompletedProcess, task: str = "Upgrade the database schema") -> list[str]:
    """Hosts on which `flask db upgrade` (or another task of migrate.yml) ran during a
    deploy (from the playbook output)."""
    hosts = []
    for block in proc.stdout.split("TASK [")[1:]:
        if block.startswith(f"service : {task}"):
            hosts += re.findall(r"^(?:ok|changed): \[(\w+)\]", block, flags=re.M)
    return hosts


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _check_psql_through_bastion(lab: DeployLab, admin_dsn: str, dbname: str) -> None:
    """The README's `ssh -L` recipe: a local port forwarded through the bastion to the database."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        local_port = probe.getsockname()[1]
    tunnel = subprocess.Popen(
        ["ssh", *lab.ssh_args(), "-N", "-o", "ExitOnForwardFailure=yes",
         "-L", f"127.0.0.1:{local_port}:{lab.db_address}:5432", f"root@{lab.hosts['bastion'].address}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                conn = psycopg2.connect(admin_dsn, host="127.0.0.1", port=local_port, dbname=dbname,
                                        connect_timeout=3)
                break
            except psycopg2.OperationalError:
                if tunnel.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT current_database()")
                assert cur.fetchone()[0] == dbname
        finally:
            conn.close()
    finally:
        tunnel.terminate()
        tunnel.wait(timeout=10)
