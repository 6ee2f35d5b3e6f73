# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Security Hub findings of the KMS controls: which findings they are, and what updating them means.

Pure: ASFF in, plain records out; no AWS calls. Used by the findings modules and
by the rotation role's plugins.

This is a private module: its interface may change without notice.
"""

from __future__ import annotations

CONTROLS = ("KMS.3", "KMS.4")
WORKFLOW_STATUSES = ("NEW", "NOTIFIED", "RESOLVED", "SUPPRESSED")
# The statuses this collection sets; NEW belongs to Security Hub.
SETTABLE_WORKFLOW_STATUSES = ("NOTIFIED", "RESOLVED", "SUPPRESSED")
COMPLIANCE_STATUSES = ("PASSED", "WARNING", "FAILED", "NOT_AVAILABLE")
NOTE_MAX_LENGTH = 512
UPDATED_BY_MAX_LENGTH = 512
# GetFindings takes up to 20 values per filter attribute, BatchUpdateFindings up to 100 findings a call.
FILTER_VALUES_MAX = 20
UPDATE_BATCH_MAX = 100
KMS_KEY_RESOURCE_TYPE = "AwsKmsKey"

# GeneratorId of each kind of finding for these controls: consolidated control findings, and the
# per-standard findings accounts without consolidation get (one per enabled standard).
GENERATORS = {
    "security-control/KMS.3": "KMS.3",
    "security-control/KMS.4": "KMS.4",
    "aws-foundational-security-best-practices/v/1.0.0/KMS.3": "KMS.3",
    "aws-foundational-security-best-practices/v/1.0.0/KMS.4": "KMS.4",
    "nist-800-53/v/5.0.0/KMS.3": "KMS.3",
    "nist-800-53/v/5.0.0/KMS.4": "KMS.4",
    "cis-aws-foundations-benchmark/v/1.4.0/3.8": "KMS.4",
    "cis-aws-foundations-benchmark/v/3.0.0/3.6": "KMS.4",
    "arn:aws:securityhub:::ruleset/cis-aws-foundations-benchmark/v/1.2.0/rule/2.8": "KMS.4",
    "pci-dss/v/3.2.1/PCI.KMS.1": "KMS.4",
}
# Per-standard findings that can come without Compliance.SecurityControlId: found by GeneratorId.
LEGACY_GENERATORS = ("arn:aws:securityhub:::ruleset/cis-aws-foundations-benchmark/v/1.2.0/rule/2.8",
                     "pci-dss/v/3.2.1/PCI.KMS.1")


def control_of(finding):
    """KMS.3, KMS.4 or None: from Compliance.SecurityControlId, else recognised by GeneratorId."""
    control = (finding.get("Compliance") or {}).get("SecurityControlId")
    return control or GENERATORS.get(finding.get("GeneratorId"))


def origin_of(finding):
    """Where the finding comes from: the consolidated control, or the standard that produced it."""
    generator = finding.get("GeneratorId") or ""
    if generator.startswith("security-control/"):
        return "consolidated"
    return generator.replace("arn:aws:securityhub:::ruleset/", "").split("/v/")[0] or None


def kms_key_arn(finding):
    for resource in finding.get("Resources") or []:
        if resource.get("Type") == KMS_KEY_RESOURCE_TYPE:
            return resource.get("Id")
    return None


def finding_record(finding):
    """What the modules return of one ASFF finding."""
    note = finding.get("Note") or {}
    resources = finding.get("Resources") or [{}]
    return {
        "finding_id": finding["Id"],
        "product_arn": finding["ProductArn"],
        "control_id": control_of(finding),
        "origin": origin_of(finding),
        "generator_id": finding.get("GeneratorId"),
        "title": finding.get("Title"),
        "key_arn": kms_key_arn(finding),
        "account_id": finding.get("AwsAccountId"),
        "region": finding.get("Region") or resources[0].get("Region"),
        "compliance_status": (finding.get("Compliance") or {}).get("Status"),
        "workflow_status": (finding.get("Workflow") or {}).get("Status"),
        "record_state": finding.get("RecordState"),
        "updated_at": finding.get("UpdatedAt"),
        "note": note.get("Text"),
        "note_updated_by": note.get("UpdatedBy"),
        "key_reference": kms_key_arn(finding),
    }


def _string_filter(values, comparison="EQUALS"):
    return [{"Value": value, "Comparison": comparison} for value in values]


def _chunks(values, size):
    values = list(values)
    return [values[start:start + size] for start in range(0, len(values), size)] or [[]]


def finding_filters(controls, compliance_statuses, workflow_statuses, account_ids=None):
    """GetFindings filter sets (each one query) for the active findings of ``controls`` on KMS keys.

    More than 20 accounts take several queries; legacy per-standard findings, which may
    have no SecurityControlId, take one more, by GeneratorId.
    """
    base = {
        "RecordState": _string_filter(["ACTIVE"]),
        "ResourceType": _string_filter([KMS_KEY_RESOURCE_TYPE]),
        "ComplianceStatus": _string_filter(compliance_statuses),
    }
    if workflow_statuses:
        base["WorkflowStatus"] = _string_filter(workflow_statuses)
    legacy = [generator for generator in LEGACY_GENERATORS if GENERATORS[generator] in controls]
    queries = []
    for accounts in _chunks(account_ids or [], FILTER_VALUES_MAX):
        scoped = dict(base)
        if accounts:
            scoped["AwsAccountId"] = _string_filter(accounts)
        queries.append(dict(scoped, ComplianceSecurityControlId=_string_filter(controls)))
        if legacy:
            queries.append(dict(scoped, GeneratorId=_string_filter(legacy)))
    return queries


def id_filters(finding_ids):
    """GetFindings filter sets that read back the given findings, 20 IDs a query."""
    return [{"Id": _string_filter(chunk)} for chunk in _chunks(finding_ids, FILTER_VALUES_MAX) if chunk]


def update_errors(workflow_status, note, updated_by):
    """Why an update is refused before any call, or an empty list."""
    errors = []
    if workflow_status is not None and workflow_status not in SETTABLE_WORKFLOW_STATUSES:
        errors.append("workflow_status must be one of %s, got %r" % (
            ", ".join(SETTABLE_WORKFLOW_STATUSES), workflow_status))
    if note is not None and not (0 < len(note) <= NOTE_MAX_LENGTH):
        errors.append("a note must have 1 to %d characters, got %d" % (NOTE_MAX_LENGTH, len(note)))
    if not updated_by or len(updated_by) > UPDATED_BY_MAX_LENGTH:
        errors.append("updated_by must have 1 to %d characters" % UPDATED_BY_MAX_LENGTH)
    if workflow_status is None and note is None:
        errors.append("nothing to set: give a workflow_status, a note, or both")
    return errors


def planned_update(current, workflow_status, note):
    """What would change on a finding (``current`` a finding_record): {} when nothing would."""
    change = {}
    if workflow_status is not None and current["workflow_status"] != workflow_status:
        change["workflow_status"] = workflow_status
    if note is not None and current["note"] != note:
        change["note"] = note
    return change


def update_batches(updates):
    """Group (item, workflow_status, note) updates that set the same fields, 100 findings a call.

    Returns (workflow_status, note, [items]) per BatchUpdateFindings call, in a stable order.
    """
    groups = {}
    for item, workflow_status, note in updates:
        groups.setdefault((workflow_status, note), []).append(item)
    return [(workflow_status, note, items[start:start + UPDATE_BATCH_MAX])
            for (workflow_status, note), items in groups.items()
            for start in range(0, len(items), UPDATE_BATCH_MAX)]


# Who this collection's notes are from (kms_findings' default updated_by): any other note is a person's.
UPDATED_BY = "keyguard.kms"
# The workflow statuses of findings still waiting for action; SUPPRESSED is somebody's decision.
OPEN_WORKFLOW_STATUSES = ("NEW", "NOTIFIED")


def note_is_ours(record, updated_by=UPDATED_BY):
    """Whether the finding's note, if any, was written by this collection (and so may be replaced)."""
    return record.get("note") is None or record.get("note_updated_by") == updated_by


# How this collection's own suppressions begin (the rotation role's exempt keys); any other is somebody's.
SUPPRESSION_NOTE_PREFIX = UPDATED_BY + ": exempt, "


def suppressed_by_a_person(record, updated_by=UPDATED_BY):
    """A finding set to SUPPRESSED by anyone but this collection's own suppression: their decision, kept.

    Only a suppression whose note is this collection's exemption note is ours; a person may suppress a
    finding that still carries another note of ours.
    """
    return record.get("workflow_status") == "SUPPRESSED" and not (
        record.get("note_updated_by") == updated_by and (record.get("note") or "").startswith(SUPPRESSION_NOTE_PREFIX))


def _decision_weight(record):
    return (record.get("workflow_status") == "SUPPRESSED", not note_is_ours(record))


def deduplicated(records):
    """One record per finding (Id and ProductArn): with cross-Region aggregation two hubs return the same one.

    When the copies disagree (the aggregator lags), the one carrying somebody's decision wins.
    """
    chosen, order = {}, []
    for record in records:
        identity = (record["finding_id"], record["product_arn"])
        if identity not in chosen:
            order.append(identity)
            chosen[identity] = record
        elif _decision_weight(record) > _decision_weight(chosen[identity]):
            chosen[identity] = record
    return [chosen[identity] for identity in order]


def key_index(kms_keys):
    """{reference: key ARN} for every way an ASFF resource may name a key: ARN, (Region, ID), (Region, alias)."""
    index = {}
    for key in kms_keys:
        arn = key.get("key_arn")
        if not arn:
            continue
        index[arn] = arn
        index[(key["region"], key["key_id"])] = arn
        for alias in key.get("aliases") or []:
            index[(key["region"], alias)] = arn
    return index


def matched_key_arn(reference, region, index):
    """The ARN of the key ``reference`` names (key ARN, key ID, alias name or alias ARN), or None."""
    if not reference:
        return None
    if reference in index:
        return index[reference]
    if reference.startswith("arn:") and ":alias/" in reference:
        parts = reference.split(":", 5)
        return index.get((parts[3], parts[5])) if len(parts) == 6 else None
    return index.get((region, reference))
