#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: kms_findings
short_description: Set the workflow status and note of AWS Security Hub findings
version_added: 0.1.0
description:
  - Sets the workflow status (C(NOTIFIED), C(RESOLVED) or C(SUPPRESSED)) and a note on Security Hub findings, for
    example the KMS.3 and KMS.4 findings M(keyguard.kms.kms_findings_info) returns, with C(BatchUpdateFindings).
  - Reads every finding first and sends nothing for a finding that already has that status and note, so it is
    idempotent; only the fields that differ are sent, and no other field of a finding is ever touched.
  - At most 100 findings a call, paced to C(BatchUpdateFindings)' documented 10 requests per second. Findings
    Security Hub does not process come back per finding with its error code; the others are updated, and the task
    fails at the end.
author:
  - keyguard.kms contributors (@keyguard)
options:
  findings:
    description:
      - The findings to update, each a dict with C(finding_id) and C(product_arn) (as
        M(keyguard.kms.kms_findings_info) returns them; other fields are ignored).
      - An entry may carry its own C(workflow_status) and C(note), which win over O(workflow_status) and O(note),
        and its C(region), where it is updated (see O(securityhub_region)).
    type: list
    elements: dict
    required: true
  workflow_status:
    description: The workflow status to set; not changed when not given.
    type: str
    choices: [NOTIFIED, RESOLVED, SUPPRESSED]
  note:
    description: The note text to set, 1 to 512 characters; not changed when not given.
    type: str
  updated_by:
    description: Who the note is from, as Security Hub shows it.
    type: str
    default: keyguard.kms
  securityhub_region:
    description:
      - The Region whose Security Hub is called for every finding, for example the aggregation Region.
      - When not given, each finding is updated in its own C(region), or in the connection's Region.
    type: str
  keep_others_decisions:
    description:
      - Never change a finding that somebody else set to C(SUPPRESSED), and never replace a note that somebody else
        wrote (its C(UpdatedBy) is not O(updated_by)); only the workflow status is then changed, or nothing.
      - Checked on each finding as read right before the update, so a decision made after the update was planned
        is kept too. The finding's result says what was kept (RV(results[].kept)).
      - A suppression counts as this collection's only when its note is the rotation role's exemption note.
    type: bool
    default: false
  concurrency:
    description: Regions worked on at once.
    type: int
    default: 4
notes:
  - Needs C(securityhub:GetFindings) and C(securityhub:BatchUpdateFindings). A member account updates its own
    findings; the administrator account updates its members'.
  - Security Hub resets C(NOTIFIED) and C(RESOLVED) to C(NEW) when a control fails again after passing, and sets
    C(RESOLVED) itself when the next evaluation passes.
seealso:
  - module: keyguard.kms.kms_findings_info
attributes:
  check_mode:
    support: full
    description: Reads the findings and predicts every update; sends none.
  diff_mode:
    support: full
    description: Shows, per finding, the workflow status and note before and after.
extends_documentation_fragment:
  - keyguard.kms.kms_tuning
  - keyguard.kms.assume_role
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Active KMS.4 findings
  keyguard.kms.kms_findings_info:
    controls: [KMS.4]
  register: kms4

- name: Tell Security Hub the key owners were told
  keyguard.kms.kms_findings:
    findings: "{{ kms4.findings }}"
    workflow_status: NOTIFIED
    note: "Rotation must be enabled by the key owner; ticket SEC-4242."

- name: Resolve one finding, suppress another, each with its own note
  keyguard.kms.kms_findings:
    findings:
      - finding_id: arn:aws:securityhub:eu-west-1:111122223333:security-control/KMS.4/finding/0d6ee5f1-0000-4000-8000-000000000000
        product_arn: arn:aws:securityhub:eu-west-1::product/aws/securityhub
        workflow_status: RESOLVED
        note: Rotation enabled by keyguard.kms, verified.
      - finding_id: arn:aws:securityhub:eu-west-1:111122223333:security-control/KMS.3/finding/6a1d7c3e-0000-4000-8000-000000000000
        product_arn: arn:aws:securityhub:eu-west-1::product/aws/securityhub
        workflow_status: SUPPRESSED
        note: "Deletion approved in CHG-1042."
"""

RETURN = r"""
results:
  description: One entry per finding given, in the same order.
  returned: always
  type: list
  elements: dict
  contains:
    finding_id: {description: The finding's ID., type: str, returned: always}
    product_arn: {description: The finding's product ARN., type: str, returned: always}
    region: {description: The Region whose Security Hub was called., type: str, returned: always}
    changed: {description: "Whether the finding was (in check mode, would be) updated.", type: bool, returned: always}
    status: {description: "C(updated), C(unchanged), C(planned) (check mode) or C(failed).", type: str, returned: always}
    before: {description: C(workflow_status) and C(note) as found; null when the finding was not found., type: dict, returned: always}
    after: {description: C(workflow_status) and C(note) after the update (predicted in check mode)., type: dict, returned: always}
    error_code:
      description: "Security Hub's error code for an unprocessed finding, for example C(FindingNotFound), or the AWS error code."
      type: str
      returned: always
    error_message: {description: What went wrong and what to do; null when nothing did., type: str, returned: always}
    kept:
      description: With O(keep_others_decisions), what of somebody else's was left as it is; null otherwise.
      type: str
      returned: always
  sample:
    - finding_id: arn:aws:securityhub:eu-west-1:111122223333:security-control/KMS.4/finding/0d6ee5f1-0000-4000-8000-000000000000
      product_arn: arn:aws:securityhub:eu-west-1::product/aws/securityhub
      region: eu-west-1
      changed: true
      status: updated
      before: {workflow_status: NEW, note: null}
      after: {workflow_status: RESOLVED, note: Rotation enabled by keyguard.kms, verified.}
      error_code: null
      error_message: null
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.keyguard.kms.plugins.module_utils import _findings as findings
from ansible_collections.keyguard.kms.plugins.module_utils._aws import AwsError
from ansible_collections.keyguard.kms.plugins.module_utils._aws import ClientFactory
from ansible_collections.keyguard.kms.plugins.module_utils._aws import assume_role_argument_spec
from ansible_collections.keyguard.kms.plugins.module_utils._aws import client_config
from ansible_collections.keyguard.kms.plugins.module_utils._aws import map_concurrently
from ansible_collections.keyguard.kms.plugins.module_utils._aws import tuning_argument_spec
from ansible_collections.keyguard.kms.plugins.module_utils._aws import tuning_errors
from ansible_collections.keyguard.kms.plugins.module_utils._lifeline import stop_when_run_ends
from ansible_collections.keyguard.kms.plugins.module_utils._regions import region_errors
from ansible_collections.keyguard.kms.plugins.module_utils._securityhub import DEFAULT_RATE_LIMITS
from ansible_collections.keyguard.kms.plugins.module_utils._securityhub import SecurityHubService


def wanted_updates(params, default_region):
    """(entries, errors): each entry its identifier, Region and wanted status and note; checked before any call."""
    entries, errors = [], []
    for number, given in enumerate(params["findings"], 1):
        finding_id, product_arn = given.get("finding_id"), given.get("product_arn")
        workflow_status = given.get("workflow_status", params["workflow_status"])
        note = given.get("note", params["note"])
        region = params["securityhub_region"] or given.get("region") or default_region
        problems = [] if finding_id and product_arn else ["needs finding_id and product_arn"]
        problems += findings.update_errors(workflow_status, note, params["updated_by"])
        if not region:
            problems.append("no Region: set securityhub_region, region, or the finding's region")
        if problems:
            errors.append("findings item %d (%s): %s" % (number, finding_id, "; ".join(problems)))
            continue
        entries.append({"identifier": {"Id": finding_id, "ProductArn": product_arn}, "region": region,
                        "workflow_status": workflow_status, "note": note})
    return entries, errors


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


def main():
    argument_spec = dict(
        findings=dict(type="list", elements="dict", required=True),
        workflow_status=dict(type="str", choices=list(findings.SETTABLE_WORKFLOW_STATUSES)),
        note=dict(type="str"),
        updated_by=dict(type="str", default="keyguard.kms"),
        securityhub_region=dict(type="str"),
        keep_others_decisions=dict(type="bool", default=False),
    )
    argument_spec.update(tuning_argument_spec(concurrency=4))
    argument_spec.update(assume_role_argument_spec())
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    stop_when_run_ends()
    params = module.params
    entries, errors = wanted_updates(params, module.region)
    errors.extend(region_errors(sorted(set(entry["region"] for entry in entries))))
    errors.extend(tuning_errors(params, DEFAULT_RATE_LIMITS))
    if errors:
        module.fail_json(msg="Invalid arguments: " + "; ".join(errors))
    config = client_config(params["request_timeout"])
    by_region = {}
    for index, entry in enumerate(entries):
        by_region.setdefault(entry["region"], []).append(index)

    clients = ClientFactory(module)

    def work(region):
        indexes = by_region[region]
        try:
            service = SecurityHubService(clients.client("securityhub", region, config), region,
                                         params["rate_limits"], max_attempts=params["max_attempts"],
                                         stall_timeout=params["stall_timeout"])
            return indexes, update_region(service, [entries[index] for index in indexes], module.check_mode,
                                          params["updated_by"], params["keep_others_decisions"])
        except AwsError as error:
            return indexes, [result_for(entries[index], "failed", error_code=error.code, error_message=error.message)
                             for index in indexes]

    results = [None] * len(entries)
    for indexes, region_results in map_concurrently(work, sorted(by_region), params["concurrency"]):
        for index, result in zip(indexes, region_results):
            results[index] = result
    output = {"changed": any(result["changed"] for result in results), "results": results}
    if module._diff:
        output["diff"] = [{"before": result["before"] or {}, "after": result["after"] or {},
                           "before_header": "%s (before)" % result["finding_id"],
                           "after_header": "%s (after)" % result["finding_id"]}
                          for result in results if result["changed"]]
    failed = [result for result in results if result["status"] == "failed"]
    if failed:
        details = "; ".join("%s: %s %s" % (result["finding_id"], result["error_code"], result["error_message"])
                            for result in failed[:10])
        module.fail_json(msg="%d of %d findings could not be updated, the others were: %s" % (
            len(failed), len(results), details), **output)
    module.exit_json(**output)


if __name__ == "__main__":
    main()
