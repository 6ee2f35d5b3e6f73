# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The report formats: a file suffix and a renderer each. A new format is a new render_<format> module and a line here.

This is a private module: its interface may change without notice.
"""

from __future__ import annotations

from ansible_collections.keyguard.kms.plugins.plugin_utils._report.render_json import report_json
from ansible_collections.keyguard.kms.plugins.plugin_utils._report.render_junit import report_junit
from ansible_collections.keyguard.kms.plugins.plugin_utils._report.render_markdown import report_markdown

RENDERERS = {"json": (".json", report_json), "markdown": (".md", report_markdown), "junit": (".junit.xml", report_junit)}
