# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The run report for machines: JSON, as roles/rotation/files/report.schema.json describes it.

This is a private module: its interface may change without notice.
"""

from __future__ import annotations

import json


def report_json(report):
    return json.dumps(report, indent=2, sort_keys=True, default=str) + "\n"
