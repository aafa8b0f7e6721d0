"""moto_server, with one gap filled: AWS reports every load balancer attribute with its
default value from creation on, moto 5.2 leaves some out until they are set (its source says:
for Terraform's sake). amazon.aws.elb_application_lb reads them while comparing, so against
plain moto it fails on a key AWS always returns. Same arguments as moto_server."""
from __future__ import annotations

import sys

from moto.elbv2 import models
from moto.server import main

# Application Load Balancer defaults, as DescribeLoadBalancerAttributes reports them on AWS.
AWS_DEFAULTS = {
    "access_logs.s3.enabled": "false",
    "idle_timeout.timeout_seconds": "60",
    "routing.http.drop_invalid_header_fields.enabled": "false",
    "routing.http2.enabled": "true",
    "routing.http.desync_mitigation_mode": "defensive",
    "routing.http.x_amzn_tls_version_and_cipher_suite.enabled": "false",
    "routing.http.xff_client_port.enabled": "false",
    "waf.fail_open.enabled": "false",
}
_created = models.FakeLoadBalancer.__init__


def _with_aws_defaults(self, *args, **kwargs):
    _created(self, *args, **kwargs)
    if self.type == "application":
        for key, value in AWS_DEFAULTS.items():
            self.attrs.setdefault(key, value)


models.FakeLoadBalancer.__init__ = _with_aws_defaults

if __name__ == "__main__":
    main(sys.argv[1:])
