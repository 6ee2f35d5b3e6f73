# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Pure domain logic for KMS key rotation: no AWS calls, plain data in and out.

Which keys KMS.4 applies to, how a key's state compares with the state asked for,
and which KMS operations bring it there. Everything here follows the real KMS rules
(see the collection's KMS facts), not an emulator's leniency.

This is a private module: its interface may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

COMPLIANT = "COMPLIANT"
NON_COMPLIANT = "NON_COMPLIANT"
NOT_APPLICABLE = "NOT_APPLICABLE"
ERROR = "ERROR"

MIN_ROTATION_PERIOD_DAYS = 90
MAX_ROTATION_PERIOD_DAYS = 2560
DEFAULT_ROTATION_PERIOD_DAYS = 365

CANCEL_KEY_DELETION = "CancelKeyDeletion"
ENABLE_KEY = "EnableKey"
ENABLE_KEY_ROTATION = "EnableKeyRotation"
DISABLE_KEY_ROTATION = "DisableKeyRotation"
WRITE_OPERATIONS = (CANCEL_KEY_DELETION, ENABLE_KEY, ENABLE_KEY_ROTATION, DISABLE_KEY_ROTATION)

ASYMMETRIC_SPEC_PREFIXES = ("RSA_", "ECC_", "SM2", "ML_DSA_")
HMAC_SPEC_PREFIX = "HMAC_"
CUSTOM_KEY_STORE_ORIGINS = ("AWS_CLOUDHSM", "EXTERNAL_KEY_STORE")

_UUID = r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}"
_KEY_ID = re.compile(r"^(mrk-)?%s$" % _UUID, re.IGNORECASE)
_ALIAS_NAME = re.compile(r"^alias/[a-zA-Z0-9/_-]{1,250}$")
_ARN = re.compile(r"^arn:(aws[a-z-]*):kms:([a-z0-9-]+):(\d{12}):(key|alias)/(.+)$")


def reference_error(reference, region):
    """Why a key reference cannot be used in ``region``, or None when it can.

    Checked before any call, so a typo costs no request and gets a message that
    says what to fix.
    """
    if not isinstance(reference, str) or not reference.strip():
        return "an empty key reference was given: use a key ID, key ARN, alias name (alias/...) or alias ARN"
    if reference.startswith("arn:"):
        match = _ARN.match(reference)
        if not match:
            return (
                "'%s' is not a KMS key or alias ARN: expected "
                "arn:aws:kms:<region>:<account>:key/<key-id> or ...:alias/<name>" % reference
            )
        arn_region, kind, name = match.group(2), match.group(4), match.group(5)
        if region and arn_region != region:
            return (
                "'%s' is in Region %s but this task connects to %s: run it with region: %s"
                % (reference, arn_region, region, arn_region)
            )
        if kind == "key" and not _KEY_ID.match(name):
            return "'%s' has a malformed key ID '%s': a key ID looks like 1234abcd-12ab-34cd-56ef-1234567890ab" % (
                reference,
                name,
            )
        if kind == "alias" and not _ALIAS_NAME.match("alias/" + name):
            return "'%s' has a malformed alias name" % reference
        return None
    if reference.startswith("alias/"):
        if not _ALIAS_NAME.match(reference):
            return "'%s' is not a valid alias name: use letters, digits, '/', '_' and '-' after alias/" % reference
        return None
    if not _KEY_ID.match(reference):
        return (
            "'%s' is not a key ID, key ARN, alias name (alias/...) or alias ARN: "
            "a key ID looks like 1234abcd-12ab-34cd-56ef-1234567890ab" % reference
        )
    return None


def arn_account(reference):
    """The account ID in a key or alias ARN, or None for IDs and alias names."""
    match = _ARN.match(reference or "")
    return match.group(3) if match else None


def period_error(period):
    """Why a rotation period is refused, or None."""
    if period is None:
        return None
    if not MIN_ROTATION_PERIOD_DAYS <= period <= MAX_ROTATION_PERIOD_DAYS:
        return "rotation_period_days must be between %d and %d days, got %s" % (
            MIN_ROTATION_PERIOD_DAYS,
            MAX_ROTATION_PERIOD_DAYS,
            period,
        )
    return None


def key_spec(metadata):
    return metadata.get("KeySpec") or metadata.get("CustomerMasterKeySpec") or "SYMMETRIC_DEFAULT"


def multi_region_type(metadata):
    return (metadata.get("MultiRegionConfiguration") or {}).get("MultiRegionKeyType")


def primary_key(metadata):
    """(ARN, Region) of a multi-Region key's primary, or (None, None)."""
    primary = (metadata.get("MultiRegionConfiguration") or {}).get("PrimaryKey") or {}
    return primary.get("Arn"), primary.get("Region")


def not_applicable(metadata):
    """(reason, message) when automatic rotation does not exist for this key, else None."""
    spec = key_spec(metadata)
    origin = metadata.get("Origin")
    if metadata.get("KeyManager") == "AWS":
        return "AWS_MANAGED", "AWS managed key: AWS rotates it every year and its rotation cannot be configured"
    if origin in CUSTOM_KEY_STORE_ORIGINS or metadata.get("CustomKeyStoreId"):
        return "CUSTOM_KEY_STORE", "key in a custom key store (%s): automatic rotation is not supported" % origin
    if origin == "EXTERNAL":
        return (
            "IMPORTED_KEY_MATERIAL",
            "imported key material: automatic rotation is not supported; rotate on demand after importing new material",
        )
    if spec.startswith(HMAC_SPEC_PREFIX):
        return "HMAC", "HMAC key (%s): automatic rotation is not supported" % spec
    if spec.startswith(ASYMMETRIC_SPEC_PREFIXES):
        return "ASYMMETRIC", "asymmetric key (%s): automatic rotation is not supported" % spec
    if multi_region_type(metadata) == "REPLICA":
        arn, region = primary_key(metadata)
        return (
            "MULTI_REGION_REPLICA",
            "multi-Region replica: rotation is set on its primary key %s in Region %s and synced to replicas"
            % (arn, region),
        )
    return None


def rotation_view(status):
    """The rotation part of a key's observable state, from GetKeyRotationStatus output."""
    if status is None:
        return {"rotation_enabled": None, "rotation_period_days": None}
    enabled = bool(status.get("KeyRotationEnabled"))
    return {
        "rotation_enabled": enabled,
        "rotation_period_days": status.get("RotationPeriodInDays") if enabled else None,
    }


def needs_rotation_status(metadata):
    """Whether GetKeyRotationStatus means anything for this key (saves a call when it does not)."""
    return not_applicable(metadata) is None and metadata.get("KeyState") in ("Enabled", "Disabled")


def plan(metadata, status, desired, resuming=False):
    """What to do with one key.

    ``metadata`` is DescribeKey's KeyMetadata, ``status`` GetKeyRotationStatus's
    output (None when not read), ``desired`` a dict with ``state`` (enabled or
    disabled), ``rotation_period_days`` (None: leave as is / AWS default),
    ``rotation_period_mode`` (exact, or maximum: only longer periods are changed)
    and ``pending_deletion`` (keep or cancel).

    ``resuming`` says the key's deletion was cancelled by an earlier run that
    stopped before EnableKey (see _journal), so a Disabled key is finished off.

    Returns a dict: compliance and reason judged on the state found, message,
    steps (ordered (operation, params) pairs), before and predicted after.
    """
    key_state = metadata.get("KeyState")
    before = dict(rotation_view(status), key_state=key_state)
    want_enabled = desired["state"] == "enabled"
    want_period = desired.get("rotation_period_days")
    period_mode = desired.get("rotation_period_mode") or "exact"

    def verdict(compliance, reason, message, steps=(), after=None):
        return {
            "compliance": compliance,
            "reason": reason,
            "message": message,
            "steps": list(steps),
            "before": before,
            "after": after or dict(before),
        }

    skip = not_applicable(metadata)
    if skip:
        return verdict(NOT_APPLICABLE, skip[0], skip[1])

    if key_state == "PendingDeletion":
        when = metadata.get("DeletionDate")
        scheduled = "scheduled for deletion%s" % (" on %s" % when if when else "")
        if desired.get("pending_deletion") != "cancel":
            return verdict(
                NON_COMPLIANT,
                "PENDING_DELETION",
                "key is %s; left untouched (pending_deletion=keep): use pending_deletion=cancel to rescue it" % scheduled,
            )
        # Rotation status cannot be read while pending deletion, so it is always
        # asserted after the rescue: the same steps in check mode and real runs.
        rotation_step = _rotation_step(want_enabled, want_period, period_mode, keep_current_period=True)
        # The period a rescued key had cannot be read before the rescue; with
        # mode maximum it may be kept, so it is only known when exact.
        predictable = want_enabled and want_period and period_mode == "exact"
        after = {
            "key_state": "Enabled",
            "rotation_enabled": want_enabled,
            "rotation_period_days": want_period if predictable else None,
        }
        return verdict(
            NON_COMPLIANT,
            "PENDING_DELETION",
            "key was %s: deletion cancelled, key re-enabled, rotation %s" % (scheduled, desired["state"]),
            [(CANCEL_KEY_DELETION, {}), (ENABLE_KEY, {})] + [rotation_step],
            after,
        )

    if key_state == "Disabled" and resuming and desired.get("pending_deletion") == "cancel":
        return verdict(
            NON_COMPLIANT,
            "PENDING_DELETION",
            "an earlier run cancelled this key's deletion and stopped before re-enabling it: key re-enabled, "
            "rotation %s" % desired["state"],
            [(ENABLE_KEY, {}), _rotation_step(want_enabled, want_period, period_mode, keep_current_period=True)],
            {
                "key_state": "Enabled",
                "rotation_enabled": want_enabled,
                "rotation_period_days": period_to_set(want_period, period_mode, before["rotation_period_days"])
                if want_enabled else None,
            },
        )

    if key_state == "PendingReplicaDeletion":
        return verdict(
            NON_COMPLIANT,
            "PENDING_REPLICA_DELETION",
            "multi-Region primary waiting for its replicas to be deleted before its own deletion; left untouched",
        )
    if key_state not in ("Enabled", "Disabled"):
        return verdict(
            NON_COMPLIANT,
            "KEY_NOT_USABLE",
            "key state is %s: its rotation cannot be changed now; run again once the key is Enabled" % key_state,
        )

    gap = _rotation_gap(before, want_enabled, want_period, period_mode)
    if gap is None:
        return verdict(COMPLIANT, None, "rotation is %s as requested" % _describe_rotation(before))

    if key_state == "Disabled":
        return verdict(
            NON_COMPLIANT,
            "KEY_DISABLED",
            "key is Disabled (rotation %s): KMS cannot change rotation on a disabled key and re-enabling it is "
            "the key owner's decision; enable the key, then run again" % _describe_rotation(before),
        )

    reason, message = gap
    step = _rotation_step(want_enabled, want_period, period_mode, keep_current_period=False)
    after = dict(before)
    after["rotation_enabled"] = want_enabled
    after["rotation_period_days"] = (want_period or DEFAULT_ROTATION_PERIOD_DAYS) if want_enabled else None
    return verdict(NON_COMPLIANT, reason, message, [step], after)


def _rotation_step(want_enabled, want_period, period_mode, keep_current_period):
    if not want_enabled:
        return (DISABLE_KEY_ROTATION, {})
    return (
        ENABLE_KEY_ROTATION,
        {"rotation_period_days": want_period, "period_mode": period_mode, "keep_current_period": keep_current_period},
    )


def period_to_set(want_period, period_mode, current_period):
    """The period to send when rotation is (re)asserted on a key that rotates every ``current_period`` days."""
    if want_period is None:
        return current_period
    if period_mode == "maximum" and current_period and current_period <= want_period:
        return current_period
    return want_period


def _rotation_gap(before, want_enabled, want_period, period_mode):
    """(reason, message) when the rotation found differs from the one asked for."""
    enabled = before["rotation_enabled"]
    current = before["rotation_period_days"]
    if want_enabled and not enabled:
        return "ROTATION_DISABLED", "automatic rotation is off"
    if want_enabled and want_period and period_to_set(want_period, period_mode, current) != current:
        return "ROTATION_PERIOD_MISMATCH", "key rotates every %s days, %s%s requested" % (
            current,
            "at most " if period_mode == "maximum" else "",
            want_period,
        )
    if not want_enabled and enabled:
        return "ROTATION_ENABLED", "automatic rotation is on and state=disabled was requested"
    return None


def _describe_rotation(view):
    if not view["rotation_enabled"]:
        return "off"
    if view["rotation_period_days"]:
        return "on, every %s days" % view["rotation_period_days"]
    return "on"


def judge_kms4(metadata, status, max_rotation_period_days=None):
    """KMS.4 verdict for a report: (compliance, reason, message), no change implied."""
    result = plan(
        metadata,
        status,
        {"state": "enabled", "rotation_period_days": None, "pending_deletion": "keep"},
    )
    compliance, reason, message = result["compliance"], result["reason"], result["message"]
    if compliance == COMPLIANT and max_rotation_period_days:
        period = result["before"]["rotation_period_days"]
        if period and period > max_rotation_period_days:
            return (
                NON_COMPLIANT,
                "ROTATION_PERIOD_MISMATCH",
                "key rotates every %s days, more than the %s allowed" % (period, max_rotation_period_days),
            )
    if reason == "KEY_DISABLED" and result["before"]["rotation_enabled"] is False:
        message = "key is Disabled with automatic rotation off"
    return compliance, reason, message
