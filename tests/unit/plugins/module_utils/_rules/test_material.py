# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cryptoperiod's rules: material age, KMS's on-demand limits, and how they enter the plan."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.keyguard.kms.plugins.module_utils._rules import material
from ansible_collections.keyguard.kms.plugins.module_utils._rules import rotation

NOW = datetime.datetime(2026, 12, 1, 12, 0, tzinfo=datetime.timezone.utc)


def days_ago(days):
    return NOW - datetime.timedelta(days=days)


def metadata(key_state="Enabled", **extra):
    base = {"KeyId": "k", "Arn": "arn:aws:kms:us-east-1:111122223333:key/k", "KeyState": key_state,
            "KeyManager": "CUSTOMER", "KeySpec": "SYMMETRIC_DEFAULT", "Origin": "AWS_KMS",
            "CreationDate": days_ago(1800)}
    base.update(extra)
    return base


def view(created_days=1800, rotations=(), pending=False):
    history = material.history_read([{"RotationDate": days_ago(age), "RotationType": kind} for age, kind in rotations],
                                    pending)
    return material.material_view(days_ago(created_days), history, NOW)


ROTATING = {"KeyRotationEnabled": True, "RotationPeriodInDays": 365, "NextRotationDate": NOW + datetime.timedelta(days=30)}


def desired(limit=365, reserve=3, **extra):
    return rotation.desired_rotation("enabled", extra.pop("period", None), "maximum", "keep", limit, reserve)


def test_material_dates_from_the_last_rotation_of_any_type_else_from_creation():
    assert view()["key_material_age_days"] == 1800 and view()["last_rotation_type"] is None
    rotated = view(rotations=[(700, "AUTOMATIC"), (40, "ON_DEMAND"), (400, "ON_DEMAND")])
    assert (rotated["key_material_age_days"], rotated["last_rotation_type"]) == (40, "ON_DEMAND")
    assert (rotated["on_demand_rotations_used"], rotated["on_demand_rotations_left"]) == (2, 23)
    assert material.material_view(None, None, NOW)["key_material_age_days"] is None


def test_a_young_key_with_rotation_on_is_compliant_and_says_its_age():
    outcome = rotation.plan(metadata(), ROTATING, desired(), view(rotations=[(100, "AUTOMATIC")]), NOW)
    assert (outcome["compliance"], outcome["steps"]) == (rotation.COMPLIANT, [])
    assert "100 days old, within the 365 days allowed" in outcome["message"]


def test_an_old_key_with_rotation_on_is_rotated_on_demand_and_not_compliant_as_found():
    outcome = rotation.plan(metadata(), ROTATING, desired(), view(), NOW)
    assert (outcome["compliance"], outcome["reason"]) == (rotation.NON_COMPLIANT, material.KEY_MATERIAL_TOO_OLD)
    assert outcome["steps"] == [(rotation.ROTATE_KEY_ON_DEMAND, {})]
    assert "1800 days old, older than the 365 days allowed" in outcome["message"]
    assert "never rotated" in outcome["message"]
    assert (outcome["before"]["key_material_age_days"], outcome["after"]["key_material_age_days"]) == (1800, 0)


def test_rotation_off_and_material_old_sets_rotation_first_then_rotates_on_demand():
    outcome = rotation.plan(metadata(), {"KeyRotationEnabled": False}, desired(), view(), NOW)
    assert outcome["reason"] == rotation.ROTATION_DISABLED
    assert [step for step, _params in outcome["steps"]] == [rotation.ENABLE_KEY_ROTATION, rotation.ROTATE_KEY_ON_DEMAND]
    assert "automatic rotation is off; key material is 1800 days old" in outcome["message"]


def test_without_a_limit_nothing_changes_from_kms4():
    outcome = rotation.plan(metadata(), ROTATING, desired(limit=None), view(), NOW)
    assert (outcome["compliance"], outcome["steps"]) == (rotation.COMPLIANT, [])
    assert "key_material_age_days" not in outcome["before"]


def test_state_disabled_ignores_the_cryptoperiod():
    assert rotation.desired_rotation("disabled", None, "exact", "keep", 365)["max_key_material_age_days"] is None


@pytest.mark.parametrize("used, reserve, reason, rotate", [
    (21, 3, material.KEY_MATERIAL_TOO_OLD, True),  # 4 left, the last 3 kept
    (22, 3, material.ON_DEMAND_ROTATIONS_RESERVED, False),
    (24, 0, material.KEY_MATERIAL_TOO_OLD, True),
    (25, 0, material.ON_DEMAND_ROTATIONS_EXHAUSTED, False),
])
def test_the_last_on_demand_rotations_are_never_spent_unasked(used, reserve, reason, rotate):
    old = view(rotations=[(2000 + number, "ON_DEMAND") for number in range(used)], created_days=3000)
    outcome = rotation.plan(metadata(), ROTATING, desired(reserve=reserve), old, NOW)
    assert outcome["reason"] == reason
    assert bool(outcome["steps"]) is rotate
    assert outcome["compliance"] == rotation.NON_COMPLIANT


def test_an_automatic_rotation_due_within_20_minutes_defers_the_key():
    due = dict(ROTATING, NextRotationDate=NOW + datetime.timedelta(minutes=19))
    outcome = rotation.plan(metadata(), due, desired(), view(), NOW)
    assert (outcome["reason"], outcome["steps"]) == (material.KEY_MATERIAL_ROTATION_DEFERRED, [])
    later = dict(ROTATING, NextRotationDate=NOW + datetime.timedelta(minutes=21))
    assert rotation.plan(metadata(), later, desired(), view(), NOW)["steps"] == [(rotation.ROTATE_KEY_ON_DEMAND, {})]


def test_an_on_demand_rotation_in_progress_is_not_started_again():
    running = dict(ROTATING, OnDemandRotationStartDate=NOW - datetime.timedelta(minutes=3))
    outcome = rotation.plan(metadata(), running, desired(), view(), NOW)
    assert (outcome["reason"], outcome["steps"]) == (material.ON_DEMAND_ROTATION_IN_PROGRESS, [])


def test_a_disabled_old_key_is_its_owners():
    outcome = rotation.plan(metadata("Disabled"), ROTATING, desired(), view(), NOW)
    assert (outcome["reason"], outcome["steps"]) == (rotation.KEY_DISABLED, [])
    assert "cannot replace the material of a disabled key" in outcome["message"]


def test_imported_material_is_rotated_only_to_new_material_its_owner_imported():
    external = metadata(Origin="EXTERNAL")
    waiting = rotation.plan(external, {"KeyRotationEnabled": False}, desired(), view(pending=True), NOW)
    assert (waiting["reason"], waiting["steps"]) == (material.KEY_MATERIAL_TOO_OLD, [(rotation.ROTATE_KEY_ON_DEMAND, {})])
    owners = rotation.plan(external, {"KeyRotationEnabled": False}, desired(), view(), NOW)
    assert (owners["reason"], owners["steps"]) == (material.IMPORTED_MATERIAL_TOO_OLD, [])
    assert "ImportType=NEW_KEY_MATERIAL" in owners["message"]
    young = rotation.plan(external, {"KeyRotationEnabled": False}, desired(), view(created_days=10), NOW)
    assert (young["compliance"], young["reason"]) == (rotation.NOT_APPLICABLE, rotation.IMPORTED_KEY_MATERIAL)


def test_a_multi_region_key_with_imported_material_is_never_rotated_on_demand():
    external = metadata(Origin="EXTERNAL", MultiRegion=True,
                        MultiRegionConfiguration={"MultiRegionKeyType": "PRIMARY"})
    outcome = rotation.plan(external, {"KeyRotationEnabled": False}, desired(), view(pending=True), NOW)
    assert (outcome["reason"], outcome["steps"]) == (material.IMPORTED_MATERIAL_TOO_OLD, [])


def test_a_replica_is_never_rotated_and_shows_its_primarys_material():
    replica = metadata(MultiRegion=True, MultiRegionConfiguration={
        "MultiRegionKeyType": "REPLICA", "PrimaryKey": {"Arn": "arn:aws:kms:eu-west-1:111122223333:key/p",
                                                        "Region": "eu-west-1"}})
    outcome = rotation.plan(replica, None, desired(), view(), NOW)
    assert (outcome["compliance"], outcome["reason"], outcome["steps"]) == (
        rotation.NOT_APPLICABLE, rotation.MULTI_REGION_REPLICA, [])
    assert outcome["before"]["key_material_age_days"] == 1800


def test_an_unreadable_age_judges_nothing():
    assert material.judge(metadata(), ROTATING, material.material_view(None, None, NOW), 365, 3, NOW) is None


def test_kms_refusals_of_an_on_demand_rotation_are_outcomes_of_the_key_not_errors():
    assert material.refusal_reason("ConflictException") == material.KEY_MATERIAL_ROTATION_DEFERRED
    assert material.refusal_reason("LimitExceededException") == material.ON_DEMAND_ROTATIONS_EXHAUSTED
    assert material.refusal_reason("AccessDeniedException") is None


def test_the_finish_command_of_an_on_demand_rotation():
    assert rotation.finish_command("arn:k", "us-east-1", [(rotation.ROTATE_KEY_ON_DEMAND, {})]) == [
        "aws kms rotate-key-on-demand --key-id arn:k --region us-east-1"]


@pytest.mark.parametrize("limit, reserve, fragment", [
    (0, 3, "max_key_material_age_days must be a number of days above 0"),
    (True, 3, "max_key_material_age_days"),
    (365, 25, "on_demand_rotations_reserve must be between 0 and 24"),
    (365, -1, "on_demand_rotations_reserve"),
])
def test_bad_limits_are_refused_before_any_call(limit, reserve, fragment):
    assert any(fragment in problem for problem in material.limit_errors(limit, reserve))


def test_both_bad_limits_are_told_at_once():
    assert len(material.limit_errors(0, 30)) == 2 and material.limit_errors(None, 3) == []


def test_a_key_with_imported_material_reads_its_status_only_with_a_cryptoperiod():
    external = metadata(Origin="EXTERNAL")
    assert not rotation.needs_rotation_status(external, desired(limit=None))
    assert rotation.needs_rotation_status(external, desired())
