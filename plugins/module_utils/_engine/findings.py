# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Security Hub work of the findings modules: update findings as read right before, read their keys' verdicts.

The rules (what a finding is, what an update changes, whose decision it is) are in
_rules.findings; the calls in _aws.securityhub and _aws.kms.

This is a private module: its interface may change without notice.
"""

from __future__ import annotations

from ansible_collections.keyguard.kms.plugins.module_utils._aws.kms import KmsService
from ansible_collections.keyguard.kms.plugins.module_utils._aws.service import AwsError
from ansible_collections.keyguard.kms.plugins.module_utils._engine.discovery import RegionScanner
from ansible_collections.keyguard.kms.plugins.module_utils._rules import findings
from ansible_collections.keyguard.kms.plugins.module_utils._rules.counting import count_by
from ansible_collections.keyguard.kms.plugins.module_utils._rules import rotation
from ansible_collections.keyguard.kms.plugins.module_utils._runtime.concurrency import map_concurrently


def read_findings(service, queries, controls):
    """The records of the findings of ``controls`` that ``queries`` (GetFindings filter sets) return, each once."""
    found = {}
    for query in queries:
        for finding in service.get_findings(query):
            found[(finding["Id"], finding["ProductArn"])] = finding
    return [findings.finding_record(finding) for finding in found.values() if findings.control_of(finding) in controls]


def summarize_findings(records):
    """Counts of findings per control, per workflow status and per Region."""
    return {"total": len(records), "by_control": count_by(records, "control_id"),
            "by_workflow_status": count_by(records, "workflow_status"), "by_region": count_by(records, "region")}


def result_for(entry, status, before=None, after=None, error_code=None, error_message=None, kept=None):
    return {
        "finding_id": entry["identifier"]["Id"],
        "product_arn": entry["identifier"]["ProductArn"],
        "region": entry["region"],
        "changed": status in ("updated", "planned"),
        "status": status,
        "before": before,
        "after": after if after is not None else before,
        "error_code": error_code,
        "error_message": error_message,
        "kept": kept,
    }


def update_region(service, entries, check_mode, updated_by, keep_others=False):
    """Per-entry results for the findings of one Region: read, compare, update what differs."""
    current = {}
    for query in findings.id_filters(sorted(set(entry["identifier"]["Id"] for entry in entries))):
        for finding in service.get_findings(query):
            current[(finding["Id"], finding["ProductArn"])] = findings.finding_record(finding)
    results, planned, first_of = {}, [], {}
    for index, entry in enumerate(entries):
        identity = (entry["identifier"]["Id"], entry["identifier"]["ProductArn"])
        if identity in first_of:
            continue  # the same finding twice in one call is DuplicatedFindingIdentifier: sent once
        first_of[identity] = index
        found = current.get(identity)
        if found is None:
            results[index] = result_for(entry, "failed", error_code="FindingNotFound", error_message=(
                "no such finding in Security Hub of %s: check finding_id, product_arn and the Region" % service.region))
            continue
        before = {"workflow_status": found["workflow_status"], "note": found["note"]}
        change = findings.planned_update(found, entry["workflow_status"], entry["note"])
        kept = None
        if keep_others and findings.suppressed_by_a_person(found, updated_by):
            # Read just now: somebody may have decided since the update was planned.
            change, kept = {}, "suppressed by somebody else: left as it is"
        elif keep_others and "note" in change and not findings.note_is_ours(found, updated_by):
            del change["note"]
            kept = "the note is somebody else's (%s): kept" % found["note_updated_by"]
        after = dict(before, **change)
        results[index] = result_for(entry, "planned" if change and check_mode else "unchanged" if not change
                                    else "updated", before, after, kept=kept)
        if change and not check_mode:
            planned.append((index, change))
    batches = findings.update_batches(
        [(index, change.get("workflow_status"), change.get("note")) for index, change in planned])
    for workflow_status, note, indexes in batches:
        identifiers = [entries[index]["identifier"] for index in indexes]
        try:
            _processed, unprocessed = service.batch_update_findings(identifiers, workflow_status, note, updated_by)
        except AwsError as error:
            unprocessed = [{"FindingIdentifier": identifier, "ErrorCode": error.code, "ErrorMessage": error.message}
                           for identifier in identifiers]
        refused = dict(((item["FindingIdentifier"]["Id"], item["FindingIdentifier"]["ProductArn"]), item)
                       for item in unprocessed)
        for index in indexes:
            item = refused.get((entries[index]["identifier"]["Id"], entries[index]["identifier"]["ProductArn"]))
            if item:
                results[index].update(changed=False, status="failed", after=results[index]["before"],
                                      error_code=item.get("ErrorCode"), error_message=item.get("ErrorMessage"))
    return [results[index] if index in results else dict(results[first_of[(
        entry["identifier"]["Id"], entry["identifier"]["ProductArn"])]]) for index, entry in enumerate(entries)]


def add_key_verdicts(clients, records, concurrency):
    """Each finding's key read from KMS in its own Region, with its KMS.4 verdict (``clients``: a ClientFactory)."""
    by_region = {}
    for record in records:
        if record["key_arn"]:
            by_region.setdefault(rotation.arn_region(record["key_arn"]) or record["region"], set()).add(
                record["key_arn"])

    def read(region):
        options = {"key_ids": sorted(by_region[region]), "include_aws_managed": True, "tag_filters": {},
                   "desired": rotation.kms4_desired(), "concurrency": concurrency}
        try:
            service = clients.service(KmsService, region)
            return dict((key["key_arn"], key) for key in RegionScanner(service, options).scan())
        except AwsError as error:
            return dict((arn, {"compliance": rotation.ERROR, "reason": error.code, "message": error.message})
                        for arn in by_region[region])

    keys = {}
    for found in map_concurrently(read, sorted(by_region), len(by_region)):
        keys.update(found)
    for record in records:
        key = keys.get(record["key_arn"]) or {
            "compliance": rotation.ERROR, "reason": "NotFoundException",
            "message": "the key could not be found with these credentials: it was deleted, or belongs to another "
                       "account whose key policy does not let this one read it"}
        record["key_verdict"] = dict((field, key.get(field)) for field in rotation.VERDICT_FIELDS + ("message",))
