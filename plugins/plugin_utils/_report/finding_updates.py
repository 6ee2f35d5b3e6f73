# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What a run records on its Security Hub findings, and what it leaves to people.

Findings are matched to the keys this run read; a person's suppression or note is never replaced.

This is a private module: its interface may change without notice.
"""

from __future__ import annotations

from ansible_collections.keyguard.kms.plugins.module_utils._rules import findings as findings_rules
from ansible_collections.keyguard.kms.plugins.module_utils._rules import plans
from ansible_collections.keyguard.kms.plugins.module_utils._rules import rotation
from ansible_collections.keyguard.kms.plugins.plugin_utils._report import model
from ansible_collections.keyguard.kms.plugins.plugin_utils._report.model import FINDING_UPDATES
from ansible_collections.keyguard.kms.plugins.plugin_utils._report.model import owner_reasons


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


def findings_section(found):
    """Per finding read: its key and workflow status, as found (record_finding_outcomes adds what was done)."""
    return [{
        "finding_id": finding["finding_id"],
        "control_id": finding["control_id"],
        "key_arn": finding["key_arn"],
        "region": finding["region"],
        "workflow_before": finding["workflow_status"],
        "workflow_after": finding["workflow_status"],
        "note_after": finding["note"],
        "update": "none",
        "error": None,
        "kept": _kept(finding),
    } for finding in found or []]


def record_finding_outcomes(report, updated):
    """``report`` with what kms_findings (its registered result ``updated``) did to each finding: the findings
    section, an error per finding that could not be updated, and the counts."""
    outcomes = dict((result["finding_id"], result) for result in (updated or {}).get("results") or [])
    for entry in report["findings"]:
        outcome = outcomes.get(entry["finding_id"])
        if outcome is None:
            continue
        after = outcome.get("after") or {}
        entry.update(workflow_after=after.get("workflow_status", entry["workflow_after"]),
                     note_after=after.get("note", entry["note_after"]), update=outcome["status"],
                     error="%s: %s" % (outcome["error_code"], outcome["error_message"])
                     if outcome.get("error_message") else None, kept=outcome.get("kept") or entry["kept"])
        if entry["update"] == "failed":
            report["errors"].append({"key_arn": entry["key_arn"], "region": entry["region"], "message": (
                "finding %s could not be updated: %s" % (entry["finding_id"], entry["error"]))})
    report["summary"]["errors"] = len(report["errors"])
    report["summary"]["compliant"] = report["summary"]["compliant"] and not report["errors"]
    report["summary"]["findings"] = dict((name, sum(1 for entry in report["findings"] if entry["update"] == name))
                                         for name in FINDING_UPDATES)
    return report


def _kept(finding):
    """What of a person's this run leaves as it is on a finding, in words, or None."""
    if findings_rules.suppressed_by_a_person(finding):
        return "suppressed by a person: that decision is kept, the finding is not updated"
    if not findings_rules.note_is_ours(finding):
        return "the note is a person's (%s): it is kept" % (finding.get("note_updated_by") or "unknown author")
    return None


def material_note(entry):
    """When the key's material was last replaced, and by what, in a sentence that stays the same until it is."""
    evidence = entry.get("evidence") or {}
    when, kind = evidence.get("last_rotation_date"), evidence.get("last_rotation_type")
    if when:
        return " Key material last replaced on %s by an %s rotation." % (
            str(when)[:10], "on-demand" if kind == "ON_DEMAND" else "automatic")
    if evidence.get("key_material_age_days") is not None and evidence.get("creation_date"):
        return " Key material never replaced since the key was created on %s." % str(evidence["creation_date"])[:10]
    return ""


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
            workflow, note = "RESOLVED", "keyguard.kms: %s on %s by %s; verified: rotation %s.%s" % (
                ", ".join(entry["actions"]), when, job, rotation.rotation_text(after, "period"), material_note(entry))
        elif after["compliance"] == rotation.COMPLIANT and not entry["actions"]:
            workflow, note = "RESOLVED", ("keyguard.kms found the key compliant (rotation %s) on %s; Security Hub "
                                          "confirms it at the control's next evaluation.%s" % (
                                              rotation.rotation_text(after, "period"), when, material_note(entry)))
        elif after["reason"] == rotation.PENDING_DELETION and after["reason"] in left_to_owner:
            workflow, note = "NOTIFIED", ("keyguard.kms: the key is scheduled for deletion and the run keeps such keys "
                                          "(rotation_pending_deletion: keep): the deletion is the key owner's decision.")
        elif after["reason"] == rotation.KEY_DISABLED:
            workflow, note = "NOTIFIED", ("keyguard.kms: the key is Disabled, so its rotation cannot change; "
                                          "enabling it is the key owner's decision.")
        elif after["reason"] in left_to_owner:
            # No age in the note: it would change every day, and a run that changes nothing sends nothing.
            workflow, note = "NOTIFIED", ("keyguard.kms: the key's material is older than the cryptoperiod and only its "
                                          "owner can renew it (%s): see the run report.%s" % (
                                              after["reason"], material_note(entry)))
        elif after["reason"] in model.WAITING_REASONS + plans.PLAN_REASONS:
            # Fixed words: their messages carry ages that change daily, and a run that changes nothing sends nothing.
            note = "keyguard.kms left this key as it is (%s): see the run report." % after["reason"]
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
