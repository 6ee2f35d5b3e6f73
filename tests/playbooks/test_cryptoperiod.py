"""Key material within its cryptoperiod: kms_rotation and the role against the emulator's on-demand rules."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "harness"))

EAST, WEST = "us-east-1", "us-west-2"
LIMIT = 365
TASK = "cryptoperiod"
WRITES = {"EnableKeyRotation", "DisableKeyRotation", "CancelKeyDeletion", "EnableKey", "RotateKeyOnDemand",
          "ImportKeyMaterial"}


def imported_key(client, new_material):
    key = client.create_key(Origin="EXTERNAL")["KeyMetadata"]
    client.import_key_material(KeyId=key["KeyId"], ImportToken=b"token", EncryptedKeyMaterial=b"material",
                               ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    if new_material:
        client.import_key_material(KeyId=key["KeyId"], ImportToken=b"token", EncryptedKeyMaterial=b"new",
                                   ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE", ImportType="NEW_KEY_MATERIAL")
    return key


def seed_mixed(emulator, account):
    """One key of each cryptoperiod case; returns {case: key ARN} and the expected (reason, actions) per case."""
    east, west = emulator.client(account, EAST), emulator.client(account, WEST)
    keys = {}

    def key(name, rotating=True, **material):
        metadata = east.create_key(Description=name)["KeyMetadata"]
        if rotating:
            east.enable_key_rotation(KeyId=metadata["KeyId"], RotationPeriodInDays=365)
        emulator.set_key_material(account, EAST, metadata["KeyId"], **dict({"created_days_ago": 1800}, **material))
        keys[name] = metadata["Arn"]

    key("old_rotating")
    key("old_not_rotating", rotating=False)
    key("young", rotations=[{"days_ago": 100, "type": "AUTOMATIC"}])
    key("near_the_limit", rotations=[{"days_ago": 400 + day, "type": "ON_DEMAND"} for day in range(22)])
    key("automatic_rotation_due", next_rotation_in_minutes=10)
    key("on_demand_running", on_demand_in_progress=True)
    for name, new_material in (("imported_with_new_material", True), ("imported_without", False)):
        metadata = imported_key(east, new_material)
        emulator.set_key_material(account, EAST, metadata["KeyId"], created_days_ago=1800)
        keys[name] = metadata["Arn"]
    primary = east.create_key(MultiRegion=True)["KeyMetadata"]
    east.enable_key_rotation(KeyId=primary["KeyId"])
    emulator.set_key_material(account, EAST, primary["KeyId"], created_days_ago=900)
    keys["mr_primary"] = primary["Arn"]
    keys["mr_replica"] = east.replicate_key(KeyId=primary["KeyId"], ReplicaRegion=WEST)["ReplicaKeyMetadata"]["Arn"]
    assert west.describe_key(KeyId=keys["mr_replica"])["KeyMetadata"]["MultiRegionConfiguration"][
        "MultiRegionKeyType"] == "REPLICA"
    return keys


EXPECTED = {
    "old_rotating": ("KEY_MATERIAL_TOO_OLD", ["RotateKeyOnDemand"]),
    "old_not_rotating": ("ROTATION_DISABLED", ["EnableKeyRotation", "RotateKeyOnDemand"]),
    "young": (None, []),
    "near_the_limit": ("ON_DEMAND_ROTATIONS_RESERVED", []),
    "automatic_rotation_due": ("KEY_MATERIAL_ROTATION_DEFERRED", []),
    "on_demand_running": ("ON_DEMAND_ROTATION_IN_PROGRESS", []),
    "imported_with_new_material": ("KEY_MATERIAL_TOO_OLD", ["RotateKeyOnDemand"]),
    "imported_without": ("IMPORTED_MATERIAL_TOO_OLD", []),
    "mr_primary": ("KEY_MATERIAL_TOO_OLD", ["RotateKeyOnDemand"]),
    "mr_replica": ("MULTI_REGION_REPLICA", []),
}


def module_task(keys, **extra):
    args = dict({"key_ids": list(keys.values()), "regions": [EAST, WEST], "max_key_material_age_days": LIMIT,
                 "rotation_period_days": 365, "rotation_period_mode": "maximum"}, **extra)
    return [{"name": TASK, "keyguard.kms.kms_rotation": args, "register": "rotation"}]


def by_case(keys, results):
    arns = dict((arn, name) for name, arn in keys.items())
    return dict((arns[result["key_arn"]], result) for result in results)


def test_check_mode_predicts_the_real_run_on_a_mixed_account(emulator, account, run_playbook):
    keys = seed_mixed(emulator, account)
    state = emulator.state(account)
    requests = len(emulator.recorded_requests(account))
    predicted = run_playbook(account, module_task(keys), check=True, diff=True)
    result = predicted.task(TASK)
    assert result["status"] == "ok", predicted.stdout[-3000:]
    assert emulator.state(account) == state
    assert not [r for r in emulator.recorded_requests(account)[requests:] if r["operation"] in WRITES]
    predictions = by_case(keys, result["result"]["results"])
    assert dict((name, (entry["reason"], entry["actions"])) for name, entry in predictions.items()) == EXPECTED
    assert predictions["old_rotating"]["before"]["key_material_age_days"] == 1800
    assert predictions["old_rotating"]["key_material_age_days"] == 0
    assert predictions["mr_replica"]["key_material"]["from_primary"] == keys["mr_primary"]
    assert predictions["mr_replica"]["key_material"]["key_material_age_days"] == 900
    assert predictions["near_the_limit"]["key_material"]["on_demand_rotations_left"] == 3
    diff = dict((entry["before_header"].split(" ")[0], entry) for entry in result["result"]["diff"])
    assert diff[keys["old_rotating"]]["before"]["key_material_age_days"] == 1800
    assert diff[keys["old_rotating"]]["after"]["key_material_age_days"] == 0

    applied = run_playbook(account, module_task(keys))
    outcome = applied.task(TASK)
    assert outcome["status"] == "ok", applied.stdout[-3000:]
    results = by_case(keys, outcome["result"]["results"])
    for name, entry in results.items():
        for field in ("compliance", "reason", "actions", "changed", "before", "key_material_age_days"):
            assert entry.get(field) == predictions[name].get(field), (name, field, entry, predictions[name])
    writes = [(r["operation"], r["key_id"]) for r in emulator.recorded_requests(account)[requests:]
              if r["operation"] in WRITES]
    assert sorted(writes) == sorted((operation, keys[name].split("/")[-1]) for name, (_reason, actions)
                                    in EXPECTED.items() for operation in actions)

    again = run_playbook(account, module_task(keys)).task(TASK)
    assert again["status"] == "ok" and not again["result"]["changed"]
    now = by_case(keys, again["result"]["results"])
    assert [name for name, entry in now.items() if entry["compliance"] == "COMPLIANT"] == [
        "old_rotating", "old_not_rotating", "young", "mr_primary"]
    assert now["imported_with_new_material"]["reason"] == "IMPORTED_KEY_MATERIAL"
    assert now["mr_replica"]["key_material"]["key_material_age_days"] == 0


def test_a_conflict_kms_answers_defers_the_key_and_fails_nothing(emulator, account, run_playbook):
    client = emulator.client(account, EAST)
    metadata = client.create_key()["KeyMetadata"]
    client.enable_key_rotation(KeyId=metadata["KeyId"])
    emulator.set_key_material(account, EAST, metadata["KeyId"], created_days_ago=800,
                              automatic_rotation_in_progress=True)
    run = run_playbook(account, [{"name": TASK, "keyguard.kms.kms_rotation": {
        "key_id": metadata["Arn"], "max_key_material_age_days": LIMIT}, "register": "rotation"}])
    result = run.task(TASK)
    assert result["status"] == "ok", run.stdout[-3000:]
    assert (result["result"]["reason"], result["result"]["compliance"]) == (
        "KEY_MATERIAL_ROTATION_DEFERRED", "NON_COMPLIANT")
    assert "deferred to the next run" in result["result"]["message"]


def test_bad_cryptoperiod_arguments_are_refused_before_any_call(emulator, account, run_playbook):
    requests = len(emulator.recorded_requests(account))
    run = run_playbook(account, [{"name": TASK, "keyguard.kms.kms_rotation": {
        "key_ids": ["alias/x"], "max_key_material_age_days": 0, "on_demand_rotations_reserve": 30},
        "ignore_errors": True}])
    message = run.task(TASK)["result"]["msg"]
    assert "max_key_material_age_days must be a number of days above 0" in message
    assert "on_demand_rotations_reserve must be between 0 and 24" in message
    assert len(emulator.recorded_requests(account)) == requests


def test_the_role_rotates_old_material_and_reports_its_age(emulator, account, fleet):
    keys = seed_mixed(emulator, account)
    fleet.add_target("crypto", account, rotation_regions=[EAST, WEST], rotation_max_key_material_age_days=LIMIT)
    code, output = fleet.run("report")
    assert code == 0, output[-3000:]
    report = fleet.report("crypto")
    before = dict((entry["key_arn"], entry) for entry in report["keys"])
    assert before[keys["old_rotating"]]["before"]["reason"] == "KEY_MATERIAL_TOO_OLD"
    assert before[keys["old_rotating"]]["evidence"]["key_material_age_days"] == 1800
    assert "material age" in fleet.report("crypto", ".md")

    code, output = fleet.run("remediate")
    # The keys left to their owner (reserve, imported) and those waiting for KMS fail nothing.
    assert code == 0, output[-3000:]
    report = fleet.report("crypto")
    after = dict((entry["key_arn"], entry) for entry in report["keys"])
    for name in ("old_rotating", "old_not_rotating", "imported_with_new_material", "mr_primary"):
        # Imported material is not KMS.4's: once renewed, the key is back to NOT_APPLICABLE.
        wanted = "NOT_APPLICABLE" if name.startswith("imported") else "COMPLIANT"
        assert after[keys[name]]["after"]["compliance"] == wanted, (name, after[keys[name]])
        assert after[keys[name]]["after_source"] == "verified"
        assert after[keys[name]]["evidence"]["key_material_age_days"] == 0
        assert after[keys[name]]["phase"] == "KMS.4"
    left = {"near_the_limit": "ON_DEMAND_ROTATIONS_RESERVED", "imported_without": "IMPORTED_MATERIAL_TOO_OLD",
            "automatic_rotation_due": "KEY_MATERIAL_ROTATION_DEFERRED",
            "on_demand_running": "ON_DEMAND_ROTATION_IN_PROGRESS"}
    for name, reason in left.items():
        assert after[keys[name]]["after"]["reason"] == reason, (name, after[keys[name]])
        assert not after[keys[name]]["actions"]
    markdown = fleet.report("crypto", ".md")
    assert "Needs the key owner" in markdown and "Waiting for KMS" in markdown
