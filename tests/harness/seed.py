"""Seed the emulator with every kind of key KMS.4 and KMS.3 care about.

Each kind knows how to create itself and what a correct tool must do with it, so
tests, the demo and the benchmarks check outcomes against the same table.
Run as a script, it seeds a running emulator: ``seed.py --endpoint URL --account ID``.
"""

import argparse

import boto3

SECONDARY_REGION = {"us-east-1": "us-west-2", "us-west-2": "us-east-1", "eu-west-1": "eu-central-1"}

# kind: what it stands for
KINDS = {
    "symmetric_off": "customer symmetric key, rotation off",
    "symmetric_on_365": "customer symmetric key, rotating every 365 days",
    "symmetric_on_180": "customer symmetric key, rotating every 180 days",
    "symmetric_on_730": "customer symmetric key, rotating every 730 days",
    "disabled_off": "disabled key, rotation off",
    "disabled_on": "disabled key, rotation on (365)",
    "pending_off": "key scheduled for deletion, rotation was off",
    "pending_on_180": "key scheduled for deletion, rotation was on every 180 days",
    "aws_managed": "AWS managed key (alias/aws/ebs)",
    "asymmetric_rsa": "asymmetric RSA_2048 signing key",
    "asymmetric_ecc": "asymmetric ECC_NIST_P256 signing key",
    "hmac": "HMAC_256 key",
    "external": "key for imported key material (PendingImport)",
    "cloudhsm": "key in a CloudHSM custom key store",
    "mr_primary": "multi-Region primary key, rotation off",
    "mr_replica": "multi-Region replica (its primary lives in the other Region)",
}

NOT_APPLICABLE_REASONS = {
    "aws_managed": "AWS_MANAGED",
    "asymmetric_rsa": "ASYMMETRIC",
    "asymmetric_ecc": "ASYMMETRIC",
    "hmac": "HMAC",
    "external": "IMPORTED_KEY_MATERIAL",
    "cloudhsm": "CUSTOM_KEY_STORE",
    "mr_replica": "MULTI_REGION_REPLICA",
}

INITIAL_ROTATION = {
    "symmetric_on_365": 365,
    "symmetric_on_180": 180,
    "symmetric_on_730": 730,
    "disabled_on": 365,
    "pending_on_180": 180,
}


def create_key(clients, region, kind, index=0, tags=None):
    """Create one key of ``kind`` in ``region``; returns its description."""
    client = clients[region]
    tag_list = [{"TagKey": "kind", "TagValue": kind}] + [
        {"TagKey": key, "TagValue": value} for key, value in (tags or {}).items()
    ]
    if kind == "aws_managed":
        metadata = client.describe_key(KeyId="alias/aws/ebs")["KeyMetadata"]
        return {"kind": kind, "key_id": metadata["KeyId"], "arn": metadata["Arn"], "region": region,
                "alias": "alias/aws/ebs"}
    if kind == "mr_replica":
        other = SECONDARY_REGION[region]
        primary = clients[other].create_key(MultiRegion=True, Tags=tag_list)["KeyMetadata"]
        replica = clients[other].replicate_key(KeyId=primary["KeyId"], ReplicaRegion=region)["ReplicaKeyMetadata"]
        metadata = clients[region].describe_key(KeyId=replica["KeyId"])["KeyMetadata"]
    else:
        params = {"Tags": tag_list}
        if kind.startswith("asymmetric_rsa"):
            params.update(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")
        elif kind == "asymmetric_ecc":
            params.update(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")
        elif kind == "hmac":
            params.update(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")
        elif kind == "external":
            params.update(Origin="EXTERNAL")
        elif kind == "cloudhsm":
            params.update(Origin="AWS_CLOUDHSM", CustomKeyStoreId="cks-1234567890abcdef0")
        elif kind == "mr_primary":
            params.update(MultiRegion=True)
        metadata = client.create_key(**params)["KeyMetadata"]
    key_id = metadata["KeyId"]
    period = INITIAL_ROTATION.get(kind)
    if period:
        client.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=period)
    if kind.startswith("disabled_"):
        client.disable_key(KeyId=key_id)
    if kind.startswith("pending_"):
        client.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    alias = "alias/%s-%d" % (kind.replace("_", "-"), index)
    client.create_alias(AliasName=alias, TargetKeyId=key_id)
    return {"kind": kind, "key_id": key_id, "arn": metadata["Arn"], "region": region, "alias": alias}


def seed(clients, region, kinds=None, copies=1, tags=None):
    """``copies`` keys of each kind (AWS managed: one) in ``region``."""
    keys = []
    made = {}
    for _copy in range(copies):
        for kind in kinds or KINDS:
            if kind == "aws_managed" and made.get(kind):
                continue
            keys.append(create_key(clients, region, kind, made.get(kind, 0), tags))
            made[kind] = made.get(kind, 0) + 1
    return keys


def expected_outcome(kind, state="enabled", period=None, pending_deletion="keep"):
    """(compliance, reason, actions, final rotation (enabled, period) or None) for a correct tool."""
    if kind in NOT_APPLICABLE_REASONS:
        return "NOT_APPLICABLE", NOT_APPLICABLE_REASONS[kind], [], None
    initial = INITIAL_ROTATION.get(kind)
    want_on = state == "enabled"
    if kind.startswith("pending_"):
        if pending_deletion == "keep":
            return "NON_COMPLIANT", "PENDING_DELETION", [], None
        rotation_call = "EnableKeyRotation" if want_on else "DisableKeyRotation"
        final_period = (period or initial or 365) if want_on else None
        return ("NON_COMPLIANT", "PENDING_DELETION", ["CancelKeyDeletion", "EnableKey", rotation_call],
                (want_on, final_period))
    matches = (bool(initial) == want_on) and (not want_on or not period or period == initial)
    if matches:
        return "COMPLIANT", None, [], (bool(initial), initial)
    if kind.startswith("disabled_"):
        return "NON_COMPLIANT", "KEY_DISABLED", [], (bool(initial), initial)
    if want_on and initial:
        return "NON_COMPLIANT", "ROTATION_PERIOD_MISMATCH", ["EnableKeyRotation"], (True, period)
    if want_on:
        return "NON_COMPLIANT", "ROTATION_DISABLED", ["EnableKeyRotation"], (True, period or 365)
    return "NON_COMPLIANT", "ROTATION_ENABLED", ["DisableKeyRotation"], (False, None)


def main():
    parser = argparse.ArgumentParser(description="Seed a running KMS emulator with one key of every kind")
    parser.add_argument("--endpoint", required=True, help="emulator URL, on loopback")
    parser.add_argument("--account", required=True, help="12-digit account ID (used as access key ID)")
    parser.add_argument("--regions", default="us-east-1,us-west-2")
    parser.add_argument("--copies", type=int, default=1)
    parser.add_argument("--exempt-tag", help="NAME=VALUE: also a key pending deletion with this tag, meant to go")
    args = parser.parse_args()
    regions = args.regions.split(",")
    clients = {}
    for region in set(regions) | set(SECONDARY_REGION.get(region, region) for region in regions):
        clients[region] = boto3.client("kms", endpoint_url=args.endpoint, region_name=region,
                                       aws_access_key_id=args.account, aws_secret_access_key="emulator-secret")
    for region in regions:
        for key in seed(clients, region, copies=args.copies):
            print("%s %s %s %s" % (region, key["kind"], key["key_id"], key["alias"]))
    if args.exempt_tag:
        name, value = args.exempt_tag.split("=", 1)
        key = create_key(clients, regions[0], "pending_off", args.copies, tags={name: value})
        print("%s %s %s %s (tagged %s)" % (regions[0], key["kind"], key["key_id"], key["alias"], args.exempt_tag))


if __name__ == "__main__":
    main()
