"""Plans that are approved, then applied exactly: keyguard.kms.report writes them, remediate applies only them."""

import datetime
import hashlib
import json
import os
import sys

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


def test_a_plan_edited_too_old_or_of_another_is_refused_before_any_write(emulator, fleet, account, tmp_path):
    _keys, plan = planned_account(emulator, fleet, account)
    long_ago = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=30)).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    cases = {
        "edited": dict(plan, keys=plan["keys"][:1]),
        "too-old": reseal(dict(plan, run=dict(plan["run"], started=long_ago))),
        "other-host": reseal(dict(plan, run=dict(plan["run"], target="payments-prod"))),
        "other-account": reseal(dict(plan, run=dict(plan["run"], account_id="999999999999"))),
        "other-settings": reseal(dict(plan, settings=dict(plan["settings"], rotation_period_days=90))),
    }
    expected = {"edited": "digest does not match", "too-old": "more than rotation_approved_plan_max_age_hours (24)",
                "other-host": "is the plan of payments-prod, not of acct",
                "other-account": "plan is of account 999999999999",
                "other-settings": "was made with rotation_period_days=90"}
    # In an AWX workflow the report node's artifacts carry the digest the approver saw: a resealed plan is not it.
    cases["not-the-approved-one"] = reseal(dict(plan, keys=plan["keys"][:1]))
    expected["not-the-approved-one"] = "is not the plan that was approved"
    artifacts = {"keyguard_kms_rotation__acct": {"plan_digest": plan["digest"]}}
    for name, document in cases.items():
        path = tmp_path / ("%s.plan.json" % name)
        path.write_text(json.dumps(document))
        since = len(emulator.recorded_requests(account))
        extra = dict(artifacts if name == "not-the-approved-one" else {}, rotation_approved_plan=str(path))
        code, output = fleet.run("remediate", extra_vars=extra)
        assert code != 0 and expected[name] in output, (name, output[-3000:])
        assert "Traceback" not in output
        if name == "other-account":
            # Without aws_account_id from the inventory, the account is known from the keys discovery read.
            assert writes(emulator, account, since) == []
        else:
            assert emulator.recorded_requests(account)[since:] == [], name
    code, output = fleet.run("remediate", extra_vars={"rotation_approved_plan_required": True})
    assert code != 0 and "no rotation_approved_plan is given" in output


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
