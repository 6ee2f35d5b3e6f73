# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One phase of the rotation role for every account of the play at once (docs: modules/rotation_phase.py)."""

from __future__ import annotations

from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.utils.unsafe_proxy import wrap_var

from ansible_collections.keyguard.kms.plugins.plugin_utils._role import accounts


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    # Once for the batch: the free strategy refuses it instead of running every account's work once per host.
    BYPASS_HOST_LOOP = True

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(argument_spec=dict(
            module=dict(type="str", required=True, choices=sorted(accounts.MODULES)),
            task=dict(type="str", required=True),
        ))
        jobs, by_host = [], {}
        for host, templar, task in accounts.hosts_of_this_run(self, task_vars, by_host, args["task"]):
            try:
                module_args = accounts.module_defaults(self._task, args["module"], templar)
                module_args.update(templar.template(templar.available_variables["__rotation_connection"]))
                module_args.update(templar.template(templar.available_variables["__rotation_tuning"]))
                # A null argument is one not given, as omit leaves it out of a task.
                module_args.update((name, value) for name, value in (task.get("args") or {}).items()
                                   if value is not None)
                when = boolean(task.get("when", True), strict=False)
                check_mode = boolean(task["check_mode"], strict=False)
            except Exception as error:  # pylint: disable=broad-except  # one host's bad variables fail that host
                by_host[host] = {"failed": True, "changed": False, "msg": "%s: the variables of this phase could not "
                                 "be templated: %s" % (host, error)}
                continue
            if not when:
                by_host[host] = {"skipped": True, "changed": False, "skip_reason": "nothing to do for this host"}
                continue
            # Check mode as this host's own preflight saw it, not as the batch's first host's task has it.
            jobs.append({"host": host, "module": args["module"], "args": module_args, "check_mode": check_mode,
                         "diff": bool(self._task.diff)})
        for job, outcome in zip(jobs, accounts.run_accounts(jobs, accounts.accounts_at_once())):
            by_host[job["host"]] = outcome
        warnings = ["%s: %s" % (host, warning) for host in sorted(by_host)
                    for warning in by_host[host].pop("warnings", [])]
        ran = [outcome for outcome in by_host.values() if not outcome.get("skipped")]
        result.update(
            changed=any(outcome.get("changed") for outcome in ran),
            hosts=wrap_var(by_host),
            msg="%s on %d of %d hosts: %d changed, %d failed" % (
                args["module"], len(ran), len(by_host), sum(1 for outcome in ran if outcome.get("changed")),
                sum(1 for outcome in ran if outcome.get("failed"))),
        )
        if warnings:
            result["warnings"] = warnings
        return result
