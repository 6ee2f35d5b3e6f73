# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Bring keys' rotation to the desired state: read, plan, then act (or predict).

Glue between the pure planning in ``_rotation`` and the KMS calls in ``_kms``.
The plan decides; this module maps its steps to calls with a table. One key's
failure is recorded on that key and never stops the others; a key whose plan
fails half-way says what was done, its real state, and how to finish.

This is a private module: its interface may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.keyguard.kms.plugins.module_utils import _rotation as rotation
from ansible_collections.keyguard.kms.plugins.module_utils._aws import AwsError
from ansible_collections.keyguard.kms.plugins.module_utils._aws import map_concurrently


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
    }


def error_result(reference, region, message, metadata=None, code=None):
    result = key_result(reference, region, metadata)
    result.update(compliance=rotation.ERROR, reason=code or "ERROR", message=message)
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


# Each plan step, as KMS calls; returns what the step changed in the key's state.
EXECUTE = {
    rotation.CANCEL_KEY_DELETION: _cancel_deletion,
    rotation.ENABLE_KEY: _enable_key,
    rotation.ENABLE_KEY_ROTATION: _enable_rotation,
    rotation.DISABLE_KEY_ROTATION: _disable_rotation,
}
DONE = {
    rotation.CANCEL_KEY_DELETION: "deletion cancelled",
    rotation.ENABLE_KEY: "key enabled",
    rotation.ENABLE_KEY_ROTATION: "rotation enabled",
    rotation.DISABLE_KEY_ROTATION: "rotation disabled",
}


class RotationEnforcer:
    """Reads, plans and acts (or predicts) on the keys of one Region."""

    def __init__(self, service, desired, check_mode, concurrency, journal=None, caller_account=None,
                 partition=None, journal_records=None):
        """``journal``: a _journal.RescueJournal or None, with ``journal_records`` its live
        records read once per run; ``caller_account``: a callable returning the
        credentials' account ID, asked only when a key is given by ARN."""
        self.service = service
        self.desired = desired
        self.check_mode = check_mode
        self.concurrency = concurrency
        self.journal = journal
        self.journal_records = journal_records if journal_records is not None else (
            journal.live_records() if journal is not None else {})
        self.caller_account = caller_account
        self.partition = partition

    def run(self, references):
        """One result per reference, in order; a key named twice is handled once."""
        region = self.service.region
        described = map_concurrently(self._describe, references, self.concurrency)
        unique = {}
        for metadata, _error in described:
            if metadata is not None:
                unique.setdefault(metadata["Arn"], metadata)
        handled = dict(
            zip(unique, map_concurrently(self._handle, list(unique.values()), self.concurrency))
        )
        results = []
        for reference, (metadata, error) in zip(references, described):
            if error is not None:
                results.append(error_result(reference, region, error.message, code=error.code))
            else:
                results.append(dict(handled[metadata["Arn"]], input=reference))
        return results

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

    def _handle(self, metadata):
        region = self.service.region
        key_id, key_arn = metadata["KeyId"], metadata["Arn"]
        try:
            status = None
            if rotation.needs_rotation_status(metadata):
                status = self.service.get_rotation_status(key_id)
            resuming = self.journal is not None and self.journal.observe(
                key_arn, metadata.get("KeyState"), self.journal_records)
            plan = rotation.plan(metadata, status, self.desired, resuming)
        except AwsError as error:
            return error_result(key_arn, region, "key %s in %s: %s" % (key_id, region, error.message), metadata,
                                error.code)
        result = key_result(key_arn, region, metadata)
        result.update(compliance=plan["compliance"], reason=plan["reason"], message=plan["message"],
                      before=plan["before"])
        if plan["reason"] == rotation.MULTI_REGION_REPLICA:
            result["primary_key_arn"], result["primary_region"] = rotation.primary_key(metadata)
        if self.check_mode or not plan["steps"]:
            result.update(plan["after"])
            result.update(actions=[operation for operation, _params in plan["steps"]])
        else:
            result.update(self._execute(metadata, plan))
        result["changed"] = bool(result["actions"])
        return result

    def _execute(self, metadata, plan):
        """Run the plan's steps; on a failure, the result says what was done and how to finish."""
        key_id, key_arn = metadata["KeyId"], metadata["Arn"]
        state = dict(plan["before"])
        done = []
        if plan["rescue"] == rotation.RESCUE_START and self.journal is not None:
            self.journal.begin(key_arn)
        try:
            for index, (operation, params) in enumerate(plan["steps"]):
                try:
                    state.update(EXECUTE[operation](self.service, key_id, params))
                except AwsError as error:
                    return self._partial(metadata, plan, state, done, error, plan["steps"][index:])
                done.append(operation)
                if operation == rotation.ENABLE_KEY and plan["rescue"] == rotation.RESCUE_START and self.journal is not None:
                    # Enabled again: the key is no longer as an interrupted rescue would leave it.
                    self.journal.end(key_arn)
        finally:
            # The next run consumes a record of an interrupted rescue, finished or not.
            if plan["rescue"] == rotation.RESCUE_RESUME and self.journal is not None:
                self.journal.end(key_arn)
        return dict(state, actions=done)

    def _partial(self, metadata, plan, state, done, error, steps_left):
        region = self.service.region
        key_arn = metadata["Arn"]
        try:
            # The key's real state, not what the steps that worked imply.
            state["key_state"] = self.service.describe_key(key_arn).get("KeyState", state["key_state"])
        except AwsError:
            pass
        what = ", ".join(DONE[operation] for operation in done)
        message = "key %s in %s: %s%s failed: %s. The key is now %s. Finish with: %s" % (
            metadata["KeyId"], region, what + "; " if what else "", error.operation, error.message, state["key_state"],
            " && ".join(rotation.finish_command(key_arn, region, steps_left)))
        if plan["rescue"] == rotation.RESCUE_START and rotation.CANCEL_KEY_DELETION in done and self.journal is not None:
            message += " (or run again with the same rescue journal, which finishes the rescue while the key stays %s)" % (
                state["key_state"])
        return dict(state, actions=done, compliance=rotation.ERROR, reason=error.code, message=message)


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
