"""The aws_accounts inventory plugin against an Organization in the emulator, and the role through assumed roles."""

import json
import os
import subprocess
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "harness"))

from emulator import SECRET_KEY  # noqa: E402  pylint: disable=wrong-import-position
from organization import ROLE_NAME, build_organization  # noqa: E402  pylint: disable=wrong-import-position
from seed import seed  # noqa: E402  pylint: disable=wrong-import-position

LAYOUT = {"": ["sandbox"], "Workloads/Prod": ["payments", "orders"], "Workloads/Dev": ["dev"]}
TAGS = {"payments": {"team": "payments"}, "orders": {"team": "orders"}}


def inventory_file(tmp_path, emulator, management, **options):
    config = {"plugin": "keyguard.kms.aws_accounts", "access_key": management, "secret_key": SECRET_KEY,
              "endpoint_url": emulator.url, "region": "us-east-1"}
    config.update(options)
    path = tmp_path / "org.aws_accounts.yml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


def plain(value):
    """ansible-inventory marks strings from inventory plugins as unsafe ({"__ansible_unsafe": ...}); unwrap them."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return dict((key, plain(item)) for key, item in value.items())
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def ansible_inventory(path, *args):
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_INVENTORY_ENABLED="keyguard.kms.aws_accounts")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_URL", "AWS_ENDPOINT_URL"):
        env.pop(name, None)
    return subprocess.run(["ansible-inventory", "-i", path] + list(args), env=env, capture_output=True, text=True,
                          timeout=300, check=False)


def test_an_organization_as_hosts_groups_and_variables(emulator, new_account, tmp_path):
    management = new_account()
    accounts, units = build_organization(emulator, management, LAYOUT, TAGS)
    emulator.boto3_client("account", management).enable_region(AccountId=accounts["payments"]["id"],
                                                               RegionName="eu-south-1")
    path = inventory_file(tmp_path, emulator, management, assume_role_name=ROLE_NAME, regions="enabled",
                          account_tags=True, exclude_accounts=[accounts["sandbox"]["id"]],
                          keyed_groups=[{"key": "aws_account_ou_path", "prefix": "ou"},
                                        {"key": "aws_account_tags.team | default('none')", "prefix": "team"}],
                          compose={"rotation_period_days": "180"})
    listed = ansible_inventory(path, "--list")
    assert listed.returncode == 0 and "Traceback" not in listed.stderr, listed.stderr[-2000:]
    inventory = plain(json.loads(listed.stdout))
    hostvars = inventory["_meta"]["hostvars"]
    members = dict((name, accounts[name]["id"]) for name in ("payments", "orders", "dev"))
    # The management account is in the Organization too; the sandbox is excluded.
    assert set(hostvars) == set(members.values()) | {management}
    payments = hostvars[members["payments"]]
    assert payments["aws_account_name"] == "payments" and payments["aws_account_email"] == "payments@example.com"
    assert payments["aws_account_ou_path"] == "Root/Workloads/Prod"
    assert payments["aws_account_tags"] == {"team": "payments"}
    assert payments["rotation_assume_role_arn"] == "arn:aws:iam::%s:role/%s" % (members["payments"], ROLE_NAME)
    assert "eu-south-1" in payments["rotation_regions"] and "us-east-1" in payments["rotation_regions"]
    assert "eu-south-1" not in hostvars[members["orders"]]["rotation_regions"]
    assert payments["rotation_period_days"] == 180 and payments["ansible_connection"] == "local"
    assert "rotation_assume_role_arn" not in hostvars[management], "the inventory's own account needs no role"
    assert sorted(inventory["ou_Root_Workloads_Prod"]["hosts"]) == sorted([members["payments"], members["orders"]])
    assert inventory["team_payments"]["hosts"] == [members["payments"]]
    graph = ansible_inventory(path, "--graph")
    assert "@aws_accounts:" in graph.stdout and "@ou_Root_Workloads_Dev:" in graph.stdout

    under = inventory_file(tmp_path, emulator, management, organizational_units=[units["Workloads/Prod"]],
                           regions=["eu-west-1"], hostname="account_name")
    names = plain(json.loads(ansible_inventory(under, "--list").stdout))["_meta"]["hostvars"]
    assert sorted(names) == ["orders", "payments"]
    assert names["orders"]["rotation_regions"] == ["eu-west-1"] and "rotation_assume_role_arn" not in names["orders"]
    # A walk scoped to an OU names paths from the root, as a whole walk does.
    assert names["orders"]["aws_account_ou_path"] == "Root/Workloads/Prod"
    assert names["orders"]["aws_account_ou_ids"][0].startswith("r-")
    assert names["orders"]["aws_account_ou_ids"][-1] == units["Workloads/Prod"]


def test_accounts_that_share_a_name_are_all_hosts(emulator, new_account, tmp_path):
    management = new_account()
    accounts, _units = build_organization(emulator, management, {"A": ["dup"], "B": ["dup", "solo"]})
    listed = ansible_inventory(inventory_file(tmp_path, emulator, management, hostname="account_name",
                                              exclude_accounts=[management]), "--list")
    assert listed.returncode == 0, listed.stderr[-2000:]
    hostvars = plain(json.loads(listed.stdout))["_meta"]["hostvars"]
    duplicates = sorted(name for name in hostvars if name.startswith("dup"))
    assert len(hostvars) == 3 and len(duplicates) == 2, sorted(hostvars)
    assert all(hostvars[name]["aws_account_id"] in name for name in duplicates)
    assert "2 accounts are named 'dup'" in listed.stderr


def test_one_member_that_cannot_be_read_carries_its_error_and_the_others_go_on(emulator, new_account, tmp_path):
    management = new_account()
    accounts, _units = build_organization(emulator, management, {"": ["broken", "fine"]}, TAGS)
    emulator.set_faults(management, deny={"operations": ["ListRegions"], "key_ids": [accounts["broken"]["id"]]})
    try:
        path = inventory_file(tmp_path, emulator, management, regions="enabled", exclude_accounts=[management])
        listed = ansible_inventory(path, "--list")
        assert listed.returncode == 0, listed.stderr[-2000:]
        hostvars = plain(json.loads(listed.stdout))["_meta"]["hostvars"]
        broken, fine = hostvars[accounts["broken"]["id"]], hostvars[accounts["fine"]["id"]]
        assert "regions: ListRegions failed with AccessDeniedException" in broken["aws_account_error"]
        assert "aws_account_error" not in fine and "us-east-1" in fine["rotation_regions"]
        assert "its regions could not be read" in listed.stderr
        strict = ansible_inventory(inventory_file(tmp_path, emulator, management, regions="enabled", strict=True),
                                   "--list")
        assert "(strict)" in strict.stderr and "No inventory was parsed" in strict.stderr
        assert "Traceback" not in strict.stderr
    finally:
        emulator.clear_faults(management)


def test_clear_errors_without_traceback(emulator, new_account, tmp_path):
    loner = new_account()
    failed = ansible_inventory(inventory_file(tmp_path, emulator, loner), "--list")
    assert "is not in an AWS Organization" in failed.stderr and "Traceback" not in failed.stderr
    management = new_account()
    build_organization(emulator, management, {"": ["solo"]})
    bad = ansible_inventory(inventory_file(tmp_path, emulator, management, organizational_units=["ou-zzzz-00000000"]),
                            "--list")
    assert "check organizational_units" in bad.stderr and "Traceback" not in bad.stderr
    typo = ansible_inventory(inventory_file(tmp_path, emulator, management, organizational_units=["Prod"],
                                            regions="all"), "--list")
    assert "'Prod' is not an OU ID" in typo.stderr and "regions must be a list of Region names or 'enabled'" in typo.stderr


def test_the_role_runs_through_assumed_roles_into_member_accounts(emulator, new_account, tmp_path):
    management = new_account()
    accounts, _units = build_organization(emulator, management, {"Workloads": ["payments", "orders"]})
    for name in ("payments", "orders"):
        seed({"us-east-1": emulator.client(accounts[name]["id"])}, "us-east-1", kinds=["symmetric_off", "pending_off"])
    report_dir = tmp_path / "reports"
    path = inventory_file(tmp_path, emulator, management, assume_role_name=ROLE_NAME, regions=["us-east-1"],
                          exclude_accounts=[management], hostname="account_name",
                          compose={"rotation_aws_access_key": repr(management), "rotation_aws_secret_key": repr(SECRET_KEY),
                                   "rotation_aws_endpoint_url": repr(emulator.url),
                                   "rotation_report_dir": repr(str(report_dir))})
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_INVENTORY_ENABLED="keyguard.kms.aws_accounts")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_URL", "AWS_ENDPOINT_URL", "AWS_REGION"):
        env.pop(name, None)
    since = len(emulator.recorded_requests())
    completed = subprocess.run(
        ["ansible-playbook", "-i", path, "keyguard.kms.remediate", "-e",
         json.dumps({"keyguard_targets": "aws_accounts", "ansible_python_interpreter": sys.executable})],
        env=env, capture_output=True, text=True, timeout=600, check=False)
    assert completed.returncode == 0, completed.stdout[-3000:]
    requests = emulator.recorded_requests()[since:]
    for name in ("payments", "orders"):
        report = json.loads((report_dir / (name + ".json")).read_text())
        assert report["run"]["account_id"] == accounts[name]["id"]
        assert (report["run"]["account_name"], report["run"]["ou_path"]) == (name, "Root/Workloads")
        assert [path.name.endswith("-remediate.json") for path in (report_dir / "history" / name).iterdir()] == [True]
        assert report["summary"]["keys_changed"] == 2 and report["summary"]["errors"] == 0
        member_calls = [r for r in requests if r["account"] == accounts[name]["id"] and r["service"] == "kms"]
        assert member_calls and all(not r["access_key"].isdigit() for r in member_calls), \
            "the member's KMS is reached with assumed-role credentials"
    assert [r for r in requests if r["account"] == management and r["service"] == "kms"] == []
    # One view of the Organization, across both accounts.
    overview = json.loads((report_dir / "organization.json").read_text())
    assert (overview["summary"]["accounts"], overview["summary"]["keys"]) == (2, 4)
    assert [group["ou_path"] for group in overview["by_ou"]] == ["Root/Workloads"]
    assert sorted(account["account_name"] for account in overview["by_account"]) == ["orders", "payments"]
    assert len(overview["changes"]) == 4 and overview["summary"]["line"].startswith("2 of 2 accounts compliant")
    for name in ("organization.csv", "organization.md", "organization.junit.xml", "organization.html"):
        assert (report_dir / name).stat().st_size > 0, name
    assert len(list((report_dir / "history" / "organization").iterdir())) == 1
    assert any(r["operation"] == "AssumeRole" and r["account"] == management for r in requests)


def test_each_account_s_phase_runs_with_that_host_s_own_variables(emulator, new_account, tmp_path):
    """The phases run once for the play's batch, yet each host's role ARN, built by a play variable from its own
    host variables, reaches only that host's work; a host whose variables cannot be templated fails alone."""
    management = new_account()
    accounts, _units = build_organization(emulator, management, {"Workloads": ["payments", "orders"]})
    for name in ("payments", "orders"):
        seed({"us-east-1": emulator.client(accounts[name]["id"])}, "us-east-1", kinds=["symmetric_off", "pending_off"])
    report_dir = tmp_path / "reports"
    inventory = {"kms_targets": {"hosts": {
        "payments": {"member_id": accounts["payments"]["id"]},
        "orders": {"member_id": accounts["orders"]["id"]},
        "nameless": {}}}}
    (tmp_path / "inventory.yml").write_text(yaml.safe_dump({"all": {"children": inventory}}))
    playbook = [{"name": "remediation", "hosts": "kms_targets", "connection": "local", "gather_facts": False, "vars": {
        "ansible_python_interpreter": sys.executable, "rotation_regions": ["us-east-1"],
        "rotation_aws_access_key": management, "rotation_aws_secret_key": SECRET_KEY,
        "rotation_aws_endpoint_url": emulator.url, "rotation_report_dir": str(report_dir),
        # One play variable, a different role for each host.
        "rotation_assume_role_arn": "arn:aws:iam::{{ member_id }}:role/%s" % ROLE_NAME},
        "roles": [{"role": "keyguard.kms.rotation"}]}]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(playbook, sort_keys=False))
    env = dict(os.environ, ANSIBLE_NOCOLOR="1")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_URL", "AWS_ENDPOINT_URL", "AWS_REGION"):
        env.pop(name, None)
    completed = subprocess.run(["ansible-playbook", "-i", str(tmp_path / "inventory.yml"), str(tmp_path / "play.yml"),
                                "--diff"], env=env, capture_output=True, text=True, timeout=600, check=False)
    output = completed.stdout
    assert completed.returncode == 2, output[-3000:]
    assert "Traceback" not in output + completed.stderr
    for name in ("payments", "orders"):
        report = json.loads((report_dir / (name + ".json")).read_text())
        assert report["run"]["account_id"] == accounts[name]["id"]
        assert report["summary"]["keys_changed"] == 2 and report["summary"]["errors"] == 0
        assert {key["key_arn"].split(":")[4] for key in report["keys"]} == {accounts[name]["id"]}
    assert not (report_dir / "nameless.json").exists() or json.loads(
        (report_dir / "nameless.json").read_text())["summary"]["keys_changed"] == 0
    assert "member_id" in output
    recap = dict((line.split()[0], line) for line in output.split("PLAY RECAP")[1].strip().splitlines())
    assert "failed=1" in recap["nameless"] and "failed=0" in recap["payments"] and "failed=0" in recap["orders"]
    # Each host is handed its own change; a run_once phase's own result counts on the batch's first host only.
    assert all(" changed=0 " not in recap[name] for name in ("payments", "orders"))
    assert sorted(recap[name].split("changed=")[1].split()[0] for name in ("payments", "orders")) == ["1", "3"]
    # --diff: each key's change is shown once, under its own host's Result task.
    result_section = output.split("TASK [keyguard.kms.rotation : Result")[1]
    for name in ("payments", "orders"):
        assert result_section.count(":%s:key/" % accounts[name]["id"]) >= 2


def test_a_host_that_skips_this_run_of_the_role_is_never_worked_on_with_an_earlier_run_s_plan(emulator, new_account,
                                                                                              tmp_path):
    """Play 1 remediates both accounts; play 2 only one (a condition on include_role). The other keeps play 1's
    registered plan and settings, and the run-once phases of play 2 must leave it alone; a condition on roles: is
    refused before any AWS call."""
    first, second = new_account(), new_account()
    for account in (first, second):
        seed({"us-east-1": emulator.client(account)}, "us-east-1", kinds=["symmetric_off", "pending_off"])
    hosts = dict((name, emulator.target_host(account, ["us-east-1"], tmp_path / "reports"))
                 for name, account in (("first", first), ("second", second)))
    (tmp_path / "inventory.yml").write_text(yaml.safe_dump({"all": {"children": {"kms_targets": {"hosts": hosts}}}}))
    include = {"ansible.builtin.include_role": {"name": "keyguard.kms.rotation"}}
    shown = {"name": "phase hosts", "run_once": True, "ansible.builtin.debug": {
        "msg": "KMS.3 ran for {{ __rotation_rescued_all.hosts | default({}) | list | sort | join(',') }}"}}
    plays = [
        {"name": "remediate both", "hosts": "kms_targets", "gather_facts": False, "tasks": [
            dict(include, name="remediate"), shown]},
        {"name": "remediate one", "hosts": "kms_targets", "gather_facts": False, "tasks": [
            dict(include, name="remediate", when="inventory_hostname == 'first'"), shown]},
        {"name": "refused", "hosts": "kms_targets", "gather_facts": False, "roles": [
            {"role": "keyguard.kms.rotation", "when": "inventory_hostname == 'second'"}]},
    ]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(plays, sort_keys=False))
    completed = subprocess.run(["ansible-playbook", "-i", str(tmp_path / "inventory.yml"), str(tmp_path / "play.yml")],
                               env=dict(os.environ, ANSIBLE_NOCOLOR="1"), capture_output=True, text=True, timeout=600,
                               check=False)
    output = completed.stdout
    assert "Traceback" not in output + completed.stderr
    assert "KMS.3 ran for first,second" in output.split("PLAY [remediate one]")[0], output[-3000:]
    # Play 2: only the host that ran its preflight. second's plan of play 1 still says "rescue" (its key was pending).
    assert '"msg": "KMS.3 ran for first"' in output.split("PLAY [remediate one]")[1], output[-3000:]
    assert "the rotation role cannot take a condition (when: on roles: or import_role)" in output, output[-3000:]
