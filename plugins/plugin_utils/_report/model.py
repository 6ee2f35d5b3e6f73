# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What a run report is made of: the values a verdict can take, and whose keys are left to their owners.

This is a private module: its interface may change without notice.
"""

from __future__ import annotations

from ansible_collections.keyguard.kms.plugins.module_utils._rules import material
from ansible_collections.keyguard.kms.plugins.module_utils._rules import rotation

REPORT_SCHEMA_VERSION = 1
EXEMPT = "EXEMPT"
REPORT_COMPLIANCE_VALUES = rotation.COMPLIANCE_VALUES + (EXEMPT,)
KMS3, KMS4 = "KMS.3", "KMS.4"
# Non-compliant keys the run leaves to their owner: they never fail a remediation run.
OWNER_REASONS = (rotation.KEY_DISABLED,) + material.OWNER_REASONS
# Non-compliant keys whose new key material is on its way (KMS is rotating, or about to): they never fail a run.
WAITING_REASONS = material.WAITING_REASONS


def owner_reasons(run_settings):
    """The reasons that leave a key to its owner; with pending_deletion keep, a scheduled deletion is one."""
    if (run_settings or {}).get("pending_deletion") == "keep":
        return OWNER_REASONS + (rotation.PENDING_DELETION,)
    return OWNER_REASONS


FINDING_UPDATES = ("updated", "planned", "unchanged", "failed", "none")
