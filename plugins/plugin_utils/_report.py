# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Controller-side logic of the rotation role: which keys each phase handles, and the run report.

Plain data in, plain data out, so the role's decisions are unit-tested without
Ansible or AWS. Verdicts come from module_utils/_rotation (the one home of the
rotation rules); this module only reads them. Used by the rotation_plan and
rotation_report action plugins and the collection's report filters.

This is a private module: its interface may change without notice.
"""

from __future__ import annotations

import json
import os
from xml.etree import ElementTree

from ansible_collections.keyguard.kms.plugins.module_utils import _findings as findings_rules
from ansible_collections.keyguard.kms.plugins.module_utils import _rotation as rotation
from ansible_collections.keyguard.kms.plugins.module_utils import _selection as selection
from ansible_collections.keyguard.kms.plugins.plugin_utils import _names

REPORT_SCHEMA_VERSION = 1
EXEMPT = "EXEMPT"
REPORT_COMPLIANCE_VALUES = rotation.COMPLIANCE_VALUES + (EXEMPT,)
VERDICT_FIELDS = ("compliance", "reason", "key_state", "rotation_enabled", "rotation_period_days")
KMS3, KMS4 = "KMS.3", "KMS.4"
# Non-compliant keys the run leaves to their owner: they never fail a remediation run.
OWNER_REASONS = (rotation.KEY_DISABLED,)


def owner_reasons(run_settings):
    """The reasons that leave a key to its owner; with pending_deletion keep, a scheduled deletion is one."""
    if (run_settings or {}).get("pending_deletion") == "keep":
        return OWNER_REASONS + (rotation.PENDING_DELETION,)
    return OWNER_REASONS


# --- which keys each phase handles --------------------------------------------

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
    entries with their reason, ``held`` (rescues not done, why)
    and ``out_of_scope`` (keys left alone for want of a finding).
    """
    cancel = settings["pending_deletion"] == "cancel"
    blind = set(regions_without_aliases) if _by_alias(settings.get("exempt_keys")) else set()
    with_finding = set(finding["key_arn"] for finding in findings or []
                       if finding["workflow_status"] in findings_rules.OPEN_WORKFLOW_STATUSES)
    suppressed = {}
    for finding in findings or []:
        if finding["control_id"] == KMS3 and findings_rules.suppressed_by_a_person(finding):
            suppressed.setdefault(finding["key_arn"], finding)
    by_findings = settings.get("scope") == "findings"
    rescue, enforce, exempt, held, out_of_scope = [], [], [], [], []
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
            if cancel and key["region"] in blind:
                held.append({"key_arn": key["key_arn"], "region": key["region"], "reason": (
                    "not rescued: the aliases of Region %s could not be listed, so exemptions by alias cannot be "
                    "checked" % key["region"])})
            elif cancel and key["region"] in findings_blind:
                held.append({"key_arn": key["key_arn"], "region": key["region"], "reason": (
                    "not rescued: the Security Hub findings of Region %s could not be read, so a person's decision "
                    "there (a suppressed KMS.3 finding) cannot be checked" % key["region"])})
            elif cancel:
                rescue.append(key["key_arn"])
        elif key["reason"] in rotation.ROTATION_CHANGE_REASONS:
            enforce.append(key["key_arn"])
    return {"rescue": rescue, "enforce": enforce, "exempt": exempt, "held": held, "out_of_scope": out_of_scope}


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


# --- the report ---------------------------------------------------------------

def _by_arn(per_key_results):
    """kms_rotation per-key results keyed by key ARN (the input when the key could not be read)."""
    return dict((entry.get("key_arn") or entry["input"], entry) for entry in per_key_results or [])


def _verdict(source):
    return dict((field, source.get(field)) for field in VERDICT_FIELDS)


def build_report(discovery, rescue_results=None, enforce_results=None, verification=None, exemptions=None,
                 metadata=None, run_errors=(), findings=None):
    """The full run report: every key with its verdict before and after and the actions taken or planned.

    ``discovery`` and ``verification`` are kms_rotation_info's kms_keys (verification
    holds only the keys read back); the two results are flat lists of
    kms_rotation's per-key results. ``run_errors`` are messages about the run
    itself (a Region or a phase that failed as a whole).
    """
    metadata = dict(metadata or {})
    check_mode = bool(metadata.get("check_mode"))
    exempt_by_arn = dict((entry["key_arn"], entry) for entry in exemptions or [])
    handled = _by_arn(rescue_results)
    phase_of = dict((arn, KMS3) for arn in handled)
    enforced = _by_arn(enforce_results)
    phase_of.update((arn, KMS4) for arn in enforced)
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
            before["compliance"] = EXEMPT
        result = handled.get(arn)
        error = None
        if result and result["compliance"] == rotation.ERROR:
            error = result["message"]
        elif key["compliance"] == rotation.ERROR:
            error = key["message"]
        after, after_source = _after(before, result, verified.get(arn), check_mode, exemption)
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
            "message": (result or key).get("message"),
            "error": error,
            "findings": findings_of.get(arn, []),
            "finish_command": (result or {}).get("finish_command"),
            "other_actor": bool((result or {}).get("other_actor")),
        })
    keys.sort(key=lambda entry: (entry["region"], entry["key_id"]))
    errors = [{"key_arn": entry["key_arn"] or entry["key_id"], "region": entry["region"], "message": entry["error"]}
              for entry in keys if entry["error"]]
    errors += [{"key_arn": None, "region": None, "message": message} for message in run_errors]
    report = {
        "schema_version": REPORT_SCHEMA_VERSION,
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
        tally = dict((value, 0) for value in REPORT_COMPLIANCE_VALUES)
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
    left_to_owner = owner_reasons(run.get("settings"))
    return [entry for entry in report["keys"]
            if entry["after"]["compliance"] == rotation.NON_COMPLIANT and entry["after"]["reason"] not in left_to_owner
            and not (by_findings and not entry["findings"])]


def verify_failures(kms_keys, exemptions, state="enabled", period=None):
    """Keys read back by verification that are not as wanted, exempt and disabled keys left out.

    The verdicts are kms_rotation_info's, so run it with the role's rotation
    (``state`` and ``period`` are accepted for compatibility and not used).
    """
    exempt_arns = set(entry["key_arn"] for entry in exemptions or [])
    return [{"key_arn": key["key_arn"] or key["key_id"], "region": key["region"], "compliance": key["compliance"],
             "reason": key["reason"], "message": key["message"]}
            for key in kms_keys
            if key["key_arn"] not in exempt_arns and key["key_state"] != "Disabled"
            and key["compliance"] in (rotation.NON_COMPLIANT, rotation.ERROR)]


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


def run_report(settings, discovery, plan, rescued, enforced, verified, finished, findings=None, findings_updated=None):
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
    for phase, error in ((KMS3, rescue_error), (KMS4, enforce_error)):
        if error:
            run_errors.append("%s failed as a whole: %s" % (phase, error))
    verification = verified.get("kms_keys")
    if verified.get("failed") and verified.get("msg"):
        warnings.append("verification could not read every key back (%s); those keys are reported as the "
                        "phases reported them" % verified["msg"])
    for entry in plan.get("held") or []:
        run_errors.append("%s %s" % (entry["key_arn"], entry["reason"]))
    found, findings_error = findings_outcome(findings, settings, kms_keys or [])
    if findings_error:
        run_errors.append(findings_error)
    warnings.extend(unmatched_findings(found))
    metadata = run_metadata(settings, kms_keys or [], finished, warnings)
    report = build_report(kms_keys or [], rescue_results, enforce_results, verification, plan.get("exempt"), metadata,
                          run_errors, found)
    report["findings"] = findings_section(found, findings_updated, bool(settings.get("check_mode")))
    for entry in report["findings"]:
        if entry["update"] == "failed":
            report["errors"].append({"key_arn": entry["key_arn"], "region": entry["region"], "message": (
                "finding %s could not be updated: %s" % (entry["finding_id"], entry["error"]))})
    report["summary"]["errors"] = len(report["errors"])
    report["summary"]["compliant"] = report["summary"]["compliant"] and not report["errors"]
    report["summary"]["findings"] = dict((name, sum(1 for entry in report["findings"] if entry["update"] == name))
                                         for name in FINDING_UPDATES)
    return report


FINDING_UPDATES = ("updated", "planned", "unchanged", "failed", "none")


def _reads_securityhub(settings):
    return settings.get("scope") == "findings" or bool(settings.get("securityhub_update"))


def findings_outcome(registered, settings, kms_keys=()):
    """(finding records or None, error) of the registered kms_findings_info task.

    Records of the Regions that could be read, each matched to the key it names (by key
    ARN, key ID, alias name or alias ARN) among ``kms_keys``; the error names the others.
    """
    registered = registered or {}
    if not registered or registered.get("skipped"):
        return None, None
    failed = [region for region in registered.get("region_results") or [] if region.get("error")]
    if "findings" not in registered or (registered.get("failed") and not registered.get("region_results")):
        if not _reads_securityhub(settings):
            return None, None
        scope = " (rotation_scope=findings: no key was changed)" if settings.get("scope") == "findings" else ""
        return None, "Security Hub findings could not be read%s: %s" % (
            scope, registered.get("msg") or "the findings task did not run")
    index = findings_rules.key_index(kms_keys)
    found = []
    for record in registered["findings"]:
        matched = findings_rules.matched_key_arn(record.get("key_reference") or record["key_arn"], record["region"],
                                                 index)
        found.append(dict(record, key_arn=matched or record["key_arn"], key_matched=matched is not None))
    error = None
    if failed and len(failed) == len(registered["region_results"]) and _reads_securityhub(settings):
        scope = " (rotation_scope=findings: no key was changed)" if settings.get("scope") == "findings" else ""
        error = "Security Hub findings could not be read%s: %s" % (scope, "; ".join(
            region["error"] for region in failed))
    elif failed and _reads_securityhub(settings):
        scope = ", so no key of %s was changed (rotation_scope=findings)" % (
            "any Region" if settings.get("securityhub_region") else "those Regions") \
            if settings.get("scope") == "findings" else ""
        error = "Security Hub findings of %s could not be read%s: %s" % (
            ", ".join(region["region"] for region in failed), scope,
            "; ".join(region["error"] for region in failed))
    return found, error


def findings_blind_regions(registered, settings):
    """The key Regions where a finding may exist unread: those whose hub failed, or all with an aggregation hub."""
    registered = registered or {}
    if not registered or registered.get("skipped") or not _reads_securityhub(settings):
        return set()
    failed = set(region["region"] for region in registered.get("region_results") or [] if region.get("error"))
    if "findings" not in registered or (registered.get("failed") and not registered.get("region_results")) or (
            failed and settings.get("securityhub_region")):
        return set(settings.get("regions") or [])
    return failed


def unmatched_findings(found):
    """Warnings for findings whose key reference matches no key this run read: never silently ignored."""
    return ["Security Hub finding %s names key %r, which matches no key this run read in %s; it was left as it is" % (
        record["finding_id"], record.get("key_reference"), record["region"])
        for record in found or [] if not record.get("key_matched")]


def findings_section(found, updated, check_mode):
    """Per finding: its key, the workflow status before and after, and what the run did to it."""
    outcomes = dict((result["finding_id"], result) for result in (updated or {}).get("results") or [])
    section = []
    for finding in found or []:
        outcome = outcomes.get(finding["finding_id"])
        after = (outcome or {}).get("after") or {}
        section.append({
            "finding_id": finding["finding_id"],
            "control_id": finding["control_id"],
            "key_arn": finding["key_arn"],
            "region": finding["region"],
            "workflow_before": finding["workflow_status"],
            "workflow_after": after.get("workflow_status", finding["workflow_status"]),
            "note_after": after.get("note", finding["note"]),
            "update": outcome["status"] if outcome else "none",
            "error": "%s: %s" % (outcome["error_code"], outcome["error_message"])
            if outcome and outcome.get("error_message") else None,
            "kept": (outcome or {}).get("kept") or _kept(finding),
        })
    return section


def _kept(finding):
    """What of a person's this run leaves as it is on a finding, in words, or None."""
    if findings_rules.suppressed_by_a_person(finding):
        return "suppressed by a person: that decision is kept, the finding is not updated"
    if not findings_rules.note_is_ours(finding):
        return "the note is a person's (%s): it is kept" % (finding.get("note_updated_by") or "unknown author")
    return None


def finding_updates(report, found, settings, when):
    """What to record on each finding of a key this run checked: (finding, workflow status or None, note).

    RESOLVED for a key remediated and verified compliant (predicted in check mode) or
    found compliant; SUPPRESSED for an exempt key when asked; NOTIFIED for a key that
    needs its owner; a note alone for a key still failing. Findings of keys this run did
    not read are left alone. Notes that do not report a change carry no time, so a run
    that changes nothing sends nothing.
    """
    entries = dict((entry["key_arn"], entry) for entry in report["keys"])
    check_mode = bool(report["run"].get("check_mode"))
    job = ("AWX job %s" % settings["awx_job_id"]) if settings.get("awx_job_id") is not None else (
        "the run of %s" % settings["target"])
    left_to_owner = owner_reasons(settings)
    updates = []
    for finding in found or []:
        entry = entries.get(finding["key_arn"])
        if entry is None or findings_rules.suppressed_by_a_person(finding):
            continue
        after = entry["after"]
        workflow, note = None, None
        if entry["exempt"]:
            if settings.get("securityhub_suppress_exempt"):
                workflow = "SUPPRESSED"
                note = "%s%s." % (findings_rules.SUPPRESSION_NOTE_PREFIX, entry["exemption_reason"])
        elif entry["error"]:
            note = "keyguard.kms could not fix this key: %s" % entry["error"]
        elif after["compliance"] == rotation.COMPLIANT and entry["actions"] and (
                entry["after_source"] == "verified" or check_mode):
            workflow, note = "RESOLVED", "keyguard.kms: %s on %s by %s; verified: rotation %s." % (
                ", ".join(entry["actions"]), when, job, _rotation_words(after))
        elif after["compliance"] == rotation.COMPLIANT and not entry["actions"]:
            workflow, note = "RESOLVED", ("keyguard.kms found the key compliant (rotation %s) on %s; Security Hub "
                                          "confirms it at the control's next evaluation." % (
                                              _rotation_words(after), when))
        elif after["reason"] == rotation.PENDING_DELETION and after["reason"] in left_to_owner:
            workflow, note = "NOTIFIED", ("keyguard.kms: the key is scheduled for deletion and the run keeps such keys "
                                          "(rotation_pending_deletion: keep): the deletion is the key owner's decision.")
        elif after["reason"] in left_to_owner:
            workflow, note = "NOTIFIED", ("keyguard.kms: the key is Disabled, so its rotation cannot change; "
                                          "enabling it is the key owner's decision.")
        elif after["compliance"] == rotation.NON_COMPLIANT:
            note = "keyguard.kms left this key as it is: %s" % entry["message"]
        if note is not None and not findings_rules.note_is_ours(finding):
            # Never replace a person's note: change the workflow status alone, or leave the finding.
            note = None
            if workflow == finding["workflow_status"]:
                workflow = None
        if note is not None or workflow is not None:
            updates.append({"finding_id": finding["finding_id"], "product_arn": finding["product_arn"],
                            "region": finding["region"], "workflow_status": workflow,
                            "note": note[:findings_rules.NOTE_MAX_LENGTH] if note is not None else None})
    return updates


def _rotation_words(verdict):
    if not verdict.get("rotation_enabled"):
        return "off"
    return "every %s days" % verdict["rotation_period_days"] if verdict.get("rotation_period_days") else "on"


STATS_PREFIX = "keyguard_kms_rotation__"


def stats_key(target):
    """The set_stats key of one target: AWX merges the artifacts of sliced jobs and workflow nodes with a
    shallow update, so each target has a top-level key of its own, a valid variable name."""
    return STATS_PREFIX + _names.variable_part(target)


def published_stats(report, files=(), uris=()):
    """The set_stats data of one target: its summary, with what the run was and where its reports are."""
    run = report["run"]
    return {stats_key(run["target"]): dict(
        report["summary"], target=run["target"], account_id=run.get("account_id"), mode=run.get("mode"),
        check_mode=run.get("check_mode"), finished=run.get("finished"), reports=list(files), report_uris=list(uris))}


def report_uploads(settings, files):
    """Where each report file goes in S3: <prefix><host>/<started>-<run id>/<file>, so no run overwrites another's."""
    if not settings.get("report_s3_bucket"):
        return []
    stamp = "%s-%s" % (settings["started"].replace(":", ""), settings["run_id"])
    uploads = []
    for path in files:
        key = "%s%s/%s/%s" % (settings["report_s3_prefix"], settings["report_name"], stamp, os.path.basename(path))
        uploads.append({"src": path, "bucket": settings["report_s3_bucket"], "key": key,
                        "uri": "s3://%s/%s" % (settings["report_s3_bucket"], key)})
    return uploads


# --- renderings ---------------------------------------------------------------

_MARKDOWN_ESCAPES = str.maketrans({"|": "\\|", "\n": " ", "\r": " ", "<": "&lt;", ">": "&gt;", "[": "\\[",
                                   "]": "\\]", "`": "\\`"})


def _cell(value):
    """A table cell; names and notes come from AWS accounts and people, so nothing in them may render as markup."""
    if value is None or value == []:
        return "-"
    if isinstance(value, list):
        value = ", ".join(str(item) for item in value)
    return str(value).translate(_MARKDOWN_ESCAPES)


def _rotation_text(verdict):
    if verdict.get("rotation_enabled") is None:
        return "-"
    if not verdict["rotation_enabled"]:
        return "off"
    return "%s d" % verdict["rotation_period_days"] if verdict.get("rotation_period_days") else "on"


def _mode_text(run):
    if run.get("mode") == "report":
        return "report (discovery only: nothing was or would be changed)"
    if run.get("check_mode"):
        return "remediate in check mode (nothing was changed; actions are planned)"
    return "remediate"


def report_markdown(report):
    run = report["run"]
    summary = report["summary"]
    lines = [
        "# KMS key rotation report: %s" % _cell(run.get("target")),
        "",
        "| | |",
        "|---|---|",
        "| Account | %s |" % _cell(run.get("account_id")),
        "| Regions | %s |" % _cell(run.get("regions")),
        "| Mode | %s |" % _mode_text(run),
        "| Started / finished | %s / %s |" % (_cell(run.get("started")), _cell(run.get("finished"))),
        "| Result | **%s** |" % ("COMPLIANT" if summary["compliant"] else "NOT COMPLIANT"),
    ]
    lines += [
        "",
        "## Summary",
        "",
        "| compliance | before | after |",
        "|---|---:|---:|",
    ]
    for value in REPORT_COMPLIANCE_VALUES:
        lines.append("| %s | %d | %d |" % (value, summary["before"][value], summary["after"][value]))
    changing = run.get("check_mode") or run.get("mode") == "report"
    lines += ["", "%d of %d keys %s; actions: %s." % (
        summary["keys_changed"], summary["total"], "would change" if changing else "changed",
        _cell(["%s x%d" % item for item in sorted(summary["actions"].items())]) if summary["actions"] else "none")]

    errors = report["errors"]
    if errors:
        lines += ["", "## Errors", "", "| key | region | message |", "|---|---|---|"]
        lines += ["| %s | %s | %s |" % (_cell(e["key_arn"]), _cell(e["region"]), _cell(e["message"])) for e in errors]
    for warning in run.get("warnings") or []:
        lines += ["", "> %s" % warning.replace("\n", " ")]
    half_done = [k for k in report["keys"] if k["finish_command"]]
    if half_done:
        lines += ["", "## Left half-way: finish these by hand", "", "| key | region | state now | finish with |",
                  "|---|---|---|---|"]
        lines += ["| %s | %s | %s | `%s` |" % (_cell(k["key_id"]), k["region"], _cell(k["after"]["key_state"]),
                                               k["finish_command"]) for k in half_done]
    failing = [k for k in report["keys"] if k["after"]["compliance"] == rotation.NON_COMPLIANT]
    left_to_owner = owner_reasons(run.get("settings"))
    for title, group in (
        ("Still not compliant", [k for k in failing if k["after"]["reason"] not in left_to_owner]),
        ("Needs the key owner: disabled keys whose rotation KMS cannot change, and deletions the run keeps",
         [k for k in failing if k["after"]["reason"] in left_to_owner]),
    ):
        if group:
            lines += ["", "## " + title, "", "| key | region | reason | message |", "|---|---|---|---|"]
            lines += ["| %s | %s | %s | %s |" % (_cell(k["key_id"]), k["region"], _cell(k["after"]["reason"]),
                                                 _cell(k["message"])) for k in group]
    if report["exemptions"]:
        lines += ["", "## Exemptions", "", "| key | region | state | reason | source |", "|---|---|---|---|---|"]
        lines += ["| %s | %s | %s | %s | %s |" % (_cell(e["key_id"]), e["region"], _cell(e["key_state"]),
                                                  _cell(e["reason"]), _cell(e.get("source")))
                  for e in report["exemptions"]]
    if report.get("findings"):
        lines += ["", "## Security Hub findings", "",
                  "| finding | control | key | workflow before | workflow after | update | note |",
                  "|---|---|---|---|---|---|---|"]
        lines += ["| %s | %s | %s | %s | %s | %s | %s |" % (
            _cell(f["finding_id"]), _cell(f["control_id"]), _cell(f["key_arn"]), _cell(f["workflow_before"]),
            _cell(f["workflow_after"]), f["update"], _cell(f["error"] or " - ".join(
                part for part in (f["note_after"], f.get("kept")) if part))) for f in report["findings"]]
    lines += ["", "## All keys", "",
              "| key | aliases | region | before | reason | rotation before | actions | after | rotation after |",
              "|---|---|---|---|---|---|---|---|---|"]
    for k in report["keys"]:
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            _cell(k["key_id"]), _cell(k["aliases"]), k["region"], k["before"]["compliance"],
            _cell(k["before"]["reason"]), _rotation_text(k["before"]), _cell(k["actions"]),
            k["after"]["compliance"], _rotation_text(k["after"])))
    return "\n".join(lines) + "\n"


def report_junit(report):
    """JUnit XML: one test case per key; failures are non-compliant keys, errors are keys in error."""
    run = report["run"]
    suite_name = "keyguard.kms rotation %s" % (run.get("target") or "")
    suites = ElementTree.Element("testsuites", name="keyguard.kms")
    suite = ElementTree.SubElement(suites, "testsuite", name=suite_name.strip())
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for key in report["keys"]:
        counts["tests"] += 1
        label = key["key_id"] + (" (%s)" % ", ".join(key["aliases"]) if key["aliases"] else "")
        case = ElementTree.SubElement(suite, "testcase", classname="KMS.4.%s" % key["region"], name=label)
        after = key["after"]
        if after["compliance"] == rotation.ERROR:
            counts["errors"] += 1
            ElementTree.SubElement(case, "error", message=str(after["reason"])).text = key["error"] or ""
        elif after["compliance"] == rotation.NON_COMPLIANT:
            counts["failures"] += 1
            ElementTree.SubElement(case, "failure", message=str(after["reason"])).text = key["message"] or ""
        elif after["compliance"] in (rotation.NOT_APPLICABLE, EXEMPT):
            counts["skipped"] += 1
            message = key["exemption_reason"] if key["exempt"] else after["reason"]
            ElementTree.SubElement(case, "skipped", message=str(message))
        if key["actions"]:
            ElementTree.SubElement(case, "system-out").text = "%s: %s" % (
                "planned" if run.get("check_mode") else "performed", ", ".join(key["actions"]))
    run_errors = [error for error in report["errors"] if error["key_arn"] is None]
    for number, error in enumerate(run_errors, 1):
        counts["tests"] += 1
        counts["errors"] += 1
        case = ElementTree.SubElement(suite, "testcase", classname="keyguard.run", name="run error %d" % number)
        ElementTree.SubElement(case, "error", message="run error").text = error["message"]
    for name, value in counts.items():
        suite.set(name, str(value))
        suites.set(name, str(value))
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(suites, encoding="unicode") + "\n"


def report_json(report):
    return json.dumps(report, indent=2, sort_keys=True, default=str) + "\n"


RENDERERS = {"json": (".json", report_json), "markdown": (".md", report_markdown), "junit": (".junit.xml", report_junit)}
