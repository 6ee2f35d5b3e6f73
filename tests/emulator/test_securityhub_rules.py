"""Each Security Hub rule the emulator adds to moto answers as the API reference documents it."""

import json
import os
import sys
import urllib.request

import boto3
import botocore.config
import botocore.exceptions
import pytest


sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "harness"))

from findings import finding, import_findings  # noqa: E402  pylint: disable=wrong-import-position

NO_CLIENT_VALIDATION = botocore.config.Config(parameter_validation=False, retries={"max_attempts": 1})
REGION = "us-east-1"
KEY = "arn:aws:kms:us-east-1:%s:key/1234abcd-12ab-34cd-56ef-1234567890ab"


_accounts = iter(range(910000000001, 910000000999))


@pytest.fixture
def hub(server):
    account = str(next(_accounts))
    client = boto3.client("securityhub", endpoint_url=server, region_name=REGION, aws_access_key_id=account,
                          aws_secret_access_key="x", config=NO_CLIENT_VALIDATION)
    client.account = account
    client.server = server
    return client


def seeded(hub, count=3, **kwargs):
    made = [finding(hub.account, REGION, KEY % hub.account, **kwargs) for _number in range(count)]
    import_findings(hub, made)
    return made


def error_of(call, **params):
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        call(**params)
    return caught.value.response["Error"]["Code"], caught.value.response["Error"].get("Message")


def equals(*values):
    return [{"Value": value, "Comparison": "EQUALS"} for value in values]


def test_get_findings_applies_every_filter(hub):
    failed = seeded(hub, 2)
    seeded(hub, 1, compliance="PASSED", workflow="RESOLVED")
    seeded(hub, 1, control="KMS.3")
    seeded(hub, 1, record_state="ARCHIVED")
    other = finding(hub.account, REGION, "arn:aws:s3:::b", "S3.1", resource_type="AwsS3Bucket")
    import_findings(hub, [other])
    found = hub.get_findings(Filters={
        "ComplianceSecurityControlId": equals("KMS.4"), "ComplianceStatus": equals("FAILED"),
        "RecordState": equals("ACTIVE"), "ResourceType": equals("AwsKmsKey"),
        "WorkflowStatus": equals("NEW", "NOTIFIED")})["Findings"]
    assert sorted(f["Id"] for f in found) == sorted(f["Id"] for f in failed)
    prefix = hub.get_findings(Filters={"GeneratorId": [{"Value": "security-control/KMS", "Comparison": "PREFIX"}],
                                       "RecordState": [{"Value": "ARCHIVED", "Comparison": "NOT_EQUALS"}]})
    assert len(prefix["Findings"]) == 4


def test_get_findings_limits(hub):
    assert error_of(hub.get_findings, MaxResults=101)[0] == "InvalidInputException"
    assert error_of(hub.get_findings, Filters={"Id": equals(*["x%d" % n for n in range(21)])})[0] == \
        "InvalidInputException"
    eleven = dict((name, equals("x")) for name in ("Id", "ProductArn", "GeneratorId", "AwsAccountId", "Region", "Title",
                                                   "RecordState", "ComplianceStatus", "ComplianceSecurityControlId",
                                                   "WorkflowStatus", "ResourceType"))
    assert error_of(hub.get_findings, Filters=eleven)[0] == "InvalidInputException"
    assert error_of(hub.get_findings, Filters={"SeverityLabel": equals("HIGH")})[0] == "InvalidInputException"


def test_get_findings_pages_with_next_token(hub):
    made = seeded(hub, 5)
    first = hub.get_findings(MaxResults=2)
    assert len(first["Findings"]) == 2 and first["NextToken"]
    seen = [f["Id"] for f in first["Findings"]]
    token = first["NextToken"]
    while token:
        page = hub.get_findings(MaxResults=2, NextToken=token)
        seen += [f["Id"] for f in page["Findings"]]
        token = page.get("NextToken")
    assert sorted(seen) == sorted(f["Id"] for f in made)


def test_batch_update_findings_changes_only_workflow_and_note(hub):
    made = seeded(hub, 2)
    identifiers = [{"Id": f["Id"], "ProductArn": f["ProductArn"]} for f in made]
    missing = {"Id": made[0]["Id"] + "-missing", "ProductArn": made[0]["ProductArn"]}
    answer = hub.batch_update_findings(FindingIdentifiers=identifiers + [missing, identifiers[0]],
                                       Workflow={"Status": "RESOLVED"},
                                       Note={"Text": "rotation enabled", "UpdatedBy": "keyguard.kms"})
    assert answer["ProcessedFindings"] == identifiers
    assert [(u["FindingIdentifier"], u["ErrorCode"]) for u in answer["UnprocessedFindings"]] == [
        (missing, "FindingNotFound"), (identifiers[0], "DuplicatedFindingIdentifier")]
    after = dict((f["Id"], f) for f in hub.get_findings()["Findings"])
    for original in made:
        updated = after[original["Id"]]
        assert updated["Workflow"] == {"Status": "RESOLVED"}
        assert updated["Note"]["Text"] == "rotation enabled" and updated["Note"]["UpdatedBy"] == "keyguard.kms"
        assert updated["UpdatedAt"] == original["UpdatedAt"]
        assert dict((k, v) for k, v in updated.items() if k not in ("Workflow", "Note")) == dict(
            (k, v) for k, v in original.items() if k not in ("Workflow", "Note"))


@pytest.mark.parametrize("params", [
    {"Workflow": {"Status": "DONE"}},
    {"Note": {"Text": "x" * 513, "UpdatedBy": "me"}},
    {"Note": {"Text": "no author"}},
], ids=["bad-workflow", "long-note", "note-without-author"])
def test_batch_update_findings_validates(hub, params):
    made = seeded(hub, 1)
    identifiers = [{"Id": made[0]["Id"], "ProductArn": made[0]["ProductArn"]}]
    assert error_of(hub.batch_update_findings, FindingIdentifiers=identifiers, **params)[0] == "InvalidInputException"


def test_batch_update_findings_takes_at_most_100(hub):
    identifiers = [{"Id": "f%d" % n, "ProductArn": "p"} for n in range(101)]
    assert error_of(hub.batch_update_findings, FindingIdentifiers=identifiers,
                    Workflow={"Status": "NOTIFIED"})[0] == "InvalidInputException"


def test_get_findings_quota_through_the_fault_layer(hub):
    request = urllib.request.Request(hub.server + "/_emulator/faults", method="POST",
                                     data=json.dumps({"account": hub.account, "quotas": {"GetFindings": 0.1}}).encode())
    urllib.request.urlopen(request, timeout=10).close()
    try:
        codes = []
        for _call in range(12):
            try:
                hub.get_findings()
                codes.append("ok")
            except botocore.exceptions.ClientError as error:
                codes.append(error.response["Error"]["Code"])
    finally:
        urllib.request.urlopen(urllib.request.Request(
            hub.server + "/_emulator/faults?account=%s" % hub.account, method="DELETE"), timeout=10).close()
    # GetFindings' documented burst of 6, then (a rate slowed down for the test) every call throttled.
    assert codes == ["ok"] * 6 + ["TooManyRequestsException"] * 6
