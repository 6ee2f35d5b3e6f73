"""Plans that are approved, then applied exactly: keyguard.kms.report writes them, remediate applies only them."""

import datetime
import hashlib
import json
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "harness"))

from seed import seed  # noqa: E402  pylint: disable=wrong-import-position

KINDS = ["symmetric_off", "symmetric_on_730", "pending_off", "disabled_off", "symmetric_on_365"]
WRITES = {"EnableKeyRotation", "DisableKeyRotation", "CancelKeyDeletion", "EnableKey", "RotateKeyOnDemand"}


def planned_account(emulator, fleet, account, **variables):
    keys = seed({region: emulator.client(account, region) for region in fleet.REGIONS}, "us-east-1", kinds=KINDS)
    fleet.add_target("acct", account, rotation_regions=["us-east-1"], **variables)
    code, output = fleet.run("report")
    assert code == 0, output[-3000:]
    return dict((key["kind"], key) for key in keys), json.loads((fleet.report_dir / "acct.plan.json").read_text())


def writes(emulator, account, since):
    return [(r["operation"], r["key_id"]) for r in emulator.recorded_requests(account)[since:] if r["operation"] in WRITES]


def reseal(plan):
    """A plan edited and sealed again, as only someone who means it can: the digest is of the canonical JSON."""
    body = dict((key, value) for key, value in plan.items() if key != "digest")
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return dict(body, digest="sha256:" + hashlib.sha256(text.encode()).hexdigest())


@pytest.mark.slow
def test_a_report_writes_a_plan_and_a_remediation_applies_exactly_it(emulator, fleet, account):
    keys, plan = planned_account(emulator, fleet, account)
    assert plan["kind"] == "keyguard.kms/plan" and plan["run"]["account_id"] == account
    planned = dict((entry["key_arn"], entry) for entry in plan["keys"])
    arns = dict((kind, key["arn"]) for kind, key in keys.items())
    assert set(planned) == {arns["symmetric_off"], arns["symmetric_on_730"], arns["pending_off"]}
    assert [step["operation"] for step in planned[arns["pending_off"]]["steps"]] == [
        "CancelKeyDeletion", "EnableKey", "EnableKeyRotation"]
    assert planned[arns["symmetric_on_730"]]["planned_from"]["rotation_period_days"] == 730
    assert "acct.plan.json" in (fleet.report_dir / "organization.md").read_text()

    # After the approval, before the remediation: one key is fixed by its owner, one breaks.
    client = emulator.client(account, "us-east-1")
    client.enable_key_rotation(KeyId=keys["symmetric_off"]["key_id"], RotationPeriodInDays=200)
    client.disable_key_rotation(KeyId=keys["symmetric_on_365"]["key_id"])
    approved = {"rotation_approved_plan": str(fleet.report_dir)}

    state = emulator.state(account)
    since = len(emulator.recorded_requests(account))
    code, output = fleet.run("remediate", check=True, extra_vars=approved)
    assert code == 0, output[-3000:]
    assert emulator.state(account) == state and writes(emulator, account, since) == []
    predicted = dict((entry["key_arn"], entry) for entry in fleet.report("acct")["keys"])
    assert predicted[arns["symmetric_on_730"]]["actions"] == ["EnableKeyRotation"]

    code, output = fleet.run("remediate", extra_vars=approved)
    assert code == 0, output[-3000:]
    report = fleet.report("acct")
    by_arn = dict((entry["key_arn"], entry) for entry in report["keys"])
    done = writes(emulator, account, since)
    assert sorted(done) == sorted([("EnableKeyRotation", keys["symmetric_on_730"]["key_id"]),
                                   ("CancelKeyDeletion", keys["pending_off"]["key_id"]),
                                   ("EnableKey", keys["pending_off"]["key_id"]),
                                   ("EnableKeyRotation", keys["pending_off"]["key_id"])])
    assert by_arn[arns["symmetric_off"]]["after"]["reason"] == "PLAN_STALE"
    assert "rotation_enabled was false when planned, is true now" in by_arn[arns["symmetric_off"]]["message"]
    assert by_arn[arns["symmetric_on_365"]]["after"]["reason"] == "NOT_IN_PLAN"
    assert {entry["reason"] for entry in report["approved_plan"]["left"]} == {"PLAN_STALE", "NOT_IN_PLAN"}
    assert "Left by the approved plan" in fleet.report("acct", ".md")
    # Without a plan, the remediation plans and acts in one run, as before.
    code, output = fleet.run("remediate")
    assert code == 0, output[-3000:]
    assert ("EnableKeyRotation", keys["symmetric_on_365"]["key_id"]) in writes(emulator, account, since)


def test_a_plan_edited_too_old_or_of_another_is_refused_before_any_write(emulator, fleet, account):
    """One host per case, all in one report run and one remediation run."""
    seed({region: emulator.client(account, region) for region in fleet.REGIONS}, "us-east-1", kinds=KINDS)
    long_ago = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=30)).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    tampering = {
        "edited": (lambda plan: dict(plan, keys=plan["keys"][:1]), "digest does not match"),
        "too_old": (lambda plan: reseal(dict(plan, run=dict(plan["run"], started=long_ago))),
                    "more than rotation_approved_plan_max_age_hours (24)"),
        "other_host": (lambda plan: reseal(dict(plan, run=dict(plan["run"], target="payments-prod"))),
                       "is the plan of payments-prod, not of other_host"),
        "other_account": (lambda plan: reseal(dict(plan, run=dict(plan["run"], account_id="999999999999"))),
                          "plan is of account 999999999999"),
        "other_settings": (lambda plan: reseal(dict(plan, settings=dict(plan["settings"], rotation_period_days=90))),
                           "was made with rotation_period_days=90"),
        # In an AWX workflow the report node's artifacts carry the digest the approver saw: a resealed plan is not it.
        "not_approved": (lambda plan: reseal(dict(plan, keys=plan["keys"][:1])), "is not the plan that was approved"),
    }
    for name in tampering:
        fleet.add_target(name, account, rotation_regions=["us-east-1"])
    fleet.add_target("no_plan", account, rotation_regions=["us-east-1"], rotation_approved_plan_required=True)
    code, output = fleet.run("report")
    assert code == 0, output[-3000:]
    artifacts = {}
    for name, (tamper, _expected) in tampering.items():
        path = fleet.report_dir / ("%s.plan.json" % name)
        plan = json.loads(path.read_text())
        artifacts["keyguard_kms_rotation__" + name] = {"plan_digest": plan["digest"]}
        path.write_text(json.dumps(tamper(plan)))
        fleet.hosts[name]["rotation_approved_plan"] = str(path)
    since = len(emulator.recorded_requests(account))
    code, output = fleet.run("remediate", extra_vars={"keyguard_kms_rotation__not_approved":
                                                      artifacts["keyguard_kms_rotation__not_approved"]})
    assert code != 0 and "Traceback" not in output
    for name, (_tamper, expected) in tampering.items():
        assert expected in output, (name, output[-4000:])
    assert "no rotation_approved_plan is given" in output
    # Only other_account reads anything: without aws_account_id from the inventory, its account is known from
    # the keys discovery read. Nobody writes.
    assert writes(emulator, account, since) == []
    failed = [line for line in output.splitlines() if "failed=1" in line]
    assert len(failed) == len(tampering) + 1, failed


def test_the_plan_published_to_s3_is_applied_from_its_prefix(emulator, fleet, account):
    bucket = "plans-%s" % account  # bucket names are one namespace for every account
    emulator.boto3_client("s3", account).create_bucket(Bucket=bucket)
    variables = {"rotation_report_s3_uri": "s3://%s/keyguard/" % bucket, "rotation_report_s3_region": "us-east-1"}
    keys, _plan = planned_account(emulator, fleet, account, **variables)
    published = [item["Key"] for item in emulator.boto3_client("s3", account).list_objects_v2(
        Bucket=bucket, Prefix="keyguard/acct/")["Contents"]]
    assert any(key.endswith("/acct.plan.json") for key in published)
    since = len(emulator.recorded_requests(account))
    code, output = fleet.run("remediate", extra_vars={"rotation_approved_plan": "s3://%s/keyguard/" % bucket})
    assert code == 0, output[-3000:]
    assert ("CancelKeyDeletion", keys["pending_off"]["key_id"]) in writes(emulator, account, since)
    code, output = fleet.run("report", extra_vars={"rotation_approved_plan": "s3://%s/keyguard/" % bucket})
    assert code != 0 and "applies to keyguard.kms.remediate only" in output
