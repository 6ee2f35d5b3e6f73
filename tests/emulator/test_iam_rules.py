"""The member role's trust policy decides who assumes it, as IAM decides (moto lets anyone in)."""

import json
import os

import boto3
import botocore.exceptions
import pytest
import yaml


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MANAGEMENT, MEMBER = "920000000001", "920000000002"


def client(server, service, access_key, secret="x", token=None):
    return boto3.client(service, endpoint_url=server, region_name="us-east-1", aws_access_key_id=access_key,
                        aws_secret_access_key=secret, aws_session_token=token)


@pytest.fixture(scope="module")
def deployed(server):
    """The member template deployed with an ExternalId, and two users of the management account."""
    with open(os.path.join(ROOT, "deploy", "cloudformation", "member-role.yaml"), encoding="utf-8") as handle:
        body = handle.read()
    iam = client(server, "iam", MANAGEMENT)
    users = {}
    for name in ("keyguard-awx", "somebody-else"):
        iam.create_user(UserName=name)
        key = iam.create_access_key(UserName=name)["AccessKey"]
        users[name] = (key["AccessKeyId"], key["SecretAccessKey"])
    client(server, "cloudformation", MEMBER).create_stack(
        StackName="keyguard-kms", TemplateBody=body, Capabilities=["CAPABILITY_NAMED_IAM"], Parameters=[
            {"ParameterKey": "TrustedPrincipalArn", "ParameterValue": "arn:aws:iam::%s:user/keyguard-awx" % MANAGEMENT},
            {"ParameterKey": "ExternalId", "ParameterValue": "keyguard-xid"}])
    return users


def assume(server, credentials, external_id=None):
    params = {"RoleArn": "arn:aws:iam::%s:role/keyguard-kms" % MEMBER, "RoleSessionName": "keyguard"}
    if external_id:
        params["ExternalId"] = external_id
    return client(server, "sts", *credentials).assume_role(**params)["Credentials"]


def refused(call):
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        call()
    return caught.value.response["Error"]["Code"]


def test_only_the_trusted_principal_with_its_external_id_assumes_the_member_role(server, deployed):
    assert assume(server, deployed["keyguard-awx"], "keyguard-xid")["AccessKeyId"]
    assert refused(lambda: assume(server, deployed["keyguard-awx"])) == "AccessDenied"
    assert refused(lambda: assume(server, deployed["keyguard-awx"], "guessed")) == "AccessDenied"
    assert refused(lambda: assume(server, deployed["somebody-else"], "keyguard-xid")) == "AccessDenied"


def test_the_template_policy_is_stored_as_iam_stores_it(server, deployed):
    document = client(server, "iam", MEMBER).get_role_policy(RoleName="keyguard-kms", PolicyName="keyguard-kms")
    with open(os.path.join(ROOT, "policies", "keyguard-kms-readonly.json"), encoding="utf-8") as handle:
        assert document["PolicyDocument"] == json.load(handle)
    with open(os.path.join(ROOT, "deploy", "cloudformation", "member-role.yaml"), encoding="utf-8") as handle:
        assert yaml.safe_load(handle)["Parameters"]["Mode"]["Default"] == "report"
