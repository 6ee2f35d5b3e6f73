# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Run one of the collection's modules for every account of the play, in the controller's process.

A module process per account per phase pays Python, Ansible's and boto3's imports and an AssumeRole each
time: at Organization scale that is most of a run. Here each account's work is the module's own ``run()``
(the same argument spec, checks and result), given a stand-in for AnsibleAWSModule; the accounts are shared
out to one forked process per usable core (a cgroup CPU limit counts), each working on its share on threads, at
most ``forks`` accounts at once.

This is a private module: its interface may change without notice.
"""

from __future__ import annotations

import datetime
import json
import math
import multiprocessing
import os
import traceback
from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.amazon.aws.plugins.module_utils.botocore import _aws_region
from ansible_collections.amazon.aws.plugins.module_utils.botocore import botocore_at_least
from ansible_collections.amazon.aws.plugins.module_utils.botocore import gather_sdk_versions
from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError
from ansible_collections.amazon.aws.plugins.module_utils.modules import aws_argument_spec

from ansible_collections.keyguard.kms.plugins.module_utils._engine.enforce import HalfDoneRescues
from ansible_collections.keyguard.kms.plugins.module_utils._runtime.run_watch import stop_when_run_ends
from ansible_collections.keyguard.kms.plugins.modules import kms_findings
from ansible_collections.keyguard.kms.plugins.modules import kms_findings_info
from ansible_collections.keyguard.kms.plugins.modules import kms_rotation
from ansible_collections.keyguard.kms.plugins.modules import kms_rotation_info

# name: (module file, options of AnsibleAWSModule beyond the argument spec)
MODULES = {
    "kms_rotation_info": (kms_rotation_info, {"supports_check_mode": True}),
    "kms_rotation": (kms_rotation, kms_rotation.MODULE_OPTIONS),
    "kms_findings_info": (kms_findings_info, {"supports_check_mode": True}),
    "kms_findings": (kms_findings, {"supports_check_mode": True}),
}
# Per process: the environment, and so the region a profile resolves to, is the same for every account.
_REGION_OF_PROFILE = {}
_SECRET_OPTIONS = ("secret_key", "session_token", "aws_secret_key", "aws_session_token", "access_key")
_VALIDATOR_OPTIONS = ("mutually_exclusive", "required_together", "required_one_of", "required_if", "required_by")


class ModuleEnded(Exception):
    """exit_json or fail_json of the stand-in: the account's result, as the module would have printed it."""

    def __init__(self, result):
        super(ModuleEnded, self).__init__(result.get("msg") or "")
        self.result = result


class AccountModule:
    """What the collection's modules use of AnsibleAWSModule, for one account, without a process of its own."""

    def __init__(self, name, args, check_mode, diff):
        module_file, options = MODULES[name]
        spec = aws_argument_spec()
        spec.update(module_file.argument_spec())
        validator = ArgumentSpecValidator(spec, **dict((option, options[option]) for option in _VALIDATOR_OPTIONS
                                                       if option in options))
        validation = validator.validate(dict(args))
        self._name = "keyguard.kms." + name
        self.params = validation.validated_parameters
        self.no_log_values = validation._no_log_values
        self.check_mode = check_mode
        self._diff = diff
        self.warnings = []
        if validation.error_messages:
            self.fail_json(msg="Invalid arguments: " + "; ".join(validation.error_messages))

    @property
    def region(self):
        if not self.params.get("region"):
            key = self.params.get("profile") or None
            if key not in _REGION_OF_PROFILE:
                try:
                    # Without a region option, amazon.aws makes a boto3 session to look it up: once per profile.
                    _REGION_OF_PROFILE[key] = _aws_region(self.params)
                except AnsibleAWSError as error:
                    self.fail_json(msg=error.message)
            # Given from here on, so that amazon.aws's own lookups return it as they are.
            self.params["region"] = _REGION_OF_PROFILE[key]
        return self.params["region"]

    def warn(self, message):
        self.warnings.append(message)

    def _gather_versions(self):
        return gather_sdk_versions()

    def require_botocore_at_least(self, desired, reason=None):
        if not botocore_at_least(desired):
            self.fail_json(msg="botocore %s or later is required%s; this controller has %s" % (
                desired, " " + reason if reason else "", gather_sdk_versions().get("botocore_version")))

    def fail_json_aws(self, exception, msg=None, **output):
        text = to_native(getattr(exception, "message", None) or exception)
        output.update(gather_sdk_versions())
        self.fail_json(msg="%s: %s" % (msg, text) if msg else text, **output)

    def exit_json(self, **result):
        raise ModuleEnded(self._finished(result))

    def fail_json(self, msg, **result):
        raise ModuleEnded(self._finished(dict(result, failed=True, msg=msg)))

    def _finished(self, result):
        result.setdefault("changed", False)
        if self.warnings:
            result["warnings"] = list(self.warnings)
        # As a module's output would be: JSON, and without the values of no_log options.
        return remove_values(json.loads(json.dumps(result, default=_plain)), self.no_log_values)


def _plain(value):
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError("%r is not JSON" % (value,))


def run_account(job, half_done=None):
    """One account's result: ``job`` has host, module (a MODULES name), args, check_mode and diff."""
    module = None
    try:
        module = AccountModule(job["module"], job["args"], job["check_mode"], job["diff"])
        if job["module"] == "kms_rotation":
            kms_rotation.run(module, half_done or HalfDoneRescues())
        else:
            MODULES[job["module"]][0].run(module)
    except ModuleEnded as ended:
        return ended.result
    except Exception as error:  # pylint: disable=broad-except  # one account's bug must not hide the others
        secrets = module.no_log_values if module is not None else set(
            value for name, value in job["args"].items() if name in _SECRET_OPTIONS and value)
        return remove_values({"failed": True, "changed": False, "exception": traceback.format_exc(),
                              "msg": "keyguard.kms.%s failed unexpectedly for this account: %s (please report it "
                                     "with the exception above)" % (job["module"], to_native(error))}, secrets)
    return {"failed": True, "changed": False, "msg": "keyguard.kms.%s ended without a result" % job["module"]}


def _run_share(jobs, threads):
    """A process's share of the accounts, ``threads`` at once; stops, like a module, when the run is killed."""
    notes = [HalfDoneRescues() for _job in jobs]

    def last_words():
        for job, half_done in zip(jobs, notes):
            if job["module"] == "kms_rotation":
                try:
                    kms_rotation.write_interrupted_rescues(job["args"].get("interrupted_rescues_file"), half_done)
                except Exception:  # pylint: disable=broad-except  # one note that cannot be written stops no other
                    continue

    stop_when_run_ends(last_words=last_words)
    with ThreadPoolExecutor(max_workers=max(1, min(threads, len(jobs)))) as pool:
        return list(pool.map(run_account, jobs, notes))


def run_accounts(jobs, at_once):
    """Every job's result, in order: at most ``at_once`` accounts at a time, on one process per usable core.

    A process that dies (killed, out of memory) fails its own accounts, saying that what they changed is not known;
    the other processes' accounts keep their results. A process that cannot be started fails its accounts before
    anything is done for them.
    """
    if not jobs:
        return []
    processes = max(1, min(usable_cores(), at_once, len(jobs)))
    threads = int(math.ceil(at_once / float(processes)))
    shares = [jobs[number::processes] for number in range(processes)]
    # fork: the children have the collection's imports already, and the jobs' credentials never touch a disk. Every
    # child is forked before this function starts a thread or reads an answer; each watches, as a module does, for
    # the run being killed. One pipe per child: a child that dies closes only its own.
    context = multiprocessing.get_context("fork")
    children = []
    for share in shares:
        reader = writer = None
        try:
            reader, writer = context.Pipe(duplex=False)
            child = context.Process(target=_share_child, args=(share, threads, writer), daemon=False)
            child.start()
            children.append((child, reader, None))
        except Exception as error:  # pylint: disable=broad-except  # that share's accounts alone
            if reader is not None:
                reader.close()
            children.append((None, None, error))
        finally:
            if writer is not None:
                writer.close()  # the child's end: once the child has it, only the child may hold it
    results = [None] * len(jobs)
    for number, (child, reader, error) in enumerate(children):
        if error is not None:
            results[number::processes] = [_not_started(job, error) for job in shares[number]]
            continue
        try:
            outcome, value = reader.recv()
        except (EOFError, OSError):
            outcome, value = "lost", None
        finally:
            reader.close()
            child.join()
        if outcome == "lost":
            value = "exit code %s" % child.exitcode  # negative: the signal that ended it
        if outcome == "results":
            results[number::processes] = value
        else:
            results[number::processes] = [_lost(job, value) for job in shares[number]]
    return results


def _share_child(share, threads, writer):
    """In the child: the share's results, or the reason there are none, sent back to the parent."""
    try:
        answer = ("results", _run_share(share, threads))
    except BaseException as error:  # pylint: disable=broad-except  # said to the parent, which fails the share
        answer = ("raised", "%s: %s" % (type(error).__name__, to_native(error)))
    writer.send(answer)
    writer.close()


def usable_cores(cgroup_root="/sys/fs/cgroup", proc_cgroup="/proc/self/cgroup"):
    """Cores this process may use: its CPU affinity, lowered to the smallest CPU quota of its cgroup and the cgroup's
    ancestors (a container's CPU limit, as an AWX job's pod has: the affinity still shows every core of the node).
    A quota of 1.5 CPUs allows two processes."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    quotas = [quota for quota in map(_cpu_quota, _cgroup_directories(cgroup_root, proc_cgroup)) if quota is not None]
    if quotas:
        cores = min(cores, int(math.ceil(min(quotas))))
    return max(1, cores)


def _cgroup_directories(root, proc_cgroup):
    """This process's cgroup directories that may hold a CPU quota, each with its ancestors up to the mount: cgroup
    v2's unified tree and v1's ``cpu`` controller (mounted as ``cpu`` or ``cpu,cpuacct``)."""
    try:
        with open(proc_cgroup, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except OSError:
        lines = []
    paths = {"": ["/"], "cpu": ["/"], "cpu,cpuacct": ["/"]}
    for line in lines:
        _hierarchy, controllers, path = (line.split(":", 2) + ["", ""])[:3]
        if controllers == "":
            paths[""].append(path)
        elif "cpu" in controllers.split(","):
            paths["cpu"].append(path)
            paths["cpu,cpuacct"].append(path)
    directories = []
    for mount, cgroup_paths in paths.items():
        for path in cgroup_paths:
            parts = [part for part in path.split("/") if part and part not in (".", "..")]
            for depth in range(len(parts), -1, -1):
                directory = os.path.join(root, mount, *parts[:depth])
                if directory not in directories:
                    directories.append(directory)
    return directories


def _cpu_quota(directory):
    """CPUs the quota in ``directory`` allows (v2 ``cpu.max``, else v1 ``cpu.cfs_quota_us`` over
    ``cpu.cfs_period_us``); None when it has none or it cannot be read."""
    try:
        with open(os.path.join(directory, "cpu.max"), encoding="ascii") as handle:
            quota, period = (handle.read().split() + ["", ""])[:2]
    except OSError:
        try:
            with open(os.path.join(directory, "cpu.cfs_quota_us"), encoding="ascii") as handle:
                quota = handle.read().strip()
            with open(os.path.join(directory, "cpu.cfs_period_us"), encoding="ascii") as handle:
                period = handle.read().strip()
        except OSError:
            return None
    try:
        quota, period = int(quota), int(period)
    except ValueError:  # "max": no quota
        return None
    if quota <= 0 or period <= 0:  # v1 writes -1 for no quota
        return None
    return quota / float(period)


def _not_started(job, error):
    return {"failed": True, "changed": False, "msg": "no process could be started for this account's %s (%s: %s): "
            "nothing was done for it; run again when the controller has the memory and processes to spare" % (
                job["module"], type(error).__name__, to_native(error))}


def _lost(job, reason):
    return {"failed": True, "changed": False, "msg": "the process working on this account's %s ended before it "
            "returned (%s): what it changed is not known; the next run reads the keys as they are" % (
                job["module"], reason)}


def accounts_at_once():
    """As many accounts at once as ansible-playbook works on hosts at once (--forks)."""
    from ansible import constants as C  # pylint: disable=import-outside-toplevel  # controller-only
    from ansible import context  # pylint: disable=import-outside-toplevel

    return int(context.CLIARGS.get("forks") or C.DEFAULT_FORKS)


def run_token(task):
    """What ties a host's preflight to the phases of the same run of the role: its play and its role's invocation."""
    role = getattr(task, "_role", None)
    return "%s/%s" % (task.get_play()._uuid, role._uuid if role is not None else "-")


def hosts_of_this_run(action, task_vars, outcomes, task_variable):
    """(host, templar, task) for each host of the batch whose preflight ran in this run of the role: a templar with
    that host's own variables, as its own task would see them, and its ``task_variable`` templated with them.

    A run_once task sees the first host's variables only; role and play variables differ per host (an account's
    role ARN, for example), so each host's are read from the variable manager again. A host that skipped this
    run of the role (a condition on include_role) keeps the registered results of an earlier one: it is left out.
    A host whose variables cannot be read or templated gets its failure in ``outcomes``.
    """
    from ansible.template import Templar  # pylint: disable=import-outside-toplevel  # controller-only

    manager = action._task.get_variable_manager()
    inventory = task_vars["hostvars"]._inventory
    play = action._task.get_play()
    token = run_token(action._task)
    for host in task_vars.get("ansible_play_batch") or [task_vars["inventory_hostname"]]:
        try:
            variables = manager.get_vars(play=play, host=inventory.get_host(host), task=action._task,
                                         _hosts=task_vars.get("ansible_play_batch"),
                                         _hosts_all=task_vars.get("ansible_play_hosts_all"))
            run = variables.get("__rotation_run")
            if not isinstance(run, dict) or run.get("run_token") != token:
                continue
            templar = Templar(loader=action._loader, variables=variables)
            task = templar.template(variables[task_variable])
        except Exception as error:  # pylint: disable=broad-except  # one host's variables fail that host
            outcomes[host] = {"failed": True, "changed": False, "msg": "%s: the variables of this task could not be "
                              "templated: %s" % (host, error)}
            continue
        yield host, templar, task


def module_defaults(task, module, templar):
    """The play's module_defaults for ``module`` (its own and its groups', group/keyguard.kms.aws among them), for
    one host: what the module would have been given as a task of its own."""
    name = "keyguard.kms." + module
    play = getattr(getattr(task, "_parent", None), "_play", None)
    groups = (getattr(play, "_action_groups", None) or {}).get(name, [])
    merged = {}
    for entry in task.module_defaults or []:
        merged.update(entry)
    args = {}
    for key, value in merged.items():
        if key.startswith("group/") and key[len("group/"):] in groups:
            args.update(templar.template(value))
    args.update(templar.template(merged.get(name) or {}))
    return args
