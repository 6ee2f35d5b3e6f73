# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The enforcer and the service layer against in-memory fakes: prediction, isolation, retries."""

from __future__ import annotations

import copy
import itertools
import threading
import time

import botocore.exceptions
import pytest

from ansible_collections.keyguard.kms.plugins.module_utils._rules import rotation
from ansible_collections.keyguard.kms.plugins.module_utils._aws.service import AwsError
from ansible_collections.keyguard.kms.plugins.module_utils._aws.service import RateLimiter
from ansible_collections.keyguard.kms.plugins.module_utils._engine.enforce import HalfDoneRescues
from ansible_collections.keyguard.kms.plugins.module_utils._engine.enforce import RotationEnforcer
from ansible_collections.keyguard.kms.plugins.module_utils._engine.enforce import enforce_in_regions
from ansible_collections.keyguard.kms.plugins.module_utils._aws.kms import KmsService

REGION = "us-east-1"


def key_id(number):
    return "%08d-0000-0000-0000-000000000000" % number


class FakeService:
    """Keeps keys in memory and applies KMS's rules to writes."""

    def __init__(self, keys, region=REGION):
        self.keys = keys  # key_id -> {"metadata": ..., "rotation": (enabled, period)}
        self.region = region
        self.calls = []

    def _key(self, reference):
        for kid, key in self.keys.items():
            if reference in (kid, key["metadata"]["Arn"]) or reference in key.get("aliases", ()):
                return key
        raise AwsError("DescribeKey", "NotFoundException", "not found")

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
            raise AwsError(operation, "AccessDeniedException", "denied")
        if key["metadata"]["KeyState"] not in allowed_states:
            raise AwsError(operation, "KMSInvalidStateException", "wrong state")
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
    desired = rotation.desired_rotation(state, period, "exact", pending_deletion)
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
    desired = rotation.desired_rotation()
    results = RotationEnforcer(service, desired, False, 3).run([key_id(1), key_id(2), "alias/missing", key_id(3)])
    assert [r["compliance"] for r in results] == ["NON_COMPLIANT", "ERROR", "ERROR", "NON_COMPLIANT"]
    assert results[1]["reason"] == "AccessDeniedException" and key_id(2) in results[1]["message"]
    assert "alias/missing" in results[2]["message"]
    assert keys[key_id(1)]["rotation"] == (True, 365) and keys[key_id(3)]["rotation"] == (True, 365)


def test_a_key_named_twice_is_changed_once():
    service = FakeService(dict([make_key(1)]))
    desired = rotation.desired_rotation()
    results = RotationEnforcer(service, desired, False, 2).run([key_id(1), "alias/k1"])
    assert [r["input"] for r in results] == [key_id(1), "alias/k1"]
    assert [call[0] for call in service.calls].count("EnableKeyRotation") == 1


def test_a_key_named_many_times_at_once_is_changed_once_and_answered_for_each_name():
    service = FakeService(dict([make_key(1)]))
    names = [key_id(1), "alias/k1", service.keys[key_id(1)]["metadata"]["Arn"]] * 3
    results = RotationEnforcer(service, rotation.desired_rotation(), False, 9).run(names)
    assert [r["input"] for r in results] == names
    assert set(r["compliance"] for r in results) == {"NON_COMPLIANT"} and all(r["changed"] for r in results)
    assert [call[0] for call in service.calls].count("EnableKeyRotation") == 1


class SlowToDescribe(FakeService):
    """The last key's DescribeKey answers only once a write was sent (or after a few seconds)."""

    def __init__(self, keys, slow):
        super().__init__(keys)
        self.slow = slow
        self.written = threading.Event()
        self.written_before_slow_described = None

    def describe_key(self, reference):
        if reference == self.slow:
            self.written_before_slow_described = self.written.wait(timeout=3)
        return super().describe_key(reference)

    def enable_rotation(self, kid, period=None):
        super().enable_rotation(kid, period)
        self.written.set()


def test_a_key_is_written_without_waiting_for_the_other_keys_to_be_described():
    service = SlowToDescribe(dict([make_key(1), make_key(2)]), slow=key_id(2))
    results = RotationEnforcer(service, rotation.desired_rotation(), False, 2).run([key_id(1), key_id(2)])
    assert service.written_before_slow_described is True
    assert [r["actions"] for r in results] == [["EnableKeyRotation"], ["EnableKeyRotation"]]


def test_an_unexpected_failure_reaches_every_name_of_the_key_instead_of_hanging_them():
    both_described = threading.Barrier(2, timeout=5)

    class Broken(FakeService):
        def describe_key(self, reference):
            both_described.wait()  # the second name is described, so it waits on the first one's handling
            return super().describe_key(reference)

        def get_rotation_status(self, kid):
            time.sleep(0.2)
            raise RuntimeError("a bug")

    raised = []

    def run():
        try:
            RotationEnforcer(Broken(dict([make_key(1)])), rotation.desired_rotation(), False, 2).run(
                [key_id(1), "alias/k1"])
        except RuntimeError as error:
            raised.append(error)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=10)
    assert not worker.is_alive(), "a name of the key was left waiting"
    assert [str(error) for error in raised] == ["a bug"]


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
    with pytest.raises(AwsError) as caught:
        KmsService(client, REGION, sleep=lambda seconds: None).enable_rotation(key_id(1), 90)
    assert caught.value.code == "DisabledException"
    assert client.calls == 6


def test_other_errors_are_not_retried_by_the_state_loop_and_are_explained():
    client = ScriptedClient([client_error("AccessDeniedException")])
    with pytest.raises(AwsError) as caught:
        KmsService(client, REGION, sleep=lambda seconds: None).enable_key(key_id(1))
    assert client.calls == 1
    assert "grant kms:EnableKey" in caught.value.message


def test_rate_limiter_never_sends_more_than_the_quota_in_any_second(monkeypatch):
    clock = {"now": 100.0}
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        clock["now"] += seconds

    monkeypatch.setattr("time.monotonic", lambda: clock["now"])
    monkeypatch.setattr("time.sleep", sleep)
    limiter = RateLimiter({"DescribeKey": 2000}, {"EnableKey": 4, "CancelKeyDeletion": 0.5})
    sent = []
    for _call in range(10):
        limiter.acquire("EnableKey")
        sent.append(clock["now"])
    limiter.acquire("DescribeKey")
    assert sent == [100.0] * 4 + [101.0] * 4 + [102.0] * 2
    assert all(len([t for t in sent if start <= t < start + 1]) <= 4 for start in sent)
    slept.clear()
    for _call in range(3):
        limiter.acquire("CancelKeyDeletion")
    assert slept == pytest.approx([2.0, 2.0])


RESCUE = rotation.desired_rotation("enabled", 365, "maximum", "cancel")


def crash(_kid):
    raise SystemExit("killed")


def writes(service):
    return [call for call in service.calls if call[0] not in ("DescribeKey", "GetKeyRotationStatus")]


def test_a_killed_rescue_leaves_a_disabled_key_that_later_runs_leave_to_its_owner():
    keys = dict([make_key(1, "PendingDeletion"), make_key(2, "PendingDeletion")])
    service = FakeService(keys)
    half_done = HalfDoneRescues()
    # The run dies right after CancelKeyDeletion of key 1.
    real_enable_key = service.enable_key
    service.enable_key = crash
    with pytest.raises(SystemExit):
        RotationEnforcer(service, RESCUE, False, 1, half_done=half_done).run([key_id(1)])
    arn = keys[key_id(1)]["metadata"]["Arn"]
    assert keys[key_id(1)]["metadata"]["KeyState"] == "Disabled"
    # What the killed module notes on its way out: the key and the command that finishes it.
    assert half_done.stop() == [{"key_arn": arn, "region": REGION, "deletion_cancelled": "yes", "finish_command": (
        "aws kms enable-key --key-id %s --region %s && aws kms enable-key-rotation --key-id %s --region %s "
        "--rotation-period-in-days 365" % (arn, REGION, arn, REGION))}]

    service.enable_key = real_enable_key
    service.calls.clear()
    for check_mode in (True, False):
        results = RotationEnforcer(service, RESCUE, check_mode, 2).run([key_id(1), key_id(2)])
        assert (results[0]["reason"], results[0]["actions"]) == ("KEY_DISABLED", [])
    assert [call[0] for call in writes(service) if call[1] == key_id(1)] == []
    assert keys[key_id(1)]["metadata"]["KeyState"] == "Disabled"
    assert keys[key_id(2)]["metadata"]["KeyState"] == "Enabled", "the other key is rescued as usual"


def test_a_stopped_run_starts_no_further_step():
    keys = dict([make_key(1, "PendingDeletion")])
    half_done = HalfDoneRescues()
    half_done.stop()
    results = RotationEnforcer(FakeService(keys), RESCUE, False, 1, half_done=half_done).run([key_id(1)])
    assert results[0]["actions"] == [] and keys[key_id(1)]["metadata"]["KeyState"] == "PendingDeletion"


def test_a_rescue_that_fails_half_way_says_what_was_done_and_how_to_finish():
    keys = dict([make_key(1, "PendingDeletion", rotation=(True, 180)), make_key(2, "PendingDeletion")])
    keys[key_id(1)]["fail_on"] = "EnableKey"
    keys[key_id(2)]["fail_on"] = "EnableKeyRotation"
    half_done = HalfDoneRescues()
    results = RotationEnforcer(FakeService(keys), RESCUE, False, 2, half_done=half_done).run([key_id(1), key_id(2)])
    first, second = results
    arn = keys[key_id(1)]["metadata"]["Arn"]
    assert (first["compliance"], first["reason"], first["actions"], first["changed"]) == (
        "ERROR", "AccessDeniedException", ["CancelKeyDeletion"], True)
    assert first["key_state"] == "Disabled"
    assert "deletion cancelled" in first["message"] and "Disabled with its deletion cancelled" in first["message"]
    assert "no workload lost anything" in first["message"] and "KEY_DISABLED" in first["message"]
    assert first["finish_command"].startswith("aws kms enable-key --key-id %s --region %s" % (arn, REGION))
    assert first["finish_command"] in first["message"]
    assert second["actions"] == ["CancelKeyDeletion", "EnableKey"] and second["key_state"] == "Enabled"
    assert second["finish_command"].startswith("aws kms enable-key-rotation --key-id")
    # Key 1 stays in the note: if the run were killed now, before its result is out, the note would say so.
    assert [entry["key_arn"] for entry in half_done.stop()] == [arn]


def test_a_state_error_this_run_itself_caused_stays_an_error_with_its_finish_command():
    """After our EnableKey, KMS may still show the key Disabled: that is lag, not another actor."""
    keys = dict([make_key(1, "PendingDeletion")])
    service = FakeService(keys)
    real_enable_rotation = service.enable_rotation

    def lagging(kid, period=None):
        keys[kid]["metadata"]["KeyState"] = "Disabled"  # what the lagging read shows
        raise AwsError("EnableKeyRotation", "DisabledException", "the key is disabled")

    service.enable_rotation = lagging
    result = RotationEnforcer(service, RESCUE, False, 1).run([key_id(1)])[0]
    assert (result["compliance"], result["other_actor"]) == ("ERROR", False)
    assert result["finish_command"].startswith("aws kms enable-key-rotation")
    assert real_enable_rotation


class RacedService(FakeService):
    """Another actor changes a key between this run's read and its write."""

    def __init__(self, keys, race):
        super(RacedService, self).__init__(keys)
        self.race = race

    def _write(self, operation, kid, allowed_states=("Enabled",)):
        change = self.race.pop(operation, None)
        if change:
            change(self._key(kid))
        return super(RacedService, self)._write(operation, kid, allowed_states)


def _rescued_by_other(key):
    key["metadata"]["KeyState"] = "Enabled"
    key["rotation"] = (True, 365)


def _cancelled_by_other(key):
    key["metadata"]["KeyState"] = "Disabled"


def _disabled_by_owner(key):
    key["metadata"]["KeyState"] = "Disabled"


@pytest.mark.parametrize("operation, change, compliance, reason, state", [
    ("CancelKeyDeletion", _rescued_by_other, "COMPLIANT", None, "Enabled"),
    ("CancelKeyDeletion", _cancelled_by_other, "NON_COMPLIANT", "KEY_DISABLED", "Disabled"),
    ("EnableKeyRotation", _disabled_by_owner, "NON_COMPLIANT", "KEY_DISABLED", "Disabled"),
], ids=["rescued-by-another-run", "cancelled-by-another-run", "disabled-by-its-owner"])
def test_a_write_refused_because_someone_else_changed_the_key_reports_what_is_true_now(
        operation, change, compliance, reason, state):
    pending = operation == "CancelKeyDeletion"
    keys = dict([make_key(1, "PendingDeletion" if pending else "Enabled")])
    service = RacedService(keys, {operation: change})
    result = RotationEnforcer(service, RESCUE, False, 1).run([key_id(1)])[0]
    assert (result["compliance"], result["reason"], result["key_state"]) == (compliance, reason, state)
    assert result["other_actor"] is True and result["finish_command"] is None
    assert result["message"].startswith("done by another actor") and "Finish with" not in result["message"]
    assert result["actions"] == [] and not result["changed"]
    assert [call[0] for call in writes(service)] == [operation], "nothing more is sent"


def test_keys_of_several_regions_in_one_call_each_in_its_region():
    east = dict([make_key(1)])
    west_id, west = make_key(2)
    west["metadata"]["Arn"] = west["metadata"]["Arn"].replace(REGION, "us-west-2")
    services = {REGION: FakeService(east), "us-west-2": FakeService({west_id: west}, "us-west-2")}
    enforcers = dict((region, RotationEnforcer(service, rotation.desired_rotation(), False, 2, partition="aws"))
                     for region, service in services.items())
    references = [west["metadata"]["Arn"], key_id(1), east[key_id(1)]["metadata"]["Arn"],
                  "arn:aws:kms:eu-west-1:111122223333:key/%s" % key_id(3),
                  east[key_id(1)]["metadata"]["Arn"].replace("arn:aws:", "arn:aws-cn:")]
    results = enforce_in_regions(references, enforcers)
    assert [(r["region"], r["actions"]) for r in results[:3:2]] == [
        ("us-west-2", ["EnableKeyRotation"]), (REGION, ["EnableKeyRotation"])]
    assert [r["reason"] for r in results[1::2]] == ["INVALID_KEY_REFERENCE"] * 2
    assert "names no Region" in results[1]["message"] and "not one of regions" in results[3]["message"]
    assert "partition aws" in results[4]["message"]
    assert [call[0] for call in services["us-west-2"].calls].count("EnableKeyRotation") == 1


def test_key_of_another_account_is_refused_before_any_call():
    service = FakeService(dict([make_key(1)]))
    desired = rotation.desired_rotation()
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
    with pytest.raises(AwsError) as caught:
        KmsService(client, REGION, sleep=lambda seconds: None, max_attempts=3).enable_key(key_id(1))
    assert client.calls == 3 and caught.value.code == "ThrottlingException"
    assert "raise max_attempts" in caught.value.message


def test_a_refused_connection_is_not_retried_and_says_what_to_check():
    refused = botocore.exceptions.EndpointConnectionError(endpoint_url="http://127.0.0.1:9")
    client = ScriptedClient([refused] * 3)
    with pytest.raises(AwsError) as caught:
        KmsService(client, REGION, sleep=lambda seconds: None).enable_key(key_id(1))
    assert client.calls == 1 and "check endpoint_url" in caught.value.message


class PagingClient:
    """Records the Limit of every list call and answers with one page."""

    def __init__(self):
        self.limits = {}

    def _page(self, operation, key, **params):
        self.limits[operation] = params["Limit"]
        return {key: [], "Truncated": False}

    def list_keys(self, **params):
        return self._page("ListKeys", "Keys", **params)

    def list_aliases(self, **params):
        return self._page("ListAliases", "Aliases", **params)

    def list_resource_tags(self, **params):
        return self._page("ListResourceTags", "Tags", **params)


def test_every_list_call_asks_for_at_most_its_documented_limit():
    client = PagingClient()
    service = KmsService(client, REGION)
    service.list_keys()
    service.list_aliases()
    service.list_tags(key_id(1))
    # KMS API reference: ListKeys 1-1000, ListAliases 1-100, ListResourceTags 1-50.
    assert client.limits == {"ListKeys": 1000, "ListAliases": 100, "ListResourceTags": 50}


class HungClient:
    """Every request times out; the clock advances by the read timeout each time."""

    def __init__(self, clock, timeout):
        self.clock = clock
        self.timeout = timeout
        self.calls = 0
        self.meta = type("Meta", (), {"endpoint_url": "https://kms.us-east-1.amazonaws.com"})()

    def describe_key(self, **params):
        self.calls += 1
        self.clock[0] += self.timeout
        raise botocore.exceptions.ReadTimeoutError(endpoint_url=self.meta.endpoint_url)


def test_a_hung_endpoint_is_given_up_after_stall_timeout_naming_it():
    clock = [1000.0]
    client = HungClient(clock, 15)
    service = KmsService(client, REGION, max_attempts=50, stall_timeout=60, sleep=lambda seconds: None,
                         clock=lambda: clock[0])
    with pytest.raises(AwsError) as caught:
        service.describe_key(key_id(1))
    assert caught.value.code == "ENDPOINT_UNRESPONSIVE"
    assert "https://kms.us-east-1.amazonaws.com in us-east-1 has not answered any request for 60 s" in caught.value.message
    assert client.calls == 4
    with pytest.raises(AwsError):
        service.describe_key(key_id(2))
    assert client.calls == 4, "a stalled Region sends nothing more"


@pytest.mark.parametrize("rate", [0, -1, 1e-300, True, "5"])
def test_rate_limits_must_be_sane(rate):
    from ansible_collections.keyguard.kms.plugins.module_utils._aws.arguments import rate_limit_errors

    assert "DescribeKey must be a number of requests per second of at least 0.1" in rate_limit_errors(
        {"DescribeKey": rate}, {"DescribeKey": 2000})[0]


def test_a_disabled_opt_in_region_is_named_in_the_hint():
    client = ScriptedClient([client_error("UnrecognizedClientException")])
    with pytest.raises(AwsError) as caught:
        KmsService(client, "ap-east-1", sleep=lambda seconds: None).enable_key(key_id(1))
    assert "ap-east-1 is an opt-in Region that is not enabled for it" in caught.value.message
    assert "aws account get-region-opt-status --region-name ap-east-1" in caught.value.message


def test_a_region_named_twice_is_worked_in_once():
    from ansible_collections.keyguard.kms.plugins.module_utils._aws.regions import regions_to_use

    assert regions_to_use(["us-east-1", "eu-west-1", "us-east-1"], "x") == ["us-east-1", "eu-west-1"]
    assert regions_to_use(None, "eu-west-1") == ["eu-west-1"] and regions_to_use(None, None) == []
