# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Which keys the rotation role's KMS.3 and KMS.4 phases handle, decided from this run's discovery alone.

Plain data in, plain data out. Verdicts come from module_utils/_rules/rotation; this only reads them.

This is a private module: its interface may change without notice.
"""

from __future__ import annotations

from ansible_collections.keyguard.kms.plugins.module_utils._rules import findings as findings_rules
from ansible_collections.keyguard.kms.plugins.module_utils._rules import material
from ansible_collections.keyguard.kms.plugins.module_utils._rules import plans
from ansible_collections.keyguard.kms.plugins.module_utils._rules import rotation
from ansible_collections.keyguard.kms.plugins.module_utils._rules import selection
from ansible_collections.keyguard.kms.plugins.plugin_utils._report.model import KMS3


def exemption_for(key, exempt_keys, exempt_tags):
    """Why ``key`` is exempt, or None; ``exempt_keys`` and ``exempt_tags`` as _settings normalizes them."""
    return (_exemption_and_source(key, exempt_keys, exempt_tags, {}) or (None, None))[0]


def _exemption_and_source(key, exempt_keys, exempt_tags, suppressed):
    """(reason, source) when ``key`` is exempt, else None; ``suppressed``: {key ARN: a person's suppressed KMS.3 finding}."""
    names = selection.key_names(key)
    for entry in exempt_keys or []:
        if entry["key"] in names:
            return entry["reason"], "rotation_exempt_keys"
    tag = selection.matching_tag(key.get("tags") or {}, exempt_tags or {})
    if tag:
        return "tagged %s=%s" % tag, "rotation_exempt_tags"
    finding = suppressed.get(key["key_arn"])
    if finding:
        why = ': "%s"' % finding["note"] if finding.get("note") else " (without a note)"
        return "its KMS.3 finding was suppressed in Security Hub%s" % why, "securityhub"
    return None


def _by_alias(exempt_keys):
    return [entry for entry in exempt_keys or [] if entry["key"].startswith("alias/") or ":alias/" in entry["key"]]


def plan_phases(kms_keys, settings, regions_without_aliases=(), findings=None, findings_blind=()):
    """Which keys KMS.3 and KMS.4 handle, and which are exempt.

    ``kms_keys`` is kms_rotation_info's, judged against the role's rotation.
    In ``regions_without_aliases`` an exemption
    by alias cannot be checked, so no key there is rescued when there is one.
    ``findings`` are kms_findings_info's records (None: not read); with the scope
    ``findings`` only keys that have an open one are handled. A KMS.3 finding a person
    suppressed exempts its key. In ``findings_blind`` (Regions whose findings could not
    be read) no key pending deletion is rescued, as a person may have suppressed its finding.
    Returns key ARN lists ``rescue`` (KMS.3) and ``enforce`` (KMS.4), ``exempt``
    entries with their reason, ``not_rescued`` (keys pending deletion left so, and why)
    and ``out_of_scope`` (keys left alone for want of a finding).
    """
    cancel = settings["pending_deletion"] == "cancel"
    unchecked_exemptions = set(regions_without_aliases) if _by_alias(settings.get("exempt_keys")) else set()
    with_finding = set(finding["key_arn"] for finding in findings or []
                       if finding["workflow_status"] in findings_rules.OPEN_WORKFLOW_STATUSES)
    suppressed = {}
    for finding in findings or []:
        if finding["control_id"] == KMS3 and findings_rules.suppressed_by_a_person(finding):
            suppressed.setdefault(finding["key_arn"], finding)
    by_findings = settings.get("scope") == "findings"
    rescue, enforce, exempt, not_rescued, out_of_scope = [], [], [], [], []
    for key in kms_keys:
        if key["compliance"] in (rotation.ERROR, rotation.NOT_APPLICABLE):
            continue
        exemption = _exemption_and_source(key, settings.get("exempt_keys"), settings.get("exempt_tags"), suppressed)
        if exemption:
            exempt.append({"key_id": key["key_id"], "key_arn": key["key_arn"], "region": key["region"],
                           "key_state": key["key_state"], "reason": exemption[0], "source": exemption[1]})
            continue
        if by_findings and key["key_arn"] not in with_finding:
            out_of_scope.append(key["key_arn"])
            continue
        if key["key_state"] == "PendingDeletion":
            if cancel and key["region"] in unchecked_exemptions:
                not_rescued.append({"key_arn": key["key_arn"], "region": key["region"], "reason": (
                    "not rescued: the aliases of Region %s could not be listed, so exemptions by alias cannot be "
                    "checked" % key["region"])})
            elif cancel and key["region"] in findings_blind:
                not_rescued.append({"key_arn": key["key_arn"], "region": key["region"], "reason": (
                    "not rescued: the Security Hub findings of Region %s could not be read, so a person's decision "
                    "there (a suppressed KMS.3 finding) cannot be checked" % key["region"])})
            elif cancel:
                rescue.append(key["key_arn"])
        elif key["reason"] in rotation.ROTATION_CHANGE_REASONS or key["reason"] == material.KEY_MATERIAL_TOO_OLD:
            enforce.append(key["key_arn"])
    return {"rescue": rescue, "enforce": enforce, "exempt": exempt, "not_rescued": not_rescued, "out_of_scope": out_of_scope}


def apply_approved_plan(phases, kms_keys, plan):
    """The phases narrowed to an approved plan: only its keys, each only while the state it was planned from holds.

    Returns the phases with ``rescue`` and ``enforce`` narrowed, ``approved_rescue`` / ``approved_enforce``
    ({key ARN: plan entry}, for kms_rotation to check again right before it writes), ``plan_stale`` and
    ``not_in_plan`` (each key with its reason and why), and ``plan_error`` when the plan is of another account.
    """
    records = dict((key["key_arn"], key) for key in kms_keys)
    approved = plans.approved_keys(plan)
    accounts = set(key.get("account_id") for key in kms_keys if key.get("account_id"))
    planned_account = (plan.get("run") or {}).get("account_id")
    narrowed = dict(phases, rescue=[], enforce=[], approved_rescue={}, approved_enforce={}, plan_stale=[],
                    not_in_plan=[], plan_error=None)
    if planned_account and accounts and accounts != {planned_account}:
        narrowed["plan_error"] = ("the approved plan is of account %s, and this target's keys are of account %s: "
                                  "nothing was changed" % (planned_account, ", ".join(sorted(accounts))))
        return narrowed
    for phase, names in (("rescue", "KMS.3"), ("enforce", "KMS.4")):
        for arn in phases[phase]:
            record = records[arn]
            entry = approved.get(arn)
            if entry is None:
                narrowed["not_in_plan"].append(_left(record, plans.NOT_IN_PLAN, "not in the approved plan: %s" % (
                    record["message"])))
                continue
            changed = plans.changes(entry, record.get("plan_state") or {}, record.get("remediation_steps") or [])
            if changed or entry.get("phase") != names:
                narrowed["plan_stale"].append(_left(record, plans.PLAN_STALE, "changed since the plan was approved: "
                                                    "%s; make a new plan" % "; ".join(changed or ["its phase"])))
                continue
            narrowed[phase].append(arn)
            narrowed["approved_" + phase][arn] = entry
    handled = set(phases["rescue"]) | set(phases["enforce"])
    for arn, entry in approved.items():
        if arn in handled:
            continue
        record = records.get(arn)
        if record is None:
            why = "it was not found by this run's discovery"
        else:
            changed = plans.changes(entry, record.get("plan_state") or {}, record.get("remediation_steps") or [])
            why = "it changed since the plan was approved (%s) and now needs %s" % (
                "; ".join(changed) or "its exemption or scope", "nothing from this run" if not record.get(
                    "remediation_steps") else "other steps: make a new plan")
        narrowed["plan_stale"].append({"key_arn": arn, "key_id": entry.get("key_id"), "region": entry.get("region"),
                                       "reason": plans.PLAN_STALE, "message": "in the approved plan, but %s: "
                                       "nothing was done" % why})
    return narrowed


def _left(record, reason, message):
    return {"key_arn": record["key_arn"], "key_id": record["key_id"], "region": record["region"], "reason": reason,
            "message": message}


def keys_to_verify(*phase_results):
    """ARNs of the keys a phase changed, failed on or found changed by someone else: the only ones read again."""
    arns = []
    for results in phase_results:
        for result in results or []:
            if (result.get("actions") or result.get("compliance") == rotation.ERROR
                    or result.get("other_actor")) and result.get("key_arn"):
                if result["key_arn"] not in arns:
                    arns.append(result["key_arn"])
    return arns


def phase_outcome(registered):
    """(per-key results, error) of a registered kms_rotation task; a task that never ran has neither."""
    registered = registered or {}
    if registered.get("skipped") or not registered:
        return [], None
    results = registered.get("results")
    if results is None and "key_arn" in registered:
        results = [registered]
    if results is None and registered.get("failed"):
        return [], registered.get("msg") or "the task failed without per-key results"
    return results or [], None
