# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The enforcer with a cryptoperiod, against an in-memory KMS: prediction, KMS's refusals, replicas."""

from __future__ import annotations

import datetime

from ansible_collections.keyguard.kms.plugins.module_utils._aws.service import AwsError
from ansible_collections.keyguard.kms.plugins.module_utils._engine.enforce import RotationEnforcer
from ansible_collections.keyguard.kms.plugins.module_utils._engine.material import MaterialReader
from ansible_collections.keyguard.kms.plugins.module_utils._rules import material
from ansible_collections.keyguard.kms.plugins.module_utils._rules import rotation

from test_enforce import FakeService, key_id, make_key

NOW = datetime.datetime.now(datetime.timezone.utc)


def ago(days):
    return NOW - datetime.timedelta(days=days)


class MaterialKms(FakeService):
    """FakeService with rotation histories and KMS's on-demand rules."""

    def list_rotations(self, kid, all_key_material=False):
        self.calls.append(("ListKeyRotations", kid))
        key = self._key(kid)
        entries = [dict(entry) for entry in key.get("rotations", [])]
        if all_key_material and key.get("pending"):
            entries.append({"KeyMaterialState": "PENDING_ROTATION"})
        return entries

    def lists_key_material(self):
        return True

    def get_rotation_status(self, kid):
        answer = super().get_rotation_status(kid)
        key = self._key(kid)
        if key.get("due_in_minutes") is not None and answer["KeyRotationEnabled"]:
            answer["NextRotationDate"] = NOW + datetime.timedelta(minutes=key["due_in_minutes"])
        return answer

    def rotate_on_demand(self, kid):
        key = self._write("RotateKeyOnDemand", kid)
        if key.get("refuse_on_demand"):
            raise AwsError("RotateKeyOnDemand", key["refuse_on_demand"], "refused by KMS")
        key.setdefault("rotations", []).append({"RotationDate": datetime.datetime.now(datetime.timezone.utc),
                                               "RotationType": "ON_DEMAND"})


def old_key(number, created=1000, **extra):
    kid, key = make_key(number, CreationDate=ago(created), **extra.pop("metadata", {}))
    key.update(extra)
    return kid, key


def mixed():
    return dict([
        old_key(1),  # rotation off, old
        old_key(2, rotation=(True, 365)),  # rotation on, old
        old_key(3, created=30, rotation=(True, 365)),  # young
        old_key(4, rotation=(True, 365), rotations=[{"RotationDate": ago(900 + n), "RotationType": "ON_DEMAND"}
                                                    for n in range(22)]),  # 3 left: the reserve
        old_key(5, rotation=(True, 365), due_in_minutes=10),  # automatic rotation due
        old_key(6, metadata={"Origin": "EXTERNAL"}, pending=True),
        old_key(7, metadata={"Origin": "EXTERNAL"}),
    ])


def enforcer(service, check_mode, limit=365):
    desired = rotation.desired_rotation("enabled", 365, "maximum", "keep", limit)
    return RotationEnforcer(service, desired, check_mode, 4, material_reader=MaterialReader(service))


def test_check_mode_predicts_the_cryptoperiod_exactly():
    references = [key_id(number) for number in range(1, 8)]
    predicting = MaterialKms(mixed())
    predicted = enforcer(predicting, True).run(references)
    assert all(call[0] in ("DescribeKey", "GetKeyRotationStatus", "ListKeyRotations") for call in predicting.calls)
    applying = MaterialKms(mixed())
    applied = enforcer(applying, False).run(references)
    for guess, done in zip(predicted, applied):
        for field in ("compliance", "reason", "actions", "changed", "before", "key_material_age_days"):
            assert guess.get(field) == done.get(field), (field, guess, done)
    assert [(result["reason"], result["actions"]) for result in applied] == [
        (rotation.ROTATION_DISABLED, [rotation.ENABLE_KEY_ROTATION, rotation.ROTATE_KEY_ON_DEMAND]),
        (material.KEY_MATERIAL_TOO_OLD, [rotation.ROTATE_KEY_ON_DEMAND]),
        (None, []),
        (material.ON_DEMAND_ROTATIONS_RESERVED, []),
        (material.KEY_MATERIAL_ROTATION_DEFERRED, []),
        (material.KEY_MATERIAL_TOO_OLD, [rotation.ROTATE_KEY_ON_DEMAND]),
        (material.IMPORTED_MATERIAL_TOO_OLD, []),
    ]
    assert applied[1]["key_material"]["key_material_age_days"] == 0
    assert applied[1]["key_material"]["on_demand_rotations_used"] == 1
    again = enforcer(applying, False).run(references)
    assert not any(result["changed"] for result in again)


def test_a_conflict_or_the_limit_at_the_call_is_the_keys_outcome_not_an_error():
    keys = dict([old_key(1, rotation=(True, 365), refuse_on_demand="ConflictException"),
                 old_key(2, rotation=(True, 365), refuse_on_demand="LimitExceededException"),
                 old_key(3, refuse_on_demand="ConflictException")])
    results = enforcer(MaterialKms(keys), False).run([key_id(1), key_id(2), key_id(3)])
    assert [result["reason"] for result in results] == [
        material.KEY_MATERIAL_ROTATION_DEFERRED, material.ON_DEMAND_ROTATIONS_EXHAUSTED,
        material.KEY_MATERIAL_ROTATION_DEFERRED]
    assert all(result["compliance"] == rotation.NON_COMPLIANT for result in results)
    assert "deferred to the next run" in results[0]["message"]
    # The rotation it set before stays set, and says so.
    assert results[2]["actions"] == [rotation.ENABLE_KEY_ROTATION]
    assert "This run did: rotation enabled" in results[2]["message"]


def test_a_history_that_cannot_be_read_makes_the_key_an_error_not_a_guess():
    class Denied(MaterialKms):
        def list_rotations(self, kid, all_key_material=False):
            raise AwsError("ListKeyRotations", "AccessDeniedException", "kms:ListKeyRotations is not allowed")

    results = enforcer(Denied(dict([old_key(1, rotation=(True, 365))])), False).run([key_id(1)])
    assert (results[0]["compliance"], results[0]["reason"]) == (rotation.ERROR, "AccessDeniedException")
    assert "kms:ListKeyRotations" in results[0]["message"]


def test_a_replica_whose_primary_cannot_be_read_keeps_its_verdict():
    class Unreachable(MaterialKms):
        def describe_key(self, reference):
            raise AwsError("DescribeKey", "AccessDeniedException", "denied by an SCP")

    primary = {"Arn": "arn:aws:kms:eu-west-1:111122223333:key/p", "Region": "eu-west-1"}
    replicas = dict([old_key(2, metadata={"MultiRegion": True, "MultiRegionConfiguration": {
        "MultiRegionKeyType": "REPLICA", "PrimaryKey": primary}})])
    service = MaterialKms(replicas)
    desired = rotation.desired_rotation("enabled", None, "maximum", "keep", 365)
    reader = MaterialReader(service, lambda region: Unreachable({}, region=region))
    result = RotationEnforcer(service, desired, False, 1, material_reader=reader).run([key_id(2)])[0]
    assert (result["compliance"], result["reason"]) == (rotation.NOT_APPLICABLE, rotation.MULTI_REGION_REPLICA)


def test_a_replica_reports_its_primarys_material_read_once_in_the_primarys_region():
    primary_kid, primary = old_key(1, created=800, rotation=(True, 365))
    primary["metadata"]["Arn"] = "arn:aws:kms:eu-west-1:111122223333:key/%s" % primary_kid
    primaries = MaterialKms({primary_kid: primary}, region="eu-west-1")
    replicas = dict(old_key(number, created=5, metadata={
        "MultiRegion": True, "MultiRegionConfiguration": {
            "MultiRegionKeyType": "REPLICA", "PrimaryKey": {"Arn": primary["metadata"]["Arn"], "Region": "eu-west-1"}}})
        for number in (2, 3))
    service = MaterialKms(replicas)
    desired = rotation.desired_rotation("enabled", None, "maximum", "keep", 365)
    reader = MaterialReader(service, lambda region: {"eu-west-1": primaries}[region])
    results = RotationEnforcer(service, desired, False, 1, material_reader=reader).run([key_id(2), key_id(3)])
    assert [(result["reason"], result["actions"]) for result in results] == [
        (rotation.MULTI_REGION_REPLICA, []), (rotation.MULTI_REGION_REPLICA, [])]
    assert results[0]["key_material"]["key_material_age_days"] == 800
    assert results[0]["key_material"]["from_primary"] == primary["metadata"]["Arn"]
    assert [call[0] for call in primaries.calls].count("ListKeyRotations") == 1
