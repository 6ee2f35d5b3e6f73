# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The run report for CI systems: JUnit XML, one test case per key.

This is a private module: its interface may change without notice.
"""

from __future__ import annotations

from xml.etree import ElementTree

from ansible_collections.keyguard.kms.plugins.module_utils._rules import rotation
from ansible_collections.keyguard.kms.plugins.plugin_utils._report.model import EXEMPT


def key_case(suite, counts, region, name, compliance, reason, failure_text, skipped_message):
    """One key's test case: an error for a key in error, a failure for a non-compliant one, skipped for one not
    applicable or exempt; ``counts`` (tests, failures, errors, skipped) are kept up."""
    counts["tests"] += 1
    case = ElementTree.SubElement(suite, "testcase", classname="KMS.4.%s" % region, name=name)
    if compliance == rotation.ERROR:
        counts["errors"] += 1
        ElementTree.SubElement(case, "error", message=str(reason)).text = failure_text or ""
    elif compliance == rotation.NON_COMPLIANT:
        counts["failures"] += 1
        ElementTree.SubElement(case, "failure", message=str(reason)).text = failure_text or ""
    elif compliance in (rotation.NOT_APPLICABLE, EXEMPT):
        counts["skipped"] += 1
        ElementTree.SubElement(case, "skipped", message=str(skipped_message))
    return case


def xml_document(suites):
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(suites, encoding="unicode") + "\n"


def report_junit(report):
    """JUnit XML: one test case per key; failures are non-compliant keys, errors are keys in error."""
    run = report["run"]
    suite_name = "keyguard.kms rotation %s" % (run.get("target") or "")
    suites = ElementTree.Element("testsuites", name="keyguard.kms")
    suite = ElementTree.SubElement(suites, "testsuite", name=suite_name.strip())
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for key in report["keys"]:
        label = key["key_id"] + (" (%s)" % ", ".join(key["aliases"]) if key["aliases"] else "")
        after = key["after"]
        case = key_case(suite, counts, key["region"], label, after["compliance"], after["reason"],
                        key["error"] if after["compliance"] == rotation.ERROR else key["message"],
                        key["exemption_reason"] if key["exempt"] else after["reason"])
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
    return xml_document(suites)
