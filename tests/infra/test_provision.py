"""Provisioning playbooks: lint, syntax, and a full provision -> re-provision -> teardown ->
re-teardown cycle against a local moto server, checked with boto3."""
from __future__ import annotations

import base64
import fnmatch
import json
import re
import runpy
import subprocess

import boto3
import pytest
import requests

from service.users.images import ProfileImageStore
from users.sigv4 import signature_matches

from .conftest import ROOT, assert_ships_the_access_log, aws_env, tool

# The module's provisioning fixture (site.yml twice) alone takes many minutes on a shared host.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(2700)]

PREFIX = "pagenow-staging"
# The playbooks this issue owns (deploy.yml is checked by its own test).
PLAYBOOKS = ["site.yml", "preflight.yml", "network.yml", "bastion.yml", "database.yml", "app.yml", "monitoring.yml",
             "teardown.yml"]
ROLES = ["vpc", "bastion", "aurora", "rds_proxy", "image_bucket", "app_asg", "monitoring"]
# inventories/staging/group_vars/all/vars.yml
PUBLIC = {"10.20.0.0/24", "10.20.1.0/24"}
PRIVATE = {"10.20.10.0/24", "10.20.11.0/24"}
IMAGE_BUCKET = f"{PREFIX}-profile-images"
CLIENT_ORIGINS = ["https://staging.pagenow.example"]


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


def test_each_zone_leaves_through_its_own_nat_gateway_and_reaches_s3_through_the_endpoint(network, aws):
    ec2 = aws("ec2")
    subnets, tables = network["subnets"], network["tables"]
    zone_of = {s["SubnetId"]: s["AvailabilityZone"] for s in subnets}
    public_of_zone = {s["AvailabilityZone"]: s["SubnetId"] for s in subnets if s["CidrBlock"] in PUBLIC}
    nats = ec2.describe_nat_gateways(Filters=[{"Name": "vpc-id", "Values": [network["vpc"]["VpcId"]]},
                                              {"Name": "state", "Values": ["available"]}])["NatGateways"]
    assert sorted(n["SubnetId"] for n in nats) == sorted(public_of_zone.values())
    assert all(len(n["NatGatewayAddresses"]) == 1 and n["NatGatewayAddresses"][0]["PublicIp"] for n in nats)
    nat_subnet = {n["NatGatewayId"]: n["SubnetId"] for n in nats}
    private_tables = []
    for subnet_id in subnet_ids(network, PRIVATE):
        table = next(t for t in tables if any(a.get("SubnetId") == subnet_id for a in t["Associations"]))
        # A table of its own (one subnet), whose default route is the NAT gateway of the same zone.
        assert [a["SubnetId"] for a in table["Associations"] if "SubnetId" in a] == [subnet_id]
        assert nat_subnet[default_route_target(tables, subnet_id)] == public_of_zone[zone_of[subnet_id]]
        assert by_name([table], f"{PREFIX}-private-{zone_of[subnet_id][-1]}") == table
        private_tables.append(table["RouteTableId"])
    assert len(set(private_tables)) == 2

    endpoints = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [network["vpc"]["VpcId"]]}])["VpcEndpoints"]
    assert [(e["ServiceName"], e["VpcEndpointType"], e["State"]) for e in endpoints] == [
        ("com.amazonaws.us-east-1.s3", "Gateway", "available")
    ]
    assert sorted(endpoints[0]["RouteTableIds"]) == sorted(private_tables)
    assert {"Key": "Name", "Value": f"{PREFIX}-s3"} in endpoints[0]["Tags"]


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
    sm = aws("secretsmanager")
    # The owner (migrations) and the service's own role both log in through the proxy.
    secret_arns = [sm.describe_secret(SecretId=f"{PREFIX}/{name}")["ARN"] for name in ("db-master", "db-app")]
    assert [a["SecretArn"] for a in proxy["Auth"]] == secret_arns
    targets = rds.describe_db_proxy_targets(DBProxyName=f"{PREFIX}-proxy")["Targets"]
    assert [(t["RdsResourceId"], t["Type"]) for t in targets] == [(f"{PREFIX}-aurora", "TRACKED_CLUSTER")]
    role = aws("iam").get_role(RoleName=f"{PREFIX}-proxy-role")["Role"]
    assert role["Arn"] == proxy["RoleArn"]
    policy = aws("iam").get_role_policy(RoleName=f"{PREFIX}-proxy-role", PolicyName="read-db-credentials")
    statement = policy["PolicyDocument"]["Statement"][0]
    assert statement["Action"] == ["secretsmanager:GetSecretValue"] and statement["Resource"] == secret_arns


def test_generated_secret_is_stable_and_never_printed(provisioned, aws):
    sm = aws("secretsmanager")
    value = json.loads(sm.get_secret_value(SecretId=f"{PREFIX}/db-master")["SecretString"])
    assert value["username"] == "pagenow_admin"
    assert len(value["password"]) == 32 and value["password"].isalnum()
    app = json.loads(sm.get_secret_value(SecretId=f"{PREFIX}/db-app")["SecretString"])
    assert app["username"] == "pagenow_app"
    assert len(app["password"]) == 32 and app["password"].isalnum() and app["password"] != value["password"]
    # Generated once: the second run kept the first version.
    for name in ("db-master", "db-app"):
        versions = sm.list_secret_version_ids(SecretId=f"{PREFIX}/{name}")["Versions"]
        assert len(versions) == 1, name
    for run in provisioned:
        assert value["password"] not in run.output and app["password"] not in run.output


METRICS_RULE = {
    "Conditions": [{"Field": "path-pattern", "Values": ["/metrics*"]}],
    "Actions": [{"Type": "fixed-response", "FixedResponseConfig": {
        "StatusCode": "404", "ContentType": "application/json", "MessageBody": '{"message": "not found"}'}}],
}


def listener_rules(elb, listener):
    """The listener's rules other than the default, as (priority, conditions, actions)."""
    rules = [r for r in elb.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"] if not r["IsDefault"]]
    return [
        (r["Priority"], [{"Field": c["Field"], "Values": c["Values"]} for c in r["Conditions"]],
         [{k: v for k, v in a.items() if k in ("Type", "FixedResponseConfig")} for a in r["Actions"]])
        for r in rules
    ]


def test_load_balancer_target_group_and_listener(network, aws):
    elb = aws("elbv2")
    lb = elb.describe_load_balancers(Names=[f"{PREFIX}-alb"])["LoadBalancers"][0]
    assert lb["Scheme"] == "internet-facing"
    assert {z["SubnetId"] for z in lb["AvailabilityZones"]} == subnet_ids(network, PUBLIC)
    assert lb["SecurityGroups"] == [network["groups"]["lb"]["GroupId"]]
    tg = elb.describe_target_groups(Names=[f"{PREFIX}-app"])["TargetGroups"][0]
    assert (tg["Protocol"], tg["Port"], tg["HealthCheckPath"]) == ("HTTP", 8000, "/ping")
    # Staging's inventory allows plain HTTP explicitly (app_allow_plain_http); /metrics is 404.
    listeners = elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
    assert [(li["Port"], li["DefaultActions"][0]["Type"], li["DefaultActions"][0]["TargetGroupArn"]) for li in listeners] == [
        (80, "forward", tg["TargetGroupArn"])
    ]
    assert listener_rules(elb, listeners[0]) == [("1", METRICS_RULE["Conditions"], METRICS_RULE["Actions"])]


def test_load_balancer_attributes_and_access_log_bucket(network, aws):
    elb = aws("elbv2")
    lb = elb.describe_load_balancers(Names=[f"{PREFIX}-alb"])["LoadBalancers"][0]
    attrs = {a["Key"]: a["Value"] for a in elb.describe_load_balancer_attributes(
        LoadBalancerArn=lb["LoadBalancerArn"])["Attributes"]}
    assert attrs["routing.http.drop_invalid_header_fields.enabled"] == "true"
    # Shorter than gunicorn's keepalive, so gunicorn never closes a connection the LB reuses.
    assert attrs["idle_timeout.timeout_seconds"] == "60"
    gunicorn_conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert gunicorn_conf["keepalive"] == 75 > int(attrs["idle_timeout.timeout_seconds"])
    # Staging: off (production's inventory turns it on).
    assert attrs["deletion_protection.enabled"] == "false"
    assert (attrs["access_logs.s3.enabled"], attrs["access_logs.s3.bucket"], attrs["access_logs.s3.prefix"]) == (
        "true", f"{PREFIX}-alb-logs", f"{PREFIX}-alb")
    s3 = aws("s3")
    bucket = f"{PREFIX}-alb-logs"
    assert s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}
    rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    account = aws("sts").get_caller_identity()["Account"]
    assert policy["Statement"] == [{
        "Sid": "LoadBalancerAccessLogs", "Effect": "Allow",
        # Elastic Load Balancing's log account of us-east-1.
        "Principal": {"AWS": "arn:aws:iam::127311923021:root"}, "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{bucket}/{PREFIX}-alb/AWSLogs/{account}/*",
    }]
    lifecycle = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert [(r["ID"], r["Status"], r["Expiration"]["Days"]) for r in lifecycle] == [("expire-access-logs", "Enabled", 90)]


def test_production_refuses_to_provision_without_a_certificate(lab):
    """The committed production inventory (no certificate) stops at the preflight, before any
    AWS call, with one line naming the variable."""
    proc = lab.run(
        [tool("ansible-playbook"), "-i", "localhost,", "-c", "local",
         "-e", f"@{ROOT / 'inventories' / 'production' / 'group_vars' / 'all' / 'vars.yml'}",
         str(ROOT / "playbooks" / "site.yml")],
        check=False,
    )
    assert proc.returncode != 0
    failed = [line for line in proc.stdout.splitlines() if line.startswith("fatal:")]
    assert len(failed) == 1 and "app_certificate_arn is empty" in failed[0], proc.stdout[-3000:]
    assert "production serves HTTPS only" in failed[0]
    assert "TASK [" not in proc.stdout.split("fatal:", 1)[1]  # nothing ran after it
    assert re.search(r"localhost\s+: ok=0\s+changed=0 .* failed=1", proc.stdout), proc.stdout[-2000:]


def test_auto_scaling_group_in_private_subnets_behind_the_target_group(network, aws):
    asg = aws("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[f"{PREFIX}-app"])["AutoScalingGroups"][0]
    assert set(asg["VPCZoneIdentifier"].split(",")) == subnet_ids(network, PRIVATE)
    tg = aws("elbv2").describe_target_groups(Names=[f"{PREFIX}-app"])["TargetGroups"][0]
    assert asg["TargetGroupARNs"] == [tg["TargetGroupArn"]]
    assert (asg["MinSize"], asg["MaxSize"], asg["DesiredCapacity"]) == (1, 2, 2)
    assert asg["HealthCheckType"] == "ELB"
    # New instances boot the template's default version: the one deploy.yml points at each release.
    assert (asg["LaunchTemplate"]["LaunchTemplateName"], asg["LaunchTemplate"]["Version"]) == (f"{PREFIX}-app", "$Default")
    assert {"Key": "Role", "Value": "app"} in [{"Key": t["Key"], "Value": t["Value"]} for t in asg["Tags"]]
    policies = aws("autoscaling").describe_policies(AutoScalingGroupName=f"{PREFIX}-app")["ScalingPolicies"]
    assert [p["PolicyType"] for p in policies] == ["TargetTrackingScaling"]
    spec = policies[0]["TargetTrackingConfiguration"]
    assert spec["PredefinedMetricSpecification"]["PredefinedMetricType"] == "ASGAverageCPUUtilization"
    assert spec["TargetValue"] == 50


def test_launch_template_and_instance_role_read_only_their_secret_and_releases(network, aws):
    ec2 = aws("ec2")
    version = ec2.describe_launch_template_versions(LaunchTemplateName=f"{PREFIX}-app", Versions=["$Default"])[
        "LaunchTemplateVersions"
    ][0]
    data = version["LaunchTemplateData"]
    assert data["SecurityGroupIds"] == [network["groups"]["app"]["GroupId"]]
    assert data["MetadataOptions"]["HttpTokens"] == "required"
    profile = data["IamInstanceProfile"]
    assert profile.get("Name") == f"{PREFIX}-app" or profile["Arn"].endswith(f":instance-profile/{PREFIX}-app")
    # No release deployed yet: deploy.yml writes the user data that installs one
    # (tests/infra/test_deploy_lab.py boots a host from it).
    assert version["VersionDescription"] == "no release yet"
    assert "no release deployed yet; run playbooks/deploy.yml" in base64.b64decode(data["UserData"]).decode()
    assert aws("logs").describe_log_groups(logGroupNamePrefix=f"/{PREFIX}/app")["logGroups"]

    iam = aws("iam")
    account = aws("sts").get_caller_identity()["Account"]
    runtime = iam.get_role_policy(RoleName=f"{PREFIX}-app", PolicyName="app-runtime")["PolicyDocument"]
    secrets = [st["Resource"] for st in runtime["Statement"] if st["Action"] == ["secretsmanager:GetSecretValue"]]
    # The service's own role only; the master secret stays with the operators and the proxy.
    assert secrets == [[f"arn:aws:secretsmanager:us-east-1:{account}:secret:{PREFIX}/db-app-*"]]
    releases = iam.get_role_policy(RoleName=f"{PREFIX}-app", PolicyName="read-releases")["PolicyDocument"]
    assert releases["Statement"] == [{"Effect": "Allow", "Action": ["s3:GetObject"],
                                      "Resource": [f"arn:aws:s3:::{PREFIX}-releases/releases/*"]}]
    s3 = aws("s3")
    assert s3.get_public_access_block(Bucket=f"{PREFIX}-releases")["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}
    rule = s3.get_bucket_encryption(Bucket=f"{PREFIX}-releases")["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"


def test_profile_image_bucket_is_private_encrypted_and_open_to_the_client_origins(provisioned, aws):
    s3 = aws("s3")
    assert s3.get_public_access_block(Bucket=IMAGE_BUCKET)["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True,
    }
    rules = s3.get_bucket_encryption(Bucket=IMAGE_BUCKET)["ServerSideEncryptionConfiguration"]["Rules"]
    assert [r["ApplyServerSideEncryptionByDefault"] for r in rules] == [{"SSEAlgorithm": "AES256"}]
    ownership = s3.get_bucket_ownership_controls(Bucket=IMAGE_BUCKET)["OwnershipControls"]["Rules"]
    assert ownership == [{"ObjectOwnership": "BucketOwnerPreferred"}]
    assert s3.get_bucket_cors(Bucket=IMAGE_BUCKET)["CORSRules"] == [{
        "AllowedOrigins": CLIENT_ORIGINS,
        "AllowedMethods": ["GET", "PUT"],
        "AllowedHeaders": ["content-type", "x-amz-acl"],
        "ExposeHeaders": ["ETag"],
        "MaxAgeSeconds": 3000,
    }]
    # No bucket policy: the bucket grants nothing beyond its account's IAM policies.
    with pytest.raises(s3.exceptions.ClientError) as no_policy:
        s3.get_bucket_policy(Bucket=IMAGE_BUCKET)
    assert no_policy.value.response["Error"]["Code"] == "NoSuchBucketPolicy"
    tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=IMAGE_BUCKET)["TagSet"]}
    assert (tags["Environment"], tags["Layer"]) == ("staging", "app")
    # The instances' service is configured with this bucket (release.env, written by deploy.yml
    # and by the launch template's user data after each deploy).
    role_app = (ROOT / "inventories" / "staging" / "group_vars" / "role_app.yml").read_text()
    assert '\nservice_profile_image_bucket_name: "{{ profile_image_bucket_name }}"\n' in role_app


def test_instance_role_may_only_get_put_and_delete_profile_image_keys(provisioned, aws):
    iam = aws("iam")
    # read-releases: the release artifacts (test_launch_template_and_instance_role_read_only_...).
    assert sorted(iam.list_role_policies(RoleName=f"{PREFIX}-app")["PolicyNames"]) == [
        "app-runtime", "profile-images", "read-releases"]
    document = iam.get_role_policy(RoleName=f"{PREFIX}-app", PolicyName="profile-images")["PolicyDocument"]
    resource = f"arn:aws:s3:::{IMAGE_BUCKET}/*/profile_image.*"
    assert document == {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject", "s3:PutObjectAcl", "s3:DeleteObject"],
            "Resource": [resource],
        }],
    }
    # IAM's * spans '/', as fnmatch's does: the pattern covers every key the service builds,
    # and no other key of the bucket and no other bucket.
    object_arn = f"arn:aws:s3:::{IMAGE_BUCKET}/{{}}".format
    for ext in ("png", "jpeg", "jpg"):
        assert fnmatch.fnmatchcase(object_arn(ProfileImageStore.key("us-east-1:4f2a-9c", ext)), resource)
    for key in ("exports/users.csv", "u1/other.png", "profile_image.png"):
        assert not fnmatch.fnmatchcase(object_arn(key), resource)
    assert not fnmatch.fnmatchcase(f"arn:aws:s3:::{PREFIX}-releases/u1/profile_image.png", resource)


def test_service_presigned_urls_work_against_the_image_bucket(provisioned, lab, aws, monkeypatch):
    # The store signs with the default credential chain, as on an instance with its role.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    store = ProfileImageStore(IMAGE_BUCKET, "us-east-1", lab.endpoint)
    s3 = aws("s3")
    upload = store.upload_url("u-infra", "png")
    headers = {"Content-Type": "image/png", "x-amz-acl": "private"}
    assert signature_matches("PUT", upload, headers, "testing")
    assert not signature_matches("PUT", upload, {**headers, "x-amz-acl": "public-read"}, "testing")
    put = requests.put(upload, data=b"\x89PNG infra", headers={**headers, "Origin": CLIENT_ORIGINS[0]}, timeout=10)
    assert put.status_code == 200, put.text
    head = s3.head_object(Bucket=IMAGE_BUCKET, Key="u-infra/profile_image.png")
    assert (head["ContentType"], head["ServerSideEncryption"]) == ("image/png", "AES256")

    download = store.download_url("u-infra", "png")
    assert signature_matches("GET", download, {}, "testing")
    got = requests.get(download, timeout=10)
    assert (got.status_code, got.content) == (200, b"\x89PNG infra")

    store.delete("u-infra", "png")
    assert s3.list_objects_v2(Bucket=IMAGE_BUCKET).get("KeyCount") == 0


def user_data_of_latest_template(aws) -> str:
    version = aws("ec2").describe_launch_template_versions(LaunchTemplateName=f"{PREFIX}-app", Versions=["$Latest"])[
        "LaunchTemplateVersions"
    ][0]["LaunchTemplateData"]
    return base64.b64decode(version["UserData"]).decode()


def test_instances_ship_the_json_access_log_to_the_log_group_only(provisioned, aws):
    group = f"/{PREFIX}/app"
    groups = aws("logs").describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert [(g["logGroupName"], g["retentionInDays"]) for g in groups] == [(group, 30)]

    assert_ships_the_access_log(user_data_of_latest_template(aws), group)
    # The service's access lines are what the filter lets through.
    import logging

    from service.observability import JsonFormatter

    line = JsonFormatter().format(logging.LogRecord("pagenow.access", logging.INFO, __file__, 1, "request", None, None))
    assert line.startswith('{"ts":')

    # The instance role writes log events to this group and to no other.
    document = aws("iam").get_role_policy(RoleName=f"{PREFIX}-app", PolicyName="app-runtime")["PolicyDocument"]
    log_statements = [st for st in document["Statement"] if any(a.startswith("logs:") for a in st["Action"])]
    assert log_statements == [{
        "Effect": "Allow",
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": [f"arn:aws:logs:us-east-1:123456789012:log-group:{group}:*"],
    }]


@pytest.fixture(scope="module")
def monitored(provisioned, aws):
    elb = aws("elbv2")
    lb = elb.describe_load_balancers(Names=[f"{PREFIX}-alb"])["LoadBalancers"][0]
    tg = elb.describe_target_groups(Names=[f"{PREFIX}-app"])["TargetGroups"][0]
    topic = f"arn:aws:sns:us-east-1:123456789012:{PREFIX}-alarms"
    alarms = {a["AlarmName"].removeprefix(f"{PREFIX}-"): a
              for a in aws("cloudwatch").describe_alarms(AlarmNamePrefix=PREFIX)["MetricAlarms"]}
    return {
        "lb": lb, "topic": topic, "alarms": alarms,
        "lb_dimension": lb["LoadBalancerArn"].split(":loadbalancer/")[1],
        "tg_dimension": tg["TargetGroupArn"].split(":")[-1],
    }


def test_alarm_topic_notifies_the_inventory_subscribers(monitored, aws):
    sns = aws("sns")
    assert monitored["topic"] in [t["TopicArn"] for t in sns.list_topics()["Topics"]]
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=monitored["topic"])["Subscriptions"]
    # inventories/staging/group_vars/all/vars.yml: alarm_subscribers
    assert [(s["Protocol"], s["Endpoint"]) for s in subscriptions] == [("email", "oncall-staging@pagenow.example")]
    attributes = sns.get_topic_attributes(TopicArn=monitored["topic"])["Attributes"]
    assert attributes["DisplayName"] == "PageNow alarms"


def alarm_settings(alarm):
    return {key: alarm.get(key) for key in (
        "Namespace", "MetricName", "Statistic", "ExtendedStatistic", "Period", "EvaluationPeriods",
        "ComparisonOperator", "Threshold", "TreatMissingData", "Unit",
    )}


def test_alarms_on_load_balancer_targets_and_aurora(monitored):
    alarms, topic = monitored["alarms"], monitored["topic"]
    assert sorted(alarms) == ["alb-5xx-rate", "aurora-connections", "aurora-cpu", "target-p99-latency", "unhealthy-hosts"]
    for alarm in alarms.values():
        assert (alarm["AlarmActions"], alarm["OKActions"], alarm["ActionsEnabled"]) == ([topic], [topic], True)
    lb_dim = [{"Name": "LoadBalancer", "Value": monitored["lb_dimension"]}]
    cluster_dim = [{"Name": "DBClusterIdentifier", "Value": f"{PREFIX}-aurora"}]

    rate = alarms["alb-5xx-rate"]
    assert (rate["ComparisonOperator"], rate["Threshold"], rate["EvaluationPeriods"], rate["TreatMissingData"]) == (
        "GreaterThanThreshold", 5.0, 5, "notBreaching")
    queries = {q["Id"]: q for q in rate["Metrics"]}
    assert queries["rate"]["Expression"] == "100 * (FILL(elb5xx, 0) + FILL(target5xx, 0)) / requests"
    assert queries["rate"]["ReturnData"] is True
    for query_id, metric in (("elb5xx", "HTTPCode_ELB_5XX_Count"), ("target5xx", "HTTPCode_Target_5XX_Count"),
                             ("requests", "RequestCount")):
        stat = queries[query_id]["MetricStat"]
        assert (stat["Metric"]["Namespace"], stat["Metric"]["MetricName"], stat["Metric"]["Dimensions"]) == (
            "AWS/ApplicationELB", metric, lb_dim)
        assert (stat["Period"], stat["Stat"], queries[query_id]["ReturnData"]) == (60, "Sum", False)

    assert alarm_settings(alarms["target-p99-latency"]) == {
        "Namespace": "AWS/ApplicationELB", "MetricName": "TargetResponseTime", "Statistic": None,
        "ExtendedStatistic": "p99", "Period": 60, "EvaluationPeriods": 5, "ComparisonOperator": "GreaterThanThreshold",
        "Threshold": 1.5, "TreatMissingData": "notBreaching", "Unit": "Seconds",
    }
    assert alarms["target-p99-latency"]["Dimensions"] == lb_dim
    assert alarms["target-p99-latency"]["EvaluateLowSampleCountPercentile"] == "ignore"
    assert alarm_settings(alarms["unhealthy-hosts"]) == {
        "Namespace": "AWS/ApplicationELB", "MetricName": "UnHealthyHostCount", "Statistic": "Maximum",
        "ExtendedStatistic": None, "Period": 60, "EvaluationPeriods": 5, "ComparisonOperator": "GreaterThanThreshold",
        "Threshold": 0.0, "TreatMissingData": "notBreaching", "Unit": None,
    }
    assert sorted(alarms["unhealthy-hosts"]["Dimensions"], key=lambda d: d["Name"]) == lb_dim + [
        {"Name": "TargetGroup", "Value": monitored["tg_dimension"]}]
    assert alarm_settings(alarms["aurora-cpu"]) == {
        "Namespace": "AWS/RDS", "MetricName": "CPUUtilization", "Statistic": "Maximum", "ExtendedStatistic": None,
        "Period": 60, "EvaluationPeriods": 5, "ComparisonOperator": "GreaterThanThreshold", "Threshold": 80.0,
        "TreatMissingData": "breaching", "Unit": "Percent",
    }
    assert alarms["aurora-cpu"]["Dimensions"] == cluster_dim
    assert alarm_settings(alarms["aurora-connections"]) == {
        "Namespace": "AWS/RDS", "MetricName": "DatabaseConnections", "Statistic": "Maximum", "ExtendedStatistic": None,
        "Period": 60, "EvaluationPeriods": 5, "ComparisonOperator": "GreaterThanThreshold",
        # inventories/staging/group_vars/all/vars.yml: alarm_db_connections
        "Threshold": 300.0, "TreatMissingData": "breaching", "Unit": "Count",
    }
    assert alarms["aurora-connections"]["Dimensions"] == cluster_dim


def test_web_acl_rate_limits_each_client_ip_in_front_of_the_load_balancer(monitored, aws):
    waf = aws("wafv2")
    acl_for_lb = waf.get_web_acl_for_resource(ResourceArn=monitored["lb"]["LoadBalancerArn"])["WebACL"]
    assert acl_for_lb["Name"] == f"{PREFIX}-web"
    summary = next(a for a in waf.list_web_acls(Scope="REGIONAL")["WebACLs"] if a["Name"] == f"{PREFIX}-web")
    acl = waf.get_web_acl(Name=f"{PREFIX}-web", Scope="REGIONAL", Id=summary["Id"])["WebACL"]
    assert acl["ARN"] == acl_for_lb["ARN"]
    assert acl["DefaultAction"] == {"Allow": {}}
    assert acl["VisibilityConfig"] == {
        "SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": f"{PREFIX}-web"}
    assert acl["Rules"] == [{
        "Name": "per-client-ip-rate",
        "Priority": 0,
        "Action": {"Block": {}},
        # inventories/staging/group_vars/all/vars.yml: waf_rate_limit_per_ip
        "Statement": {"RateBasedStatement": {"Limit": 2000, "AggregateKeyType": "IP"}},
        "VisibilityConfig": {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True,
                             "MetricName": f"{PREFIX}-web-per-client-ip-rate"},
    }]
    assert waf.list_resources_for_web_acl(WebACLArn=acl["ARN"])["ResourceArns"] == [monitored["lb"]["LoadBalancerArn"]]


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


def test_https_listener_redirect_and_tls_policy(provisioned, lab, aws):
    """The same load balancer with a certificate (as production runs it): 443 serves HTTPS with
    TLS 1.2+ only and keeps /metrics private, 80 only redirects; a re-run changes nothing."""
    cert = aws("acm").request_certificate(DomainName="api.pagenow.example")["CertificateArn"]
    # Autoscaling moved the group to one instance: provisioning leaves that alone.
    autoscaling = aws("autoscaling")
    autoscaling.set_desired_capacity(AutoScalingGroupName=f"{PREFIX}-app", DesiredCapacity=1)
    https = ["--limit", "localhost", "-e", f"app_certificate_arn={cert}", "-e", "app_allow_plain_http=false"]
    first = lab.playbook("app.yml", *https)
    again = lab.playbook("app.yml", *https)
    assert first.changed > 0 and first.failed == 0
    assert (again.changed, again.failed) == (0, 0), again.changed_tasks()
    elb = aws("elbv2")
    lb = elb.describe_load_balancers(Names=[f"{PREFIX}-alb"])["LoadBalancers"][0]
    tg = elb.describe_target_groups(Names=[f"{PREFIX}-app"])["TargetGroups"][0]
    listeners = {li["Port"]: li for li in elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]}
    assert sorted(listeners) == [80, 443]
    plain, tls = listeners[80], listeners[443]
    assert plain["Protocol"] == "HTTP"
    assert [(a["Type"], a["RedirectConfig"]["Protocol"], a["RedirectConfig"]["Port"], a["RedirectConfig"]["StatusCode"])
            for a in plain["DefaultActions"]] == [("redirect", "HTTPS", "443", "HTTP_301")]
    assert listener_rules(elb, plain) == []
    assert (tls["Protocol"], tls["SslPolicy"]) == ("HTTPS", "ELBSecurityPolicy-TLS13-1-2-2021-06")
    assert [c["CertificateArn"] for c in tls["Certificates"]] == [cert]
    assert [(a["Type"], a["TargetGroupArn"]) for a in tls["DefaultActions"]] == [("forward", tg["TargetGroupArn"])]
    assert listener_rules(elb, tls) == [("1", METRICS_RULE["Conditions"], METRICS_RULE["Actions"])]
    asg = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[f"{PREFIX}-app"])["AutoScalingGroups"][0]
    assert asg["DesiredCapacity"] == 1


def test_teardown_removes_everything_and_then_changes_nothing(provisioned, lab, aws):
    first = lab.playbook("teardown.yml", "-e", "confirm_teardown=staging")
    second = lab.playbook("teardown.yml", "-e", "confirm_teardown=staging")
    print(f"\nteardown: {first.recap} ({first.seconds:.0f}s)\nre-teardown: {second.recap} ({second.seconds:.0f}s)")
    print("teardown removed (tasks that changed):\n  " + "\n  ".join(first.changed_tasks()))
    assert first.changed > 0 and first.failed == 0
    assert (second.changed, second.failed) == (0, 0), second.changed_tasks()

    ec2 = aws("ec2")
    assert [v for v in ec2.describe_vpcs()["Vpcs"] if not v["IsDefault"]] == []
    live = ec2.describe_instances(Filters=[{"Name": "instance-state-name", "Values": ["pending", "running", "stopped"]}])
    assert live["Reservations"] == []
    assert [n for n in ec2.describe_nat_gateways()["NatGateways"] if n["State"] != "deleted"] == []
    assert [e for e in ec2.describe_vpc_endpoints()["VpcEndpoints"] if e["State"] != "deleted"] == []
    assert ec2.describe_addresses()["Addresses"] == []
    assert ec2.describe_key_pairs()["KeyPairs"] == []
    assert ec2.describe_launch_templates()["LaunchTemplates"] == []
    rds = aws("rds")
    assert rds.describe_db_clusters()["DBClusters"] == []
    assert rds.describe_db_instances()["DBInstances"] == []
    assert rds.describe_db_proxies()["DBProxies"] == []
    assert [g for g in rds.describe_db_subnet_groups()["DBSubnetGroups"] if g["DBSubnetGroupName"] != "default"] == []
    assert aws("secretsmanager").list_secrets()["SecretList"] == []
    assert aws("s3").list_buckets()["Buckets"] == []
    assert aws("cloudwatch").describe_alarms()["MetricAlarms"] == []
    assert aws("sns").list_topics()["Topics"] == []
    assert aws("sns").list_subscriptions()["Subscriptions"] == []
    assert aws("wafv2").list_web_acls(Scope="REGIONAL")["WebACLs"] == []
    assert aws("elbv2").describe_load_balancers()["LoadBalancers"] == []
    assert aws("elbv2").describe_target_groups()["TargetGroups"] == []
    assert aws("autoscaling").describe_auto_scaling_groups()["AutoScalingGroups"] == []
    assert [r for r in aws("iam").list_roles()["Roles"] if r["RoleName"].startswith(PREFIX)] == []
    assert aws("iam").list_instance_profiles()["InstanceProfiles"] == []
    assert aws("logs").describe_log_groups(logGroupNamePrefix=f"/{PREFIX}")["logGroups"] == []
    assert [b["Name"] for b in aws("s3").list_buckets()["Buckets"] if b["Name"].startswith(PREFIX)] == []


def test_teardown_refuses_without_confirmation(lab):
    proc = lab.run(
        [tool("ansible-playbook"), "-i", str(lab.inventory), *lab.vault_args(), str(ROOT / "playbooks" / "teardown.yml")],
        check=False,
    )
    assert proc.returncode != 0
    assert "pass -e confirm_teardown=staging" in proc.stdout
