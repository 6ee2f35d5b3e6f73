"""moto's Security Hub with what the collection relies on, as the API reference documents it.

moto 5.2 serves GetFindings without applying its filters and has no
BatchUpdateFindings. This adds:

* GetFindings: every string filter the collection uses (EQUALS, PREFIX, CONTAINS
  and their negations; positive values ORed, negative ones ANDed, fields ANDed), at
  most 10 filter attributes and 20 values each, MaxResults 1-100 and NextToken;
  an attribute the emulator does not know is refused rather than ignored.
* BatchUpdateFindings: 1-100 finding identifiers, ProcessedFindings and
  UnprocessedFindings (FindingNotFound, DuplicatedFindingIdentifier), Workflow.Status
  validated, Note.Text of 1-512 characters with UpdatedBy, only the fields a customer
  may update changed, the finding's UpdatedAt left alone.

Quotas and throttling (GetFindings 3/s, BatchUpdateFindings 10/s) come from faults.py.
"""

import datetime
import functools
import json

from moto.securityhub import urls as securityhub_urls
from moto.securityhub.exceptions import InvalidInputException
from moto.securityhub.models import SecurityHubBackend
from moto.securityhub.responses import SecurityHubResponse
from moto.utilities.paginator import paginate

MAX_FILTER_ATTRIBUTES = 10
MAX_FILTER_VALUES = 20
MAX_UPDATE_IDENTIFIERS = 100
NOTE_MAX_LENGTH = 512
WORKFLOW_STATUSES = ("NEW", "NOTIFIED", "RESOLVED", "SUPPRESSED")
POSITIVE = ("EQUALS", "PREFIX", "CONTAINS")
NEGATIVE = ("NOT_EQUALS", "PREFIX_NOT_EQUALS", "NOT_CONTAINS")


def _nested(*path):
    def get(finding):
        value = finding
        for part in path:
            value = (value or {}).get(part)
        return value
    return get


def _resources(field):
    return lambda finding: [resource.get(field) for resource in finding.get("Resources") or []]


FIELDS = {
    "Id": _nested("Id"),
    "ProductArn": _nested("ProductArn"),
    "GeneratorId": _nested("GeneratorId"),
    "AwsAccountId": _nested("AwsAccountId"),
    "Region": _nested("Region"),
    "Title": _nested("Title"),
    "RecordState": _nested("RecordState"),
    "ComplianceStatus": _nested("Compliance", "Status"),
    "ComplianceSecurityControlId": _nested("Compliance", "SecurityControlId"),
    "WorkflowStatus": _nested("Workflow", "Status"),
    "ResourceType": _resources("Type"),
    "ResourceId": _resources("Id"),
}


def _matches(value, comparison, wanted):
    value = value or ""
    if comparison in ("EQUALS", "NOT_EQUALS"):
        hit = value == wanted
    elif comparison in ("PREFIX", "PREFIX_NOT_EQUALS"):
        hit = value.startswith(wanted)
    else:
        hit = wanted in value
    return hit if comparison in POSITIVE else not hit


def _field_matches(values, conditions):
    values = values if isinstance(values, list) else [values]
    positive = [c for c in conditions if c["Comparison"] in POSITIVE]
    negative = [c for c in conditions if c["Comparison"] in NEGATIVE]
    if positive and not any(_matches(v, c["Comparison"], c["Value"]) for c in positive for v in values):
        return False
    return all(all(_matches(v, c["Comparison"], c["Value"]) for v in values) for c in negative)


def check_filters(filters):
    filters = filters or {}
    used = [name for name, conditions in filters.items() if conditions]
    if len(used) > MAX_FILTER_ATTRIBUTES:
        raise InvalidInputException(op="GetFindings", msg="You can filter by up to %d finding attributes"
                                    % MAX_FILTER_ATTRIBUTES)
    for name in used:
        if name not in FIELDS:
            raise InvalidInputException(op="GetFindings", msg="the emulator does not implement filter %s" % name)
        if len(filters[name]) > MAX_FILTER_VALUES:
            raise InvalidInputException(op="GetFindings", msg="You can provide up to %d filter values for %s"
                                        % (MAX_FILTER_VALUES, name))
        for condition in filters[name]:
            if condition.get("Comparison") not in POSITIVE + NEGATIVE or "Value" not in condition:
                raise InvalidInputException(op="GetFindings", msg="invalid string filter for %s" % name)
    return dict((name, filters[name]) for name in used)


# moto's paginator finds its settings by the function's name, hence get_findings.
@paginate(pagination_model=SecurityHubBackend.PAGINATION_MODEL)
def get_findings(self, filters=None, sort_criteria=None, max_results=None):  # pylint: disable=unused-argument
    if max_results is not None and not 1 <= int(max_results) <= 100:
        raise InvalidInputException(op="GetFindings", msg="MaxResults must be a number between 1 and 100")
    filters = check_filters(filters)
    return [finding.as_dict() for finding in self.findings
            if all(_field_matches(FIELDS[name](finding.as_dict()), conditions) for name, conditions in filters.items())]


def _batch_update_findings(self, identifiers, workflow=None, note=None):
    if not 1 <= len(identifiers or []) <= MAX_UPDATE_IDENTIFIERS:
        raise InvalidInputException(op="BatchUpdateFindings",
                                    msg="FindingIdentifiers must contain 1 to %d findings" % MAX_UPDATE_IDENTIFIERS)
    if workflow is not None and workflow.get("Status") not in WORKFLOW_STATUSES:
        raise InvalidInputException(op="BatchUpdateFindings", msg="Workflow.Status must be one of %s"
                                    % ", ".join(WORKFLOW_STATUSES))
    if note is not None:
        text, updated_by = note.get("Text"), note.get("UpdatedBy")
        if not text or len(text) > NOTE_MAX_LENGTH or not updated_by:
            raise InvalidInputException(op="BatchUpdateFindings",
                                        msg="Note needs Text of 1 to %d characters and UpdatedBy" % NOTE_MAX_LENGTH)
    by_identifier = dict(((f.data["Id"], f.data["ProductArn"]), f) for f in self.findings)
    processed, unprocessed, seen = [], [], set()
    for identifier in identifiers:
        key = (identifier.get("Id"), identifier.get("ProductArn"))
        if key in seen:
            unprocessed.append({"FindingIdentifier": identifier, "ErrorCode": "DuplicatedFindingIdentifier",
                                "ErrorMessage": "Finding Identifier is duplicated"})
            continue
        seen.add(key)
        finding = by_identifier.get(key)
        if finding is None:
            unprocessed.append({"FindingIdentifier": identifier, "ErrorCode": "FindingNotFound",
                                "ErrorMessage": "Finding Not Found"})
            continue
        # Customer-editable fields only; UpdatedAt is the finding provider's and stays.
        if workflow is not None:
            finding.data["Workflow"] = {"Status": workflow["Status"]}
        if note is not None:
            finding.data["Note"] = {"Text": note["Text"], "UpdatedBy": note["UpdatedBy"],
                                    "UpdatedAt": datetime.datetime.now(datetime.timezone.utc).isoformat()}
        processed.append({"Id": key[0], "ProductArn": key[1]})
    return processed, unprocessed


def _batch_update_findings_response(self):
    params = json.loads(self.body) if self.body else {}
    processed, unprocessed = self.securityhub_backend.batch_update_findings(
        params.get("FindingIdentifiers"), params.get("Workflow"), params.get("Note"))
    return json.dumps({"ProcessedFindings": processed, "UnprocessedFindings": unprocessed})


@functools.cache  # moto is patched once per process
def apply_securityhub_rules():
    """Patch moto so that its Security Hub answers as AWS documents (idempotent)."""
    SecurityHubBackend.get_findings = get_findings
    SecurityHubBackend.batch_update_findings = _batch_update_findings
    SecurityHubResponse.batch_update_findings = _batch_update_findings_response
    securityhub_urls.url_paths["{0}/findings/batchupdate$"] = SecurityHubResponse.dispatch


def all_findings():
    """Every finding of every account and Region, for state comparisons."""
    from moto.securityhub.models import securityhub_backends  # pylint: disable=import-outside-toplevel
    found = []
    for account_id in sorted(securityhub_backends.keys()):
        for region in sorted(securityhub_backends[account_id].keys()):
            for finding in securityhub_backends[account_id][region].findings:
                found.append({"account": account_id, "region": region, "finding": finding.as_dict()})
    return found
