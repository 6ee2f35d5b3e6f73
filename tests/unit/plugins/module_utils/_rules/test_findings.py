# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Security Hub findings of KMS.3 and KMS.4: recognition, filters and update planning (pure)."""

from __future__ import annotations

import pytest

from ansible_collections.keyguard.kms.plugins.module_utils._rules import findings

KEY = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def asff(generator, control=None, workflow="NEW", note=None):
    finding = {"Id": "f-" + generator, "ProductArn": "arn:aws:securityhub:eu-west-1::product/aws/securityhub",
               "GeneratorId": generator, "AwsAccountId": "111122223333", "Region": "eu-west-1",
               "Resources": [{"Type": "AwsKmsKey", "Id": KEY, "Region": "eu-west-1"}],
               "Compliance": {"Status": "FAILED"}, "Workflow": {"Status": workflow}, "RecordState": "ACTIVE"}
    if control:
        finding["Compliance"]["SecurityControlId"] = control
    if note:
        finding["Note"] = {"Text": note, "UpdatedBy": "someone"}
    return finding


@pytest.mark.parametrize("generator, control, expected, origin", [
    ("security-control/KMS.4", "KMS.4", "KMS.4", "consolidated"),
    ("security-control/KMS.3", "KMS.3", "KMS.3", "consolidated"),
    ("aws-foundational-security-best-practices/v/1.0.0/KMS.4", "KMS.4", "KMS.4",
     "aws-foundational-security-best-practices"),
    ("arn:aws:securityhub:::ruleset/cis-aws-foundations-benchmark/v/1.2.0/rule/2.8", None, "KMS.4",
     "cis-aws-foundations-benchmark"),
    ("cis-aws-foundations-benchmark/v/1.4.0/3.8", None, "KMS.4", "cis-aws-foundations-benchmark"),
    ("pci-dss/v/3.2.1/PCI.KMS.1", None, "KMS.4", "pci-dss"),
    ("security-control/S3.1", "S3.1", "S3.1", "consolidated"),
])
def test_each_kind_of_finding_is_recognised(generator, control, expected, origin):
    record = findings.finding_record(asff(generator, control, note="seen"))
    assert (record["control_id"], record["origin"]) == (expected, origin)
    assert (record["key_arn"], record["region"], record["workflow_status"], record["note"]) == (
        KEY, "eu-west-1", "NEW", "seen")


def test_filters_stay_within_the_api_limits():
    accounts = ["%012d" % number for number in range(45)]
    queries = findings.finding_filters(["KMS.3", "KMS.4"], ["FAILED"], ["NEW", "NOTIFIED"], accounts)
    # 45 accounts take three queries of at most 20, each twice: by control ID and, for legacy findings, by generator.
    assert len(queries) == 6
    for query in queries:
        assert len(query) <= 10 and all(len(values) <= 20 for values in query.values())
        assert query["RecordState"] == [{"Value": "ACTIVE", "Comparison": "EQUALS"}]
    assert [len(query["AwsAccountId"]) for query in queries[::2]] == [20, 20, 5]
    assert len(findings.finding_filters(["KMS.3"], ["FAILED"], [])) == 1  # no legacy generator for KMS.3
    assert [len(query["Id"]) for query in findings.id_filters(["f%d" % n for n in range(41)])] == [20, 20, 1]


def test_planned_update_sends_only_what_differs():
    current = findings.finding_record(asff("security-control/KMS.4", "KMS.4", workflow="NOTIFIED", note="told"))
    assert findings.planned_update(current, "NOTIFIED", "told") == {}
    assert findings.planned_update(current, "RESOLVED", "told") == {"workflow_status": "RESOLVED"}
    assert findings.planned_update(current, None, "fixed") == {"note": "fixed"}


def test_update_batches_group_equal_updates_100_at_a_time():
    updates = [(number, "RESOLVED", "n") for number in range(150)] + [(900, None, "other")]
    batches = findings.update_batches(updates)
    assert [(workflow, note, len(items)) for workflow, note, items in batches] == [
        ("RESOLVED", "n", 100), ("RESOLVED", "n", 50), (None, "other", 1)]


@pytest.mark.parametrize("workflow, note, updated_by, fragment", [
    ("NEW", None, "me", "workflow_status must be one of NOTIFIED, RESOLVED, SUPPRESSED"),
    (None, "x" * 513, "me", "a note must have 1 to 512 characters"),
    (None, None, "me", "nothing to set"),
    ("RESOLVED", None, "", "updated_by must have 1 to 512 characters"),
])
def test_updates_are_checked_before_any_call(workflow, note, updated_by, fragment):
    assert any(fragment in error for error in findings.update_errors(workflow, note, updated_by))


def test_the_same_finding_from_two_hubs_is_kept_once():
    one = {"finding_id": "a", "product_arn": "p", "region": "us-west-2"}
    assert findings.deduplicated([one, dict(one), dict(one, product_arn="q")]) == [one, dict(one, product_arn="q")]


def test_whose_note_and_whose_suppression():
    assert findings.note_is_ours({"note": None}) and findings.note_is_ours({"note": "x", "note_updated_by": "keyguard.kms"})
    assert not findings.note_is_ours({"note": "x", "note_updated_by": "alice"})
    assert findings.suppressed_by_a_person({"workflow_status": "SUPPRESSED", "note": None})
    assert not findings.suppressed_by_a_person({"workflow_status": "SUPPRESSED", "note": "keyguard.kms: exempt, x.",
                                                "note_updated_by": "keyguard.kms"})
    # Our NOTIFIED note is still on it, but the suppression is a person's.
    assert findings.suppressed_by_a_person({"workflow_status": "SUPPRESSED", "note": "keyguard.kms: the key is Disabled",
                                            "note_updated_by": "keyguard.kms"})


def test_when_two_hubs_disagree_the_copy_with_a_decision_wins():
    fresh = {"finding_id": "a", "product_arn": "p", "workflow_status": "NEW", "note": None}
    decided = dict(fresh, workflow_status="SUPPRESSED", note="CHG-77", note_updated_by="alice")
    assert findings.deduplicated([fresh, decided]) == [decided]
    assert findings.deduplicated([decided, fresh]) == [decided]
    assert not findings.suppressed_by_a_person({"workflow_status": "NEW", "note": None})
