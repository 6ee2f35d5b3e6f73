# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Organization report: counts per OU, account and Region, what needs whom, the trend, five renderings."""

from __future__ import annotations

import csv
import io
import json
import re
from xml.etree import ElementTree

from ansible_collections.keyguard.kms.plugins.plugin_utils._report import organization
from ansible_collections.keyguard.kms.plugins.plugin_utils._report import render_organization as render


def entry(key_id, compliance, reason=None, region="us-east-1", state="Enabled", actions=(), exempt=None):
    verdict = {"compliance": compliance, "reason": reason, "key_state": state, "rotation_enabled": compliance == "COMPLIANT",
               "rotation_period_days": 365 if compliance == "COMPLIANT" else None}
    return {"key_id": key_id, "key_arn": "arn:aws:kms:%s:1:key/%s" % (region, key_id), "region": region,
            "aliases": ["alias/%s" % key_id], "exempt": bool(exempt), "exemption_reason": exempt, "before": verdict,
            "actions": list(actions), "after": verdict, "message": "m", "error": None}


def host_report(host, account, name, ou, keys, compliant=True):
    return {"run": {"target": host, "account_id": account, "account_name": name, "ou_path": ou},
            "summary": {"compliant": compliant}, "keys": keys, "errors": []}


def reports():
    return [
        host_report("pay", "111111111111", "payments", "Root/Prod", [
            entry("a", "COMPLIANT", actions=["EnableKeyRotation"]), entry("b", "NON_COMPLIANT", "ROTATION_DISABLED"),
            entry("c", "NOT_APPLICABLE", "ASYMMETRIC"), entry("d", "EXEMPT", exempt="CHG-1")], compliant=False),
        host_report("ord", "222222222222", "=cmd|' /C calc'!A0", "Root/Prod", [
            entry("e", "COMPLIANT", region="eu-west-1"), entry("f", "NON_COMPLIANT", "KEY_DISABLED", state="Disabled")]),
    ]


def test_percentages_leave_not_applicable_and_exempt_out_and_say_so():
    report = organization.build_organization(reports(), ["broken-host"], None, "2026-12-01T10:00:00Z", "report")
    summary = report["summary"]
    assert (summary["keys"], summary["accounts"], summary["accounts_compliant"]) == (6, 2, 1)
    assert summary["compliance_percent"] == 50.0  # 2 compliant of 4 judged (2 not applicable or exempt left out)
    assert summary["hosts_without_report"] == ["broken-host"]
    assert summary["line"] == "1 of 2 accounts compliant; 2 keys need action, 1 of them disabled"
    assert [(group["ou_path"], group["compliance_percent"]) for group in report["by_ou"]] == [("Root/Prod", 50.0)]
    assert [(group["region"], group["total"]) for group in report["by_region"]] == [("eu-west-1", 1), ("us-east-1", 5)]
    assert [row["key_id"] for row in report["needs_action"]] == ["b"]
    assert [row["key_id"] for row in report["needs_owner"]] == ["f"]
    assert [row["key_id"] for row in report["exemptions"]] == ["d"] and [row["key_id"] for row in report["changes"]] == ["a"]
    assert "NOT_APPLICABLE and EXEMPT are left out" in report["run"]["formula"]


def test_the_trend_says_what_changed_and_how_long_keys_have_been_failing():
    first = organization.build_organization(reports(), [], None, "2026-12-01T10:00:00Z", "report")
    later = reports()
    later[0]["keys"][1] = entry("b", "COMPLIANT")  # fixed
    later[1]["keys"][0] = entry("e", "ERROR", "AccessDeniedException", region="eu-west-1")  # newly failing
    del later[0]["keys"][0]  # gone
    later[1]["keys"].append(entry("g", "COMPLIANT"))  # new
    second = organization.build_organization(later, [], first, "2026-12-02T10:00:00Z", "report")
    third = organization.build_organization(later, [], second, "2026-12-03T10:00:00Z", "report")
    changed = second["trend"]
    assert changed["previous"] == "2026-12-01T10:00:00Z"
    assert [arn.rsplit("/", 1)[1] for arn in changed["fixed"]] == ["b"]
    assert [arn.rsplit("/", 1)[1] for arn in changed["newly_non_compliant"]] == ["e"]
    assert [arn.rsplit("/", 1)[1] for arn in changed["new_keys"]] == ["g"]
    assert [arn.rsplit("/", 1)[1] for arn in changed["keys_gone"]] == ["a"]
    assert [(item["key_arn"].rsplit("/", 1)[1], item["runs"]) for item in third["trend"]["still_failing"]] == [
        ("e", 2), ("f", 3)]


def test_csv_has_every_key_and_names_cannot_run_as_formulas():
    report = organization.build_organization(reports(), [], None, "s", "report")
    rows = list(csv.DictReader(io.StringIO(render.organization_csv(report))))
    assert len(rows) == 6 and set(render.CSV_COLUMNS) == set(rows[0])
    by_key = dict((row["key_id"], row) for row in rows)
    assert by_key["e"]["account_name"].startswith("'=cmd"), "a name that starts like a formula is quoted"
    assert by_key["a"]["aliases"] == "alias/a" and by_key["a"]["ou_path"] == "Root/Prod"


def test_the_page_is_self_contained_and_shows_the_numbers_of_the_json():
    report = organization.build_organization(reports(), [], None, "s", "report")
    page = render.organization_html(report)
    assert not re.search(r"(src|href)\s*=|https?://|@import|url\(", page), "the page loads nothing from anywhere"
    assert "1 of 2 accounts compliant; 2 keys need action, 1 of them disabled." in page
    assert '<div class="tile" id="tile-percent"><b>50.0 %</b>' in page
    assert page.count('<svg id="chart-') == 2 and 'data-percent="50.0"' in page
    data = json.loads(re.search(r'<script type="application/json" id="key-data">(.*?)</script>', page, re.S).group(1))
    assert len(data) == 6 and "</script" not in page.split('id="key-data">')[1].split("</script>")[0]


def test_markdown_and_junit_per_account():
    report = organization.build_organization(reports(), [], None, "s", "report")
    markdown = render.organization_markdown(report)
    assert "## Per OU" in markdown and "## Needs action" in markdown and "## Needs the key owner" in markdown
    suites = ElementTree.fromstring(render.organization_junit(report).split("\n", 1)[1])
    assert (suites.get("tests"), suites.get("failures"), suites.get("skipped")) == ("6", "2", "2")
    assert len(suites.findall("testsuite")) == 2
