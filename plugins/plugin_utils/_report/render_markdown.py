# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The run report for people: Markdown.

This is a private module: its interface may change without notice.
"""

from __future__ import annotations

from ansible_collections.keyguard.kms.plugins.module_utils._rules import rotation
from ansible_collections.keyguard.kms.plugins.plugin_utils._report.model import REPORT_COMPLIANCE_VALUES
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
            _cell(k["before"]["reason"]), rotation.rotation_text(k["before"], "cell"), _cell(k["actions"]),
            k["after"]["compliance"], rotation.rotation_text(k["after"], "cell")))
    return "\n".join(lines) + "\n"
