# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role's decisions and reports: scope, exemptions, verification and renderings."""

from __future__ import annotations

import json
import os
from xml.etree import ElementTree

import jsonschema
import pytest

from ansible_collections.keyguard.kms.plugins.plugin_utils import _report as report

SCHEMA_PATH = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "roles", "rotation", "files",
                           "report.schema.json")


def key(kid, compliance="NON_COMPLIANT", reason="ROTATION_DISABLED", state="Enabled", rotation=(False, None),
        region="us-east-1", aliases=(), tags=None):
    return {
        "key_id": kid, "key_arn": "arn:aws:kms:%s:111122223333:key/%s" % (region, kid), "region": region,
        "aliases": list(aliases), "key_state": state, "rotation_enabled": rotation[0],
        "rotation_period_days": rotation[1], "compliance": compliance, "reason": reason, "message": "m " + kid,
        "tags": tags or {}, "account_id": "111122223333",
    }


def fleet():
    return [
        key("off"),
        key("ok", "COMPLIANT", None, rotation=(True, 180)),
        key("long", "NON_COMPLIANT", "ROTATION_PERIOD_MISMATCH", rotation=(True, 730), region="us-west-2"),
        key("pending", "NON_COMPLIANT", "PENDING_DELETION", state="PendingDeletion", rotation=(None, None)),
        key("doomed", "NON_COMPLIANT", "PENDING_DELETION", state="PendingDeletion", aliases=["alias/old"]),
        key("tagged", "NON_COMPLIANT", "PENDING_DELETION", state="PendingDeletion", tags={"delete": "yes"}),
        key("disabled", "NON_COMPLIANT", "KEY_DISABLED", state="Disabled"),
        key("rsa", "NOT_APPLICABLE", "ASYMMETRIC", rotation=(None, None)),
        key("broken", "ERROR", "AccessDeniedException", state=None, rotation=(None, None)),
    ]


def test_targets_split_exempt_rescue_and_enforce_in_batches():
    targets = report.rotation_targets(
        fleet(), [{"key": "alias/old", "reason": "CHG-7"}], {"delete": ["yes"]}, "enabled", 1)
    assert [(e["key_id"], e["reason"]) for e in targets["exempt"]] == [("doomed", "CHG-7"),
                                                                       ("tagged", "tagged delete=yes")]
    assert [b["key_arns"][0].rsplit("/", 1)[1] for b in targets["rescue"]] == ["pending"]
    assert [(b["region"], b["key_arns"][0].rsplit("/", 1)[1]) for b in targets["enforce"]] == [
        ("us-east-1", "off"), ("us-west-2", "long")]


def test_targets_for_disabled_rotation_pick_rotating_keys():
    targets = report.rotation_targets(fleet(), state="disabled")
    assert sorted(arn.rsplit("/", 1)[1] for b in targets["enforce"] for arn in b["key_arns"]) == ["long", "ok"]


@pytest.mark.parametrize("exempt", ["doomed", "arn:aws:kms:us-east-1:111122223333:key/doomed", "alias/old",
                                    "arn:aws:kms:us-east-1:111122223333:alias/old"])
def test_exemption_by_any_reference(exempt):
    assert report.exemption_for(fleet()[4], [exempt], {}) == "listed in rotation_exempt_keys"


def test_verify_failures_skip_exempt_disabled_and_not_applicable():
    keys = fleet()
    exempt = report.rotation_targets(keys, ["alias/old"], {"delete": ""})["exempt"]
    failures = report.verify_failures(keys, exempt, "enabled", 365)
    assert sorted(f["key_arn"].rsplit("/", 1)[1] for f in failures) == ["broken", "long", "off", "pending"]
    assert report.verify_failures([key("fast", "COMPLIANT", None, rotation=(True, 90))], [], "enabled", 365) == []


def test_report_predicted_in_check_mode_and_verified_after_a_run():
    keys = fleet()
    targets = report.rotation_targets(keys, ["alias/old"], {"delete": ""})
    rescued = [dict(key("pending"), input="x", actions=["CancelKeyDeletion", "EnableKey", "EnableKeyRotation"],
                    compliance="NON_COMPLIANT", reason="PENDING_DELETION", key_state="Enabled",
                    rotation_enabled=True, rotation_period_days=None)]
    enforced = [dict(key("off"), input="x", actions=["EnableKeyRotation"], rotation_enabled=True,
                     rotation_period_days=365),
                dict(key("long", region="us-west-2"), input="y", actions=[], compliance="ERROR",
                     reason="ThrottlingException", message="throttled")]
    predicted = report.build_report(keys, rescued, enforced, None, targets["exempt"],
                                    {"target": "t", "regions": ["us-east-1"], "check_mode": True, "mode": "remediate",
                                     "started": "a", "finished": "b"})
    jsonschema.validate(predicted, json.load(open(SCHEMA_PATH)))
    by_id = dict((entry["key_id"], entry) for entry in predicted["keys"])
    assert by_id["off"]["after"]["compliance"] == "COMPLIANT" and by_id["off"]["after_source"] == "predicted"
    assert by_id["pending"]["phase"] == "KMS.3" and by_id["pending"]["after"]["key_state"] == "Enabled"
    assert by_id["long"]["after"]["compliance"] == "ERROR" and by_id["long"]["error"] == "throttled"
    assert by_id["doomed"]["before"]["compliance"] == "EXEMPT"
    assert predicted["summary"]["keys_changed"] == 2 and predicted["summary"]["compliant"] is False
    assert predicted["summary"]["actions"] == {"CancelKeyDeletion": 1, "EnableKey": 1, "EnableKeyRotation": 2}

    verified = [dict(entry, compliance="COMPLIANT", reason=None, rotation_enabled=True, rotation_period_days=365,
                     key_state="Enabled") for entry in keys if entry["key_id"] in ("off", "pending")]
    done = report.build_report(keys, rescued, enforced, verified, targets["exempt"], {"check_mode": False})
    by_id = dict((entry["key_id"], entry) for entry in done["keys"])
    assert by_id["off"]["after_source"] == "verified" and by_id["pending"]["after"]["rotation_period_days"] == 365


def test_markdown_and_junit_render_every_key():
    keys = fleet()
    built = report.build_report(keys, [], [], None, [], {"target": "prod | eu", "check_mode": True})
    markdown = report.report_markdown(built)
    assert markdown.startswith("# KMS key rotation report: prod \\| eu")
    assert "## Needs the key owner" in markdown and "## Errors" in markdown
    assert markdown.count("\n| ") >= len(keys)
    suites = ElementTree.fromstring(report.report_junit(built))
    assert suites.get("tests") == str(len(keys))
    assert suites.get("errors") == "1" and suites.get("skipped") == "1"
    assert suites.get("failures") == str(sum(1 for k in keys if k["compliance"] == "NON_COMPLIANT"))
    assert json.loads(report.report_json(built))["summary"]["total"] == len(keys)
