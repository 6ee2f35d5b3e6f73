# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Controller-side logic of the rotation role: scope, exemptions, verdicts and reports.

Plain data in, plain data out, so the role's decisions are unit-tested without
Ansible or AWS. Used through the collection's filter plugins.

This is a private module: its interface may change without notice.
"""

from __future__ import annotations

import json
from xml.etree import ElementTree

from ansible_collections.keyguard.kms.plugins.module_utils._journal import pending_from_text

REPORT_SCHEMA_VERSION = 1
EXEMPT = "EXEMPT"
COMPLIANCE_VALUES = ("COMPLIANT", "NON_COMPLIANT", "NOT_APPLICABLE", "ERROR", EXEMPT)
VERDICT_FIELDS = ("compliance", "reason", "key_state", "rotation_enabled", "rotation_period_days")


# --- scope ------------------------------------------------------------------

def _exemption_entries(exempt_keys):
    for entry in exempt_keys or []:
        if isinstance(entry, dict):
            yield entry["key"], entry.get("reason") or "listed in rotation_exempt_keys"
        else:
            yield entry, "listed in rotation_exempt_keys"


def _names_of(key):
    names = {key.get("key_id"), key.get("key_arn")}
    names.update(key.get("aliases") or [])
    arn = key.get("key_arn") or ""
    if ":key/" in arn:
        prefix = arn.split(":key/", 1)[0]
        names.update("%s:%s" % (prefix, alias) for alias in key.get("aliases") or [])
    names.discard(None)
    return names


def _tag_exemption(key, exempt_tags):
    tags = key.get("tags") or {}
    for name, values in (exempt_tags or {}).items():
        accepted = values if isinstance(values, list) else ([] if values in (None, "") else [values])
        if name in tags and (not accepted or tags[name] in [str(value) for value in accepted]):
            return "tagged %s=%s" % (name, tags[name])
    return None


def exemption_for(key, exempt_keys, exempt_tags):
    """Why ``key`` is exempt, or None."""
    names = _names_of(key)
    for reference, reason in _exemption_entries(exempt_keys):
        if reference in names:
            return reason
    return _tag_exemption(key, exempt_tags)


def needs_rotation_change(key, state):
    """Whether kms_rotation has work on this key: found off (or rotating too rarely), or on when off is wanted.

    Keys that already rotate more often than the role's period are left as they are:
    the period is a ceiling, never a reason to rotate less often.
    """
    if key["key_state"] != "Enabled":
        return False
    if state == "disabled":
        return key["rotation_enabled"] is True
    return key["compliance"] == "NON_COMPLIANT"


def _batches(arns_by_region, batch_size):
    batches = []
    for region in sorted(arns_by_region):
        arns = arns_by_region[region]
        for start in range(0, len(arns), batch_size):
            batches.append({"region": region, "key_arns": arns[start:start + batch_size]})
    return batches


def rotation_targets(kms_keys, exempt_keys=None, exempt_tags=None, state="enabled", batch_size=500,
                     journal_text=""):
    """Split discovered keys into the role's phases.

    ``kms_keys`` comes from kms_rotation_info run with the role's period as
    ``max_rotation_period_days``. Returns ``exempt`` (keys left alone, with their
    reason), ``rescue`` (batches of keys pending deletion, KMS.3) and ``enforce``
    (batches of keys whose rotation must change, KMS.4); a batch is one Region's
    key ARNs. A Disabled key whose rescue an interrupted run left unfinished
    (``journal_text``, see module_utils/_journal.py) is rescued again.
    """
    unfinished = set(pending_from_text(journal_text))
    exempt, rescue, enforce = [], {}, {}
    for key in kms_keys:
        if key["compliance"] in ("ERROR", "NOT_APPLICABLE"):
            continue
        reason = exemption_for(key, exempt_keys, exempt_tags)
        if reason:
            exempt.append({
                "key_id": key["key_id"], "key_arn": key["key_arn"], "region": key["region"],
                "key_state": key["key_state"], "reason": reason,
            })
        elif key["key_state"] == "PendingDeletion" or (key["key_state"] == "Disabled" and key["key_arn"] in unfinished):
            rescue.setdefault(key["region"], []).append(key["key_arn"])
        elif needs_rotation_change(key, state):
            enforce.setdefault(key["region"], []).append(key["key_arn"])
    return {"exempt": exempt, "rescue": _batches(rescue, batch_size), "enforce": _batches(enforce, batch_size)}


# --- verdicts ---------------------------------------------------------------

def meets_desired_state(key, state, period):
    """Whether a discovered key is where the role wanted it (used by verify)."""
    if key["compliance"] == "NOT_APPLICABLE":
        return True
    if key["compliance"] == "ERROR" or key["key_state"] not in ("Enabled", "Disabled"):
        return False
    if state == "disabled":
        return key["rotation_enabled"] is False
    return key["rotation_enabled"] is True and (not period or (key["rotation_period_days"] or 0) <= period)


def verify_failures(kms_keys, exemptions, state, period):
    """In-scope keys (not exempt) that are still not as wanted, with why.

    Disabled keys are left out: KMS cannot change their rotation and re-enabling
    them is their owner's decision, so the reports list them as needing the owner.
    """
    exempt_arns = set(entry["key_arn"] for entry in exemptions or [])
    failures = []
    for key in kms_keys:
        if key["key_arn"] in exempt_arns or key["key_state"] == "Disabled" or meets_desired_state(key, state, period):
            continue
        failures.append({
            "key_arn": key["key_arn"] or key["key_id"], "region": key["region"],
            "compliance": key["compliance"], "reason": key["reason"], "message": key["message"],
        })
    return failures


def _by_arn(per_key_results):
    """kms_rotation per-key results keyed by key ARN (the input when the key could not be read)."""
    return dict((entry.get("key_arn") or entry["input"], entry) for entry in per_key_results or [])


def _verdict(source):
    return dict((field, source.get(field)) for field in VERDICT_FIELDS)


def build_report(discovery, rescue_results=None, enforce_results=None, verification=None, exemptions=None,
                 metadata=None):
    """The full run report: every key with its verdict before and after and the actions taken or planned.

    ``discovery`` and ``verification`` are kms_rotation_info's kms_keys; the two
    results are flat lists of kms_rotation's per-key results.
    """
    metadata = dict(metadata or {})
    check_mode = bool(metadata.get("check_mode"))
    exempt_by_arn = dict((entry["key_arn"], entry) for entry in exemptions or [])
    handled = _by_arn(rescue_results)
    phase_of = dict((arn, "KMS.3") for arn in handled)
    enforced = _by_arn(enforce_results)
    phase_of.update((arn, "KMS.4") for arn in enforced)
    handled.update(enforced)
    verified = dict((key["key_arn"], key) for key in verification or [])

    keys = []
    for key in discovery:
        arn = key["key_arn"]
        before = _verdict(key)
        exemption = exempt_by_arn.get(arn)
        if exemption:
            before["compliance"] = EXEMPT
        result = handled.get(arn)
        actions = list(result["actions"]) if result else []
        error = None
        if result and result["compliance"] == "ERROR":
            error = result["message"]
        elif key["compliance"] == "ERROR":
            error = key["message"]
        after, after_source = _after(key, before, result, verified.get(arn), check_mode, exemption)
        keys.append({
            "key_id": key["key_id"],
            "key_arn": arn,
            "region": key["region"],
            "aliases": key.get("aliases") or [],
            "exempt": bool(exemption),
            "exemption_reason": exemption["reason"] if exemption else None,
            "before": before,
            "actions": actions,
            "phase": phase_of.get(arn),
            "after": after,
            "after_source": after_source,
            "message": (result or key).get("message"),
            "error": error,
        })
    keys.sort(key=lambda entry: (entry["region"], entry["key_id"]))
    return {
        "schema_version": REPORT_SCHEMA_VERSION,
        "run": metadata,
        "summary": summarize_report(keys),
        "keys": keys,
        "exemptions": list(exemptions or []),
        "errors": [{"key_arn": entry["key_arn"] or entry["key_id"], "region": entry["region"],
                    "message": entry["error"]} for entry in keys if entry["error"]],
    }


def _after(key, before, result, verified, check_mode, exemption):
    """The verdict after the run, and where it comes from.

    A key whose change failed stays ERROR after the run, whatever state it was
    found in at verification: the failure is what needs looking at.
    """
    if exemption:
        return dict(before), "exempt"
    failed = result is not None and result["compliance"] == "ERROR"
    if verified is not None and not check_mode:
        after, source = _verdict(verified), "verified"
    elif result is None:
        return dict(before), "unchanged"
    elif failed:
        after, source = dict(before), "predicted" if check_mode else "reported"
    else:
        after, source = _verdict(result), "predicted" if check_mode else "reported"
        if result["actions"] or result["compliance"] == "COMPLIANT":
            after.update(compliance="COMPLIANT", reason=None)
        else:
            after.update(compliance=before["compliance"], reason=before["reason"])
    if failed:
        after.update(compliance="ERROR", reason=result["reason"])
    return after, source


def summarize_report(keys):
    def counts(side):
        tally = dict((value, 0) for value in COMPLIANCE_VALUES)
        for entry in keys:
            tally[entry[side]["compliance"]] = tally.get(entry[side]["compliance"], 0) + 1
        return tally

    actions = {}
    for entry in keys:
        for action in entry["actions"]:
            actions[action] = actions.get(action, 0) + 1
    after = counts("after")
    return {
        "total": len(keys),
        "before": counts("before"),
        "after": after,
        "keys_changed": sum(1 for entry in keys if entry["actions"]),
        "actions": actions,
        "exempt": sum(1 for entry in keys if entry["exempt"]),
        "errors": sum(1 for entry in keys if entry["error"]),
        "compliant": after["NON_COMPLIANT"] == 0 and after["ERROR"] == 0,
    }


# --- renderings ------------------------------------------------------------

def _cell(value):
    if value is None or value == []:
        return "-"
    if isinstance(value, list):
        value = ", ".join(str(item) for item in value)
    return str(value).replace("|", "\\|").replace("\n", " ")


def _rotation_text(verdict):
    if verdict.get("rotation_enabled") is None:
        return "-"
    if not verdict["rotation_enabled"]:
        return "off"
    return "%s d" % verdict["rotation_period_days"] if verdict.get("rotation_period_days") else "on"


def report_markdown(report):
    run = report["run"]
    summary = report["summary"]
    mode = "check mode (nothing was changed; actions are planned)" if run.get("check_mode") else "remediation"
    lines = [
        "# KMS key rotation report: %s" % _cell(run.get("target")),
        "",
        "| | |",
        "|---|---|",
        "| Account | %s |" % _cell(run.get("account_id")),
        "| Regions | %s |" % _cell(run.get("regions")),
        "| Mode | %s |" % mode,
        "| Started / finished | %s / %s |" % (_cell(run.get("started")), _cell(run.get("finished"))),
        "| Result | **%s** |" % ("COMPLIANT" if summary["compliant"] else "NOT COMPLIANT"),
        "",
        "## Summary",
        "",
        "| compliance | before | after |",
        "|---|---:|---:|",
    ]
    for value in COMPLIANCE_VALUES:
        lines.append("| %s | %d | %d |" % (value, summary["before"][value], summary["after"][value]))
    lines += ["", "%d of %d keys %s; actions: %s." % (
        summary["keys_changed"], summary["total"], "would change" if run.get("check_mode") else "changed",
        _cell(["%s x%d" % item for item in sorted(summary["actions"].items())]) if summary["actions"] else "none")]

    errors = report["errors"]
    if errors:
        lines += ["", "## Errors", "", "| key | region | message |", "|---|---|---|"]
        lines += ["| %s | %s | %s |" % (_cell(e["key_arn"]), e["region"], _cell(e["message"])) for e in errors]
    failing = [k for k in report["keys"] if k["after"]["compliance"] == "NON_COMPLIANT"]
    for title, group in (
        ("Still not compliant", [k for k in failing if k["after"]["reason"] != "KEY_DISABLED"]),
        ("Needs the key owner: disabled keys whose rotation KMS cannot change",
         [k for k in failing if k["after"]["reason"] == "KEY_DISABLED"]),
    ):
        if group:
            lines += ["", "## " + title, "", "| key | region | reason | message |", "|---|---|---|---|"]
            lines += ["| %s | %s | %s | %s |" % (_cell(k["key_id"]), k["region"], _cell(k["after"]["reason"]),
                                                 _cell(k["message"])) for k in group]
    if report["exemptions"]:
        lines += ["", "## Exemptions", "", "| key | region | state | reason |", "|---|---|---|---|"]
        lines += ["| %s | %s | %s | %s |" % (_cell(e["key_id"]), e["region"], _cell(e["key_state"]),
                                             _cell(e["reason"])) for e in report["exemptions"]]
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
        if after["compliance"] == "ERROR":
            counts["errors"] += 1
            ElementTree.SubElement(case, "error", message=str(after["reason"])).text = key["error"] or ""
        elif after["compliance"] == "NON_COMPLIANT":
            counts["failures"] += 1
            ElementTree.SubElement(case, "failure", message=str(after["reason"])).text = key["message"] or ""
        elif after["compliance"] in ("NOT_APPLICABLE", EXEMPT):
            counts["skipped"] += 1
            message = key["exemption_reason"] if key["exempt"] else after["reason"]
            ElementTree.SubElement(case, "skipped", message=str(message))
        if key["actions"]:
            ElementTree.SubElement(case, "system-out").text = "%s: %s" % (
                "planned" if run.get("check_mode") else "performed", ", ".join(key["actions"]))
    for name, value in counts.items():
        suite.set(name, str(value))
        suites.set(name, str(value))
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(suites, encoding="unicode") + "\n"


def report_json(report):
    return json.dumps(report, indent=2, sort_keys=True, default=str) + "\n"
