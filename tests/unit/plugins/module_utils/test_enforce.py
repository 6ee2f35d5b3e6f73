# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The enforcer and the service layer against in-memory fakes: prediction, isolation, retries."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import itertools

import botocore.exceptions
import pytest

from ansible_collections.keyguard.kms.plugins.module_utils._enforce import RotationEnforcer
from ansible_collections.keyguard.kms.plugins.module_utils._kms import KmsError
from ansible_collections.keyguard.kms.plugins.module_utils._kms import KmsService
from ansible_collections.keyguard.kms.plugins.module_utils._kms import RateLimiter

REGION = "us-east-1"


def key_id(number):
    return "%08d-0000-0000-0000-000000000000" % number


class FakeService:
    """Keeps keys in memory and applies KMS's rules to writes."""

    region = REGION

    def __init__(self, keys):
        self.keys = keys  # key_id -> {"metadata": ..., "rotation": (enabled, period)}
        self.calls = []

    def _key(self, reference):
        for kid, key in self.keys.items():
            if reference in (kid, key["metadata"]["Arn"]) or reference in key.get("aliases", ()):
                return key
        raise KmsError("DescribeKey", "NotFoundException", "not found")

    def describe_key(self, reference):
        self.calls.append(("DescribeKey", reference))
        return copy.deepcopy(self._key(reference)["metadata"])

    def get_rotation_status(self, kid):
        self.calls.append(("GetKeyRotationStatus", kid))
        key = self._key(kid)
        enabled, period = key["rotation"]
        if key["metadata"]["KeyState"] == "PendingDeletion" or not enabled:
            return {"KeyRotationEnabled": False}
        return {"KeyRotationEnabled": True, "RotationPeriodInDays": period}

    def _write(self, operation, kid, allowed_states=("Enabled",)):
        self.calls.append((operation, kid))
        key = self._key(kid)
        if key.get("fail_on") == operation:
            raise KmsError(operation, "AccessDeniedException", "denied")
        if key["metadata"]["KeyState"] not in allowed_states:
            raise KmsError(operation, "KMSInvalidStateException", "wrong state")
        return key

    def enable_rotation(self, kid, period=None):
        self._write("EnableKeyRotation", kid)["rotation"] = (True, period or 365)

    def disable_rotation(self, kid):
        self._write("DisableKeyRotation", kid)["rotation"] = (False, None)

    def cancel_deletion(self, kid):
        self._write("CancelKeyDeletion", kid, ("PendingDeletion",))["metadata"]["KeyState"] = "Disabled"

    def enable_key(self, kid):
        self._write("EnableKey", kid, ("Disabled", "Enabled"))["metadata"]["KeyState"] = "Enabled"


def make_key(number, key_state="Enabled", rotation=(False, None), **metadata):
    kid = key_id(number)
    base = {"KeyId": kid, "Arn": "arn:aws:kms:%s:111122223333:key/%s" % (REGION, kid), "KeyState": key_state,
            "KeyManager": "CUSTOMER", "KeySpec": "SYMMETRIC_DEFAULT", "Origin": "AWS_KMS"}
    base.update(metadata)
    return kid, {"metadata": base, "rotation": rotation, "aliases": ["alias/k%d" % number]}


def fleet():
    return dict([
        make_key(1),
        make_key(2, rotation=(True, 365)),
        make_key(3, rotation=(True, 180)),
        make_key(4, "Disabled"),
        make_key(5, "PendingDeletion"),
        make_key(6, "PendingDeletion", rotation=(True, 200)),
        make_key(7, KeyManager="AWS", rotation=(True, 365)),
        make_key(8, KeySpec="RSA_2048"),
    ])


@pytest.mark.parametrize(
    "state, period, pending_deletion",
    list(itertools.product(["enabled", "disabled"], [None, 90, 365], ["keep", "cancel"])),
)
def test_check_mode_predicts_what_a_real_run_does(state, period, pending_deletion):
    references = [key_id(n) for n in range(1, 9)]
    desired = {"state": state, "rotation_period_days": period, "pending_deletion": pending_deletion}
    predicting = FakeService(fleet())
    predicted = RotationEnforcer(predicting, desired, True, 4).run(references)
    assert [call for call in predicting.calls if call[0] not in ("DescribeKey", "GetKeyRotationStatus")] == []

    applying = FakeService(fleet())
    applied = RotationEnforcer(applying, desired, False, 4).run(references)
    for guess, done in zip(predicted, applied):
        for field in ("key_id", "compliance", "reason", "actions", "changed", "key_state", "rotation_enabled", "before"):
            assert guess[field] == done[field], (field, guess, done)
        if guess["rotation_period_days"] is not None:
            assert guess["rotation_period_days"] == done["rotation_period_days"]
    writes = [call for call in applying.calls if call[0] not in ("DescribeKey", "GetKeyRotationStatus")]
    assert writes == [(op, result["key_id"]) for result in applied for op in result["actions"]]

    again = RotationEnforcer(applying, desired, False, 4).run(references)
    assert not any(result["changed"] for result in again)


def test_one_failing_key_does_not_stop_the_others():
    keys = dict([make_key(1), make_key(2), make_key(3)])
    keys[key_id(2)]["fail_on"] = "EnableKeyRotation"
    service = FakeService(keys)
    desired = {"state": "enabled", "rotation_period_days": None, "pending_deletion": "keep"}
    results = RotationEnforcer(service, desired, False, 3).run([key_id(1), key_id(2), "alias/missing", key_id(3)])
    assert [r["compliance"] for r in results] == ["NON_COMPLIANT", "ERROR", "ERROR", "NON_COMPLIANT"]
    assert results[1]["reason"] == "AccessDeniedException" and key_id(2) in results[1]["message"]
    assert "alias/missing" in results[2]["message"]
    assert keys[key_id(1)]["rotation"] == (True, 365) and keys[key_id(3)]["rotation"] == (True, 365)


def test_a_key_named_twice_is_changed_once():
    service = FakeService(dict([make_key(1)]))
    desired = {"state": "enabled", "rotation_period_days": None, "pending_deletion": "keep"}
    results = RotationEnforcer(service, desired, False, 2).run([key_id(1), "alias/k1"])
    assert [r["input"] for r in results] == [key_id(1), "alias/k1"]
    assert [call[0] for call in service.calls].count("EnableKeyRotation") == 1


def client_error(code, operation="EnableKey"):
    return botocore.exceptions.ClientError({"Error": {"Code": code, "Message": code + " message"}}, operation)


class ScriptedClient:
    """Answers each call from a script of exceptions and results."""

    def __init__(self, script):
        self.script = list(script)
        self.calls = 0

    def enable_key(self, aws_retry, **params):
        self.calls += 1
        outcome = self.script.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    enable_key_rotation = enable_key


def test_state_lag_after_a_rescue_is_retried_briefly():
    client = ScriptedClient([client_error("KMSInvalidStateException")] * 2 + [{}])
    KmsService(client, REGION, sleep=lambda seconds: None).enable_key(key_id(1))
    assert client.calls == 3


def test_a_key_really_in_the_wrong_state_still_fails_with_kms_error():
    client = ScriptedClient([client_error("DisabledException", "EnableKeyRotation")] * 10)
    with pytest.raises(KmsError) as caught:
        KmsService(client, REGION, sleep=lambda seconds: None).enable_rotation(key_id(1), 90)
    assert caught.value.code == "DisabledException"
    assert client.calls == 6


def test_other_errors_are_not_retried_by_the_state_loop_and_are_explained():
    client = ScriptedClient([client_error("AccessDeniedException")])
    with pytest.raises(KmsError) as caught:
        KmsService(client, REGION, sleep=lambda seconds: None).enable_key(key_id(1))
    assert client.calls == 1
    assert "grant kms:EnableKey" in caught.value.message


def test_rate_limiter_spaces_calls_per_operation(monkeypatch):
    clock = {"now": 100.0}
    slept = []
    monkeypatch.setattr("time.monotonic", lambda: clock["now"])
    monkeypatch.setattr("time.sleep", slept.append)
    limiter = RateLimiter({"EnableKey": 4})
    for _call in range(5):
        limiter.acquire("EnableKey")
    limiter.acquire("DescribeKey")
    assert slept == pytest.approx([0.25, 0.5, 0.75, 1.0])
