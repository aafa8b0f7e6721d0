# -*- coding: utf-8 -*-
"""What the project's AWS modules (playbooks/library) share: an AnsibleAWSModule, which takes
the amazon.aws connection options (region, endpoint_url, profile, credentials; documented by the
amazon.aws fragments each module extends), and its client of one service, which retries
throttled calls with jittered backoff (pass aws_retry=True to a call).

Modules import it as ansible.module_utils.pagenow_aws (ansible.cfg: module_utils)."""

try:
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:
    BotoCoreError = ClientError = None  # AnsibleAWSModule reports the missing dependency

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

# What a boto3 call raises on an AWS or connection error (for module.fail_json_aws).
AWS_ERRORS = (ClientError, BotoCoreError) if ClientError is not None else ()


def aws_module(service, argument_spec, **module_options):
    """The module (check mode supported) and its retrying client of `service` ("ec2", "rds")."""
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True, **module_options)
    return module, module.client(service, retry_decorator=AWSRetry.jittered_backoff())
