"""Throttling, faults, partial permissions, interruptions and bad input (fault injection in the emulator)."""

import collections
import os
import signal
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "harness"))

from seed import create_key, seed  # noqa: E402  pylint: disable=wrong-import-position

REGIONS = ("us-east-1", "us-west-2")
MIXED = ["symmetric_off", "symmetric_on_180", "symmetric_on_730", "disabled_off", "pending_off", "pending_on_180",
         "asymmetric_rsa", "hmac", "external", "cloudhsm", "mr_primary", "mr_replica", "aws_managed"]
WRITES = {"EnableKeyRotation", "DisableKeyRotation", "CancelKeyDeletion", "EnableKey"}


def seed_mixed(emulator, account, copies):
    clients = {region: emulator.client(account, region) for region in REGIONS}
    keys = []
    for region in REGIONS:
        keys += seed(clients, region, kinds=MIXED, copies=copies)
    return keys


def outcome_by_alias(report):
    """What the report says of each key, keyed by alias (key IDs differ between accounts)."""
    return dict(
        (entry["aliases"][0], (entry["region"], entry["before"], entry["actions"], entry["after"]))
        for entry in report["keys"] if entry["aliases"]
    )


def state_by_alias(emulator, account):
    state = {}
    for key in emulator.state(account):
        if key["aliases"]:
            found = (key["metadata"]["KeyState"], key["rotation_enabled"], key["rotation_period_days"])
            state[(key["region"], key["aliases"][0])] = found
    return state


def remediate_calm_and_stormy(emulator, fleet, calm, stormy, max_attempts, **faults):
    """Remediate two identically seeded accounts, with faults injected into one; returns what was injected."""
    emulator.set_faults(stormy, **faults)
    fleet.add_target("calm", calm, rotation_max_attempts=max_attempts)
    fleet.add_target("stormy", stormy, rotation_max_attempts=max_attempts)
    try:
        code, output = fleet.run("remediate")
    finally:
        injected = emulator.faults_injected(stormy)
        emulator.clear_faults(stormy)
    assert code == 0, output[-4000:]
    return injected


@pytest.mark.slow
def test_quotas_and_half_of_all_calls_throttled_change_nothing_but_time(emulator, fleet, new_account):
    calm, stormy = new_account(), new_account()
    # One copy of every kind per Region: half of ~200 calls throttled is the test; more keys only add backoff.
    keys = seed_mixed(emulator, calm, copies=1)
    seed_mixed(emulator, stormy, copies=1)
    assert len(keys) >= 22
    injected = remediate_calm_and_stormy(emulator, fleet, calm, stormy, 30, quotas=True, throttle_fraction=0.5, seed=7)
    assert injected.get("ThrottlingException", 0) > 40, injected
    calm_report, stormy_report = fleet.report("calm"), fleet.report("stormy")
    assert stormy_report["summary"]["errors"] == 0
    assert stormy_report["summary"]["total"] == calm_report["summary"]["total"]
    assert outcome_by_alias(stormy_report) == outcome_by_alias(calm_report)
    assert state_by_alias(emulator, stormy) == state_by_alias(emulator, calm)


def test_retries_are_bounded_and_an_exhausted_key_is_error_alone(emulator, account, run_playbook):
    client = emulator.client(account)
    keys = [client.create_key()["KeyMetadata"]["KeyId"] for _number in range(6)]
    emulator.set_faults(account, quotas={"EnableKeyRotation": 1})
    run = run_playbook(account, [{"name": "rotate", "keyguard.kms.kms_rotation": {
        "key_ids": keys, "max_attempts": 2, "rate_limits": {"EnableKeyRotation": 50}, "concurrency": 6},
        "ignore_errors": True}])
    emulator.clear_faults(account)
    result = run.task("rotate")
    assert result["status"] == "failed"
    errors = [entry for entry in result["result"]["results"] if entry["compliance"] == "ERROR"]
    done = [entry for entry in result["result"]["results"] if entry["actions"] == ["EnableKeyRotation"]]
    assert errors and done and len(errors) + len(done) == len(keys)
    assert all(entry["reason"] == "ThrottlingException" and "max_attempts" in entry["message"] for entry in errors)
    assert "%d of 6 keys failed" % len(errors) in result["result"]["msg"]
    rotating = [key["metadata"]["KeyId"] for key in emulator.state(account) if key["rotation_enabled"]]
    assert sorted(rotating) == sorted(entry["key_id"] for entry in done)
    # Bounded: no key was tried more than max_attempts times, and each key that failed was tried exactly that often.
    attempts = collections.Counter(request["key_id"] for request in emulator.recorded_requests(account)
                                   if request["operation"] == "EnableKeyRotation")
    assert max(attempts.values()) <= 2
    assert all(attempts[entry["key_id"]] == 2 for entry in errors)


@pytest.mark.slow
def test_faults_of_every_kind_and_eventual_consistency(emulator, fleet, new_account):
    calm, stormy = new_account(), new_account()
    seed_mixed(emulator, calm, copies=2)
    seed_mixed(emulator, stormy, copies=2)
    injected = remediate_calm_and_stormy(emulator, fleet, calm, stormy, 15, latency=[0.01, 0.03], error_fraction=0.1,
                                         drop_fraction=0.05, throttle_fraction=0.1, state_lag=1.5, seed=3)
    for kind in ("KMSInternalException", "dropped", "ThrottlingException", "state_lag"):
        assert injected.get(kind), (kind, injected)
    assert outcome_by_alias(fleet.report("stormy")) == outcome_by_alias(fleet.report("calm"))
    assert state_by_alias(emulator, stormy) == state_by_alias(emulator, calm)


def test_a_key_policy_that_denies_us_is_error_for_that_key_alone(emulator, fleet, account):
    keys = seed({"us-east-1": emulator.client(account)}, "us-east-1",
                kinds=["symmetric_off", "symmetric_off", "pending_off"])
    emulator.set_faults(account, deny={"key_ids": [keys[1]["key_id"]], "operations": ["EnableKeyRotation"]})
    fleet.add_target("target", account, rotation_regions=["us-east-1"])
    code, output = fleet.run("remediate")
    emulator.clear_faults(account)
    assert code != 0 and "1 error(s)" in output
    report = fleet.report("target")
    verdicts = dict((entry["key_id"], entry) for entry in report["keys"])
    assert verdicts[keys[1]["key_id"]]["after"]["compliance"] == "ERROR"
    assert "AccessDeniedException" in verdicts[keys[1]["key_id"]]["error"]
    assert verdicts[keys[0]["key_id"]]["after"]["compliance"] == "COMPLIANT"
    assert verdicts[keys[2]["key_id"]]["after"]["key_state"] == "Enabled"


def test_a_run_killed_half_way_leaves_its_keys_disabled_for_their_owner(emulator, fleet, account):
    clients = {region: emulator.client(account, region) for region in REGIONS}
    pending = [create_key(clients, "us-east-1", "pending_on_180", number) for number in range(4)]
    fleet.add_target("target", account, rotation_regions=["us-east-1"], rotation_concurrency=4)
    # EnableKey hangs: the run is killed after the deletions are cancelled and before the keys are enabled.
    emulator.set_faults(account, hang={"operation": "EnableKey", "seconds": 30})
    process = subprocess.Popen(
        ["ansible-playbook", "-i", fleet.inventory(), "keyguard.kms.remediate"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        cancelled = [r for r in emulator.recorded_requests(account) if r["operation"] == "CancelKeyDeletion"]
        if len(cancelled) == len(pending):
            break
        time.sleep(0.2)
    time.sleep(1)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    emulator.clear_faults(account)
    stranded = state_by_alias(emulator, account)
    assert [value[0] for value in stranded.values()] == ["Disabled"] * len(pending)

    # Nothing carried between runs: the next run sees Disabled keys, its owner's, and leaves them so.
    code, output = fleet.run("remediate")
    assert code == 0, output[-4000:]
    assert state_by_alias(emulator, account) == stranded
    report = fleet.report("target")
    assert all((entry["actions"], entry["after"]["key_state"]) == ([], "Disabled") for entry in report["keys"])


@pytest.mark.parametrize(
    "extra_env, expected",
    [
        ({"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None, "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
          "AWS_CONFIG_FILE": "/nonexistent", "AWS_EC2_METADATA_DISABLED": "true"}, "no AWS credentials found"),
        ({"AWS_URL": "http://127.0.0.1:9", "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}, "check endpoint_url"),
    ],
    ids=["no-credentials", "unreachable-endpoint"],
)
def test_connection_problems_have_clear_messages(emulator, account, run_playbook, extra_env, expected):
    run = run_playbook(account, [
        {"name": "rotate", "keyguard.kms.kms_rotation": {"key_id": "alias/anything", "max_attempts": 2},
         "ignore_errors": True},
        {"name": "discover", "keyguard.kms.kms_rotation_info": {"max_attempts": 2}, "ignore_errors": True},
    ], extra_env=extra_env)
    for task in ("rotate", "discover"):
        entry = run.task(task)
        assert entry["status"] == "failed"
        assert expected in entry["result"]["msg"], entry["result"]["msg"]
    assert "Traceback" not in run.stdout


def test_key_arn_of_another_account_is_refused(emulator, account, new_account, run_playbook):
    other = new_account()
    foreign = emulator.client(other).create_key()["KeyMetadata"]["Arn"]
    run = run_playbook(account, [{"name": "rotate", "keyguard.kms.kms_rotation": {"key_id": foreign},
                                  "ignore_errors": True}])
    result = run.task("rotate")["result"]
    assert "belongs to account %s" % other in result["message"]
    assert "credentials are for account %s" % account in result["message"]
    assert not [r for r in emulator.recorded_requests(account) if r["operation"] in WRITES]
