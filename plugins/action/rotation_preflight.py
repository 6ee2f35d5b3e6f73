# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check the rotation role's inputs on the controller before any AWS call (docs: modules/rotation_preflight.py)."""

from __future__ import annotations

import os

import yaml

from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.keyguard.kms.plugins.plugin_utils._report import publish
from ansible_collections.keyguard.kms.plugins.plugin_utils._role import accounts
from ansible_collections.keyguard.kms.plugins.plugin_utils._role import approved_plan
from ansible_collections.keyguard.kms.plugins.plugin_utils._role import run_lock
from ansible_collections.keyguard.kms.plugins.plugin_utils._role import s3_reads
from ansible_collections.keyguard.kms.plugins.plugin_utils._role import settings as _settings

# The one list of the role's variables.
ARGUMENT_SPECS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "roles",
                              "rotation", "meta", "argument_specs.yml")
# Host variables the aws_accounts inventory plugin sets (or a user, by hand).
INVENTORY_VARIABLES = ("aws_account_error", "aws_account_name", "aws_account_ou_path")


def role_variables():
    """{name: type} of the role's variables, from meta/argument_specs.yml."""
    with open(ARGUMENT_SPECS, encoding="utf-8") as handle:
        options = yaml.safe_load(handle)["argument_specs"]["main"]["options"]
    return dict((name, spec.get("type", "str")) for name, spec in options.items())


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(argument_spec=dict(
            mode=dict(type="str", choices=list(_settings.MODES), default="remediate"),
        ))
        task_vars = task_vars or {}
        host = task_vars.get("inventory_hostname", "target")
        try:
            raw = self._variables(task_vars)
        except (TypeError, ValueError) as error:
            result.update(failed=True, msg="%s: the rotation role's inputs need fixing before any AWS call: %s" % (
                host, error))
            return result
        raw["mode"] = args["mode"]
        job = task_vars.get("awx_job_id", task_vars.get("tower_job_id"))
        if job is not None:
            raw["awx_job_id"] = self._templar.template(job)
        settings, errors = _settings.check(raw, os.environ, os.getcwd(), host, self._task.check_mode)
        result.update(changed=False, settings=settings, approved_plan=None, run_token=accounts.run_token(self._task))
        if self._task.when:
            # A condition on roles: or import_role is on every task, and a task run once for the batch (the phases)
            # would follow the batch's first host alone.
            errors.append("the rotation role cannot take a condition (when: on roles: or import_role): its phases run "
                          "once for the play's batch of hosts; choose the hosts with the play's hosts:, --limit, or a "
                          "condition on include_role")
        if (settings.get("approved_plan_required") and settings["mode"] == "remediate"
                and not settings.get("approved_plan") and not errors):
            errors.append("rotation_approved_plan_required is set and no rotation_approved_plan is given: this "
                          "remediation applies only an approved plan")
        if settings.get("approved_plan") and not errors:
            given = s3_reads.variable_reader(self._templar, task_vars)
            # In an AWX workflow the report node's artifacts carry the digest of the plan the approver saw.
            artifacts = given(publish.stats_key(host)) or {}
            plan, where, problems = approved_plan.load(
                settings, given("aws_account_id"), lambda: s3_reads.client(settings.get("report_s3_region"), given),
                approved_digest=artifacts.get("plan_digest") if isinstance(artifacts, dict) else None)
            errors += problems
            result.update(approved_plan=plan, approved_plan_source=where)
        if errors:
            result.update(failed=True, msg="%s: the rotation role's inputs need fixing before any AWS call: %s" % (
                host, "; ".join(errors)))
        elif settings["mode"] == "remediate" and not settings["check_mode"]:
            problem = self._take_lock(settings, host)
            if problem:
                result.update(failed=True, msg=problem)
        return result

    def _variables(self, task_vars):
        """The role's variables as set, templated; unset ones left out. Types are checked later, strictly
        (a string is not taken for a list), except booleans, read as Ansible reads them ("false" from a survey),
        and text, which a number of digits is taken for."""
        variables = {}
        for name, kind in list(role_variables().items()) + [(name, "raw") for name in INVENTORY_VARIABLES]:
            if name not in task_vars:
                continue
            value = self._templar.template(task_vars[name])
            if value is None:
                continue
            if kind == "bool":
                try:
                    value = boolean(value, strict=True)
                except TypeError:
                    raise ValueError("%s must be true or false, got %r" % (name, value))
            elif kind == "str" and isinstance(value, (int, float)) and not isinstance(value, bool):
                value = str(value)  # a profile or key ID of digits, unquoted in an INI or YAML inventory
            variables[name] = value
        return variables

    @staticmethod
    def _take_lock(settings, host):
        """Wait for, then hold, this target's lock until the run's ansible-playbook ends; None once held."""
        lock = settings["lock"]
        # Workers are forked from ansible-playbook: the run lives exactly as long as the parent.
        lock["owner"] = run_lock.run_owner(os.getppid(), host=host, started=settings["started"],
                                           awx_job_id=settings.get("awx_job_id"))

        def announce(holder):
            Display().display("%s: another remediation of %s is running on this controller (%s); waiting up to %d s "
                              "before any change" % (host, lock["target"], run_lock.describe(holder), lock["timeout"]))

        try:
            held, holder = run_lock.acquire(lock["folder"], lock["target"], lock["owner"], lock["timeout"], announce)
        except run_lock.LockRefused as refused:
            return "%s: the run lock of %s cannot be taken, so nothing was changed: %s" % (host, lock["target"], refused)
        except OSError as error:
            return "%s: rotation_lock_dir %s cannot hold the run lock (%s): give a folder this user can write" % (
                host, lock["folder"], error.strerror or error)
        if not held:
            return ("%s: another remediation of %s is still running on this controller (%s) after %d s "
                    "(rotation_lock_timeout); nothing was changed: run again when it has finished" % (
                        host, lock["target"], run_lock.describe(holder), lock["timeout"]))
        lock["held"] = True
        return None
