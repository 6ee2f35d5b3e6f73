# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Updating findings: each one read right before, only what differs sent, once, and somebody's decision kept."""

from __future__ import annotations

from ansible_collections.keyguard.kms.plugins.module_utils._engine import findings as engine


def asff(finding_id, workflow="NEW", note=None, updated_by=None):
    finding = {"Id": finding_id, "ProductArn": "p", "GeneratorId": "security-control/KMS.4", "Region": "us-east-1",
               "Compliance": {"SecurityControlId": "KMS.4", "Status": "FAILED"}, "Workflow": {"Status": workflow},
               "Resources": [{"Type": "AwsKmsKey", "Id": "arn:aws:kms:us-east-1:111122223333:key/k"}]}
    if note:
        finding["Note"] = {"Text": note, "UpdatedBy": updated_by}
    return finding


class Hub:
    region = "us-east-1"

    def __init__(self, stored):
        self.stored = dict((finding["Id"], finding) for finding in stored)
        self.sent = []

    def get_findings(self, filters):
        wanted = [value["Value"] for value in filters["Id"]]
        return [self.stored[finding_id] for finding_id in wanted if finding_id in self.stored]

    def batch_update_findings(self, identifiers, workflow_status=None, note=None, updated_by=None):
        self.sent.append(([identifier["Id"] for identifier in identifiers], workflow_status, note))
        return identifiers, []


def entry(finding_id, workflow="RESOLVED", note="keyguard.kms: fixed"):
    return {"identifier": {"Id": finding_id, "ProductArn": "p"}, "region": "us-east-1", "workflow_status": workflow,
            "note": note}


def test_only_what_differs_is_sent_and_a_finding_given_twice_once():
    hub = Hub([asff("new"), asff("done", "RESOLVED", "keyguard.kms: fixed", "keyguard.kms")])
    results = engine.update_region(hub, [entry("new"), entry("done"), entry("new"), entry("gone")], False,
                                   "keyguard.kms")
    assert [r["status"] for r in results] == ["updated", "unchanged", "updated", "failed"]
    assert results[3]["error_code"] == "FindingNotFound"
    assert hub.sent == [(["new"], "RESOLVED", "keyguard.kms: fixed")]


def test_check_mode_plans_and_sends_nothing():
    hub = Hub([asff("new")])
    assert engine.update_region(hub, [entry("new")], True, "keyguard.kms")[0]["status"] == "planned"
    assert hub.sent == []


def test_somebody_elses_suppression_and_note_are_kept_as_read_right_before():
    hub = Hub([asff("suppressed", "SUPPRESSED"), asff("noted", "NEW", "mine", "carol")])
    results = engine.update_region(hub, [entry("suppressed"), entry("noted")], False, "keyguard.kms",
                                   keep_others=True)
    assert [r["kept"] is not None for r in results] == [True, True]
    assert hub.sent == [(["noted"], "RESOLVED", None)]
