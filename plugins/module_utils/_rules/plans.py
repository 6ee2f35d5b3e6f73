# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Approved plans: what a report planned for each key, from which state, and whether a run may still apply it.

A plan is written by a report, approved by a person, then applied by a remediation that changes a key only
when the key is still in the state the plan recorded and the steps it would take now are the approved ones.
Pure data in and out: no AWS call, no file.

This is a private module: its interface may change without notice.
"""

from __future__ import annotations

import copy
import datetime
import hashlib
import json

from ansible_collections.keyguard.kms.plugins.module_utils._rules.material import ROTATE_KEY_ON_DEMAND

PLAN_STALE = "PLAN_STALE"
NOT_IN_PLAN = "NOT_IN_PLAN"
PLAN_REASONS = (PLAN_STALE, NOT_IN_PLAN)
PLAN_KIND = "keyguard.kms/plan"
MAX_AGE_LIMIT_HOURS = 168  # a week: an approval older than that approved a different account
PLAN_SCHEMA_VERSION = 1
DEFAULT_MAX_AGE_HOURS = 24
# The settings a plan's steps follow from: a run with other values would plan other steps.
PLANNED_SETTINGS = ("state", "rotation_period_days", "pending_deletion", "max_key_material_age_days",
                    "on_demand_rotations_reserve")


def _iso(value):
    return value.isoformat() if isinstance(value, datetime.datetime) else value


def plan_state(metadata, status, material=None, steps=()):
    """What a key's planned ``steps`` depend on, as plain values: compared field by field before any step runs.

    The material's fields are part of it only when the steps rotate the material: an automatic rotation in
    between would otherwise make a plan that only sets a period stale for nothing.
    """
    status = status or {}
    state = {
        "key_state": metadata.get("KeyState"),
        "deletion_date": _iso(metadata.get("DeletionDate")),
        "rotation_enabled": bool(status.get("KeyRotationEnabled")) if status else None,
        "rotation_period_days": status.get("RotationPeriodInDays") if status.get("KeyRotationEnabled") else None,
    }
    if any(step.get("operation") == ROTATE_KEY_ON_DEMAND for step in steps):
        material = material or {}
        state.update(last_rotation_date=_iso(material.get("last_rotation_date")),
                     on_demand_rotations_left=material.get("on_demand_rotations_left"),
                     pending_key_material=material.get("pending_key_material"))
    return state


def steps_of(planned):
    """A plan's steps (rules.rotation.plan) as a plan file records them."""
    steps = []
    for operation, params in planned["steps"]:
        step = {"operation": operation}
        if "period" in params:
            step["rotation_period_days"] = params["period"]
        if "keep_current_up_to" in params:
            step["keep_current_up_to"] = params["keep_current_up_to"]
        steps.append(step)
    return steps


def changes(approved, state_now, steps_now):
    """What differs between an approved key entry and the key now: a list of sentences, empty when it may run."""
    found = []
    planned_from = approved.get("planned_from") or {}
    # Every field of either side: a field the plan left out is a change too.
    for field in sorted(set(planned_from) | set(state_now)):
        planned, now = planned_from.get(field), state_now.get(field)
        if now != planned:
            found.append("%s was %s when planned, is %s now" % (field, _text(planned), _text(now)))
    if not found and steps_now != approved.get("steps"):
        found.append("the steps would now be %s, the plan approved %s" % (
            _step_names(steps_now), _step_names(approved.get("steps") or [])))
    return found


def _text(value):
    return "null" if value is None else json.dumps(value) if isinstance(value, (bool, dict, list)) else str(value)


def _step_names(steps):
    return ", ".join(step["operation"] for step in steps) or "none"


def digest(plan):
    """sha256 of the plan without its digest, in canonical JSON: any edit after writing changes it."""
    body = dict((key, value) for key, value in plan.items() if key != "digest")
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def sealed(plan):
    """The plan with its digest."""
    plan = copy.deepcopy(plan)
    plan["digest"] = digest(plan)
    return plan


def shape_errors(plan):
    """What makes ``plan`` not a plan at all (wrong types, missing parts): a list, empty when its shape is right."""
    if not isinstance(plan, dict) or plan.get("kind") != PLAN_KIND:
        return ["is not a keyguard.kms plan (kind %s): give the <host>.plan.json a report wrote" % PLAN_KIND]
    if plan.get("schema_version") != PLAN_SCHEMA_VERSION:
        return ["has schema_version %s; this collection applies plans of schema_version %d: make a new plan" % (
            _text(plan.get("schema_version")), PLAN_SCHEMA_VERSION)]
    errors = []
    for part, kind in (("run", dict), ("settings", dict), ("keys", list), ("digest", str)):
        if not isinstance(plan.get(part), kind):
            errors.append("has no valid %s (a %s)" % (part, kind.__name__))
    for number, entry in enumerate(plan.get("keys") if isinstance(plan.get("keys"), list) else [], 1):
        if not (isinstance(entry, dict) and isinstance(entry.get("key_arn"), str)
                and isinstance(entry.get("planned_from"), dict) and isinstance(entry.get("steps"), list)
                and all(isinstance(step, dict) and isinstance(step.get("operation"), str) for step in entry["steps"])):
            errors.append("key %d is not a key ARN with its planned_from state and a list of steps" % number)
            break
    return errors


def plan_errors(plan, target, settings, now, max_age_hours, account_id=None, approved_digest=None):
    """Why ``plan`` may not be applied by this run of ``target``: a list, empty when it may.

    ``settings`` are this run's, ``now`` an aware datetime, ``account_id`` the target's account when known,
    ``approved_digest`` the digest the approver was shown (from the report job's artifacts) when known.
    """
    errors = shape_errors(plan)
    if errors:
        return errors
    if plan["digest"] != digest(plan):
        errors.append("was changed after it was written (its digest does not match): approve a plan as written, "
                      "or make a new one with keyguard.kms.report")
    if approved_digest is not None and plan["digest"] != approved_digest:
        errors.append("is not the plan that was approved (digest %s, the approved one is %s): apply the approved plan, "
                      "or approve this one" % (plan["digest"], approved_digest))
    run = plan["run"]
    if run.get("target") != target:
        errors.append("is the plan of %s, not of %s" % (run.get("target"), target))
    if account_id and run.get("account_id") and run["account_id"] != account_id:
        errors.append("is the plan of account %s, and this target is account %s" % (run["account_id"], account_id))
    try:
        made = datetime.datetime.strptime(str(run.get("started") or ""), "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=datetime.timezone.utc)
        age = (now - made).total_seconds() / 3600.0
        if age > max_age_hours:
            errors.append("was made %.1f hours ago, more than rotation_approved_plan_max_age_hours (%s): make a new "
                          "plan, or raise the limit" % (age, max_age_hours))
        elif age < -0.1:
            errors.append("was made in the future (%s): check the clocks" % run.get("started"))
    except ValueError:
        errors.append("has no valid run.started time")
    planned = plan["settings"]
    for name in PLANNED_SETTINGS:
        if planned.get(name) != settings.get(name):
            errors.append("was made with %s=%s and this run has %s: run with the plan's settings, or make a new plan"
                          % (name, _text(planned.get(name)), _text(settings.get(name))))
    return errors


def approved_entries_errors(approved):
    """Why kms_rotation's approved_plan option is refused ({key ARN: entry}), or an empty list."""
    if not isinstance(approved, dict):
        return ["approved_plan must be a dict of key ARNs to plan entries"]
    shaped = shape_errors({"kind": PLAN_KIND, "schema_version": PLAN_SCHEMA_VERSION, "run": {}, "settings": {},
                           "digest": "", "keys": [dict(entry, key_arn=arn) if isinstance(entry, dict) else entry
                                                  for arn, entry in approved.items()]})
    return ["approved_plan: %s" % error for error in shaped]


def approved_keys(plan):
    """{key ARN: entry} of a plan's keys."""
    return dict((entry["key_arn"], entry) for entry in plan.get("keys") or [] if isinstance(entry, dict)
                and entry.get("key_arn"))
