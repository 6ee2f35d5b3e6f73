"""KMS.3 rescues that never re-enable an owner's key, results that say what happened, inputs checked first.

Each test reproduces one case of an outside review (issues 8 and 15) against the emulator.
"""

import json
import os
import signal
import sys
import threading
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "harness"))

from seed import create_key, seed  # noqa: E402  pylint: disable=wrong-import-position

WRITES = {"EnableKeyRotation", "DisableKeyRotation", "CancelKeyDeletion", "EnableKey"}


def wait_for(predicate, timeout=90, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def operations(emulator, account, since=0, key_id=None):
    return [r["operation"] for r in emulator.recorded_requests(account)[since:]
            if key_id is None or (r["key_id"] or "").endswith(key_id)]


def key_state(emulator, account, key_id):
    return [k for k in emulator.state(account) if k["metadata"]["KeyId"] == key_id][0]["metadata"]["KeyState"]


def kill_main_process_only(process):
    """kill -9 of ansible-playbook itself: its workers and modules are not in its process group."""
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    return time.time()


def test_a_failed_rescue_never_reenables_a_key_its_owner_has_since_cancelled_and_kept_disabled(
        emulator, fleet, account):
    """Issue 15's repro: CancelKeyDeletion denied, the owner then cancels it and keeps the key Disabled."""
    clients = {"us-east-1": emulator.client(account)}
    keys = [create_key(clients, "us-east-1", "pending_off", number) for number in range(2)]
    fleet.add_target("target", account, rotation_regions=["us-east-1"])
    emulator.set_faults(account, deny={"operations": ["CancelKeyDeletion"], "key_ids": [keys[0]["key_id"]]})
    code, output = fleet.run("remediate")
    emulator.clear_faults(account)
    assert code != 0 and "AccessDeniedException" in output
    assert key_state(emulator, account, keys[1]["key_id"]) == "Enabled", "the other key is rescued"

    clients["us-east-1"].cancel_key_deletion(KeyId=keys[0]["key_id"])  # the owner's decision: keep it Disabled
    since = len(emulator.recorded_requests(account))
    code, output = fleet.run("remediate")
    assert code == 0, output[-3000:]
    assert [op for op in operations(emulator, account, since, keys[0]["key_id"]) if op in WRITES] == []
    assert key_state(emulator, account, keys[0]["key_id"]) == "Disabled"
    entry = [k for k in fleet.report("target")["keys"] if k["key_id"] == keys[0]["key_id"]][0]
    assert (entry["before"]["reason"], entry["after"]["key_state"], entry["actions"]) == ("KEY_DISABLED", "Disabled", [])


def test_a_run_killed_between_cancel_and_enable_leaves_the_key_disabled_and_says_how_to_finish(
        emulator, fleet, account, tmp_path):
    clients = {"us-east-1": emulator.client(account)}
    keys = [create_key(clients, "us-east-1", "pending_off", number) for number in range(2)]
    fleet.add_target("target", account, rotation_regions=["us-east-1"])
    emulator.set_faults(account, hang={"operation": "EnableKey", "seconds": 20})
    process = fleet.start("remediate", tmp_path / "killed.log")
    assert wait_for(lambda: operations(emulator, account).count("EnableKey") == len(keys)), \
        (tmp_path / "killed.log").read_text()[-3000:]
    killed = kill_main_process_only(process)
    emulator.clear_faults(account)
    # Stopping the run stops its KMS calls, although the worker and module are not in its process group.
    time.sleep(4)
    late = [r for r in emulator.recorded_requests(account) if r["time"] > killed + 3]
    assert late == [], late
    assert all(key_state(emulator, account, key["key_id"]) == "Disabled" for key in keys)
    # The killed run's own word on it, written on its way out: which keys, and the command that finishes each.
    notes = list(fleet.report_dir.glob("target.interrupted-*.json"))
    assert len(notes) == 1, list(fleet.report_dir.iterdir())
    note = json.loads(notes[0].read_text())
    assert sorted(entry["key_arn"] for entry in note["keys"]) == sorted(key["arn"] for key in keys)
    for entry in note["keys"]:
        assert entry["finish_command"].startswith("aws kms enable-key --key-id %s --region us-east-1 && "
                                                  "aws kms enable-key-rotation" % entry["key_arn"])
        assert "Disabled with its deletion cancelled" in entry["message"]

    since = len(emulator.recorded_requests(account))
    code, output = fleet.run("remediate")
    assert code == 0, output[-3000:]
    assert [op for op in operations(emulator, account, since) if op in WRITES] == []
    report = fleet.report("target")
    assert [(k["before"]["reason"], k["after"]["key_state"], k["actions"]) for k in report["keys"]] == [
        ("KEY_DISABLED", "Disabled", [])] * len(keys)
    assert "Needs the key owner" in fleet.report("target", ".md")


@pytest.mark.slow
def test_two_remediations_of_one_target_never_act_at_once(emulator, fleet, account, tmp_path):
    clients = {"us-east-1": emulator.client(account)}
    keys = [create_key(clients, "us-east-1", "pending_on_180", number) for number in range(3)]
    fleet.add_target("target", account, rotation_regions=["us-east-1"])
    emulator.set_faults(account, hang={"operation": "CancelKeyDeletion", "seconds": 12})
    first = fleet.start("remediate", tmp_path / "first.log")
    assert wait_for(lambda: emulator.faults_injected(account).get("hang", 0) >= 1), \
        (tmp_path / "first.log").read_text()[-3000:]
    emulator.clear_faults(account)
    waiting = fleet.start("remediate", tmp_path / "waiting.log", extra_vars={"rotation_lock_timeout": 120})
    code, output = fleet.run("remediate", extra_vars={"rotation_lock_timeout": 0})
    assert code != 0 and "another remediation of host-target-" in output
    assert "is still running on this controller (ansible-playbook PID %d" % first.pid in output
    assert "nothing was changed" in output and "TASK [keyguard.kms.rotation : Discover" not in output
    assert first.wait(timeout=300) == 0, (tmp_path / "first.log").read_text()[-3000:]
    assert waiting.wait(timeout=300) == 0, (tmp_path / "waiting.log").read_text()[-3000:]
    assert "waiting up to 120 s before any change" in (tmp_path / "waiting.log").read_text()
    cancels = operations(emulator, account).count("CancelKeyDeletion")
    assert cancels == len(keys), "each key's deletion is cancelled once, by the run that holds the lock"
    assert all(key_state(emulator, account, key["key_id"]) == "Enabled" for key in keys)
    assert fleet.report("target")["summary"]["after"]["ERROR"] == 0


def test_a_key_rescued_by_another_actor_meanwhile_is_reported_as_it_is_not_as_an_error(
        emulator, account, run_playbook):
    """Another controller's run (the lock cannot see it) cancels the deletion between this run's read and write."""
    client = emulator.client(account)
    key = create_key({"us-east-1": client}, "us-east-1", "pending_on_180")
    emulator.set_faults(account, hang={"operation": "CancelKeyDeletion", "seconds": 6})
    outcome = {}
    worker = threading.Thread(target=lambda: outcome.update(run=run_playbook(account, [{
        "name": "rescue", "keyguard.kms.kms_rotation": {"key_id": key["arn"], "pending_deletion": "cancel"},
        "ignore_errors": True}])))
    worker.start()
    assert wait_for(lambda: emulator.faults_injected(account).get("hang", 0) >= 1)
    emulator.clear_faults(account)
    client.cancel_key_deletion(KeyId=key["key_id"])  # the other run's rescue, all of it
    client.enable_key(KeyId=key["key_id"])
    client.enable_key_rotation(KeyId=key["key_id"], RotationPeriodInDays=180)
    worker.join(timeout=120)
    result = outcome["run"].task("rescue")["result"]
    assert outcome["run"].task("rescue")["status"] != "failed", result
    assert (result["compliance"], result["other_actor"], result["key_state"], result["actions"]) == (
        "COMPLIANT", True, "Enabled", [])
    assert result["message"].startswith("done by another actor") and "Finish with" not in result["message"]
    assert result["finish_command"] is None


@pytest.mark.parametrize(
    "faults, code",
    [
        ({"deny": {"operations": ["EnableKey"]}}, "AccessDeniedException"),
        ({"throttle_fraction": 1.0, "operations": ["EnableKey"]}, "ThrottlingException"),
        ({"error_fraction": 1.0, "operations": ["EnableKey"]}, "KMSInternalException"),
        ({"state_lag": 60}, "KMSInvalidStateException"),
    ],
    ids=["denied", "throttled", "internal-errors", "state-lag"],
)
def test_a_partial_rescue_says_what_was_done_and_how_to_finish(emulator, account, run_playbook, faults, code):
    key = create_key({"us-east-1": emulator.client(account)}, "us-east-1", "pending_on_180")
    emulator.set_faults(account, **faults)
    run = run_playbook(account, [{"name": "rescue", "keyguard.kms.kms_rotation": {
        "key_id": key["arn"], "pending_deletion": "cancel", "max_attempts": 3}, "ignore_errors": True}])
    emulator.clear_faults(account)
    entry = run.task("rescue")
    assert entry["status"] == "failed"
    result = entry["result"]
    assert (result["compliance"], result["reason"], result["actions"]) == ("ERROR", code, ["CancelKeyDeletion"])
    assert result["key_state"] == "Disabled" == key_state(emulator, account, key["key_id"])
    assert result["changed"] is True
    assert "deletion cancelled" in result["message"] and "Disabled with its deletion cancelled" in result["message"]
    assert "aws kms enable-key --key-id %s --region us-east-1" % key["arn"] in result["message"]
    assert result["finish_command"].startswith("aws kms enable-key --key-id %s --region us-east-1" % key["arn"])
    assert "1 of 1 keys failed" in result["msg"]
    # As amazon.aws's fail_json_aws shapes a failure: the SDK versions, and AWS's own answer for the key.
    assert result["boto3_version"] and result["botocore_version"]
    assert result["error_response"]["error"]["code"] == code


def test_bad_role_inputs_fail_each_host_before_any_call(emulator, fleet, new_account, tmp_path):
    """One host per bad input, all in one run; none of their accounts gets a single request."""
    afile = tmp_path / "afile"
    afile.write_text("not a folder")
    cases = {
        "string-exemptions": ({"rotation_exempt_keys": "alias/pending-off-0"},
                              "rotation_exempt_keys must be a list of keys"),
        "exemption-without-key": ({"rotation_exempt_keys": [{"reason": "CHG-1"}]},
                                  "rotation_exempt_keys item 1 must be a key reference or a dict with key"),
        "tags-as-list": ({"rotation_exempt_tags": ["keyguard:intended-deletion"]}, "rotation_exempt_tags"),
        "tags-nested": ({"rotation_exempt_tags": {"a": {"b": "c"}}}, "the value of tag 'a' must be a string"),
        "empty-report-dir": ({"rotation_report_dir": ""}, "rotation_report_dir is empty"),
        "report-dir-is-a-file": ({"rotation_report_dir": str(afile)}, "is a file, not a folder"),
        "report-dir-unwritable": ({"rotation_report_dir": str(afile / "sub")}, "cannot be created or written"),
        "account-unreadable": ({"aws_account_error": "account:ListRegions failed with AccessDeniedException"},
                               "the inventory could not read this account (account:ListRegions failed"),
        "bucket-with-two-dots": ({"rotation_report_s3_uri": "s3://a..b/reports"}, "two dots may not stand"),
        "bucket-like-an-ip": ({"rotation_report_s3_uri": "s3://192.168.1.1/reports"}, "look like an IP address"),
        "bucket-xn": ({"rotation_report_s3_uri": "s3://xn--reports/x"}, "the prefix xn-- is reserved"),
        "no-region": ({"rotation_regions": []}, "rotation_regions is empty and no Region is set"),
        "region-string": ({"rotation_regions": "us-east-1"}, "rotation_regions must be a list of Region names"),
        "tiny-rate": ({"rotation_rate_limits": {"DescribeKey": 1e-300}},
                      "rotation_rate_limits: DescribeKey must be a number of requests per second of at least 0.1"),
        "role-in-other-partition": ({"rotation_assume_role_arn": "arn:aws-cn:iam::111122223333:role/keyguard"},
                                    "is in partition aws-cn but the Regions are in partition aws"),
    }
    accounts = {}
    for host, (variables, _message) in cases.items():
        accounts[host] = new_account()
        seed({"us-east-1": emulator.client(accounts[host])}, "us-east-1", kinds=["pending_off"])
        fleet.add_target(host, accounts[host], **variables)
    since = len(emulator.recorded_requests())
    code, output = fleet.run("remediate")
    assert code != 0 and "Traceback" not in output
    requests = emulator.recorded_requests()[since:]
    for host, (_variables, message) in cases.items():
        failure = [line for line in output.splitlines() if line.startswith("fatal: [%s]" % host)]
        assert failure and message in failure[0], (host, failure)
        assert [r for r in requests if r["account"] == accounts[host]] == [], host
    assert not (fleet.report_dir / "empty-report-dir.json").exists()


def test_aliases_that_cannot_be_listed_and_a_rotation_status_denied(emulator, fleet, account):
    keys = seed({"us-east-1": emulator.client(account)}, "us-east-1",
                kinds=["symmetric_off", "symmetric_on_180", "pending_off"])
    emulator.set_faults(account, deny={"operations": ["ListAliases"]})
    fleet.add_target("target", account, rotation_regions=["us-east-1"])
    code, output = fleet.run("remediate")
    assert code == 0, output[-3000:]
    report = fleet.report("target")
    assert report["summary"]["total"] == 3 and all(entry["aliases"] == [] for entry in report["keys"])
    assert "aliases of Region us-east-1 could not be listed" in report["run"]["warnings"][0]
    assert "aliases of Region us-east-1 could not be listed" in fleet.report("target", ".md")

    emulator.set_faults(account, deny={"operations": ["GetKeyRotationStatus"], "key_ids": [keys[1]["key_id"]]})
    code, output = fleet.run("report")
    emulator.clear_faults(account)
    assert code != 0 and "AccessDeniedException" in output
    entry = [k for k in fleet.report("target")["keys"] if k["key_id"] == keys[1]["key_id"]][0]
    assert entry["after"]["compliance"] == "ERROR" and entry["aliases"] == [keys[1]["alias"]]
    assert entry["after"]["key_state"] == "Enabled"


def test_an_alias_exemption_that_cannot_be_checked_holds_back_the_rescue(emulator, fleet, account):
    keys = seed({"us-east-1": emulator.client(account)}, "us-east-1", kinds=["pending_off", "symmetric_off"])
    emulator.set_faults(account, deny={"operations": ["ListAliases"]})
    fleet.add_target("target", account, rotation_regions=["us-east-1"],
                     rotation_exempt_keys=[{"key": keys[0]["alias"], "reason": "CHG-9: meant to go"}])
    code, output = fleet.run("remediate")
    emulator.clear_faults(account)
    assert code != 0 and "exemptions by alias cannot be checked" in output
    assert key_state(emulator, account, keys[0]["key_id"]) == "PendingDeletion"
    assert [k["rotation_enabled"] for k in emulator.state(account) if k["metadata"]["KeyId"] == keys[1]["key_id"]] == [
        True]


def test_a_region_that_cannot_be_listed_is_reported_and_the_others_remediated(emulator, fleet, account):
    clients = {region: emulator.client(account, region) for region in ("us-east-1", "us-west-2")}
    east = seed(clients, "us-east-1", kinds=["symmetric_off"])
    seed(clients, "us-west-2", kinds=["symmetric_off"])
    emulator.set_faults(account, deny={"operations": ["ListKeys"], "regions": ["us-west-2"]})
    fleet.add_target("target", account)
    code, output = fleet.run("remediate")
    emulator.clear_faults(account)
    assert code != 0 and "Region us-west-2 could not be listed" in output
    report = fleet.report("target")
    assert [entry["key_id"] for entry in report["keys"]] == [east[0]["key_id"]]
    assert report["keys"][0]["after"]["compliance"] == "COMPLIANT"
    assert any("Region us-west-2 could not be listed" in error["message"] for error in report["errors"])


def test_a_hung_endpoint_ends_the_task_in_bounded_time_naming_it(emulator, account, run_playbook):
    key = emulator.client(account).create_key()["KeyMetadata"]["KeyId"]
    emulator.set_faults(account, hang={"operation": "DescribeKey", "seconds": 60})
    tuning = {"request_timeout": 1, "stall_timeout": 4, "max_attempts": 50}
    run = run_playbook(account, [
        {"name": "rotate", "keyguard.kms.kms_rotation": dict(tuning, key_id=key), "ignore_errors": True},
        {"name": "discover", "keyguard.kms.kms_rotation_info": tuning, "ignore_errors": True},
    ])
    emulator.clear_faults(account)
    rotate, discover = run.task("rotate")["result"], run.task("discover")["result"]
    assert rotate["reason"] == "ENDPOINT_UNRESPONSIVE"
    assert emulator.url in rotate["message"] and "has not answered any request for 4 s" in rotate["message"]
    assert [k["reason"] for k in discover["kms_keys"]] == ["ENDPOINT_UNRESPONSIVE"]
    assert "Traceback" not in run.stdout
    # Given up after stall_timeout, far from the 50 attempts allowed: a few tries per task, then nothing.
    assert operations(emulator, account).count("DescribeKey") < 20
