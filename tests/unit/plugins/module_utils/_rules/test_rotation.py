# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Eligibility, comparison and planning: pure logic, no AWS."""

from __future__ import annotations

import pytest

from ansible_collections.keyguard.kms.plugins.module_utils._rules import rotation

KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
ARN = "arn:aws:kms:us-east-1:111122223333:key/" + KEY_ID


def metadata(**overrides):
    base = {
        "KeyId": KEY_ID,
        "Arn": ARN,
        "KeyManager": "CUSTOMER",
        "KeySpec": "SYMMETRIC_DEFAULT",
        "Origin": "AWS_KMS",
        "KeyState": "Enabled",
    }
    base.update(overrides)
    return base


def status(enabled, period=None):
    result = {"KeyRotationEnabled": enabled}
    if period:
        result["RotationPeriodInDays"] = period
    return result


def desired(state="enabled", period=None, pending_deletion="keep", mode="exact"):
    return rotation.desired_rotation(state, period, mode, pending_deletion)


@pytest.mark.parametrize(
    "overrides, reason",
    [
        ({"KeyManager": "AWS"}, "AWS_MANAGED"),
        ({"KeySpec": "RSA_4096"}, "ASYMMETRIC"),
        ({"KeySpec": "ECC_NIST_P384"}, "ASYMMETRIC"),
        ({"KeySpec": "SM2"}, "ASYMMETRIC"),
        ({"KeySpec": "ML_DSA_65"}, "ASYMMETRIC"),
        ({"KeySpec": "HMAC_512"}, "HMAC"),
        ({"Origin": "EXTERNAL", "KeyState": "PendingImport"}, "IMPORTED_KEY_MATERIAL"),
        ({"Origin": "AWS_CLOUDHSM", "CustomKeyStoreId": "cks-1"}, "CUSTOM_KEY_STORE"),
        ({"Origin": "EXTERNAL_KEY_STORE", "KeyState": "Unavailable"}, "CUSTOM_KEY_STORE"),
        ({"KeySpec": None, "CustomerMasterKeySpec": "RSA_2048"}, "ASYMMETRIC"),
        (
            {"MultiRegionConfiguration": {
                "MultiRegionKeyType": "REPLICA",
                "PrimaryKey": {"Arn": "arn:aws:kms:eu-west-1:111122223333:key/mrk-1", "Region": "eu-west-1"},
            }},
            "MULTI_REGION_REPLICA",
        ),
    ],
)
def test_ineligible_keys_are_not_applicable_and_never_planned(overrides, reason):
    for state in ("enabled", "disabled"):
        result = rotation.plan(metadata(**overrides), None, desired(state, 180, "cancel"))
        assert (result["compliance"], result["reason"], result["steps"]) == ("NOT_APPLICABLE", reason, [])
    assert not rotation.needs_rotation_status(metadata(**overrides))


def test_replica_names_its_primary_and_region():
    replica = metadata(MultiRegionConfiguration={
        "MultiRegionKeyType": "REPLICA",
        "PrimaryKey": {"Arn": "arn:aws:kms:eu-west-1:111122223333:key/mrk-1", "Region": "eu-west-1"},
    })
    message = rotation.plan(replica, None, desired())["message"]
    assert "arn:aws:kms:eu-west-1:111122223333:key/mrk-1" in message and "eu-west-1" in message


def test_multi_region_primary_is_eligible():
    primary = metadata(MultiRegionConfiguration={"MultiRegionKeyType": "PRIMARY"})
    assert rotation.plan(primary, status(False), desired())["steps"] == [("EnableKeyRotation", {"period": None})]


@pytest.mark.parametrize(
    "found, want, compliance, reason, operations, after",
    [
        (status(False), desired(), "NON_COMPLIANT", "ROTATION_DISABLED", ["EnableKeyRotation"], (True, 365)),
        (status(False), desired(period=90), "NON_COMPLIANT", "ROTATION_DISABLED", ["EnableKeyRotation"], (True, 90)),
        (status(True, 365), desired(), "COMPLIANT", None, [], (True, 365)),
        (status(True, 180), desired(), "COMPLIANT", None, [], (True, 180)),
        (status(True, 180), desired(period=180), "COMPLIANT", None, [], (True, 180)),
        (status(True, 180), desired(period=2560), "NON_COMPLIANT", "ROTATION_PERIOD_MISMATCH",
         ["EnableKeyRotation"], (True, 2560)),
        (status(True, 365), desired("disabled"), "NON_COMPLIANT", "ROTATION_ENABLED", ["DisableKeyRotation"],
         (False, None)),
        (status(False), desired("disabled"), "COMPLIANT", None, [], (False, None)),
    ],
)
def test_enabled_keys(found, want, compliance, reason, operations, after):
    result = rotation.plan(metadata(), found, want)
    assert (result["compliance"], result["reason"]) == (compliance, reason)
    assert [operation for operation, _params in result["steps"]] == operations
    assert (result["after"]["rotation_enabled"], result["after"]["rotation_period_days"]) == after
    assert result["after"]["key_state"] == "Enabled"


@pytest.mark.parametrize(
    "found, want, compliance, reason",
    [
        (status(False), desired(), "NON_COMPLIANT", "KEY_DISABLED"),
        (status(True, 365), desired(), "COMPLIANT", None),
        (status(True, 365), desired(period=180), "NON_COMPLIANT", "KEY_DISABLED"),
        (status(False), desired("disabled"), "COMPLIANT", None),
    ],
)
def test_disabled_keys_are_reported_never_touched(found, want, compliance, reason):
    result = rotation.plan(metadata(KeyState="Disabled"), found, want)
    assert (result["compliance"], result["reason"], result["steps"]) == (compliance, reason, [])
    assert result["after"] == result["before"]


def test_pending_deletion_kept_by_default():
    result = rotation.plan(metadata(KeyState="PendingDeletion", DeletionDate="2026-12-06"), None, desired())
    assert (result["compliance"], result["reason"], result["steps"]) == ("NON_COMPLIANT", "PENDING_DELETION", [])
    assert "2026-12-06" in result["message"] and "pending_deletion=cancel" in result["message"]


@pytest.mark.parametrize(
    "want, last_step, after",
    [
        (desired(pending_deletion="cancel"),
         ("EnableKeyRotation", {"period": None, "keep_current_up_to": None}), (True, None)),
        (desired(period=400, pending_deletion="cancel"), ("EnableKeyRotation", {"period": 400}), (True, 400)),
        (desired(period=400, pending_deletion="cancel", mode="maximum"),
         ("EnableKeyRotation", {"period": None, "keep_current_up_to": 400}), (True, None)),
        (desired("disabled", pending_deletion="cancel"), ("DisableKeyRotation", {}), (False, None)),
    ],
)
def test_pending_deletion_rescue_is_cancel_enable_then_rotation(want, last_step, after):
    result = rotation.plan(metadata(KeyState="PendingDeletion"), None, want)
    assert result["steps"] == [("CancelKeyDeletion", {}), ("EnableKey", {}), last_step]
    assert result["rescue"] is True
    assert result["after"]["key_state"] == "Enabled"
    assert (result["after"]["rotation_enabled"], result["after"]["rotation_period_days"]) == after


@pytest.mark.parametrize("found", [status(True, 180), status(False), None])
def test_a_disabled_key_is_its_owners_whatever_an_earlier_run_did(found):
    """Nothing from an earlier run enters the plan: a Disabled key is never enabled, rescue asked or not."""
    for pending_deletion in ("cancel", "keep"):
        result = rotation.plan(metadata(KeyState="Disabled"), found,
                               desired(period=365, pending_deletion=pending_deletion, mode="maximum"))
        assert result["steps"] == [] and result["rescue"] is False
        assert result["reason"] in ("KEY_DISABLED", None)


@pytest.mark.parametrize(
    "params, current, expected",
    [({"period": 90}, None, 90), ({"period": None}, 180, None), ({"period": None, "keep_current_up_to": None}, 180, 180),
     ({"period": None, "keep_current_up_to": 365}, 180, 180), ({"period": None, "keep_current_up_to": 365}, 730, 365),
     ({"period": None, "keep_current_up_to": 365}, None, 365), ({"period": None, "keep_current_up_to": None}, None, None)],
)
def test_period_for_step_reads_the_current_period_only_when_kept(params, current, expected):
    reads = []

    def read():
        reads.append(True)
        return current

    assert rotation.period_for_step(params, read) == expected
    assert bool(reads) == ("keep_current_up_to" in params)


def test_finish_command_names_key_region_and_period():
    arn = "arn:aws:kms:eu-west-1:111122223333:key/" + KEY_ID
    assert rotation.finish_command(arn, "eu-west-1", [("EnableKey", {}), ("EnableKeyRotation", {"period": 180})]) == [
        "aws kms enable-key --key-id %s --region eu-west-1" % arn,
        "aws kms enable-key-rotation --key-id %s --region eu-west-1 --rotation-period-in-days 180" % arn,
    ]


@pytest.mark.parametrize(
    "key_state, reason",
    [("PendingReplicaDeletion", "PENDING_REPLICA_DELETION"), ("Creating", "KEY_NOT_USABLE"),
     ("Updating", "KEY_NOT_USABLE")],
)
def test_other_states_are_reported_untouched(key_state, reason):
    result = rotation.plan(metadata(KeyState=key_state), None, desired(pending_deletion="cancel"))
    assert (result["compliance"], result["reason"], result["steps"]) == ("NON_COMPLIANT", reason, [])


def test_no_plan_ever_deletes_or_disables_a_key():
    states = ("Enabled", "Disabled", "PendingDeletion", "PendingReplicaDeletion", "Creating")
    for key_state in states:
        for want in (desired(), desired("disabled", None, "cancel"), desired(period=90, pending_deletion="cancel")):
            for found in (None, status(False), status(True, 365)):
                operations = [step[0] for step in rotation.plan(metadata(KeyState=key_state), found, want)["steps"]]
                assert set(operations) <= set(rotation.WRITE_OPERATIONS)
                assert "ScheduleKeyDeletion" not in operations and "DisableKey" not in operations


@pytest.mark.parametrize(
    "reference",
    [
        KEY_ID,
        "mrk-1234abcd12ab34cd56ef1234567890ab",
        ARN,
        "alias/orders",
        "alias/team/orders_v2",
        "arn:aws:kms:us-east-1:111122223333:alias/orders",
    ],
)
def test_valid_references(reference):
    assert rotation.reference_error(reference, "us-east-1", "aws") is None
    assert rotation.reference_error("arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/" + KEY_ID,
                                    "us-gov-west-1", "aws-us-gov") is None


@pytest.mark.parametrize(
    "reference, fragment",
    [
        ("", "empty key reference"),
        ("1234", "is not a key ID, key ARN, alias name"),
        ("orders", "is not a key ID, key ARN, alias name"),
        ("alias/with space", "is not a valid alias name"),
        ("arn:aws:kms:us-east-1:111122223333:key/nope", "malformed key ID"),
        ("arn:aws:s3:::bucket", "is not a KMS key or alias ARN"),
        ("arn:aws:kms:eu-west-1:111122223333:key/" + KEY_ID, "run it with region: eu-west-1"),
        ("arn:aws-cn:kms:us-east-1:111122223333:key/" + KEY_ID, "Region us-east-1 is in partition aws"),
    ],
)
def test_invalid_references_say_what_to_fix(reference, fragment):
    assert fragment in rotation.reference_error(reference, "us-east-1", "aws")


@pytest.mark.parametrize("period, ok", [(None, True), (89, False), (90, True), (2560, True), (2561, False),
                                        (True, False), ("365", False)])
def test_period_bounds(period, ok):
    assert (rotation.period_error(period) is None) is ok


@pytest.mark.parametrize(
    "found, maximum, verdict",
    [
        (status(True, 365), None, ("COMPLIANT", None)),
        (status(True, 730), 365, ("NON_COMPLIANT", "ROTATION_PERIOD_MISMATCH")),
        (status(True, 180), 365, ("COMPLIANT", None)),
        (status(False), 365, ("NON_COMPLIANT", "ROTATION_DISABLED")),
    ],
)
def test_kms4_judgement_for_reports(found, maximum, verdict):
    assert rotation.verdict_as_found(metadata(), found, rotation.kms4_desired(maximum))[:2] == verdict


def test_judgement_follows_the_state_wanted():
    assert rotation.verdict_as_found(metadata(), status(True, 365), rotation.kms4_desired(state="disabled"))[:2] == (
        "NON_COMPLIANT", "ROTATION_ENABLED")
    assert rotation.verdict_as_found(metadata(), status(False), rotation.kms4_desired(state="disabled"))[:2] == ("COMPLIANT", None)


@pytest.mark.parametrize(
    "found, compliance, operations, after_period",
    [
        (status(True, 90), "COMPLIANT", [], 90),
        (status(True, 365), "COMPLIANT", [], 365),
        (status(True, 730), "NON_COMPLIANT", ["EnableKeyRotation"], 365),
        (status(False), "NON_COMPLIANT", ["EnableKeyRotation"], 365),
    ],
)
def test_period_as_a_maximum_keeps_faster_rotation(found, compliance, operations, after_period):
    want = desired(period=365, mode="maximum")
    result = rotation.plan(metadata(), found, want)
    assert result["compliance"] == compliance
    assert [operation for operation, _params in result["steps"]] == operations
    assert result["after"]["rotation_period_days"] == after_period


@pytest.mark.parametrize(
    "want, mode, current, expected",
    [(None, "exact", 180, 180), (None, "exact", None, None), (365, "exact", 180, 365), (365, "maximum", 180, 180),
     (365, "maximum", 730, 365), (365, "maximum", None, 365)],
)
def test_period_to_set(want, mode, current, expected):
    assert rotation.period_to_set(want, mode, current) == expected
