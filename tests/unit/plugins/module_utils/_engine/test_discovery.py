# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Discovery: alias mapping, filters, per-key errors and the summary, against a fake service."""

from __future__ import annotations

from ansible_collections.keyguard.kms.plugins.module_utils._engine import discovery
from ansible_collections.keyguard.kms.plugins.module_utils._rules import rotation
from ansible_collections.keyguard.kms.plugins.module_utils._rules import selection
from ansible_collections.keyguard.kms.plugins.module_utils._aws.service import AwsError

ACCOUNT = "111122223333"


def arn(key_id, region="us-east-1"):
    return "arn:aws:kms:%s:%s:key/%s" % (region, ACCOUNT, key_id)


class FakeService:
    region = "us-east-1"

    def __init__(self, keys, aliases, tags=None, unreadable=(), denied=()):
        self.keys = keys
        self.aliases = aliases
        self.tags = tags or {}
        self.unreadable = unreadable
        self.denied = denied  # operations refused on every key
        self.calls = []

    def _deny(self, operation):
        self.calls.append(operation)
        if operation in self.denied:
            raise AwsError(operation, "AccessDeniedException", "not authorized to perform kms:%s" % operation)

    def list_keys(self):
        self.calls.append("ListKeys")
        return [{"KeyId": kid, "KeyArn": arn(kid)} for kid in self.keys]

    def list_aliases(self):
        self._deny("ListAliases")
        return self.aliases

    def describe_key(self, kid):
        kid = kid.rsplit("/", 1)[-1]
        self.calls.append("DescribeKey")
        if kid in self.unreadable:
            raise AwsError("DescribeKey", "AccessDeniedException", "denied")
        if kid not in self.keys:
            raise AwsError("DescribeKey", "NotFoundException", "no such key")
        return self.keys[kid]

    def get_rotation_status(self, kid):
        self._deny("GetKeyRotationStatus")
        return {"KeyRotationEnabled": kid == "k2", "RotationPeriodInDays": 365}

    def list_tags(self, kid):
        self.calls.append("ListResourceTags")
        return self.tags.get(kid, {})


def metadata(kid, **extra):
    base = {"KeyId": kid, "Arn": arn(kid), "AWSAccountId": ACCOUNT, "KeyState": "Enabled",
            "KeyManager": "CUSTOMER", "KeySpec": "SYMMETRIC_DEFAULT", "Origin": "AWS_KMS"}
    base.update(extra)
    return base


def fleet():
    keys = {
        "k1": metadata("k1"),
        "k2": metadata("k2"),
        "k3": metadata("k3", KeySpec="RSA_2048"),
        "aws": metadata("aws", KeyManager="AWS"),
        "k4": metadata("k4"),
    }
    aliases = [
        {"AliasName": "alias/one", "AliasArn": "arn:aws:kms:us-east-1:%s:alias/one" % ACCOUNT, "TargetKeyId": "k1"},
        {"AliasName": "alias/uno", "AliasArn": "arn:aws:kms:us-east-1:%s:alias/uno" % ACCOUNT, "TargetKeyId": "k1"},
        {"AliasName": "alias/aws/ebs", "AliasArn": "arn:aws:kms:us-east-1:%s:alias/aws/ebs" % ACCOUNT},
    ]
    return keys, aliases


def scan(service, **options):
    options.setdefault("concurrency", 4)
    options.setdefault("desired", rotation.kms4_desired())
    options["tag_filters"] = selection.normalize_tag_filter(options.get("tag_filters"))
    return discovery.RegionScanner(service, options).scan()


def test_every_key_with_aliases_listing_aliases_once():
    service = FakeService(*fleet(), unreadable=("k4",))
    records = dict((record["key_id"], record) for record in scan(service))
    assert sorted(records) == ["k1", "k2", "k3", "k4"]  # AWS managed left out by default
    assert records["k1"]["aliases"] == ["alias/one", "alias/uno"]
    assert (records["k1"]["compliance"], records["k1"]["reason"]) == ("NON_COMPLIANT", "ROTATION_DISABLED")
    assert records["k2"]["compliance"] == "COMPLIANT"
    assert records["k3"]["compliance"] == "NOT_APPLICABLE"
    assert records["k4"]["compliance"] == "ERROR" and "denied" in records["k4"]["message"]
    assert service.calls.count("ListAliases") == 1
    assert service.calls.count("GetKeyRotationStatus") == 2  # not for the asymmetric key or the error


def test_aws_managed_on_request():
    records = scan(FakeService(*fleet()), include_aws_managed=True)
    assert [r["reason"] for r in records if r["key_id"] == "aws"] == ["AWS_MANAGED"]


def test_filter_by_reference_and_tag():
    keys, aliases = fleet()
    service = FakeService(keys, aliases, tags={"k2": {"team": "a"}, "k3": {"team": "b"}})
    assert [r["key_id"] for r in scan(service, key_ids=["alias/uno", arn("k3"), "k2"])] == ["k1", "k2", "k3"]
    assert [r["key_id"] for r in scan(service, key_ids=["arn:aws:kms:us-east-1:%s:alias/one" % ACCOUNT])] == ["k1"]
    tagged = scan(service, tag_filters={"team": ["a"]}, include_tags=True)
    assert [(r["key_id"], r["tags"]) for r in tagged] == [("k2", {"team": "a"})]
    assert [r["key_id"] for r in scan(service, tag_filters={"team": []})] == ["k2", "k3"]
    assert "tags" not in scan(service, tag_filters={"team": []})[0]


def test_summary_counts():
    records = scan(FakeService(*fleet(), unreadable=("k4",)))
    summary = discovery.summarize_keys(records)
    assert summary["total"] == 4
    assert summary["by_compliance"] == {"COMPLIANT": 1, "NON_COMPLIANT": 1, "NOT_APPLICABLE": 1, "ERROR": 1}
    assert summary["by_reason"] == {"ROTATION_DISABLED": 1, "ASYMMETRIC": 1, "AccessDeniedException": 1}
    assert summary["by_region"]["us-east-1"]["total"] == 4


def test_keys_given_by_arn_are_read_without_listing_the_region():
    service = FakeService(*fleet())
    records = scan(service, key_ids=[arn("k1"), arn("k2"), arn("gone"), arn("k9", "us-west-2")])
    assert [r["key_id"] for r in records] == ["k1", "k2"]
    assert records[0]["aliases"] == ["alias/one", "alias/uno"]
    assert "ListKeys" not in service.calls


def test_aliases_that_cannot_be_listed_are_a_warning_not_a_failure():
    scanner = discovery.RegionScanner(FakeService(*fleet(), denied=("ListAliases",)),
                                      {"concurrency": 2, "desired": rotation.kms4_desired(), "tag_filters": {}})
    records = scanner.scan()
    assert len(records) == 4 and all(r["aliases"] == [] for r in records)
    assert len(scanner.warnings) == 1 and "aliases of Region us-east-1 could not be listed" in scanner.warnings[0]


def test_a_key_whose_rotation_cannot_be_read_keeps_what_was_read():
    records = dict((r["key_id"], r) for r in scan(FakeService(*fleet(), denied=("GetKeyRotationStatus",))))
    assert (records["k1"]["compliance"], records["k1"]["reason"]) == ("ERROR", "AccessDeniedException")
    assert records["k1"]["aliases"] == ["alias/one", "alias/uno"]
    assert (records["k1"]["key_state"], records["k1"]["account_id"], records["k1"]["key_spec"]) == (
        "Enabled", ACCOUNT, "SYMMETRIC_DEFAULT")
    assert records["k3"]["compliance"] == "NOT_APPLICABLE"  # no status needed


def test_verdict_against_disabled_rotation():
    records = dict((r["key_id"], r) for r in scan(FakeService(*fleet()), desired=rotation.kms4_desired(state="disabled")))
    assert (records["k2"]["compliance"], records["k2"]["reason"]) == ("NON_COMPLIANT", "ROTATION_ENABLED")
    assert records["k1"]["compliance"] == "COMPLIANT"
