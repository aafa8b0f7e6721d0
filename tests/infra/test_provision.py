"""Provisioning playbooks: lint, syntax, and a full provision -> re-provision -> teardown ->
re-teardown cycle against a local moto server, checked with boto3."""
from __future__ import annotations

import base64
import json
import subprocess

import boto3
import pytest

from .conftest import ROOT, aws_env, tool

pytestmark = pytest.mark.slow

PREFIX = "pagenow-staging"
# The playbooks this issue owns (deploy.yml is checked by its own test).
PLAYBOOKS = ["site.yml", "network.yml", "bastion.yml", "database.yml", "app.yml", "teardown.yml"]
ROLES = ["vpc", "bastion", "aurora", "rds_proxy", "app_asg"]
# inventories/staging/group_vars/all/vars.yml
PUBLIC = {"10.20.0.0/24", "10.20.1.0/24"}
PRIVATE = {"10.20.10.0/24", "10.20.11.0/24"}


def test_ansible_lint_production_profile():
    targets = [f"playbooks/{p}" for p in PLAYBOOKS] + [f"playbooks/roles/{r}" for r in ROLES] + ["inventories"]
    proc = subprocess.run(
        [tool("ansible-lint"), "--nocolor", "--profile", "production", *targets],
        cwd=ROOT, env=aws_env("http://127.0.0.1:9"), capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-6000:]


@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_syntax_check(playbook):
    # localhost only: a syntax check must not query any inventory source.
    proc = subprocess.run(
        [tool("ansible-playbook"), "-i", "localhost,", "--syntax-check", f"playbooks/{playbook}"],
        cwd=ROOT, env=aws_env("http://127.0.0.1:9"), capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"playbook: playbooks/{playbook}" in proc.stdout


@pytest.fixture(scope="module")
def aws(lab):
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    return lambda service: session.client(service, endpoint_url=lab.endpoint)


@pytest.fixture(scope="module")
def provisioned(lab):
    """site.yml twice: the first run verbose (module results printed), the second plain.
    The emulated instances are not reachable machines: the deploy plays are skipped and
    nothing but localhost is ever contacted."""
    only_aws = ["--limit", "localhost", "--skip-tags", "deploy"]
    first = lab.playbook("site.yml", *only_aws, "-v")
    second = lab.playbook("site.yml", *only_aws)
    print(f"\nprovision: {first.recap} ({first.seconds:.0f}s)\nre-provision: {second.recap} ({second.seconds:.0f}s)")
    return first, second


def subnet_ids(network, cidrs):
    return {s["SubnetId"] for s in network["subnets"] if s["CidrBlock"] in cidrs}


def by_name(items, name):
    return next(i for i in items if {"Key": "Name", "Value": name} in i.get("Tags", []))


def sg_rules(group, direction):
    """{(protocol, from, to, source)} where source is a CIDR or the short name of a group."""
    rules = set()
    for perm in group["IpPermissions" if direction == "in" else "IpPermissionsEgress"]:
        for r in perm.get("IpRanges", []):
            rules.add((perm["IpProtocol"], perm.get("FromPort"), perm.get("ToPort"), r["CidrIp"]))
        for g in perm.get("UserIdGroupPairs", []):
            rules.add((perm["IpProtocol"], perm.get("FromPort"), perm.get("ToPort"), g["GroupId"]))
    return rules


@pytest.fixture(scope="module")
def network(provisioned, aws):
    ec2 = aws("ec2")
    vpc = by_name(ec2.describe_vpcs()["Vpcs"], f"{PREFIX}-vpc")
    vpc_filter = [{"Name": "vpc-id", "Values": [vpc["VpcId"]]}]
    subnets = ec2.describe_subnets(Filters=vpc_filter)["Subnets"]
    tables = ec2.describe_route_tables(Filters=vpc_filter)["RouteTables"]
    groups = {
        g["GroupName"].removeprefix(f"{PREFIX}-"): g
        for g in ec2.describe_security_groups(Filters=vpc_filter)["SecurityGroups"]
        if g["GroupName"] != "default"
    }
    return {"vpc": vpc, "subnets": subnets, "tables": tables, "groups": groups}


def default_route_target(tables, subnet_id):
    table = next(t for t in tables if any(a.get("SubnetId") == subnet_id for a in t["Associations"]))
    route = next(r for r in table["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0")
    return route.get("GatewayId") or route.get("NatGatewayId")


def test_subnets_span_two_zones_public_via_igw_private_via_nat(network, aws):
    subnets, tables = network["subnets"], network["tables"]
    assert len(subnets) == 4
    public = [s for s in subnets if default_route_target(tables, s["SubnetId"]).startswith("igw-")]
    private = [s for s in subnets if default_route_target(tables, s["SubnetId"]).startswith("nat-")]
    assert {s["CidrBlock"] for s in public} == PUBLIC
    assert {s["CidrBlock"] for s in private} == PRIVATE
    assert len({s["AvailabilityZone"] for s in public}) == 2
    assert {s["AvailabilityZone"] for s in public} == {s["AvailabilityZone"] for s in private}
    assert all(s["MapPublicIpOnLaunch"] for s in public) and not any(s["MapPublicIpOnLaunch"] for s in private)
    nats = aws("ec2").describe_nat_gateways(Filters=[{"Name": "state", "Values": ["available"]}])["NatGateways"]
    assert len(nats) == 1 and nats[0]["SubnetId"] in {s["SubnetId"] for s in public}


def test_security_groups_allow_exactly_the_listed_paths(network, lab):
    g = {name: group["GroupId"] for name, group in network["groups"].items()}
    assert set(g) == {"lb", "bastion", "app", "proxy", "db"}
    expected = {
        "lb": (
            {("tcp", 80, 80, "0.0.0.0/0"), ("tcp", 443, 443, "0.0.0.0/0")},
            {("tcp", 8000, 8000, g["app"])},
        ),
        "bastion": (
            {("tcp", 22, 22, "203.0.113.0/24")},
            {("tcp", 22, 22, g["app"]), ("tcp", 5432, 5432, g["proxy"]), ("tcp", 443, 443, "0.0.0.0/0")},
        ),
        "app": (
            {("tcp", 8000, 8000, g["lb"]), ("tcp", 22, 22, g["bastion"])},
            {("tcp", 5432, 5432, g["proxy"]), ("tcp", 443, 443, "0.0.0.0/0")},
        ),
        "proxy": (
            {("tcp", 5432, 5432, g["app"]), ("tcp", 5432, 5432, g["bastion"])},
            {("tcp", 5432, 5432, g["db"]), ("tcp", 443, 443, "0.0.0.0/0")},
        ),
        "db": ({("tcp", 5432, 5432, g["proxy"])}, set()),
    }
    for name, (ingress, egress) in expected.items():
        group = network["groups"][name]
        assert sg_rules(group, "in") == ingress, name
        assert sg_rules(group, "out") == egress, name


def test_bastion_in_a_public_subnet_with_the_key_pair(network, aws):
    ec2 = aws("ec2")
    reservations = ec2.describe_instances(
        Filters=[{"Name": "tag:Role", "Values": ["bastion"]}, {"Name": "instance-state-name", "Values": ["running"]}]
    )["Reservations"]
    instances = [i for r in reservations for i in r["Instances"]]
    assert len(instances) == 1
    bastion = instances[0]
    assert default_route_target(network["tables"], bastion["SubnetId"]).startswith("igw-")
    assert bastion.get("PublicIpAddress")
    assert [sg["GroupId"] for sg in bastion["SecurityGroups"]] == [network["groups"]["bastion"]["GroupId"]]
    assert bastion["KeyName"] == f"{PREFIX}-key"
    assert {"Key": "Environment", "Value": "staging"} in bastion["Tags"]
    assert ec2.describe_key_pairs(KeyNames=[f"{PREFIX}-key"])["KeyPairs"]


def test_aurora_cluster_with_an_instance_in_each_zone(network, aws):
    rds = aws("rds")
    cluster = rds.describe_db_clusters(DBClusterIdentifier=f"{PREFIX}-aurora")["DBClusters"][0]
    assert cluster["Engine"] == "aurora-postgresql"
    assert cluster["StorageEncrypted"] is True
    assert [g["VpcSecurityGroupId"] for g in cluster["VpcSecurityGroups"]] == [network["groups"]["db"]["GroupId"]]
    members = {m["DBInstanceIdentifier"] for m in cluster["DBClusterMembers"]}
    assert members == {f"{PREFIX}-aurora-1", f"{PREFIX}-aurora-2"}
    instances = [rds.describe_db_instances(DBInstanceIdentifier=m)["DBInstances"][0] for m in sorted(members)]
    assert len({i["AvailabilityZone"] for i in instances}) == 2
    assert not any(i["PubliclyAccessible"] for i in instances)
    group = rds.describe_db_subnet_groups(DBSubnetGroupName=f"{PREFIX}-aurora")["DBSubnetGroups"][0]
    assert {s["SubnetIdentifier"] for s in group["Subnets"]} == subnet_ids(network, PRIVATE)


def test_proxy_requires_tls_and_targets_the_cluster(network, aws):
    rds = aws("rds")
    proxy = rds.describe_db_proxies(DBProxyName=f"{PREFIX}-proxy")["DBProxies"][0]
    assert proxy["EngineFamily"] == "POSTGRESQL"
    assert proxy["RequireTLS"] is True
    assert proxy["VpcSecurityGroupIds"] == [network["groups"]["proxy"]["GroupId"]]
    secret_arn = aws("secretsmanager").describe_secret(SecretId=f"{PREFIX}/db-master")["ARN"]
    assert [a["SecretArn"] for a in proxy["Auth"]] == [secret_arn]
    targets = rds.describe_db_proxy_targets(DBProxyName=f"{PREFIX}-proxy")["Targets"]
    assert [(t["RdsResourceId"], t["Type"]) for t in targets] == [(f"{PREFIX}-aurora", "TRACKED_CLUSTER")]
    role = aws("iam").get_role(RoleName=f"{PREFIX}-proxy-role")["Role"]
    assert role["Arn"] == proxy["RoleArn"]
    policy = aws("iam").get_role_policy(RoleName=f"{PREFIX}-proxy-role", PolicyName="read-db-credentials")
    statement = policy["PolicyDocument"]["Statement"][0]
    assert statement["Action"] == ["secretsmanager:GetSecretValue"] and statement["Resource"] == [secret_arn]


def test_generated_secret_is_stable_and_never_printed(provisioned, aws):
    sm = aws("secretsmanager")
    value = json.loads(sm.get_secret_value(SecretId=f"{PREFIX}/db-master")["SecretString"])
    assert value["username"] == "pagenow_admin"
    assert len(value["password"]) == 32 and value["password"].isalnum()
    # Generated once: the second run kept the first version.
    versions = sm.list_secret_version_ids(SecretId=f"{PREFIX}/db-master")["Versions"]
    assert len(versions) == 1
    for run in provisioned:
        assert value["password"] not in run.output


def test_load_balancer_target_group_and_listener(network, aws):
    elb = aws("elbv2")
    lb = elb.describe_load_balancers(Names=[f"{PREFIX}-alb"])["LoadBalancers"][0]
    assert lb["Scheme"] == "internet-facing"
    assert {z["SubnetId"] for z in lb["AvailabilityZones"]} == subnet_ids(network, PUBLIC)
    assert lb["SecurityGroups"] == [network["groups"]["lb"]["GroupId"]]
    tg = elb.describe_target_groups(Names=[f"{PREFIX}-app"])["TargetGroups"][0]
    assert (tg["Protocol"], tg["Port"], tg["HealthCheckPath"]) == ("HTTP", 8000, "/ping")
    listeners = elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
    assert [(li["Port"], li["DefaultActions"][0]["Type"], li["DefaultActions"][0]["TargetGroupArn"]) for li in listeners] == [
        (80, "forward", tg["TargetGroupArn"])
    ]


def test_auto_scaling_group_in_private_subnets_behind_the_target_group(network, aws):
    asg = aws("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[f"{PREFIX}-app"])["AutoScalingGroups"][0]
    assert set(asg["VPCZoneIdentifier"].split(",")) == subnet_ids(network, PRIVATE)
    tg = aws("elbv2").describe_target_groups(Names=[f"{PREFIX}-app"])["TargetGroups"][0]
    assert asg["TargetGroupARNs"] == [tg["TargetGroupArn"]]
    assert (asg["MinSize"], asg["MaxSize"], asg["DesiredCapacity"]) == (1, 2, 2)
    assert asg["HealthCheckType"] == "ELB"
    assert asg["LaunchTemplate"]["LaunchTemplateName"] == f"{PREFIX}-app"
    assert {"Key": "Role", "Value": "app"} in [{"Key": t["Key"], "Value": t["Value"]} for t in asg["Tags"]]
    policies = aws("autoscaling").describe_policies(AutoScalingGroupName=f"{PREFIX}-app")["ScalingPolicies"]
    assert [p["PolicyType"] for p in policies] == ["TargetTrackingScaling"]
    spec = policies[0]["TargetTrackingConfiguration"]
    assert spec["PredefinedMetricSpecification"]["PredefinedMetricType"] == "ASGAverageCPUUtilization"
    assert spec["TargetValue"] == 50


def test_launch_template_starts_the_service_without_secrets(network, aws):
    ec2 = aws("ec2")
    version = ec2.describe_launch_template_versions(LaunchTemplateName=f"{PREFIX}-app", Versions=["$Latest"])[
        "LaunchTemplateVersions"
    ][0]["LaunchTemplateData"]
    assert version["SecurityGroupIds"] == [network["groups"]["app"]["GroupId"]]
    profile = version["IamInstanceProfile"]
    assert profile.get("Name") == f"{PREFIX}-app" or profile["Arn"].endswith(f":instance-profile/{PREFIX}-app")
    user_data = base64.b64decode(version["UserData"]).decode()
    assert "systemctl enable --now pagenow.service" in user_data
    assert "gunicorn -c gunicorn.conf.py wsgi:app" in user_data
    proxy = aws("rds").describe_db_proxies(DBProxyName=f"{PREFIX}-proxy")["DBProxies"][0]
    assert f"RDS_HOST={proxy['Endpoint']}" in user_data
    password = json.loads(aws("secretsmanager").get_secret_value(SecretId=f"{PREFIX}/db-master")["SecretString"])["password"]
    assert password not in user_data
    assert aws("logs").describe_log_groups(logGroupNamePrefix=f"/{PREFIX}/app")["logGroups"]


def test_dynamic_inventory_names_hosts_by_instance_id_and_groups_by_role(provisioned, lab):
    proc = lab.run([tool("ansible-inventory"), "-i", str(lab.inventory / "aws_ec2.yml"), *lab.vault_args(), "--list"])
    inventory = json.loads(proc.stdout)
    app_hosts = inventory["role_app"]["hosts"]
    bastion_hosts = inventory["role_bastion"]["hosts"]
    assert len(app_hosts) == 2 and len(bastion_hosts) == 1
    assert all(h.startswith("i-") for h in app_hosts + bastion_hosts)


def test_second_provision_changes_nothing(provisioned):
    first, second = provisioned
    assert first.changed > 0 and first.failed == 0
    assert (second.changed, second.failed) == (0, 0), second.changed_tasks()


def test_teardown_removes_everything_and_then_changes_nothing(provisioned, lab, aws):
    first = lab.playbook("teardown.yml", "-e", "confirm_teardown=staging")
    second = lab.playbook("teardown.yml", "-e", "confirm_teardown=staging")
    print(f"\nteardown: {first.recap} ({first.seconds:.0f}s)\nre-teardown: {second.recap} ({second.seconds:.0f}s)")
    assert first.changed > 0 and first.failed == 0
    assert (second.changed, second.failed) == (0, 0), second.changed_tasks()

    ec2 = aws("ec2")
    assert [v for v in ec2.describe_vpcs()["Vpcs"] if not v["IsDefault"]] == []
    live = ec2.describe_instances(Filters=[{"Name": "instance-state-name", "Values": ["pending", "running", "stopped"]}])
    assert live["Reservations"] == []
    assert [n for n in ec2.describe_nat_gateways()["NatGateways"] if n["State"] != "deleted"] == []
    assert ec2.describe_addresses()["Addresses"] == []
    assert ec2.describe_key_pairs()["KeyPairs"] == []
    assert ec2.describe_launch_templates()["LaunchTemplates"] == []
    rds = aws("rds")
    assert rds.describe_db_clusters()["DBClusters"] == []
    assert rds.describe_db_instances()["DBInstances"] == []
    assert rds.describe_db_proxies()["DBProxies"] == []
    assert [g for g in rds.describe_db_subnet_groups()["DBSubnetGroups"] if g["DBSubnetGroupName"] != "default"] == []
    assert aws("secretsmanager").list_secrets()["SecretList"] == []
    assert aws("elbv2").describe_load_balancers()["LoadBalancers"] == []
    assert aws("elbv2").describe_target_groups()["TargetGroups"] == []
    assert aws("autoscaling").describe_auto_scaling_groups()["AutoScalingGroups"] == []
    assert [r for r in aws("iam").list_roles()["Roles"] if r["RoleName"].startswith(PREFIX)] == []
    assert aws("iam").list_instance_profiles()["InstanceProfiles"] == []
    assert aws("logs").describe_log_groups(logGroupNamePrefix=f"/{PREFIX}")["logGroups"] == []


def test_teardown_refuses_without_confirmation(lab):
    proc = lab.run(
        [tool("ansible-playbook"), "-i", str(lab.inventory), *lab.vault_args(), str(ROOT / "playbooks" / "teardown.yml")],
        check=False,
    )
    assert proc.returncode != 0
    assert "pass -e confirm_teardown=staging" in proc.stdout
