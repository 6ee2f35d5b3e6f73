"""The on-demand rotation rules of real KMS, as the emulator enforces them (moto enforces none)."""

import json
import urllib.request

import botocore.exceptions
import pytest


def error_code(call, **params):
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        call(**params)
    return caught.value.response["Error"]["Code"]


def on_demand_count(kms, key):
    return sum(1 for item in kms().list_key_rotations(KeyId=key)["Rotations"] if item["RotationType"] == "ON_DEMAND")


def test_at_most_25_on_demand_rotations_per_key_ever(kms):
    key = kms().create_key()["KeyMetadata"]["KeyId"]
    kms.seed(key, rotations=[{"days_ago": 100 - day, "type": "ON_DEMAND"} for day in range(24)]
             + [{"days_ago": 200, "type": "AUTOMATIC"}])
    kms().rotate_key_on_demand(KeyId=key)  # the 25th
    assert on_demand_count(kms, key) == 25
    assert error_code(kms().rotate_key_on_demand, KeyId=key) == "LimitExceededException"


def test_conflict_while_an_automatic_rotation_is_due_within_20_minutes(kms):
    key = kms().create_key()["KeyMetadata"]["KeyId"]
    kms().enable_key_rotation(KeyId=key)
    kms.seed(key, next_rotation_in_minutes=19)
    assert error_code(kms().rotate_key_on_demand, KeyId=key) == "ConflictException"
    kms.seed(key, next_rotation_in_minutes=21)
    kms().rotate_key_on_demand(KeyId=key)


def test_an_on_demand_rotation_in_progress_shows_in_the_status_and_conflicts(kms):
    key = kms().create_key()["KeyMetadata"]["KeyId"]
    kms.seed(key, on_demand_in_progress=True)
    assert "OnDemandRotationStartDate" in kms().get_key_rotation_status(KeyId=key)
    assert error_code(kms().rotate_key_on_demand, KeyId=key) == "ConflictException"


@pytest.mark.parametrize("params, code", [
    ({"KeySpec": "RSA_2048", "KeyUsage": "SIGN_VERIFY"}, "UnsupportedOperationException"),
    ({"KeySpec": "HMAC_256", "KeyUsage": "GENERATE_VERIFY_MAC"}, "UnsupportedOperationException"),
    ({"Origin": "AWS_CLOUDHSM", "CustomKeyStoreId": "cks-1"}, "UnsupportedOperationException"),
], ids=["asymmetric", "hmac", "custom-key-store"])
def test_only_symmetric_keys_of_kms_rotate_on_demand(kms, params, code):
    key = kms().create_key(**params)["KeyMetadata"]["KeyId"]
    assert error_code(kms().rotate_key_on_demand, KeyId=key) == code


def test_disabled_and_pending_deletion_keys_do_not_rotate_on_demand(kms):
    disabled = kms().create_key()["KeyMetadata"]["KeyId"]
    kms().disable_key(KeyId=disabled)
    pending = kms().create_key()["KeyMetadata"]["KeyId"]
    kms().schedule_key_deletion(KeyId=pending, PendingWindowInDays=7)
    assert error_code(kms().rotate_key_on_demand, KeyId=disabled) == "DisabledException"
    assert error_code(kms().rotate_key_on_demand, KeyId=pending) == "KMSInvalidStateException"


def test_a_multi_region_key_rotates_on_its_primary_only(kms):
    primary = kms().create_key(MultiRegion=True)["KeyMetadata"]
    replica = kms().replicate_key(KeyId=primary["KeyId"], ReplicaRegion="eu-west-1")["ReplicaKeyMetadata"]
    assert error_code(kms("eu-west-1").rotate_key_on_demand, KeyId=replica["Arn"]) == "UnsupportedOperationException"
    kms().rotate_key_on_demand(KeyId=primary["KeyId"])


def test_imported_material_rotates_only_to_new_material_already_imported(kms):
    key = kms().create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    kms().import_key_material(KeyId=key, ImportToken=b"t", EncryptedKeyMaterial=b"m",
                              ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    assert error_code(kms().rotate_key_on_demand, KeyId=key) == "KMSInvalidStateException"
    kms().import_key_material(KeyId=key, ImportToken=b"t", EncryptedKeyMaterial=b"n", ImportType="NEW_KEY_MATERIAL",
                              ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    listing = kms().list_key_rotations(KeyId=key, IncludeKeyMaterial="ALL_KEY_MATERIAL")["Rotations"]
    assert [item.get("KeyMaterialState") for item in listing] == ["PENDING_ROTATION"]
    assert kms().list_key_rotations(KeyId=key)["Rotations"] == []
    kms().rotate_key_on_demand(KeyId=key)
    assert [item["RotationType"] for item in kms().list_key_rotations(KeyId=key)["Rotations"]] == ["ON_DEMAND"]


def test_a_multi_region_key_with_imported_material_never_rotates_on_demand(kms):
    key = kms().create_key(Origin="EXTERNAL", MultiRegion=True)["KeyMetadata"]["KeyId"]
    kms().import_key_material(KeyId=key, ImportToken=b"t", EncryptedKeyMaterial=b"m",
                              ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    assert error_code(kms().rotate_key_on_demand, KeyId=key) == "UnsupportedOperationException"


def test_rotate_key_on_demand_is_throttled_at_its_own_quota(kms, server):
    """5 requests a second by default (the developer guide's quota table); a lower one here keeps the test fast."""
    from faults import QUOTAS

    assert QUOTAS["RotateKeyOnDemand"] == 5
    client = kms()
    keys = [client.create_key()["KeyMetadata"]["KeyId"] for _number in range(12)]
    request = urllib.request.Request(server + "/_emulator/faults", method="POST", data=json.dumps(
        {"account": kms.account, "quotas": {"RotateKeyOnDemand": 1}}).encode())
    urllib.request.urlopen(request, timeout=10).close()
    try:
        codes = []
        for key in keys:
            try:
                client.rotate_key_on_demand(KeyId=key)
                codes.append("ok")
            except botocore.exceptions.ClientError as error:
                codes.append(error.response["Error"]["Code"])
        assert "ThrottlingException" in codes and codes[0] == "ok"
    finally:
        urllib.request.urlopen(urllib.request.Request(server + "/_emulator/faults?account=%s" % kms.account,
                                                      method="DELETE"), timeout=10).close()
