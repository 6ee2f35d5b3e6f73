# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Filters the rotation role uses to scope its phases and write its reports."""

from __future__ import annotations

from ansible_collections.keyguard.kms.plugins.plugin_utils import _report


class FilterModule:
    def filters(self):
        return {
            "rotation_targets": _report.rotation_targets,
            "rotation_verify_failures": _report.verify_failures,
            "rotation_report": _report.build_report,
            "rotation_report_markdown": _report.report_markdown,
            "rotation_report_junit": _report.report_junit,
            "rotation_report_json": _report.report_json,
        }
