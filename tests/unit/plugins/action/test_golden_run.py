# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A fixed run through the role's action plugins (plan, build, write), its reports compared with the ones recorded
before the code was reshaped: same input, same reports.

Run with KEYGUARD_RECORD_GOLDEN=1 to record them again, and say why in the commit.
"""

from __future__ import annotations

import datetime
import os

import pytest

from ansible_collections.keyguard.kms.plugins.action import rotation_plan
from ansible_collections.keyguard.kms.plugins.action import rotation_report
from ansible_collections.keyguard.kms.plugins.plugin_utils._report.render_json import report_json
from ansible_collections.keyguard.kms.plugins.plugin_utils._report.renderers import RENDERERS

from .test_role_actions import action

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
ACCOUNT = "111122223333"


def arn(kid, region="us-east-1"):
    return "arn:aws:kms:%s:%s:key/%s" % (region, ACCOUNT, kid)


def discovered(kid, compliance, reason, state="Enabled", rotation=(False, None), region="us-east-1", aliases=(),
               tags=None):
    return {"key_id": kid, "key_arn": arn(kid, region), "region": region, "aliases": list(aliases),
            "key_state": state, "rotation_enabled": rotation[0], "rotation_period_days": rotation[1],
            "compliance": compliance, "reason": reason, "message": "as found: " + kid, "tags": tags or {},
            "account_id": ACCOUNT}


def phase_result(kid, actions, compliance="NON_COMPLIANT", reason="ROTATION_DISABLED", state="Enabled",
                 rotation=(True, 365), region="us-east-1", **extra):
    result = {"input": arn(kid, region), "key_id": kid, "key_arn": arn(kid, region), "region": region,
              "key_state": state, "rotation_enabled": rotation[0], "rotation_period_days": rotation[1],
              "compliance": compliance, "reason": reason, "message": "phase: " + kid, "changed": bool(actions),
              "actions": actions, "before": None}
    result.update(extra)
    return result


def finding(kid, control, workflow="NEW", note=None, updated_by=None, region="us-east-1"):
    return {"finding_id": "finding-%s-%s" % (control, kid), "product_arn": "arn:aws:securityhub:%s::product/aws/"
            "securityhub" % region, "control_id": control, "origin": "consolidated", "key_arn": arn(kid, region),
            "key_reference": arn(kid, region), "account_id": ACCOUNT, "region": region, "compliance_status": "FAILED",
            "workflow_status": workflow, "note": note, "note_updated_by": updated_by}


def scenario():
    settings = {
        "target": "payments-prod", "report_name": "payments-prod", "mode": "remediate", "check_mode": False,
        "started": "2026-12-01T10:00:00Z", "run_id": "0a1b2c", "regions": ["us-east-1", "us-west-2"],
        "partition": "aws", "state": "enabled", "rotation_period_days": 365, "pending_deletion": "cancel",
        "exempt_keys": [{"key": "alias/legacy", "reason": "CHG-1042: decommissioned"}],
        "exempt_tags": {"keyguard:intended-deletion": ["true"]}, "scope": "all", "securityhub_update": True,
        "securityhub_suppress_exempt": True, "securityhub_region": None, "securityhub_regions": ["us-east-1"],
        "fail_on_noncompliant": False, "awx_job_id": 4242, "report_formats": ["json", "markdown", "junit"],
        "report_dir": "/reports", "report_s3_bucket": "security-reports", "report_s3_prefix": "keyguard/",
        "report_s3_region": "us-east-1",
    }
    kms_keys = [
        discovered("off", "NON_COMPLIANT", "ROTATION_DISABLED"),
        discovered("ok", "COMPLIANT", None, rotation=(True, 180)),
        discovered("long", "NON_COMPLIANT", "ROTATION_PERIOD_MISMATCH", rotation=(True, 730), region="us-west-2"),
        discovered("pending", "NON_COMPLIANT", "PENDING_DELETION", state="PendingDeletion", rotation=(None, None)),
        discovered("denied", "NON_COMPLIANT", "PENDING_DELETION", state="PendingDeletion", rotation=(None, None)),
        discovered("legacy", "NON_COMPLIANT", "PENDING_DELETION", state="PendingDeletion", aliases=["alias/legacy"]),
        discovered("tagged", "NON_COMPLIANT", "PENDING_DELETION", state="PendingDeletion",
                   tags={"keyguard:intended-deletion": "true"}),
        discovered("intended", "NON_COMPLIANT", "PENDING_DELETION", state="PendingDeletion"),
        discovered("disabled", "NON_COMPLIANT", "KEY_DISABLED", state="Disabled"),
        discovered("raced", "NON_COMPLIANT", "ROTATION_DISABLED"),
        discovered("rsa", "NOT_APPLICABLE", "ASYMMETRIC", rotation=(None, None)),
        discovered("broken", "ERROR", "AccessDeniedException", state=None, rotation=(None, None)),
    ]
    discovery = {"kms_keys": kms_keys, "region_results": [
        {"region": "us-east-1", "error": None, "aliases_listed": True, "warnings": []},
        {"region": "us-west-2", "error": None, "aliases_listed": True, "warnings": []}]}
    findings = {"findings": [
        finding("off", "KMS.4"), finding("pending", "KMS.3"), finding("disabled", "KMS.4", "NOTIFIED", "told", "bob"),
        finding("intended", "KMS.3", "SUPPRESSED", "deletion intended, CHG-77", "alice"), finding("tagged", "KMS.3"),
        finding("ok", "KMS.4")],
        "region_results": [{"region": "us-east-1", "findings": 6, "error": None}]}
    rescued = {"results": [
        phase_result("pending", ["CancelKeyDeletion", "EnableKey", "EnableKeyRotation"], reason="PENDING_DELETION"),
        phase_result("denied", ["CancelKeyDeletion"], "ERROR", "AccessDeniedException", "Disabled", (None, None),
                     finish_command="aws kms enable-key --key-id %s --region us-east-1" % arn("denied"))],
               "failed": True, "msg": "1 of 2 keys failed"}
    enforced = {"results": [
        phase_result("off", ["EnableKeyRotation"]),
        phase_result("long", ["EnableKeyRotation"], reason="ROTATION_PERIOD_MISMATCH", region="us-west-2"),
        phase_result("raced", [], "NON_COMPLIANT", "KEY_DISABLED", "Disabled", (False, None), other_actor=True)]}
    verified = {"kms_keys": [
        discovered("pending", "COMPLIANT", None, rotation=(True, 365)),
        discovered("denied", "NON_COMPLIANT", "KEY_DISABLED", state="Disabled"),
        discovered("off", "COMPLIANT", None, rotation=(True, 365)),
        discovered("long", "COMPLIANT", None, rotation=(True, 365), region="us-west-2"),
        discovered("raced", "NON_COMPLIANT", "KEY_DISABLED", state="Disabled")]}
    return settings, discovery, findings, rescued, enforced, verified


FINISHED = datetime.datetime(2026, 12, 1, 10, 5, tzinfo=datetime.timezone.utc)


class _FrozenDatetime(datetime.datetime):
    @classmethod
    def now(cls, tz=None):
        return FINISHED


class FrozenClock:
    """Stands for the datetime module in the report action: the run finishes at FINISHED."""
    timezone = datetime.timezone
    datetime = _FrozenDatetime


def renderings(tmp_path, monkeypatch):
    monkeypatch.setattr(rotation_report, "datetime", FrozenClock)
    settings, discovery, findings, rescued, enforced, verified = scenario()
    settings["report_dir"] = str(tmp_path)
    plan = action(rotation_plan, {"settings": settings, "discovery": discovery, "findings": findings}).run(task_vars={})
    built = action(rotation_report, {"settings": settings, "discovery": discovery, "plan": plan, "rescued": rescued,
                                     "enforced": enforced, "verified": verified, "findings": findings}).run(task_vars={})
    updates = built["finding_updates"]
    updated = {"results": [{"finding_id": update["finding_id"], "status": "updated",
                            "after": {"workflow_status": update["workflow_status"], "note": update["note"]},
                            "error_code": None, "error_message": None} for update in updates]}
    written = action(rotation_report, {"settings": settings, "draft": built["draft"],
                                       "findings_updated": updated}).run(task_vars={})
    assert not os.path.exists(built["draft"]), "the draft is gone once the reports are written"
    outputs = {}
    for name, (suffix, _render) in RENDERERS.items():
        with open(os.path.join(str(tmp_path), settings["report_name"] + suffix), encoding="utf-8") as handle:
            outputs[name] = handle.read()
    outputs["updates"] = report_json({"updates": updates})
    outputs["publication"] = report_json({"uploads": written["uploads"], "stats": written["stats"],
                                          "failure": written["failure"]}).replace(str(tmp_path), "/reports")
    return outputs


@pytest.mark.parametrize("name", ["json", "markdown", "junit", "updates", "publication"])
def test_a_fixed_run_gives_the_recorded_reports(name, tmp_path, monkeypatch):
    text = renderings(tmp_path, monkeypatch)[name]
    path = os.path.join(FIXTURES, "golden-run.%s.txt" % name)
    if os.environ.get("KEYGUARD_RECORD_GOLDEN"):
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    with open(path, encoding="utf-8") as handle:
        assert text == handle.read()
