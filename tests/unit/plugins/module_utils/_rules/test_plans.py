# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Approved plans: sealed, checked whole before any write, and applied key by key only while unchanged."""

from __future__ import annotations

import datetime

from ansible_collections.keyguard.kms.plugins.module_utils._engine.enforce import RotationEnforcer
from ansible_collections.keyguard.kms.plugins.module_utils._rules import plans
from ansible_collections.keyguard.kms.plugins.module_utils._rules import rotation

NOW = datetime.datetime(2026, 12, 1, 12, 0, tzinfo=datetime.timezone.utc)
SETTINGS = {"state": "enabled", "rotation_period_days": 365, "pending_deletion": "cancel",
            "max_key_material_age_days": None, "on_demand_rotations_reserve": 3}


def a_plan(**run):
    return plans.sealed({"kind": plans.PLAN_KIND, "schema_version": 1, "settings": dict(SETTINGS), "keys": [],
                         "run": dict({"target": "acct", "account_id": "111122223333", "started": "2026-12-01T06:00:00Z"},
                                     **run)})


def test_a_sealed_plan_may_be_applied_and_any_edit_breaks_its_seal():
    plan = a_plan()
    assert plans.plan_errors(plan, "acct", SETTINGS, NOW, 24, "111122223333") == []
    edited = dict(plan, keys=[{"key_arn": "arn:aws:kms:us-east-1:111122223333:key/x", "planned_from": {},
                               "steps": [{"operation": "EnableKeyRotation"}]}])
    assert any("digest does not match" in error for error in plans.plan_errors(edited, "acct", SETTINGS, NOW, 24))


def test_a_plan_of_another_host_account_age_or_settings_is_refused():
    assert "is the plan of other, not of acct" in plans.plan_errors(a_plan(target="other"), "acct", SETTINGS, NOW,
                                                                    24)[0]
    assert "account 111122223333" in plans.plan_errors(a_plan(), "acct", SETTINGS, NOW, 24, "999999999999")[0]
    assert "more than rotation_approved_plan_max_age_hours (5)" in plans.plan_errors(a_plan(), "acct", SETTINGS, NOW,
                                                                                     5)[0]
    assert "rotation_period_days=365" in plans.plan_errors(a_plan(), "acct", dict(SETTINGS, rotation_period_days=180),
                                                           NOW, 24)[0]
    assert "not a keyguard.kms plan" in plans.plan_errors({"keys": []}, "acct", SETTINGS, NOW, 24)[0]


def test_a_plan_of_the_wrong_shape_is_refused_in_words_not_a_traceback():
    for broken in (dict(a_plan(), run=["acct"]), dict(a_plan(), settings="all"), dict(a_plan(), keys=[{"key_arn": 5}]),
                   dict(a_plan(), keys=[{"key_arn": "k", "planned_from": {}, "steps": "EnableKey"}]),
                   dict(a_plan(), schema_version=2), dict(a_plan(), run=dict(a_plan()["run"], started=5))):
        errors = plans.plan_errors(broken, "acct", SETTINGS, NOW, 24)
        assert errors and all(isinstance(error, str) for error in errors), broken
    assert plans.approved_entries_errors({"arn:k": {"steps": "x"}})
    assert plans.approved_entries_errors({"arn:k": {"steps": [], "planned_from": {}}}) == []


def test_a_plan_rewritten_and_resealed_is_not_the_approved_one():
    approved = a_plan()
    rewritten = a_plan(started="2026-12-01T07:00:00Z")
    assert plans.plan_errors(rewritten, "acct", SETTINGS, NOW, 24, approved_digest=approved["digest"])[0].startswith(
        "is not the plan that was approved")
    assert plans.plan_errors(approved, "acct", SETTINGS, NOW, 24, approved_digest=approved["digest"]) == []


def test_what_changed_since_the_plan_is_told_field_by_field():
    approved = {"planned_from": {"key_state": "Enabled", "rotation_enabled": False}, "steps": [
        {"operation": "EnableKeyRotation", "rotation_period_days": 365}]}
    assert plans.changes(approved, {"key_state": "Enabled", "rotation_enabled": False}, approved["steps"]) == []
    assert plans.changes(approved, {"key_state": "Disabled", "rotation_enabled": False}, []) == [
        "key_state was Enabled when planned, is Disabled now"]
    assert "the steps would now be none" in plans.changes(approved, approved["planned_from"], [])[0]
    # A field the plan left out is a change too.
    assert plans.changes(approved, dict(approved["planned_from"], deletion_date="2026-12-08"), approved["steps"])


class OneKey:
    """A KMS of one key, rotation off, that records the writes it gets."""

    region = "us-east-1"
    metadata = {"KeyId": "1234abcd-12ab-34cd-56ef-1234567890ab", "KeyState": "Enabled", "KeyManager": "CUSTOMER",
                "KeySpec": "SYMMETRIC_DEFAULT", "Origin": "AWS_KMS",
                "Arn": "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"}

    def __init__(self):
        self.writes = []

    def describe_key(self, _reference):
        return dict(self.metadata)

    def get_rotation_status(self, _key_id):
        return {"KeyRotationEnabled": False}

    def enable_rotation(self, key_id, period=None):
        self.writes.append(("EnableKeyRotation", key_id, period))


def approved_for(service, desired):
    planned = rotation.plan(service.metadata, {"KeyRotationEnabled": False}, desired)
    return {service.metadata["Arn"]: {"steps": plans.steps_of(planned), "planned_from": plans.plan_state(
        service.metadata, {"KeyRotationEnabled": False})}}


def test_the_module_applies_an_approved_key_and_leaves_the_others():
    desired = rotation.desired_rotation("enabled", 365, "maximum")
    service = OneKey()
    applied = RotationEnforcer(service, desired, False, 1, approved=approved_for(service, desired)).run(
        [service.metadata["Arn"]])
    assert applied[0]["actions"] == ["EnableKeyRotation"] and service.writes
    left = OneKey()
    result = RotationEnforcer(left, desired, False, 1, approved={}).run([left.metadata["Arn"]])[0]
    assert (result["reason"], result["actions"], left.writes) == (plans.NOT_IN_PLAN, [], [])


def test_the_module_checks_the_plan_again_right_before_it_writes():
    desired = rotation.desired_rotation("enabled", 365, "maximum")
    service = OneKey()
    approved = approved_for(service, desired)
    approved[service.metadata["Arn"]]["planned_from"]["key_state"] = "Disabled"
    result = RotationEnforcer(service, desired, False, 1, approved=approved).run([service.metadata["Arn"]])[0]
    assert (result["reason"], result["actions"], service.writes) == (plans.PLAN_STALE, [], [])
    assert "key_state was Disabled when planned, is Enabled now" in result["message"]
