"""KMS.3 rescues that never re-enable an owner's key, results that say what happened, inputs checked first.

Each test reproduces one case of the outside review (issue 8) against the emulator.
"""

import json
import os
import signal
import sys
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


def test_a_stale_journal_record_never_reenables_a_key_its_owner_disabled(emulator, fleet, account, tmp_path):
    clients = {"us-east-1": emulator.client(account)}
    keys = [create_key(clients, "us-east-1", "pending_on_180", number) for number in range(2)]
    fleet.add_target("target", account, rotation_regions=["us-east-1"])
    journal = fleet.report_dir / ".target.rescue-journal"
    # EnableKey is carried out but never answered: the run is killed after EnableKey, before the strike-off.
    emulator.set_faults(account, hang={"operation": "EnableKey", "seconds": 20, "after": True})
    process = fleet.start("remediate", tmp_path / "killed.log")
    assert wait_for(lambda: operations(emulator, account).count("EnableKey") == len(keys)), \
        (tmp_path / "killed.log").read_text()[-3000:]
    killed = kill_main_process_only(process)
    emulator.clear_faults(account)
    assert journal.read_text().count("+ ") == len(keys)
    assert all(key_state(emulator, account, key["key_id"]) == "Enabled" for key in keys)
    # Stopping the run stops its KMS calls, although the worker and module are not in its process group.
    time.sleep(4)
    late = [r for r in emulator.recorded_requests(account) if r["time"] > killed + 3]
    assert late == [], late

    code, output = fleet.run("remediate")
    assert code == 0, output[-3000:]
    assert not journal.exists(), "seeing the keys Enabled ends their records"

    clients["us-east-1"].disable_key(KeyId=keys[0]["key_id"])  # the owner's decision
    since = len(emulator.recorded_requests(account))
    code, output = fleet.run("remediate")
    assert code == 0, output[-3000:]
    assert [op for op in operations(emulator, account, since, keys[0]["key_id"]) if op in WRITES] == []
    assert key_state(emulator, account, keys[0]["key_id"]) == "Disabled"
    entry = [k for k in fleet.report("target")["keys"] if k["key_id"] == keys[0]["key_id"]][0]
    assert (entry["after"]["key_state"], entry["actions"]) == ("Disabled", [])


def test_an_interrupted_rescue_is_finished_only_where_the_journal_outlives_the_run(
        emulator, fleet, new_account, tmp_path):
    """Killed between CancelKeyDeletion and EnableKey: one target keeps its journal, the other (an AWX job
    without rotation_journal_file) loses it with its container."""
    lasting, awx = new_account(), new_account()
    lasting_journal = tmp_path / "lasting" / "journal"
    for account in (lasting, awx):
        create_key({"us-east-1": emulator.client(account)}, "us-east-1", "pending_on_180")
        emulator.set_faults(account, hang={"operation": "EnableKey", "seconds": 20})
    fleet.add_target("lasting", lasting, rotation_regions=["us-east-1"], rotation_journal_file=str(lasting_journal))
    fleet.add_target("awx", awx, rotation_regions=["us-east-1"], awx_job_id=4242)
    process = fleet.start("remediate", tmp_path / "killed.log")
    assert wait_for(lambda: all("EnableKey" in operations(emulator, account) for account in (lasting, awx)))
    kill_main_process_only(process)
    for account in (lasting, awx):
        emulator.clear_faults(account)
        assert [k["metadata"]["KeyState"] for k in emulator.state(account)] == ["Disabled"]
    # The AWX job's container is gone, and its journal with it.
    (fleet.report_dir / ".awx.rescue-journal").unlink()

    code, output = fleet.run("remediate")
    assert code == 0, output[-3000:]
    assert [(k["metadata"]["KeyState"], k["rotation_period_days"]) for k in emulator.state(lasting)] == [
        ("Enabled", 180)]
    finished = fleet.report("lasting")["keys"][0]
    assert (finished["before"]["reason"], finished["actions"]) == ("RESCUE_INTERRUPTED", ["EnableKey", "EnableKeyRotation"])
    assert [k["metadata"]["KeyState"] for k in emulator.state(awx)] == ["Disabled"]
    left = fleet.report("awx")
    assert (left["keys"][0]["after"]["key_state"], left["keys"][0]["actions"]) == ("Disabled", [])
    assert left["run"]["journal"]["note"].startswith("not recovered: the rescue journal")
    assert "Interrupted rescues | not recovered" in fleet.report("awx", ".md")


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
    assert "deletion cancelled" in result["message"] and "The key is now Disabled" in result["message"]
    assert "aws kms enable-key --key-id %s --region us-east-1" % key["arn"] in result["message"]
    assert "1 of 1 keys failed" in result["msg"]


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
        "journal-is-a-folder": ({"rotation_journal_file": str(tmp_path)}, "rotation_journal_file: the rescue "
                                "journal path %s is a folder" % tmp_path),
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


def test_journal_records_are_shaped_for_the_next_run(emulator, fleet, account):
    """A real rescue leaves no record behind; the journal file is gone once every rescue is finished."""
    seed({"us-east-1": emulator.client(account)}, "us-east-1", kinds=["pending_off"])
    fleet.add_target("target", account, rotation_regions=["us-east-1"])
    code, output = fleet.run("remediate")
    assert code == 0, output[-3000:]
    assert not (fleet.report_dir / ".target.rescue-journal").exists()
    assert json.loads(json.dumps(fleet.report("target")["run"]["journal"]))["path"].endswith(".target.rescue-journal")
