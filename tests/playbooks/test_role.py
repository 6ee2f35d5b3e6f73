"""The rotation role and the remediate / report playbooks across two accounts and two Regions."""

import json
import os
import re
import subprocess
import sys
from xml.etree import ElementTree

import jsonschema
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
COLLECTION = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "harness"))

from seed import create_key, seed  # noqa: E402  pylint: disable=wrong-import-position

SCHEMA = json.load(open(os.path.join(COLLECTION, "roles", "rotation", "files", "report.schema.json")))
WRITES = {"EnableKeyRotation", "DisableKeyRotation", "CancelKeyDeletion", "EnableKey", "DisableKey",
          "ScheduleKeyDeletion", "PutKeyPolicy", "CreateKey", "TagResource"}
KINDS = ["symmetric_off", "symmetric_on_180", "symmetric_on_730", "disabled_off", "pending_off", "pending_on_180",
         "aws_managed", "asymmetric_rsa", "hmac", "external", "mr_primary", "mr_replica"]
EXEMPT_TAG = {"keyguard:intended-deletion": "true"}


def seed_account(emulator, account):
    clients = {region: emulator.client(account, region) for region in ("us-east-1", "us-west-2")}
    keys = []
    for region in clients:
        keys += seed(clients, region, kinds=KINDS)
    # Two keys really meant to be deleted: one exempt by tag, one by alias in the inventory.
    keys.append(create_key(clients, "us-east-1", "pending_off", 7, tags=EXEMPT_TAG))
    keys.append(create_key(clients, "us-west-2", "pending_off", 8))
    return keys


@pytest.fixture
def two_accounts(emulator, fleet, new_account):
    accounts = [new_account(), new_account()]
    for index, account in enumerate(accounts):
        seed_account(emulator, account)
        fleet.add_target(
            "target-%d" % index, account,
            rotation_exempt_tags=EXEMPT_TAG,
            rotation_exempt_keys=[{"key": "alias/pending-off-8", "reason": "CHG-1: decommissioned"}],
        )
    return accounts


def writes_of(emulator, accounts, since):
    return [r for r in emulator.recorded_requests()[since:] if r["account"] in accounts and r["operation"] in WRITES]


def state_of(emulator, accounts):
    return [key for key in emulator.state() if key["account"] in accounts]


def check_report_files(fleet, host, emulator_keys):
    report = fleet.report(host)
    jsonschema.validate(report, SCHEMA)
    junit = ElementTree.fromstring(fleet.report(host, ".junit.xml"))
    cases = junit.findall("./testsuite/testcase")
    assert len(cases) == report["summary"]["total"] == len(report["keys"])
    assert int(junit.get("failures")) == report["summary"]["after"]["NON_COMPLIANT"]
    assert int(junit.get("errors")) == report["summary"]["after"]["ERROR"]
    markdown = fleet.report(host, ".md")
    assert markdown.startswith("# KMS key rotation report: %s" % host)
    # The report lists every customer key of the account, and agrees with the emulator.
    customer = dict(((k["region"], k["metadata"]["KeyId"]), k) for k in emulator_keys
                    if k["metadata"]["KeyManager"] == "CUSTOMER")
    listed = dict(((k["region"], k["key_id"]), k) for k in report["keys"])
    assert set(listed) == set(customer)
    for where, key in listed.items():
        emulated = customer[where]
        assert key["after"]["key_state"] == emulated["metadata"]["KeyState"], where
        if key["after"]["rotation_enabled"] is not None:
            assert key["after"]["rotation_enabled"] == emulated["rotation_enabled"], where
            assert key["after"]["rotation_period_days"] == emulated["rotation_period_days"], where
    return report


def test_report_playbook_changes_nothing_even_without_check(emulator, fleet, two_accounts):
    before = state_of(emulator, two_accounts)
    since = len(emulator.recorded_requests())
    code, output = fleet.run("report")
    assert code == 0, output[-4000:]
    assert writes_of(emulator, two_accounts, since) == []
    assert state_of(emulator, two_accounts) == before
    for index, account in enumerate(two_accounts):
        report = check_report_files(fleet, "target-%d" % index, state_of(emulator, [account]))
        assert report["run"]["mode"] == "report" and report["run"]["account_id"] == account
        assert report["summary"]["keys_changed"] == 0
        assert report["summary"]["before"]["EXEMPT"] == 2


@pytest.mark.slow
def test_remediate_check_apply_idempotent_and_verified(emulator, fleet, two_accounts):
    before = state_of(emulator, two_accounts)
    since = len(emulator.recorded_requests())
    code, output = fleet.run("remediate", check=True, diff=True)
    assert code == 0, output[-4000:]
    assert writes_of(emulator, two_accounts, since) == [], "check mode sent write calls"
    assert state_of(emulator, two_accounts) == before
    predicted = {host: fleet.report(host) for host in fleet.hosts}
    assert all(report["run"]["check_mode"] for report in predicted.values())
    assert "rotation_period_days" in output  # per-key diffs are shown

    code, output = fleet.run("remediate")
    assert code == 0, output[-4000:]
    for index, account in enumerate(two_accounts):
        host = "target-%d" % index
        report = check_report_files(fleet, host, state_of(emulator, [account]))
        assert report["summary"]["keys_changed"] > 0
        # What check mode planned is what the real run did.
        planned = dict((k["key_arn"], (k["actions"], k["after"]["compliance"])) for k in predicted[host]["keys"])
        done = dict((k["key_arn"], (k["actions"], k["after"]["compliance"])) for k in report["keys"])
        assert planned == done
        by_alias = dict((alias, k) for k in report["keys"] for alias in k["aliases"])
        for entry in report["keys"]:
            # Only the keys a phase changed are read back; the others are as discovery found them.
            assert entry["after_source"] == ("verified" if entry["actions"] else "exempt" if entry["exempt"]
                                             else "unchanged"), entry
        assert by_alias["alias/symmetric-on-180-0"]["after"]["rotation_period_days"] == 180
        assert by_alias["alias/symmetric-on-730-0"]["after"]["rotation_period_days"] == 365
        assert by_alias["alias/pending-on-180-0"]["actions"] == ["CancelKeyDeletion", "EnableKey", "EnableKeyRotation"]
        assert by_alias["alias/pending-on-180-0"]["after"]["rotation_period_days"] == 180
        assert by_alias["alias/pending-off-7"]["exempt"] and by_alias["alias/pending-off-7"]["actions"] == []
        assert by_alias["alias/pending-off-8"]["exemption_reason"] == "CHG-1: decommissioned"
        assert by_alias["alias/disabled-off-0"]["after"]["reason"] == "KEY_DISABLED"
        final = dict((k["aliases"][0], k) for k in state_of(emulator, [account]) if k["aliases"])
        assert final["alias/pending-off-7"]["metadata"]["KeyState"] == "PendingDeletion"
        assert final["alias/pending-off-8"]["metadata"]["KeyState"] == "PendingDeletion"
        assert final["alias/pending-off-0"]["metadata"]["KeyState"] == "Enabled"
        assert final["alias/disabled-off-0"]["metadata"]["KeyState"] == "Disabled"

    since = len(emulator.recorded_requests())
    code, output = fleet.run("remediate")
    assert code == 0, output[-4000:]
    assert writes_of(emulator, two_accounts, since) == [], "a second run must change nothing"
    assert all(fleet.report(host)["summary"]["keys_changed"] == 0 for host in fleet.hosts)


def test_report_run_fails_on_noncompliance_when_asked(emulator, fleet, two_accounts):
    code, output = fleet.run("report", extra_vars={"rotation_fail_on_noncompliant": True})
    assert code != 0
    assert "target-0: compliance report: " in output and "keys are not compliant (" in output
    assert fleet.report("target-0")["summary"]["compliant"] is False


def test_pending_deletion_keep_leaves_keys_as_their_owners_decision(emulator, fleet, two_accounts):
    """Failing on non-compliance is rotation_fail_on_noncompliant's job, not pending_deletion's.

    Also as extra vars come from the command line: the period as text, a Region listed twice.
    """
    code, output = fleet.run("remediate", extra_vars={"rotation_pending_deletion": "keep",
                                                      "rotation_period_days": "180",
                                                      "rotation_regions": ["us-east-1", "us-west-2", "us-east-1"]})
    assert code == 0, output[-3000:]
    pending = [k for k in state_of(emulator, two_accounts) if k["metadata"]["KeyState"] == "PendingDeletion"]
    assert len(pending) == 2 * (2 * 2 + 2)  # per account: two kinds in two Regions, plus the two exempt keys
    report = fleet.report("target-0")
    assert report["run"]["settings"]["rotation_period_days"] == 180 and report["run"]["regions"] == [
        "us-east-1", "us-west-2"]
    assert len(set(entry["key_arn"] for entry in report["keys"])) == len(report["keys"])
    assert "## Needs the key owner" in fleet.report("target-0", ".md")


@pytest.mark.parametrize(
    "extra_vars, message",
    [
        ({"rotation_state": "on"}, "rotation_state"),
        ({"rotation_period_days": "yearly"}, "rotation_period_days"),
        ({"rotation_period_days": 30}, "rotation_period_days must be a whole number of days from 90 to 2560"),
        ({"rotation_exempt_tags": ["not", "a", "dict"]}, "rotation_exempt_tags"),
    ],
)
def test_role_variables_are_validated_before_any_call(emulator, fleet, account, extra_vars, message):
    fleet.add_target("target-0", account)
    since = len(emulator.recorded_requests())
    code, output = fleet.run("remediate", extra_vars=extra_vars)
    assert code != 0 and message in output
    assert "Traceback" not in output
    assert [r for r in emulator.recorded_requests()[since:] if r["account"] == account] == []


def runner_project(tmp_path, fleet, playbook):
    """An ansible-runner private data folder, as AWX lays one out, with the fleet's inventory and one playbook."""
    private = tmp_path / "runner"
    (private / "inventory").mkdir(parents=True)
    (private / "inventory" / "hosts.yml").write_text(open(fleet.inventory()).read())
    (private / "project").mkdir()
    (private / "project" / (playbook + ".yml")).write_text(
        "- name: Run\n  ansible.builtin.import_playbook: keyguard.kms.%s\n" % playbook)
    return private


def runner_job(private, playbook, limit, ident):
    """One ansible-runner job, as AWX runs a job (or one slice of a sliced job); returns its set_stats artifacts."""
    completed = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "ansible-runner"), "run", str(private), "-p", playbook,
         "--limit", limit, "--ident", ident], capture_output=True, text=True, timeout=600, check=False)
    assert completed.returncode == 0, completed.stdout[-3000:]
    events_dir = private / "artifacts" / ident / "job_events"
    events = [json.loads(path.read_text()) for path in events_dir.iterdir()]
    return [event for event in events if event.get("event") == "playbook_on_stats"][0]["event_data"]["artifact_data"]


def test_set_stats_of_every_host_survive_awx_merging_sliced_jobs(emulator, fleet, new_account, tmp_path):
    hosts = {}
    for index in range(3):
        account = new_account()
        seed({"us-east-1": emulator.client(account)}, "us-east-1", kinds=["symmetric_off", "hmac"])
        hosts["target_%d" % index] = account
        fleet.add_target("target_%d" % index, account, rotation_regions=["us-east-1"])
    private = runner_project(tmp_path, fleet, "report")
    # Two slices of one sliced job, then AWX's shallow merge of their artifacts.
    merged = {}
    for ident, limit in (("slice-1", "target_0:target_1"), ("slice-2", "target_2")):
        merged.update(runner_job(private, "report.yml", limit, ident))
    organization = merged.pop("keyguard_kms_organization")  # each slice's own view; the last one survives the merge
    assert organization["accounts"] == 1 and organization["line"]
    assert sorted(merged) == ["keyguard_kms_rotation__target_%d" % index for index in range(3)]
    for index, account in enumerate(hosts.values()):
        summary = merged["keyguard_kms_rotation__target_%d" % index]
        assert summary["total"] == 2 and summary["before"]["NON_COMPLIANT"] == 1
        assert (summary["account_id"], summary["mode"], summary["check_mode"]) == (account, "report", True)
        assert summary["reports"][0].endswith("target_%d.json" % index)


HOSTILE_HOSTS = ["../../../escaped", "team/pay", "acct.one", "acct-one", "acct one", "prød-1"]


def test_host_names_from_account_names_never_escape_or_collide(emulator, fleet, new_account, tmp_path):
    """With hostname: account_name, each account's owner picks its host name."""
    for host in HOSTILE_HOSTS:
        account = new_account()
        seed({"us-east-1": emulator.client(account)}, "us-east-1", kinds=["symmetric_off"])
        fleet.add_target(host, account, rotation_regions=["us-east-1"])
    private = runner_project(tmp_path, fleet, "remediate")
    stats = runner_job(private, "remediate.yml", "all", "hostile")
    assert stats.pop("keyguard_kms_organization")["accounts"] == len(HOSTILE_HOSTS)
    assert len(stats) == len(HOSTILE_HOSTS), sorted(stats)
    assert sorted(summary["target"] for summary in stats.values()) == sorted(HOSTILE_HOSTS)
    assert all(re.match(r"^keyguard_kms_rotation__[A-Za-z0-9_]+$", key) for key in stats)
    for summary in stats.values():
        assert summary["keys_changed"] == 1 and summary["errors"] == 0
        for path in summary["reports"]:
            assert os.path.dirname(path) == str(fleet.report_dir), path
    written = sorted(path.name for path in fleet.report_dir.iterdir() if path.suffix == ".json"
                     and path.name != "organization.json")
    assert len(written) == len(HOSTILE_HOSTS) and "acct.one.json" in written, written
    assert not list(tmp_path.parent.parent.glob("escaped*")) and not (tmp_path / "escaped.json").exists()


def test_reports_are_published_to_s3_once_per_run_and_a_failed_upload_says_why(emulator, fleet, account):
    seed({"us-east-1": emulator.client(account)}, "us-east-1", kinds=["symmetric_off"])
    emulator.boto3_client("s3", account).create_bucket(Bucket="security-reports")
    fleet.add_target("team/pay", account, rotation_regions=["us-east-1"],
                     rotation_report_s3_uri="s3://security-reports/keyguard/kms")
    for _run in range(2):
        code, output = fleet.run("report")
        assert code == 0, output[-3000:]
    objects = emulator.boto3_client("s3", account).list_objects_v2(Bucket="security-reports")["Contents"]
    keys = sorted(item["Key"] for item in objects)
    folders = sorted(set(key.rsplit("/", 1)[0] for key in keys))
    # Each report run publishes its three reports and the plan it wrote beside them.
    assert len(keys) == 8 and len(folders) == 2, keys
    assert all(re.match(r"^keyguard/kms/team-pay-[0-9a-f]{10}/\d{4}-\d\d-\d\dT\d{6}Z-[0-9a-f]{6}$", folder)
               for folder in folders), folders
    name = folders[0].split("/")[2]
    assert [key.rsplit("/", 1)[1] for key in keys[:4]] == [
        name + ".json", name + ".junit.xml", name + ".md", name + ".plan.json"]
    body = emulator.boto3_client("s3", account).get_object(Bucket="security-reports", Key=keys[0])["Body"].read()
    assert json.loads(body)["run"]["target"] == "team/pay"

    fleet.add_target("team/pay", account, rotation_regions=["us-east-1"],
                     rotation_report_s3_uri="s3://no-such-reports-bucket/keyguard")
    code, output = fleet.run("report")
    assert code != 0 and "Reports not published to s3://no-such-reports-bucket/keyguard/" in output
    failure = [line for line in output.splitlines() if "Reports not published" in line][-1]
    assert "NoSuchBucket" in failure or "does not exist" in failure or "not found" in failure.lower(), failure


@pytest.mark.slow
def test_the_summary_playbook_makes_one_view_from_a_folder_or_an_s3_prefix(emulator, fleet, new_account, tmp_path):
    """As an AWX workflow node after a sliced job does: the per-host reports are there already."""
    account = new_account()
    bucket = "summary-reports-%s" % account  # bucket names are one namespace for every account
    emulator.boto3_client("s3", account).create_bucket(Bucket=bucket)
    for index in range(3):
        target = new_account()
        seed({"us-east-1": emulator.client(target)}, "us-east-1", kinds=["symmetric_off", "symmetric_on_180"])
        fleet.add_target("target_%d" % index, target, rotation_regions=["us-east-1"],
                         rotation_report_s3_uri="s3://%s/keyguard" % bucket, aws_account_name="team-%d" % index)
    for limit in ("target_0:target_1", "target_2"):  # two slices, each its own run and folder
        code, output = fleet.run("report", extra_vars={"rotation_report_dir": str(tmp_path / limit.replace(":", "-"))},
                                 extra_args=["--limit", limit])
        assert code == 0, output[-3000:]
    connection = {"rotation_aws_access_key": account, "rotation_aws_secret_key": "x", "ansible_python_interpreter":
                  sys.executable, "rotation_aws_endpoint_url": emulator.url, "rotation_report_s3_region": "us-east-1"}
    code, output = fleet.run("summary", extra_vars=dict(connection, rotation_summary_source="s3://%s/keyguard" % bucket,
                                                        rotation_report_dir=str(tmp_path / "summary"),
                                                        rotation_report_s3_uri="s3://%s/keyguard" % bucket))
    assert code == 0, output[-3000:]
    overview = json.loads((tmp_path / "summary" / "organization.json").read_text())
    assert (overview["summary"]["accounts"], overview["summary"]["keys"]) == (3, 6)
    assert sorted(account_row["account_name"] for account_row in overview["by_account"]) == ["team-0", "team-1", "team-2"]
    published = [item["Key"] for item in emulator.boto3_client("s3", account).list_objects_v2(
        Bucket=bucket, Prefix="keyguard/organization/")["Contents"]]
    assert sorted(key.rsplit("/", 1)[1] for key in published) == sorted(
        ["organization.csv", "organization.html", "organization.json", "organization.junit.xml", "organization.md"])
    code, output = fleet.run("summary", extra_vars={"rotation_summary_source": str(tmp_path / "target_0-target_1"),
                                                    "rotation_report_dir": str(tmp_path / "from-folder"),
                                                    "ansible_python_interpreter": sys.executable})
    assert code == 0, output[-3000:]
    assert json.loads((tmp_path / "from-folder" / "organization.json").read_text())["summary"]["accounts"] == 2


def test_credentials_never_appear_in_output_or_files(emulator, fleet, account, tmp_path):
    seed({"us-east-1": emulator.client(account)}, "us-east-1", kinds=["symmetric_off", "pending_off"])
    secret, token = "SECRET-canary-8f3b2a9d71", "TOKEN-canary-5e1c77d4b0"
    fleet.add_target("target", account, rotation_regions=["us-east-1"], rotation_aws_secret_key=secret,
                     rotation_aws_session_token=token)
    outputs = []
    for check in (True, False):
        code, output = fleet.run("remediate", check=check, diff=True, verbosity=3)
        assert code == 0, output[-3000:]
        outputs.append(output)
    code, output = fleet.run("report", verbosity=3)
    outputs.append(output)
    with open(fleet.inventory(), encoding="utf-8") as handle:
        inventory = handle.read()
    assert secret in inventory and token in inventory  # the canaries are in play
    written = [path.read_text(errors="replace") for path in fleet.report_dir.rglob("*") if path.is_file()]
    assert written, "the role wrote no files"
    for text in outputs + written:
        assert secret not in text and token not in text
