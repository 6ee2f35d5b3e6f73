"""keyguard.kms.kms_rotation against the rule-enforcing emulator, through ansible-playbook."""

import os
import sys
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "harness"))

from seed import KINDS, expected_outcome, seed  # noqa: E402  pylint: disable=wrong-import-position

REGION = "us-east-1"
WRITE_OPERATIONS = {"EnableKeyRotation", "DisableKeyRotation", "CancelKeyDeletion", "EnableKey",
                    "DisableKey", "ScheduleKeyDeletion", "PutKeyPolicy"}
TASK = "enforce rotation"


def clients_for(emulator, account):
    return {region: emulator.client(account, region) for region in ("us-east-1", "us-west-2")}


def rotation_task(**args):
    return [{"name": TASK, "keyguard.kms.kms_rotation": args, "register": "rotation", "ignore_errors": True}]


def writes(requests):
    return [request for request in requests if request["operation"] in WRITE_OPERATIONS]


# Each combination of state and period runs on an account of its own, all of them as tasks of one playbook
# per step: four playbook runs per test instead of four per combination.
COMBINATIONS = [(state, period) for state in ("enabled", "disabled") for period in (None, 730)]


@pytest.mark.slow
@pytest.mark.parametrize("pending_deletion", ["keep", "cancel"])
def test_every_key_kind_check_apply_check_apply(emulator, new_account, run_playbook, pending_deletion):
    cases = []
    for number, (state, period) in enumerate(COMBINATIONS):
        account = new_account()
        keys = seed(clients_for(emulator, account), REGION)
        args = {"key_ids": [key["alias"] for key in keys], "state": state, "pending_deletion": pending_deletion,
                "access_key": account}
        if period:
            args["rotation_period_days"] = period
        cases.append({"task": "%s %s" % (state, period), "account": account, "state": state, "period": period,
                      "keys": keys, "outcomes": [], "requests": []})
        cases[-1]["definition"] = {"name": cases[-1]["task"], "keyguard.kms.kms_rotation": args,
                                   "ignore_errors": True}

    for check in (True, False, True, False):
        before = dict((case["account"], (emulator.state(case["account"]),
                                         len(emulator.recorded_requests(case["account"])))) for case in cases)
        run = run_playbook(cases[0]["account"], [case["definition"] for case in cases], check=check)
        for case in cases:
            state_before, requests_before = before[case["account"]]
            requests = emulator.recorded_requests(case["account"])[requests_before:]
            case["requests"].extend(requests)
            result = run.task(case["task"])
            assert result["status"] == "ok", (case["task"], run.stdout[-3000:])
            case["outcomes"].append(result["result"])
            if check:
                assert emulator.state(case["account"]) == state_before, "check mode changed the emulator's state"
                assert writes(requests) == [], "check mode sent write calls"

    for case in cases:
        check_outcomes(emulator, case, pending_deletion)


def check_outcomes(emulator, case, pending_deletion):
    state, period, keys = case["state"], case["period"], case["keys"]
    predicted, applied, rechecked, reapplied = case["outcomes"]
    any_change = any(expected_outcome(key["kind"], state, period, pending_deletion)[2] for key in keys)
    assert predicted["changed"] is any_change
    assert applied["changed"] is any_change
    assert rechecked["changed"] is False
    assert reapplied["changed"] is False

    final = {(key["region"], key["metadata"]["KeyId"]): key for key in emulator.state(case["account"])}
    for key, guess, done, again in zip(keys, predicted["results"], applied["results"], reapplied["results"]):
        compliance, reason, actions, rotation = expected_outcome(key["kind"], state, period, pending_deletion)
        label = "%s: %s (%s)" % (case["task"], key["kind"], KINDS[key["kind"]])
        for entry in (guess, done):
            assert entry["input"] == key["alias"], label
            assert entry["key_id"] == key["key_id"], label
            assert (entry["compliance"], entry["reason"], entry["actions"]) == (compliance, reason, actions), label
            assert entry["changed"] is bool(actions), label
        assert again["actions"] == [] and again["changed"] is False, label
        if reason == "PENDING_DELETION" and pending_deletion == "cancel":
            assert again["compliance"] == "COMPLIANT", label
        for field in ("key_state", "rotation_enabled"):
            assert guess[field] == done[field], "check mode predicted %s wrongly for %s" % (field, label)
        if rotation is not None:
            emulated = final[(REGION, key["key_id"])]
            assert (emulated["rotation_enabled"], emulated["rotation_period_days"]) == rotation, label
            assert (done["rotation_enabled"], done["rotation_period_days"]) == rotation, label
        if key["kind"] == "mr_replica":
            assert done["primary_region"] == "us-west-2"
            assert done["primary_key_arn"].startswith("arn:aws:kms:us-west-2:")
    # Never a deletion, a disabled key or a policy change; never a write to an ineligible key.
    operations = {request["operation"] for request in case["requests"]}
    assert not operations & {"ScheduleKeyDeletion", "DisableKey", "PutKeyPolicy"}
    ineligible = {key["key_id"] for key in keys if expected_outcome(key["kind"])[0] == "NOT_APPLICABLE"}
    assert not [r for r in writes(case["requests"]) if r["key_id"] in ineligible]


def test_single_key_returns_top_level_fields_and_diff(emulator, account, run_playbook):
    key = seed(clients_for(emulator, account), REGION, kinds=["symmetric_off"])[0]
    run = run_playbook(account, rotation_task(key_id=key["key_id"], rotation_period_days=90), check=True, diff=True)
    result = run.task(TASK)["result"]
    assert result["changed"] is True
    assert result["key_arn"] == key["arn"] and result["region"] == REGION
    assert result["actions"] == ["EnableKeyRotation"]
    assert result["diff"]["before"] == {"key_state": "Enabled", "rotation_enabled": False, "rotation_period_days": None}
    assert result["diff"]["after"] == {"key_state": "Enabled", "rotation_enabled": True, "rotation_period_days": 90}
    assert "results" not in result
    assert "rotation_period_days" in run.stdout  # the diff is shown to the user


def test_rescue_keeps_the_period_a_key_had_before_its_deletion(emulator, account, run_playbook):
    key = seed(clients_for(emulator, account), REGION, kinds=["pending_on_180"])[0]
    run = run_playbook(account, rotation_task(key_id=key["arn"], pending_deletion="cancel"))
    result = run.task(TASK)["result"]
    assert result["actions"] == ["CancelKeyDeletion", "EnableKey", "EnableKeyRotation"]
    assert (result["key_state"], result["rotation_enabled"], result["rotation_period_days"]) == ("Enabled", True, 180)
    emulated = emulator.state(account)[0]
    assert emulated["metadata"]["KeyState"] == "Enabled" and emulated["rotation_period_days"] == 180


def test_bad_keys_fail_the_task_after_every_other_key_is_done(emulator, account, run_playbook):
    good = seed(clients_for(emulator, account), REGION, kinds=["symmetric_off", "symmetric_off"])
    references = [
        good[0]["key_id"],
        "11111111-2222-3333-4444-555555555555",            # does not exist
        "not-a-key",                                       # malformed
        "alias/does-not-exist",                            # unknown alias
        good[1]["arn"].replace(REGION, "eu-west-1"),       # another Region
        good[1]["arn"].replace("arn:aws:", "arn:aws-cn:"),  # another partition
        good[1]["alias"],
    ]
    run = run_playbook(account, rotation_task(key_ids=references))
    entry = run.task(TASK)
    assert entry["status"] == "failed"
    result = entry["result"]
    assert "5 of 7 keys failed" in result["msg"]
    assert "Traceback" not in run.stdout
    verdicts = [(item["compliance"], item["reason"]) for item in result["results"]]
    assert verdicts == [
        ("NON_COMPLIANT", "ROTATION_DISABLED"),
        ("ERROR", "NotFoundException"),
        ("ERROR", "INVALID_KEY_REFERENCE"),
        ("ERROR", "NotFoundException"),
        ("ERROR", "INVALID_KEY_REFERENCE"),
        ("ERROR", "INVALID_KEY_REFERENCE"),
        ("NON_COMPLIANT", "ROTATION_DISABLED"),
    ]
    messages = [item["message"] for item in result["results"]]
    assert "does not exist in Region us-east-1" in messages[1]
    assert "is not a key ID, key ARN, alias name" in messages[2]
    assert "alias/does-not-exist" in messages[3]
    assert "run it with region: eu-west-1" in messages[4]
    assert "Region us-east-1 is in partition aws" in messages[5]
    assert all(key["rotation_enabled"] for key in emulator.state(account)), "good keys must still be fixed"


@pytest.mark.parametrize(
    "args, expected",
    [
        ({"key_id": "alias/x", "rotation_period_days": 89}, "rotation_period_days must be between 90 and 2560"),
        ({"key_id": "alias/x", "rotation_period_days": 2561}, "rotation_period_days must be between 90 and 2560"),
        ({"key_id": "alias/x", "state": "on"}, "value of state must be one of: enabled, disabled"),
        ({"key_ids": []}, "key_ids is empty"),
        ({"key_id": "alias/x", "key_ids": ["alias/y"]}, "mutually exclusive"),
        ({"key_id": "alias/x", "rate_limits": {"EnableKeyRotaton": 5}}, "unknown operation 'EnableKeyRotaton'"),
        ({"key_id": "alias/x", "rate_limits": {"DescribeKey": 1e-300}}, "DescribeKey must be a number of requests "
         "per second of at least 0.1"),
        ({"key_id": "alias/x", "interrupted_rescues_file": "/tmp"}, "interrupted_rescues_file: /tmp must be a file path"),
        ({"key_ids": ["alias/x"], "regions": []}, "regions is empty"),
        ({"key_id": "alias/x", "stall_timeout": 0}, "stall_timeout must be a whole number of 1 or more"),
    ],
)
def test_bad_arguments_fail_before_any_call(emulator, account, run_playbook, args, expected):
    run = run_playbook(account, rotation_task(**args))
    entry = run.task(TASK)
    assert entry["status"] == "failed"
    assert expected in entry["result"]["msg"]
    assert emulator.recorded_requests(account) == []


def test_keys_of_two_regions_in_one_call(emulator, account, run_playbook):
    clients = clients_for(emulator, account)
    keys = [clients[region].create_key()["KeyMetadata"]["Arn"] for region in ("us-east-1", "us-west-2")]
    run = run_playbook(account, rotation_task(key_ids=keys + ["alias/by-name"], regions=["us-east-1", "us-west-2"]))
    results = run.task(TASK)["result"]["results"]
    assert [(r["region"], r["actions"]) for r in results[:2]] == [("us-east-1", ["EnableKeyRotation"]),
                                                                  ("us-west-2", ["EnableKeyRotation"])]
    assert results[2]["reason"] == "INVALID_KEY_REFERENCE" and "names no Region" in results[2]["message"]
    assert all(key["rotation_enabled"] for key in emulator.state(account))


def test_two_hundred_keys_in_one_call(emulator, account, run_playbook):
    clients = clients_for(emulator, account)
    keys = [clients[REGION].create_key()["KeyMetadata"]["KeyId"] for _number in range(200)]
    started = time.monotonic()
    # Raised quotas, as an account with an increase would have: the test is about one call and its order.
    run = run_playbook(account, rotation_task(key_ids=keys, rotation_period_days=365,
                                              rate_limits={"EnableKeyRotation": 500}))
    elapsed = time.monotonic() - started
    result = run.task(TASK)["result"]
    assert run.returncode == 0, run.stdout[-3000:]
    assert [entry["key_id"] for entry in result["results"]] == keys
    assert all(entry["actions"] == ["EnableKeyRotation"] for entry in result["results"])
    assert all(key["rotation_period_days"] == 365 for key in emulator.state(account))
    print("200 keys in one key_ids call: %.1f s" % elapsed)
