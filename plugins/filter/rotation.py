# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Filters over rotation results and reports: what to verify, and the report in three formats."""

from __future__ import annotations

import datetime

from ansible_collections.keyguard.kms.plugins.plugin_utils import _report


def rotation_keys_to_verify(results, *more_results):
    return _report.keys_to_verify(results, *more_results)


def rotation_finding_updates(findings, settings, discovery=None, plan=None, rescued=None, enforced=None,
                             verified=None):
    """What the rotation role records on each finding, from its registered task results."""
    now = datetime.datetime.now(datetime.timezone.utc)
    found, _error = _report.findings_outcome(findings, settings, (discovery or {}).get("kms_keys") or [])
    report = _report.run_report(settings, discovery or {}, plan or {}, rescued or {}, enforced or {}, verified or {},
                                now, findings=findings)
    return _report.finding_updates(report, found, settings, now.strftime("%Y-%m-%dT%H:%M:%SZ"))


def rotation_targets(kms_keys, exempt_keys=None, exempt_tags=None, state="enabled", batch_size=500):
    """Deprecated: the rotation_plan action plugin does this now; kept with its old output for this release."""
    del state  # the verdicts in kms_keys already say which keys need a rotation change
    exemptions = [entry if isinstance(entry, dict) else {"key": entry} for entry in exempt_keys or []]
    settings = {
        "pending_deletion": "cancel",
        "exempt_keys": [{"key": entry["key"], "reason": entry.get("reason") or "listed in rotation_exempt_keys"}
                        for entry in exemptions],
        "exempt_tags": _report.selection.normalize_tag_filter(exempt_tags),
    }
    plan = _report.plan_phases(kms_keys, settings)
    by_arn = dict((key["key_arn"], key["region"]) for key in kms_keys)

    def batches(arns):
        per_region = {}
        for arn in arns:
            per_region.setdefault(by_arn[arn], []).append(arn)
        return [{"region": region, "key_arns": keys[start:start + batch_size]}
                for region, keys in sorted(per_region.items()) for start in range(0, len(keys), batch_size)]

    return {"exempt": plan["exempt"], "rescue": batches(plan["rescue"]), "enforce": batches(plan["enforce"])}


class FilterModule:
    def filters(self):
        return {
            "rotation_keys_to_verify": rotation_keys_to_verify,
            "rotation_finding_updates": rotation_finding_updates,
            "rotation_report": _report.build_report,
            "rotation_report_markdown": _report.report_markdown,
            "rotation_report_junit": _report.report_junit,
            "rotation_report_json": _report.report_json,
            "rotation_targets": rotation_targets,
            "rotation_verify_failures": _report.verify_failures,
        }
