#!/usr/bin/python
# -*- coding: utf-8 -*-
# Read-only companion of rds_proxy: later layers look the proxy endpoint up by name.

DOCUMENTATION = r"""
---
module: rds_proxy_info
short_description: Describe an RDS Proxy by name
description:
  - Returns the proxy and the targets of its default target group; an empty result when it does not exist.
options:
  name:
    description: Name of the proxy.
    type: str
    required: true
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Find the proxy endpoint
  rds_proxy_info:
    name: pagenow-staging-proxy
  register: proxy_info
"""

RETURN = r"""
proxy:
  description: The proxy (snake_case keys); empty when it does not exist.
  returned: always
  type: dict
targets:
  description: Targets of the default target group.
  returned: always
  type: list
  elements: dict
"""

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible.module_utils.pagenow_aws import AWS_ERRORS, aws_module

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code


def main():
    module, client = aws_module("rds", dict(name=dict(type="str", required=True)))
    name = module.params["name"]
    try:
        proxy = client.describe_db_proxies(aws_retry=True, DBProxyName=name)["DBProxies"][0]
        targets = client.describe_db_proxy_targets(aws_retry=True, DBProxyName=name)["Targets"]
    except is_boto3_error_code("DBProxyNotFoundFault"):
        module.exit_json(changed=False, proxy={}, targets=[])
    except AWS_ERRORS as e:  # pylint: disable=duplicate-except
        module.fail_json_aws(e, msg=f"Unable to describe proxy {name}")
    module.exit_json(
        changed=False,
        proxy=camel_dict_to_snake_dict(proxy),
        targets=[camel_dict_to_snake_dict(t) for t in targets],
    )


if __name__ == "__main__":
    main()
