#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: kms_findings
short_description: Set the workflow status and note of AWS Security Hub findings
version_added: 1.0.0
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

from ansible_collections.keyguard.kms.plugins.module_utils._aws.arguments import assume_role_argument_spec
from ansible_collections.keyguard.kms.plugins.module_utils._aws.arguments import connection_errors
from ansible_collections.keyguard.kms.plugins.module_utils._aws.arguments import tuning_argument_spec
from ansible_collections.keyguard.kms.plugins.module_utils._aws.arguments import tuning_errors
from ansible_collections.keyguard.kms.plugins.module_utils._aws.clients import ClientFactory
from ansible_collections.keyguard.kms.plugins.module_utils._aws.clients import fail
from ansible_collections.keyguard.kms.plugins.module_utils._aws.securityhub import DEFAULT_RATE_LIMITS
from ansible_collections.keyguard.kms.plugins.module_utils._aws.securityhub import SecurityHubService
from ansible_collections.keyguard.kms.plugins.module_utils._aws.service import AwsError
from ansible_collections.keyguard.kms.plugins.module_utils._engine.findings import result_for
from ansible_collections.keyguard.kms.plugins.module_utils._engine.findings import update_region
from ansible_collections.keyguard.kms.plugins.module_utils._rules import findings
from ansible_collections.keyguard.kms.plugins.module_utils._runtime.concurrency import map_concurrently
from ansible_collections.keyguard.kms.plugins.module_utils._runtime.run_watch import stop_when_run_ends


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


def argument_spec():
    """The module's options, also validated by the rotation role's inventory-wide phases."""
    spec = dict(
        findings=dict(type="list", elements="dict", required=True),
        workflow_status=dict(type="str", choices=list(findings.SETTABLE_WORKFLOW_STATUSES)),
        note=dict(type="str"),
        updated_by=dict(type="str", default="keyguard.kms"),
        securityhub_region=dict(type="str"),
        keep_others_decisions=dict(type="bool", default=False),
    )
    spec.update(tuning_argument_spec(concurrency=4))
    spec.update(assume_role_argument_spec())
    return spec


def run(module):
    """The module's work for one connection: ``module`` is an AnsibleAWSModule or the role's stand-in."""
    params = module.params
    entries, errors = wanted_updates(params, module.region)
    regions = sorted(set(entry["region"] for entry in entries))
    errors.extend(connection_errors(params, regions, DEFAULT_RATE_LIMITS) if regions
                  else tuning_errors(params, DEFAULT_RATE_LIMITS))
    if errors:
        module.fail_json(msg="Invalid arguments: " + "; ".join(errors))
    by_region = {}
    for index, entry in enumerate(entries):
        by_region.setdefault(entry["region"], []).append(index)

    clients = ClientFactory(module)

    def work(region):
        indexes = by_region[region]
        try:
            service = clients.service(SecurityHubService, region)
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
        fail(module, "%d of %d findings could not be updated, the others were: %s" % (
            len(failed), len(results), details), **output)
    module.exit_json(**output)


def main():
    module = AnsibleAWSModule(argument_spec=argument_spec(), supports_check_mode=True)
    stop_when_run_ends()
    run(module)


if __name__ == "__main__":
    main()
