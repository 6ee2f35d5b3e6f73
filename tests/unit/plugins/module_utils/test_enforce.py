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

    def enable_key(self, **params):
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


def test_interrupted_rescue_is_finished_by_the_next_run(tmp_path):
    from ansible_collections.keyguard.kms.plugins.module_utils._journal import RescueJournal

    journal = RescueJournal(str(tmp_path / "journal"))
    keys = dict([make_key(1, "PendingDeletion", rotation=(True, 200)), make_key(2, "PendingDeletion")])
    service = FakeService(keys)
    desired = {"state": "enabled", "rotation_period_days": 365, "rotation_period_mode": "maximum",
               "pending_deletion": "cancel"}
    # The first run dies right after CancelKeyDeletion of key 1.
    real_enable_key = service.enable_key

    def crash(kid):
        raise SystemExit("killed")

    service.enable_key = crash
    with pytest.raises(SystemExit):
        RotationEnforcer(service, desired, False, 1, journal).run([key_id(1)])
    assert keys[key_id(1)]["metadata"]["KeyState"] == "Disabled"
    assert journal.pending() == {keys[key_id(1)]["metadata"]["Arn"]}

    service.enable_key = real_enable_key
    predicted = RotationEnforcer(service, desired, True, 2, journal).run([key_id(1), key_id(2)])
    assert predicted[0]["actions"] == ["EnableKey", "EnableKeyRotation"]
    assert predicted[0]["reason"] == "PENDING_DELETION"
    results = RotationEnforcer(service, desired, False, 2, journal).run([key_id(1), key_id(2)])
    assert [r["actions"] for r in results] == [["EnableKey", "EnableKeyRotation"],
                                               ["CancelKeyDeletion", "EnableKey", "EnableKeyRotation"]]
    assert keys[key_id(1)]["metadata"]["KeyState"] == "Enabled" and keys[key_id(1)]["rotation"] == (True, 200)
    assert journal.pending() == set()
    assert not (tmp_path / "journal").exists()


def test_a_disabled_key_not_in_the_journal_is_left_alone(tmp_path):
    from ansible_collections.keyguard.kms.plugins.module_utils._journal import RescueJournal

    service = FakeService(dict([make_key(1, "Disabled")]))
    desired = {"state": "enabled", "rotation_period_days": None, "pending_deletion": "cancel"}
    results = RotationEnforcer(service, desired, False, 1, RescueJournal(str(tmp_path / "j"))).run([key_id(1)])
    assert (results[0]["reason"], results[0]["actions"]) == ("KEY_DISABLED", [])


def test_key_of_another_account_is_refused_before_any_call():
    service = FakeService(dict([make_key(1)]))
    desired = {"state": "enabled", "rotation_period_days": None, "pending_deletion": "keep"}
    other = "arn:aws:kms:%s:999999999999:key/%s" % (REGION, key_id(1))
    results = RotationEnforcer(service, desired, False, 1, caller_account=lambda: "111122223333").run([other])
    assert results[0]["reason"] == "INVALID_KEY_REFERENCE"
    assert "belongs to account 999999999999" in results[0]["message"]
    assert service.calls == []


def test_throttling_and_dropped_connections_are_retried_up_to_max_attempts():
    dropped = botocore.exceptions.ConnectionClosedError(endpoint_url="http://127.0.0.1")
    client = ScriptedClient([client_error("ThrottlingException"), dropped, client_error("KMSInternalException"), {}])
    KmsService(client, REGION, sleep=lambda seconds: None, max_attempts=4).enable_key(key_id(1))
    assert client.calls == 4

    client = ScriptedClient([client_error("ThrottlingException")] * 5)
    with pytest.raises(KmsError) as caught:
        KmsService(client, REGION, sleep=lambda seconds: None, max_attempts=3).enable_key(key_id(1))
    assert client.calls == 3 and caught.value.code == "ThrottlingException"
    assert "raise max_attempts" in caught.value.message


def test_a_refused_connection_is_not_retried_and_says_what_to_check():
    refused = botocore.exceptions.EndpointConnectionError(endpoint_url="http://127.0.0.1:9")
    client = ScriptedClient([refused] * 3)
    with pytest.raises(KmsError) as caught:
        KmsService(client, REGION, sleep=lambda seconds: None).enable_key(key_id(1))
    assert client.calls == 1 and "check endpoint_url" in caught.value.message
