# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Pure rules for a key's cryptoperiod: how old its current key material is, and whether KMS may replace it now.

KMS.4 asks only that automatic rotation be on. A cryptoperiod (PCI DSS 3.6.4, NIST SP 800-57) asks that the
material in use be no older than a limit; RotateKeyOnDemand replaces it at once, within rules KMS enforces
(see the collection's KMS facts): 25 on-demand rotations per key, ever; none while an automatic rotation runs
or is due within 20 minutes; imported material only to new material its owner has already imported; for a
multi-Region key only on its primary, and never with imported material.

This is a private module: its interface may change without notice.
"""

from __future__ import annotations

import datetime

# Reason codes of the cryptoperiod.
KEY_MATERIAL_TOO_OLD = "KEY_MATERIAL_TOO_OLD"
IMPORTED_MATERIAL_TOO_OLD = "IMPORTED_MATERIAL_TOO_OLD"
ON_DEMAND_ROTATIONS_RESERVED = "ON_DEMAND_ROTATIONS_RESERVED"
ON_DEMAND_ROTATIONS_EXHAUSTED = "ON_DEMAND_ROTATIONS_EXHAUSTED"
ON_DEMAND_ROTATION_IN_PROGRESS = "ON_DEMAND_ROTATION_IN_PROGRESS"
KEY_MATERIAL_ROTATION_DEFERRED = "KEY_MATERIAL_ROTATION_DEFERRED"
# Left to the key's owner: new imported material, or the decision to spend a key's last on-demand rotations.
OWNER_REASONS = (IMPORTED_MATERIAL_TOO_OLD, ON_DEMAND_ROTATIONS_RESERVED, ON_DEMAND_ROTATIONS_EXHAUSTED)
# New material is on its way: the next run finds the key young.
WAITING_REASONS = (ON_DEMAND_ROTATION_IN_PROGRESS, KEY_MATERIAL_ROTATION_DEFERRED)
MATERIAL_REASONS = (KEY_MATERIAL_TOO_OLD,) + OWNER_REASONS + WAITING_REASONS

ROTATE_KEY_ON_DEMAND = "RotateKeyOnDemand"
ON_DEMAND_ROTATION_LIMIT = 25  # per key, ever; not adjustable (KMS developer guide, resource quotas)
DEFAULT_ON_DEMAND_RESERVE = 3
CONFLICT_WINDOW = datetime.timedelta(minutes=20)  # ConflictException this close to an automatic rotation
# What RotateKeyOnDemand's refusals mean for the key: not a failure of the run.
DEFERRING_ERRORS = {"ConflictException": KEY_MATERIAL_ROTATION_DEFERRED,
                    "LimitExceededException": ON_DEMAND_ROTATIONS_EXHAUSTED}

# Where a key's material age shows in results and reports.
MATERIAL_FIELDS = ("key_material_age_days", "last_rotation_date", "last_rotation_type", "on_demand_rotations_used",
                   "on_demand_rotations_left", "pending_key_material")


def history_read(rotations, pending=False):
    """A key's rotation history as the rules take it: ListKeyRotations' completed rotations, and whether new
    imported material waits (a PENDING_ROTATION entry)."""
    return {"rotations": list(rotations or []), "pending_key_material": None if pending is None else bool(pending)}


def split_listing(entries):
    """(completed rotations, new material pending) from ListKeyRotations entries of either IncludeKeyMaterial."""
    completed = [entry for entry in entries if entry.get("RotationDate") is not None]
    pending = any(entry.get("KeyMaterialState") == "PENDING_ROTATION" for entry in entries)
    return completed, pending


def material_view(created, history, now):
    """How old a key's current material is, and what its on-demand budget is.

    ``created`` and ``now`` are aware datetimes (``created`` may be None), ``history`` from history_read() or
    None when it was not read. The current material is the last rotation's, of any type, else the creation's.
    """
    if history is None:
        return dict((field, None) for field in MATERIAL_FIELDS)
    rotations = history["rotations"]
    last = max(rotations, key=lambda item: item["RotationDate"], default=None)
    since = last["RotationDate"] if last else created
    used = sum(1 for item in rotations if item.get("RotationType") == "ON_DEMAND")
    return {
        "key_material_age_days": (now - since).days if since is not None else None,
        "last_rotation_date": last["RotationDate"] if last else None,
        "last_rotation_type": last.get("RotationType") if last else None,
        "on_demand_rotations_used": used,
        "on_demand_rotations_left": max(0, ON_DEMAND_ROTATION_LIMIT - used),
        "pending_key_material": history["pending_key_material"],
    }


def renewed_view(view, now=None):
    """The material view after a successful RotateKeyOnDemand."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    return dict(view, key_material_age_days=0, last_rotation_date=now, last_rotation_type="ON_DEMAND",
                pending_key_material=False,
                on_demand_rotations_used=view["on_demand_rotations_used"] + 1,
                on_demand_rotations_left=max(0, view["on_demand_rotations_left"] - 1))


def since_text(view):
    when = view.get("last_rotation_date")
    if when is None:
        return "never rotated: its material dates from the key's creation"
    day = when.date().isoformat() if isinstance(when, datetime.datetime) else str(when)[:10]
    return "last replaced on %s by an %s rotation" % (day, (view.get("last_rotation_type") or "unknown").lower()
                                                      .replace("on_demand", "on-demand"))


def _aware(value):
    if isinstance(value, (int, float)):
        return datetime.datetime.fromtimestamp(value, datetime.timezone.utc)
    if isinstance(value, datetime.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=datetime.timezone.utc)
    return value


def judge(metadata, status, view, limit_days, reserve, now):
    """What the cryptoperiod asks of one key whose rotation KMS.4 accepts or will set.

    Returns None when there is no limit, the material is young enough or its age is unknown; else a dict
    with ``reason``, ``message``, ``age`` (the sentence on the material's age alone) and ``rotate`` (whether
    RotateKeyOnDemand is the step to take now).
    ``status`` is GetKeyRotationStatus's output (None when not read).
    """
    age = view.get("key_material_age_days") if view else None
    if not limit_days or age is None or age <= limit_days:
        return None
    told = "key material is %d days old, older than the %d days allowed (%s)" % (age, limit_days, since_text(view))

    def hold(reason, why):
        return {"reason": reason, "message": "%s; %s" % (told, why), "rotate": False, "age": told}

    started = _aware((status or {}).get("OnDemandRotationStartDate"))
    if started is not None:
        return hold(ON_DEMAND_ROTATION_IN_PROGRESS, "an on-demand rotation started at %s is still running, so none "
                    "is started again: run again once it has finished" % started.isoformat())
    due = _aware((status or {}).get("NextRotationDate"))
    if due is not None and due - now <= CONFLICT_WINDOW:
        return hold(KEY_MATERIAL_ROTATION_DEFERRED, "its automatic rotation is due at %s, within 20 minutes, when KMS "
                    "refuses an on-demand one: deferred to the next run, by which the key has new material anyway"
                    % due.isoformat())
    if metadata.get("Origin") == "EXTERNAL":
        if metadata.get("MultiRegion"):
            return hold(IMPORTED_MATERIAL_TOO_OLD, "KMS cannot rotate a multi-Region key with imported material on "
                        "demand: its owner must move the data to a new key")
        if view.get("pending_key_material") is None:
            return hold(IMPORTED_MATERIAL_TOO_OLD, "this botocore cannot tell whether its owner imported new material "
                        "(its ListKeyRotations has no IncludeKeyMaterial): upgrade boto3 and botocore, then run again")
        if not view.get("pending_key_material"):
            return hold(IMPORTED_MATERIAL_TOO_OLD, "its material is imported, which only its owner has: import new "
                        "material (ImportKeyMaterial with ImportType=NEW_KEY_MATERIAL), then run again to rotate to it")
    left = view["on_demand_rotations_left"]
    if left <= 0:
        return hold(ON_DEMAND_ROTATIONS_EXHAUSTED, "all %d on-demand rotations KMS allows a key are spent, so only its "
                    "automatic rotation can replace its material: shorten its rotation period, or move the data to a "
                    "new key" % ON_DEMAND_ROTATION_LIMIT)
    if left <= reserve:
        return hold(ON_DEMAND_ROTATIONS_RESERVED, "only %d of the %d on-demand rotations KMS allows a key are left, "
                    "and the last %d are kept in reserve (on_demand_rotations_reserve): its owner can rotate it with "
                    "aws kms rotate-key-on-demand, or lower the reserve" % (left, ON_DEMAND_ROTATION_LIMIT, reserve))
    return {"reason": KEY_MATERIAL_TOO_OLD, "rotate": True, "age": told,
            "message": "%s: rotated on demand (%d of %d on-demand rotations left after it)" % (
                told, left - 1, ON_DEMAND_ROTATION_LIMIT)}


def refusal_reason(error_code):
    """The reason a RotateKeyOnDemand refusal gives the key, or None when the refusal is an error."""
    return DEFERRING_ERRORS.get(error_code)


def refusal_message(error_code, key_id, region, aws_message):
    if error_code == "ConflictException":
        return ("key %s in %s: RotateKeyOnDemand deferred to the next run: KMS answered that an automatic rotation is "
                "in progress or due within 20 minutes (%s), which gives the key new material anyway" % (
                    key_id, region, aws_message))
    return ("key %s in %s: RotateKeyOnDemand refused: the key has no on-demand rotations left (%s); only its automatic "
            "rotation can replace its material now" % (key_id, region, aws_message))


def limit_errors(limit_days, reserve):
    """Why max_key_material_age_days and on_demand_rotations_reserve are refused: a list, empty when they are not."""
    errors = []
    if limit_days is not None and (isinstance(limit_days, bool) or not isinstance(limit_days, int) or limit_days < 1):
        errors.append("max_key_material_age_days must be a number of days above 0, got %s" % limit_days)
    if reserve is not None and (isinstance(reserve, bool) or not isinstance(reserve, int)
                                or not 0 <= reserve < ON_DEMAND_ROTATION_LIMIT):
        errors.append("on_demand_rotations_reserve must be between 0 and %d, got %s" % (
            ON_DEMAND_ROTATION_LIMIT - 1, reserve))
    return errors


def serializable(view):
    """A material view as a module returns it: dates as ISO 8601 strings."""
    return dict((field, value.isoformat() if isinstance(value, datetime.datetime) else value)
                for field, value in view.items())
