# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The Organization report: every host's run report in one view, per OU, account and Region, with a trend.

Compliance percentage = COMPLIANT / (COMPLIANT + NON_COMPLIANT + ERROR) x 100, on each key's verdict after
the run; NOT_APPLICABLE and EXEMPT keys are counted but left out of the denominator. A group without a key
in the denominator has no percentage (null).

This is a private module: its interface may change without notice.
"""

from __future__ import annotations

from ansible_collections.keyguard.kms.plugins.module_utils._rules import rotation
from ansible_collections.keyguard.kms.plugins.plugin_utils._report import model
from ansible_collections.keyguard.kms.plugins.plugin_utils._report.build import EVIDENCE_FIELDS

ORGANIZATION_SCHEMA_VERSION = 1
# The compliance values that count in the percentage.
JUDGED = (rotation.COMPLIANT, rotation.NON_COMPLIANT, rotation.ERROR)


def percentage(counts):
    judged = sum(counts.get(value, 0) for value in JUDGED)
    return round(100.0 * counts.get(rotation.COMPLIANT, 0) / judged, 1) if judged else None


def _group(keys, field):
    groups = {}
    for key in keys:
        counts = groups.setdefault(key[field] or "-", dict((value, 0) for value in model.REPORT_COMPLIANCE_VALUES))
        counts[key["compliance"]] += 1
    return [dict(counts, **{field: name, "total": sum(counts.values()), "compliance_percent": percentage(counts)})
            for name, counts in sorted(groups.items())]


def _key_row(run, entry):
    after = entry["after"]
    return {
        "host": run["target"], "account_id": run.get("account_id"), "account_name": run.get("account_name"),
        "ou_path": run.get("ou_path"), "region": entry["region"], "key_id": entry["key_id"],
        "key_arn": entry["key_arn"], "aliases": entry["aliases"], "compliance": after["compliance"],
        "reason": after["reason"], "key_state": after["key_state"], "rotation_enabled": after["rotation_enabled"],
        "rotation_period_days": after["rotation_period_days"], "exemption_reason": entry["exemption_reason"],
        "actions": entry["actions"], "message": entry["error"] or entry["message"],
        **dict((field, (entry.get("evidence") or {}).get(field)) for field in EVIDENCE_FIELDS)
    }


def build_organization(reports, missing_hosts=(), previous=None, started=None, mode=None):
    """The Organization report of ``reports`` (each host's run report), with the trend since ``previous``
    (the last Organization report of the same folder, or None)."""
    keys, changes, errors = [], [], []
    accounts = []
    for report in sorted(reports, key=lambda item: item["run"]["target"]):
        run = report["run"]
        rows = [_key_row(run, entry) for entry in report["keys"]]
        keys.extend(rows)
        counts = dict((value, 0) for value in model.REPORT_COMPLIANCE_VALUES)
        for row in rows:
            counts[row["compliance"]] += 1
        accounts.append(dict(counts, host=run["target"], account_id=run.get("account_id"),
                             account_name=run.get("account_name"), ou_path=run.get("ou_path") or "-",
                             total=len(rows), compliance_percent=percentage(counts),
                             compliant=bool(report["summary"]["compliant"]), errors=len(report["errors"]),
                             plan_file=run.get("plan_file")))
        changes.extend(dict(row, check_mode=bool(run.get("check_mode"))) for row in rows if row["actions"])
        errors.extend(dict(error, host=run["target"]) for error in report["errors"] if error["key_arn"] is None)
    owners = model.OWNER_REASONS + (rotation.PENDING_DELETION,)
    needs_owner = [row for row in keys if row["compliance"] == rotation.NON_COMPLIANT and row["reason"] in owners]
    needs_action = [row for row in keys if row["compliance"] == rotation.ERROR or (
        row["compliance"] == rotation.NON_COMPLIANT and row not in needs_owner
        and row["reason"] not in model.WAITING_REASONS)]
    totals = dict((value, sum(1 for row in keys if row["compliance"] == value))
                  for value in model.REPORT_COMPLIANCE_VALUES)
    summary = dict(totals, keys=len(keys), accounts=len(accounts),
                   accounts_compliant=sum(1 for account in accounts if account["compliant"]),
                   compliance_percent=percentage(totals), needs_action=len(needs_action),
                   needs_owner=len(needs_owner), hosts_without_report=sorted(missing_hosts))
    summary["line"] = "%d of %d accounts compliant; %d keys need action, %d of them disabled" % (
        summary["accounts_compliant"], summary["accounts"], len(needs_action) + len(needs_owner),
        sum(1 for row in needs_owner if row["reason"] == rotation.KEY_DISABLED))
    return {
        "schema_version": ORGANIZATION_SCHEMA_VERSION,
        "run": {"started": started, "mode": mode, "formula": "COMPLIANT / (COMPLIANT + NON_COMPLIANT + ERROR); "
                "NOT_APPLICABLE and EXEMPT are left out"},
        "summary": summary,
        "by_ou": _group(keys, "ou_path"),
        "by_account": accounts,
        "by_region": _group(keys, "region"),
        "keys": keys,
        "needs_action": needs_action,
        "needs_owner": needs_owner,
        "exemptions": [row for row in keys if row["compliance"] == model.EXEMPT],
        "changes": changes,
        "errors": errors,
        "trend": trend(keys, previous),
    }


def _failing(row):
    return row["compliance"] in (rotation.NON_COMPLIANT, rotation.ERROR)


def trend(keys, previous):
    """What changed since the previous Organization report: keys newly failing, fixed, new, gone, and those
    still failing with the number of runs they have been failing."""
    if not previous:
        return {"previous": None, "newly_non_compliant": [], "fixed": [], "new_keys": [], "keys_gone": [],
                "still_failing": []}
    before = dict((row["key_arn"], row) for row in previous.get("keys") or [] if row.get("key_arn"))
    runs_failing = dict((item["key_arn"], item["runs"]) for item in (previous.get("trend") or {}).get(
        "still_failing") or [])
    now = dict((row["key_arn"], row) for row in keys if row["key_arn"])
    result = {"previous": (previous.get("run") or {}).get("started"), "newly_non_compliant": [], "fixed": [],
              "new_keys": sorted(set(now) - set(before)), "keys_gone": sorted(set(before) - set(now)),
              "still_failing": []}
    for arn, row in sorted(now.items()):
        old = before.get(arn)
        if old is None:
            continue
        if _failing(row) and not _failing(old):
            result["newly_non_compliant"].append(arn)
        elif not _failing(row) and _failing(old):
            result["fixed"].append(arn)
        elif _failing(row) and _failing(old):
            result["still_failing"].append({"key_arn": arn, "runs": runs_failing.get(arn, 1) + 1})
    return result
