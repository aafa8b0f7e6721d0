#!/usr/bin/python
# -*- coding: utf-8 -*-
# Neither amazon.aws nor community.aws ships an RDS Proxy module; this one covers what the
# PageNow topology needs: one proxy in front of one Aurora cluster.

DOCUMENTATION = r"""
---
module: rds_proxy
short_description: Create or delete an RDS Proxy that targets one DB cluster
description:
  - Looks the proxy up by name; creates it when missing, brings the mutable settings in line
    when they differ and registers the DB cluster as the target only when it is not already.
  - Settings fixed at creation (engine family, subnets) are reported in a warning when they differ.
options:
  name:
    description: Name of the proxy.
    type: str
    required: true
  state:
    description: Whether the proxy should exist.
    type: str
    choices: [present, absent]
    default: present
  engine_family:
    description: Protocol family of the target database.
    type: str
    choices: [POSTGRESQL, MYSQL, SQLSERVER]
    default: POSTGRESQL
  role_arn:
    description: IAM role the proxy assumes to read the secret. Required with O(state=present).
    type: str
  secret_arns:
    description:
      - Secrets Manager secrets holding the user names and passwords the proxy may log in with
        (one per database role). Required with O(state=present).
    type: list
    elements: str
  iam_auth:
    description: Whether clients must authenticate with IAM.
    type: str
    choices: [DISABLED, REQUIRED]
    default: DISABLED
  vpc_subnet_ids:
    description: Subnets of the proxy endpoints (at least two zones). Required with O(state=present).
    type: list
    elements: str
  vpc_security_group_ids:
    description: Security groups of the proxy.
    type: list
    elements: str
    default: []
  require_tls:
    description: Refuse client connections without TLS.
    type: bool
    default: true
  idle_client_timeout:
    description: Seconds before an idle client connection is closed.
    type: int
    default: 1800
  debug_logging:
    description: Log SQL statements (may expose data; keep off outside debugging).
    type: bool
    default: false
  db_cluster_identifier:
    description: DB cluster registered as the target of the default target group.
    type: str
  tags:
    description: Tags set when the proxy is created.
    type: dict
    default: {}
  wait:
    description: Wait until the proxy is available (or gone).
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait.
    type: int
    default: 900
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Put a TLS-only proxy in front of the cluster
  rds_proxy:
    name: pagenow-staging-proxy
    role_arn: "{{ proxy_role.iam_role.arn }}"
    secret_arn: "{{ secret.secret.arn }}"
    vpc_subnet_ids: "{{ vpc_private_subnet_ids }}"
    vpc_security_group_ids: ["{{ vpc_sg.proxy }}"]
    db_cluster_identifier: pagenow-staging-aurora
    state: present
"""

RETURN = r"""
proxy:
  description: The proxy as described by RDS (snake_case keys); empty when absent.
  returned: always
  type: dict
  sample: {"db_proxy_name": "pagenow-staging-proxy", "endpoint": "pagenow-staging-proxy.proxy-x.us-east-1.rds.amazonaws.com", "require_tls": true}
targets:
  description: Targets of the default target group.
  returned: when the proxy exists
  type: list
  elements: dict
"""

import time

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible.module_utils.pagenow_aws import AWS_ERRORS, aws_module

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list


def describe_proxy(client, module, name):
    try:
        proxies = client.describe_db_proxies(aws_retry=True, DBProxyName=name)["DBProxies"]
    except is_boto3_error_code("DBProxyNotFoundFault"):
        return None
    except AWS_ERRORS as e:  # pylint: disable=duplicate-except
        module.fail_json_aws(e, msg=f"Unable to describe proxy {name}")
    return proxies[0] if proxies else None


def describe_targets(client, module, name):
    try:
        return client.describe_db_proxy_targets(aws_retry=True, DBProxyName=name)["Targets"]
    except AWS_ERRORS as e:
        module.fail_json_aws(e, msg=f"Unable to describe the targets of proxy {name}")


def wait_for(module, client, name, gone):
    deadline = time.time() + module.params["wait_timeout"]
    while time.time() < deadline:
        proxy = describe_proxy(client, module, name)
        if gone and proxy is None:
            return None
        if not gone and proxy and proxy["Status"] == "available":
            return proxy
        time.sleep(10)
    module.fail_json(msg=f"Timed out waiting for proxy {name}")


def desired_auth(params):
    return [{"AuthScheme": "SECRETS", "SecretArn": arn, "IAMAuth": params["iam_auth"]} for arn in params["secret_arns"]]


def settings_to_modify(proxy, params):
    """Mutable settings whose current value differs from the requested one."""
    changes = {}
    if proxy.get("RequireTLS") != params["require_tls"]:
        changes["RequireTLS"] = params["require_tls"]
    if proxy.get("IdleClientTimeout") != params["idle_client_timeout"]:
        changes["IdleClientTimeout"] = params["idle_client_timeout"]
    if bool(proxy.get("DebugLogging")) != params["debug_logging"]:
        changes["DebugLogging"] = params["debug_logging"]
    if proxy.get("RoleArn") != params["role_arn"]:
        changes["RoleArn"] = params["role_arn"]
    if sorted(proxy.get("VpcSecurityGroupIds") or []) != sorted(params["vpc_security_group_ids"]):
        changes["SecurityGroups"] = params["vpc_security_group_ids"]
    current_auth = sorted((a.get("SecretArn"), a.get("IAMAuth")) for a in proxy.get("Auth") or [])
    if current_auth != sorted((arn, params["iam_auth"]) for arn in params["secret_arns"]):
        changes["Auth"] = desired_auth(params)
    return changes


def ensure_present(module, client):
    params = module.params
    name = params["name"]
    changed = False
    proxy = describe_proxy(client, module, name)

    if proxy is None:
        changed = True
        if module.check_mode:
            module.exit_json(changed=True, proxy={}, targets=[])
        try:
            proxy = client.create_db_proxy(
                aws_retry=True,
                DBProxyName=name,
                EngineFamily=params["engine_family"],
                Auth=desired_auth(params),
                RoleArn=params["role_arn"],
                VpcSubnetIds=params["vpc_subnet_ids"],
                VpcSecurityGroupIds=params["vpc_security_group_ids"],
                RequireTLS=params["require_tls"],
                IdleClientTimeout=params["idle_client_timeout"],
                DebugLogging=params["debug_logging"],
                Tags=ansible_dict_to_boto3_tag_list(params["tags"]),
            )["DBProxy"]
        except AWS_ERRORS as e:
            module.fail_json_aws(e, msg=f"Unable to create proxy {name}")
    else:
        if proxy.get("EngineFamily") != params["engine_family"] or sorted(proxy.get("VpcSubnetIds") or []) != sorted(
            params["vpc_subnet_ids"]
        ):
            module.warn(f"Proxy {name}: engine family and subnets are fixed at creation; delete it to change them.")
        changes = settings_to_modify(proxy, params)
        if changes:
            changed = True
            if not module.check_mode:
                try:
                    proxy = client.modify_db_proxy(aws_retry=True, DBProxyName=name, **changes)["DBProxy"]
                except AWS_ERRORS as e:
                    module.fail_json_aws(e, msg=f"Unable to modify proxy {name}")

    if params["wait"] and not module.check_mode and proxy.get("Status") != "available":
        proxy = wait_for(module, client, name, gone=False)

    targets = describe_targets(client, module, name)
    cluster = params["db_cluster_identifier"]
    if cluster and not any(t.get("RdsResourceId") == cluster for t in targets):
        changed = True
        if not module.check_mode:
            try:
                client.register_db_proxy_targets(
                    aws_retry=True, DBProxyName=name, TargetGroupName="default", DBClusterIdentifiers=[cluster]
                )
            except AWS_ERRORS as e:
                module.fail_json_aws(e, msg=f"Unable to register cluster {cluster} with proxy {name}")
            targets = describe_targets(client, module, name)

    module.exit_json(
        changed=changed,
        proxy=camel_dict_to_snake_dict(proxy),
        targets=[camel_dict_to_snake_dict(t) for t in targets],
    )


def ensure_absent(module, client):
    name = module.params["name"]
    proxy = describe_proxy(client, module, name)
    if proxy is None:
        module.exit_json(changed=False, proxy={})
    if not module.check_mode:
        try:
            client.delete_db_proxy(aws_retry=True, DBProxyName=name)
        except is_boto3_error_code("DBProxyNotFoundFault"):
            module.exit_json(changed=False, proxy={})
        except AWS_ERRORS as e:  # pylint: disable=duplicate-except
            module.fail_json_aws(e, msg=f"Unable to delete proxy {name}")
        if module.params["wait"]:
            wait_for(module, client, name, gone=True)
    module.exit_json(changed=True, proxy={})


def main():
    argument_spec = dict(
        name=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        engine_family=dict(type="str", choices=["POSTGRESQL", "MYSQL", "SQLSERVER"], default="POSTGRESQL"),
        role_arn=dict(type="str"),
        secret_arns=dict(type="list", elements="str", no_log=False),
        iam_auth=dict(type="str", choices=["DISABLED", "REQUIRED"], default="DISABLED"),
        vpc_subnet_ids=dict(type="list", elements="str"),
        vpc_security_group_ids=dict(type="list", elements="str", default=[]),
        require_tls=dict(type="bool", default=True),
        idle_client_timeout=dict(type="int", default=1800),
        debug_logging=dict(type="bool", default=False),
        db_cluster_identifier=dict(type="str"),
        tags=dict(type="dict", default={}),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=900),
    )
    module, client = aws_module(
        "rds", argument_spec, required_if=[("state", "present", ["role_arn", "secret_arns", "vpc_subnet_ids"])]
    )
    if module.params["state"] == "present":
        ensure_present(module, client)
    else:
        ensure_absent(module, client)


if __name__ == "__main__":
    main()
