# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role's action plugins on the controller: inputs read from the host's variables, the plan, the report files."""

from __future__ import annotations

import json
import os
from unittest import mock

import yaml

from ansible.parsing.dataloader import DataLoader
from ansible.playbook.play_context import PlayContext
from ansible.template import Templar

from ansible_collections.keyguard.kms.plugins.action import rotation_plan
from ansible_collections.keyguard.kms.plugins.action import rotation_preflight
from ansible_collections.keyguard.kms.plugins.action import rotation_report

ROLE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "roles", "rotation")


def action(plugin, args, check_mode=False):
    task = mock.MagicMock(args=args, check_mode=check_mode, async_val=0, action=plugin.__name__, when=[])
    task.get_validated_value = None
    loader = DataLoader()
    return plugin.ActionModule(task=task, connection=mock.MagicMock(), play_context=PlayContext(), loader=loader,
                               templar=Templar(loader=loader), shared_loader_obj=None)


def role_defaults():
    with open(os.path.join(ROLE, "defaults", "main.yml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def test_preflight_reads_every_variable_argument_specs_lists_and_nothing_else(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    task_vars = dict(role_defaults(), inventory_hostname="team/pay", rotation_regions=["eu-west-1"],
                     rotation_period_days="180", rotation_fail_on_noncompliant="false", rotation_concurrency=4,
                     unrelated_variable="ignored", awx_job_id=77)
    result = action(rotation_preflight, {"mode": "report"}).run(task_vars=task_vars)
    assert not result.get("failed"), result
    settings = result["settings"]
    assert (settings["regions"], settings["rotation_period_days"], settings["fail_on_noncompliant"]) == (
        ["eu-west-1"], 180, False)
    assert settings["awx_job_id"] == 77 and settings["report_name"].startswith("team-pay-")
    assert settings["mode"] == "report" and "held" not in settings["lock"], "a report run takes no lock"


def test_preflight_names_each_bad_variable_and_an_unreadable_account(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    task_vars = dict(role_defaults(), inventory_hostname="prod", rotation_regions="eu-west-1",
                     aws_account_error="regions: ListRegions failed with AccessDeniedException")
    result = action(rotation_preflight, {"mode": "remediate"}).run(task_vars=task_vars)
    assert result["failed"] and result["msg"].startswith("prod: the rotation role's inputs need fixing before any "
                                                         "AWS call: ")
    assert "rotation_regions must be a list" in result["msg"] and "ListRegions failed" in result["msg"]
    assert "held" not in result["settings"]["lock"], "no lock before the inputs are right"


def test_every_variable_the_role_reads_is_in_argument_specs():
    """The preflight reads what argument_specs lists; the checks read nothing it does not list."""
    import re

    from ansible_collections.keyguard.kms.plugins.plugin_utils._role import settings

    with open(settings.__file__, encoding="utf-8") as handle:
        read = set(re.findall(r'"(rotation_[a-z0-9_]+)"', handle.read()))
    listed = set(rotation_preflight.role_variables())
    # rotation_<tuning> names are built from the shared option names.
    read |= set("rotation_" + name for name in settings.TUNING_COUNTS + ("rate_limits",))
    assert read - listed == set(), read - listed
    assert set(role_defaults()) <= listed


def test_plan_and_report_actions_build_then_write(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    preflight = action(rotation_preflight, {"mode": "remediate"}).run(task_vars=dict(
        role_defaults(), inventory_hostname="prod", rotation_regions=["us-east-1"]), )
    settings = preflight["settings"]
    key = {"key_id": "k1", "key_arn": "arn:aws:kms:us-east-1:111122223333:key/k1", "region": "us-east-1",
           "aliases": [], "key_state": "Enabled", "rotation_enabled": False, "rotation_period_days": None,
           "compliance": "NON_COMPLIANT", "reason": "ROTATION_DISABLED", "message": "off", "tags": {},
           "account_id": "111122223333"}
    discovery = {"kms_keys": [key], "region_results": [{"region": "us-east-1", "error": None, "warnings": []}]}
    plan = action(rotation_plan, {"settings": settings, "discovery": discovery}).run(task_vars={})
    assert plan["enforce"] == [key["key_arn"]] and plan["rescue"] == []
    built = action(rotation_report, {"settings": settings, "discovery": discovery, "plan": plan}).run(task_vars={})
    assert built["finding_updates"] == [] and built["summary"]["total"] == 1
    assert not list((tmp_path / "keyguard-reports").glob("prod.*")), "building writes no report yet"
    written = action(rotation_report, {"settings": settings, "draft": built["draft"]}).run(task_vars={})
    assert sorted(os.path.basename(path) for path in written["files"]) == ["prod.json", "prod.junit.xml", "prod.md"]
    assert json.loads((tmp_path / "keyguard-reports" / "prod.json").read_text())["run"]["target"] == "prod"
    assert "keyguard_kms_rotation__prod" in written["stats"]
    assert "1 in-scope key(s) still not as wanted" in written["failure"]


def test_text_variables_given_as_numbers_are_text():
    """A profile or access key ID of digits, unquoted in an INI or YAML inventory, arrives as a number."""
    variables = action(rotation_preflight, {"mode": "report"})._variables(
        {"rotation_aws_profile": 123456789012, "rotation_concurrency": 4, "rotation_state": "enabled"})
    assert variables == {"rotation_aws_profile": "123456789012", "rotation_concurrency": 4, "rotation_state": "enabled"}


def test_each_run_is_kept_in_history_never_overwritten(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    kept = []
    for check_mode in (False, False, True):
        preflight = action(rotation_preflight, {"mode": "report"}, check_mode).run(task_vars=dict(
            role_defaults(), inventory_hostname="team/pay", rotation_regions=["us-east-1"],
            aws_account_name="Payments", aws_account_ou_path="Root/Workloads/Prod"))
        settings = dict(preflight["settings"], started="2026-12-01T10:00:00Z")  # all three in the same second
        built = action(rotation_report, {"settings": settings}).run(task_vars={})
        written = action(rotation_report, {"settings": settings, "draft": built["draft"]}).run(task_vars={})
        kept.append(written["history"])
    folder = tmp_path / "keyguard-reports" / "history" / settings["report_name"]
    assert len(set(kept)) == 3 and all(os.path.dirname(path) == str(folder) for path in kept)
    assert os.path.basename(kept[0]) == "2026-12-01T100000Z-report.json"
    report = json.loads(open(kept[1]).read())
    assert (report["run"]["account_name"], report["run"]["ou_path"]) == ("Payments", "Root/Workloads/Prod")
    markdown = (tmp_path / "keyguard-reports" / (settings["report_name"] + ".md")).read_text()
    assert "| OU path | Root/Workloads/Prod |" in markdown and "(Payments) |" in markdown


def test_a_summary_from_a_folder_reads_every_host_report_and_only_those(tmp_path):
    from ansible_collections.keyguard.kms.plugins.action.rotation_organization import reports_in_folder

    report = {"schema_version": 1, "run": {"target": "x"}, "keys": [], "summary": {}}
    plan = {"kind": "keyguard.kms/plan", "schema_version": 1, "run": {"target": "x"}, "keys": [], "summary": {}}
    for name in ("organization-prod.json", "prod.json", "organization.json", ".prod.draft-0a1b2c.json",
                 "prod.interrupted-2026-12-01T100000Z-0a1b2c.json", "prod.plan.json"):
        (tmp_path / name).write_text(json.dumps(
            plan if "plan" in name else report if "interrupted" not in name else {"keys": []}))
    assert len(reports_in_folder(str(tmp_path))) == 2, "organization-prod is a host; organization.json is not"
