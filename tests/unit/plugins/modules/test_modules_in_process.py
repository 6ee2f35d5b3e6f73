# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rotation role's inventory-wide phases run each module's run() for many accounts in one process.

Each account must get exactly what the module's own main() gives it: the same checks, results, diff and failure,
no secret in the output, and one account's failure (even a bug) never another's.
"""

from __future__ import annotations

import os
import time

import pytest

from ansible_collections.keyguard.kms.plugins.modules import kms_findings
from ansible_collections.keyguard.kms.plugins.modules import kms_rotation
from ansible_collections.keyguard.kms.plugins.modules import kms_rotation_info
from ansible_collections.keyguard.kms.plugins.plugin_utils._role import accounts

from ansible_collections.keyguard.kms.tests.unit.plugins.modules.test_modules_main import ACCOUNT
from ansible_collections.keyguard.kms.tests.unit.plugins.modules.test_modules_main import REGION
from ansible_collections.keyguard.kms.tests.unit.plugins.modules.test_modules_main import MemoryClients
from ansible_collections.keyguard.kms.tests.unit.plugins.modules.test_modules_main import key_id

SECRET = "wJalrXUtnFEMI-a-secret-key-value"


def job(module, args, check_mode=False, diff=False, host="acct-1"):
    return {"host": host, "module": module, "args": args, "check_mode": check_mode, "diff": diff}


def without_invocation(result):
    return dict((name, value) for name, value in result.items() if name != "invocation")


@pytest.fixture
def memory(monkeypatch):
    MemoryClients.services = {}
    for module in (kms_rotation, kms_rotation_info, kms_findings):
        monkeypatch.setattr(module, "ClientFactory", MemoryClients)
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    return MemoryClients


@pytest.mark.parametrize("check_mode", [True, False])
def test_an_account_gets_what_the_module_main_gives_it(run_main, memory, check_mode):
    args = {"key_ids": [key_id(1), key_id(2)], "region": REGION, "rotation_period_days": 365}
    by_main, failed = run_main(kms_rotation, dict(args, _ansible_check_mode=check_mode, _ansible_diff=True))
    assert not failed
    memory.services = {}
    in_process = accounts.run_account(job("kms_rotation", args, check_mode=check_mode, diff=True))
    assert in_process == accounts.json.loads(accounts.json.dumps(without_invocation(by_main)))
    assert in_process["diff"] and in_process["changed"] is True
    assert memory.services[REGION].writes == ([] if check_mode else [("EnableKeyRotation", key_id(1), 365)])


def test_discovery_in_process_is_the_module_s_and_its_dates_are_text(run_main, memory):
    by_main, _failed = run_main(kms_rotation_info, {"regions": [REGION]})
    in_process = accounts.run_account(job("kms_rotation_info", {"regions": [REGION]}))
    assert [key["key_arn"] for key in in_process["kms_keys"]] == [key["key_arn"] for key in by_main["kms_keys"]]
    assert in_process["summary"] == by_main["summary"]
    assert all(isinstance(key["creation_date"], str) for key in in_process["kms_keys"])


def test_bad_arguments_fail_the_account_with_the_module_s_words_before_any_call(memory):
    refused = accounts.run_account(job("kms_rotation", {"key_ids": [], "rotation_period_days": 30,
                                                        "region": REGION}))
    assert refused["failed"] is True and refused["msg"].startswith("Invalid arguments: ")
    assert "rotation_period_days must be between 90 and 2560" in refused["msg"] and memory.services == {}
    unknown = accounts.run_account(job("kms_rotation", {"key_id": key_id(1), "key_ids": [key_id(1)],
                                                        "region": REGION, "rotation_periods": 1}))
    assert unknown["failed"] is True and "rotation_periods" in unknown["msg"] and "mutually exclusive" in unknown["msg"]


def test_no_secret_reaches_the_result(memory):
    # The finding ID happens to equal the secret key: the output masks it as a module's would.
    result = accounts.run_account(job("kms_findings", {"findings": [{"finding_id": SECRET, "product_arn": "p"}],
                                                       "workflow_status": "RESOLVED", "region": REGION,
                                                       "access_key": "AKIDEXAMPLE", "secret_key": SECRET},
                                      check_mode=True))
    assert SECRET not in accounts.json.dumps(result)


def test_an_account_s_bug_fails_that_account_only_and_the_order_is_kept(memory, monkeypatch):
    original = kms_rotation_info.run

    def run(module):
        if module.params["regions"] == ["eu-west-1"]:
            raise KeyError("a bug")
        return original(module)

    monkeypatch.setattr(kms_rotation_info, "run", run)
    jobs = [job("kms_rotation_info", {"regions": [REGION if number != 2 else "eu-west-1"]}, host="acct-%d" % number)
            for number in range(5)]
    results = accounts.run_accounts(jobs, 4)
    assert [result.get("failed", False) for result in results] == [False, False, True, False, False]
    assert "failed unexpectedly for this account" in results[2]["msg"] and "KeyError" in results[2]["exception"]
    assert all(result["kms_keys"][0]["account_id"] == ACCOUNT for number, result in enumerate(results)
               if number != 2)


def test_a_process_that_dies_fails_its_own_accounts_and_no_other_process_s(memory, monkeypatch):
    original = kms_rotation_info.run

    def run(module):
        if module.params["regions"] == ["eu-west-1"]:
            os._exit(9)  # as the kernel's OOM killer would end it
        if module.params["regions"] == ["us-west-2"]:
            time.sleep(1)  # still working when the other process dies
        return original(module)

    monkeypatch.setattr(kms_rotation_info, "run", run)
    monkeypatch.setattr(accounts, "usable_cores", lambda: 2)
    # Two processes: accounts 0 and 2 share the first, 1 and 3 the second.
    regions = ["eu-west-1", "us-west-2", REGION, "us-west-2"]
    jobs = [job("kms_rotation_info", {"regions": [region]}, host="acct-%d" % number)
            for number, region in enumerate(regions)]
    results = accounts.run_accounts(jobs, 4)
    assert [result.get("failed", False) for result in results] == [True, False, True, False]
    assert "not known" in results[0]["msg"]
    for survivor in (results[1], results[3]):
        assert survivor["kms_keys"] and set(key["region"] for key in survivor["kms_keys"]) == {"us-west-2"}


def test_a_process_that_cannot_be_started_fails_its_accounts_saying_nothing_was_done(memory, monkeypatch):
    fork = accounts.multiprocessing.get_context("fork")
    started = []

    class Context:
        Pipe = staticmethod(fork.Pipe)

        @staticmethod
        def Process(**arguments):  # pylint: disable=invalid-name
            started.append(arguments)
            if len(started) == 2:
                raise OSError(11, "Resource temporarily unavailable")
            return fork.Process(**arguments)

    monkeypatch.setattr(accounts.multiprocessing, "get_context", lambda _method: Context)
    monkeypatch.setattr(accounts, "usable_cores", lambda: 2)
    jobs = [job("kms_rotation_info", {"regions": [REGION]}, host="acct-%d" % number) for number in range(4)]
    results = accounts.run_accounts(jobs, 4)
    assert [result.get("failed", False) for result in results] == [False, True, False, True]
    assert all("nothing was done" in results[number]["msg"] and "Errno 11" in results[number]["msg"]
               for number in (1, 3))
    assert results[0]["kms_keys"] and results[2]["kms_keys"]


def test_the_phases_use_no_more_processes_than_usable_cores(memory, monkeypatch):
    forked = []
    fork = accounts.multiprocessing.get_context("fork")

    class Context:
        Pipe = staticmethod(fork.Pipe)

        @staticmethod
        def Process(**arguments):  # pylint: disable=invalid-name
            forked.append(arguments)
            return fork.Process(**arguments)

    monkeypatch.setattr(accounts.multiprocessing, "get_context", lambda _method: Context)
    monkeypatch.setattr(accounts, "usable_cores", lambda: 1)
    results = accounts.run_accounts([job("kms_rotation_info", {"regions": [REGION]}, host="acct-%d" % number)
                                     for number in range(3)], 10)
    assert len(forked) == 1 and not any(result.get("failed") for result in results)


@pytest.mark.parametrize("files, cores", [
    ({"cpu.max": "150000 100000\n"}, 2),
    ({"cpu.max": "50000 100000\n"}, 1),
    ({"cpu.max": "max 100000\n"}, None),
    ({"cpu/cpu.cfs_quota_us": "100000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 1),
    ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),
    ({"cpu.max": "garbage"}, None),
    ({}, None),
])
def test_a_container_s_cpu_limit_bounds_the_processes(tmp_path, monkeypatch, files, cores):
    monkeypatch.setattr(accounts.os, "sched_getaffinity", lambda _pid: set(range(64)), raising=False)
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert accounts.usable_cores(str(tmp_path), str(tmp_path / "no-such-file")) == (64 if cores is None else cores)


@pytest.mark.parametrize("proc_cgroup, files, cores", [
    # cgroup v2 seen from the host's namespace: the pod's limit sits on an ancestor of the process's cgroup.
    ("0::/kubepods.slice/pod1.slice/cri-1.scope\n",
     {"kubepods.slice/pod1.slice/cpu.max": "200000 100000", "kubepods.slice/cpu.max": "max 100000"}, 2),
    ("0::/kubepods.slice/pod1.slice/cri-1.scope\n",
     {"kubepods.slice/pod1.slice/cri-1.scope/cpu.max": "300000 100000", "kubepods.slice/cpu.max": "100000 100000"}, 1),
    # cgroup v1, the cpu controller mounted as cpu,cpuacct only.
    ("12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n",
     {"cpu,cpuacct/docker/abc/cpu.cfs_quota_us": "250000", "cpu,cpuacct/docker/abc/cpu.cfs_period_us": "100000"}, 3),
    ("0::/../../etc\n", {}, 64),
])
def test_a_cpu_limit_on_the_own_cgroup_or_an_ancestor_counts(tmp_path, monkeypatch, proc_cgroup, files, cores):
    monkeypatch.setattr(accounts.os, "sched_getaffinity", lambda _pid: set(range(64)), raising=False)
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    (tmp_path / "self-cgroup").write_text(proc_cgroup)
    assert accounts.usable_cores(str(tmp_path), str(tmp_path / "self-cgroup")) == cores


def test_the_play_s_module_defaults_reach_each_account_as_a_task_of_its_own_would_get_them():
    class Play:
        _action_groups = {"keyguard.kms.kms_rotation": ["keyguard.kms.aws", "amazon.aws.aws"]}

    class Block:
        _play = Play()

    class Task:
        _parent = Block()
        module_defaults = [{"group/keyguard.kms.aws": {"aws_ca_bundle": "/etc/ca.pem", "validate_certs": True}},
                           {"group/other.group": {"concurrency": 99},
                            "keyguard.kms.kms_rotation": {"validate_certs": False, "max_attempts": 4}}]

    class Templar:
        @staticmethod
        def template(value):
            return dict(value)

    assert accounts.module_defaults(Task(), "kms_rotation", Templar()) == {
        "aws_ca_bundle": "/etc/ca.pem", "validate_certs": False, "max_attempts": 4}
    assert accounts.module_defaults(Task(), "kms_findings", Templar()) == {}
