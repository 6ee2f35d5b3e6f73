"""The shipped IAM policies are enough, and no more than enough, with IAM enforced by the emulator."""

import json
import os
import sys
import urllib.request

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
COLLECTION = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "harness"))

from emulator import Emulator  # noqa: E402  pylint: disable=wrong-import-position
from findings import seed_findings  # noqa: E402  pylint: disable=wrong-import-position
from seed import seed  # noqa: E402  pylint: disable=wrong-import-position

ACCOUNT = "777777777777"
# A member account whose roles come from the shipped CloudFormation template, assumed from ACCOUNT.
MEMBER = "888888888888"
# An account of its own for the cryptoperiod, whose keys are aged: the other tests never see them.
AGED = "666666666666"
CONTROLLER_USER = "keyguard-awx"
# One emulator with IAM enforced, whose keys each test leaves for the next: keep them on one worker, in order.
pytestmark = pytest.mark.xdist_group("iam-enforced")
KINDS = ["symmetric_off", "symmetric_on_730", "pending_off", "asymmetric_rsa", "disabled_off", "mr_primary"]
NEVER_NEEDED = {"kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:PutKeyPolicy", "kms:DisableKeyRotation",
                "securityhub:BatchImportFindings", "securityhub:UpdateFindings"}
SECURITY_HUB_STATEMENTS = ("KeyguardSecurityHubRead", "KeyguardSecurityHubFindings")


def policy(name):
    if name == "remediate-kms-only":
        document = policy("remediate")
        document["Statement"] = [s for s in document["Statement"] if s["Sid"] not in SECURITY_HUB_STATEMENTS]
        return document
    with open(os.path.join(COLLECTION, "policies", "keyguard-kms-%s.json" % name), encoding="utf-8") as handle:
        return json.load(handle)


def actions(document):
    return set(action for statement in document["Statement"] for action in statement["Action"])


@pytest.fixture(scope="module")
def enforced():
    """An emulator of its own (IAM enforcement is global), seeded, with a user per shipped policy."""
    emulator = Emulator.start()
    iam = emulator.boto3_client("iam", ACCOUNT)
    credentials = {}
    for name in ("readonly", "remediate", "remediate-kms-only"):
        user = "keyguard-%s" % name
        iam.create_user(UserName=user)
        iam.put_user_policy(UserName=user, PolicyName=user, PolicyDocument=json.dumps(policy(name)))
        key = iam.create_access_key(UserName=user)["AccessKey"]
        credentials[name] = (key["AccessKeyId"], key["SecretAccessKey"])
    clients = {region: emulator.client(ACCOUNT, region) for region in ("us-east-1", "us-west-2")}
    seed_findings(emulator, ACCOUNT, seed(clients, "us-east-1", kinds=KINDS))
    credentials["controller"] = deploy_member_roles(emulator, iam)
    aged_iam = emulator.boto3_client("iam", AGED)
    for name in ("readonly", "remediate"):
        aged_iam.create_user(UserName="keyguard-%s" % name)
        aged_iam.put_user_policy(UserName="keyguard-%s" % name, PolicyName=name, PolicyDocument=json.dumps(policy(name)))
        key = aged_iam.create_access_key(UserName="keyguard-%s" % name)["AccessKey"]
        credentials["aged-" + name] = (key["AccessKeyId"], key["SecretAccessKey"])
    aged_clients = {region: emulator.client(AGED, region) for region in ("us-east-1", "us-west-2")}
    credentials["aged-keys"] = [key["key_id"] for key in seed(aged_clients, "us-east-1", kinds=[
        "symmetric_on_365", "symmetric_on_180", "mr_primary"])]
    for key_id in credentials["aged-keys"]:
        emulator.set_key_material(AGED, "us-east-1", key_id, created_days_ago=1000)
    request = urllib.request.Request(emulator.url + "/moto-api/reset-auth", data=b"0", method="POST",
                                     headers={"Content-Type": "text/plain"})
    urllib.request.urlopen(request, timeout=10).close()
    yield emulator, credentials
    emulator.stop()


def deploy_member_roles(emulator, iam):
    """The member template deployed twice in MEMBER (report and remediate, as a StackSet would), its keys
    seeded, and the controller's user in ACCOUNT with policies/keyguard-kms-controller.json alone."""
    with open(os.path.join(COLLECTION, "deploy", "cloudformation", "member-role.yaml"), encoding="utf-8") as handle:
        body = handle.read()
    cloudformation = emulator.boto3_client("cloudformation", MEMBER)
    principal = "arn:aws:iam::%s:user/%s" % (ACCOUNT, CONTROLLER_USER)
    for role, mode in (("keyguard-kms-report", "report"), ("keyguard-kms", "remediate")):
        cloudformation.create_stack(StackName=role, TemplateBody=body, Capabilities=["CAPABILITY_NAMED_IAM"],
                                    Parameters=[{"ParameterKey": "RoleName", "ParameterValue": role},
                                                {"ParameterKey": "TrustedPrincipalArn", "ParameterValue": principal},
                                                {"ParameterKey": "ExternalId", "ParameterValue": "keyguard-xid"},
                                                {"ParameterKey": "Mode", "ParameterValue": mode}])
        assert cloudformation.describe_stacks(StackName=role)["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    seed({region: emulator.client(MEMBER, region) for region in ("us-east-1", "us-west-2")}, "us-east-1",
         kinds=KINDS)
    iam.create_user(UserName=CONTROLLER_USER)
    iam.put_user_policy(UserName=CONTROLLER_USER, PolicyName=CONTROLLER_USER,
                        PolicyDocument=json.dumps(policy("controller")))
    key = iam.create_access_key(UserName=CONTROLLER_USER)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


def target(fleet, emulator, credentials, name, account=ACCOUNT, **variables):
    access_key, secret_key = credentials[name]
    fleet.emulator = emulator
    fleet.add_target("target", account, rotation_aws_access_key=access_key, rotation_aws_secret_key=secret_key,
                     rotation_regions=["us-east-1"], **variables)


def through_member_role(fleet, emulator, credentials, role):
    access_key, secret_key = credentials["controller"]
    fleet.emulator = emulator
    fleet.add_target("member", MEMBER, rotation_aws_access_key=access_key, rotation_aws_secret_key=secret_key,
                     rotation_regions=["us-east-1"], rotation_assume_role_external_id="keyguard-xid",
                     rotation_assume_role_arn="arn:aws:iam::%s:role/%s" % (MEMBER, role))


def test_the_roles_the_member_template_deploys_report_and_remediate_and_nothing_more(enforced, fleet):
    emulator, credentials = enforced
    through_member_role(fleet, emulator, credentials, "keyguard-kms-report")
    code, output = fleet.run("report")
    assert code == 0, output[-3000:]
    assert fleet.report("member")["summary"]["errors"] == 0
    state = emulator.state(MEMBER)
    code, output = fleet.run("remediate")
    assert code != 0 and "Traceback" not in output
    refused = [entry for entry in fleet.report("member")["keys"] if entry["error"]]
    assert refused and all("AccessDenied" in entry["error"] for entry in refused)
    assert emulator.state(MEMBER) == state, "the read-only role changed a key"
    through_member_role(fleet, emulator, credentials, "keyguard-kms")
    code, output = fleet.run("remediate")
    assert code == 0, output[-3000:]
    summary = fleet.report("member")["summary"]
    assert summary["errors"] == 0 and summary["keys_changed"] == 4


def test_policies_never_grant_what_the_collection_must_not_do():
    for name in ("readonly", "remediate"):
        granted = actions(policy(name))
        assert "iam:PassRole" not in granted
        assert not granted & NEVER_NEEDED
        assert all(action.split(":")[0] in ("kms", "securityhub") and "*" not in action for action in granted)
        # Security Hub's actions sit in a statement of their own, to drop when findings are not used.
        for statement in policy(name)["Statement"]:
            services = set(action.split(":")[0] for action in statement["Action"])
            assert len(services) == 1 and (services == {"securityhub"}) is (statement["Sid"] in SECURITY_HUB_STATEMENTS)
    assert actions(policy("readonly")) < actions(policy("remediate"))


def test_report_playbook_with_the_read_only_policy(enforced, fleet):
    emulator, credentials = enforced
    target(fleet, emulator, credentials, "readonly")
    code, output = fleet.run("report")
    assert code == 0, output[-3000:]
    report = fleet.report("target")
    assert report["summary"]["errors"] == 0 and report["summary"]["total"] == len(KINDS)
    code, output = fleet.run("remediate", check=True)
    assert code == 0, output[-3000:]


def test_remediate_with_the_read_only_policy_fails_cleanly_per_key(enforced, fleet):
    emulator, credentials = enforced
    target(fleet, emulator, credentials, "readonly")
    code, output = fleet.run("remediate")
    assert code != 0 and "Traceback" not in output
    report = fleet.report("target")
    failed = [entry for entry in report["keys"] if entry["error"]]
    assert failed and all("AccessDenied" in entry["error"] for entry in failed)
    assert {entry["phase"] for entry in failed} == {"KMS.3", "KMS.4"}
    assert all(entry["after"]["compliance"] in ("ERROR", "NOT_APPLICABLE", "NON_COMPLIANT", "COMPLIANT")
               for entry in report["keys"])


def test_remediate_with_the_remediate_policy(enforced, fleet):
    emulator, credentials = enforced
    target(fleet, emulator, credentials, "remediate")
    code, output = fleet.run("remediate")
    assert code == 0, output[-3000:]
    report = fleet.report("target")
    # Whatever ran before it on this emulator: every key ends as a remediation leaves it.
    assert report["summary"]["errors"] == 0
    assert all(entry["after"]["compliance"] in ("COMPLIANT", "NOT_APPLICABLE") or entry["after"]["reason"] ==
               "KEY_DISABLED" for entry in report["keys"]), report["keys"]


def test_security_hub_updates_with_the_remediate_policy(enforced, fleet):
    emulator, credentials = enforced
    target(fleet, emulator, credentials, "remediate", rotation_securityhub_update=True, rotation_scope="findings")
    code, output = fleet.run("remediate")
    assert code == 0, output[-3000:]
    updates = [entry["update"] for entry in fleet.report("target")["findings"]]
    assert updates and set(updates) <= {"updated", "unchanged"}


def test_without_security_hub_actions_and_the_option_off_nothing_changes(enforced, fleet):
    emulator, credentials = enforced
    target(fleet, emulator, credentials, "remediate-kms-only")
    since = len(emulator.recorded_requests(ACCOUNT))
    code, output = fleet.run("remediate")
    assert code == 0, output[-3000:]
    assert [r for r in emulator.recorded_requests(ACCOUNT)[since:] if r["service"] == "securityhub"] == []
    target(fleet, emulator, credentials, "remediate-kms-only", rotation_securityhub_update=True)
    code, output = fleet.run("remediate")
    assert code != 0 and "Security Hub findings could not be read" in output
    assert "grant securityhub:GetFindings" in output


def test_cryptoperiod_needs_rotate_key_on_demand_which_only_the_remediate_policy_grants(enforced, fleet):
    emulator, credentials = enforced
    assert "kms:RotateKeyOnDemand" in actions(policy("remediate"))
    assert "kms:RotateKeyOnDemand" not in actions(policy("readonly"))
    assert "kms:ListKeyRotations" in actions(policy("readonly"))
    aged = credentials["aged-keys"]
    variables = {"rotation_max_key_material_age_days": 365}
    target(fleet, emulator, credentials, "aged-readonly", AGED, **variables)
    code, output = fleet.run("report")
    assert code == 0, output[-3000:]
    # Too old whatever else is wrong with them (the primary's rotation is off: it says ROTATION_DISABLED first).
    too_old = [entry for entry in fleet.report("target")["keys"] if "older than the 365 days allowed" in entry["message"]]
    assert sorted(entry["key_id"] for entry in too_old) == sorted(aged)
    code, output = fleet.run("remediate")
    assert code != 0 and "Traceback" not in output
    refused = [entry for entry in fleet.report("target")["keys"] if entry["error"]]
    assert sorted(entry["key_id"] for entry in refused) == sorted(aged)
    assert all("AccessDenied" in entry["error"] and entry["phase"] == "KMS.4" for entry in refused)
    target(fleet, emulator, credentials, "aged-remediate", AGED, **variables)
    since = len(emulator.recorded_requests(AGED))
    code, output = fleet.run("remediate")
    assert code == 0, output[-3000:]
    rotated = [r["key_id"] for r in emulator.recorded_requests(AGED)[since:] if r["operation"] == "RotateKeyOnDemand"]
    assert sorted(rotated) == sorted(aged)
