# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Pure domain logic for KMS key rotation: no AWS calls, plain data in and out.

The one home of every rotation rule: which keys KMS.4 applies to, how a key
compares with the rotation wanted (the verdict), and which KMS operations bring
it there (the plan). The modules, the role's plugins and the reports all call
these functions. Everything follows the real KMS rules (see the collection's KMS
facts), not an emulator's leniency.

This is a private module: its interface may change without notice.
"""

from __future__ import annotations

import datetime
import re

from ansible_collections.keyguard.kms.plugins.module_utils._rules import material as material_rules

COMPLIANT = "COMPLIANT"
NON_COMPLIANT = "NON_COMPLIANT"
NOT_APPLICABLE = "NOT_APPLICABLE"
ERROR = "ERROR"
COMPLIANCE_VALUES = (COMPLIANT, NON_COMPLIANT, NOT_APPLICABLE, ERROR)
# A key's verdict and the state it rests on, as every result and report carries them.
VERDICT_FIELDS = ("compliance", "reason", "key_state", "rotation_enabled", "rotation_period_days")

# Reason codes: why a key is not compliant, not applicable, or in error.
AWS_MANAGED = "AWS_MANAGED"
ASYMMETRIC = "ASYMMETRIC"
HMAC = "HMAC"
IMPORTED_KEY_MATERIAL = "IMPORTED_KEY_MATERIAL"
CUSTOM_KEY_STORE = "CUSTOM_KEY_STORE"
MULTI_REGION_REPLICA = "MULTI_REGION_REPLICA"
ROTATION_DISABLED = "ROTATION_DISABLED"
ROTATION_PERIOD_MISMATCH = "ROTATION_PERIOD_MISMATCH"
ROTATION_ENABLED = "ROTATION_ENABLED"
PENDING_DELETION = "PENDING_DELETION"
KEY_DISABLED = "KEY_DISABLED"
PENDING_REPLICA_DELETION = "PENDING_REPLICA_DELETION"
KEY_NOT_USABLE = "KEY_NOT_USABLE"
INVALID_KEY_REFERENCE = "INVALID_KEY_REFERENCE"
# The reasons a rotation call (KMS.4) fixes.
ROTATION_CHANGE_REASONS = (ROTATION_DISABLED, ROTATION_PERIOD_MISMATCH, ROTATION_ENABLED)

MIN_ROTATION_PERIOD_DAYS = 90
MAX_ROTATION_PERIOD_DAYS = 2560
DEFAULT_ROTATION_PERIOD_DAYS = 365

CANCEL_KEY_DELETION = "CancelKeyDeletion"
ENABLE_KEY = "EnableKey"
ENABLE_KEY_ROTATION = "EnableKeyRotation"
DISABLE_KEY_ROTATION = "DisableKeyRotation"
ROTATE_KEY_ON_DEMAND = material_rules.ROTATE_KEY_ON_DEMAND
WRITE_OPERATIONS = (CANCEL_KEY_DELETION, ENABLE_KEY, ENABLE_KEY_ROTATION, DISABLE_KEY_ROTATION, ROTATE_KEY_ON_DEMAND)

ASYMMETRIC_SPEC_PREFIXES = ("RSA_", "ECC_", "SM2", "ML_DSA_")
HMAC_SPEC_PREFIX = "HMAC_"
CUSTOM_KEY_STORE_ORIGINS = ("AWS_CLOUDHSM", "EXTERNAL_KEY_STORE")

_UUID = r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}"
_KEY_ID = re.compile(r"^(mrk-)?%s$" % _UUID, re.IGNORECASE)
_ALIAS_NAME = re.compile(r"^alias/[a-zA-Z0-9/_-]{1,250}$")
_ARN = re.compile(r"^arn:(aws[a-z-]*):kms:([a-z0-9-]+):(\d{12}):(key|alias)/(.+)$")


# --- key references -----------------------------------------------------------

def parse_arn(reference):
    """(partition, region, account, kind, name) of a KMS key or alias ARN, or None."""
    match = _ARN.match(reference or "")
    return match.groups() if match else None


def arn_account(reference):
    """The account ID in a key or alias ARN, or None for IDs and alias names."""
    parts = parse_arn(reference)
    return parts[2] if parts else None


def arn_region(reference):
    """The Region in a key or alias ARN, or None for IDs and alias names."""
    parts = parse_arn(reference)
    return parts[1] if parts else None


def reference_error(reference, region=None, partition=None):
    """Why a key reference cannot be used in ``region`` (of ``partition``), or None when it can.

    Checked before any call, so a typo costs no request and gets a message that
    says what to fix. ``region`` None accepts an ARN of any Region.
    """
    if not isinstance(reference, str) or not reference.strip():
        return "an empty key reference was given: use a key ID, key ARN, alias name (alias/...) or alias ARN"
    if reference.startswith("arn:"):
        parts = parse_arn(reference)
        if not parts:
            return (
                "'%s' is not a KMS key or alias ARN: expected "
                "arn:aws:kms:<region>:<account>:key/<key-id> or ...:alias/<name>" % reference
            )
        arn_partition, arn_region_name, _account, kind, name = parts
        if region and arn_region_name != region:
            return (
                "'%s' is in Region %s but this task connects to %s: run it with region: %s"
                % (reference, arn_region_name, region, arn_region_name)
            )
        if partition and arn_partition != partition:
            return (
                "'%s' names partition %s but Region %s is in partition %s: write arn:%s:kms:..."
                % (reference, arn_partition, arn_region_name, partition, partition)
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


def period_error(period):
    """Why a rotation period is refused, or None."""
    if period is None:
        return None
    if isinstance(period, bool) or not isinstance(period, int) or not (
            MIN_ROTATION_PERIOD_DAYS <= period <= MAX_ROTATION_PERIOD_DAYS):
        return "rotation_period_days must be between %d and %d days, got %s" % (
            MIN_ROTATION_PERIOD_DAYS,
            MAX_ROTATION_PERIOD_DAYS,
            period,
        )
    return None


# --- what a key is ------------------------------------------------------------

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
        return AWS_MANAGED, "AWS managed key: AWS rotates it every year and its rotation cannot be configured"
    if origin in CUSTOM_KEY_STORE_ORIGINS or metadata.get("CustomKeyStoreId"):
        return CUSTOM_KEY_STORE, "key in a custom key store (%s): automatic rotation is not supported" % origin
    if origin == "EXTERNAL":
        return (
            IMPORTED_KEY_MATERIAL,
            "imported key material: automatic rotation is not supported; rotate on demand after importing new material",
        )
    if spec.startswith(HMAC_SPEC_PREFIX):
        return HMAC, "HMAC key (%s): automatic rotation is not supported" % spec
    if spec.startswith(ASYMMETRIC_SPEC_PREFIXES):
        return ASYMMETRIC, "asymmetric key (%s): automatic rotation is not supported" % spec
    if multi_region_type(metadata) == "REPLICA":
        arn, region = primary_key(metadata)
        return (
            MULTI_REGION_REPLICA,
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


def needs_rotation_status(metadata, desired=None):
    """Whether GetKeyRotationStatus means anything for this key (saves a call when it does not): with a
    cryptoperiod, a key with imported material tells whether an on-demand rotation is running."""
    if metadata.get("KeyState") not in ("Enabled", "Disabled"):
        return False
    return not_applicable(metadata) is None or (
        bool((desired or {}).get("max_key_material_age_days")) and _imported_rotatable(metadata))


def _imported_rotatable(metadata):
    """A customer managed symmetric key with imported material, which KMS can rotate on demand to new material."""
    return (metadata.get("Origin") == "EXTERNAL" and metadata.get("KeyManager") != "AWS"
            and key_spec(metadata) == "SYMMETRIC_DEFAULT" and multi_region_type(metadata) != "REPLICA")


# --- the rotation wanted ------------------------------------------------------

def desired_rotation(state="enabled", rotation_period_days=None, rotation_period_mode="exact",
                     pending_deletion="keep", max_key_material_age_days=None,
                     on_demand_rotations_reserve=material_rules.DEFAULT_ON_DEMAND_RESERVE):
    """The rotation wanted, as every function here takes it; ``max_key_material_age_days`` is the cryptoperiod
    (None: none), which applies only while automatic rotation is wanted."""
    return {
        "state": state,
        "rotation_period_days": rotation_period_days if state == "enabled" else None,
        "rotation_period_mode": rotation_period_mode or "exact",
        "pending_deletion": pending_deletion,
        "max_key_material_age_days": max_key_material_age_days if state == "enabled" else None,
        "on_demand_rotations_reserve": material_rules.DEFAULT_ON_DEMAND_RESERVE if on_demand_rotations_reserve is None
        else on_demand_rotations_reserve,
    }


def period_to_set(want_period, period_mode, current_period):
    """The period to send when rotation is (re)asserted on a key that rotates every ``current_period`` days."""
    if want_period is None:
        return current_period
    if period_mode == "maximum" and current_period and current_period <= want_period:
        return current_period
    return want_period


def rotation_gap(view, desired):
    """(reason, message) when the rotation in ``view`` differs from the one wanted, else None."""
    want_enabled = desired["state"] == "enabled"
    want_period = desired.get("rotation_period_days")
    period_mode = desired.get("rotation_period_mode") or "exact"
    enabled = view["rotation_enabled"]
    current = view["rotation_period_days"]
    if want_enabled and not enabled:
        return ROTATION_DISABLED, "automatic rotation is off"
    if want_enabled and want_period and period_to_set(want_period, period_mode, current) != current:
        return ROTATION_PERIOD_MISMATCH, "key rotates every %s days, %s%s requested" % (
            current,
            "at most " if period_mode == "maximum" else "",
            want_period,
        )
    if not want_enabled and enabled:
        return ROTATION_ENABLED, "automatic rotation is on and state=disabled was requested"
    return None


_ROTATION_FORMS = {"sentence": "on, every %s days", "period": "every %s days", "cell": "%s d"}


def rotation_text(view, form="sentence"):
    """How a key rotates, in words: ``sentence`` (on, every 365 days), ``period`` (every 365 days) or ``cell``
    (365 d, and - when its rotation was not read)."""
    enabled = view.get("rotation_enabled")
    if enabled is None and form == "cell":
        return "-"
    if not enabled:
        return "off"
    period = view.get("rotation_period_days")
    return _ROTATION_FORMS[form] % period if period else "on"


# --- verdict and plan ---------------------------------------------------------

class _Key:
    """One key as read, with the rotation wanted: what every guard of the plan looks at."""

    def __init__(self, metadata, status, desired, material=None, now=None):
        self.metadata = metadata
        self.status = status
        self.desired = desired
        self.state = metadata.get("KeyState")
        self.before = dict(rotation_view(status), key_state=self.state)
        self.limit = desired.get("max_key_material_age_days")
        self.material = material
        if self.limit:
            self.before["key_material_age_days"] = (material or {}).get("key_material_age_days")
        self.now = now or datetime.datetime.now(datetime.timezone.utc)
        self.gap = rotation_gap(self.before, desired) if self.state in ("Enabled", "Disabled") else None

    def verdict(self, compliance, reason, message, steps=(), after=None, rescue=False):
        return {"compliance": compliance, "reason": reason, "message": message, "steps": list(steps),
                "rescue": rescue, "before": self.before, "after": after or dict(self.before)}

    def cryptoperiod(self, rotation_set=False):
        """What the cryptoperiod asks of this key (material_rules.judge), or None. ``rotation_set``: once the plan
        sets automatic rotation, its next date is far off, so only the other rules apply."""
        status = dict(self.status or {}, NextRotationDate=None) if rotation_set else self.status
        return material_rules.judge(self.metadata, status, self.material, self.limit,
                                    self.desired.get("on_demand_rotations_reserve"), self.now)

    def renewed(self, after):
        return dict(after, key_material_age_days=0)


def _when_imported_material_too_old(key):
    """Imported material is not KMS.4's, but a cryptoperiod covers it: KMS rotates it on demand to new material
    its owner has imported."""
    if not key.limit or key.state != "Enabled" or not _imported_rotatable(key.metadata):
        return None
    need = key.cryptoperiod()
    if need is None:
        return None
    if need["rotate"]:
        return key.verdict(NON_COMPLIANT, need["reason"], need["message"] + ", to the new material its owner imported",
                           [(ROTATE_KEY_ON_DEMAND, {})], key.renewed(key.before))
    return key.verdict(NON_COMPLIANT, need["reason"], need["message"])


def _when_not_applicable(key):
    skip = not_applicable(key.metadata)
    return key.verdict(NOT_APPLICABLE, skip[0], skip[1]) if skip else None


def _when_pending_deletion(key):
    if key.state != "PendingDeletion":
        return None
    when = key.metadata.get("DeletionDate")
    scheduled = "scheduled for deletion%s" % (" on %s" % when if when else "")
    if key.desired.get("pending_deletion") != "cancel":
        return key.verdict(NON_COMPLIANT, PENDING_DELETION, "key is %s; left untouched (pending_deletion=keep): use "
                           "pending_deletion=cancel to rescue it" % scheduled)
    # Rotation cannot be read while a key is pending deletion: it is always asserted after the
    # rescue, so check mode and real runs take the same steps.
    step = _rescue_rotation_step(key.desired)
    return key.verdict(NON_COMPLIANT, PENDING_DELETION, "key was %s: deletion cancelled, key re-enabled, rotation %s" % (
        scheduled, key.desired["state"]), [(CANCEL_KEY_DELETION, {}), (ENABLE_KEY, {}), step],
        _after_rescue(step, key.desired["state"] == "enabled"), True)


def _when_waiting_for_replicas(key):
    if key.state != "PendingReplicaDeletion":
        return None
    return key.verdict(NON_COMPLIANT, PENDING_REPLICA_DELETION, "multi-Region primary waiting for its replicas to be "
                       "deleted before its own deletion; left untouched")


def _when_not_usable(key):
    if key.state in ("Enabled", "Disabled"):
        return None
    return key.verdict(NON_COMPLIANT, KEY_NOT_USABLE, "key state is %s: its rotation cannot be changed now; run again "
                       "once the key is Enabled" % key.state)


def _when_disabled(key):
    if key.state != "Disabled":
        return None
    if key.gap is not None:
        return key.verdict(NON_COMPLIANT, KEY_DISABLED, "key is Disabled (rotation %s): KMS cannot change rotation on "
                           "a disabled key and re-enabling it is the key owner's decision; enable the key, then run "
                           "again" % rotation_text(key.before))
    need = key.cryptoperiod()
    if need is None:
        return None
    return key.verdict(NON_COMPLIANT, KEY_DISABLED, "key is Disabled and its %s: KMS cannot replace the material of a "
                       "disabled key and re-enabling it is the key owner's decision; enable the key, then run again"
                       % need["age"])


def _when_as_wanted(key):
    if key.gap is not None:
        return None
    need = key.cryptoperiod()
    if need is None:
        young = "" if not key.limit or key.before.get("key_material_age_days") is None else (
            "; key material %d days old, within the %d days allowed" % (key.before["key_material_age_days"], key.limit))
        return key.verdict(COMPLIANT, None, "rotation is %s as requested%s" % (rotation_text(key.before), young))
    if need["rotate"]:
        return key.verdict(NON_COMPLIANT, need["reason"], need["message"], [(ROTATE_KEY_ON_DEMAND, {})],
                           key.renewed(key.before))
    return key.verdict(NON_COMPLIANT, need["reason"], need["message"])


def _change_rotation(key):
    reason, message = key.gap
    if key.desired["state"] == "enabled":
        period = period_to_set(key.desired.get("rotation_period_days"), key.desired.get("rotation_period_mode"),
                               key.before["rotation_period_days"])
        steps = [(ENABLE_KEY_ROTATION, {"period": period})]
        after = dict(key.before, rotation_enabled=True, rotation_period_days=period or DEFAULT_ROTATION_PERIOD_DAYS)
        need = key.cryptoperiod(rotation_set=True)
        if need is not None:
            message = "%s; %s" % (message, need["message"])
            if need["rotate"]:
                steps.append((ROTATE_KEY_ON_DEMAND, {}))
                after = key.renewed(after)
        return key.verdict(NON_COMPLIANT, reason, message, steps, after)
    return key.verdict(NON_COMPLIANT, reason, message, [(DISABLE_KEY_ROTATION, {})],
                       dict(key.before, rotation_enabled=False, rotation_period_days=None))


# The plan, as a table: the first guard that applies decides (the last one always does).
_GUARDS = (_when_imported_material_too_old, _when_not_applicable, _when_pending_deletion, _when_waiting_for_replicas,
           _when_not_usable, _when_disabled, _when_as_wanted, _change_rotation)


def plan(metadata, status, desired, material=None, now=None):
    """What to do with one key, and the verdict on it as found.

    ``metadata`` is DescribeKey's KeyMetadata, ``status`` GetKeyRotationStatus's
    output (None when not read), ``desired`` from desired_rotation(), ``material``
    the key's material view (material_rules.material_view; for a replica, its
    primary's), read only with a cryptoperiod. The plan rests on what was just
    read, and on nothing carried from an earlier run: a Disabled key is its
    owner's, whoever disabled it.

    Returns a dict: ``compliance`` and ``reason`` judged on the key as found,
    ``message``, ``steps`` (ordered (operation, params) pairs, complete: the
    executor decides nothing), ``rescue`` (whether the steps cancel a deletion),
    ``before`` and the predicted ``after``.
    """
    key = _Key(metadata, status, desired, material, now)
    return next(outcome for outcome in (guard(key) for guard in _GUARDS) if outcome is not None)


def _rescue_rotation_step(desired):
    """The rotation step that ends a rescue.

    Cancelling a deletion restores the rotation a key had; with no period asked
    for, or one used as a ceiling, that period is kept where allowed. It can only
    be read after the cancel: ``period`` None and ``keep_current_up_to`` the ceiling.
    """
    if desired["state"] != "enabled":
        return (DISABLE_KEY_ROTATION, {})
    want = desired.get("rotation_period_days")
    if want and desired.get("rotation_period_mode") == "exact":
        return (ENABLE_KEY_ROTATION, {"period": want})
    return (ENABLE_KEY_ROTATION, {"period": None, "keep_current_up_to": want})


def _after_rescue(step, want_enabled):
    period = step[1].get("period")
    return {
        "key_state": "Enabled",
        "rotation_enabled": want_enabled,
        # Unknown until the restored period is read, unless the plan fixed it.
        "rotation_period_days": period if want_enabled else None,
    }


def period_for_step(params, read_current_period):
    """The RotationPeriodInDays to send for an EnableKeyRotation step (None: AWS's default).

    ``read_current_period`` is asked only when the step keeps the key's current
    period, which happens only right after a rescue.
    """
    if params.get("period") is not None or "keep_current_up_to" not in params:
        return params.get("period")
    current = read_current_period()
    ceiling = params["keep_current_up_to"]
    if current and (ceiling is None or current <= ceiling):
        return current
    return ceiling


def verdict_as_found(metadata, status, desired, material=None):
    """(compliance, reason, message) of a key as found, against ``desired``; nothing implied."""
    result = plan(metadata, status, dict(desired, pending_deletion="keep"), material)
    compliance, reason, message = result["compliance"], result["reason"], result["message"]
    if reason == KEY_DISABLED and result["before"]["rotation_enabled"] is False:
        message = "key is Disabled with automatic rotation off: enabling it is the key owner's decision"
    return compliance, reason, message


def kms4_desired(max_rotation_period_days=None, state="enabled", max_key_material_age_days=None,
                 on_demand_rotations_reserve=None):
    """The rotation KMS.4 asks for, optionally with a longest period allowed (a ceiling) and a cryptoperiod."""
    return desired_rotation(state, max_rotation_period_days, "maximum", "keep", max_key_material_age_days,
                            on_demand_rotations_reserve)


def finish_command(key_arn, region, steps_left):
    """The AWS CLI commands that finish what a failed plan left undone."""
    commands = []
    for operation, params in steps_left:
        if operation == ENABLE_KEY:
            commands.append("aws kms enable-key --key-id %s --region %s" % (key_arn, region))
        elif operation == ENABLE_KEY_ROTATION:
            period = params.get("period") or params.get("keep_current_up_to")
            commands.append("aws kms enable-key-rotation --key-id %s --region %s%s" % (
                key_arn, region, " --rotation-period-in-days %d" % period if period else ""))
        elif operation == DISABLE_KEY_ROTATION:
            commands.append("aws kms disable-key-rotation --key-id %s --region %s" % (key_arn, region))
        elif operation == CANCEL_KEY_DELETION:
            commands.append("aws kms cancel-key-deletion --key-id %s --region %s" % (key_arn, region))
        elif operation == ROTATE_KEY_ON_DEMAND:
            commands.append("aws kms rotate-key-on-demand --key-id %s --region %s" % (key_arn, region))
    return commands


def has_rotation_history(metadata):
    """Whether ListKeyRotations can tell anything of this key: a customer managed symmetric key with material of
    KMS or imported, not pending deletion; a replica's history is its primary's."""
    if metadata.get("KeyManager") == "AWS" or metadata.get("KeyState") not in ("Enabled", "Disabled"):
        return False
    if metadata.get("Origin") not in ("AWS_KMS", "EXTERNAL") or metadata.get("CustomKeyStoreId"):
        return False
    spec = key_spec(metadata)
    return not spec.startswith(ASYMMETRIC_SPEC_PREFIXES + (HMAC_SPEC_PREFIX,)) and multi_region_type(
        metadata) != "REPLICA"
