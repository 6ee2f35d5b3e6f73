# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Bring keys' rotation to the desired state: read, plan, then act (or predict).

Glue between the pure planning in ``_rotation`` and the KMS calls in ``_kms``.
One key's failure is recorded on that key and never stops the others.

This is a private module: its interface may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.keyguard.kms.plugins.module_utils import _rotation as rotation
from ansible_collections.keyguard.kms.plugins.module_utils._kms import KmsError
from ansible_collections.keyguard.kms.plugins.module_utils._kms import map_concurrently


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


class RotationEnforcer:
    def __init__(self, service, desired, check_mode, concurrency, journal=None, caller_account=None):
        """``journal``: a _journal.RescueJournal or None; ``caller_account``: a callable
        returning the credentials' account ID, asked only when a key is given by ARN."""
        self.service = service
        self.desired = desired
        self.check_mode = check_mode
        self.concurrency = concurrency
        self.journal = journal
        self.caller_account = caller_account
        self.unfinished_rescues = set()

    def run(self, references):
        """One result per reference, in order; a key named twice is handled once."""
        region = self.service.region
        if self.journal is not None:
            self.unfinished_rescues = self.journal.pending()
        described = map_concurrently(self._describe, references, self.concurrency)
        unique = {}
        for reference, (metadata, error) in zip(references, described):
            if metadata is not None:
                unique.setdefault(metadata["Arn"], metadata)
        handled = dict(
            zip(unique, map_concurrently(self._handle, list(unique.values()), self.concurrency))
        )
        if self.journal is not None and not self.check_mode:
            self.journal.compact()
        results = []
        for reference, (metadata, error) in zip(references, described):
            if error is not None:
                results.append(error_result(reference, region, error.message, code=error.code))
            else:
                results.append(dict(handled[metadata["Arn"]], input=reference))
        return results

    def _describe(self, reference):
        problem = rotation.reference_error(reference, self.service.region)
        if problem:
            return None, KmsError("DescribeKey", "INVALID_KEY_REFERENCE", problem)
        problem = self._account_mismatch(reference)
        if problem:
            return None, KmsError("DescribeKey", "INVALID_KEY_REFERENCE", problem)
        try:
            return self.service.describe_key(reference), None
        except KmsError as error:
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
        key_id = metadata["KeyId"]
        try:
            status = None
            if rotation.needs_rotation_status(metadata):
                status = self.service.get_rotation_status(key_id)
            resuming = metadata.get("Arn") in self.unfinished_rescues
            plan = rotation.plan(metadata, status, self.desired, resuming)
            after = dict(plan["after"])
            actions = [operation for operation, _params in plan["steps"]]
            if not self.check_mode:
                rescuing = bool(plan["steps"]) and plan["steps"][0][0] == rotation.CANCEL_KEY_DELETION
                if rescuing and self.journal is not None:
                    self.journal.started(metadata["Arn"])
                self._execute(key_id, plan["steps"], after)
                # A resumed key is finished now, or was found finished (Enabled) by someone else.
                if (rescuing or resuming) and self.journal is not None:
                    self.journal.finished(metadata["Arn"])
        except KmsError as error:
            return error_result(
                metadata.get("Arn"), region, "key %s in %s: %s" % (key_id, region, error.message), metadata, error.code
            )
        result = key_result(metadata.get("Arn"), region, metadata)
        result.update(after)
        result.update(
            compliance=plan["compliance"],
            reason=plan["reason"],
            message=plan["message"],
            before=plan["before"],
            actions=actions,
            changed=bool(actions),
        )
        if plan["reason"] == "MULTI_REGION_REPLICA":
            result["primary_key_arn"], result["primary_region"] = rotation.primary_key(metadata)
        return result

    def _execute(self, key_id, steps, after):
        for operation, params in steps:
            if operation == rotation.CANCEL_KEY_DELETION:
                self.service.cancel_deletion(key_id)
            elif operation == rotation.ENABLE_KEY:
                self.service.enable_key(key_id)
            elif operation == rotation.DISABLE_KEY_ROTATION:
                self.service.disable_rotation(key_id)
            elif operation == rotation.ENABLE_KEY_ROTATION:
                period = params["rotation_period_days"]
                if params["keep_current_period"] and (period is None or params["period_mode"] == "maximum"):
                    # A rescued key gets back the rotation it had before the deletion
                    # was scheduled; keep that period where the request allows it.
                    current = rotation.rotation_view(self.service.get_rotation_status(key_id))
                    period = rotation.period_to_set(period, params["period_mode"], current["rotation_period_days"])
                self.service.enable_rotation(key_id, period)
                after["rotation_period_days"] = period or rotation.DEFAULT_ROTATION_PERIOD_DAYS
