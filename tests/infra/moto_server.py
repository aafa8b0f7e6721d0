"""moto_server, with two gaps filled. Same arguments as moto_server.

- AWS reports every load balancer attribute with its default value from creation on, moto 5.2
  leaves some out until they are set (its source says: for Terraform's sake).
  amazon.aws.elb_application_lb reads them while comparing, so against plain moto it fails on a
  key AWS always returns.
- moto 5.2 has no WAFv2 ListResourcesForWebACL, which community.aws.wafv2_resources calls before
  it associates a web ACL with a resource; it is answered here from the associations moto keeps
  (AssociateWebACL, DisassociateWebACL and GetWebACLForResource are moto's own)."""
from __future__ import annotations

import json
import sys

from moto.elbv2 import models
from moto.server import main
from moto.wafv2.exceptions import WAFNonexistentItemException
from moto.wafv2.responses import WAFV2Response

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


def _list_resources_for_web_acl(self):
    """ListResourcesForWebACL as AWS answers it: the ARNs of the resources associated with the ACL."""
    web_acl = self.wafv2_backend.wacls.get(json.loads(self.body)["WebACLArn"])
    if web_acl is None:
        raise WAFNonexistentItemException
    return 200, {"Content-Type": "application/json"}, json.dumps({"ResourceArns": list(web_acl.associated_resources)})


WAFV2Response.list_resources_for_web_acl = _list_resources_for_web_acl

if __name__ == "__main__":
    main(sys.argv[1:])
