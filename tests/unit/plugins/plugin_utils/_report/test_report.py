# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role's decisions and reports: scope, exemptions, verification and renderings."""

from __future__ import annotations

import json
import os
from xml.etree import ElementTree

import jsonschema
import pytest

from ansible_collections.keyguard.kms.plugins.module_utils._rules import selection
from ansible_collections.keyguard.kms.plugins.plugin_utils._report import build
from ansible_collections.keyguard.kms.plugins.plugin_utils._report import render_json
from ansible_collections.keyguard.kms.plugins.plugin_utils._report import render_junit
from ansible_collections.keyguard.kms.plugins.plugin_utils._report import render_markdown
from ansible_collections.keyguard.kms.plugins.plugin_utils._report import finding_updates
from ansible_collections.keyguard.kms.plugins.plugin_utils._role import phases

SCHEMA_PATH = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "..", "roles", "rotation", "files",
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


def settings(exempt_keys=(), exempt_tags=None, pending_deletion="cancel", **extra):
    base = {
        "target": "t", "mode": "remediate", "check_mode": False, "started": "a", "regions": ["us-east-1"],
        "state": "enabled", "rotation_period_days": 365, "pending_deletion": pending_deletion,
        "exempt_keys": [{"key": key, "reason": "listed in rotation_exempt_keys"} if isinstance(key, str) else key
                        for key in exempt_keys],
        "exempt_tags": selection.normalize_tag_filter(exempt_tags), "fail_on_noncompliant": False, "run_id": "0a1b2c", "report_name": "t",
    }
    base.update(extra)
    return base


def ids(arns):
    return [arn.rsplit("/", 1)[1] for arn in arns]


def test_plan_splits_exempt_rescue_and_enforce():
    plan = phases.plan_phases(fleet(), settings([{"key": "alias/old", "reason": "CHG-7"}], {"delete": ["yes"]}))
    assert [(e["key_id"], e["reason"]) for e in plan["exempt"]] == [("doomed", "CHG-7"), ("tagged", "tagged delete=yes")]
    assert ids(plan["rescue"]) == ["pending"]
    assert ids(plan["enforce"]) == ["off", "long"]


def test_plan_keeps_pending_keys_when_asked_and_never_rescues_a_disabled_key():
    keys = fleet()
    plan = phases.plan_phases(keys, settings(pending_deletion="keep"))
    assert plan["rescue"] == [] and "interrupted" not in plan
    plan = phases.plan_phases(keys, settings())
    assert ids(plan["rescue"]) == ["pending", "doomed", "tagged"]


def test_plan_for_disabled_rotation_takes_the_keys_judged_so():
    keys = [key("on", "NON_COMPLIANT", "ROTATION_ENABLED", rotation=(True, 365)), key("off", "COMPLIANT", None)]
    assert ids(phases.plan_phases(keys, settings())["enforce"]) == ["on"]


@pytest.mark.parametrize("exempt", ["doomed", "arn:aws:kms:us-east-1:111122223333:key/doomed", "alias/old",
                                    "arn:aws:kms:us-east-1:111122223333:alias/old"])
def test_exemption_by_any_reference(exempt):
    assert phases.exemption_for(fleet()[4], [{"key": exempt, "reason": "r"}], {}) == "r"


def test_keys_to_verify_are_the_changed_and_the_failed():
    results = [{"key_arn": "a", "actions": ["EnableKeyRotation"], "compliance": "NON_COMPLIANT"},
               {"key_arn": "b", "actions": [], "compliance": "COMPLIANT"},
               {"key_arn": "c", "actions": [], "compliance": "ERROR"},
               {"key_arn": None, "actions": [], "compliance": "ERROR"}]
    assert phases.keys_to_verify(results, [{"key_arn": "a", "actions": ["EnableKey"], "compliance": "X"}]) == ["a", "c"]


def test_report_predicted_in_check_mode_and_verified_after_a_run():
    keys = fleet()
    plan = phases.plan_phases(keys, settings(["alias/old"], {"delete": [""]}))
    rescued = [dict(key("pending"), input="x", actions=["CancelKeyDeletion", "EnableKey", "EnableKeyRotation"],
                    compliance="NON_COMPLIANT", reason="PENDING_DELETION", key_state="Enabled",
                    rotation_enabled=True, rotation_period_days=None)]
    enforced = [dict(key("off"), input="x", actions=["EnableKeyRotation"], rotation_enabled=True,
                     rotation_period_days=365),
                dict(key("long", region="us-west-2"), input="y", actions=[], compliance="ERROR",
                     reason="ThrottlingException", message="throttled")]
    predicted = build.build_report(keys, rescued, enforced, None, plan["exempt"],
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
    assert build.unverified(predicted) == []

    verified = [dict(entry, compliance="COMPLIANT", reason=None, rotation_enabled=True, rotation_period_days=365,
                     key_state="Enabled") for entry in keys if entry["key_id"] in ("off", "pending")]
    done = build.build_report(keys, rescued, enforced, verified, plan["exempt"],
                              {"target": "t", "check_mode": False, "mode": "remediate"})
    by_id = dict((entry["key_id"], entry) for entry in done["keys"])
    assert by_id["off"]["after_source"] == "verified" and by_id["pending"]["after"]["rotation_period_days"] == 365
    assert by_id["ok"]["after_source"] == "unchanged"
    # Left as found: the Disabled key is its owner's; nothing else in scope is still wrong.
    assert [entry["key_id"] for entry in build.unverified(done)] == []


def test_a_phase_that_failed_as_a_whole_and_a_region_that_could_not_be_listed_are_run_errors():
    discovery = {"kms_keys": fleet()[:2], "region_results": [
        {"region": "us-east-1", "keys": 2, "error": None, "warnings": ["aliases of Region us-east-1 could not be listed"]},
        {"region": "us-west-2", "keys": 0, "error": "us-west-2: ListKeys failed with AccessDeniedException", "warnings": []}]}
    built = build.run_report(settings(), discovery, {"enforce": ["x"]}, {}, {"failed": True, "msg": "MODULE FAILURE"},
                             {}, "2026-11-30T00:00:00Z")
    jsonschema.validate(built, json.load(open(SCHEMA_PATH)))
    messages = [error["message"] for error in built["errors"]]
    assert "Region us-west-2 could not be listed: us-west-2: ListKeys failed with AccessDeniedException" in messages
    assert "KMS.4 failed as a whole: MODULE FAILURE" in messages
    assert built["run"]["warnings"] == ["aliases of Region us-east-1 could not be listed"]
    assert built["summary"]["errors"] == 2 and built["summary"]["compliant"] is False
    assert "2 error(s)" in build.failure_message(built, False)

    nothing = build.run_report(settings(), {"failed": True, "msg": "boom"}, {}, {}, {}, {}, "x")
    assert nothing["errors"][0]["message"] == "discovery failed, so no key was checked: boom"


def test_failure_messages_fit_the_kind_of_run():
    keys = fleet()
    reporting = build.build_report(keys, metadata={"target": "prod", "mode": "report", "check_mode": True})
    assert build.failure_message(reporting, False) is not None  # the key in error
    clean = [k for k in keys if k["compliance"] != "ERROR"]
    reporting = build.build_report(clean, metadata={"target": "prod", "mode": "report", "check_mode": True})
    assert build.failure_message(reporting, False) is None
    message = build.failure_message(reporting, True, "/r/prod.json")
    assert message.startswith("prod: compliance report: 6 of 8 keys are not compliant (")
    assert "KEY_DISABLED 1" in message and "PENDING_DELETION 3" in message and "ROTATION_DISABLED 1" in message
    assert "arn:aws:kms:us-east-1:111122223333:key/off" in message and message.endswith("See /r/prod.json.")
    left = build.build_report([key("off")], metadata={"target": "prod", "mode": "remediate", "check_mode": False})
    assert "1 in-scope key(s) still not as wanted after remediation: arn:aws:kms" in build.failure_message(left, False)


def test_pending_deletion_kept_is_the_owners_decision_and_does_not_fail_a_remediation():
    metadata = {"target": "prod", "mode": "remediate", "check_mode": False,
                "settings": {"pending_deletion": "keep", "scope": "all"}}
    kept = build.build_report([key("pending", "NON_COMPLIANT", "PENDING_DELETION", state="PendingDeletion")],
                              metadata=metadata)
    assert build.unverified(kept) == [] and build.failure_message(kept, False) is None
    assert "## Needs the key owner" in render_markdown.report_markdown(kept)
    metadata["settings"]["pending_deletion"] = "cancel"
    rescued = build.build_report([key("pending", "NON_COMPLIANT", "PENDING_DELETION", state="PendingDeletion")],
                                 metadata=metadata)
    assert len(build.unverified(rescued)) == 1, "with cancel, a key still pending deletion fails the run"
    found = [{"key_arn": kept["keys"][0]["key_arn"], "finding_id": "f", "product_arn": "p", "region": "us-east-1"}]
    updates = finding_updates.finding_updates(kept, found, settings(pending_deletion="keep"), "now")
    assert updates[0]["workflow_status"] == "NOTIFIED" and "scheduled for deletion" in updates[0]["note"]


def test_a_rescue_left_half_way_is_listed_with_its_finish_command():
    pending = key("pending", "NON_COMPLIANT", "PENDING_DELETION", state="PendingDeletion")
    failed = {"key_arn": pending["key_arn"], "input": pending["key_arn"], "compliance": "ERROR",
              "reason": "AccessDeniedException", "key_state": "Disabled", "rotation_enabled": None,
              "rotation_period_days": None, "actions": ["CancelKeyDeletion"], "message": "denied",
              "finish_command": "aws kms enable-key --key-id %s --region us-east-1" % pending["key_arn"]}
    built = build.build_report([pending], [failed], metadata={"target": "prod", "mode": "remediate"})
    assert built["keys"][0]["finish_command"] == failed["finish_command"]
    markdown = render_markdown.report_markdown(built)
    assert "## Left half-way: finish these by hand" in markdown and failed["finish_command"] in markdown


def test_a_key_changed_by_another_actor_is_reported_as_read_again():
    pending = key("pending", "NON_COMPLIANT", "PENDING_DELETION", state="PendingDeletion")
    raced = {"key_arn": pending["key_arn"], "input": pending["key_arn"], "compliance": "COMPLIANT", "reason": None,
             "key_state": "Enabled", "rotation_enabled": True, "rotation_period_days": 365, "actions": [],
             "message": "done by another actor: ...", "other_actor": True}
    assert phases.keys_to_verify([raced]) == [pending["key_arn"]]
    disabled = dict(raced, compliance="NON_COMPLIANT", reason="KEY_DISABLED", key_state="Disabled")
    built = build.build_report([pending], [disabled], metadata={"target": "prod", "mode": "remediate"})
    entry = built["keys"][0]
    assert (entry["after"]["compliance"], entry["after"]["reason"], entry["error"]) == (
        "NON_COMPLIANT", "KEY_DISABLED", None)
    assert entry["other_actor"] is True and build.unverified(built) == []


def test_markdown_and_junit_render_every_key():
    keys = fleet()
    built = build.build_report(keys, [], [], None, [], {"target": "prod | eu", "check_mode": True},
                               run_errors=["Region eu-west-1 could not be listed"])
    markdown = render_markdown.report_markdown(built)
    assert markdown.startswith("# KMS key rotation report: prod \\| eu")
    assert "## Needs the key owner" in markdown and "## Errors" in markdown
    assert markdown.count("\n| ") >= len(keys)
    suites = ElementTree.fromstring(render_junit.report_junit(built))
    assert suites.get("tests") == str(len(keys) + 1)
    assert suites.get("errors") == "2" and suites.get("skipped") == "1"
    assert suites.get("failures") == str(sum(1 for k in keys if k["compliance"] == "NON_COMPLIANT"))
    assert json.loads(render_json.report_json(built))["summary"]["total"] == len(keys)


def finding_record(arn, finding_id, control="KMS.4"):
    return {"finding_id": finding_id, "product_arn": "p", "control_id": control, "key_arn": arn,
            "region": "us-east-1", "workflow_status": "NEW", "note": None}


def test_scope_findings_acts_only_on_flagged_keys_and_on_none_when_unread():
    keys = fleet()
    found = [finding_record(keys[0]["key_arn"], "f1"), finding_record(keys[3]["key_arn"], "f2", "KMS.3")]
    plan = phases.plan_phases(keys, settings(scope="findings"), findings=found)
    assert ids(plan["rescue"]) == ["pending"] and ids(plan["enforce"]) == ["off"]
    assert "long" in ids(plan["out_of_scope"])
    nothing = phases.plan_phases(keys, settings(scope="findings"), findings=None)
    assert nothing["rescue"] == [] and nothing["enforce"] == []
    everything = phases.plan_phases(keys, settings(), findings=None)
    assert ids(everything["enforce"]) == ["off", "long"]


def test_finding_updates_follow_each_key_outcome():
    keys = fleet()
    plan = phases.plan_phases(keys, settings(exempt_keys=["alias/old"]))
    enforced = [dict(key("off"), input="x", actions=["EnableKeyRotation"], rotation_enabled=True,
                     rotation_period_days=365)]
    verified = [dict(key("off"), compliance="COMPLIANT", reason=None, rotation_enabled=True, rotation_period_days=365)]
    arn = dict((k["key_id"], k["key_arn"]) for k in keys)
    found = [finding_record(arn[name], "f-" + name) for name in ("off", "ok", "disabled", "doomed", "long", "broken")]
    found.append(finding_record("arn:aws:kms:us-east-1:999999999999:key/elsewhere", "f-other"))
    run_settings = settings(exempt_keys=["alias/old"], securityhub_suppress_exempt=True, awx_job_id=77)
    built = build.run_report(run_settings, {"kms_keys": keys}, plan, {}, {"results": enforced},
                             {"kms_keys": verified}, "2026-11-30T00:00:00Z",
                             findings={"findings": found})
    updates = dict((u["finding_id"], (u["workflow_status"], u["note"])) for u in finding_updates.finding_updates(
        built, found, run_settings, "2026-11-30T00:00:00Z"))
    assert updates["f-off"][0] == "RESOLVED" and "EnableKeyRotation on 2026-11-30T00:00:00Z by AWX job 77" in updates[
        "f-off"][1] and "verified: rotation every 365 days" in updates["f-off"][1]
    assert updates["f-ok"][0] == "RESOLVED" and "found the key compliant" in updates["f-ok"][1]
    assert updates["f-disabled"][0] == "NOTIFIED"
    assert updates["f-doomed"] == ("SUPPRESSED", "keyguard.kms: exempt, listed in rotation_exempt_keys.")
    assert updates["f-long"][0] is None and "left this key as it is" in updates["f-long"][1]
    assert updates["f-broken"][0] is None and "could not fix this key" in updates["f-broken"][1]
    assert "f-other" not in updates, "findings of keys this run did not read are left alone"
    assert built["keys"][[k["key_id"] for k in built["keys"]].index("off")]["findings"] == ["f-off"]
    jsonschema.validate(built, json.load(open(SCHEMA_PATH)))


def _finding(arn, control="KMS.3", workflow="NEW", note=None, updated_by=None, region="us-east-1", reference=None):
    return {"finding_id": "f-%s-%s" % (control, arn.rsplit("/", 1)[1]), "product_arn": "p", "control_id": control,
            "key_arn": reference or arn, "key_reference": reference or arn, "region": region,
            "workflow_status": workflow, "note": note, "note_updated_by": updated_by}


def test_a_kms3_finding_a_person_suppressed_is_an_exemption_and_ours_is_not():
    keys = fleet()
    pending = [k for k in keys if k["key_id"] == "pending"][0]
    person = _finding(pending["key_arn"], workflow="SUPPRESSED", note="deletion intended, CHG-77", updated_by="alice")
    plan = phases.plan_phases(keys, settings(), findings=[person])
    exempt = [e for e in plan["exempt"] if e["key_id"] == "pending"][0]
    assert exempt["source"] == "securityhub" and 'suppressed in Security Hub: "deletion intended, CHG-77"' in exempt["reason"]
    assert "pending" not in ids(plan["rescue"])
    ours = dict(person, note="keyguard.kms: exempt, tagged x=y.", note_updated_by="keyguard.kms")
    assert "pending" in ids(phases.plan_phases(keys, settings(), findings=[ours])["rescue"])
    ours_then_theirs = dict(person, note="keyguard.kms: the key is Disabled", note_updated_by="keyguard.kms")
    assert "pending" not in ids(phases.plan_phases(keys, settings(), findings=[ours_then_theirs])["rescue"]), \
        "a person suppressed a finding that still carried another note of ours"
    kms4 = dict(person, control_id="KMS.4")
    assert "pending" in ids(phases.plan_phases(keys, settings(), findings=[kms4])["rescue"]), "only KMS.3 decides"


def test_a_pending_key_where_findings_could_not_be_read_is_held():
    plan = phases.plan_phases(fleet(), settings(securityhub_update=True), findings=[], findings_blind={"us-east-1"})
    assert plan["rescue"] == [] and all("Security Hub findings of Region us-east-1" in h["reason"] for h in plan["not_rescued"])


def test_a_persons_note_and_suppression_are_never_replaced():
    keys = fleet()
    disabled = [k for k in keys if k["key_id"] == "disabled"][0]
    off = [k for k in keys if k["key_id"] == "off"][0]
    built = build.build_report(keys, metadata={"target": "t", "mode": "remediate", "check_mode": True})
    noted = _finding(disabled["key_arn"], "KMS.4", "NEW", "owner told", "bob")
    same = _finding(disabled["key_arn"], "KMS.4", "NOTIFIED", "owner told", "bob")
    suppressed = _finding(off["key_arn"], "KMS.4", "SUPPRESSED")
    updates = finding_updates.finding_updates(built, [noted, same, suppressed], settings(), "now")
    assert updates == [{"finding_id": noted["finding_id"], "product_arn": "p", "region": "us-east-1",
                        "workflow_status": "NOTIFIED", "note": None}]
    section = finding_updates.findings_section([noted, suppressed])
    assert section[0]["kept"] == "the note is a person's (bob): it is kept"
    assert section[1]["kept"].startswith("suppressed by a person")


def test_findings_are_matched_by_any_key_reference_and_partial_reads_are_per_region():
    keys = fleet()
    off = [k for k in keys if k["key_id"] == "off"][0]
    off["aliases"] = ["alias/off"]
    registered = {"failed": True, "msg": "1 of 2", "region_results": [
        {"region": "us-east-1", "findings": 4, "error": None},
        {"region": "us-west-2", "findings": 0, "error": "GetFindings failed with InvalidAccessException"}],
        "findings": [_finding(off["key_arn"], "KMS.4", reference=reference) for reference in (
            "off", "alias/off", "arn:aws:kms:us-east-1:111122223333:alias/off", "alias/gone")]}
    found, error = finding_updates.findings_outcome(registered, settings(scope="findings"), keys)
    assert [record["key_arn"] for record in found[:3]] == [off["key_arn"]] * 3
    assert found[3]["key_matched"] is False and "names key 'alias/gone'" in finding_updates.unmatched_findings(found)[0]
    assert error.startswith("Security Hub findings of us-west-2 could not be read, so no key of those Regions")
    assert finding_updates.findings_blind_regions(registered, settings(scope="findings")) == {"us-west-2"}
    aggregated = settings(scope="findings", securityhub_region="us-east-1", regions=["us-east-1", "us-west-2"])
    assert finding_updates.findings_blind_regions(registered, aggregated) == {"us-east-1", "us-west-2"}
