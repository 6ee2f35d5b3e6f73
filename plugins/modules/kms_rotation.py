#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: kms_rotation
short_description: Enforce automatic rotation of AWS KMS keys and rescue keys scheduled for deletion
version_added: 1.0.0
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
  regions:
    description:
      - Work on keys of several Regions in one task, each Region concurrently and within its own KMS quotas.
      - Each key must then be given as a key ARN or alias ARN, which names its Region, and that Region must be
        listed here; other references are C(ERROR) with reason C(INVALID_KEY_REFERENCE), before any call.
      - When not given, every key is looked up in the Region of the connection (O(region)).
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
  max_key_material_age_days:
    description:
      - The cryptoperiod - the oldest the key material in use may be, in days. Unset (the default), only
        automatic rotation is judged and set, which is what KMS.4 checks.
      - When set, a key whose current material (from its last rotation of any type, or its creation when it never
        rotated) is older gets C(RotateKeyOnDemand) after its automatic rotation is set; its result says why
        (C(KEY_MATERIAL_TOO_OLD), with the age and the limit) and RV(key_material) shows the material before and
        after. Needs one C(ListKeyRotations) per key.
      - KMS allows 25 on-demand rotations per key, ever. A key with no more than O(on_demand_rotations_reserve) left
        is reported (C(ON_DEMAND_ROTATIONS_RESERVED)) and not rotated; one with none left is
        C(ON_DEMAND_ROTATIONS_EXHAUSTED). An automatic rotation due within 20 minutes defers the key to the next run
        (C(KEY_MATERIAL_ROTATION_DEFERRED)), as does KMS's C(ConflictException); an on-demand rotation still running
        is not started again (C(ON_DEMAND_ROTATION_IN_PROGRESS)). None of these fails the task.
      - Keys with imported material (C(Origin=EXTERNAL)) are rotated only to new material their owner has already
        imported (C(ImportKeyMaterial) with C(ImportType=NEW_KEY_MATERIAL)); without it, or for a multi-Region one,
        they are C(IMPORTED_MATERIAL_TOO_OLD), the owner's to renew. Seeing imported material not rotated to yet
        needs a botocore whose KMS model has C(IncludeKeyMaterial) (mid-2025 or later); with an older one such keys
        are reported, not rotated.
      - A multi-Region replica is never rotated (its primary is); its RV(key_material) is its primary's.
      - Ignored with O(state=disabled).
    type: int
  on_demand_rotations_reserve:
    description:
      - How many of a key's 25 on-demand rotations the module never spends, so that its owner keeps some for an
        emergency such as suspected exposure of the material.
    type: int
    default: 3
  approved_plan:
    description:
      - The keys of an approved plan, by key ARN, each with the C(steps) and the C(planned_from) state a plan file
        records (see C(keyguard.kms.report) and the rotation role's C(rotation_approved_plan)). Each key is read
        again and changed only when its state is still the planned one and the steps it needs now are the approved
        ones; otherwise nothing is sent for it and its reason is C(PLAN_STALE), with what changed. A key that needs a
        change and is not in the plan gets nothing either (C(NOT_IN_PLAN)). Neither fails the task.
      - Unset, the module does what the key needs, as without a plan.
    type: dict
  interrupted_rescues_file:
    description:
      - A file on the host running the module that it writes only if its run is killed (for example
        C(kill -9) of C(ansible-playbook)) while a rescue is half-way, that is after C(CancelKeyDeletion) and
        before C(EnableKey). It lists, as JSON, each key left C(Disabled) with its deletion cancelled and the
        AWS CLI command that finishes its rescue.
      - A note for people, never read by any run. A later run treats such a key like any C(Disabled) key, as
        the key owner's decision (C(KEY_DISABLED)).
    type: path
  concurrency:
    description:
      - How many keys are worked on at once, in each Region.
    type: int
    default: 8
notes:
  - A key given by the ARN of another account is an error for that key, because only a key's own
    account can change its rotation; to tell, the module asks STS C(GetCallerIdentity) once, and
    only when a key is given by ARN.
  - A key in C(Disabled) state is reported and left alone, because KMS cannot change rotation on a
    disabled key and re-enabling a key someone disabled is the key owner's decision.
  - Needs botocore 1.34.84 or later, the first that knows KMS rotation periods.
  - When a key's plan fails half-way (for example C(CancelKeyDeletion) worked and C(EnableKey) ran out of
    retries), the key is C(ERROR); its RV(actions) lists the calls that succeeded, RV(key_state) is its state
    read again afterwards, and RV(message) says what was done and gives the AWS CLI command that finishes it
    (also in RV(finish_command)). A rescued key left that way is C(Disabled) with its deletion cancelled;
    nothing is lost, since a key pending deletion cannot be used anyway, and later runs leave it to its owner.
  - Nothing is carried from one run to the next. When a write is refused because someone else (another run,
    the key's owner) changed the key since it was read, the key is read again and its result says what is
    true now (RV(other_actor)), not C(ERROR).
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
    description: Shows, per key, the key state, rotation status and rotation period before and after, and with
      O(max_key_material_age_days) the key material's age.
extends_documentation_fragment:
  - keyguard.kms.kms_tuning
  - keyguard.kms.assume_role
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

- name: KMS.4 | Keys of two Regions, given by ARN, in one task
  keyguard.kms.kms_rotation:
    key_ids:
      - arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab
      - arn:aws:kms:us-east-1:111122223333:alias/orders
    regions: [eu-west-1, us-east-1]

- name: Cryptoperiod | Rotation on, and no key material older than a year (PCI DSS 3.6.4)
  keyguard.kms.kms_rotation:
    key_ids: "{{ all_keys }}"
    rotation_period_days: 365
    max_key_material_age_days: 365

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
      C(MULTI_REGION_REPLICA), C(KEY_DISABLED), C(PENDING_DELETION), C(PENDING_REPLICA_DELETION),
      C(KEY_NOT_USABLE), C(ROTATION_DISABLED), C(ROTATION_ENABLED), C(ROTATION_PERIOD_MISMATCH),
      C(INVALID_KEY_REFERENCE) or, for C(ERROR), the AWS error code.
    - With O(max_key_material_age_days), also C(KEY_MATERIAL_TOO_OLD), C(IMPORTED_MATERIAL_TOO_OLD),
      C(ON_DEMAND_ROTATIONS_RESERVED), C(ON_DEMAND_ROTATIONS_EXHAUSTED), C(ON_DEMAND_ROTATION_IN_PROGRESS) and
      C(KEY_MATERIAL_ROTATION_DEFERRED). A key whose rotation is off and whose material is too old says
      C(ROTATION_DISABLED), and its message says both.
    - With O(approved_plan), also C(PLAN_STALE) and C(NOT_IN_PLAN) for keys left as they are.
  returned: when O(key_id) is used
  type: str
message:
  description: A sentence explaining the verdict, or what to do about an error.
  returned: when O(key_id) is used
  type: str
actions:
  description:
    - The KMS operations performed (in check mode, those that would be), in order.
    - For a key in C(ERROR) whose plan failed half-way, the operations that succeeded.
  returned: when O(key_id) is used
  type: list
  elements: str
  sample: [CancelKeyDeletion, EnableKey, EnableKeyRotation]
key_material:
  description:
    - With O(max_key_material_age_days), the key's current material after the run (predicted in check mode) -
      C(key_material_age_days), C(last_rotation_date), C(last_rotation_type) (C(AUTOMATIC) or C(ON_DEMAND)),
      C(on_demand_rotations_used), C(on_demand_rotations_left), C(pending_key_material) (new imported material
      waits) and, for a replica, C(from_primary). C(before.key_material_age_days) is the age as found.
  returned: with O(max_key_material_age_days), for keys that have key material to judge
  type: dict
before:
  description: Key state, rotation enabled and rotation period as found; null when the key could not be read.
  returned: when O(key_id) is used
  type: dict
finish_command:
  description: For a key whose plan failed half-way, the AWS CLI commands that finish it; null otherwise.
  returned: when O(key_id) is used
  type: str
error_response:
  description:
    - For a key in C(ERROR) because of an AWS error, AWS's own answer, as amazon.aws gives it (C(error) with its code
      and message, C(response_metadata) with the request ID).
  returned: when an AWS error put the key in C(ERROR)
  type: dict
other_actor:
  description:
    - Whether a write was refused because someone else changed the key after it was read. The result then
      describes the key as read again (RV(compliance), RV(reason), RV(key_state)), and nothing more is sent.
  returned: when O(key_id) is used
  type: bool
primary_key_arn:
  description: For a multi-Region replica, the ARN of its primary key, where rotation is set.
  returned: when the key is a multi-Region replica
  type: str
primary_region:
  description: For a multi-Region replica, the Region of its primary key.
  returned: when the key is a multi-Region replica
  type: str
"""

import datetime
import json
import os

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.keyguard.kms.plugins.module_utils._aws.arguments import assume_role_argument_spec
from ansible_collections.keyguard.kms.plugins.module_utils._aws.arguments import connection_errors
from ansible_collections.keyguard.kms.plugins.module_utils._aws.arguments import tuning_argument_spec
from ansible_collections.keyguard.kms.plugins.module_utils._aws.clients import ClientFactory
from ansible_collections.keyguard.kms.plugins.module_utils._aws.clients import fail
from ansible_collections.keyguard.kms.plugins.module_utils._aws.kms import BOTOCORE_WITH_ROTATION_PERIODS
from ansible_collections.keyguard.kms.plugins.module_utils._aws.kms import DEFAULT_RATE_LIMITS
from ansible_collections.keyguard.kms.plugins.module_utils._aws.kms import KmsService
from ansible_collections.keyguard.kms.plugins.module_utils._aws.regions import partition_of
from ansible_collections.keyguard.kms.plugins.module_utils._aws.regions import regions_to_use
from ansible_collections.keyguard.kms.plugins.module_utils._aws.service import AwsError
from ansible_collections.keyguard.kms.plugins.module_utils._engine.enforce import HalfDoneRescues
from ansible_collections.keyguard.kms.plugins.module_utils._engine.enforce import RotationEnforcer
from ansible_collections.keyguard.kms.plugins.module_utils._engine.enforce import enforce_in_regions
from ansible_collections.keyguard.kms.plugins.module_utils._engine.enforce import half_done_message
from ansible_collections.keyguard.kms.plugins.module_utils._engine.material import MaterialReader
from ansible_collections.keyguard.kms.plugins.module_utils._rules import material as material_rules
from ansible_collections.keyguard.kms.plugins.module_utils._rules import plans
from ansible_collections.keyguard.kms.plugins.module_utils._rules import rotation
from ansible_collections.keyguard.kms.plugins.module_utils._runtime.run_watch import stop_when_run_ends

DIFF_FIELDS = ("key_state", "rotation_enabled", "rotation_period_days", "key_material_age_days")


def argument_errors(params, regions):
    """Whole-task argument problems, reported before any AWS call."""
    if params["regions"] is not None and not regions:
        errors = ["regions is empty: give the Regions the keys are in, or leave it unset to use region"]
    else:
        errors = connection_errors(params, regions, DEFAULT_RATE_LIMITS)
    problem = rotation.period_error(params["rotation_period_days"])
    if problem:
        errors.append(problem)
    errors += material_rules.limit_errors(params["max_key_material_age_days"], params["on_demand_rotations_reserve"])
    if params["approved_plan"] is not None:
        errors += plans.approved_entries_errors(params["approved_plan"])
    if params["key_ids"] is not None and not params["key_ids"]:
        errors.append("key_ids is empty: give at least one key ID, key ARN, alias name or alias ARN")
    note = params["interrupted_rescues_file"]
    if note is not None and (os.path.isdir(note) or not os.path.isdir(os.path.dirname(os.path.abspath(note)))):
        errors.append("interrupted_rescues_file: %s must be a file path in an existing folder" % note)
    return errors


def write_interrupted_rescues(path, half_done):
    """The note a killed run leaves: the keys it stops half-way, and how to finish each."""
    keys = half_done.stop()
    if not path or not keys:
        return
    for entry in keys:
        entry["message"] = half_done_message(entry["key_arn"], entry["region"])
    note = {"interrupted": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "why": "the run was killed between CancelKeyDeletion and EnableKey", "keys": keys}
    temporary = "%s.%d.tmp" % (path, os.getpid())
    with open(temporary, "w") as handle:
        json.dump(note, handle, indent=2)
    os.replace(temporary, path)


def key_diff(result):
    after = dict((field, result.get(field)) for field in DIFF_FIELDS if field in result)
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


def argument_spec():
    """The module's options, also validated by the rotation role's inventory-wide phases."""
    spec = dict(
        key_id=dict(type="str"),
        key_ids=dict(type="list", elements="str", no_log=False),
        regions=dict(type="list", elements="str"),
        state=dict(type="str", default="enabled", choices=["enabled", "disabled"]),
        rotation_period_days=dict(type="int"),
        rotation_period_mode=dict(type="str", default="exact", choices=["exact", "maximum"]),
        pending_deletion=dict(type="str", default="keep", choices=["keep", "cancel"]),
        max_key_material_age_days=dict(type="int", no_log=False),
        on_demand_rotations_reserve=dict(type="int", default=material_rules.DEFAULT_ON_DEMAND_RESERVE),
        approved_plan=dict(type="dict"),
        interrupted_rescues_file=dict(type="path"),
    )
    spec.update(tuning_argument_spec(concurrency=8))
    spec.update(assume_role_argument_spec())
    return spec


MODULE_OPTIONS = dict(mutually_exclusive=[["key_id", "key_ids"]], required_one_of=[["key_id", "key_ids"]],
                      supports_check_mode=True)


def run(module, half_done):
    """The module's work for one connection: ``module`` is an AnsibleAWSModule or the role's stand-in.

    ``half_done`` records the rescues between CancelKeyDeletion and EnableKey, for the note a killed run leaves.
    """
    params = module.params
    regions = regions_to_use(params["regions"], module.region)
    errors = argument_errors(params, regions)
    if errors:
        module.fail_json(msg="Invalid arguments: " + "; ".join(errors))
    desired = rotation.desired_rotation(params["state"], params["rotation_period_days"], params["rotation_period_mode"],
                                        params["pending_deletion"], params["max_key_material_age_days"],
                                        params["on_demand_rotations_reserve"])
    module.require_botocore_at_least(BOTOCORE_WITH_ROTATION_PERIODS, reason="to read and set KMS rotation periods")

    clients = ClientFactory(module)
    caller_account = clients.caller_account(regions[0])

    service = clients.services_by_region(KmsService)

    def enforcer(region):
        return RotationEnforcer(service(region), desired, module.check_mode, params["concurrency"],
                                caller_account, partition_of(region), half_done, MaterialReader(service(region), service),
                                params["approved_plan"])

    references = params["key_ids"] if params["key_ids"] is not None else [params["key_id"]]
    try:
        if params["regions"] is None:
            results = enforcer(regions[0]).run(references)
        else:
            results = enforce_in_regions(references, dict((region, enforcer(region)) for region in regions))
    except AwsError as error:  # the role could not be assumed: nothing can be read or changed
        fail(module, error.message, error)

    output = {"changed": any(result["changed"] for result in results)}
    if params["key_id"] is not None:
        output.update(results[0])
    else:
        output["results"] = results
    if module._diff:
        diffs = [key_diff(result) for result in results if result["before"] is not None]
        output["diff"] = diffs[0] if params["key_id"] is not None and diffs else diffs

    failed = [result for result in results if result["compliance"] == rotation.ERROR]
    if failed:
        fail(module, failure_message(failed, len(results)), **output)
    module.exit_json(**output)


def main():
    module = AnsibleAWSModule(argument_spec=argument_spec(), **MODULE_OPTIONS)
    half_done = HalfDoneRescues()
    stop_when_run_ends(last_words=lambda: write_interrupted_rescues(module.params["interrupted_rescues_file"], half_done))
    run(module, half_done)


if __name__ == "__main__":
    main()
