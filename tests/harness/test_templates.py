# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""policies/*.json are the one source of the permissions: the CloudFormation templates are built from them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TEMPLATES = os.path.join(ROOT, "deploy", "cloudformation")


def load(name):
    with open(os.path.join(TEMPLATES, name), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def policy(name):
    with open(os.path.join(ROOT, "policies", "keyguard-kms-%s.json" % name), encoding="utf-8") as handle:
        return json.load(handle)


def test_the_templates_are_what_the_policies_make():
    script = os.path.join(ROOT, "tests", "harness", "cloudformation.py")
    completed = subprocess.run([sys.executable, script, "--check"], capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stderr


def test_the_member_role_grants_exactly_the_shipped_policies():
    role = load("member-role.yaml")["Resources"]["KeyguardRole"]["Properties"]
    condition, remediate, readonly = role["Policies"][0]["PolicyDocument"]["Fn::If"]
    assert (condition, remediate, readonly) == ("Remediate", policy("remediate"), policy("readonly"))
    trust = role["AssumeRolePolicyDocument"]["Statement"]
    assert len(trust) == 1 and trust[0]["Action"] == "sts:AssumeRole"
    with_id, without_id = trust[0]["Condition"]["Fn::If"][1:]
    assert with_id["ArnEquals"] == without_id["ArnEquals"] == {"aws:PrincipalArn": {"Ref": "TrustedPrincipalArn"}}
    assert with_id["StringEquals"] == {"sts:ExternalId": {"Ref": "ExternalId"}}


def test_the_stackset_deploys_the_member_template_itself():
    with open(os.path.join(TEMPLATES, "member-role.yaml"), encoding="utf-8") as handle:
        member = handle.read()
    stackset = load("member-role-stackset.yaml")["Resources"]["KeyguardMemberRoles"]["Properties"]
    assert stackset["TemplateBody"] == member
    assert stackset["PermissionModel"] == "SERVICE_MANAGED" and stackset["AutoDeployment"]["Enabled"] is True


def test_the_management_policy_is_the_controller_policy_with_its_names_as_parameters():
    template = load("management.yaml")
    document = template["Resources"]["KeyguardControllerPolicy"]["Properties"]["PolicyDocument"]
    defaults = dict((name, spec["Default"]) for name, spec in template["Parameters"].items())
    defaults["AWS::Partition"] = "aws"

    def resolved(value):
        if isinstance(value, dict) and "Fn::Sub" in value:
            text = value["Fn::Sub"]
            for name, default in defaults.items():
                text = text.replace("${%s}" % name, default)
            return text
        if isinstance(value, list):
            return [resolved(item) for item in value]
        if isinstance(value, dict):
            return dict((key, resolved(item)) for key, item in value.items())
        return value

    assert resolved(document) == policy("controller")
    statements = template["Resources"]["ReportBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert {statement["Sid"] for statement in statements} == {"OnlyTls", "OnlyTheReportPrefix"}
    assert all(statement["Effect"] == "Deny" for statement in statements)
