# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The Organization report in five formats: JSON for machines, CSV for spreadsheets and audit evidence, Markdown
and JUnit as the per-host reports have them, and one self-contained HTML page for people.

The page asks nothing of any other host: its CSS, charts (SVG) and the script that searches, sorts and pages
the table of every key are inline, so it works opened from disk with no network.

This is a private module: its interface may change without notice.
"""

from __future__ import annotations

import csv
import html
import io
import json
from xml.etree import ElementTree

from ansible_collections.keyguard.kms.plugins.plugin_utils._report.render_junit import key_case
from ansible_collections.keyguard.kms.plugins.plugin_utils._report.render_junit import xml_document
from ansible_collections.keyguard.kms.plugins.plugin_utils._report.render_markdown import _cell
from ansible_collections.keyguard.kms.plugins.plugin_utils._report.render_markdown import _table

CSV_COLUMNS = ("account_id", "account_name", "ou_path", "host", "region", "key_id", "key_arn", "aliases",
               "compliance", "reason", "key_state", "rotation_enabled", "rotation_period_days", "creation_date",
               "next_rotation_date", "last_rotation_date", "last_rotation_type", "key_material_age_days",
               "on_demand_rotations_left", "actions",
               "exemption_reason", "message")


def organization_json(report):
    return json.dumps(report, indent=2, sort_keys=True, default=str) + "\n"


def _csv_value(value):
    if isinstance(value, list):
        return " ".join(str(item) for item in value)
    text = "" if value is None else str(value)
    # A spreadsheet runs a cell that starts like a formula; names come from member accounts.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def organization_csv(report):
    stream = io.StringIO()
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in report["keys"]:
        writer.writerow([_csv_value(row.get(column)) for column in CSV_COLUMNS])
    return stream.getvalue()


def _percent(value):
    return "-" if value is None else "%s %%" % value


def organization_markdown(report):
    summary = report["summary"]
    lines = ["# KMS key rotation: the Organization", "", summary["line"] + ".", "",
             "Compliance: %s (%s)." % (_percent(summary["compliance_percent"]), report["run"]["formula"])]
    lines += _table("Per OU", ["OU path", "keys", "compliant", "non-compliant", "error", "exempt", "compliance"], [
        [_cell(group["ou_path"]), "%d" % group["total"], "%d" % group["COMPLIANT"], "%d" % group["NON_COMPLIANT"],
         "%d" % group["ERROR"], "%d" % group["EXEMPT"], _percent(group["compliance_percent"])]
        for group in report["by_ou"]])
    lines += _table("Per account", ["account", "name", "OU path", "keys", "compliance", "result", "plan"], [
        [_cell(account["account_id"]), _cell(account["account_name"]), _cell(account["ou_path"]),
         "%d" % account["total"], _percent(account["compliance_percent"]),
         "COMPLIANT" if account["compliant"] else "NOT COMPLIANT",
         "[%s](%s)" % ((_cell(account["plan_file"]),) * 2) if account.get("plan_file") else "-"]
        for account in report["by_account"]])
    for title, rows in (("Needs action", report["needs_action"]), ("Needs the key owner", report["needs_owner"])):
        if rows:
            lines += _table(title, ["account", "region", "key", "compliance", "reason", "message"], [
                [_cell(row["account_name"] or row["account_id"]), row["region"], _cell(row["key_id"]),
                 row["compliance"], _cell(row["reason"]), _cell(row["message"])] for row in rows])
    changed = report["trend"]
    if changed["previous"]:
        lines += ["", "## Since %s" % changed["previous"], "",
                  "%d newly non-compliant, %d fixed, %d new keys, %d keys gone, %d still failing." % (
                      len(changed["newly_non_compliant"]), len(changed["fixed"]), len(changed["new_keys"]),
                      len(changed["keys_gone"]), len(changed["still_failing"]))]
    return "\n".join(lines) + "\n"


def organization_junit(report):
    """One test suite per account, one test case per key."""
    suites = ElementTree.Element("testsuites", name="keyguard.kms organization")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    by_host = {}
    for row in report["keys"]:
        by_host.setdefault(row["host"], []).append(row)
    for host, rows in sorted(by_host.items()):
        suite = ElementTree.SubElement(suites, "testsuite", name="keyguard.kms rotation %s" % host)
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        for row in rows:
            key_case(suite, counts, row["region"], row["key_id"], row["compliance"], row["reason"], row["message"],
                     row["exemption_reason"] or row["reason"])
        for name, value in counts.items():
            suite.set(name, str(value))
            totals[name] += value
    for name, value in totals.items():
        suites.set(name, str(value))
    return xml_document(suites)


_COLOURS = {"COMPLIANT": "#2e7d32", "NON_COMPLIANT": "#c62828", "ERROR": "#6a1b9a", "EXEMPT": "#757575",
            "NOT_APPLICABLE": "#bdbdbd"}
_BAR_ORDER = ("COMPLIANT", "NON_COMPLIANT", "ERROR", "EXEMPT", "NOT_APPLICABLE")


def _bars(groups, label, title, chart_id):
    """A horizontal stacked bar per group, worst compliance first, as inline SVG."""
    groups = sorted(groups, key=lambda group: (group["compliance_percent"] is None, group["compliance_percent"] or 0))
    height = 22 * len(groups) + 30
    parts = ['<svg id="%s" class="chart" role="img" aria-label="%s" width="900" height="%d">' % (
        chart_id, html.escape(title), height)]
    for index, group in enumerate(groups):
        y = 22 * index + 4
        parts.append('<text x="0" y="%d" class="label">%s</text>' % (y + 13, html.escape(str(group[label]))[:48]))
        x = 330.0
        total = group["total"] or 1
        for value in _BAR_ORDER:
            width = 450.0 * group.get(value, 0) / total
            if width:
                parts.append('<rect x="%.1f" y="%d" width="%.1f" height="16" fill="%s"><title>%s: %d</title></rect>'
                             % (x, y, width, _COLOURS[value], value, group[value]))
            x += width
        parts.append('<text x="790" y="%d" class="percent" data-percent="%s">%s</text>' % (
            y + 13, "" if group["compliance_percent"] is None else group["compliance_percent"],
            _percent(group["compliance_percent"])))
    parts.append("</svg>")
    return "".join(parts)


_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#212121;background:#fafafa}
h1{margin:0 0 4px}h2{margin-top:28px}.line{font-size:18px;margin:8px 0 16px}
.tiles{display:flex;gap:12px;flex-wrap:wrap}.tile{background:#fff;border-radius:8px;padding:12px 18px;
box-shadow:0 1px 3px rgba(0,0,0,.15);min-width:120px}.tile b{display:block;font-size:28px}
.chart .label{font-size:12px}.chart .percent{font-size:12px;font-weight:bold}
table{border-collapse:collapse;background:#fff;width:100%;font-size:13px}th,td{border-bottom:1px solid #e0e0e0;
padding:4px 8px;text-align:left}th{cursor:pointer;background:#eeeeee;position:sticky;top:0}
.COMPLIANT{color:#2e7d32}.NON_COMPLIANT{color:#c62828;font-weight:bold}.ERROR{color:#6a1b9a;font-weight:bold}
.legend span{display:inline-block;margin-right:14px}.legend i{display:inline-block;width:12px;height:12px;
margin-right:4px;vertical-align:middle}#search{padding:6px;width:320px;margin:8px 0}.pager button{margin:0 4px}
"""

_SCRIPT = """
(function(){
var rows=JSON.parse(document.getElementById('key-data').textContent);var cols=%s;
var state={query:'',sort:null,desc:false,page:0,size:200};
function visible(){var q=state.query.toLowerCase();var list=rows.filter(function(r){return !q||cols.some(
function(c){return String(r[c]==null?'':r[c]).toLowerCase().indexOf(q)>=0;});});
if(state.sort){list.sort(function(a,b){var x=a[state.sort],y=b[state.sort];x=x==null?'':x;y=y==null?'':y;
return (x>y?1:x<y?-1:0)*(state.desc?-1:1);});}return list;}
function draw(){var list=visible();var body=document.querySelector('#keys tbody');body.innerHTML='';
var start=state.page*state.size;list.slice(start,start+state.size).forEach(function(r){var tr=document.createElement('tr');
cols.forEach(function(c){var td=document.createElement('td');td.textContent=r[c]==null?'':r[c];
if(c==='compliance'){td.className=r[c];}tr.appendChild(td);});body.appendChild(tr);});
document.getElementById('count').textContent=list.length+' of '+rows.length+' keys';
document.getElementById('page').textContent='page '+(state.page+1)+' of '+Math.max(1,Math.ceil(list.length/state.size));}
document.getElementById('search').addEventListener('input',function(e){state.query=e.target.value;state.page=0;draw();});
document.querySelectorAll('#keys th').forEach(function(th){th.addEventListener('click',function(){
var c=th.getAttribute('data-column');state.desc=state.sort===c?!state.desc:false;state.sort=c;draw();});});
document.getElementById('prev').addEventListener('click',function(){if(state.page>0){state.page--;draw();}});
document.getElementById('next').addEventListener('click',function(){if((state.page+1)*state.size<visible().length)
{state.page++;draw();}});draw();})();
"""
_TABLE_COLUMNS = ("account_name", "account_id", "ou_path", "region", "key_id", "aliases", "compliance", "reason",
                  "key_state", "rotation_period_days", "last_rotation_date", "key_material_age_days")


def _text(value):
    if isinstance(value, list):
        return " ".join(str(item) for item in value)
    return "" if value is None else str(value)


def _rows_table(rows, columns):
    head = "".join("<th>%s</th>" % html.escape(column.replace("_", " ")) for column in columns)
    body = "".join("<tr>%s</tr>" % "".join('<td class="%s">%s</td>' % (
        html.escape(str(row.get(column))) if column == "compliance" else "",
        html.escape(_text(row.get(column)))) for column in columns) for row in rows)
    return "<table><thead><tr>%s</tr></thead><tbody>%s</tbody></table>" % (head, body)


def organization_html(report):
    summary = report["summary"]
    changed = report["trend"]
    tiles = [("accounts compliant", "%d / %d" % (summary["accounts_compliant"], summary["accounts"]), "accounts"),
             ("key compliance", _percent(summary["compliance_percent"]), "percent"),
             ("keys", "%d" % summary["keys"], "keys"),
             ("keys need action", "%d" % (summary["needs_action"] + summary["needs_owner"]), "needs-action"),
             ("of them, their owner's", "%d" % summary["needs_owner"], "needs-owner")]
    if changed["previous"]:
        tiles += [("newly failing", "%d" % len(changed["newly_non_compliant"]), "newly-failing"),
                  ("fixed", "%d" % len(changed["fixed"]), "fixed")]
    legend = "".join('<span><i style="background:%s"></i>%s</span>' % (_COLOURS[value], value) for value in _BAR_ORDER)
    action_rows = report["needs_action"] + report["needs_owner"]
    # The key data is JSON in a script element: "</" must not end it early, whatever a name holds.
    data = json.dumps([dict((column, _text(row.get(column)) if column == "aliases" else row.get(column))
                            for column in _TABLE_COLUMNS) for row in report["keys"]]).replace("</", "<\\/")
    trend_text = ("Since %s: %d newly non-compliant, %d fixed, %d new keys, %d keys gone, %d still failing." % (
        changed["previous"], len(changed["newly_non_compliant"]), len(changed["fixed"]), len(changed["new_keys"]),
        len(changed["keys_gone"]), len(changed["still_failing"]))) if changed["previous"] else \
        "No earlier Organization report in this folder: the trend starts with this run."
    parts = [
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">",
        "<title>KMS key rotation: the Organization</title><style>%s</style></head><body>" % _STYLE,
        "<h1>KMS key rotation: the Organization</h1>",
        '<p class="line" id="line">%s.</p>' % html.escape(summary["line"]),
        '<div class="tiles">%s</div>' % "".join('<div class="tile" id="tile-%s"><b>%s</b>%s</div>' % (
            tile_id, html.escape(value), html.escape(name)) for name, value, tile_id in tiles),
        '<h2>Since the previous run</h2><p id="trend">%s</p>' % html.escape(trend_text),
        '<h2>Needs action first</h2>%s' % (_rows_table(action_rows, (
            "account_name", "account_id", "region", "key_id", "compliance", "reason", "message"))
            if action_rows else "<p>Nothing: every key in scope is as wanted.</p>"),
        '<h2>Compliance per OU</h2><p class="legend">%s</p>%s' % (legend, _bars(
            report["by_ou"], "ou_path", "compliance per OU", "chart-ou")),
        "<h2>Compliance per account</h2>%s" % _bars([dict(account, label=account["account_name"] or account[
            "account_id"] or account["host"]) for account in report["by_account"]], "label", "compliance per account",
            "chart-account"),
        _plan_links(report["by_account"]),
        '<h2>Every key</h2><input id="search" type="search" placeholder="Search keys, accounts, OUs, reasons">',
        '<span id="count"></span><div class="pager"><button id="prev">previous</button><span id="page"></span>'
        '<button id="next">next</button></div>',
        '<table id="keys"><thead><tr>%s</tr></thead><tbody></tbody></table>' % "".join(
            '<th data-column="%s">%s</th>' % (column, column.replace("_", " ")) for column in _TABLE_COLUMNS),
        '<script type="application/json" id="key-data">%s</script>' % data,
        "<script>%s</script>" % (_SCRIPT % json.dumps(list(_TABLE_COLUMNS))),
        "<p>Compliance: %s.</p></body></html>" % html.escape(report["run"]["formula"]),
    ]
    return "\n".join(parts) + "\n"


def _plan_links(accounts):
    """Each account's plan, to approve: the files sit beside this page."""
    planned = [account for account in accounts if account.get("plan_file")]
    if not planned:
        return ""
    return '<h2>Plans to approve</h2><ul id="plans">%s</ul>' % "".join(
        '<li><a href="%s">%s</a></li>' % (html.escape(account["plan_file"], quote=True), html.escape(
            account["account_name"] or account["account_id"] or account["host"])) for account in planned)


ORGANIZATION_RENDERERS = {
    "json": ("organization.json", organization_json),
    "csv": ("organization.csv", organization_csv),
    "markdown": ("organization.md", organization_markdown),
    "junit": ("organization.junit.xml", organization_junit),
    "html": ("organization.html", organization_html),
}
