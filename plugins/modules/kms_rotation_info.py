#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: kms_rotation_info
short_description: List AWS KMS keys of one or more Regions with their rotation status and KMS.4 verdict
version_added: 1.0.0
description:
  - Lists every KMS key of the given Regions with its key state, kind, aliases, multi-Region role,
    deletion date, automatic rotation status and period, and its AWS Security Hub KMS.4 verdict
    (C(compliance) and C(reason), the same vocabulary as M(keyguard.kms.kms_rotation)).
  - Regions are scanned concurrently. Per Region it lists keys and aliases once (paginated), then reads
    each key on a bounded thread pool paced to KMS's request quotas, retrying throttling with jittered
    backoff.
  - A key that cannot be read is returned with C(compliance=ERROR), its message and every field that was
    read; it is never dropped and never counted as passing or failing.
  - Aliases are optional data; when a Region's aliases cannot be listed, its keys are returned without them
    and a warning says so. A Region whose keys cannot be listed fails the module, after the other Regions
    are scanned; RV(region_results) says which.
author:
  - keyguard.kms contributors (@keyguard)
options:
  regions:
    description:
      - Regions to scan. Defaults to the Region of the connection (O(region) or the environment).
    type: list
    elements: str
  key_ids:
    description:
      - Only these keys, as key IDs, key ARNs, alias names or alias ARNs. Unknown ones are ignored.
      - Keys given by key ARN are read directly in their Region (if it is scanned), without listing the
        Region's keys, the quick way to read back a few keys.
    type: list
    elements: str
  tag_filters:
    description:
      - Only keys that carry all these tags. A tag's value is a string or a list of accepted strings;
        an empty string or list accepts any value.
    type: dict
  tags:
    description:
      - Return each key's tags (one extra call per key).
    type: bool
    default: false
  include_aws_managed:
    description:
      - List AWS managed keys (C(alias/aws/...)) too; they are always C(NOT_APPLICABLE).
    type: bool
    default: false
  state:
    description:
      - The automatic rotation that RV(kms_keys[].compliance) is judged against; nothing is changed.
      - V(enabled) is KMS.4. V(disabled) judges keys with rotation on as C(NON_COMPLIANT) with reason
        C(ROTATION_ENABLED), as M(keyguard.kms.kms_rotation) with O(keyguard.kms.kms_rotation#module:state=disabled) would.
    type: str
    choices: [enabled, disabled]
    default: enabled
  max_rotation_period_days:
    description:
      - A key rotating less often than this is C(NON_COMPLIANT) with reason C(ROTATION_PERIOD_MISMATCH).
    type: int
  max_key_material_age_days:
    description:
      - The cryptoperiod to judge against, in days - the oldest the key material in use may be. A key whose rotation
        is on but whose current material is older is C(NON_COMPLIANT) with reason C(KEY_MATERIAL_TOO_OLD) (or
        another cryptoperiod reason, as M(keyguard.kms.kms_rotation) gives them); unset, only KMS.4 is judged.
      - Reads each key's rotation history whatever O(evidence) says; a key whose history cannot be read is then
        C(ERROR), because its verdict rests on it.
    type: int
  on_demand_rotations_reserve:
    description:
      - As in M(keyguard.kms.kms_rotation) - a key with no more than this many of its 25 on-demand rotations left is
        judged C(ON_DEMAND_ROTATIONS_RESERVED) rather than C(KEY_MATERIAL_TOO_OLD).
    type: int
    default: 3
  evidence:
    description:
      - Read each key's rotation history (C(ListKeyRotations)) for the evidence an auditor asks for - when its key
        material was last replaced (RV(kms_keys[].last_rotation_date)), how (RV(kms_keys[].last_rotation_type)) and
        how old the material is (RV(kms_keys[].key_material_age_days)).
      - Only keys that can have a history are asked (customer managed symmetric keys, not pending deletion); a
        multi-Region replica shows its primary's, read in the primary's Region once for each scanned Region with
        replicas of it. Paced to the operation's quota of 100 requests per second, ten times below
        C(GetKeyRotationStatus)'s. V(false) leaves the three fields null and saves that call per key.
      - A history that cannot be read (for example C(kms:ListKeyRotations) not granted) leaves the evidence out with
        a warning; the verdict does not depend on it.
    type: bool
    default: true
  concurrency:
    description:
      - Keys read at once in each Region.
    type: int
    default: 16
notes:
  - Needs C(kms:ListKeys), C(kms:ListAliases), C(kms:DescribeKey), C(kms:GetKeyRotationStatus),
    C(kms:ListKeyRotations) with O(evidence), and C(kms:ListResourceTags) when O(tags) or O(tag_filters) is used.
  - Needs botocore 1.34.84 or later, the first that knows KMS rotation periods.
seealso:
  - module: keyguard.kms.kms_rotation
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
- name: KMS.4 | Rotation status of every customer managed key in two Regions
  keyguard.kms.kms_rotation_info:
    regions: [eu-west-1, us-east-1]
  register: discovery

- name: Keys that fail KMS.4
  ansible.builtin.debug:
    msg: "{{ discovery.kms_keys | selectattr('compliance', 'eq', 'NON_COMPLIANT') | map(attribute='key_arn') }}"

- name: Keys of team payments that must rotate at least yearly, with their tags
  keyguard.kms.kms_rotation_info:
    tag_filters:
      team: payments
    max_rotation_period_days: 365
    tags: true
"""

RETURN = r"""
kms_keys:
  description: One entry per key, ordered by Region then key ID.
  returned: always
  type: list
  elements: dict
  contains:
    key_id: {description: The key ID., type: str, returned: always}
    key_arn: {description: The key ARN., type: str, returned: always}
    account_id: {description: The AWS account that owns the key., type: str, returned: always}
    region: {description: The Region scanned., type: str, returned: always}
    aliases: {description: Alias names of the key., type: list, elements: str, returned: always}
    key_state: {description: "C(Enabled), C(Disabled), C(PendingDeletion), ...", type: str, returned: always}
    key_manager: {description: C(CUSTOMER) or C(AWS)., type: str, returned: always}
    key_spec: {description: For example C(SYMMETRIC_DEFAULT) or C(RSA_2048)., type: str, returned: always}
    origin: {description: "C(AWS_KMS), C(EXTERNAL), C(AWS_CLOUDHSM) or C(EXTERNAL_KEY_STORE).", type: str, returned: always}
    multi_region_type: {description: "C(PRIMARY), C(REPLICA) or null.", type: str, returned: always}
    primary_key_arn: {description: A multi-Region key's primary key ARN., type: str, returned: always}
    primary_region: {description: A multi-Region key's primary Region., type: str, returned: always}
    deletion_date: {description: When a key pending deletion will be deleted., type: str, returned: always}
    rotation_enabled: {description: Automatic rotation status; null when not applicable or not readable., type: bool, returned: always}
    rotation_period_days: {description: Rotation period while rotation is on., type: int, returned: always}
    next_rotation_date: {description: Next automatic rotation., type: str, returned: always}
    last_rotation_date:
      description: When the key's material was last replaced (ISO 8601); null when it never was, or with O(evidence=false).
      type: str
      returned: always
    last_rotation_type: {description: "C(AUTOMATIC) or C(ON_DEMAND); null when the key never rotated.", type: str, returned: always}
    key_material_age_days:
      description: Days since the last rotation, or since the key's creation when it never rotated; null when not read.
      type: int
      returned: always
    on_demand_rotations_left:
      description: How many of the 25 on-demand rotations KMS allows a key are left; null when not read.
      type: int
      returned: always
    pending_key_material:
      description: For imported key material, whether new material was imported and waits to be rotated to.
      type: bool
      returned: always
    key_material_from_primary:
      description: For a multi-Region replica, the primary key whose material the evidence fields describe.
      type: str
      returned: always
    compliance:
      description:
        - C(COMPLIANT), C(NON_COMPLIANT), C(NOT_APPLICABLE) or C(ERROR), judged against O(state) (KMS.4 by default).
        - The fields a key in C(ERROR) could not read are null.
      type: str
      returned: always
    reason: {description: Reason code as in M(keyguard.kms.kms_rotation); null when compliant., type: str, returned: always}
    remediation_steps:
      description:
        - The KMS calls M(keyguard.kms.kms_rotation) would make for this key with the same O(state),
          O(max_rotation_period_days) as its period ceiling, O(max_key_material_age_days) and
          C(pending_deletion=cancel), in order - each C(operation) with, for C(EnableKeyRotation), its
          C(rotation_period_days). Empty for a key that needs nothing or that no call can fix. What a plan file records.
      type: list
      elements: dict
      returned: always
    plan_state:
      description:
        - What those steps rest on (C(key_state), C(deletion_date), C(rotation_enabled), C(rotation_period_days),
          and with O(max_key_material_age_days) C(last_rotation_date), C(on_demand_rotations_left),
          C(pending_key_material)); an approved plan is applied to a key only while it is unchanged. Null for a
          key in C(ERROR).
      type: dict
      returned: always
    message: {description: "The verdict in words, or the error.", type: str, returned: always}
    tags: {description: The key's tags., type: dict, returned: when O(tags=true)}
  sample:
    - key_id: 1234abcd-12ab-34cd-56ef-1234567890ab
      key_arn: arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab
      region: eu-west-1
      aliases: [alias/orders]
      key_state: Enabled
      rotation_enabled: false
      rotation_period_days: null
      compliance: NON_COMPLIANT
      reason: ROTATION_DISABLED
summary:
  description: Counts of keys per compliance, per reason and per Region.
  returned: always
  type: dict
  sample:
    total: 3
    by_compliance: {COMPLIANT: 1, NON_COMPLIANT: 1, NOT_APPLICABLE: 1, ERROR: 0}
    by_reason: {ROTATION_DISABLED: 1, ASYMMETRIC: 1}
    by_region: {eu-west-1: {total: 3, COMPLIANT: 1, NON_COMPLIANT: 1, NOT_APPLICABLE: 1}}
regions:
  description: The Regions scanned.
  returned: always
  type: list
  elements: str
region_results:
  description: One entry per Region scanned, saying whether it could be listed.
  returned: always
  type: list
  elements: dict
  contains:
    region: {description: The Region., type: str, returned: always}
    keys: {description: Keys returned for the Region., type: int, returned: always}
    error: {description: Why the Region's keys could not be listed; null when they were., type: str, returned: always}
    aliases_listed: {description: "Whether the Region's aliases could be listed; if not, its keys come without them.", type: bool, returned: always}
    warnings: {description: "What could not be read, for example aliases.", type: list, elements: str, returned: always}
  sample:
    - {region: eu-west-1, keys: 12, error: null, aliases_listed: true, warnings: []}
"""


from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.keyguard.kms.plugins.module_utils._aws.arguments import assume_role_argument_spec
from ansible_collections.keyguard.kms.plugins.module_utils._aws.arguments import connection_errors
from ansible_collections.keyguard.kms.plugins.module_utils._aws.arguments import tuning_argument_spec
from ansible_collections.keyguard.kms.plugins.module_utils._aws.clients import ClientFactory
from ansible_collections.keyguard.kms.plugins.module_utils._aws.clients import fail
from ansible_collections.keyguard.kms.plugins.module_utils._aws.kms import BOTOCORE_WITH_ROTATION_PERIODS
from ansible_collections.keyguard.kms.plugins.module_utils._aws.kms import DEFAULT_RATE_LIMITS
from ansible_collections.keyguard.kms.plugins.module_utils._aws.kms import KmsService
from ansible_collections.keyguard.kms.plugins.module_utils._aws.regions import regions_to_use
from ansible_collections.keyguard.kms.plugins.module_utils._aws.service import AwsError
from ansible_collections.keyguard.kms.plugins.module_utils._engine.discovery import RegionScanner
from ansible_collections.keyguard.kms.plugins.module_utils._engine.discovery import summarize_keys
from ansible_collections.keyguard.kms.plugins.module_utils._rules import material as material_rules
from ansible_collections.keyguard.kms.plugins.module_utils._rules import rotation
from ansible_collections.keyguard.kms.plugins.module_utils._rules import selection
from ansible_collections.keyguard.kms.plugins.module_utils._runtime.concurrency import map_concurrently
from ansible_collections.keyguard.kms.plugins.module_utils._runtime.run_watch import stop_when_run_ends


def argument_errors(params, regions):
    errors = connection_errors(params, regions, DEFAULT_RATE_LIMITS)
    if params["max_rotation_period_days"] is not None and params["max_rotation_period_days"] < 1:
        errors.append("max_rotation_period_days must be a number of days above 0")
    errors += material_rules.limit_errors(params["max_key_material_age_days"], params["on_demand_rotations_reserve"])
    if params["tag_filters"] is not None:
        problem = selection.tag_filter_error(params["tag_filters"])
        if problem:
            errors.append(problem)
    return errors


def argument_spec():
    """The module's options, also validated by the rotation role's inventory-wide phases."""
    spec = dict(
        regions=dict(type="list", elements="str"),
        key_ids=dict(type="list", elements="str", no_log=False),
        tag_filters=dict(type="dict"),
        tags=dict(type="bool", default=False),
        include_aws_managed=dict(type="bool", default=False),
        state=dict(type="str", default="enabled", choices=["enabled", "disabled"]),
        max_rotation_period_days=dict(type="int"),
        evidence=dict(type="bool", default=True),
        max_key_material_age_days=dict(type="int", no_log=False),
        on_demand_rotations_reserve=dict(type="int", default=material_rules.DEFAULT_ON_DEMAND_RESERVE),
    )
    spec.update(tuning_argument_spec(concurrency=16))
    spec.update(assume_role_argument_spec())
    return spec


def run(module):
    """The module's work for one connection: ``module`` is an AnsibleAWSModule or the role's stand-in."""
    params = module.params
    regions = regions_to_use(params["regions"] or None, module.region)
    errors = argument_errors(params, regions)
    if errors:
        module.fail_json(msg="Invalid arguments: " + "; ".join(errors))
    module.require_botocore_at_least(BOTOCORE_WITH_ROTATION_PERIODS, reason="to read KMS rotation periods")

    options = {
        "key_ids": params["key_ids"],
        "tag_filters": selection.normalize_tag_filter(params["tag_filters"]),
        "include_tags": params["tags"],
        "include_aws_managed": params["include_aws_managed"],
        "desired": rotation.kms4_desired(params["max_rotation_period_days"], params["state"],
                                         params["max_key_material_age_days"], params["on_demand_rotations_reserve"]),
        "concurrency": params["concurrency"],
        "evidence": params["evidence"],
    }
    clients = ClientFactory(module)
    service = clients.services_by_region(KmsService)

    options["service_for_region"] = service

    def scan(region):
        scanner = None
        try:
            scanner = RegionScanner(service(region), options)
            records = scanner.scan()
        except AwsError as error:
            return [], {"region": region, "keys": 0, "error": "%s: %s" % (region, error.message),
                        "aliases_listed": scanner and scanner.aliases_listed,
                        "warnings": scanner.warnings if scanner else []}, error
        return records, {"region": region, "keys": len(records), "error": None,
                         "aliases_listed": scanner.aliases_listed, "warnings": scanner.warnings}, None

    scanned = map_concurrently(scan, regions, len(regions))
    records = [record for region_records, _status, _error in scanned for record in region_records]
    records.sort(key=lambda record: (record["region"], record["key_id"]))
    region_results = [status for _records, status, _error in scanned]
    for status in region_results:
        for warning in status["warnings"]:
            module.warn(warning)
    output = {"changed": False, "kms_keys": records, "summary": summarize_keys(records), "regions": regions,
              "region_results": region_results}
    failed_regions = [status["error"] for status in region_results if status["error"]]
    if failed_regions:
        first = [error for _records, _status, error in scanned if error is not None][0]
        fail(module, "Could not list the keys of %d of %d Regions, so the result is incomplete: %s" % (
            len(failed_regions), len(regions), "; ".join(failed_regions)), first, **output)
    module.exit_json(**output)


def main():
    module = AnsibleAWSModule(argument_spec=argument_spec(), supports_check_mode=True)
    stop_when_run_ends()
    run(module)


if __name__ == "__main__":
    main()
