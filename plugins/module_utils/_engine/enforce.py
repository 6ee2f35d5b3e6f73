# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Bring keys' rotation to the desired state: read, plan, then act (or predict).

Glue between the pure planning in ``_rules.rotation`` and the KMS calls in ``_aws.kms``.
The plan decides; this module maps its steps to calls with a table. One key's
failure is recorded on that key and never stops the others; a key whose plan
fails half-way says what was done, its real state, and how to finish.

This is a private module: its interface may change without notice.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict

from ansible_collections.keyguard.kms.plugins.module_utils._rules import material as material_rules
from ansible_collections.keyguard.kms.plugins.module_utils._rules import plans
from ansible_collections.keyguard.kms.plugins.module_utils._rules import rotation
from ansible_collections.keyguard.kms.plugins.module_utils._aws.service import AwsError
from ansible_collections.keyguard.kms.plugins.module_utils._runtime.concurrency import map_concurrently
from ansible_collections.keyguard.kms.plugins.module_utils._aws.kms import STATE_LAG_ERROR_CODES as STATE_ERROR_CODES


def key_result(reference, region, metadata=None):
    """A per-key result skeleton; every field is present so reports can rely on it."""
    metadata = metadata or {}
    return {
        "input": reference,
        "key_id": metadata.get("KeyId", reference),
        "key_arn": metadata.get("Arn"),
        "region": region,
        "key_state": metadata.get("KeyState"),
        "rotation_enabled": None,
        "rotation_period_days": None,
        "compliance": None,
        "reason": None,
        "message": None,
        "changed": False,
        "actions": [],
        "before": None,
        "finish_command": None,
        "other_actor": False,
    }


def error_result(reference, region, message, metadata=None, code=None, response=None):
    result = key_result(reference, region, metadata)
    result.update(compliance=rotation.ERROR, reason=code or "ERROR", message=message)
    if response:
        result["error_response"] = camel_dict_to_snake_dict(response)
    return result


def _cancel_deletion(service, key_id, _params):
    service.cancel_deletion(key_id)
    return {"key_state": "Disabled"}


def _enable_key(service, key_id, _params):
    service.enable_key(key_id)
    return {"key_state": "Enabled"}


def _enable_rotation(service, key_id, params):
    def current_period():
        return rotation.rotation_view(service.get_rotation_status(key_id))["rotation_period_days"]

    period = rotation.period_for_step(params, current_period)
    service.enable_rotation(key_id, period)
    return {"rotation_enabled": True, "rotation_period_days": period or rotation.DEFAULT_ROTATION_PERIOD_DAYS}


def _disable_rotation(service, key_id, _params):
    service.disable_rotation(key_id)
    return {"rotation_enabled": False, "rotation_period_days": None}


def _rotate_on_demand(service, key_id, _params):
    service.rotate_on_demand(key_id)
    return {"key_material_age_days": 0}


# Each plan step, as KMS calls; returns what the step changed in the key's state.
EXECUTE = {
    rotation.CANCEL_KEY_DELETION: _cancel_deletion,
    rotation.ENABLE_KEY: _enable_key,
    rotation.ENABLE_KEY_ROTATION: _enable_rotation,
    rotation.DISABLE_KEY_ROTATION: _disable_rotation,
    rotation.ROTATE_KEY_ON_DEMAND: _rotate_on_demand,
}
DONE = {
    rotation.CANCEL_KEY_DELETION: "deletion cancelled",
    rotation.ENABLE_KEY: "key enabled",
    rotation.ENABLE_KEY_ROTATION: "rotation enabled",
    rotation.DISABLE_KEY_ROTATION: "rotation disabled",
    rotation.ROTATE_KEY_ON_DEMAND: "key material rotated on demand",
}


class HalfDoneRescues:
    """Keys whose deletion this process cancelled and has not enabled again yet.

    What a run that is killed now leaves behind: Disabled keys whose deletion is
    cancelled. Kept only for the note a killed module writes on its way out; no
    run ever reads it back.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._keys = {}
        self.stopped = False

    def cancelling(self, key_arn, region, finish):
        """Before CancelKeyDeletion is sent: a kill from now on may leave the key Disabled."""
        with self._lock:
            self._keys[key_arn] = {"key_arn": key_arn, "region": region, "finish_command": finish,
                                   "deletion_cancelled": "maybe: the run was killed while CancelKeyDeletion was sent"}

    def cancelled(self, key_arn):
        with self._lock:
            if key_arn in self._keys:
                self._keys[key_arn]["deletion_cancelled"] = "yes"

    def settled(self, key_arn):
        with self._lock:
            self._keys.pop(key_arn, None)

    def stop(self):
        """No further step starts; returns the keys left half-way."""
        with self._lock:
            self.stopped = True
            return [dict(entry) for _arn, entry in sorted(self._keys.items())]


def half_done_message(key_id, region):
    return ("key %s in %s is Disabled with its deletion cancelled: the irreversible part of the rescue is done, and a "
            "key pending deletion could not be used for cryptography anyway, so no workload lost anything. Later runs "
            "leave it to its owner like any Disabled key (KEY_DISABLED)" % (key_id, region))


class RotationEnforcer:
    """Reads, plans and acts (or predicts) on the keys of one Region."""

    def __init__(self, service, desired, check_mode, concurrency, caller_account=None, partition=None,
                 half_done=None, material_reader=None, approved=None):
        """``caller_account``: a callable returning the credentials' account ID, asked only when a key
        is given by ARN; ``half_done``: a HalfDoneRescues shared by the Regions of one task;
        ``material_reader``: an _engine.material.MaterialReader, used with a cryptoperiod; ``approved``:
        {key ARN: entry} of an approved plan (None: no plan), the only keys and steps this run may apply."""
        self.approved = approved
        self.service = service
        self.material_reader = material_reader
        self.desired = desired
        self.check_mode = check_mode
        self.concurrency = concurrency
        self.caller_account = caller_account
        self.partition = partition
        self.half_done = half_done if half_done is not None else HalfDoneRescues()

    def run(self, references):
        """One result per reference, in order; a key named twice is handled once. Each key is handled as soon as it
        is described, so the first writes do not wait for every other key's DescribeKey."""
        region = self.service.region
        handling = {}
        handling_lock = threading.Lock()

        def describe_and_handle(reference):
            metadata, error = self._describe(reference)
            if error is not None:
                return error_result(reference, region, error.message, code=error.code, response=error.response)
            with handling_lock:
                first = metadata["Arn"] not in handling
                if first:
                    handling[metadata["Arn"]] = Future()
            outcome = handling[metadata["Arn"]]
            if first:
                try:
                    outcome.set_result(self._handle(metadata))
                except BaseException as unexpected:  # the key's other references must not wait forever
                    outcome.set_exception(unexpected)
                    raise
            return dict(outcome.result(), input=reference)

        return map_concurrently(describe_and_handle, references, self.concurrency)

    def _describe(self, reference):
        problem = rotation.reference_error(reference, self.service.region, self.partition)
        if problem:
            return None, AwsError("DescribeKey", rotation.INVALID_KEY_REFERENCE, problem)
        problem = self._account_mismatch(reference)
        if problem:
            return None, AwsError("DescribeKey", rotation.INVALID_KEY_REFERENCE, problem)
        try:
            return self.service.describe_key(reference), None
        except AwsError as error:
            if error.code == "NotFoundException":
                error.message = "key '%s' does not exist in Region %s of this account: %s" % (
                    reference,
                    self.service.region,
                    "check the key ID, ARN or alias, and the region the task connects to",
                )
            return None, error

    def _account_mismatch(self, reference):
        """Rotation can only be changed by the key's own account: say so before any KMS call."""
        owner = rotation.arn_account(reference)
        if owner is None or self.caller_account is None:
            return None
        caller = self.caller_account()
        if caller and caller != owner:
            return (
                "'%s' belongs to account %s but the credentials are for account %s: only the key's own account "
                "can change its rotation; run the task with credentials for account %s" % (reference, owner, caller, owner)
            )
        return None

    def _read(self, metadata):
        status = None
        if rotation.needs_rotation_status(metadata, self.desired):
            status = self.service.get_rotation_status(metadata["KeyId"])
        return status

    def _material(self, metadata):
        """The key's material view when a cryptoperiod is asked for, else None."""
        if not self.desired.get("max_key_material_age_days") or self.material_reader is None:
            return None
        return self.material_reader.view(metadata)

    def _handle(self, metadata):
        region = self.service.region
        key_id, key_arn = metadata["KeyId"], metadata["Arn"]
        try:
            status = self._read(metadata)
            material = self._material(metadata)
            plan = rotation.plan(metadata, status, self.desired, material)
        except AwsError as error:
            return error_result(key_arn, region, "key %s in %s: %s" % (key_id, region, error.message), metadata,
                                error.code, error.response)
        result = key_result(key_arn, region, metadata)
        result.update(compliance=plan["compliance"], reason=plan["reason"], message=plan["message"],
                      before=plan["before"])
        if material is not None:
            result["key_material"] = material_rules.serializable(material)
        if plan["reason"] == rotation.MULTI_REGION_REPLICA:
            result["primary_key_arn"], result["primary_region"] = rotation.primary_key(metadata)
        refusal = self._outside_the_plan(metadata, status, material, plan)
        if refusal is not None:
            result.update(plan["before"])
            result.update(reason=refusal[0], message=refusal[1], changed=False)
            return result
        if self.check_mode or not plan["steps"]:
            result.update(plan["after"])
            result.update(actions=[operation for operation, _params in plan["steps"]])
        else:
            result.update(self._execute(metadata, plan))
        if material is not None and result.get("key_material_age_days") == 0:
            result["key_material"] = material_rules.serializable(material_rules.renewed_view(material))
        result["changed"] = bool(result["actions"])
        return result

    def _outside_the_plan(self, metadata, status, material, plan):
        """(reason, message) when an approved plan does not allow what this key would get now, else None."""
        if self.approved is None or not plan["steps"]:
            return None
        where = "key %s in %s" % (metadata["KeyId"], self.service.region)
        entry = self.approved.get(metadata["Arn"])
        if entry is None:
            return plans.NOT_IN_PLAN, "%s is not in the approved plan, so it is left as it is (%s): %s" % (
                where, ", ".join(operation for operation, _params in plan["steps"]), plan["message"])
        steps_now = plans.steps_of(plan)
        state_now = plans.plan_state(metadata, status, material, steps_now)
        changed = plans.changes(entry, state_now, steps_now)
        if changed:
            return plans.PLAN_STALE, "%s changed since the plan was approved, so nothing is done: %s; make a new plan" \
                % (where, "; ".join(changed))
        return None

    def _execute(self, metadata, plan):
        """Run the plan's steps; on a failure, the result says what was done and how to finish."""
        key_id, key_arn = metadata["KeyId"], metadata["Arn"]
        region = self.service.region
        state = dict(plan["before"])
        done = []
        passed = [state["key_state"]]
        for index, (operation, params) in enumerate(plan["steps"]):
            if self.half_done.stopped:
                break
            if operation == rotation.CANCEL_KEY_DELETION:
                self.half_done.cancelling(key_arn, region, " && ".join(
                    rotation.finish_command(key_arn, region, plan["steps"][index + 1:])))
            try:
                changed = EXECUTE[operation](self.service, key_id, params)
            except AwsError as error:
                if operation == rotation.CANCEL_KEY_DELETION:
                    self.half_done.settled(key_arn)
                if operation == rotation.ROTATE_KEY_ON_DEMAND and material_rules.refusal_reason(error.code):
                    return self._material_not_rotated(metadata, state, done, error)
                return self._failed(metadata, plan, state, done, error, plan["steps"][index:], passed)
            state.update(changed)
            passed.append(state["key_state"])
            done.append(operation)
            if operation == rotation.CANCEL_KEY_DELETION:
                self.half_done.cancelled(key_arn)
            elif operation == rotation.ENABLE_KEY:
                self.half_done.settled(key_arn)
        return dict(state, actions=done)

    def _material_not_rotated(self, metadata, state, done, error):
        """RotateKeyOnDemand refused for a reason of the key's (a rotation due, no rotations left): a per-key
        outcome that fails neither the key nor the run."""
        message = material_rules.refusal_message(error.code, metadata["KeyId"], self.service.region, error.message)
        if done:
            message += ". This run did: %s" % ", ".join(DONE[operation] for operation in done)
        return dict(state, actions=done, compliance=rotation.NON_COMPLIANT,
                    reason=material_rules.refusal_reason(error.code), message=message)

    def _failed(self, metadata, plan, state, done, error, steps_left, passed):
        """A step failed: what is true of the key now, and, only when it needs it, how to finish.

        ``passed``: the states this run saw or put the key in. Finding the key in one of them
        is this run's own doing (or KMS's lag); only another state is another actor's.
        """
        region = self.service.region
        key_id, key_arn = metadata["KeyId"], metadata["Arn"]
        believed = state["key_state"]
        try:
            # The key's real state, not what the steps that worked imply.
            now = self.service.describe_key(key_arn)
            state["key_state"] = now.get("KeyState", believed)
        except AwsError:
            now = None
        what = ", ".join(DONE[operation] for operation in done)
        if now is not None and error.code in STATE_ERROR_CODES and now.get("KeyState") not in passed:
            return self._changed_by_another_actor(now, state, done, error, believed)
        finish = " && ".join(rotation.finish_command(key_arn, region, steps_left))
        message = "key %s in %s: %s%s failed: %s. " % (key_id, region, what + "; " if what else "", error.operation,
                                                       error.message)
        if rotation.CANCEL_KEY_DELETION in done and state["key_state"] == "Disabled":
            message += half_done_message(key_id, region) + ". Finish with: %s" % finish
        else:
            message += "The key is now %s. Finish with: %s" % (state["key_state"], finish)
        failed = dict(state, actions=done, compliance=rotation.ERROR, reason=error.code, message=message,
                      finish_command=finish)
        if error.response:
            failed["error_response"] = camel_dict_to_snake_dict(error.response)
        return failed

    def _changed_by_another_actor(self, now, state, done, error, believed):
        """Someone else (another run, the key's owner) changed the key since it was read: report what is true."""
        region = self.service.region
        try:
            status = self._read(now)
            material = self._material(now)
        except AwsError:
            status = material = None
        verdict = rotation.plan(now, status, dict(self.desired, pending_deletion="keep"), material)
        state.update(verdict["before"])
        message = ("done by another actor: key %s in %s was %s when this run read it, and %s was refused (%s) because "
                   "another run or the key's owner had changed it since; it is now %s. %s%s" % (
                       now["KeyId"], region, believed, error.operation, error.code, now.get("KeyState"),
                       "This run did: %s. " % ", ".join(DONE[operation] for operation in done) if done else "",
                       verdict["message"]))
        return dict(state, actions=done, compliance=verdict["compliance"], reason=verdict["reason"], message=message,
                    other_actor=True)


def route_by_region(references, regions, partition_of):
    """({region: [references]}, {index: error message}) for a task that works in several Regions.

    Each reference must be a key or alias ARN naming one of ``regions``, so that
    its Region is known before any call.
    """
    routed = dict((region, []) for region in regions)
    errors = {}
    for index, reference in enumerate(references):
        problem = rotation.reference_error(reference)
        region = rotation.arn_region(reference) if problem is None else None
        if problem is None and region is None:
            problem = ("'%s' names no Region: with regions, give each key as a key ARN or alias ARN, or use region "
                       "for key IDs and alias names" % reference)
        elif problem is None and region not in routed:
            problem = "'%s' is in Region %s, which is not one of regions (%s): add it, or drop the key" % (
                reference, region, ", ".join(regions))
        elif problem is None:
            problem = rotation.reference_error(reference, region, partition_of(region))
        if problem:
            errors[index] = problem
        else:
            routed[region].append(reference)
    return routed, errors


def enforce_in_regions(references, enforcers):
    """Results in input order for references routed to ``enforcers`` ({region: RotationEnforcer}), Regions at once."""
    routed, errors = route_by_region(references, list(enforcers), lambda region: enforcers[region].partition)
    work = [(region, refs) for region, refs in routed.items() if refs]
    outcomes = map_concurrently(lambda item: enforcers[item[0]].run(item[1]), work, len(work))
    by_region = dict((region, iter(results)) for (region, _refs), results in zip(work, outcomes))
    results = []
    for index, reference in enumerate(references):
        if index in errors:
            results.append(error_result(reference, rotation.arn_region(reference), errors[index],
                                        code=rotation.INVALID_KEY_REFERENCE))
        else:
            results.append(next(by_region[rotation.arn_region(reference)]))
    return results
