#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: kms_findings_info
short_description: List the active AWS Security Hub findings of controls KMS.3 and KMS.4
version_added: 1.0.0
description:
  - Reads, with C(GetFindings), the active findings of Security Hub controls KMS.3 (key scheduled for deletion)
    and KMS.4 (key rotation) on AWS KMS keys, in one or more Regions.
  - Finds consolidated control findings (C(GeneratorId) C(security-control/KMS.4)) and per-standard findings
    (for example the CIS AWS Foundations Benchmark's rotation check), and says for each which control it is,
    recognising older per-standard findings by their C(GeneratorId).
  - Pages through 100 findings at a time, paced to C(GetFindings)' documented 3 requests per second; throttling
    is retried with jittered backoff.
  - Works from a member account (its own findings) and from the administrator account or the aggregation Region
    (findings of member accounts and linked Regions; narrow them with O(account_ids)).
  - Optionally adds each key's own KMS.4 verdict, read from KMS, so a finding Security Hub has not re-evaluated
    yet can be told from a key that is still wrong.
author:
  - keyguard.kms contributors (@keyguard)
options:
  regions:
    description:
      - Regions whose Security Hub is read. With cross-Region aggregation, the aggregation Region alone.
      - Defaults to the Region of the connection.
    type: list
    elements: str
  controls:
    description: The controls whose findings are returned.
    type: list
    elements: str
    choices: [KMS.3, KMS.4]
    default: [KMS.3, KMS.4]
  compliance_status:
    description: Only findings with one of these compliance statuses.
    type: list
    elements: str
    choices: [FAILED, PASSED, WARNING, NOT_AVAILABLE]
    default: [FAILED]
  workflow_status:
    description:
      - Only findings with one of these workflow statuses; an empty list returns every workflow status.
    type: list
    elements: str
    choices: [NEW, NOTIFIED, RESOLVED, SUPPRESSED]
    default: [NEW, NOTIFIED]
  account_ids:
    description:
      - Only findings of these accounts, for example from the administrator account. Every account the
        credentials can see when not given.
    type: list
    elements: str
  key_verdicts:
    description:
      - Add RV(findings[].key_verdict), the key's own KMS.4 verdict read from KMS with the same credentials.
      - Keys of other accounts can usually not be read that way; their verdict is C(ERROR) with the reason.
    type: bool
    default: false
  concurrency:
    description: Keys read at once in each Region for O(key_verdicts).
    type: int
    default: 16
notes:
  - Needs C(securityhub:GetFindings), and for O(key_verdicts) C(kms:DescribeKey) and C(kms:GetKeyRotationStatus).
  - A finding that names its key by key ID, alias name or alias ARN is returned with that reference in both
    RV(findings[].key_arn) and RV(findings[].key_reference); the rotation role matches it to the key it names.
  - Findings of keys that no longer exist are archived (C(RecordState=ARCHIVED)) by Security Hub and are not returned.
seealso:
  - module: keyguard.kms.kms_findings
  - module: keyguard.kms.kms_rotation_info
  - name: Security Hub controls for AWS KMS
    description: KMS.3 and KMS.4 in the AWS Security Hub user guide.
    link: https://docs.aws.amazon.com/securityhub/latest/userguide/kms-controls.html
attributes:
  check_mode:
    support: full
    description: Read-only; runs the same in check mode.
  diff_mode:
    support: none
    description: Nothing changes, so there is no diff.
extends_documentation_fragment:
  - keyguard.kms.kms_tuning
  - keyguard.kms.assume_role
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Active KMS.4 findings of this account in two Regions
  keyguard.kms.kms_findings_info:
    regions: [eu-west-1, us-east-1]
    controls: [KMS.4]
  register: kms4

- name: From the administrator account, in the aggregation Region, with each key's own verdict
  keyguard.kms.kms_findings_info:
    regions: [eu-west-1]
    account_ids: ["111122223333", "444455556666"]
    key_verdicts: true
  register: findings

- name: Findings whose key is compliant already (Security Hub has not re-evaluated yet)
  ansible.builtin.debug:
    msg: "{{ findings.findings | selectattr('key_verdict.compliance', 'eq', 'COMPLIANT') | map(attribute='finding_id') }}"
"""

RETURN = r"""
findings:
  description: One entry per finding, ordered by Region, control and key.
  returned: always
  type: list
  elements: dict
  contains:
    finding_id: {description: The finding's ID (ASFF C(Id))., type: str, returned: always}
    product_arn: {description: The finding's product ARN; with C(finding_id) it identifies the finding., type: str, returned: always}
    control_id: {description: C(KMS.3) or C(KMS.4)., type: str, returned: always}
    origin:
      description: "C(consolidated), or the standard of a per-standard finding, for example C(cis-aws-foundations-benchmark)."
      type: str
      returned: always
    generator_id: {description: The finding's C(GeneratorId)., type: str, returned: always}
    key_arn: {description: The ARN of the KMS key the finding is about., type: str, returned: always}
    account_id: {description: The account of the finding., type: str, returned: always}
    region: {description: The Region of the finding., type: str, returned: always}
    compliance_status: {description: "C(FAILED), C(PASSED), ...", type: str, returned: always}
    workflow_status: {description: "C(NEW), C(NOTIFIED), C(RESOLVED) or C(SUPPRESSED).", type: str, returned: always}
    record_state: {description: C(ACTIVE)., type: str, returned: always}
    updated_at: {description: When Security Hub last updated the finding., type: str, returned: always}
    note: {description: The finding's note text; null without a note., type: str, returned: always}
    note_updated_by: {description: Who wrote the note (C(keyguard.kms) for this collection's notes)., type: str, returned: always}
    key_reference:
      description: The key as the finding's resource names it (a key ARN, or a key ID, alias name or alias ARN).
      type: str
      returned: always
    key_verdict:
      description:
        - The key's own verdict, as M(keyguard.kms.kms_rotation_info) gives it.
        - C(compliance), C(reason), C(message), C(key_state), C(rotation_enabled) and C(rotation_period_days).
      type: dict
      returned: when O(key_verdicts=true)
  sample:
    - finding_id: arn:aws:securityhub:eu-west-1:111122223333:security-control/KMS.4/finding/0d6ee5f1-0000-4000-8000-000000000000
      product_arn: arn:aws:securityhub:eu-west-1::product/aws/securityhub
      control_id: KMS.4
      origin: consolidated
      key_arn: arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab
      account_id: "111122223333"
      region: eu-west-1
      compliance_status: FAILED
      workflow_status: NEW
      record_state: ACTIVE
      note: null
summary:
  description: Counts of findings, per control, per workflow status and per Region.
  returned: always
  type: dict
  sample: {total: 2, by_control: {KMS.4: 2}, by_workflow_status: {NEW: 2}, by_region: {eu-west-1: 2}}
regions:
  description: The Regions read.
  returned: always
  type: list
  elements: str
region_results:
  description:
    - Per Region read, C(region), C(findings) (how many it returned) and C(error) (null when it was read). A Region
      whose Security Hub cannot be read (for example not enabled there) fails the task, but the findings of the
      other Regions are returned all the same.
  returned: always
  type: list
  elements: dict
  sample: [{region: eu-west-1, findings: 2, error: null}]
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.keyguard.kms.plugins.module_utils._aws.arguments import account_id_errors
from ansible_collections.keyguard.kms.plugins.module_utils._aws.arguments import assume_role_argument_spec
from ansible_collections.keyguard.kms.plugins.module_utils._aws.arguments import connection_errors
from ansible_collections.keyguard.kms.plugins.module_utils._aws.arguments import tuning_argument_spec
from ansible_collections.keyguard.kms.plugins.module_utils._aws.clients import ClientFactory
from ansible_collections.keyguard.kms.plugins.module_utils._aws.clients import fail
from ansible_collections.keyguard.kms.plugins.module_utils._aws.kms import BOTOCORE_WITH_ROTATION_PERIODS
from ansible_collections.keyguard.kms.plugins.module_utils._aws.kms import DEFAULT_RATE_LIMITS as KMS_RATE_LIMITS
from ansible_collections.keyguard.kms.plugins.module_utils._aws.regions import regions_to_use
from ansible_collections.keyguard.kms.plugins.module_utils._aws.securityhub import DEFAULT_RATE_LIMITS
from ansible_collections.keyguard.kms.plugins.module_utils._aws.securityhub import SecurityHubService
from ansible_collections.keyguard.kms.plugins.module_utils._aws.service import AwsError
from ansible_collections.keyguard.kms.plugins.module_utils._engine.findings import add_key_verdicts
from ansible_collections.keyguard.kms.plugins.module_utils._engine.findings import read_findings
from ansible_collections.keyguard.kms.plugins.module_utils._engine.findings import summarize_findings
from ansible_collections.keyguard.kms.plugins.module_utils._rules import findings
from ansible_collections.keyguard.kms.plugins.module_utils._runtime.concurrency import map_concurrently
from ansible_collections.keyguard.kms.plugins.module_utils._runtime.run_watch import stop_when_run_ends


def argument_spec():
    """The module's options, also validated by the rotation role's inventory-wide phases."""
    spec = dict(
        regions=dict(type="list", elements="str"),
        controls=dict(type="list", elements="str", choices=list(findings.CONTROLS), default=list(findings.CONTROLS)),
        compliance_status=dict(type="list", elements="str", choices=["FAILED", "PASSED", "WARNING", "NOT_AVAILABLE"],
                               default=["FAILED"]),
        workflow_status=dict(type="list", elements="str", choices=list(findings.WORKFLOW_STATUSES),
                             default=["NEW", "NOTIFIED"]),
        account_ids=dict(type="list", elements="str"),
        key_verdicts=dict(type="bool", default=False),
    )
    spec.update(tuning_argument_spec(concurrency=16))
    spec.update(assume_role_argument_spec())
    return spec


def run(module):
    """The module's work for one connection: ``module`` is an AnsibleAWSModule or the role's stand-in."""
    params = module.params
    regions = regions_to_use(params["regions"] or None, module.region)
    errors = connection_errors(params, regions, dict(DEFAULT_RATE_LIMITS, **KMS_RATE_LIMITS))
    if not params["controls"]:
        errors.append("controls is empty: give KMS.3, KMS.4 or both")
    errors.extend(account_id_errors("account_ids", params["account_ids"]))
    if errors:
        module.fail_json(msg="Invalid arguments: " + "; ".join(errors))
    if params["key_verdicts"]:
        module.require_botocore_at_least(BOTOCORE_WITH_ROTATION_PERIODS, reason="to read KMS rotation periods")
    queries = findings.finding_filters(params["controls"], params["compliance_status"], params["workflow_status"],
                                       params["account_ids"])

    clients = ClientFactory(module)

    def read(region):
        try:
            return read_findings(clients.service(SecurityHubService, region), queries, params["controls"]), None
        except AwsError as error:
            return [], error

    outcomes = map_concurrently(read, regions, len(regions))
    # With cross-Region aggregation a finding is read from its own Region's hub and the aggregator's.
    records = findings.deduplicated([record for region_records, _error in outcomes for record in region_records])
    records.sort(key=lambda record: (record["region"] or "", record["control_id"] or "", record["key_arn"] or ""))
    if params["key_verdicts"]:
        add_key_verdicts(clients, records, params["concurrency"])
    region_results = [{"region": region, "findings": len(region_records),
                       "error": "%s: %s" % (region, error.message) if error else None}
                      for region, (region_records, error) in zip(regions, outcomes)]
    output = {"changed": False, "findings": records, "summary": summarize_findings(records), "regions": regions,
              "region_results": region_results}
    failed = [error for _records, error in outcomes if error]
    if failed:
        fail(module, "Could not read the findings of %d of %d Regions: %s" % (len(failed), len(regions), "; ".join(
            result["error"] for result in region_results if result["error"])), failed[0], **output)
    module.exit_json(**output)


def main():
    module = AnsibleAWSModule(argument_spec=argument_spec(), supports_check_mode=True)
    stop_when_run_ends()
    run(module)


if __name__ == "__main__":
    main()
