# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One phase of the rotation role for every account of the play at once (docs: modules/rotation_phase.py)."""

from __future__ import annotations

from ansible import constants as C
from ansible import context
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.utils.unsafe_proxy import wrap_var

from ansible_collections.keyguard.kms.plugins.plugin_utils._role import accounts


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(argument_spec=dict(
            module=dict(type="str", required=True, choices=sorted(accounts.MODULES)),
            task=dict(type="str", required=True),
        ))
        hosts = list(task_vars.get("ansible_play_batch") or [task_vars["inventory_hostname"]])
        jobs, skipped, failed = [], {}, {}
        for host, templar in accounts.host_templars(self, task_vars, hosts):
            try:
                task = templar.template(templar.available_variables[args["task"]])
                connection = templar.template(templar.available_variables["__rotation_connection"])
                tuning = templar.template(templar.available_variables["__rotation_tuning"])
            except Exception as error:  # pylint: disable=broad-except  # one host's bad variables fail that host
                failed[host] = {"failed": True, "changed": False, "msg": "%s: the variables of this phase could not "
                                "be templated: %s" % (host, error)}
                continue
            if not boolean(task.get("when", True), strict=False):
                skipped[host] = {"skipped": True, "changed": False, "skip_reason": "nothing to do for this host"}
                continue
            module_args = dict(connection, **tuning)
            # A null argument is one not given, as omit leaves it out of a task.
            module_args.update((name, value) for name, value in (task.get("args") or {}).items() if value is not None)
            jobs.append({"host": host, "module": args["module"], "args": module_args,
                         "check_mode": bool(self._task.check_mode), "diff": bool(self._task.diff)})
        # As many accounts at once as ansible-playbook works on hosts at once.
        forks = int(context.CLIARGS.get("forks") or C.DEFAULT_FORKS)
        by_host = dict(skipped, **failed)
        for job, outcome in zip(jobs, accounts.run_accounts(jobs, forks)):
            by_host[job["host"]] = outcome
        warnings = ["%s: %s" % (host, warning) for host in hosts for warning in by_host.get(host, {}).pop(
            "warnings", [])]
        ran = [outcome for outcome in by_host.values() if not outcome.get("skipped")]
        result.update(
            changed=any(outcome.get("changed") for outcome in ran),
            hosts=wrap_var(by_host),
            msg="%s on %d of %d hosts: %d changed, %d failed" % (
                args["module"], len(ran), len(hosts), sum(1 for outcome in ran if outcome.get("changed")),
                sum(1 for outcome in ran if outcome.get("failed"))),
        )
        if warnings:
            result["warnings"] = warnings
        return result
