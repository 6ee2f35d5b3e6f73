# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's filters: the ones documented, and what they give."""

from __future__ import annotations

import glob
import json
import os

from ansible_collections.keyguard.kms.plugins.filter.rotation import FilterModule

FILTERS = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "plugins", "filter")


def test_every_filter_has_its_documentation_and_no_more():
    documented = set(os.path.basename(path)[:-4] for path in glob.glob(os.path.join(FILTERS, "*.yml")))
    assert set(FilterModule().filters()) == documented


def test_keys_to_verify_and_the_renderings():
    filters = FilterModule().filters()
    changed = {"key_arn": "a", "actions": ["EnableKeyRotation"], "compliance": "NON_COMPLIANT"}
    failed = {"key_arn": "b", "actions": [], "compliance": "ERROR"}
    untouched = {"key_arn": "c", "actions": [], "compliance": "COMPLIANT"}
    assert filters["rotation_keys_to_verify"]([changed, untouched], [failed, changed]) == ["a", "b"]
    key = {"key_id": "k", "key_arn": "arn:aws:kms:us-east-1:111122223333:key/k", "region": "us-east-1",
           "aliases": [], "key_state": "Enabled", "rotation_enabled": True, "rotation_period_days": 365,
           "compliance": "COMPLIANT", "reason": None, "message": "ok"}
    report = filters["rotation_report"]([key], metadata={"target": "t", "check_mode": True})
    assert json.loads(filters["rotation_report_json"](report))["summary"]["total"] == 1
    assert "| k |" in filters["rotation_report_markdown"](report)
    assert 'tests="1"' in filters["rotation_report_junit"](report)
