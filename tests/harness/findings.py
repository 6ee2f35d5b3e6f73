"""Seed Security Hub findings as its controls produce them (ASFF), for keys seeded with seed.py.

Consolidated control findings (GeneratorId security-control/KMS.4), a per-standard CIS
finding that predates security control IDs, passed findings, archived findings of keys
that are gone, and a finding of another control that the collection must leave alone.
"""

import datetime
import uuid

SEVERITY = {"KMS.3": "CRITICAL", "KMS.4": "MEDIUM"}
TITLES = {"KMS.3": "AWS KMS keys should not be deleted unintentionally",
          "KMS.4": "AWS KMS key rotation should be enabled"}
CIS_12_ROTATION = "arn:aws:securityhub:::ruleset/cis-aws-foundations-benchmark/v/1.2.0/rule/2.8"
# Seeded findings are a day old, so an unchanged UpdatedAt is easy to tell from a fresh one.
UPDATED_AT = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=1)).strftime(
    "%Y-%m-%dT%H:%M:%S.000Z")


def finding(account, region, resource_arn, control="KMS.4", compliance="FAILED", workflow="NEW",
            record_state="ACTIVE", legacy_cis=False, resource_type="AwsKmsKey"):
    """One ASFF finding as Security Hub's control would produce it."""
    if legacy_cis:
        finding_id = "arn:aws:securityhub:%s:%s:subscription/cis-aws-foundations-benchmark/v/1.2.0/2.8/finding/%s" % (
            region, account, uuid.uuid4())
        generator, compliance_block = CIS_12_ROTATION, {"Status": compliance}
    else:
        finding_id = "arn:aws:securityhub:%s:%s:security-control/%s/finding/%s" % (
            region, account, control, uuid.uuid4())
        generator = "security-control/%s" % control
        compliance_block = {"Status": compliance, "SecurityControlId": control,
                            "AssociatedStandards": [{"StandardsId": "standards/aws-foundational-security-best-practices/v/1.0.0"}]}
    return {
        "SchemaVersion": "2018-10-08",
        "Id": finding_id,
        "ProductArn": "arn:aws:securityhub:%s::product/aws/securityhub" % region,
        "GeneratorId": generator,
        "AwsAccountId": account,
        "Region": region,
        "Types": ["Software and Configuration Checks/Industry and Regulatory Standards"],
        "CreatedAt": UPDATED_AT,
        "UpdatedAt": UPDATED_AT,
        "Severity": {"Label": SEVERITY.get(control, "MEDIUM")},
        "Title": TITLES.get(control, control),
        "Description": TITLES.get(control, control),
        "Resources": [{"Type": resource_type, "Id": resource_arn, "Partition": "aws", "Region": region}],
        "Compliance": compliance_block,
        "Workflow": {"Status": workflow},
        "RecordState": record_state,
    }


def findings_for(account, keys):
    """The findings Security Hub would hold for seeded ``keys`` (seed.py descriptions), plus a few others."""
    made = []
    for key in keys:
        kind, region, arn = key["kind"], key["region"], key["arn"]
        if kind.startswith("pending_"):
            made.append(finding(account, region, arn, "KMS.3"))
        elif kind in ("symmetric_off", "disabled_off", "mr_primary"):
            made.append(finding(account, region, arn, "KMS.4"))
        elif kind.startswith("symmetric_on"):
            made.append(finding(account, region, arn, "KMS.4", compliance="PASSED", workflow="RESOLVED"))
    regions = sorted(set(key["region"] for key in keys))
    gone = "arn:aws:kms:%s:%s:key/00000000-0000-4000-8000-00000000dead" % (regions[0], account)
    made.append(finding(account, regions[0], gone, "KMS.4", record_state="ARCHIVED"))
    made.append(finding(account, regions[0], "arn:aws:s3:::keyguard-logs", "S3.1", resource_type="AwsS3Bucket"))
    return made


def import_findings(client, findings):
    """BatchImportFindings, 100 at a time (the API's limit)."""
    for start in range(0, len(findings), 100):
        answer = client.batch_import_findings(Findings=findings[start:start + 100])
        assert answer["FailedCount"] == 0, answer


def seed_findings(emulator, account, keys, admin=None):
    """Import the findings of ``keys`` into ``account``'s Security Hub (or an administrator's), per Region."""
    made = findings_for(account, keys)
    for region in sorted(set(item["Region"] for item in made)):
        client = emulator.boto3_client("securityhub", admin or account, region)
        import_findings(client, [item for item in made if item["Region"] == region])
    return made
