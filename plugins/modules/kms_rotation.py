#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: kms_rotation
short_description: Enforce automatic rotation of AWS KMS keys and rescue keys scheduled for deletion
version_added: 0.1.0
description:
  - Brings the automatic key rotation of one or many AWS KMS keys to the requested state and rotation
    period, so that they pass AWS Security Hub control KMS.4.
  - Optionally rescues keys scheduled for deletion (Security Hub control KMS.3) by cancelling the
    deletion and re-enabling the key, which C(CancelKeyDeletion) leaves disabled.
  - Reports, per key, its compliance and a stable reason code, so ineligible keys (AWS managed,
    asymmetric, HMAC, imported key material, custom key store, multi-Region replica) are explained
    instead of failing. Such keys are never sent a rotation call.
  - Never schedules a deletion, never disables a key and never changes an AWS managed key.
  - Many keys are handled in one call, concurrently, within KMS's request quotas. One key's failure
    never stops the others; the task fails at the end if any key failed.
author:
  - keyguard.kms contributors (@keyguard)
options:
  key_id:
    description:
      - One key, as a key ID, key ARN, alias name (C(alias/...)) or alias ARN.
      - Mutually exclusive with O(key_ids).
    type: str
  key_ids:
    description:
      - A list of keys, each as a key ID, key ARN, alias name or alias ARN.
      - Results come back in RV(results) in the same order. A key named twice is handled once.
      - Mutually exclusive with O(key_id).
    type: list
    elements: str
  state:
    description:
      - The automatic rotation state wanted.
    type: str
    choices: [enabled, disabled]
    default: enabled
  rotation_period_days:
    description:
      - Days between automatic rotations, from 90 to 2560.
      - When rotation is turned on and this is not given, AWS's default of 365 days applies.
      - When a key already rotates and this is not given, its period is left as it is.
      - Ignored with O(state=disabled).
    type: int
  rotation_period_mode:
    description:
      - How O(rotation_period_days) is compared with a key's current period.
      - V(exact) changes any other period to O(rotation_period_days).
      - V(maximum) treats O(rotation_period_days) as the longest period allowed, so a key that already
        rotates more often keeps its period. A rescued key keeps the period it had before its deletion
        was scheduled if it is not longer.
    type: str
    choices: [exact, maximum]
    default: exact
  pending_deletion:
    description:
      - What to do with a key in C(PendingDeletion).
      - V(keep) reports it as non-compliant and leaves it alone.
      - V(cancel) calls C(CancelKeyDeletion), then C(EnableKey), then sets its rotation. The rotation
        status of a key pending deletion cannot be read, so it is always set after a rescue.
    type: str
    choices: [keep, cancel]
    default: keep
  rescue_journal:
    description:
      - A file on the host running the module where each key is recorded before its deletion is
        cancelled and struck off once it is re-enabled and its rotation set.
      - If a run is interrupted between C(CancelKeyDeletion) and C(EnableKey), the key is left
        C(Disabled); the next run with the same journal and O(pending_deletion=cancel) finishes the
        rescue instead of reporting an ordinary disabled key.
      - Not written in check mode. The rotation role keeps one per target.
    type: path
  concurrency:
    description:
      - How many keys are worked on at once.
    type: int
    default: 8
notes:
  - A key given by the ARN of another account is an error for that key, because only a key's own
    account can change its rotation; to tell, the module asks STS C(GetCallerIdentity) once, and
    only when a key is given by ARN.
  - A key in C(Disabled) state is reported and left alone, because KMS cannot change rotation on a
    disabled key and re-enabling a key someone disabled is the key owner's decision.
  - O(rotation_period_days) needs botocore 1.34.9 or later.
  - RV(compliance) compares the key as found, before any change, with the state requested. With the
    default O(state=enabled) this is the KMS.4 verdict.
  - In check mode, a rescued key's predicted RV(rotation_period_days) is V(null) unless
    O(rotation_period_days) is given with O(rotation_period_mode=exact), because the period a key had
    before its deletion was scheduled cannot be read until the deletion is cancelled.
seealso:
  - module: keyguard.kms.kms_rotation_info
  - name: Security Hub controls for AWS KMS
    description: KMS.3 and KMS.4 in the AWS Security Hub user guide.
    link: https://docs.aws.amazon.com/securityhub/latest/userguide/kms-controls.html
attributes:
  check_mode:
    support: full
    description: Makes no write call and predicts exactly the actions and results of a real run.
  diff_mode:
    support: full
    description: Shows, per key, the key state, rotation status and rotation period before and after.
extends_documentation_fragment:
  - keyguard.kms.kms_tuning
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: KMS.4 | Enable rotation of one key, AWS default period
  keyguard.kms.kms_rotation:
    key_id: alias/payments

- name: KMS.4 | Rotate a list of keys every 180 days
  keyguard.kms.kms_rotation:
    key_ids:
      - 1234abcd-12ab-34cd-56ef-1234567890ab
      - arn:aws:kms:eu-west-1:111122223333:key/0987dcba-09fe-87dc-65ba-ab0987654321
      - alias/orders
    rotation_period_days: 180
    region: eu-west-1
  register: rotation

- name: KMS.3 | Rescue keys scheduled for deletion, then enforce rotation
  keyguard.kms.kms_rotation:
    key_ids: "{{ suspicious_keys }}"
    pending_deletion: cancel

- name: Report only, with the changes that would be made
  keyguard.kms.kms_rotation:
    key_ids: "{{ all_keys }}"
  check_mode: true
  diff: true
  register: preview

- name: Show the keys that are not compliant
  ansible.builtin.debug:
    msg: "{{ preview.results | selectattr('compliance', 'eq', 'NON_COMPLIANT') | map(attribute='key_id') }}"
"""

RETURN = r"""
changed:
  description: Whether any key was (or in check mode would be) changed.
  returned: always
  type: bool
results:
  description: One entry per key given in O(key_ids), in the same order. Each has the fields listed below.
  returned: when O(key_ids) is used
  type: list
  elements: dict
  sample:
    - input: alias/orders
      key_id: 1234abcd-12ab-34cd-56ef-1234567890ab
      key_arn: arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab
      region: eu-west-1
      key_state: Enabled
      rotation_enabled: true
      rotation_period_days: 365
      compliance: NON_COMPLIANT
      reason: ROTATION_DISABLED
      message: automatic rotation is off
      changed: true
      actions: [EnableKeyRotation]
      before: {key_state: Enabled, rotation_enabled: false, rotation_period_days: null}
input:
  description: The key reference as given. For O(key_ids), in each entry of RV(results).
  returned: when O(key_id) is used
  type: str
key_id:
  description: The key ID (the reference given when the key could not be found).
  returned: when O(key_id) is used
  type: str
key_arn:
  description: The key ARN; null when the key could not be found.
  returned: when O(key_id) is used
  type: str
region:
  description: The Region of the key.
  returned: when O(key_id) is used
  type: str
key_state:
  description: The key state after the run (predicted in check mode), for example C(Enabled), C(Disabled).
  returned: when O(key_id) is used
  type: str
rotation_enabled:
  description: Whether automatic rotation is on after the run (predicted in check mode); null when not applicable.
  returned: when O(key_id) is used
  type: bool
rotation_period_days:
  description: The rotation period after the run (predicted in check mode); null when rotation is off.
  returned: when O(key_id) is used
  type: int
compliance:
  description: C(COMPLIANT), C(NON_COMPLIANT), C(NOT_APPLICABLE) or C(ERROR), judged on the key as found.
  returned: when O(key_id) is used
  type: str
reason:
  description:
    - Why the key is not compliant, not applicable or in error; null when compliant.
    - One of C(AWS_MANAGED), C(ASYMMETRIC), C(HMAC), C(IMPORTED_KEY_MATERIAL), C(CUSTOM_KEY_STORE),
      C(MULTI_REGION_REPLICA), C(KEY_DISABLED), C(PENDING_DELETION) (also for a rescue finished from
      O(rescue_journal)), C(PENDING_REPLICA_DELETION),
      C(KEY_NOT_USABLE), C(ROTATION_DISABLED), C(ROTATION_ENABLED), C(ROTATION_PERIOD_MISMATCH),
      C(INVALID_KEY_REFERENCE) or, for C(ERROR), the AWS error code.
  returned: when O(key_id) is used
  type: str
message:
  description: A sentence explaining the verdict, or what to do about an error.
  returned: when O(key_id) is used
  type: str
actions:
  description: The KMS operations performed (in check mode, those that would be), in order.
  returned: when O(key_id) is used
  type: list
  elements: str
  sample: [CancelKeyDeletion, EnableKey, EnableKeyRotation]
before:
  description: Key state, rotation enabled and rotation period as found; null when the key could not be read.
  returned: when O(key_id) is used
  type: dict
primary_key_arn:
  description: For a multi-Region replica, the ARN of its primary key, where rotation is set.
  returned: when the key is a multi-Region replica
  type: str
primary_region:
  description: For a multi-Region replica, the Region of its primary key.
  returned: when the key is a multi-Region replica
  type: str
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.keyguard.kms.plugins.module_utils._enforce import RotationEnforcer
from ansible_collections.keyguard.kms.plugins.module_utils._journal import RescueJournal
from ansible_collections.keyguard.kms.plugins.module_utils._kms import KmsService
from ansible_collections.keyguard.kms.plugins.module_utils._kms import caller_account_lookup
from ansible_collections.keyguard.kms.plugins.module_utils._kms import client_config
from ansible_collections.keyguard.kms.plugins.module_utils._kms import tuning_errors
from ansible_collections.keyguard.kms.plugins.module_utils._regions import region_errors
from ansible_collections.keyguard.kms.plugins.module_utils._rotation import ERROR
from ansible_collections.keyguard.kms.plugins.module_utils._rotation import period_error

DIFF_FIELDS = ("key_state", "rotation_enabled", "rotation_period_days")


def argument_errors(params, region):
    """Whole-task argument problems, reported before any AWS call."""
    errors = region_errors([region]) if region else []
    problem = period_error(params["rotation_period_days"])
    if problem:
        errors.append(problem)
    errors.extend(tuning_errors(params))
    if params["key_ids"] is not None and not params["key_ids"]:
        errors.append("key_ids is empty: give at least one key ID, key ARN, alias name or alias ARN")
    return errors


def key_diff(result):
    after = dict((field, result.get(field)) for field in DIFF_FIELDS)
    return {
        "before": result.get("before") or after,
        "after": after,
        "before_header": "%s (%s)" % (result.get("key_arn") or result["input"], "before"),
        "after_header": "%s (%s)" % (result.get("key_arn") or result["input"], "after"),
    }


def failure_message(failed, total):
    details = "; ".join("%s: %s" % (result["input"], result["message"]) for result in failed[:10])
    more = " (and %d more)" % (len(failed) - 10) if len(failed) > 10 else ""
    return "%d of %d keys failed, the others were processed: %s%s" % (len(failed), total, details, more)


def main():
    argument_spec = dict(
        key_id=dict(type="str"),
        key_ids=dict(type="list", elements="str", no_log=False),
        state=dict(type="str", default="enabled", choices=["enabled", "disabled"]),
        rotation_period_days=dict(type="int"),
        rotation_period_mode=dict(type="str", default="exact", choices=["exact", "maximum"]),
        pending_deletion=dict(type="str", default="keep", choices=["keep", "cancel"]),
        rescue_journal=dict(type="path"),
        max_attempts=dict(type="int", default=10),
        concurrency=dict(type="int", default=8),
        rate_limits=dict(type="dict"),
    )
    module = AnsibleAWSModule(
        argument_spec=argument_spec,
        mutually_exclusive=[["key_id", "key_ids"]],
        required_one_of=[["key_id", "key_ids"]],
        supports_check_mode=True,
    )
    errors = argument_errors(module.params, module.region)
    if errors:
        module.fail_json(msg="Invalid arguments: " + "; ".join(errors))
    desired = {
        "state": module.params["state"],
        "rotation_period_days": module.params["rotation_period_days"] if module.params["state"] == "enabled" else None,
        "rotation_period_mode": module.params["rotation_period_mode"],
        "pending_deletion": module.params["pending_deletion"],
    }
    if desired["rotation_period_days"]:
        module.require_botocore_at_least("1.34.9", reason="to set rotation_period_days")

    client = module.client("kms", config=client_config())
    service = KmsService(
        client, module.region, module.params["rate_limits"], max_attempts=module.params["max_attempts"]
    )
    journal = RescueJournal(module.params["rescue_journal"]) if module.params["rescue_journal"] else None
    caller_account = caller_account_lookup(
        lambda: module.client("sts")
    )
    enforcer = RotationEnforcer(
        service, desired, module.check_mode, module.params["concurrency"], journal, caller_account
    )
    references = module.params["key_ids"] if module.params["key_ids"] is not None else [module.params["key_id"]]
    results = enforcer.run(references)

    output = {"changed": any(result["changed"] for result in results)}
    if module.params["key_id"] is not None:
        output.update(results[0])
    else:
        output["results"] = results
    if module._diff:
        diffs = [key_diff(result) for result in results if result["compliance"] != ERROR]
        output["diff"] = diffs[0] if module.params["key_id"] is not None and diffs else diffs

    failed = [result for result in results if result["compliance"] == ERROR]
    if failed:
        module.fail_json(msg=failure_message(failed, len(results)), **output)
    module.exit_json(**output)


if __name__ == "__main__":
    main()
