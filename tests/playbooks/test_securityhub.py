"""Security Hub: kms_findings_info, kms_findings and the rotation role's findings phases, against the emulator."""

import json
import os
import sys
import urllib.request

import jsonschema

HERE = os.path.dirname(os.path.abspath(__file__))
COLLECTION = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "harness"))

from findings import finding, import_findings, seed_findings  # noqa: E402  pylint: disable=wrong-import-position
from seed import create_key, seed  # noqa: E402  pylint: disable=wrong-import-position

SCHEMA = json.load(open(os.path.join(COLLECTION, "roles", "rotation", "files", "report.schema.json")))
REGIONS = ("us-east-1", "us-west-2")
KINDS = ["symmetric_off", "symmetric_on_180", "disabled_off", "pending_off", "hmac"]
EXEMPT_TAG = {"keyguard:intended-deletion": "true"}
SH_WRITES = {"BatchUpdateFindings", "BatchImportFindings"}
KMS_WRITES = {"EnableKeyRotation", "DisableKeyRotation", "CancelKeyDeletion", "EnableKey"}


def all_findings(emulator, account):
    with urllib.request.urlopen(emulator.url + "/_emulator/findings", timeout=30) as response:
        return dict((item["finding"]["Id"], item["finding"]) for item in json.load(response) if item["account"] == account)


def seed_account(emulator, account, regions=REGIONS):
    clients = {region: emulator.client(account, region) for region in REGIONS}
    keys = []
    for region in regions:
        keys += seed(clients, region, kinds=KINDS)
    keys.append(create_key(clients, regions[0], "pending_off", 9, tags=EXEMPT_TAG))
    return keys, seed_findings(emulator, account, keys)


def writes(emulator, account, since, operations):
    return [r for r in emulator.recorded_requests(account)[since:] if r["operation"] in operations]


def test_findings_info_reads_both_kinds_and_leaves_the_others(emulator, account, run_playbook):
    keys, made = seed_account(emulator, account, REGIONS[:1])
    off = [key for key in keys if key["kind"] == "symmetric_off"][0]
    legacy = finding(account, "us-east-1", off["arn"], legacy_cis=True)
    import_findings(emulator.boto3_client("securityhub", account), [legacy])
    run = run_playbook(account, [{"name": "findings", "keyguard.kms.kms_findings_info": {"key_verdicts": True},
                                  "ignore_errors": True}])
    result = run.task("findings")
    assert result["status"] == "ok", run.stdout[-3000:]
    found = dict((item["finding_id"], item) for item in result["result"]["findings"])
    active_failed = [item for item in made if item["Compliance"]["Status"] == "FAILED"
                     and item["RecordState"] == "ACTIVE" and item["Compliance"]["SecurityControlId"].startswith("KMS")]
    assert set(found) == set(item["Id"] for item in active_failed) | {legacy["Id"]}
    assert found[legacy["Id"]]["control_id"] == "KMS.4"
    assert found[legacy["Id"]]["origin"] == "cis-aws-foundations-benchmark"
    assert found[legacy["Id"]]["key_verdict"]["reason"] == "ROTATION_DISABLED"
    for item in active_failed:
        record = found[item["Id"]]
        assert record["origin"] == "consolidated" and record["key_arn"] == item["Resources"][0]["Id"]
        assert (record["workflow_status"], record["compliance_status"]) == ("NEW", "FAILED")
    kinds = dict((key["arn"], key["kind"]) for key in keys)
    verdicts = dict((kinds[item["key_arn"]], item["key_verdict"]["reason"]) for item in found.values())
    assert verdicts["pending_off"] == "PENDING_DELETION" and verdicts["disabled_off"] == "KEY_DISABLED"
    assert result["result"]["summary"]["by_control"] == {"KMS.3": 2, "KMS.4": 3}


def test_findings_info_pages_and_survives_throttling(emulator, account, run_playbook):
    key = emulator.client(account).create_key()["KeyMetadata"]["Arn"]
    import_findings(emulator.boto3_client("securityhub", account),
                    [finding(account, "us-east-1", key) for _number in range(230)])
    emulator.set_faults(account, quotas=True, throttle_fraction=0.3, operations=["GetFindings"], seed=5)
    run = run_playbook(account, [{"name": "findings", "keyguard.kms.kms_findings_info": {"max_attempts": 20},
                                  "ignore_errors": True}])
    injected = emulator.faults_injected(account)
    emulator.clear_faults(account)
    result = run.task("findings")
    assert result["status"] == "ok", run.stdout[-3000:]
    assert len(result["result"]["findings"]) == 230
    assert injected.get("TooManyRequestsException", 0) + injected.get("quota", 0) > 0, injected
    pages = [r for r in emulator.recorded_requests(account) if r["operation"] == "GetFindings"]
    assert len(pages) >= 3, "230 findings come in pages of at most 100"


def test_kms_findings_check_mode_idempotence_and_unprocessed(emulator, account, run_playbook):
    key = emulator.client(account).create_key()["KeyMetadata"]["Arn"]
    made = [finding(account, "us-east-1", key) for _number in range(3)]
    import_findings(emulator.boto3_client("securityhub", account), made)
    targets = [{"finding_id": item["Id"], "product_arn": item["ProductArn"]} for item in made]
    targets[2] = dict(targets[2], workflow_status="SUPPRESSED", note="CHG-1: deletion approved")
    unknown = {"finding_id": made[0]["Id"] + "-gone", "product_arn": made[0]["ProductArn"]}
    task = {"findings": targets, "workflow_status": "NOTIFIED", "note": "owners told in SEC-42"}
    before = all_findings(emulator, account)
    since = len(emulator.recorded_requests(account))

    run = run_playbook(account, [{"name": "update", "keyguard.kms.kms_findings": task}], check=True, diff=True)
    predicted = run.task("update")["result"]
    assert predicted["changed"] is True and [r["status"] for r in predicted["results"]] == ["planned"] * 3
    assert writes(emulator, account, since, SH_WRITES) == [] and all_findings(emulator, account) == before
    assert "owners told in SEC-42" in run.stdout  # the per-finding diff

    run = run_playbook(account, [{"name": "update", "keyguard.kms.kms_findings": task}])
    applied = run.task("update")["result"]
    assert [r["status"] for r in applied["results"]] == ["updated"] * 3
    assert [r["after"] for r in applied["results"]] == [
        {"workflow_status": "NOTIFIED", "note": "owners told in SEC-42"}] * 2 + [
        {"workflow_status": "SUPPRESSED", "note": "CHG-1: deletion approved"}]
    after = all_findings(emulator, account)
    for item in made:
        changed = after[item["Id"]]
        assert changed["UpdatedAt"] == item["UpdatedAt"]
        assert dict((k, v) for k, v in changed.items() if k not in ("Workflow", "Note")) == dict(
            (k, v) for k, v in item.items() if k != "Workflow")
    assert len(writes(emulator, account, since, {"BatchUpdateFindings"})) == 2  # one call per distinct update

    since = len(emulator.recorded_requests(account))
    run = run_playbook(account, [{"name": "update", "keyguard.kms.kms_findings": dict(task, findings=targets + [unknown]),
                                  "ignore_errors": True}])
    entry = run.task("update")
    assert entry["status"] == "failed" and "1 of 4 findings could not be updated" in entry["result"]["msg"]
    assert [r["status"] for r in entry["result"]["results"]] == ["unchanged"] * 3 + ["failed"]
    assert entry["result"]["results"][3]["error_code"] == "FindingNotFound"
    assert writes(emulator, account, since, SH_WRITES) == [], "nothing to change, nothing sent"


def test_kms_findings_reports_what_security_hub_leaves_unprocessed(emulator, account, run_playbook):
    key = emulator.client(account).create_key()["KeyMetadata"]["Arn"]
    made = [finding(account, "us-east-1", key) for _number in range(2)]
    import_findings(emulator.boto3_client("securityhub", account), made)
    # The finding vanishes between the read and the update (archived and purged): Security Hub says so per finding.
    emulator.set_faults(account, deny={"operations": ["BatchUpdateFindings"]})
    targets = [{"finding_id": item["Id"], "product_arn": item["ProductArn"]} for item in made]
    run = run_playbook(account, [{"name": "update", "keyguard.kms.kms_findings": {
        "findings": targets, "workflow_status": "RESOLVED", "max_attempts": 2}, "ignore_errors": True}])
    emulator.clear_faults(account)
    entry = run.task("update")
    assert entry["status"] == "failed"
    assert [r["error_code"] for r in entry["result"]["results"]] == ["AccessDeniedException"] * 2
    assert "grant securityhub:BatchUpdateFindings" in entry["result"]["results"][0]["error_message"]


def test_role_remediates_what_security_hub_flags_and_records_the_outcome(emulator, fleet, account):
    keys, made = seed_account(emulator, account)
    # One key without a finding: rotation_scope=findings leaves it alone, and the run is still green.
    unflagged = [key for key in keys if key["kind"] == "symmetric_off" and key["region"] == "us-west-2"][0]
    flagged = [item for item in made if item["Resources"][0]["Id"] != unflagged["arn"]]
    hub = emulator.boto3_client("securityhub", account, "us-west-2")
    hub.batch_update_findings(FindingIdentifiers=[{"Id": item["Id"], "ProductArn": item["ProductArn"]} for item in made
                                                  if item["Resources"][0]["Id"] == unflagged["arn"]],
                              Workflow={"Status": "SUPPRESSED"})
    fleet.add_target("target", account, rotation_exempt_tags=EXEMPT_TAG, rotation_scope="findings",
                     rotation_securityhub_update=True, rotation_securityhub_suppress_exempt=True)
    before = all_findings(emulator, account)
    since = len(emulator.recorded_requests(account))
    code, output = fleet.run("remediate", check=True)
    assert code == 0, output[-3000:]
    assert writes(emulator, account, since, SH_WRITES | KMS_WRITES) == [], "check mode sent write calls"
    assert all_findings(emulator, account) == before
    predicted = fleet.report("target")
    assert set(entry["update"] for entry in predicted["findings"]) <= {"planned", "none"}

    code, output = fleet.run("remediate")
    assert code == 0, output[-3000:]
    report = fleet.report("target")
    jsonschema.validate(report, SCHEMA)
    names = dict(((key["arn"]), "%s %s" % (key["region"], key["alias"])) for key in keys)
    outcome = dict((names[entry["key_arn"]], entry) for entry in report["findings"])
    assert (outcome["us-east-1 alias/pending-off-0"]["workflow_before"],
            outcome["us-east-1 alias/pending-off-0"]["workflow_after"]) == ("NEW", "RESOLVED")
    assert outcome["us-east-1 alias/disabled-off-0"]["workflow_after"] == "NOTIFIED"
    assert outcome["us-east-1 alias/symmetric-off-0"]["workflow_after"] == "RESOLVED"
    assert outcome["us-east-1 alias/pending-off-9"]["workflow_after"] == "SUPPRESSED"
    note = outcome["us-east-1 alias/symmetric-off-0"]["note_after"]
    assert "EnableKeyRotation on " in note and "verified: rotation every 365 days" in note
    stored = all_findings(emulator, account)
    exempt_key = [key for key in keys if key["alias"] == "alias/pending-off-9"][0]
    exempt_finding = [item for item in made if item["Resources"][0]["Id"] == exempt_key["arn"]][0]
    assert stored[exempt_finding["Id"]]["Workflow"]["Status"] == "SUPPRESSED"
    assert "exempt, tagged keyguard:intended-deletion=true" in stored[exempt_finding["Id"]]["Note"]["Text"]
    # The key without a finding was left alone and is marked so; other controls' findings are untouched.
    untouched = [entry for entry in report["keys"] if entry["key_arn"] == unflagged["arn"]][0]
    assert untouched["actions"] == [] and untouched["findings"] == []
    assert [k for k in emulator.state(account) if k["metadata"]["Arn"] == unflagged["arn"]][0]["rotation_enabled"] is False
    for item in made:
        if not item["Compliance"]["SecurityControlId"].startswith("KMS") or item["RecordState"] == "ARCHIVED":
            assert stored[item["Id"]] == before[item["Id"]]
    assert len(flagged) > 0

    since = len(emulator.recorded_requests(account))
    code, output = fleet.run("remediate")
    assert code == 0, output[-3000:]
    assert writes(emulator, account, since, SH_WRITES | KMS_WRITES) == [], "a second run changes nothing"


def test_unreadable_findings_change_nothing_under_findings_scope(emulator, fleet, account):
    seed_account(emulator, account, REGIONS[:1])
    emulator.set_faults(account, deny={"operations": ["GetFindings"]})
    fleet.add_target("target", account, rotation_regions=["us-east-1"], rotation_scope="findings")
    since = len(emulator.recorded_requests(account))
    code, output = fleet.run("remediate")
    emulator.clear_faults(account)
    assert code != 0 and "Security Hub findings could not be read (rotation_scope=findings: no key was changed)" in output
    assert writes(emulator, account, since, KMS_WRITES | SH_WRITES) == []


def _identifier(item):
    return {"Id": item["Id"], "ProductArn": item["ProductArn"]}


def test_peoples_decisions_in_security_hub_are_honoured(emulator, fleet, account):
    """A suppressed KMS.3 finding exempts its key; a person's note is never replaced; any key reference matches."""
    clients = {"us-east-1": emulator.client(account)}
    doomed = create_key(clients, "us-east-1", "pending_off", 0)
    disabled = create_key(clients, "us-east-1", "disabled_off", 0)
    off = create_key(clients, "us-east-1", "symmetric_off", 0)
    hub = emulator.boto3_client("securityhub", account, "us-east-1")
    kms3 = finding(account, "us-east-1", doomed["arn"], "KMS.3")
    kms4_disabled = finding(account, "us-east-1", disabled["arn"], "KMS.4")
    by_alias = finding(account, "us-east-1", off["alias"], "KMS.4")  # the resource names the key by its alias
    import_findings(hub, [kms3, kms4_disabled, by_alias])
    hub.batch_update_findings(FindingIdentifiers=[_identifier(kms3)], Workflow={"Status": "SUPPRESSED"},
                              Note={"Text": "deletion intended, CHG-77", "UpdatedBy": "alice"})
    hub.batch_update_findings(FindingIdentifiers=[_identifier(kms4_disabled)], Workflow={"Status": "NOTIFIED"},
                              Note={"Text": "owner told, SEC-1", "UpdatedBy": "bob"})
    fleet.add_target("target", account, rotation_regions=["us-east-1"], rotation_securityhub_update=True)
    code, output = fleet.run("remediate")
    assert code == 0, output[-3000:]
    assert [k["metadata"]["KeyState"] for k in emulator.state(account) if k["metadata"]["Arn"] == doomed["arn"]] == [
        "PendingDeletion"]
    report = fleet.report("target")
    exemption = [entry for entry in report["exemptions"] if entry["key_arn"] == doomed["arn"]][0]
    assert exemption["source"] == "securityhub" and "deletion intended, CHG-77" in exemption["reason"]
    entry = [k for k in report["keys"] if k["key_arn"] == doomed["arn"]][0]
    assert entry["after"]["compliance"] == "EXEMPT" and entry["actions"] == []
    stored = all_findings(emulator, account)
    assert stored[kms3["Id"]]["Note"]["Text"] == "deletion intended, CHG-77"
    assert stored[kms3["Id"]]["Workflow"]["Status"] == "SUPPRESSED"
    assert stored[kms4_disabled["Id"]]["Note"] == {"Text": "owner told, SEC-1", "UpdatedBy": "bob",
                                                   "UpdatedAt": stored[kms4_disabled["Id"]]["Note"]["UpdatedAt"]}
    kept = [f for f in report["findings"] if f["finding_id"] == kms4_disabled["Id"]][0]
    assert "the note is a person's (bob): it is kept" == kept["kept"]
    assert stored[by_alias["Id"]]["Workflow"]["Status"] == "RESOLVED", "matched to its key by alias name"
    assert [f["key_arn"] for f in report["findings"] if f["finding_id"] == by_alias["Id"]] == [off["arn"]]


def test_aggregated_findings_are_updated_once(emulator, fleet, account):
    _keys, made = seed_account(emulator, account)
    # Cross-Region aggregation: us-west-2's findings can be read in us-east-1 too, the same Id and ProductArn.
    import_findings(emulator.boto3_client("securityhub", account, "us-east-1"),
                    [item for item in made if item["Region"] == "us-west-2"])
    fleet.add_target("target", account, rotation_scope="findings", rotation_securityhub_update=True)
    code, output = fleet.run("remediate")
    assert code == 0, output[-3000:]
    report = fleet.report("target")
    assert [f for f in report["findings"] if f["update"] == "failed"] == []
    assert len(set(f["finding_id"] for f in report["findings"])) == len(report["findings"])
    assert any(f["update"] == "updated" and f["region"] == "us-west-2" for f in report["findings"])
    assert "DuplicatedFindingIdentifier" not in output


def test_one_unreadable_hub_spoils_nothing_in_the_other_regions(emulator, fleet, account):
    keys, _made = seed_account(emulator, account)
    emulator.set_faults(account, deny={"operations": ["GetFindings"], "regions": ["us-west-2"]})
    fleet.add_target("target", account, rotation_scope="findings", rotation_securityhub_update=True)
    code, output = fleet.run("remediate")
    emulator.clear_faults(account)
    assert code != 0 and "Security Hub findings of us-west-2 could not be read" in output
    state = dict((k["metadata"]["Arn"], k) for k in emulator.state(account))
    by_kind = dict(((key["region"], key["kind"]), key) for key in keys if key["alias"].endswith("-0"))
    # The readable Region is remediated and its findings updated; in the other nothing changes.
    assert state[by_kind[("us-east-1", "symmetric_off")]["arn"]]["rotation_enabled"] is True
    assert state[by_kind[("us-east-1", "pending_off")]["arn"]]["metadata"]["KeyState"] == "Enabled"
    assert state[by_kind[("us-west-2", "symmetric_off")]["arn"]]["rotation_enabled"] is False
    assert state[by_kind[("us-west-2", "pending_off")]["arn"]]["metadata"]["KeyState"] == "PendingDeletion"
    report = fleet.report("target")
    assert any(f["update"] == "updated" and f["region"] == "us-east-1" for f in report["findings"])
    assert any("findings of us-west-2 could not be read, so no key of those Regions was changed" in e["message"]
               for e in report["errors"])

    # With every key in scope, a key pending deletion where findings cannot be read is held back: a person may
    # have suppressed its KMS.3 finding there. Rotation is still enforced.
    emulator.set_faults(account, deny={"operations": ["GetFindings"], "regions": ["us-west-2"]})
    fleet.add_target("target", account, rotation_securityhub_update=True)
    code, output = fleet.run("remediate")
    emulator.clear_faults(account)
    assert code != 0
    state = dict((k["metadata"]["Arn"], k) for k in emulator.state(account))
    assert state[by_kind[("us-west-2", "pending_off")]["arn"]]["metadata"]["KeyState"] == "PendingDeletion"
    assert state[by_kind[("us-west-2", "symmetric_off")]["arn"]]["rotation_enabled"] is True
    assert any("findings of Region us-west-2 could not be read, so a person's decision" in e["message"]
               for e in fleet.report("target")["errors"])


def test_kms_findings_keeps_decisions_made_after_the_update_was_planned(emulator, account, run_playbook):
    key = create_key({"us-east-1": emulator.client(account)}, "us-east-1", "symmetric_off", 0)
    hub = emulator.boto3_client("securityhub", account, "us-east-1")
    suppressed, noted = finding(account, "us-east-1", key["arn"]), finding(account, "us-east-1", key["arn"], "KMS.3")
    import_findings(hub, [suppressed, noted])
    # Planned while both were NEW; then people decided, before the update is sent.
    hub.batch_update_findings(FindingIdentifiers=[_identifier(suppressed)], Workflow={"Status": "SUPPRESSED"})
    hub.batch_update_findings(FindingIdentifiers=[_identifier(noted)], Note={"Text": "mine", "UpdatedBy": "carol"})
    planned = [{"finding_id": item["Id"], "product_arn": item["ProductArn"], "workflow_status": "RESOLVED",
                "note": "keyguard.kms: fixed"} for item in (suppressed, noted)]
    run = run_playbook(account, [{"name": "update", "keyguard.kms.kms_findings": {
        "findings": planned, "keep_others_decisions": True}}])
    results = run.task("update")["result"]["results"]
    assert [result["kept"] is not None for result in results] == [True, True], results
    stored = all_findings(emulator, account)
    assert stored[suppressed["Id"]]["Workflow"]["Status"] == "SUPPRESSED" and "Note" not in stored[suppressed["Id"]]
    assert stored[noted["Id"]]["Note"]["Text"] == "mine" and stored[noted["Id"]]["Workflow"]["Status"] == "RESOLVED"
