#!/usr/bin/python
# -*- coding: utf-8 -*-
# Project module (playbooks/library): see DOCUMENTATION.

DOCUMENTATION = r"""
---
module: launch_template_release
short_description: Make a launch template's default version boot a given user data
description:
  - Compares the user data and description of the template's default version with the given
    ones. When they differ, creates a version from the default one with only the user data and
    description replaced, and makes it the default; otherwise changes nothing.
  - Everything else in the template (AMI, instance type, network, profile) stays as the
    provisioning playbook set it.
options:
  name:
    description: Name of the launch template.
    type: str
    required: true
  user_data:
    description: User data, base64-encoded (as the EC2 API takes and returns it).
    type: str
    required: true
  description:
    description: Description of the version (names the release).
    type: str
    required: true
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Boot release 2025.06.1 on every new instance
  launch_template_release:
    name: pagenow-staging-app
    user_data: "{{ lookup('ansible.builtin.template', 'user_data.sh.j2') | b64encode }}"
    description: release 2025.06.1
"""

RETURN = r"""
version:
  description: Number of the default version after the call.
  returned: always
  type: int
"""

from ansible.module_utils.pagenow_aws import AWS_ERRORS, aws_module


def main():
    module, client = aws_module("ec2", dict(
        name=dict(type="str", required=True),
        user_data=dict(type="str", required=True),
        description=dict(type="str", required=True),
    ))
    name, user_data, description = (module.params[k] for k in ("name", "user_data", "description"))
    try:
        default = client.describe_launch_template_versions(
            aws_retry=True, LaunchTemplateName=name, Versions=["$Default"]
        )["LaunchTemplateVersions"][0]
    except AWS_ERRORS as e:
        module.fail_json_aws(e, msg=f"Unable to read the default version of launch template {name}")
    if default["LaunchTemplateData"].get("UserData") == user_data and default.get("VersionDescription") == description:
        module.exit_json(changed=False, version=default["VersionNumber"])
    if module.check_mode:
        module.exit_json(changed=True, version=default["VersionNumber"])
    try:
        created = client.create_launch_template_version(
            aws_retry=True,
            LaunchTemplateName=name,
            SourceVersion=str(default["VersionNumber"]),
            VersionDescription=description,
            LaunchTemplateData={"UserData": user_data},
        )["LaunchTemplateVersion"]
        client.modify_launch_template(
            aws_retry=True, LaunchTemplateName=name, DefaultVersion=str(created["VersionNumber"])
        )
    except AWS_ERRORS as e:
        module.fail_json_aws(e, msg=f"Unable to create a version of launch template {name}")
    module.exit_json(changed=True, version=created["VersionNumber"])


if __name__ == "__main__":
    main()
