# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Each module's main(): arguments checked before any call, and per-key results, diff and failure shaped as documented.

The AWS side is an in-memory service (the engine's tests cover it against KMS's rules); here it is the glue.
"""

from __future__ import annotations

import copy
import datetime

from ansible_collections.keyguard.kms.plugins.module_utils._aws.service import AwsError
from ansible_collections.keyguard.kms.plugins.modules import kms_findings
from ansible_collections.keyguard.kms.plugins.modules import kms_findings_info
from ansible_collections.keyguard.kms.plugins.modules import kms_rotation
from ansible_collections.keyguard.kms.plugins.modules import kms_rotation_info

REGION = "us-east-1"
ACCOUNT = "111122223333"


def key_id(number):
    return "%08d-0000-0000-0000-000000000000" % number


def metadata(number, state="Enabled"):
    return {"CreationDate": datetime.datetime(2025, 12, 1, tzinfo=datetime.timezone.utc), "KeyId": key_id(number),
            "Arn": "arn:aws:kms:%s:%s:key/%s" % (REGION, ACCOUNT, key_id(number)), "AWSAccountId": ACCOUNT,
            "KeyState": state, "KeyManager": "CUSTOMER", "KeySpec": "SYMMETRIC_DEFAULT", "Origin": "AWS_KMS"}


class MemoryKms:
    """Two keys, one rotating, one not; writes recorded."""

    def __init__(self, region):
        self.region = region
        self.keys = {key_id(1): metadata(1), key_id(2): metadata(2)}
        self.rotation = {key_id(1): False, key_id(2): True}
        self.writes = []

    def _key(self, reference):
        kid = reference.rsplit("/", 1)[-1]
        if kid not in self.keys:
            raise AwsError("DescribeKey", "NotFoundException", "no such key")
        return kid

    def describe_key(self, reference):
        return copy.deepcopy(self.keys[self._key(reference)])

    def get_rotation_status(self, kid):
        enabled = self.rotation[self._key(kid)]
        return {"KeyRotationEnabled": enabled, "RotationPeriodInDays": 365} if enabled else {"KeyRotationEnabled": False}

    def enable_rotation(self, kid, period=None):
        self.writes.append(("EnableKeyRotation", kid, period))
        self.rotation[self._key(kid)] = True

    def list_keys(self):
        return [{"KeyId": kid, "KeyArn": meta["Arn"]} for kid, meta in self.keys.items()]

    def list_aliases(self):
        return [{"AliasName": "alias/one", "TargetKeyId": key_id(1)}]

    def list_tags(self, kid):
        return {}

    def list_rotations(self, kid):
        if self._key(kid) == key_id(2):
            return [{"RotationDate": datetime.datetime(2026, 6, 1, tzinfo=datetime.timezone.utc),
                     "RotationType": "AUTOMATIC"},
                    {"RotationDate": datetime.datetime(2026, 9, 1, tzinfo=datetime.timezone.utc),
                     "RotationType": "ON_DEMAND"}]
        return []


class MemoryClients:
    """Stands for ClientFactory: services from memory, no client is ever made."""
    services = {}

    def __init__(self, module):
        self.module = module

    def service(self, service_class, region):
        return self.services.setdefault(region, MemoryKms(region))

    def services_by_region(self, service_class):
        return lambda region: self.service(service_class, region)

    def caller_account(self, region):
        return lambda: ACCOUNT

    def client(self, service, region, config):
        raise AssertionError("no client may be made in these tests")


def test_kms_rotation_refuses_bad_arguments_before_any_call(run_main, monkeypatch):
    monkeypatch.setattr(kms_rotation, "ClientFactory", MemoryClients)
    result, failed = run_main(kms_rotation, {"key_ids": [], "rotation_period_days": 30, "region": REGION,
                                             "assume_role_arn": "arn:aws-cn:iam::111122223333:role/x"})
    assert failed and result["msg"].startswith("Invalid arguments: ")
    for fragment in ("rotation_period_days must be between 90 and 2560", "key_ids is empty",
                     "is in partition aws-cn but the Regions are in partition aws"):
        assert fragment in result["msg"]


def test_kms_rotation_main_predicts_then_applies_with_a_diff_per_key(run_main, monkeypatch):
    MemoryClients.services = {}
    monkeypatch.setattr(kms_rotation, "ClientFactory", MemoryClients)
    args = {"key_ids": [key_id(1), key_id(2)], "region": REGION, "rotation_period_days": 365, "_ansible_diff": True}
    predicted, failed = run_main(kms_rotation, dict(args, _ansible_check_mode=True))
    assert not failed and predicted["changed"] is True and MemoryClients.services[REGION].writes == []
    assert [r["actions"] for r in predicted["results"]] == [["EnableKeyRotation"], []]
    assert predicted["diff"][0]["before"]["rotation_enabled"] is False and predicted["diff"][0]["after"][
        "rotation_enabled"] is True
    applied, failed = run_main(kms_rotation, args)
    assert not failed and [r["actions"] for r in applied["results"]] == [r["actions"] for r in predicted["results"]]
    assert MemoryClients.services[REGION].writes == [("EnableKeyRotation", key_id(1), 365)]
    again, _failed = run_main(kms_rotation, args)
    assert again["changed"] is False


def test_kms_rotation_fails_at_the_end_when_a_key_fails_with_the_sdk_versions(run_main, monkeypatch):
    MemoryClients.services = {}
    monkeypatch.setattr(kms_rotation, "ClientFactory", MemoryClients)
    result, failed = run_main(kms_rotation, {"key_ids": [key_id(1), key_id(9)], "region": REGION})
    assert failed and "1 of 2 keys failed, the others were processed" in result["msg"]
    assert result["results"][0]["actions"] == ["EnableKeyRotation"] and result["results"][1]["compliance"] == "ERROR"
    assert result["botocore_version"] and result["boto3_version"]


def test_kms_rotation_info_main_summarises_every_key(run_main, monkeypatch):
    MemoryClients.services = {}
    monkeypatch.setattr(kms_rotation_info, "ClientFactory", MemoryClients)
    result, failed = run_main(kms_rotation_info, {"regions": [REGION, REGION]})
    assert not failed and result["regions"] == [REGION], "a Region named twice is read once"
    assert [k["compliance"] for k in result["kms_keys"]] == ["NON_COMPLIANT", "COMPLIANT"]
    assert result["kms_keys"][0]["aliases"] == ["alias/one"]
    never, rotated = result["kms_keys"]
    assert (never["last_rotation_date"], never["last_rotation_type"]) == (None, None)
    assert never["key_material_age_days"] >= 365, "never rotated: as old as the key"
    assert (rotated["last_rotation_date"], rotated["last_rotation_type"]) == ("2026-09-01T00:00:00+00:00", "ON_DEMAND")
    without, _failed = run_main(kms_rotation_info, {"regions": [REGION], "evidence": False})
    assert [key["key_material_age_days"] for key in without["kms_keys"]] == [None, None]
    assert result["summary"]["by_compliance"]["COMPLIANT"] == 1 and result["summary"]["by_region"][REGION]["total"] == 2
    none, failed = run_main(kms_rotation_info, {})
    assert failed and "no Region" in none["msg"]


def test_kms_findings_info_checks_account_ids_and_the_role(run_main):
    result, failed = run_main(kms_findings_info, {"regions": [REGION], "account_ids": ["12345"],
                                                  "assume_role_arn": "not-a-role"})
    assert failed and "account_ids: '12345' is not a 12-digit account ID" in result["msg"]
    assert "assume_role_arn must be an IAM role ARN" in result["msg"]


def test_kms_findings_with_nothing_to_update_changes_nothing(run_main):
    result, failed = run_main(kms_findings, {"findings": [], "region": REGION})
    assert (failed, result["changed"], result["results"]) == (False, False, [])
    refused, failed = run_main(kms_findings, {"findings": [{"finding_id": "f"}], "workflow_status": "RESOLVED",
                                              "region": REGION})
    assert failed and "findings item 1 (f): needs finding_id and product_arn" in refused["msg"]
