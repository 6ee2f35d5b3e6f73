# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The run report for people: Markdown.

This is a private module: its interface may change without notice.
"""

from __future__ import annotations

from ansible_collections.keyguard.kms.plugins.module_utils._rules import rotation
from ansible_collections.keyguard.kms.plugins.plugin_utils._report.model import REPORT_COMPLIANCE_VALUES
from ansible_collections.keyguard.kms.plugins.module_utils._rules.plans import PLAN_REASONS
from ansible_collections.keyguard.kms.plugins.plugin_utils._report.model import WAITING_REASONS
from ansible_collections.keyguard.kms.plugins.plugin_utils._report.model import owner_reasons
_MARKDOWN_ESCAPES = str.maketrans({"|": "\\|", "\n": " ", "\r": " ", "<": "&lt;", ">": "&gt;", "[": "\\[",
                                   "]": "\\]", "`": "\\`"})


def _cell(value):
    """A table cell; names and notes come from AWS accounts and people, so nothing in them may render as markup."""
    if value is None or value == []:
        return "-"
    if isinstance(value, list):
        value = ", ".join(str(item) for item in value)
    return str(value).translate(_MARKDOWN_ESCAPES)


def _mode_text(run):
    if run.get("mode") == "report":
        return "report (discovery only: nothing was or would be changed)"
    if run.get("check_mode"):
        return "remediate in check mode (nothing was changed; actions are planned)"
    return "remediate"


def _table(title, columns, rows, align=None):
    """A titled Markdown table; ``rows`` hold their cells already rendered."""
    rule = "|" + "|".join(align or ["---"] * len(columns)) + "|"
    return ["", "## " + title, "", "| " + " | ".join(columns) + " |", rule] + [
        "| " + " | ".join(row) + " |" for row in rows]


def _header(run, summary):
    return [
        "# KMS key rotation report: %s" % _cell(run.get("target")),
        "",
        "| | |",
        "|---|---|",
        "| Account | %s |" % _cell("%s (%s)" % (run.get("account_id"), run["account_name"])
                                   if run.get("account_name") else run.get("account_id")),
    ] + (["| OU path | %s |" % _cell(run["ou_path"])] if run.get("ou_path") else []) + [
        "| Regions | %s |" % _cell(run.get("regions")),
        "| Mode | %s |" % _mode_text(run),
        "| Started / finished | %s / %s |" % (_cell(run.get("started")), _cell(run.get("finished"))),
        "| Result | **%s** |" % ("COMPLIANT" if summary["compliant"] else "NOT COMPLIANT"),
    ]


def _summary(run, summary):
    lines = _table("Summary", ["compliance", "before", "after"], [
        [value, "%d" % summary["before"][value], "%d" % summary["after"][value]] for value in REPORT_COMPLIANCE_VALUES],
        ["---", "---:", "---:"])
    changing = run.get("check_mode") or run.get("mode") == "report"
    return lines + ["", "%d of %d keys %s; actions: %s." % (
        summary["keys_changed"], summary["total"], "would change" if changing else "changed",
        _cell(["%s x%d" % item for item in sorted(summary["actions"].items())]) if summary["actions"] else "none")]


def _problems(report):
    lines = []
    if report["errors"]:
        lines += _table("Errors", ["key", "region", "message"], [
            [_cell(e["key_arn"]), _cell(e["region"]), _cell(e["message"])] for e in report["errors"]])
    for warning in report["run"].get("warnings") or []:
        lines += ["", "> %s" % warning.replace("\n", " ")]
    half_done = [k for k in report["keys"] if k["finish_command"]]
    if half_done:
        lines += _table("Left half-way: finish these by hand", ["key", "region", "state now", "finish with"], [
            [_cell(k["key_id"]), k["region"], _cell(k["after"]["key_state"]), "`%s`" % k["finish_command"]]
            for k in half_done])
    failing = [k for k in report["keys"] if k["after"]["compliance"] == rotation.NON_COMPLIANT]
    left_to_owner = owner_reasons(report["run"].get("settings"))
    waiting = WAITING_REASONS
    by_plan = PLAN_REASONS
    for title, group in (
        ("Still not compliant", [k for k in failing if k["after"]["reason"] not in left_to_owner + waiting + by_plan]),
        ("Left by the approved plan: not in it, or changed since it was approved (make a new plan)",
         [k for k in failing if k["after"]["reason"] in by_plan]),
        ("Needs the key owner: disabled keys, deletions the run keeps, imported material to renew, on-demand "
         "rotations kept in reserve",
         [k for k in failing if k["after"]["reason"] in left_to_owner]),
        ("Waiting for KMS: new key material is on its way, the next run checks it",
         [k for k in failing if k["after"]["reason"] in waiting]),
    ):
        if group:
            lines += _table(title, ["key", "region", "reason", "message"], [
                [_cell(k["key_id"]), k["region"], _cell(k["after"]["reason"]), _cell(k["message"])] for k in group])
    return lines


def _decisions(report):
    lines = []
    if report["exemptions"]:
        lines += _table("Exemptions", ["key", "region", "state", "reason", "source"], [
            [_cell(e["key_id"]), e["region"], _cell(e["key_state"]), _cell(e["reason"]), _cell(e.get("source"))]
            for e in report["exemptions"]])
    if report.get("findings"):
        lines += _table("Security Hub findings", [
            "finding", "control", "key", "workflow before", "workflow after", "update", "note"], [
            [_cell(f["finding_id"]), _cell(f["control_id"]), _cell(f["key_arn"]), _cell(f["workflow_before"]),
             _cell(f["workflow_after"]), f["update"],
             _cell(f["error"] or " - ".join(part for part in (f["note_after"], f.get("kept")) if part))]
            for f in report["findings"]])
    return lines


def _material_age(entry):
    age = (entry.get("evidence") or {}).get("key_material_age_days")
    return "-" if age is None else "%d d" % age


def _all_keys(report):
    return _table("All keys", [
        "key", "aliases", "region", "before", "reason", "rotation before", "actions", "after", "rotation after",
        "material age"], [
        [_cell(k["key_id"]), _cell(k["aliases"]), k["region"], k["before"]["compliance"], _cell(k["before"]["reason"]),
         rotation.rotation_text(k["before"], "cell"), _cell(k["actions"]), k["after"]["compliance"],
         rotation.rotation_text(k["after"], "cell"), _material_age(k)] for k in report["keys"]])


def report_markdown(report):
    """The report for people: what was found and done first, then what needs someone, then every key."""
    lines = _header(report["run"], report["summary"]) + _summary(report["run"], report["summary"])
    lines += _problems(report) + _decisions(report) + _all_keys(report)
    return "\n".join(lines) + "\n"
