# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Filters over rotation results and reports: what to verify, and the report in three formats."""

from __future__ import annotations

from ansible_collections.keyguard.kms.plugins.plugin_utils._report import build
from ansible_collections.keyguard.kms.plugins.plugin_utils._report.render_json import report_json
from ansible_collections.keyguard.kms.plugins.plugin_utils._report.render_junit import report_junit
from ansible_collections.keyguard.kms.plugins.plugin_utils._report.render_markdown import report_markdown
from ansible_collections.keyguard.kms.plugins.plugin_utils._role import phases


class FilterModule:
    def filters(self):
        return {
            "rotation_keys_to_verify": phases.keys_to_verify,
            "rotation_report": build.build_report,
            "rotation_report_markdown": report_markdown,
            "rotation_report_junit": report_junit,
            "rotation_report_json": report_json,
        }
