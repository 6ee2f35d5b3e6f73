# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The run report of one target: every key with its verdict before and after, and why the run fails.

Built from the registered results of the role's tasks, any of which may not have run.

This is a private module: its interface may change without notice.
"""

from __future__ import annotations

from ansible_collections.keyguard.kms.plugins.module_utils._rules import findings as findings_rules
from ansible_collections.keyguard.kms.plugins.module_utils._rules import material
from ansible_collections.keyguard.kms.plugins.module_utils._rules import plans
from ansible_collections.keyguard.kms.plugins.module_utils._rules import rotation
from ansible_collections.keyguard.kms.plugins.plugin_utils._report import model
from ansible_collections.keyguard.kms.plugins.plugin_utils._report.finding_updates import findings_outcome
from ansible_collections.keyguard.kms.plugins.plugin_utils._report.finding_updates import findings_section
from ansible_collections.keyguard.kms.plugins.plugin_utils._report.finding_updates import record_finding_outcomes
from ansible_collections.keyguard.kms.plugins.plugin_utils._report.finding_updates import unmatched_findings
from ansible_collections.keyguard.kms.plugins.plugin_utils._role.phases import phase_outcome


# What an auditor asks of each key, as discovery read it.
EVIDENCE_FIELDS = ("creation_date", "next_rotation_date", "last_rotation_date", "last_rotation_type",
                   "key_material_age_days", "on_demand_rotations_left")


def _by_arn(per_key_results):
    """kms_rotation per-key results keyed by key ARN (the input when the key could not be read)."""
    return dict((entry.get("key_arn") or entry["input"], entry) for entry in per_key_results or [])


def _verdict(source):
    return dict((field, source.get(field)) for field in rotation.VERDICT_FIELDS)


def build_report(discovery, rescue_results=None, enforce_results=None, verification=None, exemptions=None,
                 metadata=None, run_errors=(), findings=None, left_by_plan=None):
    """The full run report: every key with its verdict before and after and the actions taken or planned.

    ``discovery`` and ``verification`` are kms_rotation_info's kms_keys (verification
    holds only the keys read back); the two results are flat lists of
    kms_rotation's per-key results. ``run_errors`` are messages about the run
    itself (a Region or a phase that failed as a whole). ``left_by_plan``: {key ARN: entry with reason and
    message} of keys an approved plan left alone (PLAN_STALE, NOT_IN_PLAN).
    """
    metadata = dict(metadata or {})
    check_mode = bool(metadata.get("check_mode"))
    exempt_by_arn = dict((entry["key_arn"], entry) for entry in exemptions or [])
    handled = _by_arn(rescue_results)
    phase_of = dict((arn, model.KMS3) for arn in handled)
    enforced = _by_arn(enforce_results)
    phase_of.update((arn, model.KMS4) for arn in enforced)
    handled.update(enforced)
    verified = dict((key["key_arn"], key) for key in verification or [])
    findings_of = {}
    for finding in findings or []:
        if finding["workflow_status"] in findings_rules.OPEN_WORKFLOW_STATUSES:
            findings_of.setdefault(finding["key_arn"], []).append(finding["finding_id"])

    keys = []
    for key in discovery:
        arn = key["key_arn"]
        before = _verdict(key)
        exemption = exempt_by_arn.get(arn)
        if exemption:
            before["compliance"] = model.EXEMPT
        result = handled.get(arn)
        left = (left_by_plan or {}).get(arn)
        if result is not None and result["reason"] in plans.PLAN_REASONS:
            left, result = {"reason": result["reason"], "message": result["message"]}, None
        error = None
        if result and result["compliance"] == rotation.ERROR:
            error = result["message"]
        elif key["compliance"] == rotation.ERROR:
            error = key["message"]
        after, after_source = _after(before, result, verified.get(arn), check_mode, exemption)
        if left is not None and not exemption:
            after, after_source = dict(before, reason=left["reason"]), "plan"
        keys.append({
            "key_id": key["key_id"],
            "key_arn": arn,
            "region": key["region"],
            "aliases": key.get("aliases") or [],
            "exempt": bool(exemption),
            "exemption_reason": exemption["reason"] if exemption else None,
            "before": before,
            "actions": list(result["actions"]) if result else [],
            "phase": phase_of.get(arn),
            "after": after,
            "after_source": after_source,
            "message": (left or result or key).get("message"),
            "error": error,
            "findings": findings_of.get(arn, []),
            # After a change, the read-back is the evidence: it shows the new material.
            "evidence": dict((field, (verified.get(arn) if arn in verified and not check_mode else key).get(field))
                             for field in EVIDENCE_FIELDS),
            "finish_command": (result or {}).get("finish_command"),
            "other_actor": bool((result or {}).get("other_actor")),
        })
    keys.sort(key=lambda entry: (entry["region"], entry["key_id"]))
    errors = [{"key_arn": entry["key_arn"] or entry["key_id"], "region": entry["region"], "message": entry["error"]}
              for entry in keys if entry["error"]]
    errors += [{"key_arn": None, "region": None, "message": message} for message in run_errors]
    report = {
        "schema_version": model.REPORT_SCHEMA_VERSION,
        "run": metadata,
        "summary": summarize_report(keys, len(run_errors)),
        "keys": keys,
        "exemptions": list(exemptions or []),
        "errors": errors,
        "findings": [],
    }
    report["summary"]["unverified"] = len(unverified(report))
    return report


def _after(before, result, verified, check_mode, exemption):
    """The verdict after the run, and where it comes from.

    A key whose change failed stays ERROR after the run, whatever state it is in
    now: the failure is what needs looking at.
    """
    if exemption:
        return dict(before), "exempt"
    failed = result is not None and result["compliance"] == rotation.ERROR
    if verified is not None and not check_mode:
        after, source = _verdict(verified), "verified"
        if (result is not None and result["reason"] in model.WAITING_REASONS
                and after["reason"] == material.KEY_MATERIAL_TOO_OLD):
            # KMS told this run it is rotating the key (ConflictException), which a read cannot see yet.
            after.update(compliance=result["compliance"], reason=result["reason"])
        elif (result is not None and material.ROTATE_KEY_ON_DEMAND in result["actions"]
              and after["reason"] == material.KEY_MATERIAL_TOO_OLD):
            # RotateKeyOnDemand only starts a rotation: a read right after can still see the old material.
            after.update(reason=material.ON_DEMAND_ROTATION_IN_PROGRESS)
    elif result is None:
        return dict(before), "unchanged"
    else:
        after, source = _verdict(result), "predicted" if check_mode else "reported"
        if not failed and not result.get("other_actor"):
            if result["actions"] or result["compliance"] == rotation.COMPLIANT:
                after.update(compliance=rotation.COMPLIANT, reason=None)
            else:
                after.update(compliance=before["compliance"], reason=before["reason"])
    if failed:
        after.update(compliance=rotation.ERROR, reason=result["reason"])
    return after, source


def summarize_report(keys, run_errors=0):
    def counts(side):
        tally = dict((value, 0) for value in model.REPORT_COMPLIANCE_VALUES)
        for entry in keys:
            tally[entry[side]["compliance"]] = tally.get(entry[side]["compliance"], 0) + 1
        return tally

    actions = {}
    for entry in keys:
        for action in entry["actions"]:
            actions[action] = actions.get(action, 0) + 1
    after = counts("after")
    errors = sum(1 for entry in keys if entry["error"]) + run_errors
    return {
        "total": len(keys),
        "before": counts("before"),
        "after": after,
        "keys_changed": sum(1 for entry in keys if entry["actions"]),
        "actions": actions,
        "exempt": sum(1 for entry in keys if entry["exempt"]),
        "errors": errors,
        "compliant": after[rotation.NON_COMPLIANT] == 0 and after[rotation.ERROR] == 0 and errors == 0,
    }


def unverified(report):
    """In-scope keys a real remediation run left not as wanted (not exempt, not waiting for their owner)."""
    run = report["run"]
    if run.get("check_mode") or run.get("mode") == "report":
        return []
    by_findings = (run.get("settings") or {}).get("scope") == "findings"
    left_to_owner = model.owner_reasons(run.get("settings")) + model.WAITING_REASONS + plans.PLAN_REASONS
    # A key KMS.3 rescued is judged against the cryptoperiod on the next run, as the role documents.
    next_run = material.MATERIAL_REASONS
    return [entry for entry in report["keys"]
            if entry["after"]["compliance"] == rotation.NON_COMPLIANT and entry["after"]["reason"] not in left_to_owner
            and not (entry["phase"] == model.KMS3 and entry["after"]["reason"] in next_run)
            and not (by_findings and not entry["findings"])]


def _key_label(entry):
    return entry["key_arn"] or entry["key_id"]


def failure_message(report, fail_on_noncompliant, report_path=None):
    """Why the host fails, in words that fit the kind of run, or None when it passes."""
    run = report["run"]
    summary = report["summary"]
    target = run.get("target")
    reporting = run.get("check_mode") or run.get("mode") == "report"
    parts = []
    if report["errors"]:
        parts.append("%d error(s): %s" % (len(report["errors"]), "; ".join(
            error["message"] for error in report["errors"][:10])))
    left = unverified(report)
    if left:
        parts.append("%d in-scope key(s) still not as wanted after remediation: %s" % (
            len(left), ", ".join(_key_label(entry) for entry in left[:20])))
    noncompliant = [entry for entry in report["keys"] if entry["before"]["compliance"] == rotation.NON_COMPLIANT]
    if reporting and fail_on_noncompliant and noncompliant:
        by_reason = {}
        for entry in noncompliant:
            by_reason[entry["before"]["reason"]] = by_reason.get(entry["before"]["reason"], 0) + 1
        parts.append("compliance report: %d of %d keys are not compliant (%s): %s%s" % (
            len(noncompliant), summary["total"],
            ", ".join("%s %d" % item for item in sorted(by_reason.items())),
            ", ".join(_key_label(entry) for entry in noncompliant[:20]),
            " and %d more" % (len(noncompliant) - 20) if len(noncompliant) > 20 else ""))
    if not parts:
        return None
    where = " See %s." % report_path if report_path else ""
    return "%s: %s.%s" % (target, " ".join(part.rstrip(".") + "." for part in parts).rstrip("."), where)


def run_metadata(settings, kms_keys, finished, warnings):
    accounts = [key.get("account_id") for key in kms_keys if key.get("account_id")]
    return {
        "target": settings["target"],
        "account_id": accounts[0] if accounts else None,
        "account_name": settings.get("account_name"),
        "ou_path": settings.get("ou_path"),
        "regions": settings["regions"],
        "check_mode": bool(settings["check_mode"]),
        "mode": settings["mode"],
        "started": settings["started"],
        "finished": finished.strftime("%Y-%m-%dT%H:%M:%SZ") if hasattr(finished, "strftime") else finished,
        "awx_job_id": settings.get("awx_job_id"),
        "settings": {
            "state": settings["state"],
            "rotation_period_days": settings["rotation_period_days"],
            "pending_deletion": settings["pending_deletion"],
            "exempt_keys": settings["exempt_keys"],
            "exempt_tags": settings["exempt_tags"],
            "scope": settings.get("scope", "all"),
            "securityhub_update": bool(settings.get("securityhub_update")),
        },
        "warnings": list(warnings),
    }


def run_report(settings, discovery, plan, rescued, enforced, verified, finished, findings=None):
    """The report of one role run, from the registered results of its tasks (any of them may not have run)."""
    run_errors, warnings = [], []
    kms_keys = discovery.get("kms_keys")
    if kms_keys is None:
        run_errors.append("discovery failed, so no key was checked: %s" % (
            discovery.get("msg") or "the discovery task did not run"))
    for region in discovery.get("region_results") or []:
        if region.get("error"):
            run_errors.append("Region %s could not be listed: %s" % (region["region"], region["error"]))
        warnings.extend(region.get("warnings") or [])
    rescue_results, rescue_error = phase_outcome(rescued)
    enforce_results, enforce_error = phase_outcome(enforced)
    for phase, error in ((model.KMS3, rescue_error), (model.KMS4, enforce_error)):
        if error:
            run_errors.append("%s failed as a whole: %s" % (phase, error))
    verification = verified.get("kms_keys")
    if verified.get("failed") and verified.get("msg"):
        warnings.append("verification could not read every key back (%s); those keys are reported as the "
                        "phases reported them" % verified["msg"])
    for entry in plan.get("not_rescued") or []:
        run_errors.append("%s %s" % (entry["key_arn"], entry["reason"]))
    found, findings_error = findings_outcome(findings, settings, kms_keys or [])
    if findings_error:
        run_errors.append(findings_error)
    warnings.extend(unmatched_findings(found))
    metadata = run_metadata(settings, kms_keys or [], finished, warnings)
    left_by_plan = dict((entry["key_arn"], entry) for entry in (plan.get("plan_stale") or [])
                        + (plan.get("not_in_plan") or []))
    if plan.get("plan_error"):
        run_errors.append(plan["plan_error"])
    report = build_report(kms_keys or [], rescue_results, enforce_results, verification, plan.get("exempt"), metadata,
                          run_errors, found, left_by_plan)
    if settings.get("approved_plan"):
        report["approved_plan"] = {"source": settings["approved_plan"], "left": sorted(
            left_by_plan.values(), key=lambda entry: (entry.get("region") or "", entry["key_arn"]))}
    report["findings"] = findings_section(found)
    return record_finding_outcomes(report, None)
