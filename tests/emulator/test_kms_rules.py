"""Each KMS rule the emulator adds to moto answers as AWS documents it."""

import json
import urllib.request

import botocore.exceptions
import pytest

from kms_emulator import make_emulator


def error_code(call, **params):
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        call(**params)
    return caught.value.response["Error"]["Code"]


def test_rotation_refused_on_disabled_key(kms):
    key = kms().create_key()["KeyMetadata"]["KeyId"]
    kms().disable_key(KeyId=key)
    assert error_code(kms().enable_key_rotation, KeyId=key) == "DisabledException"


def test_rotation_refused_on_pending_deletion_key(kms):
    key = kms().create_key()["KeyMetadata"]["KeyId"]
    kms().schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    assert error_code(kms().enable_key_rotation, KeyId=key) == "KMSInvalidStateException"


@pytest.mark.parametrize(
    "params",
    [
        {"KeySpec": "RSA_2048", "KeyUsage": "SIGN_VERIFY"},
        {"KeySpec": "ECC_NIST_P256", "KeyUsage": "SIGN_VERIFY"},
        {"KeySpec": "HMAC_256", "KeyUsage": "GENERATE_VERIFY_MAC"},
        {"Origin": "EXTERNAL"},
        {"Origin": "AWS_CLOUDHSM", "CustomKeyStoreId": "cks-1"},
    ],
    ids=["rsa", "ecc", "hmac", "external", "custom-key-store"],
)
def test_rotation_unsupported_on_ineligible_keys(kms, params):
    key = kms().create_key(**params)["KeyMetadata"]["KeyId"]
    assert error_code(kms().enable_key_rotation, KeyId=key) == "UnsupportedOperationException"
    assert error_code(kms().disable_key_rotation, KeyId=key) == "UnsupportedOperationException"


def test_rotation_unsupported_on_replica(kms):
    primary = kms().create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
    kms().replicate_key(KeyId=primary, ReplicaRegion="us-west-2")
    assert error_code(kms("us-west-2").enable_key_rotation, KeyId=primary) == "UnsupportedOperationException"
    kms().enable_key_rotation(KeyId=primary)


def test_rotation_unsupported_on_aws_managed_key(kms):
    key = kms().describe_key(KeyId="alias/aws/ebs")["KeyMetadata"]
    assert key["KeyManager"] == "AWS"
    assert error_code(kms().enable_key_rotation, KeyId=key["KeyId"]) == "UnsupportedOperationException"
    assert kms().get_key_rotation_status(KeyId=key["KeyId"])["KeyRotationEnabled"] is True


def test_custom_key_store_rotation_status_is_unsupported(kms):
    key = kms().create_key(Origin="AWS_CLOUDHSM", CustomKeyStoreId="cks-1")["KeyMetadata"]
    assert key["CustomKeyStoreId"] == "cks-1"
    assert error_code(kms().get_key_rotation_status, KeyId=key["KeyId"]) == "UnsupportedOperationException"


def test_rotation_period_stored_validated_and_returned(kms):
    key = kms().create_key()["KeyMetadata"]["KeyId"]
    assert error_code(kms().enable_key_rotation, KeyId=key, RotationPeriodInDays=89) == "ValidationException"
    assert error_code(kms().enable_key_rotation, KeyId=key, RotationPeriodInDays=2561) == "ValidationException"
    kms().enable_key_rotation(KeyId=key, RotationPeriodInDays=180)
    status = kms().get_key_rotation_status(KeyId=key)
    assert status["RotationPeriodInDays"] == 180 and "NextRotationDate" in status
    kms().enable_key_rotation(KeyId=key)
    assert kms().get_key_rotation_status(KeyId=key)["RotationPeriodInDays"] == 365
    kms().disable_key_rotation(KeyId=key)
    status = kms().get_key_rotation_status(KeyId=key)
    assert status["KeyRotationEnabled"] is False and "RotationPeriodInDays" not in status


def test_rotation_off_while_pending_deletion_and_restored_by_cancel(kms):
    key = kms().create_key()["KeyMetadata"]["KeyId"]
    kms().enable_key_rotation(KeyId=key, RotationPeriodInDays=200)
    kms().schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    assert kms().get_key_rotation_status(KeyId=key)["KeyRotationEnabled"] is False
    kms().cancel_key_deletion(KeyId=key)
    assert kms().describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "Disabled"
    assert kms().get_key_rotation_status(KeyId=key)["RotationPeriodInDays"] == 200


def test_cancel_and_enable_follow_the_state_rules(kms):
    key = kms().create_key()["KeyMetadata"]
    assert error_code(kms().cancel_key_deletion, KeyId=key["KeyId"]) == "KMSInvalidStateException"
    kms().schedule_key_deletion(KeyId=key["Arn"], PendingWindowInDays=7)
    assert error_code(kms().enable_key, KeyId=key["KeyId"]) == "KMSInvalidStateException"
    kms().cancel_key_deletion(KeyId=key["Arn"])
    kms().enable_key(KeyId=key["Arn"])
    assert kms().describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "Enabled"


def test_list_keys_paginates_by_limit_and_marker(kms):
    created = {kms().create_key()["KeyMetadata"]["KeyId"] for _number in range(5)}
    first = kms().list_keys(Limit=2)
    assert len(first["Keys"]) == 2 and first["Truncated"] is True
    seen = [key["KeyId"] for key in first["Keys"]]
    marker = first["NextMarker"]
    while marker:
        page = kms().list_keys(Limit=2, Marker=marker)
        seen.extend(key["KeyId"] for key in page["Keys"])
        marker = page.get("NextMarker") if page["Truncated"] else None
    assert sorted(seen) == sorted(created)


def test_pages_can_be_smaller_than_limit(kms):
    from kms_emulator import MAX_PAGE_SIZE  # pylint: disable=import-outside-toplevel
    for _number in range(3):
        kms().create_key()
    MAX_PAGE_SIZE[0] = 2
    try:
        page = kms().list_keys(Limit=1000)
    finally:
        MAX_PAGE_SIZE[0] = 1000
    assert len(page["Keys"]) == 2 and page["Truncated"] is True


@pytest.mark.parametrize(
    "operation, maximum",
    [("list_keys", 1000), ("list_aliases", 100), ("list_resource_tags", 50), ("list_key_rotations", 1000)],
)
def test_list_limits_are_the_documented_ranges(kms, operation, maximum):
    key = kms().create_key()["KeyMetadata"]["KeyId"]
    params = {"KeyId": key} if operation in ("list_resource_tags", "list_key_rotations") else {}
    call = getattr(kms(), operation)
    call(Limit=1, **params)
    call(Limit=maximum, **params)
    for limit, bound in ((0, "greater than or equal to 1"), (maximum + 1, "less than or equal to %d" % maximum)):
        with pytest.raises(botocore.exceptions.ClientError) as caught:
            call(Limit=limit, **params)
        assert caught.value.response["Error"]["Code"] == "ValidationException"
        assert caught.value.response["Error"]["Message"] == (
            "1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value %s"
            % (limit, bound))


def test_list_resource_tags_paginates(kms):
    tags = [{"TagKey": "t%d" % number, "TagValue": str(number)} for number in range(5)]
    key = kms().create_key(Tags=tags)["KeyMetadata"]["KeyId"]
    first = kms().list_resource_tags(KeyId=key, Limit=2)
    assert len(first["Tags"]) == 2 and first["Truncated"] is True
    rest = kms().list_resource_tags(KeyId=key, Limit=50, Marker=first["NextMarker"])
    assert sorted(tag["TagKey"] for tag in first["Tags"] + rest["Tags"]) == ["t0", "t1", "t2", "t3", "t4"]


def test_list_aliases_paginates_and_unbacked_aws_aliases_have_no_target(kms):
    key = kms().create_key()["KeyMetadata"]["KeyId"]
    for number in range(3):
        kms().create_alias(AliasName="alias/a%d" % number, TargetKeyId=key)
    aliases, marker = [], None
    while True:
        page = kms().list_aliases(Limit=4, **({"Marker": marker} if marker else {}))
        assert len(page["Aliases"]) <= 4
        aliases.extend(page["Aliases"])
        if not page["Truncated"]:
            break
        marker = page["NextMarker"]
    ours = [alias for alias in aliases if not alias["AliasName"].startswith("alias/aws/")]
    assert sorted(alias["AliasName"] for alias in ours) == ["alias/a0", "alias/a1", "alias/a2"]
    assert all("TargetKeyId" not in alias for alias in aliases if alias["AliasName"].startswith("alias/aws/"))


def test_external_keys_are_created_pending_import(kms):
    key = kms().create_key(Origin="EXTERNAL")["KeyMetadata"]
    assert (key["KeyState"], key["Enabled"]) == ("PendingImport", False)


def test_primary_and_replica_types_stay_right(kms):
    primary = kms().create_key(MultiRegion=True)["KeyMetadata"]
    kms().replicate_key(KeyId=primary["KeyId"], ReplicaRegion="us-west-2")
    replica = kms("us-west-2").describe_key(KeyId=primary["KeyId"])["KeyMetadata"]["MultiRegionConfiguration"]
    again = kms().describe_key(KeyId=primary["KeyId"])["KeyMetadata"]["MultiRegionConfiguration"]
    assert replica["MultiRegionKeyType"] == "REPLICA"
    assert replica["PrimaryKey"] == {"Arn": primary["Arn"], "Region": "us-east-1"}
    assert again["MultiRegionKeyType"] == "PRIMARY"
    assert [r["Region"] for r in again["ReplicaKeys"]] == ["us-west-2"]


def test_accounts_are_selected_by_access_key_and_requests_recorded(kms, server):
    key = kms().create_key()["KeyMetadata"]
    assert key["AWSAccountId"] == kms.account
    with urllib.request.urlopen(server + "/_emulator/requests") as response:
        mine = [r for r in json.load(response) if r["account"] == kms.account]
    assert [r["operation"] for r in mine] == ["CreateKey"]
    with urllib.request.urlopen(server + "/_emulator/state") as response:
        state = [k for k in json.load(response) if k["account"] == kms.account]
    assert [k["metadata"]["KeyId"] for k in state] == [key["KeyId"]]
    # ?account= answers the same for that account alone.
    with urllib.request.urlopen(server + "/_emulator/requests?account=" + kms.account) as response:
        assert json.load(response) == mine
    with urllib.request.urlopen(server + "/_emulator/state?account=" + kms.account) as response:
        assert json.load(response) == state
    with urllib.request.urlopen(server + "/_emulator/state?account=999999999999") as response:
        assert json.load(response) == []


def test_refuses_non_loopback_addresses():
    with pytest.raises(SystemExit):
        make_emulator("0.0.0.0", 0)


def test_list_key_rotations_is_throttled_at_its_own_quota(kms, server):
    """100 requests a second per account and Region (the developer guide's quota table), ten times below
    GetKeyRotationStatus: a client that ignores it is throttled, as real KMS does."""
    from faults import QUOTAS

    assert (QUOTAS["ListKeyRotations"], QUOTAS["GetKeyRotationStatus"]) == (100, 1000)
    key = kms().create_key()["KeyMetadata"]["KeyId"]
    kms().enable_key_rotation(KeyId=key)
    kms().rotate_key_on_demand(KeyId=key)
    assert [r["RotationType"] for r in kms().list_key_rotations(KeyId=key)["Rotations"]] == ["ON_DEMAND"]
    request = urllib.request.Request(server + "/_emulator/faults", method="POST", data=json.dumps(
        {"account": kms.account, "quotas": {"ListKeyRotations": 1}}).encode())
    urllib.request.urlopen(request, timeout=10).close()
    try:
        codes = []
        client = kms()
        for _call in range(10):
            try:
                client.list_key_rotations(KeyId=key)
                codes.append("ok")
            except botocore.exceptions.ClientError as error:
                codes.append(error.response["Error"]["Code"])
    finally:
        urllib.request.urlopen(urllib.request.Request(server + "/_emulator/faults?account=%s" % kms.account,
                                                      method="DELETE"), timeout=10).close()
    assert "ok" in codes and "ThrottlingException" in codes
