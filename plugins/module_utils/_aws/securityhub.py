# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Private service layer: the only place that calls Security Hub.

GetFindings is paginated 100 findings a page and paced to its documented 3
requests per second; BatchUpdateFindings sends at most 100 findings a call, paced
to 10 per second. Retries, timeouts and error messages come from _aws.

This is a private module: its interface may change without notice.
"""

from __future__ import annotations

from ansible_collections.keyguard.kms.plugins.module_utils._rules import findings
from ansible_collections.keyguard.kms.plugins.module_utils._aws.service import AwsService

DEFAULT_RATE_LIMITS = {"GetFindings": 3.0, "BatchUpdateFindings": 10.0}
PAGE_SIZE = 100


class SecurityHubService(AwsService):
    """Security Hub calls for one account and Region (or the aggregation Region)."""

    CLIENT = "securityhub"
    RATE_LIMITS = DEFAULT_RATE_LIMITS
    IAM_PREFIX = "securityhub"
    SERVICE = "Security Hub"
    HINTS = {
        "InvalidAccessException": "Security Hub is not enabled for this account in this Region: enable it, or read "
        "the findings in the aggregation Region or from the administrator account",
        "InvalidInputException": "check the filters and values given",
        "ResourceNotFoundException": "check the Region: Security Hub has no such resource there",
    }

    def get_findings(self, filters):
        """Every finding matching ``filters``, all pages."""
        return self._pages("GetFindings", "get_findings", "Findings", Filters=filters, MaxResults=PAGE_SIZE)

    def batch_update_findings(self, identifiers, workflow_status=None, note=None, updated_by=None):
        """(processed identifiers, unprocessed entries) of one call; at most 100 findings."""
        if len(identifiers) > findings.UPDATE_BATCH_MAX:
            raise ValueError("BatchUpdateFindings takes at most %d findings a call" % findings.UPDATE_BATCH_MAX)
        params = {"FindingIdentifiers": identifiers}
        if workflow_status is not None:
            params["Workflow"] = {"Status": workflow_status}
        if note is not None:
            params["Note"] = {"Text": note, "UpdatedBy": updated_by}
        answer = self._call("BatchUpdateFindings", "batch_update_findings", **params)
        return answer.get("ProcessedFindings", []), answer.get("UnprocessedFindings", [])
