"""keyguard.kms.kms_rotation_info against the rule-enforcing emulator (pages of 7 items)."""

import json
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "harness"))

from seed import create_key, expected_outcome, seed  # noqa: E402  pylint: disable=wrong-import-position

REGIONS = ["us-east-1", "us-west-2"]
TASK = "discover"
DENY_DESCRIBE = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Deny", "Principal": "*", "Action": "kms:DescribeKey", "Resource": "*"}]})


def info_task(**args):
    return [{"name": TASK, "keyguard.kms.kms_rotation_info": args, "register": "discovery", "ignore_errors": True}]


def seed_regions(emulator, account, **kwargs):
    clients = {region: emulator.client(account, region) for region in REGIONS}
    keys = []
    for region in REGIONS:
        keys += seed(clients, region, **kwargs)
    return keys


def test_every_key_of_two_regions_with_its_kms4_verdict(emulator, account, run_playbook):
    keys = seed_regions(emulator, account, copies=2)
    run = run_playbook(account, info_task(regions=REGIONS), check=True)
    result = run.task(TASK)
    assert result["status"] == "ok", run.stdout[-3000:]
    listed = dict(((entry["region"], entry["key_id"]), entry) for entry in result["result"]["kms_keys"])
    customer = [key for key in keys if key["kind"] != "aws_managed"]
    # Replicas share their primary's key ID, in another Region; every key is there exactly once.
    expected_keys = set((key["region"], key["key_id"]) for key in customer)
    expected_keys |= set(("us-west-2" if key["region"] == "us-east-1" else "us-east-1", key["key_id"])
                         for key in customer if key["kind"] == "mr_replica")
    assert set(listed) == expected_keys
    for key in customer:
        entry = listed[(key["region"], key["key_id"])]
        compliance, reason = expected_outcome(key["kind"])[:2]
        assert (entry["compliance"], entry["reason"]) == (compliance, reason), key["kind"]
        assert key["alias"] in entry["aliases"], key["kind"]
        assert entry["key_arn"] == key["arn"] and entry["account_id"] == account
        if key["kind"].startswith("pending_"):
            assert entry["deletion_date"]
        if key["kind"] == "mr_replica":
            assert entry["multi_region_type"] == "REPLICA" and entry["primary_region"] != key["region"]
        if key["kind"] == "symmetric_on_180":
            assert (entry["rotation_enabled"], entry["rotation_period_days"]) == (True, 180)
            assert entry["next_rotation_date"]
    summary = result["result"]["summary"]
    assert summary["total"] == len(listed)
    assert sum(summary["by_compliance"].values()) == len(listed)
    assert sum(region["total"] for region in summary["by_region"].values()) == len(listed)

    requests = emulator.recorded_requests(account)
    aliases_calls = [r for r in requests if r["operation"] == "ListAliases"]
    assert aliases_calls and all(r["key_id"] is None for r in aliases_calls), "aliases are listed per Region"
    pages = [r for r in requests if r["operation"] == "ListKeys"]
    assert len(pages) > len(REGIONS), "keys come in several pages"


def test_filters_tags_and_aws_managed(emulator, account, run_playbook):
    keys = seed_regions(emulator, account, kinds=["symmetric_off", "symmetric_on_730", "aws_managed"])
    clients = {region: emulator.client(account, region) for region in REGIONS}
    tagged = create_key(clients, "us-east-1", "symmetric_on_180", 3, tags={"team": "payments"})
    tasks = [
        {"name": "by reference", "keyguard.kms.kms_rotation_info": {
            "regions": REGIONS, "key_ids": [keys[0]["alias"], keys[1]["arn"], keys[3]["key_id"], "alias/missing"]}},
        {"name": "by tag", "keyguard.kms.kms_rotation_info": {
            "regions": REGIONS, "tag_filters": {"team": ["payments", "data"]}, "tags": True}},
        {"name": "with aws managed", "keyguard.kms.kms_rotation_info": {
            "regions": ["us-east-1"], "include_aws_managed": True, "max_rotation_period_days": 365}},
    ]
    run = run_playbook(account, tasks)
    by_reference = run.task("by reference")["result"]["kms_keys"]
    assert sorted(entry["key_id"] for entry in by_reference) == sorted(
        [keys[0]["key_id"], keys[1]["key_id"], keys[3]["key_id"]])
    by_tag = run.task("by tag")["result"]["kms_keys"]
    assert [entry["key_id"] for entry in by_tag] == [tagged["key_id"]]
    assert by_tag[0]["tags"] == {"kind": "symmetric_on_180", "team": "payments"}
    verdicts = dict((entry["aliases"][0], (entry["compliance"], entry["reason"]))
                    for entry in run.task("with aws managed")["result"]["kms_keys"])
    assert verdicts["alias/aws/ebs"] == ("NOT_APPLICABLE", "AWS_MANAGED")
    assert verdicts["alias/symmetric-on-730-0"] == ("NON_COMPLIANT", "ROTATION_PERIOD_MISMATCH")
    assert verdicts["alias/symmetric-on-180-3"] == ("COMPLIANT", None)


def test_unreadable_key_is_error_never_dropped(emulator, account, run_playbook):
    client = emulator.client(account)
    readable = client.create_key()["KeyMetadata"]["KeyId"]
    locked = client.create_key(Policy=DENY_DESCRIBE)["KeyMetadata"]["KeyId"]
    run = run_playbook(account, info_task())
    result = run.task(TASK)["result"]
    verdicts = dict((entry["key_id"], entry) for entry in result["kms_keys"])
    assert verdicts[readable]["compliance"] == "NON_COMPLIANT"
    assert verdicts[locked]["compliance"] == "ERROR"
    assert verdicts[locked]["reason"] == "AccessDeniedException"
    assert "grant kms:DescribeKey" in verdicts[locked]["message"]
    assert result["summary"]["by_compliance"]["ERROR"] == 1


@pytest.mark.parametrize(
    "args, expected",
    [
        ({"regions": ["us-east-1", "us-moon-1"]}, "unknown Region 'us-moon-1'"),
        ({"regions": ["US_EAST_1"]}, "'US_EAST_1' is not a Region name"),
        ({"rate_limits": {"DescribeKey": 0}}, "DescribeKey must be a number of requests per second of at least 0.1"),
        ({"tag_filters": {"team": {"a": "b"}}}, "tag_filters: the value of tag 'team' must be a string"),
    ],
)
def test_bad_arguments_fail_before_any_call(emulator, account, run_playbook, args, expected):
    run = run_playbook(account, info_task(**args))
    entry = run.task(TASK)
    assert entry["status"] == "failed" and expected in entry["result"]["msg"]
    assert emulator.recorded_requests(account) == []


def test_rotation_evidence_when_the_material_was_last_replaced_and_how(emulator, account, run_playbook):
    client = emulator.client(account)
    rotated = client.create_key()["KeyMetadata"]["KeyId"]
    client.enable_key_rotation(KeyId=rotated)
    client.rotate_key_on_demand(KeyId=rotated)
    never = client.create_key()["KeyMetadata"]["KeyId"]
    run = run_playbook(account, [
        {"name": "evidence", "keyguard.kms.kms_rotation_info": {"key_ids": [rotated, never]}},
        {"name": "without", "keyguard.kms.kms_rotation_info": {"key_ids": [rotated], "evidence": False}}])
    keys = dict((key["key_id"], key) for key in run.task("evidence")["result"]["kms_keys"])
    assert keys[rotated]["last_rotation_type"] == "ON_DEMAND" and keys[rotated]["last_rotation_date"]
    assert keys[rotated]["key_material_age_days"] == 0 and keys[never]["key_material_age_days"] == 0
    assert (keys[never]["last_rotation_date"], keys[never]["last_rotation_type"]) == (None, None)
    assert keys[never]["creation_date"]
    assert run.task("without")["result"]["kms_keys"][0]["key_material_age_days"] is None
    listed = [r for r in emulator.recorded_requests(account) if r["operation"] == "ListKeyRotations"]
    assert len(listed) == 2, "one call a key, only when evidence is asked for"
